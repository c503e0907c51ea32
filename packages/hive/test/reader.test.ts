import { describe, expect, it } from 'vitest';
import { ReadOnlyError, UsageError } from '@guestkit/disk/binary';
import { Hive, exportRegToBytes, compareNames, RegType, type NodeRef } from '@guestkit/hive';
import { hiveFixture } from './helpers.js';

// types.hive: an empty hive from our writer filled by hivexregedit --merge from
// test/fixtures/scripts/hive-fixture.reg (see test/fixtures/hive/PROVENANCE.md).
const hive = Hive.open(hiveFixture('types.hive.gz'), { name: 'types.hive' });

function key(path: string): NodeRef {
  const n = hive.path(path);
  if (n === undefined) throw new Error(`missing ${path}`);
  return n;
}

function val(path: string, name: string) {
  const v = hive.value(key(path), name);
  if (v === undefined) throw new Error(`missing value ${name}`);
  return v;
}

describe('Hive reading (fixture written by hivex)', () => {
  it('reads the base block and the root', () => {
    expect(hive.version).toBe('1.5');
    expect(hive.dirty).toBe(false);
    expect(hive.nodeName(hive.root)).toBe('ROOT');
    expect(hive.children(hive.root).map((n) => hive.nodeName(n))).toEqual(['Deep', 'Many', 'Names', 'Types']);
    expect(hive.parent(hive.root)).toBeUndefined();
    expect(hive.lastModified).toBe(133485408000000000n);
  });

  it('looks keys up case-insensitively like Windows', () => {
    expect(hive.path('\\TYPES\\empty')).toBe(key('Types\\Empty'));
    expect(hive.child(key('Names'), 'ÄÖÜ')).toBeDefined();
    expect(hive.child(key('Names'), 'кЛЮЧ')).toBeDefined();
    expect(hive.child(key('Names'), 'SS')).toBeUndefined(); // ß is not SS
    expect(hive.path('Types\\Nope')).toBeUndefined();
    expect(() => hive.requirePath('Types\\Nope\\Deeper')).toThrow(UsageError);
    expect(hive.nodePath(key('deep\\l00\\l01'))).toBe('Deep\\L00\\L01');
  });

  it('decodes every value type, keeping odd data raw', () => {
    const t = 'Types';
    expect(hive.valueOf(val(t, ''))).toEqual({ name: '', type: 'REG_SZ', data: 'default string' });
    expect(hive.valueOf(val(t, 'SZ'))).toEqual({ name: 'sz', type: 'REG_SZ', data: 'hi' });
    const noNul = hive.valueOf(val(t, 'sz_no_nul'));
    expect(noNul).toEqual({ name: 'sz_no_nul', type: 1, data: new Uint8Array([0x41, 0]) });
    expect(hive.valueString(val(t, 'sz_no_nul'))).toBe('A');
    expect(hive.valueString(val(t, 'sz_junk_after_nul'))).toBe('A');
    expect(hive.valueString(val(t, 'sz_odd'))).toBe('A');
    expect(hive.valueOf(val(t, 'expand'))).toEqual({ name: 'expand', type: 'REG_EXPAND_SZ', data: '%SystemRoot%' });
    expect(hive.valueOf(val(t, 'binary'))).toEqual({ name: 'binary', type: 'REG_BINARY', data: new Uint8Array([0xde, 0xad, 0xbe, 0xef, 0, 1]) });
    expect(hive.valueBytes(val(t, 'binary_empty')).length).toBe(0);
    expect(hive.valueOf(val(t, 'dword'))).toEqual({ name: 'dword', type: 'REG_DWORD', data: 0x12345678 });
    expect(hive.valueDword(val(t, 'dword_max'))).toBe(0xffffffff);
    expect(hive.valueOf(val(t, 'dword_short'))).toEqual({ name: 'dword_short', type: 4, data: new Uint8Array([1, 2, 3]) });
    expect(hive.valueOf(val(t, 'dword_long')).type).toBe(4);
    expect(hive.valueOf(val(t, 'dword_be'))).toEqual({ name: 'dword_be', type: 'REG_DWORD_BIG_ENDIAN', data: 0x12345678 });
    expect(hive.valueOf(val(t, 'link'))).toEqual({ name: 'link', type: 'REG_LINK', data: '\\REG' });
    expect(hive.valueOf(val(t, 'multi'))).toEqual({ name: 'multi', type: 'REG_MULTI_SZ', data: ['a', 'bb', '', 'c'] });
    expect(hive.valueOf(val(t, 'multi_empty'))).toEqual({ name: 'multi_empty', type: 'REG_MULTI_SZ', data: [] });
    expect(hive.valueStrings(val(t, 'multi_unterminated'))).toEqual(['a', 'b']);
    expect(hive.valueOf(val(t, 'multi_unterminated')).type).toBe(RegType.REG_MULTI_SZ);
    expect(hive.valueOf(val(t, 'qword'))).toEqual({ name: 'qword', type: 'REG_QWORD', data: 0x1122334455667788n });
    expect(hive.valueOf(val(t, 'qword_short')).type).toBe(11);
    expect(hive.valueOf(val(t, 'none'))).toEqual({ name: 'none', type: 'REG_NONE', data: new Uint8Array(0) });
    expect(hive.valueOf(val(t, 'resource_list'))).toEqual({ name: 'resource_list', type: 8, data: new Uint8Array([1, 0, 0, 0]) });
    expect(hive.valueOf(val(t, 'unknown_type'))).toEqual({ name: 'unknown_type', type: 0x12345, data: new Uint8Array([1, 2, 3, 4, 5, 6]) });
    expect(hive.valueType(val(t, 'type_ffffffff'))).toBe(0xffffffff);
    expect(hive.valueBytes(val(t, 'inline_1'))).toEqual(new Uint8Array([0x7f]));
    expect(hive.valueLocation(val(t, 'inline_4')).inline).toBe(true);
  });

  it('reads a 20000-byte value stored in one cell (hivex writes no big data)', () => {
    const v = val('Types', 'big');
    const b = hive.valueBytes(v);
    expect(b.length).toBe(20000);
    expect(b[0]).toBe(0);
    expect(b[19999]).toBe(19999 % 251);
    expect(hive.valueLocation(v).bigData).toBe(false);
  });

  it('returns copies from valueBytes, never views into the image', () => {
    const v = val('Types', 'binary');
    const b = hive.valueBytes(v);
    b[0] = 0;
    expect(hive.valueBytes(v)[0]).toBe(0xde);
  });

  it('finds values with quotes, backslashes and non-ASCII names', () => {
    expect(hive.valueDword(val('Types', 'NAME WITH "QUOTES" AND \\BACKSLASH'))).toBe(1);
    expect(hive.valueString(val('Types', 'ÜMLAUT VALUE'))).toBe('ü');
    expect(hive.valueString(val('Types', '☃ snowman'))).toBe('☃');
    expect(hive.value(key('Types'), 'absent')).toBeUndefined();
  });

  it('reads 600 subkeys in Windows order and a 40-level chain', () => {
    const many = hive.children(key('Many')).map((n) => hive.nodeName(n));
    expect(many.length).toBe(600);
    expect([...many].sort(compareNames)).toEqual(many);
    expect(hive.path('many\\KEY0300')).toBeDefined();
    const deepest = [...hive.walk(key('Deep'))].pop()!;
    expect(deepest.depth).toBe(40);
    expect(deepest.path.split('\\').length).toBe(41);
  });

  it('walks every key once; the walk agrees with the export', () => {
    const keys = [...hive.walk()];
    expect(new Set(keys.map((k) => k.node)).size).toBe(keys.length);
    const reg = Buffer.from(exportRegToBytes(hive)).toString('latin1');
    expect((reg.match(/^\[/gm) ?? []).length).toBe(keys.length);
  });

  it('exposes security descriptors shared through sk reference counts', () => {
    const sd = hive.nodeSecurity(hive.root)!;
    expect(sd[0]).toBe(1); // SECURITY_DESCRIPTOR revision
    const sk = hive.nodeSecurityCell(hive.root)!;
    let users = 0;
    for (const { node } of hive.walk()) if (hive.nodeSecurityCell(node) === sk) users++;
    expect(hive.securityRefCount(sk)).toBe(users);
  });

  it('refuses writes when opened read-only', () => {
    expect(() => hive.addChild(hive.root, 'x')).toThrow(ReadOnlyError);
  });
});

describe('.reg export (oracle: hivexregedit output committed with the fixture)', () => {
  const text = (b: Uint8Array) => Buffer.from(b);
  it('is byte-identical to hivexregedit --export HIVE \\', () => {
    expect(text(exportRegToBytes(hive, '\\')).equals(Buffer.from(hiveFixture('types.reg.gz')))).toBe(true);
    const h13 = Hive.open(hiveFixture('types13.hive.gz'));
    expect(h13.version).toBe('1.3');
    expect(text(exportRegToBytes(h13, '\\')).equals(Buffer.from(hiveFixture('types13.reg.gz')))).toBe(true);
  });

  it('is byte-identical with --prefix and a start key', () => {
    const got = exportRegToBytes(hive, '\\Types', { prefix: 'HKEY_LOCAL_MACHINE\\SOFTWARE\\' });
    expect(text(got).equals(Buffer.from(hiveFixture('types-prefix.reg.gz')))).toBe(true);
  });

  it('is byte-identical with --unsafe-printable-strings (Perl prints non-Latin-1 lines as UTF-8)', () => {
    const got = exportRegToBytes(hive, '\\', { unsafePrintableStrings: true });
    expect(text(got).equals(Buffer.from(hiveFixture('types-printable.reg.gz')))).toBe(true);
  });

  it('omits the header for virt-win-reg, honours max depth, and can write UTF-8 only', () => {
    const noHeader = Buffer.from(exportRegToBytes(hive, '\\Types\\Empty', { header: false })).toString();
    expect(noHeader).toBe('[\\Types\\Empty]\n\n');
    const depth1 = Buffer.from(exportRegToBytes(hive, '\\Deep', { maxDepth: 2, header: false })).toString();
    expect(depth1).toBe('[\\Deep]\n\n[\\Deep\\L00]\n\n');
    expect(exportRegToBytes(hive, '\\Deep', { maxDepth: 0, header: false }).length).toBe(0);
    const utf8 = Buffer.from(exportRegToBytes(hive, '\\Names', { encoding: 'utf8' })).toString('utf8');
    expect(utf8).toContain('[\\Names\\äöü]');
    const perl = Buffer.from(exportRegToBytes(hive, '\\Names'));
    expect(perl.includes(Buffer.from('[\\Names\\äöü]', 'latin1'))).toBe(true);
    expect(perl.includes(Buffer.from('[\\Names\\snow☃]', 'utf8'))).toBe(true);
  });

  it('reports a missing start key', () => {
    expect(() => exportRegToBytes(hive, '\\Nope')).toThrow(/path not found/);
  });
});
