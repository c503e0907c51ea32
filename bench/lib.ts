import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { performance } from 'node:perf_hooks';

/** Shared benchmark helpers: medians over repeated runs, and a side-by-side table with the ratio. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Time `fn` `runs` times (after `warmup` untimed runs); returns the median in milliseconds. */
export async function timeIt(fn: () => unknown | Promise<unknown>, runs = 5, warmup = 1): Promise<number> {
  for (let i = 0; i < warmup; i++) await fn();
  const t: number[] = [];
  for (let i = 0; i < runs; i++) {
    const a = performance.now();
    await fn();
    t.push(performance.now() - a);
  }
  return median(t);
}

/** Run a command, throwing on failure; returns wall time in ms. */
export function runCmd(cmd: string, args: string[], opts: SpawnSyncOptions = {}): number {
  const a = performance.now();
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 1 << 30, ...opts });
  const ms = performance.now() - a;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr?.toString()}`);
  return ms;
}

export interface Row {
  what: string;
  guestkitMs: number;
  nativeMs: number;
  native: string;
  target?: number;
}

export function printRows(rows: Row[]): void {
  console.log(`| benchmark | guestkit (median ms) | native | native (median ms) | ratio | target |`);
  console.log(`| --- | ---: | --- | ---: | ---: | ---: |`);
  for (const r of rows) {
    const ratio = r.guestkitMs / r.nativeMs;
    const ok = r.target === undefined ? '' : ratio <= r.target ? ` ≤ ${r.target} ✓` : ` ≤ ${r.target} ✗`;
    console.log(`| ${r.what} | ${r.guestkitMs.toFixed(1)} | ${r.native} | ${r.nativeMs.toFixed(1)} | ${ratio.toFixed(3)} |${ok} |`);
  }
}

/**
 * Samples of each measurement over `runs` rounds after one warm-up round. Each round runs every
 * measurement once, in turn, so that a change in the shared machine's load falls on all of them
 * alike instead of on whichever one's block of runs it happens to meet.
 */
export function interleaved<T>(measures: (() => T)[], runs: number): T[][] {
  const got: T[][] = measures.map(() => []);
  for (let r = -1; r < runs; r++) {
    measures.forEach((m, k) => {
      const t = m();
      if (r >= 0) got[k]!.push(t); // round -1 warms the page cache
    });
  }
  return got;
}
