import { describe, expect, it } from 'vitest';
import { GuestError, collectingLogger } from '@guestkit/disk/binary';
import {
  Hive, exportRegToBytes, exportXmlToBytes, exportJsonToString, recoverHive, mergeReg, CELL_HEADER, type NodeRef,
} from '@guestkit/hive';
import { Rng, mutate, fuzzIterations } from './support/fuzz.js';
import { fixturePath, readMaybeGz } from './support/shared.js';
import { makeDirty, makeNewLog, makeOldLog } from '../packages/hive/test/make-logs.js';

/**
 * Seeded mutation fuzzing of hive bytes, transaction logs and .reg text: whatever the damage,
 * only GuestErrors may escape (never a TypeError/RangeError), and every case ends quickly (no
 * hang, no runaway allocation). GUESTKIT_FUZZ_ITERS scales the number of cases.
 */
const silent = collectingLogger([]);
const MAX_CASE_MS = 3000;

/** Everything a user can do with a hive: open, walk, read values, export, write, serialize. */
function exercise(bytes: Uint8Array, unsafe: boolean, i: number): void {
  const h = Hive.open(bytes, { unsafe, logger: silent, limits: { maxWalkNodes: 50_000 } });
  let n = 0;
  for (const { node } of h.walk()) {
    for (const v of h.values(node)) {
      h.valueOf(v);
      h.valueLocation(v);
    }
    h.nodeClassName(node);
    h.nodeSecurity(node);
    if (++n > 2000) break;
  }
  exportRegToBytes(h);
  if (i % 3 === 0) {
    exportXmlToBytes(h, { skipBad: unsafe });
    exportJsonToString(h, { skipBad: unsafe });
  }
  if (i % 2 === 1) return;
  const w = Hive.open(bytes, { writable: true, allowDirty: true, unsafe, logger: silent, limits: { maxWalkNodes: 50_000 } });
  const k = w.addChild(w.root, 'fuzz-added');
  w.setValue(k, { name: 'v', type: 'REG_BINARY', data: new Uint8Array(20000) });
  // Delete the smallest other subkey of the root (keeps each case fast).
  const others = w.children(w.root).filter((c) => c !== k);
  others.sort((x, y) => w.nodeSubkeyCount(x) - w.nodeSubkeyCount(y));
  if (others[0] !== undefined) w.deleteChild(others[0]);
  Hive.open(w.serialize(), { logger: silent });
}

function run(label: string, fn: () => void): string | undefined {
  const t0 = Date.now();
  try {
    fn();
  } catch (e) {
    if (!(e instanceof GuestError)) return `${label}: ${(e as Error).stack ?? String(e)}`;
  }
  const ms = Date.now() - t0;
  return ms > MAX_CASE_MS ? `${label}: took ${ms} ms` : undefined;
}

/** Offsets of cells that matter (nk, vk, lists): mutations there reach the parsers' checks. */
function hotRegions(bytes: Uint8Array): { offset: number; length: number }[] {
  const regions = [{ offset: 0, length: 512 }, { offset: 0x1000, length: 64 }];
  const h = Hive.open(bytes, { logger: silent });
  let i = 0;
  for (const { node } of h.walk()) {
    regions.push({ offset: node, length: CELL_HEADER + 0x50 });
    const list = h.image.view.u32(node + CELL_HEADER + 0x1c) + 0x1000;
    if (h.image.isCell(list)) regions.push({ offset: list, length: 24 });
    for (const v of h.values(node as NodeRef)) regions.push({ offset: v, length: 28 });
    if (++i > 300) break;
  }
  return regions;
}

function seedHive(): Uint8Array {
  const h = Hive.create({ now: () => 133485408000000000n });
  const a = h.addChild(h.root, 'A');
  for (let i = 0; i < 600; i++) h.addChild(a, `k${i}`); // an index root
  const b = h.addChild(h.root, 'Ключ');
  h.setValue(b, { name: 'big', type: 'REG_BINARY', data: new Uint8Array(40000).fill(3) }); // big data
  h.setValue(b, { name: 's', type: 'REG_SZ', data: 'text' });
  h.setValue(b, { name: 'm', type: 'REG_MULTI_SZ', data: ['a', 'b'] });
  h.setValue(b, { name: 'd', type: 'REG_DWORD', data: 5 });
  return h.serialize();
}

describe('hive fuzzing', () => {
  const seeds: [string, Uint8Array][] = [
    ['types.hive (hivex-written)', new Uint8Array(readMaybeGz(fixturePath('hive', 'types.hive.gz')))],
    ['generated (ri, db, UTF-16 names)', seedHive()],
  ];

  for (const [name, seed] of seeds) {
    it(`mutated ${name}: only GuestErrors, no hangs`, () => {
      const rng = new Rng(0x5eed ^ seed.length);
      const regions = hotRegions(seed);
      const n = fuzzIterations(400);
      const bugs: string[] = [];
      for (let i = 0; i < n; i++) {
        const m = mutate(seed, rng, i % 4 === 0 ? undefined : regions);
        for (const unsafe of [false, true]) {
          const bug = run(`${name} case ${i} (${unsafe ? 'unsafe' : 'strict'})`, () => exercise(m, unsafe, i));
          if (bug) bugs.push(bug);
        }
        if (bugs.length > 3) break;
      }
      expect(bugs).toEqual([]);
    }, 240_000);
  }

  it('mutated transaction logs and primaries: replay fails with GuestErrors only', () => {
    let t = 133485408000000000n;
    const now = () => (t += 10_000_000n);
    const h = Hive.create({ now });
    for (let i = 0; i < 50; i++) h.addChild(h.root, `k${i}`);
    const v0 = h.serialize();
    const h1 = Hive.open(v0, { writable: true, now });
    h1.setRawValue(h1.root, 'big', 3, new Uint8Array(30000).fill(1));
    const v1 = h1.serialize();
    const seq = Hive.open(v0).sequenceNumbers[1];
    const dirty = makeDirty(v0);
    const newLog = makeNewLog(v0, [v1], seq);
    const oldLog = makeOldLog(v0, v1, seq + 1);
    const rng = new Rng(77);
    const bugs: string[] = [];
    const n = fuzzIterations(400);
    for (let i = 0; i < n; i++) {
      const which = i % 3;
      const log = which === 0 ? mutate(newLog, rng, [{ offset: 0, length: 600 }]) : which === 1 ? mutate(oldLog, rng) : newLog;
      const primary = which === 2 ? mutate(dirty, rng, [{ offset: 0, length: 512 }]) : dirty;
      const bug = run(`log case ${i}`, () => {
        const { hive } = recoverHive(primary, [{ name: 'LOG1', bytes: log }], { logger: silent });
        exportRegToBytes(hive);
      });
      if (bug) bugs.push(bug);
    }
    expect(bugs).toEqual([]);
  }, 120_000);

  it('mutated .reg text: parse and merge fail with GuestErrors only', () => {
    const base = Buffer.from(exportRegToBytes(Hive.open(seedHive()), '\\', { encoding: 'utf8' })).subarray(0, 6000);
    const rng = new Rng(99);
    const bugs: string[] = [];
    for (let i = 0; i < fuzzIterations(300); i++) {
      const m = mutate(new Uint8Array(base), rng);
      const bug = run(`reg case ${i}`, () => mergeReg(Hive.create(), m, { strict: i % 2 === 0 }));
      if (bug) bugs.push(bug);
    }
    expect(bugs).toEqual([]);
  }, 120_000);
});
