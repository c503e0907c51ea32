import * as readline from 'node:readline';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { readFileSync, appendFileSync } from 'node:fs';
import type { CommandTable } from './registry.js';
import type { FishSession } from './session.js';
import { parseLine } from './words.js';
import { runOne, reportFailure } from './run.js';

const HISTORY = join(homedir(), '.guestkit_fish_history');

/**
 * The interactive shell: a prompt with history (~/.guestkit_fish_history) and tab completion of
 * command names and guest paths. Errors are reported and the shell goes on.
 */
export async function repl(t: CommandTable, s: FishSession, debug: boolean): Promise<number> {
  let history: string[] = [];
  try {
    history = readFileSync(HISTORY, 'utf8').split('\n').filter(Boolean).reverse().slice(0, 1000);
  } catch {
    history = [];
  }
  const completer = (line: string): [string[], string] => {
    const words = line.split(/\s+/);
    const last = words[words.length - 1] ?? '';
    if (words.length <= 1) return [t.names().filter((n) => n.startsWith(last)), last];
    if (!last.startsWith('/')) return [[], last];
    try {
      const dir = last.slice(0, last.lastIndexOf('/') + 1) || '/';
      const prefix = last.slice(dir.length).toLowerCase();
      const r = s.resolve(dir, 'complete');
      const names = r.fs.readdir(r.path).filter((e) => e.name.toLowerCase().startsWith(prefix))
        .map((e) => dir + e.name + (e.type === 'directory' ? '/' : ''));
      return [names, last];
    } catch {
      return [[], last];
    }
  };
  const rl = readline.createInterface({ input: process.stdin, output: process.stdout, completer, history, historySize: 1000, terminal: true });
  process.stdout.write('\nWelcome to guestkit fish, the guest filesystem shell.\nType "help" for a list of commands, "quit" to leave.\n\n');
  rl.setPrompt('><fs> ');
  rl.prompt();
  for await (const raw of rl) {
    const trimmed = raw.trim();
    if (trimmed) {
      try {
        appendFileSync(HISTORY, trimmed + '\n');
      } catch {
        /* history is best effort */
      }
    }
    if (trimmed === 'quit' || trimmed === 'exit' || trimmed === 'q') break;
    try {
      const line = parseLine(raw);
      if (line) await runOne(t, s, line);
    } catch (e) {
      reportFailure(e, debug);
    }
    rl.prompt();
  }
  rl.close();
  return 0;
}
