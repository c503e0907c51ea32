import { describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';
import { UsageError } from '@guestkit/disk';
import {
  FatCode, decodeShortName, generateShortName, getCodepage, lfnChecksum, normalizeLongName, planShortName, shortKey,
  windowsShortNameChecksum, toDos, fromDos,
} from '@guestkit/fs-fat';

const cp = getCodepage('cp437');
const text = (raw: Uint8Array): string => decodeShortName(raw, 0, cp, false);
const none = (): boolean => false;
const takenSet = (names: string[]) => {
  const keys = new Set(names.map((n) => {
    const [b, e = ''] = n.split('.');
    return (b!.padEnd(8) + e.padEnd(3)).slice(0, 11);
  }));
  return (k: string): boolean => keys.has(k);
};

describe('Windows 8.3 alias generation', () => {
  // Vectors observed on Windows (GetShortPathName) and published with the reverse-engineered checksum.
  it('hashes one- and two-character bases at once', () => {
    expect(text(generateShortName('a.txt3', cp, none))).toBe('AEE90~1.TXT');
    expect(text(generateShortName('a.txt7', cp, none))).toBe('AB720~1.TXT');
  });

  it('uses ~1..~4, then two characters and the checksum', () => {
    expect(text(generateShortName('SomeStuff.aspx', cp, none))).toBe('SOMEST~1.ASP');
    expect(text(generateShortName('SomeStuff.aspx', cp, takenSet(['SOMEST~1.ASP'])))).toBe('SOMEST~2.ASP');
    expect(text(generateShortName('SomeStuff.aspx', cp, takenSet(['SOMEST~1.ASP', 'SOMEST~2.ASP', 'SOMEST~3.ASP', 'SOMEST~4.ASP'])))).toBe('SOBC84~1.ASP');
    const t9 = [1, 2, 3, 4, 5, 6, 7, 8, 9].map((i) => `TESTFI~${i}.TXT`);
    expect(text(generateShortName('test file.txt', cp, takenSet(t9)))).toBe('TEB00D~1.TXT');
    const h9 = [1, 2, 3, 4, 5, 6, 7, 8, 9].map((i) => `TEB00D~${i}.TXT`);
    expect(text(generateShortName('test file.txt', cp, takenSet([...t9, ...h9])))).toBe('TEB00~10.TXT');
  });

  it('computes the checksum from the long name as given', () => {
    expect(windowsShortNameChecksum('a.txt3').toString(16)).toBe('9ee');
    expect(windowsShortNameChecksum('')).toBe(0);
  });

  it('replaces characters illegal in short names, drops spaces, extra dots and unmappable characters', () => {
    expect(text(generateShortName('x+y=z;[1].txt', cp, none))).toBe('X_Y_Z_~1.TXT');
    expect(text(generateShortName('a.testing.file.bat', cp, none))).toBe('ATESTI~1.BAT');
    expect(text(generateShortName('Long File Name.html', cp, none))).toBe('LONGFI~1.HTM');
    // cp437 has no CJK: the base is empty, so the checksum stands in for it.
    expect(text(generateShortName('日本.txt', cp, none))).toMatch(/^[0-9A-F]{4}~1\.TXT$/);
    // é upper-cases to É, which cp437 has (0x90).
    expect(generateShortName('été.txt', cp, none)[0]).toBe(0x90);
  });
});

describe('planShortName (fastfat FatSelectNames)', () => {
  const plan = (n: string) => {
    const p = planShortName(n, cp, none);
    return { short: text(p.raw), ntRes: p.ntRes, lfn: p.needsLfn };
  };
  it('stores valid 8.3 names as they are, with NT case bits for all-lower parts', () => {
    expect(plan('README.TXT')).toEqual({ short: 'README.TXT', ntRes: 0, lfn: false });
    expect(plan('readme.txt')).toEqual({ short: 'README.TXT', ntRes: 0x18, lfn: false });
    expect(plan('readme.TXT')).toEqual({ short: 'README.TXT', ntRes: 0x08, lfn: false });
    expect(plan('NOEXT')).toEqual({ short: 'NOEXT', ntRes: 0, lfn: false });
  });
  it('keeps the 8.3 name but adds a long name for mixed case or non-ASCII', () => {
    expect(plan('Readme.txt')).toEqual({ short: 'README.TXT', ntRes: 0, lfn: true });
    expect(plan('café.txt')).toEqual({ short: 'CAFÉ.TXT', ntRes: 0, lfn: true });
  });
  it('generates an alias for spaces, long parts, several dots and illegal characters', () => {
    expect(plan('a b.txt').lfn).toBe(true);
    expect(plan('a b.txt').short).toMatch(/^AB[0-9A-F]{4}~1\.TXT$/);
    expect(plan('abc.defg').short).toBe('ABC~1.DEF');
    expect(plan('a.b.c').short).toMatch(/~1\.C$/);
    expect(plan('x,y.z').short).toBe('X_Y~1.Z');
  });
  it('escapes a leading 0xE5 byte as 0x05', () => {
    const cp850 = getCodepage('cp850');
    const p = planShortName('Õ.TXT', cp850, none); // Õ is 0xE5 in cp850
    expect(p.raw[0]).toBe(0x05);
    expect(decodeShortName(p.raw, 0, cp850, false)).toBe('Õ.TXT');
  });
});

describe('long names', () => {
  it('normalises trailing dots and spaces like Win32', () => {
    expect(normalizeLongName('name. . ')).toBe('name');
    expect(normalizeLongName('a.b')).toBe('a.b');
  });
  it('rejects empty, dot names, illegal characters and names over 255 units', () => {
    for (const bad of ['', '.', '..', '...', 'a/b', 'a\\b', 'a:b', 'a*b', 'a?b', 'a"b', 'a<b', 'a>b', 'a|b', 'a\u0001b']) {
      expect(() => normalizeLongName(bad), bad).toThrowError(UsageError);
    }
    expect(() => normalizeLongName('x'.repeat(256))).toThrowError(expect.objectContaining({ code: FatCode.NameTooLong }));
    expect(normalizeLongName('x'.repeat(255))).toHaveLength(255);
  });
  it('computes the LFN checksum of fatgen103 §7.2', () => {
    // Checksums stored by mkfs.fat+mcopy images for "FILE1   TXT" and "FILE2   TXT".
    const raw = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
    expect(lfnChecksum(raw('FILE1   TXT'))).toBe(0xed);
    expect(lfnChecksum(raw('FILE2   TXT'))).toBe(0xf1);
    expect(shortKey(raw('FILE1   TXT'))).toBe('FILE1   TXT');
  });
});

describe('DOS timestamps (UTC)', () => {
  it('round-trips to 2-second resolution plus 10 ms creation units', () => {
    const d = new Date('2024-02-29T23:59:59.990Z');
    const t = toDos(d);
    expect(fromDos(t.date, t.time, t.tenth).toISOString()).toBe('2024-02-29T23:59:59.990Z');
    expect(fromDos(t.date, t.time).toISOString()).toBe('2024-02-29T23:59:58.000Z');
  });
  it('clamps instants outside 1980..2107 and damaged fields', () => {
    expect(fromDos(toDos(new Date('1970-01-01Z')).date).toISOString()).toBe('1980-01-01T00:00:00.000Z');
    const late = toDos(new Date('2200-01-01Z'));
    expect(fromDos(late.date, late.time).getUTCFullYear()).toBe(2107);
    expect(fromDos(0).toISOString()).toBe('1980-01-01T00:00:00.000Z');
    // month 0 / day 0 / 31 Feb / hour 31 -> clamped, never an Invalid Date
    expect(fromDos((44 << 9) | (0 << 5) | 0, 0xffff).toISOString()).toBe('2024-01-01T23:59:58.000Z');
    expect(fromDos((44 << 9) | (2 << 5) | 31).toISOString()).toBe('2024-02-29T00:00:00.000Z');
  });
});

describe('code pages', () => {
  it('rejects unknown and multi-byte code pages', () => {
    expect(() => getCodepage('no-such-cp')).toThrowError(expect.objectContaining({ code: FatCode.BadCodepage }));
    expect(() => getCodepage('shift_jis')).toThrowError(expect.objectContaining({ code: FatCode.BadCodepage }));
  });
  it('has the built-in cp437 table equal to what iconv-lite decodes, and other pages from iconv-lite', () => {
    const iconv = createRequire(import.meta.url)('iconv-lite') as { decode(b: Buffer, e: string): string };
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    expect(getCodepage('cp437').decodeTable.join('')).toBe(iconv.decode(all, 'cp437'));
    expect(getCodepage('CP850').decodeTable.join('')).toBe(iconv.decode(all, 'cp850'));
    expect(getCodepage('cp850').decodeTable[0xd8]).toBe('Ï');
  });
  it('decodes through the table', () => {
    expect(cp.decode(Uint8Array.from([0x41, 0x90, 0x82]))).toBe('AÉé');
    expect(cp.encodeChar('É'.charCodeAt(0))).toBe(0x90);
    expect(cp.encodeChar('日'.charCodeAt(0))).toBe(-1);
  });
});
