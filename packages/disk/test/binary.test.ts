import { describe, expect, it } from 'vitest';
import { crc32 as zlibCrc32 } from 'node:zlib';
import {
  ByteView, ByteWriter, FormatError, OutOfRangeError, GuestError, crc32, decodeUtf16le, encodeUtf16le,
  decodeUtf16leZ, guidFromString, guidToString, filetimeToDate, dateToFiletime, filetimeToIso,
  toSafeNumber, checkedAdd, checkedMul, inRange,
} from '../src/binary/index.js';

describe('ByteView', () => {
  const b = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x1f, 0x00]);
  const v = new ByteView(b, 0x1000, 'test struct');

  it('reads little-endian integers', () => {
    expect(v.u8(0)).toBe(1);
    expect(v.u16(0)).toBe(0x0201);
    expect(v.u32(0)).toBe(0x04030201);
    expect(v.u64(0)).toBe(0x0807060504030201n);
    expect(v.u32be(0)).toBe(0x01020304);
    expect(v.i32(8)).toBe(-1);
    expect(v.u64n(8)).toBe(0x1fffffffffffff);
  });

  it('throws FormatError with field and absolute offset when out of bounds', () => {
    try {
      v.u32(14, 'nk.subkeyList');
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(FormatError);
      const g = e as GuestError;
      expect(g.code).toBe('OUT_OF_BOUNDS');
      expect(g.message).toContain('nk.subkeyList');
      expect(g.message).toContain('0x100e');
      expect(g.details.offset).toBe(0x100e);
    }
    expect(() => v.u8(-1)).toThrow(FormatError);
    expect(() => v.bytesAt(4, 100)).toThrow(FormatError);
    expect(() => v.bytesAt(Number.MAX_SAFE_INTEGER, 2)).toThrow(FormatError);
    expect(() => v.u8(0.5)).toThrow(FormatError);
  });

  it('refuses u64 values above 2^53', () => {
    const big = new ByteView(new Uint8Array(8).fill(0xff));
    expect(() => big.u64n(0)).toThrow(/larger than 2\^53/);
  });

  it('keeps absolute positions in sub-views', () => {
    const s = v.sub(4, 4, 'inner');
    expect(s.base).toBe(0x1004);
    expect(s.u32(0)).toBe(0x08070605);
    expect(() => s.u8(4)).toThrow(/0x1008/);
  });

  it('checks magic', () => {
    const m = new ByteView(new TextEncoder().encode('regf....'));
    expect(() => m.expectMagic(0, 'regf', 'base block')).not.toThrow();
    expect(() => m.expectMagic(0, 'hbin', 'hbin')).toThrow(/expected "hbin"/);
  });
});

describe('ByteWriter', () => {
  it('writes and refuses out-of-range writes', () => {
    const w = ByteWriter.alloc(8);
    w.u32(0, 0xdeadbeef).u16(4, 0xbeef).u8(6, 0x12);
    expect(new ByteView(w.bytes).u32(0)).toBe(0xdeadbeef);
    expect(() => w.u32(6, 1)).toThrow(OutOfRangeError);
    w.u64(0, 0x0102030405060708n);
    expect(new ByteView(w.bytes).u64(0)).toBe(0x0102030405060708n);
  });
});

describe('UTF-16', () => {
  it('round-trips lone surrogates losslessly', () => {
    const s = 'a\ud800b€';
    expect(decodeUtf16le(encodeUtf16le(s))).toBe(s);
  });
  it('stops at NUL in Z variant', () => {
    expect(decodeUtf16leZ(encodeUtf16le('abc\0junk'))).toBe('abc');
  });
});

describe('GUID', () => {
  it('uses the mixed-endian layout', () => {
    const s = '3D8EB05C-4F61-4CAD-BE2F-3A4B5C6D7E03';
    const b = guidFromString(s);
    expect(b[0]).toBe(0x5c);
    expect(b[3]).toBe(0x3d);
    expect(b[8]).toBe(0xbe);
    expect(guidToString(b)).toBe(s);
    expect(guidToString(guidFromString('{' + s.toLowerCase() + '}'), 0, false)).toBe(s.toLowerCase());
  });
});

describe('FILETIME', () => {
  it('converts both ways', () => {
    const d = new Date('2024-01-15T10:00:00Z');
    const ft = dateToFiletime(d);
    expect(filetimeToDate(ft).toISOString()).toBe(d.toISOString());
    expect(filetimeToIso(ft + 1234567n)).toBe('2024-01-15T10:00:00.1234567Z');
  });
});

describe('crc32', () => {
  it('matches the IEEE check value', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
  });

  it('agrees with zlib on random data, whole and continued in pieces', () => {
    let x = 12345;
    for (const n of [0, 1, 3, 92, 511, 16384, 70001]) {
      const data = Uint8Array.from({ length: n }, () => (x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 24);
      expect(crc32(data)).toBe(zlibCrc32(data) >>> 0);
      const cut = n >> 1;
      expect(crc32(data.subarray(cut), crc32(data.subarray(0, cut)))).toBe(zlibCrc32(data) >>> 0);
    }
  });
});

describe('u64 helpers', () => {
  it('refuses inexact numbers', () => {
    expect(toSafeNumber(5n)).toBe(5);
    expect(() => toSafeNumber(1n << 60n)).toThrow(FormatError);
    expect(() => checkedAdd(Number.MAX_SAFE_INTEGER, 2)).toThrow(FormatError);
    expect(() => checkedMul(1 << 20, 1 << 20)).not.toThrow();
    expect(() => checkedMul(2 ** 40, 2 ** 20)).toThrow(FormatError);
    expect(inRange(0, 10, 10)).toBe(true);
    expect(inRange(1, 10, 10)).toBe(false);
    expect(inRange(Number.MAX_SAFE_INTEGER, 1, 10)).toBe(false);
  });
});
