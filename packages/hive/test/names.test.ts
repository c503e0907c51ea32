import { describe, expect, it } from 'vitest';
import { compareNames, namesEqual, lhHash, lfHint, upcaseUnit, upcaseName, compareCodePoints, encodeName, decodeName } from '@guestkit/hive';

describe('Windows name rules', () => {
  it('upper-cases with the Windows table, not String#toUpperCase', () => {
    expect(upcaseName('abc')).toBe('ABC');
    expect(upcaseName('äöü')).toBe('ÄÖÜ');
    expect(upcaseName('ключ')).toBe('КЛЮЧ');
    // Windows has no single-character upper case for ß, ı, ſ or µ; JS maps some of them.
    expect(upcaseUnit(0xdf)).toBe(0xdf);
    expect(upcaseUnit(0x131)).toBe(0x131);
    expect(upcaseUnit(0x17f)).toBe(0x17f);
    expect(upcaseUnit(0xb5)).toBe(0xb5);
    expect('ı'.toUpperCase()).toBe('I'); // the trap
    expect(upcaseUnit(0xff)).toBe(0x178); // ÿ → Ÿ
    expect(upcaseUnit(0xff41)).toBe(0xff21); // fullwidth a → A
    // Surrogates are not paired: each code unit maps to itself.
    expect(upcaseName('𐐸')).toBe('𐐸');
  });

  it('compares case-insensitively and orders by upper-cased code units (UpcaseHive: ss1, SS3, ß2)', () => {
    expect(namesEqual('Software', 'SOFTWARE')).toBe(true);
    expect(namesEqual('Привет', 'ПриВет')).toBe(true);
    expect(namesEqual('ß', 'SS')).toBe(false);
    const names = ['ß2', 'SS3', 'ss1'];
    expect(names.sort(compareNames)).toEqual(['ss1', 'SS3', 'ß2']);
    expect(compareNames('ab', 'abc')).toBeLessThan(0);
    expect(compareNames('B', 'a')).toBeGreaterThan(0);
  });

  it('computes lh hashes as Windows stored them (values read from Windows-written hives)', () => {
    // hivex/special (Windows XP regedit) and nt-hive/testhive (offreg.dll) lh entries:
    expect(lhHash('abcd_äöüß')).toBe(0xcd87d55e);
    expect(lhHash('weird™')).toBe(0x6f86a4d5);
    expect(lhHash('äöü')).toBe(0x437ee);
    expect(lhHash('𐐐')).toBe(0x201435);
    expect(lhHash('𐐸')).toBe(0x20145d);
    expect(lhHash('Ａ')).toBe(0xff21);
    expect(lhHash('ａ')).toBe(0xff21);
  });

  it('builds lf hints from the first four Latin-1 characters', () => {
    expect(lfHint('abcdef')).toBe(0x64636261);
    expect(lfHint('ab')).toBe(0x6261);
    expect(lfHint('äb')).toBe(0x62e4);
    expect(lfHint('Ключ')).toBe(0);
  });

  it('orders like Perl cmp (code points), unlike JS string comparison', () => {
    const a = '\u{10000}';
    const b = '\uffff';
    expect(a < b).toBe(true); // UTF-16 code units
    expect(compareCodePoints(a, b)).toBeGreaterThan(0);
    expect(compareCodePoints('abc', 'abd')).toBeLessThan(0);
    expect(compareCodePoints('ab', 'ab')).toBe(0);
  });

  it('stores Latin-1 names compressed and others as UTF-16, losslessly', () => {
    expect(encodeName('Ünï').compressed).toBe(true);
    expect(encodeName('Ключ').compressed).toBe(false);
    const lone = 'a\ud800b';
    const e = encodeName(lone);
    expect(decodeName(e.bytes, e.compressed)).toBe(lone);
  });
});
