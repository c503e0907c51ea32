// `pnpm bench hive`: export of the largest corpus hive and of a generated ~100 MB hive with the
// built guestkit CLI, against hivexregedit --export and hivexml, in the same run. Medians of N
// interleaved rounds (wall time and CPU time, output to /dev/null); ratio = guestkit / native.
// guestkit is run as users run it, apps/cli/bin/guestkit (its shebang drops NODE_EXTRA_CA_CERTS,
// which node would otherwise parse at every start: ~85 ms on the build machines), as the other
// benches do.
// Options: --runs=N (default 5; at most 3 for the 100 MB hive), --no-big (skip the generated hive).
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import { tmpdir } from 'node:os';
import { gunzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import { Hive } from '@guestkit/hive';
import { interleaved, median, runCmd, printRows, type Row } from './lib.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '..');
const cli = join(repo, 'apps', 'cli', 'bin', 'guestkit');
const args = process.argv.slice(2);
const runsArg = args.find((a) => a.startsWith('--runs='));
const RUNS = runsArg ? Math.max(1, Number(runsArg.slice(7)) || 5) : 5;
const noBig = args.includes('--no-big');
const work = join(process.env.GUESTKIT_TMP ?? tmpdir(), 'guestkit-bench-hive');
mkdirSync(work, { recursive: true });

function have(tool: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;
}

interface Timing {
  wall: number;
  cpu: number;
}

/** Wall time and CPU time (user + system, from GNU time) of one run. */
function timeOnce(cmd: string, argv: string[]): Timing {
  const timeFile = join(work, 'time.txt');
  const wall = runCmd('/usr/bin/time', ['-f', '%U %S', '-o', timeFile, cmd, ...argv]);
  const [u, sy] = readFileSync(timeFile, 'utf8').trim().split(/\s+/).slice(-2).map(Number);
  return { wall, cpu: ((u ?? 0) + (sy ?? 0)) * 1000 };
}

/**
 * Median wall time and median CPU time of each command over `runs` interleaved rounds. CPU time
 * is the steadier second view (it counts every thread, so it also charges Node's JIT and GC
 * threads).
 */
function timesInterleaved(cmds: Record<string, [string, string[]]>, runs: number): Record<string, Timing> {
  const names = Object.keys(cmds);
  const got = interleaved(names.map((n) => () => timeOnce(...cmds[n]!)), runs);
  return Object.fromEntries(names.map((n, k) => [n, { wall: median(got[k]!.map((x) => x.wall)), cpu: median(got[k]!.map((x) => x.cpu)) }]));
}

/** The largest primary hive in ../shared/testdata/hives (decompressed to the work directory). */
function largestCorpusHive(): { name: string; path: string } | undefined {
  const shared = process.env.GUESTKIT_SHARED ?? resolve(repo, '..', 'shared');
  const dir = join(shared, 'testdata', 'hives');
  if (!existsSync(dir)) return undefined;
  const files: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d)) {
      const p = join(d, e);
      if (statSync(p).isDirectory()) walk(p);
      else if (!/\.log\d?(\.gz)?$/i.test(e) && !/\.(txt|md)$/i.test(e)) files.push(p);
    }
  };
  walk(dir);
  let best: { name: string; bytes: Uint8Array } | undefined;
  for (const f of files) {
    const raw = readFileSync(f);
    const bytes = f.endsWith('.gz') ? gunzipSync(raw) : raw;
    if (bytes.length < 4 || bytes.toString('latin1', 0, 4) !== 'regf') continue;
    if (!best || bytes.length > best.bytes.length) best = { name: f.slice(dir.length + 1).replace(/\.gz$/, ''), bytes };
  }
  if (!best) return undefined;
  const p = join(work, 'corpus-' + best.name.replace(/[^A-Za-z0-9_.-]/g, '_'));
  if (!existsSync(p)) writeFileSync(p, best.bytes);
  return { name: best.name, path: p };
}

/**
 * A generated ~100 MB hive (built once with guestkit's writer, cached in the work directory):
 * 1800 keys × 40 subkeys, each with two strings, a DWORD, a binary of 0.1-1.1 KiB and, every
 * 200th key, a 40 KiB big-data value.
 */
function bigHive(): string {
  const p = join(work, 'generated-100m-v2.hive');
  if (existsSync(p)) return p;
  process.stdout.write('generating the ~100 MB hive (cached for later runs)… ');
  const t0 = Date.now();
  let seed = 12345;
  const rnd = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n);
  const h = Hive.create({ now: () => 133485408000000000n });
  for (let i = 0; i < 1800; i++) {
    const top = h.addChild(h.root, `Component{${i.toString(16).padStart(8, '0')}-4c1e-9a2b-${i}}`);
    for (let j = 0; j < 40; j++) {
      const k = h.addChild(top, `Item ${j} ${'x'.repeat(rnd(20))}`);
      h.setValue(k, { name: 'DisplayName', type: 'REG_SZ', data: `Display name ${i}/${j} ${'lorem ipsum '.repeat(1 + rnd(8))}` });
      h.setValue(k, { name: 'Path', type: 'REG_EXPAND_SZ', data: `%SystemRoot%\\System32\\drivers\\item${j}.sys` });
      h.setValue(k, { name: 'Flags', type: 'REG_DWORD', data: rnd(0xffff) });
      h.setValue(k, { name: 'Data', type: 'REG_BINARY', data: new Uint8Array(100 + rnd(1000)).map(() => rnd(256)) });
      if ((i * 40 + j) % 200 === 0) h.setValue(k, { name: 'Blob', type: 'REG_BINARY', data: new Uint8Array(40000).map(() => rnd(256)) });
    }
  }
  const bytes = h.serialize();
  writeFileSync(p, bytes);
  process.stdout.write(`${(bytes.length / 1048576).toFixed(0)} MiB in ${((Date.now() - t0) / 1000).toFixed(0)} s\n`);
  return p;
}

const missing = ['hivexregedit', 'hivexml'].filter((t) => !have(t));
if (missing.length) {
  console.log(`bench hive: ${missing.join(', ')} not installed; nothing to compare with`);
  process.exit(0);
}
if (!existsSync(join(repo, 'apps', 'cli', 'dist', 'main.js'))) {
  console.log('bench hive: build the CLI first (pnpm build)');
  process.exit(1);
}

const rows: Row[] = [];
const cpuRows: Row[] = [];
const subjects: { label: string; path: string; runs: number }[] = [];
const corpus = largestCorpusHive();
if (corpus) subjects.push({ label: `${corpus.name} (${(statSync(corpus.path).size / 1048576).toFixed(1)} MiB)`, path: corpus.path, runs: RUNS });
else console.log('(../shared not present: corpus hive skipped)');
if (!noBig) {
  const p = bigHive();
  subjects.push({ label: `generated (${(statSync(p).size / 1048576).toFixed(0)} MiB)`, path: p, runs: Math.min(RUNS, 3) });
}

for (const s of subjects) {
  const t = timesInterleaved({
    gkReg: [cli, ['hive', 'export', s.path, '\\']],
    hxReg: ['hivexregedit', ['--export', s.path, '\\']],
    hxXml: ['hivexml', [s.path]],
    gkXml: [cli, ['hive', 'xml', s.path]],
  }, s.runs);
  const { gkReg, hxReg, hxXml, gkXml } = t as Record<'gkReg' | 'hxReg' | 'hxXml' | 'gkXml', Timing>;
  for (const [list, k] of [[rows, 'wall'], [cpuRows, 'cpu']] as const) {
    list.push({ what: `export .reg: ${s.label}`, guestkitMs: gkReg[k], native: 'hivexregedit --export', nativeMs: hxReg[k], target: 0.2 });
    list.push({ what: `export .reg: ${s.label}`, guestkitMs: gkReg[k], native: 'hivexml', nativeMs: hxXml[k], target: 1.0 });
    list.push({ what: `export XML: ${s.label}`, guestkitMs: gkXml[k], native: 'hivexml', nativeMs: hxXml[k] });
  }
}
const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
console.log(`\nmedians of ${RUNS} interleaved rounds (${Math.min(RUNS, 3)} for the generated hive), stdout to /dev/null; node ${process.version}; load average ${load}\n`);
console.log('wall time (ms):\n');
printRows(rows);
console.log('\nCPU time, user + system of all threads (ms):\n');
printRows(cpuRows);
