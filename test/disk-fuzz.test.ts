/**
 * Seeded mutation fuzzing of the qcow2 reader/writer/checker and the partition-table reader:
 * whatever the bytes, only GuestErrors may escape, and every case finishes quickly.
 * GUESTKIT_FUZZ_ITERS scales the number of cases; GUESTKIT_FUZZ_SEED changes the seed.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { gunzipSync } from 'node:zlib';
import {
  MemoryDevice, Qcow2Device, checkQcow2, readPartitionTable, writeGpt, writeMbr, createQcow2On, GPT_TYPES, type BlockDevice,
} from '@guestkit/disk';
import { Rng, mutate, classify, fuzzIterations } from './support/fuzz.js';
import { fixturePath } from './support/shared.js';

const SEED = Number(process.env.GUESTKIT_FUZZ_SEED ?? 20240601);
/** A single case may not take longer than this (a hang or a pathological loop would). */
const MAX_CASE_MS = 2000;

function fixture(name: string): Uint8Array {
  return new Uint8Array(gunzipSync(readFileSync(fixturePath('qcow2', name + '.gz'))));
}

function be64(b: Uint8Array, off: number): number {
  let v = 0n;
  for (let i = 0; i < 8; i++) v = (v << 8n) | BigInt(b[off + i] ?? 0);
  return Number(v & 0x00fffffffffffe00n);
}

/** The metadata regions of a qcow2 image worth mutating: header, L1, L2 tables, refcount table and blocks. */
function qcow2Regions(b: Uint8Array): { offset: number; length: number }[] {
  const cs = 2 ** (b[23] ?? 16);
  const regions = [{ offset: 0, length: 512 }];
  const l1 = be64(b, 40);
  const l1Size = (b[36]! << 24) | (b[37]! << 16) | (b[38]! << 8) | b[39]!;
  regions.push({ offset: l1, length: Math.max(8, l1Size * 8) });
  for (let i = 0; i < l1Size; i++) {
    const l2 = be64(b, l1 + i * 8);
    if (l2) regions.push({ offset: l2, length: Math.min(cs, 4096) });
  }
  const rt = be64(b, 48);
  regions.push({ offset: rt, length: 64 });
  const rb = be64(b, rt);
  if (rb) regions.push({ offset: rb, length: 256 });
  return regions.filter((r) => r.offset + r.length <= b.length);
}

/** Everything a reader does with an image: open, map, extents, reads, check; sometimes a write. */
function exerciseQcow2(bytes: Uint8Array, rng: Rng): void {
  const write = rng.int(4) === 0;
  const dev = Qcow2Device.open(new MemoryDevice(bytes, { name: 'fuzz.qcow2' }), { write });
  let n = 0;
  for (const e of dev.extents(0, dev.size)) if (++n > 100000) throw new Error('extents did not end');
  for (const r of dev.map(0, Math.min(dev.size, 4 << 20))) void r;
  const buf = new Uint8Array(65536);
  const span = Math.min(dev.size, 1 << 20);
  for (let off = 0; off + buf.length <= span; off += buf.length) dev.readAt(off, buf);
  for (let i = 0; i < 8 && dev.size > 4096; i++) dev.readAt(rng.int(dev.size - 4096), buf.subarray(0, 4096));
  checkQcow2(dev);
  if (write && dev.size > 8192) {
    dev.writeAt(rng.int(dev.size - 8192), new Uint8Array(1 + rng.int(8192)).fill(0x5a));
    checkQcow2(dev);
  }
}

/** Exercise functions return how many problems were tolerated (warnings), if they report any. */
type Exercise = (b: Uint8Array, rng: Rng) => number | void;

function run(name: string, base: () => Uint8Array, regions: (b: Uint8Array) => { offset: number; length: number }[], exercise: Exercise, iterations: number, minOutcomes = 3): void {
  it(`${name}: ${iterations} mutated inputs → only GuestErrors, each case under ${MAX_CASE_MS} ms`, () => {
    const rng = new Rng(SEED ^ name.length * 7919);
    const original = base();
    const regs = regions(original);
    const codes = new Map<string, number>();
    let ok = 0;
    let warned = 0;
    let slowest = 0;
    for (let i = 0; i < iterations; i++) {
      const input = mutate(original, rng, rng.int(5) === 0 ? undefined : regs);
      const t0 = performance.now();
      const r = classify(() => {
        if ((exercise(input, rng) ?? 0) > 0) warned++;
      });
      const ms = performance.now() - t0;
      slowest = Math.max(slowest, ms);
      if (!r.ok && !r.guest) {
        const err = r.error as Error;
        const dump = join(tmpdir(), `guestkit-fuzz-crash-${name.replace(/\W+/g, '_')}-${i}.bin`);
        writeFileSync(dump, input);
        throw new Error(`case ${i} (seed ${SEED}, input saved to ${dump}) threw a non-GuestError: ${err?.constructor?.name}: ${err?.message}\n${err?.stack}`);
      }
      if (ms > MAX_CASE_MS) {
        const dump = join(tmpdir(), `guestkit-fuzz-slow-${name.replace(/\W+/g, '_')}-${i}.bin`);
        writeFileSync(dump, input);
        throw new Error(`case ${i} (seed ${SEED}) took ${ms.toFixed(0)} ms; input saved to ${dump}`);
      }
      if (r.ok) ok++;
      else codes.set(r.code, (codes.get(r.code) ?? 0) + 1);
    }
    // The mutations must reach clean reads, tolerated damage and several kinds of error, or the
    // test proves nothing.
    expect(ok).toBeGreaterThan(0);
    expect(codes.size + (warned > 0 ? 1 : 0)).toBeGreaterThanOrEqual(minOutcomes);
    expect(slowest).toBeLessThan(MAX_CASE_MS);
  }, 300_000);
}

describe('fuzz: qcow2', () => {
  const n = fuzzIterations(400);
  for (const f of ['v3-zero', 'compressed', 'snapshot', 'small-clusters', 'compressed-v2-4k']) {
    run(`qcow2 ${f}`, () => fixture(f + '.qcow2'), qcow2Regions, exerciseQcow2, n);
  }
  run('qcow2 written by guestkit (many refcount blocks)', () => {
    const host = new MemoryDevice(0, { name: 'w.qcow2' });
    const d = createQcow2On(host, { size: 1 << 20, clusterSize: 512, refcountBits: 8 });
    for (let i = 0; i < 64; i++) d.writeAt(i * 9000, new Uint8Array(3000).fill(i));
    return host.bytes.slice();
  }, qcow2Regions, exerciseQcow2, n);
});

function exerciseTable(bytes: Uint8Array, rng: Rng): number {
  const dev: BlockDevice = new MemoryDevice(bytes, { name: 'fuzz.img' });
  const t = readPartitionTable(dev, { lenient: rng.int(2) === 0 });
  for (const p of t.partitions) {
    if (p.start + p.size <= dev.size && p.size > 0) {
      const s = p.open();
      s.readAt(0, new Uint8Array(Math.min(512, s.size)));
    } else {
      // A partition past the end must refuse to open with a typed error, never misbehave.
      p.open();
    }
  }
  return t.warnings.length;
}

describe('fuzz: partition tables', () => {
  const n = fuzzIterations(1500);
  const KiB = 1024;
  run('GPT', () => {
    const dev = new MemoryDevice(256 * KiB);
    writeGpt(dev, {
      partitions: [
        { start: 32 * KiB, size: 64 * KiB, typeGuid: GPT_TYPES.efiSystem, name: 'EFI' },
        { start: 128 * KiB, size: 96 * KiB, typeGuid: GPT_TYPES.microsoftBasicData, name: 'data', number: 4 },
      ],
    });
    return dev.bytes.slice();
  }, (b) => [{ offset: 0, length: 512 }, { offset: 512, length: 96 }, { offset: 1024, length: 512 }, { offset: b.length - 512, length: 96 }, { offset: b.length - 33 * 512, length: 512 }], exerciseTable, n, 2); // damage to one copy is tolerated (backup header)
  run('GPT without a backup header', () => {
    const dev = new MemoryDevice(256 * KiB);
    writeGpt(dev, {
      partitions: [
        { start: 32 * KiB, size: 64 * KiB, typeGuid: GPT_TYPES.efiSystem, name: 'EFI' },
        { start: 128 * KiB, size: 96 * KiB, typeGuid: GPT_TYPES.microsoftBasicData, name: 'data', number: 4 },
      ],
    });
    dev.bytes.fill(0, dev.size - 33 * 512); // backup array and header gone: damage to the primary now shows
    return dev.bytes.slice();
  }, () => [{ offset: 0, length: 512 }, { offset: 512, length: 96 }, { offset: 1024, length: 512 }], exerciseTable, n, 2);
  run('MBR with logical partitions', () => {
    const dev = new MemoryDevice(512 * KiB);
    writeMbr(dev, {
      partitions: [
        { start: 32 * KiB, size: 64 * KiB, type: 0x07, bootable: true },
        { start: 128 * KiB, size: 64 * KiB, type: 0x83, logical: true },
        { start: 256 * KiB, size: 64 * KiB, type: 0x83, logical: true },
        { start: 384 * KiB, size: 64 * KiB, type: 0x82, logical: true },
      ],
    });
    return dev.bytes.slice();
  }, () => [
    { offset: 0x1be, length: 66 }, ...[128, 256, 384].map((k) => ({ offset: k * KiB - 512 + 0x1be, length: 66 })),
  ], exerciseTable, n);
});
