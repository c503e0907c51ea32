import { GuestError, UsageError } from '@guestkit/disk';
import { CommandTable, type FishCommand } from './registry.js';
import type { FishSession } from './session.js';
import { parseLine, type ParsedLine } from './words.js';
import { guestCommands } from './cmds-guest.js';
import { readCommands } from './cmds-read.js';
import { writeCommands } from './cmds-write.js';
import { bulkCommands } from './cmds-bulk.js';
import { exitCodeFor } from '../exit-codes.js';

export function buildTable(): CommandTable {
  const t = new CommandTable();
  t.add(...guestCommands, ...readCommands, ...writeCommands, ...bulkCommands);
  t.add(helpCommand(t));
  return t;
}

function helpCommand(t: CommandTable): FishCommand {
  return {
    name: 'help',
    synopsis: 'help [command]',
    description: 'List the commands, or show the manual of one.',
    minArgs: 0, maxArgs: 1,
    run: (s, [name]) => {
      if (!name) {
        const w = Math.max(...t.all.map((c) => c.name.length));
        s.out(t.all.map((c) => `${c.name.padEnd(w)}  ${c.description.split('. ')[0]!.replace(/\.$/, '')}\n`).join(''));
        return;
      }
      const c = t.get(name);
      if (!c) throw new UsageError('FISH_UNKNOWN_COMMAND', `help: ${name}: unknown command`);
      s.out(`NAME\n    ${c.name}${c.aliases?.length ? ' (also: ' + c.aliases.join(', ') + ')' : ''}\n\nSYNOPSIS\n    ${c.synopsis}\n\nDESCRIPTION\n    ${c.description}\n${c.write ? '\n    Needs --rw.\n' : ''}`);
    },
  };
}

/** Run one parsed command line. Throws on failure. */
export async function runOne(t: CommandTable, s: FishSession, line: ParsedLine): Promise<void> {
  const c = t.get(line.command);
  if (!c) throw new UsageError('FISH_UNKNOWN_COMMAND', `${line.command}: unknown command (try "help")`);
  if (line.args.length < c.minArgs || line.args.length > c.maxArgs) {
    throw new UsageError('FISH_ARGS', `${c.name}: wrong number of arguments; usage: ${c.synopsis}`);
  }
  if (c.write && !s.writable) {
    throw new UsageError('FISH_READ_ONLY', `${c.name}: the session is read-only; add --rw to write`);
  }
  await c.run(s, line.args);
}

/** Report one failure as guestfish does (one line on stderr); returns the exit code it maps to. */
export function reportFailure(err: unknown, debug: boolean): number {
  if (err instanceof GuestError) process.stderr.write(`guestkit: fish: ${err.message} [${err.code}]\n`);
  else {
    const msg = err instanceof Error ? err.message : String(err);
    process.stderr.write(`guestkit: fish: internal error: ${msg.split('\n')[0]}\n`);
  }
  if (debug && err instanceof Error && err.stack) process.stderr.write(err.stack + '\n');
  return exitCodeFor(err);
}

/**
 * Run commands in order, stopping at the first failure unless the command was prefixed with
 * '-'. Returns the exit code (0, or the first failure's code).
 */
export async function runAll(t: CommandTable, s: FishSession, lines: Iterable<ParsedLine>, debug: boolean): Promise<number> {
  let status = 0;
  for (const line of lines) {
    try {
      await runOne(t, s, line);
    } catch (e) {
      const code = reportFailure(e, debug);
      if (!line.ignoreErrors) return code;
      if (status === 0) status = code;
    }
  }
  return status;
}

/** Parse a script (guestfish -f / stdin): one command per line. */
export function parseScript(text: string): ParsedLine[] {
  const out: ParsedLine[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const l = parseLine(raw);
    if (l) out.push(l);
  }
  return out;
}
