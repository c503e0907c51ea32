import { describe, expect, it } from 'vitest';
import { ByteWriter, FormatError, GuestError, LimitError, LoopError, UnsupportedError, collectingLogger } from '@guestkit/disk/binary';
import {
  Hive, HiveCode, exportRegToBytes, BASE, NK, VK, DB, HBIN, CELL_HEADER, HBIN_BASE, writeBaseBlockChecksum, type NodeRef,
} from '@guestkit/hive';
import { fixedNow } from './helpers.js';

/**
 * One corrupt case per validation branch: a good hive from our writer, patched at a layout
 * offset found through the reader (STYLE.md: "every validation branch has a corrupt case").
 */
function goodHive(): { bytes: Uint8Array; a: number; b: number; v: number; big: number; many: number } {
  const h = Hive.create({ now: fixedNow });
  const a = h.addChild(h.root, 'A');
  const b = h.addChild(a, 'B');
  h.setValue(b, { name: 'inline', type: 'REG_DWORD', data: 7 });
  h.setValue(b, { name: 'text', type: 'REG_SZ', data: 'hello world' });
  h.setValue(b, { name: 'big', type: 'REG_BINARY', data: new Uint8Array(20000).fill(9) });
  const many = h.addChild(h.root, 'Many');
  for (let i = 0; i < 600; i++) h.addChild(many, `k${i}`);
  const bytes = h.serialize();
  const r = Hive.open(bytes);
  const rb = r.path('A\\B')!;
  return { bytes, a: r.path('A')!, b: rb, v: r.value(rb, 'text')!, big: r.value(rb, 'big')!, many: r.path('Many')! };
}

const G = goodHive();

function patch(fn: (w: ByteWriter, g: typeof G) => void, fixChecksum = true): Uint8Array {
  const c = G.bytes.slice();
  fn(new ByteWriter(c), G);
  if (fixChecksum) writeBaseBlockChecksum(c.subarray(0, 512));
  return c;
}

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof GuestError) return e.code;
    throw e;
  }
  return 'ok';
}

const nk = (n: number, f: number) => n + CELL_HEADER + f;

describe('corrupt base blocks and hbins', () => {
  it('rejects a bad signature, version, file type, size and root', () => {
    expect(code(() => Hive.open(patch((w) => w.ascii(0, 'regX'))))).toBe(HiveCode.BadSignature);
    expect(() => Hive.open(patch((w) => w.u32(BASE.majorVersion, 2)))).toThrow(UnsupportedError);
    expect(code(() => Hive.open(patch((w) => w.u32(BASE.minorVersion, 1))))).toBe(HiveCode.UnsupportedVersion);
    expect(code(() => Hive.open(patch((w) => w.u32(BASE.fileType, 1))))).toBe(HiveCode.NotPrimary);
    expect(code(() => Hive.open(G.bytes.subarray(0, 4096)))).toBe(HiveCode.TooSmall);
    expect(code(() => Hive.open(patch((w) => w.u32(BASE.rootCell, 0x10))))).toBe(HiveCode.BadRoot);
    expect(code(() => Hive.open(new Uint8Array(3)))).toBe(HiveCode.BadSignature);
  });

  it('rejects a bad checksum, and reads it with a warning in unsafe mode', () => {
    const bad = patch((w) => w.u32(BASE.checksum, 0x12345678), false);
    expect(code(() => Hive.open(bad))).toBe(HiveCode.BadChecksum);
    const logs: { level: string; obj: object; msg?: string }[] = [];
    const h = Hive.open(bad, { unsafe: true, logger: collectingLogger(logs) });
    expect(h.dirty).toBe(true);
    expect(logs.some((l) => l.level === 'warn' && /checksum/.test(l.msg ?? ''))).toBe(true);
    expect(h.path('A\\B')).toBeDefined();
  });

  it('rejects a bad hbin header or cell size; unsafe mode skips them with warnings', () => {
    const badBin = patch((w) => w.u32(HBIN_BASE + 0x1000 + HBIN.size, 0));
    expect(code(() => Hive.open(badBin))).toBe(HiveCode.BadHbin);
    const logs: { level: string; obj: object; msg?: string }[] = [];
    expect(code(() => Hive.open(badBin, { unsafe: true, logger: collectingLogger(logs) }))).toBe('ok');
    expect(logs.length).toBeGreaterThan(0);
    const badCell = patch((w, g) => w.i32(g.b, -7));
    expect(code(() => Hive.open(badCell))).toBe(HiveCode.BadCell);
    const past = patch((w, g) => w.i32(g.b, -0x100000));
    expect(code(() => Hive.open(past))).toBe(HiveCode.BadCell);
  });
});

describe('corrupt keys and lists', () => {
  it('checks subkey list pointers, counts and list lengths', () => {
    const badRef = Hive.open(patch((w, g) => w.u32(nk(g.a, NK.subkeyList), 0x7ffffff0)));
    expect(code(() => badRef.children(badRef.path('A')!))).toBe(HiveCode.BadCellRef);
    const un = Hive.open(patch((w, g) => w.u32(nk(g.a, NK.subkeyList), 0x7ffffff0)), { unsafe: true });
    expect(code(() => un.path('A\\B'))).toBe('ok');
    expect(un.path('A\\B')).toBeUndefined();
    const count = Hive.open(patch((w, g) => w.u32(nk(g.a, NK.subkeyCount), 2)));
    expect(code(() => count.children(count.path('A')!))).toBe(HiveCode.SubkeyCountMismatch);
    const list = Hive.open(G.bytes).image.view.u32(nk(G.a, NK.subkeyList)) + HBIN_BASE;
    const longList = Hive.open(patch((w) => w.u16(list + CELL_HEADER + 2, 5000)));
    expect(code(() => longList.children(longList.path('A')!))).toBe(HiveCode.CellOverflow);
    const notList = Hive.open(patch((w) => w.u16(list + CELL_HEADER, 0x7a7a)));
    expect(code(() => notList.children(notList.path('A')!))).toBe(HiveCode.BadCellType);
    const toValue = Hive.open(patch((w, g) => w.u32(list + CELL_HEADER + 4, g.v - HBIN_BASE)));
    expect(code(() => toValue.children(toValue.path('A')!))).toBe(HiveCode.BadCellType);
  });

  it('bounds index roots (depth limit) and detects a list that references itself', () => {
    const h = Hive.open(G.bytes, { limits: { maxRiDepth: 0 } });
    expect(code(() => h.children(G.many as NodeRef))).toBe(HiveCode.RiTooDeep);
    const ri = Hive.open(G.bytes).image.view.u32(nk(G.many, NK.subkeyList)) + HBIN_BASE;
    const self = Hive.open(patch((w) => w.u32(ri + CELL_HEADER + 4, ri - HBIN_BASE)));
    expect(() => self.children(G.many as NodeRef)).toThrow(LoopError);
  });

  it('detects a key that is its own subkey (walk, export) and parent cycles', () => {
    const list = Hive.open(G.bytes).image.view.u32(nk(G.b, NK.subkeyList));
    expect(list).toBe(0xffffffff);
    // Make A's only list entry point at A itself.
    const aList = Hive.open(G.bytes).image.view.u32(nk(G.a, NK.subkeyList)) + HBIN_BASE;
    const loop = Hive.open(patch((w, g) => w.u32(aList + CELL_HEADER + 4, g.a - HBIN_BASE)));
    expect(() => [...loop.walk()]).toThrow(LoopError);
    expect(() => exportRegToBytes(loop)).toThrow(LoopError);
    const un = Hive.open(patch((w, g) => w.u32(aList + CELL_HEADER + 4, g.a - HBIN_BASE)), { unsafe: true });
    expect([...un.walk()].length).toBeGreaterThan(0);
    expect(exportRegToBytes(un).length).toBeGreaterThan(0);
    const parentLoop = Hive.open(patch((w, g) => {
      w.u32(nk(g.a, NK.parent), g.b - HBIN_BASE);
    }));
    expect(() => parentLoop.nodePath(G.b as NodeRef)).toThrow(LoopError);
    const badParent = Hive.open(patch((w, g) => w.u32(nk(g.b, NK.parent), 0x10)));
    expect(code(() => badParent.parent(G.b as NodeRef))).toBe(HiveCode.BadParent);
  });

  it('checks name lengths and UTF-16 name parity', () => {
    const long = Hive.open(patch((w, g) => w.u16(nk(g.b, NK.nameLength), 4000)));
    expect(code(() => long.nodeName(G.b as NodeRef))).toBe(HiveCode.CellOverflow);
    const odd = Hive.open(patch((w, g) => {
      w.u16(nk(g.b, NK.flags), 0);
      w.u16(nk(g.b, NK.nameLength), 1);
    }));
    expect(code(() => odd.nodeName(G.b as NodeRef))).toBe(HiveCode.BadName);
    expect(code(() => Hive.open(odd.image.bytes(), { unsafe: true }).nodeName(G.b as NodeRef))).toBe('ok');
  });
});

describe('corrupt values', () => {
  it('checks value counts, lists and names', () => {
    const many = Hive.open(patch((w, g) => w.u32(nk(g.b, NK.valueCount), 200000)));
    expect(() => many.values(G.b as NodeRef)).toThrow(LimitError);
    const over = Hive.open(patch((w, g) => w.u32(nk(g.b, NK.valueCount), 50)));
    expect(code(() => over.values(G.b as NodeRef))).toBe(HiveCode.CellOverflow);
    expect(Hive.open(over.image.bytes(), { unsafe: true }).values(G.b as NodeRef).length).toBeGreaterThanOrEqual(3);
    const name = Hive.open(patch((w, g) => w.u16(g.v + CELL_HEADER + VK.nameLength, 999)));
    expect(code(() => name.valueName(G.v as never))).toBe(HiveCode.CellOverflow);
  });

  it('checks inline data, data cells and big data', () => {
    const inl = Hive.open(patch((w, g) => w.u32(g.v + CELL_HEADER + VK.dataSize, 0x80000008)));
    expect(code(() => inl.valueBytes(G.v as never))).toBe(HiveCode.BadInlineData);
    expect(Hive.open(inl.image.bytes(), { unsafe: true }).valueBytes(G.v as never).length).toBe(4);
    const ref = Hive.open(patch((w, g) => w.u32(g.v + CELL_HEADER + VK.dataOffset, 0x123)));
    expect(code(() => ref.valueBytes(G.v as never))).toBe(HiveCode.BadCellRef);
    expect(code(() => Hive.open(ref.image.bytes(), { unsafe: true }).valueBytes(G.v as never))).toBe(HiveCode.BadCellRef);
    const longer = Hive.open(patch((w, g) => w.u32(g.v + CELL_HEADER + VK.dataSize, 5000)));
    expect(code(() => longer.valueBytes(G.v as never))).toBe(HiveCode.BadValueData);
    expect(Hive.open(longer.image.bytes(), { unsafe: true }).valueBytes(G.v as never).length).toBeLessThan(5000);
    const db = Hive.open(G.bytes).image.view.u32(G.big + CELL_HEADER + VK.dataOffset) + HBIN_BASE;
    const seg = Hive.open(patch((w) => w.u32(db + CELL_HEADER + DB.segmentList, 0x55)));
    expect(code(() => seg.valueBytes(G.big as never))).toBe(HiveCode.BadBigData);
    const huge = Hive.open(patch((w, g) => w.u32(g.big + CELL_HEADER + VK.dataSize, 9_000_000)));
    expect(() => huge.valueBytes(G.big as never)).toThrow(LimitError);
  });

  it('never lets a non-GuestError escape from an export of a damaged hive', () => {
    const damaged = patch((w, g) => {
      w.u32(g.v + CELL_HEADER + VK.dataOffset, 0x123);
      w.u32(nk(g.a, NK.subkeyCount), 3);
    });
    expect(() => exportRegToBytes(Hive.open(damaged))).toThrow(FormatError);
    expect(exportRegToBytes(Hive.open(damaged, { unsafe: true })).length).toBeGreaterThan(0);
  });
});
