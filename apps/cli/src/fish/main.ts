import { readFileSync } from 'node:fs';
import { UsageError, ioError } from '@guestkit/disk';
import { Guest } from '@guestkit/inspector';
import { ctx } from '../main.js';
import type { FishArgs } from '../commands/fish.js';
import { FishSession } from './session.js';
import { buildTable, parseScript, runAll } from './run.js';
import { splitOneShot } from './words.js';

function list(v: string | string[] | undefined): string[] {
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

/** `guestkit fish`: open the images, mount what -m says, run the commands; returns the exit code. */
export async function runFish(args: FishArgs, commandWords: string[]): Promise<number> {
  const c = ctx();
  const images = list(args.add);
  if (images.length === 0) throw new UsageError('FISH_NO_IMAGES', 'fish: no disk image given; use -a IMAGE');
  const writable = Boolean(args.rw);
  const guest = Guest.open(images, { write: writable, ...(args.format ? { format: args.format } : {}), logger: c.log, force: Boolean(args.force) });
  const session = new FishSession(guest, writable, c.out, c.outBytes, c.stderrIsTTY);
  try {
    const mounts = list(args.mount).map((spec) => {
      const [dev, mp] = spec.split(':');
      return { dev: dev!, mp: mp || '/' };
    });
    mounts.sort((a, b) => a.mp.length - b.mp.length);
    if (args.inspector) {
      const os = session.mountInspected();
      if (commandWords.length === 0 && process.stdin.isTTY) {
        c.out(`\nOperating system: ${os.productName ?? os.type}\n${os.mountpoints.map((m) => `${m.device} mounted on ${m.mountpoint}`).join('\n')}\n`);
      }
    }
    for (const m of mounts) session.mount(m.dev, m.mp, true);

    const table = buildTable();
    let status: number;
    if (commandWords.length > 0) status = await runAll(table, session, splitOneShot(commandWords), c.debug);
    else if (args.file) {
      let text: string;
      try {
        text = readFileSync(args.file, 'utf8');
      } catch (e) {
        throw ioError(`fish: cannot read ${args.file}`, e);
      }
      status = await runAll(table, session, parseScript(text), c.debug);
    } else if (!process.stdin.isTTY) status = await runAll(table, session, parseScript(readFileSync(0, 'utf8')), c.debug);
    else status = await (await import('./repl.js')).repl(table, session, c.debug);
    session.flush();
    return status;
  } finally {
    guest.close();
  }
}
