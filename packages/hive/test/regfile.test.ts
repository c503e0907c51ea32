import { describe, expect, it } from 'vitest';
import { FormatError, UsageError } from '@guestkit/disk/binary';
import { Hive, HiveCode, exportRegToBytes, mergeReg, parseReg, decodeRegText, exportXmlToBytes, exportJsonToString } from '@guestkit/hive';
import { hiveFixture, fixedNow } from './helpers.js';

const utf8 = (s: string) => new Uint8Array(Buffer.from(s, 'utf8'));
const utf16bom = (s: string) => new Uint8Array(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(s, 'utf16le')]));
const text = (b: Uint8Array) => Buffer.from(b).toString('utf8');

describe('.reg merge', () => {
  it('round-trips: export → merge into an empty hive → export is identical', () => {
    const src = Hive.open(hiveFixture('types.hive.gz'));
    const reg = exportRegToBytes(src, '\\', { encoding: 'utf8' });
    const h = Hive.create({ now: fixedNow });
    const report = mergeReg(h, reg);
    expect(report.keysCreated).toBe([...src.walk()].length - 1);
    expect(text(exportRegToBytes(Hive.open(h.serialize()), '\\', { encoding: 'utf8' }))).toBe(text(reg));
    // hivexregedit's own byte format (Latin-1 names as Latin-1 bytes) merges back too.
    const h2 = Hive.create({ now: fixedNow });
    mergeReg(h2, hiveFixture('types.reg.gz'));
    expect(Buffer.from(exportRegToBytes(h2)).equals(Buffer.from(hiveFixture('types.reg.gz')))).toBe(true);
  });

  it('reads the regedit dialect: UTF-16LE BOM, CRLF, wrapped hex, deletions, @, dword, hex(N), comments', () => {
    const h = Hive.create({ now: fixedNow });
    const reg = [
      'Windows Registry Editor Version 5.00',
      '',
      '; a comment',
      '[HKEY_LOCAL_MACHINE\\SOFTWARE\\Vendor\\App]',
      '@="default"',
      '"Path"="C:\\\\Program Files\\\\App\\\\"',
      '"Quote"="say \\"hi\\""',
      '"Count"=dword:0000002a',
      '"Blob"=hex:00,01,02,03,04,05,06,07,08,09,0a,0b,0c,0d,0e,0f,10,11,12,13,14,15,\\',
      '  16,17,18,19',
      '"Multi"=hex(7):61,00,00,00,62,00,00,00,00,00',
      '"Expand"=hex(2):25,00,41,00,25,00,00,00',
      '"Q"=hex(b):01,00,00,00,00,00,00,00',
      '"Gone"="x"',
      '[HKEY_LOCAL_MACHINE\\SOFTWARE\\Vendor\\App\\Sub]',
      '"a"="b"',
      '',
      '[HKEY_LOCAL_MACHINE\\SOFTWARE\\Vendor\\App]',
      '"Gone"=-',
      '@=-',
      '',
      '[-HKEY_LOCAL_MACHINE\\SOFTWARE\\Vendor\\App\\Sub]',
      '[-HKEY_LOCAL_MACHINE\\SOFTWARE\\Vendor\\Missing]',
      '',
    ].join('\r\n');
    const report = mergeReg(h, utf16bom(reg), { prefix: 'HKEY_LOCAL_MACHINE\\SOFTWARE' });
    expect(report).toMatchObject({ keysCreated: 3, keysDeleted: 1, valuesDeleted: 2, missingDeletes: ['HKEY_LOCAL_MACHINE\\SOFTWARE\\Vendor\\Missing'] });
    const app = h.path('Vendor\\App')!;
    expect(h.valueString(h.value(app, 'path')!)).toBe('C:\\Program Files\\App\\');
    expect(h.valueString(h.value(app, 'Quote')!)).toBe('say "hi"');
    expect(h.valueDword(h.value(app, 'Count')!)).toBe(42);
    expect(h.valueBytes(h.value(app, 'Blob')!)).toEqual(new Uint8Array(26).map((_, i) => i));
    expect(h.valueStrings(h.value(app, 'Multi')!)).toEqual(['a', 'b']);
    expect(h.valueType(h.value(app, 'Expand')!)).toBe(2);
    expect(h.valueQword(h.value(app, 'Q')!)).toBe(1n);
    expect(h.value(app, 'Gone')).toBeUndefined();
    expect(h.value(app, '')).toBeUndefined();
    expect(h.path('Vendor\\App\\Sub')).toBeUndefined();
  });

  it('supports hivex str(N):"…" and --encoding ascii', () => {
    const h = Hive.create({ now: fixedNow });
    mergeReg(h, utf8('[\\K]\n"e"=str(2):"%x%"\n"w"=str:"wine"\n"a"="abc"\n'), { encoding: 'ascii' });
    const k = h.path('K')!;
    expect(h.valueType(h.value(k, 'e')!)).toBe(2);
    expect(h.valueBytes(h.value(k, 'a')!)).toEqual(new Uint8Array([0x61, 0x62, 0x63, 0]));
    expect(h.valueBytes(h.value(k, 'w')!).length).toBe(5);
  });

  it('creates missing parents, or refuses them with strict (as hivexregedit does)', () => {
    const reg = utf8('[\\A\\B\\C]\n"v"=dword:00000001\n');
    const h = Hive.create({ now: fixedNow });
    expect(mergeReg(h, reg).keysCreated).toBe(3);
    const s = Hive.create({ now: fixedNow });
    let err: unknown;
    try {
      mergeReg(s, reg, { strict: true });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).code).toBe(HiveCode.RegMissingParent);
    mergeReg(s, utf8('[\\A]\n\n[\\A\\B]\n'), { strict: true }); // one level at a time is fine
    expect(s.path('A\\B')).toBeDefined();
  });

  it('reports parse errors with line numbers, refuses the root and foreign paths', () => {
    const h = Hive.create({ now: fixedNow });
    expect(() => mergeReg(h, utf8('[\\K]\n"v"=dword:xyz\n'))).toThrow(/:2: cannot parse value data/);
    expect(() => mergeReg(h, utf8('"v"="x"\n'))).toThrow(FormatError);
    expect(() => mergeReg(h, utf8('[\\K\n'))).toThrow(/malformed key line/);
    expect(() => mergeReg(h, utf8('[-\\]\n'))).toThrow(/root key/);
    expect(() => mergeReg(h, utf8('[HKEY_LOCAL_MACHINE\\SOFTWARE\\X]\n'))).toThrow(/--prefix/);
  });

  it('decodes UTF-8, UTF-8 with BOM, UTF-16LE with and without BOM, and Latin-1 lines', () => {
    expect(decodeRegText(utf8('[\\ä]'))).toBe('[\\ä]');
    expect(decodeRegText(new Uint8Array([0xef, 0xbb, 0xbf, ...utf8('[\\x]')]))).toBe('[\\x]');
    expect(decodeRegText(utf16bom('[\\ключ]'))).toBe('[\\ключ]');
    expect(decodeRegText(new Uint8Array(Buffer.from('[\\k]', 'utf16le')))).toBe('[\\k]');
    expect(decodeRegText(new Uint8Array([0x5b, 0x5c, 0xe4, 0x5d, 0x0a, ...utf8('[\\☃]')]))).toBe('[\\ä]\n[\\☃]');
    expect(parseReg('[\\k]\n"a"=hex(0):\n')).toEqual([
      { op: 'key', path: '\\k', line: 1 },
      { op: 'set', path: '\\k', name: 'a', type: 0, data: new Uint8Array(0), line: 2 },
    ]);
  });
});

describe('XML and JSON', () => {
  it('writes the XML hivexml writes (oracle: hivexml output committed with the fixture)', () => {
    const h = Hive.open(hiveFixture('types.hive.gz'));
    expect(Buffer.from(exportXmlToBytes(h)).equals(Buffer.from(hiveFixture('types.xml.gz')))).toBe(true);
  });

  it('dumps JSON that parses and keeps every byte', () => {
    const h = Hive.open(hiveFixture('types.hive.gz'));
    const j = JSON.parse(exportJsonToString(h, { pretty: true }));
    expect(j.format).toBe('guestkit-hive-json');
    expect(j.hive.version).toBe('1.5');
    const types = j.root.subkeys.find((k: { name: string }) => k.name === 'Types');
    const byName = new Map<string, Record<string, unknown>>(types.values.map((v: { name: string }) => [v.name, v]));
    expect(byName.get('dword')).toEqual({ name: 'dword', type: 'REG_DWORD', data: 0x12345678 });
    expect(byName.get('qword')).toEqual({ name: 'qword', type: 'REG_QWORD', data: '1234605616436508552' });
    expect(byName.get('multi')).toEqual({ name: 'multi', type: 'REG_MULTI_SZ', data: ['a', 'bb', '', 'c'] });
    expect(byName.get('sz_no_nul')).toEqual({ name: 'sz_no_nul', type: 'REG_SZ', base64: 'QQA=' });
    expect(byName.get('unknown_type')).toEqual({ name: 'unknown_type', type: '0x12345', base64: 'AQIDBAUG' });
    expect(JSON.parse(exportJsonToString(h))).toEqual(j); // compact and pretty say the same
    const sub = JSON.parse(exportJsonToString(h, { key: 'Deep\\L00' }));
    expect(sub.root.name).toBe('L00');
  });
});
