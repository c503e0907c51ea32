import { describe, expect, it } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { FormatError, MemoryDevice } from '@guestkit/disk';
import { describeWithShared } from '../../../test/support/shared.js';
import { decodeBootSector, probeNtfs, serialToUuid, lznt1Compress, lznt1Decompress, xpressHuffmanDecompress } from '../src/index.js';
import { decodeRunlist, encodeRunlist, coalesceRuns, assertNoOverlap, type Run } from '../src/runlist/runlist.js';
import { postReadFixup, protectForWrite } from '../src/record/fixup.js';
import { AllocBitmap } from '../src/write/bitmap.js';
import { BOOT } from '../src/layout/boot-sector.js';
import { FILE_REC, ATTR, STD_INFO, FILE_NAME, ATTR_LIST } from '../src/layout/mft-record.js';
import { INDEX_ENTRY, INDEX_HEADER, INDEX_ROOT, INDEX_BLOCK } from '../src/layout/index.js';

describe('layout sizes', () => {
  it('match the on-disk structures', () => {
    expect(BOOT.SIZE).toBe(512);
    expect(FILE_REC.usaV31).toBe(48);
    expect(ATTR.RESIDENT_HEADER).toBe(24);
    expect(ATTR.NONRESIDENT_HEADER).toBe(64);
    expect(STD_INFO.SIZE_V3).toBe(72);
    expect(FILE_NAME.HEADER).toBe(66);
    expect(ATTR_LIST.HEADER).toBe(26);
    expect(INDEX_ENTRY.HEADER).toBe(16);
    expect(INDEX_HEADER.SIZE).toBe(16);
    expect(INDEX_ROOT.SIZE).toBe(32);
    expect(INDEX_BLOCK.usa).toBe(40);
  });
});

describeWithShared('boot sectors from ../shared (dfir_ntfs)', (shared) => {
  const dir = join(shared, 'testdata/ntfs/dfir_ntfs/bootsectors');
  const expected: Record<string, { bps: number; cluster: number; mftRec: number; indexRec: number; serial: string }> = {
    '128k.boot': { bps: 512, cluster: 131072, mftRec: 1024, indexRec: 4096, serial: '5CB4C084B4C061DE' },
    '4k.boot': { bps: 512, cluster: 4096, mftRec: 1024, indexRec: 4096, serial: '7EFEEEDBFEEE8B2B' },
    '4kn.boot': { bps: 4096, cluster: 4096, mftRec: 4096, indexRec: 4096, serial: '187EB6507EB62682' },
    '512.boot': { bps: 512, cluster: 512, mftRec: 1024, indexRec: 4096, serial: 'A6EE1E1BEE1DE479' },
    '64k.boot': { bps: 512, cluster: 65536, mftRec: 1024, indexRec: 4096, serial: 'A8A66D90A66D6034' },
    'nobootcode.boot': { bps: 512, cluster: 4096, mftRec: 1024, indexRec: 4096, serial: 'D87A81B9DF3DEF62' },
  };
  it('covers every file', () => {
    expect(readdirSync(dir).sort()).toEqual(Object.keys(expected).sort());
  });
  for (const [name, e] of Object.entries(expected)) {
    it(`decodes ${name}`, () => {
      const b = new Uint8Array(readFileSync(join(dir, name)));
      const bs = decodeBootSector(b, 0, name);
      expect({ bps: bs.bytesPerSector, cluster: bs.clusterSize, mftRec: bs.mftRecordSize, indexRec: bs.indexRecordSize, serial: serialToUuid(bs.serial) }).toEqual(e);
    });
  }
});

describe('boot sector validation', () => {
  const good = () => {
    const b = new Uint8Array(512);
    b.set(Buffer.from('NTFS    '), 3);
    b[11] = 0; b[12] = 2; b[13] = 8; // 512 B sectors, 8 per cluster
    b[0x28] = 0x00; b[0x29] = 0x10; // 4096 sectors
    b[0x30] = 4; b[0x38] = 2; b[0x40] = 0xf6; b[0x44] = 1;
    return b;
  };
  it('accepts a sane one and probes it', () => {
    expect(decodeBootSector(good(), 4096 * 512).clusterSize).toBe(4096);
    const img = new Uint8Array(4096 * 512);
    img.set(good());
    expect(probeNtfs(new MemoryDevice(img))).toBe(true);
  });
  it('rejects garbage with typed errors and probe never throws', () => {
    const cases: [number, number][] = [[3, 0x41], [11, 3], [13, 3], [13, 0x90], [0x30, 0xff], [0x40, 0], [0x44, 0x7f], [0x2f, 0x7f]];
    for (const [off, v] of cases) {
      const b = good();
      b[off] = v;
      if (off === 0x30) b.fill(0xff, 0x30, 0x36);
      expect(() => decodeBootSector(b, 4096 * 512)).toThrow(FormatError);
      expect(probeNtfs(new MemoryDevice(b))).toBe(false);
    }
    expect(probeNtfs(new MemoryDevice(10))).toBe(false);
    expect(probeNtfs(new MemoryDevice(new Uint8Array(512).fill(0xff)))).toBe(false);
  });
});

describe('runlists', () => {
  it('decodes sparse runs, negative deltas and round-trips', () => {
    const runs: Run[] = [
      { vcn: 0, lcn: 1000, length: 16 },
      { vcn: 16, lcn: -1, length: 100 },
      { vcn: 116, lcn: 20, length: 300 },
      { vcn: 416, lcn: 70000, length: 1 },
    ];
    const enc = encodeRunlist(runs);
    expect(decodeRunlist(enc, 0, 100000, 't')).toEqual(runs);
    expect(coalesceRuns([{ vcn: 0, lcn: 5, length: 2 }, { vcn: 2, lcn: 7, length: 3 }])).toEqual([{ vcn: 0, lcn: 5, length: 5 }]);
  });
  it('rejects runs past the volume, negative LCNs, truncation and overlap', () => {
    expect(() => decodeRunlist(encodeRunlist([{ vcn: 0, lcn: 99, length: 2 }]), 0, 100, 't')).toThrow(/past the last cluster/);
    expect(() => decodeRunlist(Uint8Array.from([0x21, 0x01, 0xff, 0xff, 0]), 0, 100, 't')).toThrow(/negative/);
    expect(() => decodeRunlist(Uint8Array.from([0x31, 0x01, 0x05]), 0, 100, 't')).toThrow(/past the attribute/);
    expect(() => decodeRunlist(Uint8Array.from([0x91, 0x01, 0x05]), 0, 100, 't')).toThrow(FormatError);
    expect(() => assertNoOverlap([{ vcn: 0, lcn: 10, length: 5 }, { vcn: 5, lcn: 12, length: 5 }], 't')).toThrow(/overlap/);
  });
});

describe('update sequence fixups', () => {
  it('protects and restores, and detects torn strides', () => {
    const rec = new Uint8Array(1024);
    rec.set(Buffer.from('FILE'));
    rec[4] = 0x30; rec[6] = 3; // USA at 0x30, 3 entries
    rec[510] = 0xaa; rec[511] = 0xbb; rec[1022] = 0xcc; rec[1023] = 0xdd;
    const prot = protectForWrite(rec);
    expect(prot[510]).toBe(prot[0x30]);
    const back = prot.slice();
    postReadFixup(back, 'r', 0);
    expect([back[510], back[511], back[1022], back[1023]]).toEqual([0xaa, 0xbb, 0xcc, 0xdd]);
    const torn = prot.slice();
    torn[1022] = torn[1022]! ^ 1;
    expect(() => postReadFixup(torn, 'r', 0)).toThrow(/torn/);
  });
});

describe('LZNT1', () => {
  it('round-trips text, random and run-length data, and rejects bad references', () => {
    const text = Buffer.from('abcabcabcabc the quick brown fox '.repeat(300));
    const rnd = Uint8Array.from({ length: 9000 }, (_, i) => (i * 2654435761) >>> 24);
    for (const src of [new Uint8Array(text), rnd, new Uint8Array(8192).fill(7)]) {
      const c = lznt1Compress(src);
      const out = new Uint8Array(Math.ceil(src.length / 4096) * 4096);
      lznt1Decompress(c, out, 't');
      expect(Buffer.from(out.subarray(0, src.length)).equals(Buffer.from(src))).toBe(true);
    }
    // a compressed chunk whose first token is a back reference
    expect(() => lznt1Decompress(Uint8Array.from([0x02, 0xb0, 0x01, 0x00, 0x00]), new Uint8Array(4096), 't')).toThrow(FormatError);
  });
});

describe('XPRESS Huffman (MS-XCA)', () => {
  it('decodes the MS-XCA §3.2 example (literals only, written by Microsoft)', () => {
    // 256-byte table: code lengths for 'a'..'z' (0x61..0x7a) and the EOF symbol 256, then the bit stream
    const src = new Uint8Array(256 + 20);
    src.set([0x50, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x45, 0x44, 0x04], 48);
    src[128] = 0x04;
    src.set([0xd8, 0x52, 0x3e, 0xd7, 0x94, 0x11, 0x5b, 0xe9, 0x19, 0x5f, 0xf9, 0xd6, 0x7c, 0xdf, 0x8d, 0x04, 0, 0, 0, 0], 256);
    const out = new Uint8Array(26);
    xpressHuffmanDecompress(src, out, 'ms-xca example');
    expect(Buffer.from(out).toString()).toBe('abcdefghijklmnopqrstuvwxyz');
  });
  it('rejects truncated tables and over-subscribed codes', () => {
    expect(() => xpressHuffmanDecompress(new Uint8Array(100), new Uint8Array(10), 't')).toThrow(FormatError);
    expect(() => xpressHuffmanDecompress(new Uint8Array(300).fill(0x11), new Uint8Array(10), 't')).toThrow(FormatError);
  });
});

describe('AllocBitmap (clusters and MFT records)', () => {
  // 64 units; used: 0-15 and 40-63, so the only free units are 16-39
  const fresh = () => {
    const b = new AllocBitmap(new Uint8Array(8), 64, 'test');
    b.set(0, 16);
    b.set(40, 24);
    return b;
  };

  it('wraps round below the hint when nothing is free above it', () => {
    expect(fresh().allocate(4, 50)).toEqual([{ start: 16, length: 4 }]);
    // fragments too: 2 free units at 20-21 and 30-31 only
    const b = fresh();
    b.set(16, 4);
    b.set(22, 8);
    b.set(32, 8);
    expect(b.allocate(4, 45)).toEqual([{ start: 20, length: 2 }, { start: 30, length: 2 }]);
  });

  it('never takes a unit below the floor (MFT records 16-23 stay reserved)', () => {
    expect(fresh().allocate(4, 24, 24)).toEqual([{ start: 24, length: 4 }]);
    const b = fresh();
    b.set(24, 16);
    expect(() => b.allocate(1, 24, 24)).toThrow(/1 free units needed, 0 available/);
  });
});
