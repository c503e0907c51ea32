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
import { median, printRows, runCmd, type Row } from './lib.js';

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

function peakRssKiB(args: string[]): number | undefined {
  if (!existsSync('/usr/bin/time')) return undefined;
  const r = spawnSync('/usr/bin/time', ['-f', '%M', process.execPath, BIN, ...args], { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] });
  const last = r.stderr.trim().split('\n').pop();
  return last && /^\d+$/.test(last) ? Number(last) : undefined;
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

const rows: Row[] = [];
const notes: string[] = [];
const gk = times(process.execPath, [BIN, 'inspect', SAMPLE], RUNS);
const gkMs = median(gk);
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
if (nativeMs !== undefined) rows.push({ what: 'inspect sample qcow2, cold process (XML)', guestkitMs: gkMs, nativeMs, native: nativeLabel, target: 0.01 });
notes.push(`guestkit inspect runs (ms): ${gk.map((x) => x.toFixed(0)).join(' / ')}`);

const tmp = mkdtempSync(join(process.env.GUESTKIT_TMP ?? tmpdir(), 'gk-bench-inspect-'));
try {
  const g1 = grown(tmp, '1G');
  const g100 = grown(tmp, '100G');
  const t1 = median(times(process.execPath, [BIN, 'inspect', g1], RUNS));
  const t100 = median(times(process.execPath, [BIN, 'inspect', g100], RUNS));
  const json = median(times(process.execPath, [BIN, 'inspect', '--json', SAMPLE], RUNS));
  printRows(rows);
  console.log('');
  console.log('| guestkit inspect | median ms |');
  console.log('| --- | ---: |');
  console.log(`| sample (88 MiB virtual), XML | ${gkMs.toFixed(1)} |`);
  console.log(`| sample, --json (extras, BCD) | ${json.toFixed(1)} |`);
  console.log(`| same guest, 1 GiB virtual | ${t1.toFixed(1)} |`);
  console.log(`| same guest, 100 GiB virtual | ${t100.toFixed(1)} |`);
  const spread = Math.abs(t100 - t1) / t1;
  console.log(`\n1 GiB vs 100 GiB: ${(spread * 100).toFixed(1)}% apart (target: within 10%) ${spread <= 0.1 ? '✓' : '✗'}`);
  const rss = peakRssKiB(['inspect', SAMPLE]);
  const rss100 = peakRssKiB(['inspect', '--json', g100]);
  if (rss !== undefined && rss100 !== undefined) {
    const worst = Math.max(rss, rss100) / 1024;
    console.log(`peak RSS: sample ${(rss / 1024).toFixed(1)} MiB, 100 GiB --json ${(rss100 / 1024).toFixed(1)} MiB (target ≤ 150 MiB) ${worst <= 150 ? '✓' : '✗'}`);
  } else console.log('peak RSS: /usr/bin/time not available');
  for (const n of notes) console.log(`note: ${n}`);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
