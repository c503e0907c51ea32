/**
 * pnpm bench disk
 *
 * 1. Convert a 1 GiB qcow2 with half of its clusters allocated (512 MiB of data in alternating
 *    1 MiB runs) to raw: the guestkit CLI (compiled JS, so start-up counts) against
 *    `qemu-img convert -O raw`, same input, same run. Target ratio <= 1.5.
 * 2. Random 4 KiB reads through qcow2 + GPT partition (+ CachedDevice): guestkit in-process
 *    against `qemu-io` reading the same offsets from one process.
 *
 * Inputs are generated in a temporary directory (GUESTKIT_TMP or the OS temp dir) and removed.
 * Options: --runs=N (default 5), --reads=N (default 100000), --keep (leave the temp dir).
 */
import { mkdtempSync, rmSync, openSync, writeSync, closeSync, ftruncateSync, statSync } from 'node:fs';
import { randomFillSync } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { createQcow2, openImage, readPartitionTable, writeGpt, CachedDevice, GPT_TYPES, Qcow2Device } from '@guestkit/disk';
import { median, printRows, runCmd, type Row } from './lib.js';

const argv = process.argv.slice(2);
/** --name=N (pnpm bench passes only arguments that start with "-"). */
const opt = (name: string, dflt: number): number => {
  const a = argv.find((x) => x.startsWith(`--${name}=`));
  const v = a === undefined ? dflt : Number(a.slice(name.length + 3));
  if (!Number.isInteger(v) || v < 1) throw new Error(`--${name} must be a positive integer`);
  return v;
};
const RUNS = opt('runs', 5);
const READS = opt('reads', 100_000);
const KEEP = argv.includes('--keep');
const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const guestkit = join(repo, 'apps', 'cli', 'bin', 'guestkit');

function need(tool: string): void {
  if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) {
    console.error(`bench disk needs ${tool} (Debian package qemu-utils)`);
    process.exit(2);
  }
}
need('qemu-img');
need('qemu-io');

const dir = mkdtempSync(join(process.env.GUESTKIT_TMP ?? tmpdir(), 'guestkit-bench-disk-'));
const cleanup = () => {
  if (!KEEP) rmSync(dir, { recursive: true, force: true });
};
process.on('exit', cleanup);

/** 1 GiB raw, data in every other MiB (pseudo-random bytes), holes elsewhere; then qemu-img makes the qcow2. */
function makeHalfAllocated(): string {
  const raw = join(dir, 'half.raw');
  const fd = openSync(raw, 'w');
  ftruncateSync(fd, GiB);
  const buf = Buffer.alloc(MiB);
  for (let off = 0; off < GiB; off += 2 * MiB) {
    randomFillSync(buf);
    writeSync(fd, buf, 0, buf.length, off);
  }
  closeSync(fd);
  const qcow = join(dir, 'half.qcow2');
  runCmd('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', raw, qcow]);
  rmSync(raw);
  return qcow;
}

console.log(`bench disk: temp dir ${dir}, ${RUNS} runs each (after one warm-up), ${READS} random reads`);
const t0 = performance.now();
const input = makeHalfAllocated();
console.log(`input: ${input} (${(statSync(input).size / MiB).toFixed(0)} MiB file, 1 GiB virtual, 512 MiB data) made in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

/**
 * Run a command and return wall-clock ms, plus user+system CPU ms when /usr/bin/time is there
 * (CPU time is what a busy shared machine distorts least).
 */
const haveTime = spawnSync('sh', ['-c', 'test -x /usr/bin/time']).status === 0;
function runTimed(cmd: string, args: string[]): { wall: number; cpu?: number } {
  if (!haveTime) return { wall: runCmd(cmd, args) };
  const a = performance.now();
  const r = spawnSync('/usr/bin/time', ['-f', 'GKCPU %U %S', cmd, ...args], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  const wall = performance.now() - a;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  const m = /GKCPU ([\d.]+) ([\d.]+)/.exec(r.stderr);
  return m ? { wall, cpu: (Number(m[1]) + Number(m[2])) * 1000 } : { wall };
}

// ---- 1. convert ---------------------------------------------------------------------------
const outG = join(dir, 'out-guestkit.raw');
const outQ = join(dir, 'out-qemu.raw');
// Interleave the two tools so that background load affects both alike.
const gTimes: number[] = [];
const qTimes: number[] = [];
const gCpu: number[] = [];
const qCpu: number[] = [];
for (let i = 0; i < RUNS + 1; i++) {
  rmSync(outG, { force: true });
  rmSync(outQ, { force: true });
  // The executable itself, as a user runs it (its launcher line sets up the environment).
  const g = runTimed(guestkit, ['disk', 'convert', input, outG, '-O', 'raw', '--no-progress']);
  const q = runTimed('qemu-img', ['convert', '-O', 'raw', input, outQ]);
  if (i > 0) {
    gTimes.push(g.wall);
    qTimes.push(q.wall);
    if (g.cpu !== undefined && q.cpu !== undefined) {
      gCpu.push(g.cpu);
      qCpu.push(q.cpu);
    }
  }
}
const cmp = spawnSync('qemu-img', ['compare', '-f', 'raw', '-F', 'raw', outG, outQ], { encoding: 'utf8' });
if (cmp.status !== 0) throw new Error(`outputs differ: ${cmp.stdout}${cmp.stderr}`);
const sparse = (p: string) => `${(statSync(p).blocks * 512 / MiB).toFixed(0)} MiB on disk`;
console.log(`outputs identical (qemu-img compare); guestkit ${sparse(outG)}, qemu-img ${sparse(outQ)}`);
console.log(`guestkit runs (ms): ${gTimes.map((x) => x.toFixed(0)).join(' ')}; qemu-img runs (ms): ${qTimes.map((x) => x.toFixed(0)).join(' ')}`);
if (gCpu.length) {
  console.log(`CPU time (user+sys, ms): guestkit ${gCpu.map((x) => x.toFixed(0)).join(' ')}; qemu-img ${qCpu.map((x) => x.toFixed(0)).join(' ')}`);
}
rmSync(outG, { force: true });
rmSync(outQ, { force: true });

// ---- 2. random 4 KiB reads through qcow2 + partition (+ cache) ----------------------------
// A GPT disk image whose one partition holds the same kind of half-allocated data.
const disk = join(dir, 'parts.qcow2');
{
  const d = createQcow2(disk, { size: GiB });
  const t = writeGpt(d, { partitions: [{ start: MiB, size: GiB - 2 * MiB, typeGuid: GPT_TYPES.microsoftBasicData, name: 'data' }] });
  const part = t.partitions[0]!.open();
  const buf = Buffer.alloc(MiB);
  for (let off = 0; off + MiB <= part.size; off += 2 * MiB) {
    randomFillSync(buf);
    part.writeAt(off, buf);
  }
  d.close();
}
const chk = spawnSync('qemu-img', ['check', disk], { encoding: 'utf8' });
if (chk.status !== 0) throw new Error(`qemu-img check of the generated image failed:\n${chk.stdout}`);

// The same pseudo-random 4 KiB-aligned offsets for both tools.
let seed = 0x9e3779b9;
const rand = () => {
  seed ^= seed << 13;
  seed >>>= 0;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  seed >>>= 0;
  return seed;
};
const partStart = MiB;
const partSize = GiB - 2 * MiB;
const offsets = Array.from({ length: READS }, () => (rand() % (partSize / 4096)) * 4096);

function guestkitReads(cacheBlock: number): number {
  const img = openImage(disk) as Qcow2Device;
  const table = readPartitionTable(img);
  const slice = table.partitions[0]!.open();
  const dev = cacheBlock ? new CachedDevice(slice, { blockSize: cacheBlock, maxBytes: 64 * MiB, ownsBase: false }) : slice;
  const buf = new Uint8Array(4096);
  const a = performance.now();
  for (const o of offsets) dev.readAt(o, buf);
  const ms = performance.now() - a;
  img.close();
  return ms;
}

function qemuReads(): number {
  const script = offsets.map((o) => `read -q ${partStart + o} 4k`).join('\n') + '\nquit\n';
  const a = performance.now();
  const r = spawnSync('qemu-io', ['-f', 'qcow2', disk], { input: script, stdio: ['pipe', 'ignore', 'pipe'], maxBuffer: 1 << 30 });
  const ms = performance.now() - a;
  if (r.status !== 0) throw new Error(`qemu-io failed: ${r.stderr}`);
  return ms;
}

const rNoCache: number[] = [];
const rCache4: number[] = [];
const rCache64: number[] = [];
const rQemu: number[] = [];
for (let i = 0; i < RUNS + 1; i++) {
  const a = guestkitReads(0);
  const b = guestkitReads(4096);
  const b2 = guestkitReads(65536);
  const c = qemuReads();
  if (i > 0) {
    rNoCache.push(a);
    rCache4.push(b);
    rCache64.push(b2);
    rQemu.push(c);
  }
}

const rows: Row[] = [
  { what: 'convert 1 GiB qcow2 (512 MiB data) -> raw, CLI incl. start-up', guestkitMs: median(gTimes), nativeMs: median(qTimes), native: 'qemu-img convert -O raw', target: 1.5 },
  ...(gCpu.length ? [{ what: 'same, CPU time (user+sys)', guestkitMs: median(gCpu), nativeMs: median(qCpu), native: 'qemu-img convert -O raw' }] : []),
  { what: `${READS} random 4 KiB reads, qcow2 + GPT partition`, guestkitMs: median(rNoCache), nativeMs: median(rQemu), native: 'qemu-io read (one process)' },
  { what: `${READS} random 4 KiB reads, qcow2 + GPT partition + CachedDevice (4 KiB blocks, 64 MiB)`, guestkitMs: median(rCache4), nativeMs: median(rQemu), native: 'qemu-io read (one process)' },
  { what: `${READS} random 4 KiB reads, qcow2 + GPT partition + CachedDevice (64 KiB blocks, 64 MiB)`, guestkitMs: median(rCache64), nativeMs: median(rQemu), native: 'qemu-io read (one process)' },
];
console.log('');
printRows(rows);
const perSec = (ms: number) => Math.round((READS / ms) * 1000).toLocaleString('en-US');
console.log('');
console.log(`random 4 KiB reads/s: guestkit qcow2+partition ${perSec(median(rNoCache))}, +cache (4 KiB blocks) ${perSec(median(rCache4))}, +cache (64 KiB blocks) ${perSec(median(rCache64))}; qemu-io ${perSec(median(rQemu))} (includes qemu-io start-up)`);
cleanup();
