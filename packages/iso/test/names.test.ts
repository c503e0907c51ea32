import { describe, expect, it } from 'vitest';
import { compareIdentifiers, isoBaseName, jolietBaseName, uniqueIsoName, uniqueJolietName, JOLIET_MAX_NAME } from '../src/names.js';

describe('ISO 9660 names', () => {
  it('maps to d-characters with one dot, per level', () => {
    expect(isoBaseName('readme.txt', false, 3)).toBe('README.TXT');
    expect(isoBaseName('my file-v1.2.tar.gz', false, 3)).toBe('MY_FILE_V1_2_TAR.GZ');
    expect(isoBaseName('.bashrc', false, 3)).toBe('_BASHRC.');
    expect(isoBaseName('Makefile', false, 3)).toBe('MAKEFILE.');
    expect(isoBaseName('a.dir.name', true, 3)).toBe('A_DIR_NAME');
    expect(isoBaseName('x'.repeat(40) + '.json', false, 3)).toBe('X'.repeat(26) + '.JSON');
    expect(isoBaseName('y'.repeat(40), true, 3)).toBe('Y'.repeat(31));
    expect(isoBaseName('longfilename.text', false, 1)).toBe('LONGFILE.TEX');
    expect(isoBaseName('directoryname', true, 1)).toBe('DIRECTOR');
    expect(isoBaseName('\u00e9t\u00e9.txt', false, 3)).toBe('_T_.TXT');
  });

  it('makes colliding names unique within the limits', () => {
    const taken = new Set<string>();
    const names = ['Readme.txt', 'README.TXT', 'readme.txt'].map((n) => uniqueIsoName(isoBaseName(n, false, 1), false, 1, taken));
    expect(names).toEqual(['README.TXT', 'README1.TXT', 'README2.TXT']);
    const t1 = new Set<string>();
    const long = Array.from({ length: 12 }, () => uniqueIsoName(isoBaseName('abcdefghij.c', false, 1), false, 1, t1));
    expect(new Set(long).size).toBe(12);
    for (const n of long) {
      const [base, ext] = n.split('.');
      expect(base!.length).toBeLessThanOrEqual(8);
      expect(ext!.length).toBeLessThanOrEqual(3);
    }
    const td = new Set<string>();
    expect(uniqueIsoName('DIR', true, 3, td)).toBe('DIR');
    expect(uniqueIsoName('DIR', true, 3, td)).toBe('DIR1');
  });

  it('orders identifiers as ECMA-119 §9.3 (name, then extension, space-padded)', () => {
    const ids = ['B.TXT', 'A_.TXT', 'A.TXT', 'A.T', 'AB.', 'A.'];
    expect([...ids].sort(compareIdentifiers)).toEqual(['A.', 'A.T', 'A.TXT', 'AB.', 'A_.TXT', 'B.TXT']);
  });
});

describe('Joliet names', () => {
  it('replaces forbidden characters and truncates to 64 code units keeping the extension', () => {
    expect(jolietBaseName('a:b*c?.txt')).toBe('a_b_c_.txt');
    const long = 'n'.repeat(100) + '.tar.gz';
    const j = jolietBaseName(long);
    expect(j.length).toBe(JOLIET_MAX_NAME);
    expect(j.endsWith('.gz')).toBe(true);
    const emoji = '\u{1F600}'.repeat(40);
    const je = jolietBaseName(emoji);
    expect(je.length).toBeLessThanOrEqual(JOLIET_MAX_NAME);
    expect(je.length % 2).toBe(0); // whole surrogate pairs only
  });

  it('disambiguates truncated names', () => {
    const t = new Set<string>();
    const a = uniqueJolietName(jolietBaseName('x'.repeat(70) + '1.txt'), t);
    const b = uniqueJolietName(jolietBaseName('x'.repeat(70) + '2.txt'), t);
    expect(a).not.toBe(b);
    expect(b.length).toBeLessThanOrEqual(JOLIET_MAX_NAME);
    expect(b.endsWith('~1.txt')).toBe(true);
  });
});
