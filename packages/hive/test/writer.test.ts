import { describe, expect, it } from 'vitest';
import { ByteWriter, ExistsError, UnsafeStateError, UsageError } from '@guestkit/disk/binary';
import { Hive, exportRegToBytes, SIG, NK, BASE, CELL_HEADER, HBIN_BASE, MAX_LEAF_ENTRIES, writeBaseBlockChecksum } from '@guestkit/hive';
import { hiveFixture, fixedNow, FIXED_NOW } from './helpers.js';
import { compareWithModel, runRandomEdits } from './model.js';

describe('Hive.create', () => {
  it('makes an empty hive that re-opens cleanly', () => {
    const h = Hive.create({ rootName: 'CsiTool-CreateHive-{00000000-0000-0000-0000-000000000000}', now: fixedNow });
    const b = h.serialize();
    const r = Hive.open(b);
    expect(r.version).toBe('1.5');
    expect(r.dirty).toBe(false);
    expect(r.nodeName(r.root)).toBe('CsiTool-CreateHive-{00000000-0000-0000-0000-000000000000}');
    expect(r.children(r.root)).toEqual([]);
    expect(r.nodeSecurity(r.root)?.length).toBeGreaterThan(20);
    expect(r.sequenceNumbers[0]).toBe(r.sequenceNumbers[1]);
    expect(b.length).toBe(8192);
  });
});

describe('writing', () => {
  it('adds keys sorted, with lh hashes, shared sk and timestamps', () => {
    const h = Hive.create({ now: fixedNow });
    const sw = h.addChild(h.root, 'Software');
    for (const n of ['b', 'A', 'ä', 'C', 'ß', 'a1']) h.addChild(sw, n);
    // Windows order: upper-cased code units; ä (→ Ä, 0xC4) sorts before ß (no upper case, 0xDF).
    expect(h.children(sw).map((n) => h.nodeName(n))).toEqual(['A', 'a1', 'b', 'C', 'ä', 'ß']);
    expect(() => h.addChild(sw, 'SOFTWARE'.toLowerCase().replace('software', 'B'))).toThrow(ExistsError);
    expect(() => h.addChild(sw, 'a\\b')).toThrow(UsageError);
    expect(() => h.addChild(sw, '')).toThrow(UsageError);
    expect(h.nodeTimestamp(sw)).toBe(FIXED_NOW);
    const sk = h.nodeSecurityCell(h.root)!;
    expect(h.nodeSecurityCell(sw)).toBe(sk);
    expect(h.securityRefCount(sk)).toBe(8);
    h.deleteChild(sw);
    expect(h.securityRefCount(sk)).toBe(1);
    expect(h.children(h.root)).toEqual([]);
  });

  it('splits leaves into an index root instead of growing one giant leaf', () => {
    const h = Hive.create({ now: fixedNow });
    const k = h.addChild(h.root, 'Many');
    for (let i = 0; i < 1600; i++) h.addChild(k, `key${(i * 7919) % 1600}`);
    const list = h.image.view.u32(k + CELL_HEADER + NK.subkeyList) + HBIN_BASE;
    expect(h.image.sig(list)).toBe(SIG.ri);
    const leaves = h.image.view.u16(list + CELL_HEADER + 2);
    expect(leaves).toBeGreaterThanOrEqual(4);
    for (let i = 0; i < leaves; i++) {
      const leaf = h.image.view.u32(list + CELL_HEADER + 4 + i * 4) + HBIN_BASE;
      expect(h.image.sig(leaf)).toBe(SIG.lh);
      expect(h.image.view.u16(leaf + CELL_HEADER + 2)).toBeLessThanOrEqual(MAX_LEAF_ENTRIES);
    }
    const r = Hive.open(h.serialize());
    const names = r.children(r.path('Many')!).map((n) => r.nodeName(n));
    expect([...r.walk()].length).toBe(1602);
    expect(names.length).toBe(1600);
    expect(names).toEqual([...names].sort((a, b) => (a.toUpperCase() < b.toUpperCase() ? -1 : a.toUpperCase() > b.toUpperCase() ? 1 : 0)));
    // Delete most of them: leaves empty out and the structure shrinks back.
    const w = Hive.open(h.serialize(), { writable: true, now: fixedNow });
    const wm = w.path('Many')!;
    for (const n of w.children(wm).slice(10)) w.deleteChild(n);
    expect(w.children(wm).length).toBe(10);
    expect(Hive.open(w.serialize()).children(wm).length).toBe(10);
  });

  it('stores data inline (≤ 4 bytes), in one cell, or as big data (> 16344 bytes, v1.4+)', () => {
    const h = Hive.create({ now: fixedNow });
    const k = h.addChild(h.root, 'V');
    const big = new Uint8Array(100000).map((_, i) => (i * 31) & 0xff);
    h.setRawValue(k, 'inline', 3, new Uint8Array([1, 2, 3]));
    h.setRawValue(k, 'cell', 3, new Uint8Array(16344).fill(5));
    h.setRawValue(k, 'big', 3, big);
    h.setValue(k, { name: 'typed', type: 'REG_MULTI_SZ', data: ['x', 'y'] });
    const r = Hive.open(h.serialize());
    const rk = r.path('V')!;
    expect(r.valueLocation(r.value(rk, 'inline')!).inline).toBe(true);
    expect(r.valueLocation(r.value(rk, 'cell')!).bigData).toBe(false);
    expect(r.valueLocation(r.value(rk, 'big')!).bigData).toBe(true);
    expect(Buffer.from(r.valueBytes(r.value(rk, 'big')!)).equals(big)).toBe(true);
    expect(r.valueOf(r.value(rk, 'typed')!)).toEqual({ name: 'typed', type: 'REG_MULTI_SZ', data: ['x', 'y'] });
    // A 1.3 hive has no big data: the value goes into one cell.
    const h13 = Hive.create({ now: fixedNow, minorVersion: 3 });
    h13.setRawValue(h13.root, 'big', 3, big);
    const r13 = Hive.open(h13.serialize());
    expect(r13.valueLocation(r13.value(r13.root, 'big')!).bigData).toBe(false);
    expect(Buffer.from(r13.valueBytes(r13.value(r13.root, 'big')!)).equals(big)).toBe(true);
  });

  it('replaces, deletes and case-insensitively matches values; updates nk maxima', () => {
    const h = Hive.create({ now: fixedNow });
    const k = h.addChild(h.root, 'K');
    h.setValue(k, { name: 'Name', type: 'REG_SZ', data: 'one' });
    h.setValue(k, { name: 'NAME', type: 'REG_SZ', data: 'two' });
    expect(h.values(k).length).toBe(1);
    expect(h.valueName(h.values(k)[0]!)).toBe('NAME');
    expect(h.valueString(h.value(k, 'name')!)).toBe('two');
    expect(h.image.view.u32(k + CELL_HEADER + NK.maxValueNameLen)).toBe(8);
    expect(h.deleteValue(k, 'nAmE')).toBe(true);
    expect(h.deleteValue(k, 'nAmE')).toBe(false);
    h.setValues(k, [{ name: '', type: 'REG_DWORD', data: 1 }, { name: 'q', type: 'REG_QWORD', data: 5n }]);
    expect(h.values(k).map((v) => h.valueName(v))).toEqual(['', 'q']);
    expect(() => h.setValues(k, [{ name: 'a', type: 3, data: new Uint8Array() }, { name: 'A', type: 3, data: new Uint8Array() }])).toThrow(UsageError);
  });

  it('edits a hive written by hivex and keeps everything else as it was', () => {
    const orig = hiveFixture('types.hive.gz');
    const h = Hive.open(orig, { writable: true, now: fixedNow });
    const before = Buffer.from(exportRegToBytes(h)).toString('latin1');
    const t = h.path('Types')!;
    h.setValue(t, { name: 'added', type: 'REG_SZ', data: 'new' });
    h.addChild(h.path('Many')!, 'key0300a');
    const after = Buffer.from(exportRegToBytes(Hive.open(h.serialize()))).toString('latin1');
    const added = after.split('\n').filter((l) => !before.includes(l + '\n'));
    expect(added.sort()).toEqual(['"added"=hex(1):6e,00,65,00,77,00,00,00', '[\\Many\\key0300a]']);
    expect(orig.length).toBe(hiveFixture('types.hive.gz').length); // the input buffer was not touched
  });

  it('refuses to write a dirty hive unless allowed', () => {
    const b = Hive.create({ now: fixedNow }).serialize();
    const dirty = b.slice();
    new ByteWriter(dirty).u32(BASE.sequence2, 0);
    writeBaseBlockChecksum(dirty.subarray(0, 512)); // only the sequence numbers make it dirty
    const h = Hive.open(dirty, { writable: true });
    expect(h.dirty).toBe(true);
    expect(() => h.addChild(h.root, 'x')).toThrow(UnsafeStateError);
    const ok = Hive.open(dirty, { writable: true, allowDirty: true });
    ok.addChild(ok.root, 'x');
    const r = Hive.open(ok.serialize());
    expect(r.dirty).toBe(false);
    expect(r.sequenceNumbers).toEqual([3, 3]); // one more than the larger of 2/0
  });

  it('refuses writes in unsafe mode and values no reader would accept', () => {
    const b = Hive.create({ now: fixedNow }).serialize();
    const u = Hive.open(b, { writable: true, unsafe: true });
    expect(() => u.addChild(u.root, 'x')).toThrow(UsageError);
    const h13 = Hive.create({ now: fixedNow, minorVersion: 3 });
    expect(() => h13.setRawValue(h13.root, 'v', 3, new Uint8Array(1024 * 1024 + 1))).toThrow(/1048576/);
    const h15 = Hive.create({ now: fixedNow });
    expect(() => h15.setRawValue(h15.root, 'v', 3, new Uint8Array(8_000_001))).toThrow(UsageError);
  });

  it('serializes with new sequence numbers, timestamp and checksum; unchanged hives byte for byte', () => {
    const orig = hiveFixture('types.hive.gz');
    expect(Buffer.from(Hive.open(orig, { writable: true }).serialize()).equals(Buffer.from(orig))).toBe(true);
    const h = Hive.open(orig, { writable: true, now: () => FIXED_NOW + 1n });
    h.deleteValue(h.path('Types')!, 'sz');
    const r = Hive.open(h.serialize());
    const [s1, s2] = Hive.open(orig).sequenceNumbers;
    expect(r.sequenceNumbers).toEqual([Math.max(s1, s2) + 1, Math.max(s1, s2) + 1]);
    expect(r.lastModified).toBe(FIXED_NOW + 1n);
    expect(r.image.base.checksumOk).toBe(true);
  });

  it('delete of a corrupt subtree throws before changing anything', () => {
    const h = Hive.create({ now: fixedNow });
    const a = h.addChild(h.root, 'A');
    const b = h.addChild(a, 'B');
    h.setValue(b, { name: 'v', type: 'REG_SZ', data: 'x'.repeat(50) });
    const bytes = h.serialize();
    const vl = Hive.open(bytes).image.view.u32(b + CELL_HEADER + NK.valueList) + HBIN_BASE;
    const bad = bytes.slice();
    bad[vl + CELL_HEADER] = 0x99; // value list entry now points nowhere
    bad[vl + CELL_HEADER + 1] = 0x99;
    const w = Hive.open(bad, { writable: true, now: fixedNow });
    const snapshot = Buffer.from(w.image.bytes());
    expect(() => w.deleteChild(w.path('A')!)).toThrow();
    expect(Buffer.from(w.image.bytes()).equals(snapshot)).toBe(true);
    expect(w.isModified).toBe(false);
  });
});

describe('random edit sequences against an in-memory model', () => {
  for (const seed of [1, 2, 3]) {
    it(`seed ${seed}: 1500 operations, checked every 250 and after re-opening`, () => {
      const { hive, model, applied } = runRandomEdits(seed, 1500, fixedNow, (h, m, step) => {
        expect(compareWithModel(h, m), `step ${step}`).toEqual([]);
      }, 250);
      expect(applied).toBeGreaterThan(1000);
      expect(compareWithModel(hive, model)).toEqual([]);
      const reopened = Hive.open(hive.serialize());
      expect(compareWithModel(reopened, model)).toEqual([]);
      expect([...reopened.walk()].length).toBeGreaterThan(10);
    });
  }
});

