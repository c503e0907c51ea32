/**
 * `pnpm bench inspect`: cold `guestkit inspect` (a new process each run, like a user would run
 * it) of the shipped sample guest against virt-inspector in the same run, the same guest at
 * 1 GiB and 100 GiB virtual size, and peak RSS.
 *
 *   GUESTKIT_BENCH_RUNS          guestkit runs per line (default 10, median)
 *   GUESTKIT_BENCH_NATIVE_RUNS   virt-inspector runs (default 3; each boots the libguestfs appliance)
 *
 * virt-inspector runs under TCG here (LIBGUESTFS_BACKEND=direct, force_tcg: KVM is unusable on
 * these machines, ../shared/lab/README.md). Without libguestfs installed the virt-inspector
 * figure is taken from ../shared/lab/TIMINGS.md and marked as such.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { interleaved, median, printRows, runCmd, type Row } from './lib.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(root, 'apps/cli/bin/guestkit');
const SAMPLE = join(root, 'test/fixtures/guests/win11-uefi.qcow2');
const RUNS = Number(process.env.GUESTKIT_BENCH_RUNS ?? 10);
const NATIVE_RUNS = Number(process.env.GUESTKIT_BENCH_NATIVE_RUNS ?? 3);

function has(tool: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;
}

function times(cmd: string, args: string[], runs: number, env?: NodeJS.ProcessEnv): number[] {
  runCmd(cmd, args, env ? { env } : {}); // warm the page cache
  const t: number[] = [];
  for (let i = 0; i < runs; i++) t.push(runCmd(cmd, args, env ? { env } : {}));
  return t;
}

interface Measure {
  wallMs: number;
  cpuMs: number;
  rssKiB: number;
}

/** Run `guestkit ARGS` under GNU time: wall clock, user+system CPU, peak RSS. */
function measureOnce(args: string[]): Measure {
  // The launcher itself, as users run it (its shebang drops NODE_EXTRA_CA_CERTS; `node BIN` would
  // keep it and charge ~85 ms of certificate parsing to every run).
  // Wall time from here (GNU time prints it in 10 ms steps, too coarse for a ~100 ms run); CPU
  // time and peak RSS from GNU time.
  const t0 = performance.now();
  const r = spawnSync('/usr/bin/time', ['-f', 'GKTIME %e %U %S %M', BIN, ...args], { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] });
  const wallMs = performance.now() - t0;
  const m = /GKTIME ([0-9.]+) ([0-9.]+) ([0-9.]+) ([0-9]+)/.exec(r.stderr);
  if (r.status !== 0 || !m) throw new Error(`guestkit ${args.join(' ')} failed: ${r.stderr}`);
  return { wallMs, cpuMs: (Number(m[2]) + Number(m[3])) * 1000, rssKiB: Number(m[4]) };
}

/** Medians of `runs` measurements (after one warm-up run). */
function measure(args: string[], runs: number): Measure & { all: Measure[] } {
  return measureInterleaved([args], runs)[0]!;
}

/** Medians of `runs` measurements of each command, run in interleaved rounds (A B C, A B C, …). */
function measureInterleaved(commands: string[][], runs: number): (Measure & { all: Measure[] })[] {
  const all = interleaved(commands.map((args) => () => measureOnce(args)), runs);
  return all.map((a) => ({ wallMs: median(a.map((x) => x.wallMs)), cpuMs: median(a.map((x) => x.cpuMs)), rssKiB: Math.max(...a.map((x) => x.rssKiB)), all: a }));
}

function sh(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
}

/** The sample at a bigger virtual size: raw copy, grown sparse, GPT backup moved to the end, qcow2. */
function grown(dir: string, size: string): string {
  const raw = join(dir, `sample-${size}.raw`);
  const out = join(dir, `sample-${size}.qcow2`);
  sh('qemu-img', ['convert', '-f', 'qcow2', '-O', 'raw', SAMPLE, raw]);
  sh('truncate', ['-s', size, raw]);
  sh('sgdisk', ['-e', raw]);
  sh('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', raw, out]);
  rmSync(raw);
  return out;
}

function labVirtInspectorMs(): number | undefined {
  const p = resolve(root, '../shared/lab/TIMINGS.md');
  if (!existsSync(p)) return undefined;
  const m = /virt-inspector --format=raw \(XML, with applications\) \| ([0-9.]+) \|/.exec(readFileSync(p, 'utf8'));
  return m ? Number(m[1]) * 1000 : undefined;
}

if (!existsSync('/usr/bin/time')) throw new Error('this benchmark needs GNU time (/usr/bin/time, Debian package time)');
const rows: Row[] = [];
const notes: string[] = [];
const gk = measure(['inspect', SAMPLE], RUNS);
let nativeMs: number | undefined;
let nativeLabel = 'virt-inspector (TCG)';
if (has('virt-inspector')) {
  const env = { ...process.env, LIBGUESTFS_BACKEND: 'direct', LIBGUESTFS_BACKEND_SETTINGS: 'force_tcg' };
  const nat = times('virt-inspector', ['--format=qcow2', '-a', SAMPLE], NATIVE_RUNS, env);
  nativeMs = median(nat);
  notes.push(`virt-inspector runs (ms): ${nat.map((x) => x.toFixed(0)).join(' / ')}`);
} else {
  nativeMs = labVirtInspectorMs();
  nativeLabel = 'virt-inspector (../shared/lab/TIMINGS.md, not run here)';
  notes.push('libguestfs is not installed: the virt-inspector time is the lab figure (win10-gpt.raw, 3 runs, median), not measured in this run');
}
if (nativeMs !== undefined) {
  rows.push({ what: 'inspect sample qcow2, cold process, wall clock', guestkitMs: gk.wallMs, nativeMs, native: nativeLabel, target: 0.01 });
  rows.push({ what: 'inspect sample qcow2, cold process, guestkit CPU (user+sys)', guestkitMs: gk.cpuMs, nativeMs, native: nativeLabel, target: 0.01 });
}
notes.push(`guestkit inspect runs, wall ms: ${gk.all.map((x) => x.wallMs.toFixed(0)).join(' / ')}; CPU ms: ${gk.all.map((x) => x.cpuMs.toFixed(0)).join(' / ')}`);
const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
notes.push(`load average at the end of the run: ${load} (2 cores, shared)`);

const tmp = mkdtempSync(join(process.env.GUESTKIT_TMP ?? tmpdir(), 'gk-bench-inspect-'));
try {
  const g1 = grown(tmp, '1G');
  const g100 = grown(tmp, '100G');
  // twice the runs: the two medians are compared with each other, at a 10 % resolution
  const pair = measureInterleaved([['inspect', g1], ['inspect', g100]], 2 * RUNS);
  const m1 = pair[0]!;
  const m100 = pair[1]!;
  const json = measure(['inspect', '--json', SAMPLE], RUNS);
  const json100 = measure(['inspect', '--json', g100], RUNS);
  printRows(rows);
  console.log('');
  console.log('| guestkit inspect (cold process) | wall ms (median) | CPU ms (median) | peak RSS MiB |');
  console.log('| --- | ---: | ---: | ---: |');
  const line = (what: string, m: Measure) => console.log(`| ${what} | ${m.wallMs.toFixed(0)} | ${m.cpuMs.toFixed(0)} | ${(m.rssKiB / 1024).toFixed(1)} |`);
  line('sample qcow2 (88 MiB virtual), XML', gk);
  line('sample qcow2, --json (extras, BCD)', json);
  line('same guest, 1 GiB virtual, XML', m1);
  line('same guest, 100 GiB virtual, XML', m100);
  line('same guest, 100 GiB virtual, --json', json100);
  const spread = Math.abs(m100.cpuMs - m1.cpuMs) / m1.cpuMs;
  const spreadWall = Math.abs(m100.wallMs - m1.wallMs) / m1.wallMs;
  console.log(`\n1 GiB vs 100 GiB (interleaved runs): wall ${(spreadWall * 100).toFixed(1)}% apart (target: within 10%) ${spreadWall <= 0.1 ? '✓' : '✗'}; CPU ${(spread * 100).toFixed(1)}% apart (10 ms steps)`);
  const worst = Math.max(gk.rssKiB, json.rssKiB, m1.rssKiB, m100.rssKiB, json100.rssKiB) / 1024;
  console.log(`peak RSS, worst of all runs: ${worst.toFixed(1)} MiB (target ≤ 150 MiB) ${worst <= 150 ? '✓' : '✗'}`);
  for (const n of notes) console.log(`note: ${n}`);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
