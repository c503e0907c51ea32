import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './shared.js';

export const guestkitBin = join(repoRoot, 'apps', 'cli', 'bin', 'guestkit');

export interface CliResult {
  status: number;
  stdout: Buffer;
  stderr: string;
  /** stdout as UTF-8 text. */
  out: string;
}

/** Run the built `guestkit` CLI as a separate process. */
export function runCli(args: string[], opts: { input?: string | Uint8Array; cwd?: string; env?: NodeJS.ProcessEnv } = {}): CliResult {
  const r = spawnSync(process.execPath, [guestkitBin, ...args], {
    input: opts.input ?? '',
    cwd: opts.cwd,
    env: { ...process.env, ...opts.env },
    maxBuffer: 1 << 30,
  });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr.toString(), out: r.stdout.toString() };
}
