/**
 * Unit rules of the registry editor: virt-win-reg's path → hive mapping (guestfs-tools
 * win-reg/virt-win-reg.in map_path_to_hive) and our extensions, profile paths, CurrentControlSet,
 * the page-wise in-place hive rewrite, the registry diff and its value syntax.
 */
import { describe, expect, it } from 'vitest';
import { GuestError, UsageError } from '@guestkit/disk/binary';
import { Hive } from '@guestkit/hive';
import {
  changedPages, controlSets, currentControlSet, diffHive, formatHiveDiffs, formatRegData, looksLikeRegPath, parseRegPath,
  profilePathOnRoot, resolveControlSet,
} from '@guestkit/inspector';
import { Rng } from '../../../test/support/fuzz.js';

const FIXED_TIME = () => 0x01da4796_00000000n;

describe('registry paths → hives (virt-win-reg map_path_to_hive)', () => {
  const cases: [string, { hive: unknown; path: string; prefix: string }][] = [
    ['HKLM\\SOFTWARE\\Microsoft', { hive: { kind: 'machine', hive: 'SOFTWARE' }, path: '\\Microsoft', prefix: 'HKEY_LOCAL_MACHINE\\SOFTWARE' }],
    ['\\HKEY_LOCAL_MACHINE\\software', { hive: { kind: 'machine', hive: 'SOFTWARE' }, path: '\\', prefix: 'HKEY_LOCAL_MACHINE\\SOFTWARE' }],
    ['hklm\\system\\Select', { hive: { kind: 'machine', hive: 'SYSTEM' }, path: '\\Select', prefix: 'HKEY_LOCAL_MACHINE\\SYSTEM' }],
    ['HKLM\\SAM\\SAM\\Domains', { hive: { kind: 'machine', hive: 'SAM' }, path: '\\SAM\\Domains', prefix: 'HKEY_LOCAL_MACHINE\\SAM' }],
    ['HKLM\\SECURITY', { hive: { kind: 'machine', hive: 'SECURITY' }, path: '\\', prefix: 'HKEY_LOCAL_MACHINE\\SECURITY' }],
    // virt-win-reg's quirk: HKU\.DEFAULT is exported under HKEY_LOCAL_MACHINE\.DEFAULT.
    ['HKU\\.DEFAULT\\Keyboard Layout', { hive: { kind: 'machine', hive: 'DEFAULT' }, path: '\\Keyboard Layout', prefix: 'HKEY_LOCAL_MACHINE\\.DEFAULT' }],
    ['HKLM\\.DEFAULT\\Keyboard Layout', { hive: { kind: 'machine', hive: 'DEFAULT' }, path: '\\Keyboard Layout', prefix: 'HKEY_LOCAL_MACHINE\\.DEFAULT' }],
    ['HKEY_USERS\\S-1-5-21-1-2-3-1001\\Environment', { hive: { kind: 'user', sid: 'S-1-5-21-1-2-3-1001', classes: false }, path: '\\Environment', prefix: 'HKEY_USERS\\S-1-5-21-1-2-3-1001' }],
    ['HKU\\LocalSystem', { hive: { kind: 'user', sid: 'S-1-5-18', classes: false }, path: '\\', prefix: 'HKEY_USERS\\S-1-5-18' }],
    ['HKU\\networkservice\\X', { hive: { kind: 'user', sid: 'S-1-5-20', classes: false }, path: '\\X', prefix: 'HKEY_USERS\\S-1-5-20' }],
    ['HKU\\alice\\Software', { hive: { kind: 'user', name: 'alice', classes: false }, path: '\\Software', prefix: 'HKEY_USERS\\alice' }],
    ['HKU\\alice_Classes\\CLSID', { hive: { kind: 'user', name: 'alice', classes: true }, path: '\\CLSID', prefix: 'HKEY_USERS\\alice_Classes' }],
    ['HKU\\S-1-5-21-9-9-9-500_Classes', { hive: { kind: 'user', sid: 'S-1-5-21-9-9-9-500', classes: true }, path: '\\', prefix: 'HKEY_USERS\\S-1-5-21-9-9-9-500_Classes' }],
    ['HKCR\\.txt', { hive: { kind: 'machine', hive: 'SOFTWARE' }, path: '\\Classes\\.txt', prefix: 'HKEY_LOCAL_MACHINE\\SOFTWARE' }],
    ['HKCC\\Software', { hive: { kind: 'machine', hive: 'SYSTEM' }, path: '\\CurrentControlSet\\Hardware Profiles\\Current\\Software', prefix: 'HKEY_LOCAL_MACHINE\\SYSTEM' }],
    ['HKLM\\BCD00000000\\Objects', { hive: { kind: 'bcd' }, path: '\\Objects', prefix: 'HKEY_LOCAL_MACHINE\\BCD00000000' }],
  ];
  it.each(cases)('%s', (input, want) => {
    const p = parseRegPath(input);
    expect({ hive: p.hive, path: p.path, prefix: p.prefix }).toEqual(want);
  });

  it('HKEY_CURRENT_USER needs a user; with one it is that user\'s NTUSER.DAT, and Software\\Classes is UsrClass.dat', () => {
    for (const p of ['HKEY_CURRENT_USER\\Software', 'HKCU', 'HKCU\\Environment']) {
      expect(() => parseRegPath(p)).toThrow(/not a supported Windows Registry path/);
    }
    expect(parseRegPath('HKCU\\Environment', { user: 'bob' })).toMatchObject({ hive: { kind: 'user', name: 'bob', classes: false }, path: '\\Environment', prefix: 'HKEY_CURRENT_USER' });
    expect(parseRegPath('HKCU', { user: 'S-1-5-21-1-2-3-4' })).toMatchObject({ hive: { kind: 'user', sid: 'S-1-5-21-1-2-3-4' }, path: '\\' });
    expect(parseRegPath('HKCU\\Software\\Classes\\CLSID\\{x}', { user: 'bob' })).toMatchObject({
      hive: { kind: 'user', name: 'bob', classes: true }, path: '\\CLSID\\{x}', prefix: 'HKEY_CURRENT_USER\\Software\\Classes',
    });
    // The same file from two spellings has one hive id (so one Hive edits it).
    expect(parseRegPath('HKU\\Bob\\X').hiveId).toBe(parseRegPath('HKCU\\Y', { user: 'bob' }).hiveId);
  });

  it('anything else is "not a supported Windows Registry path" (UsageError), never another error', () => {
    for (const p of ['', 'HKLM', 'HKLM\\COMPONENTS', 'HKLM\\SOFTWAREX', 'HKEY_PERFORMANCE_DATA\\x', 'SOFTWARE\\Microsoft', 'HKU', 'HKU\\']) {
      expect(() => parseRegPath(p), p).toThrow(UsageError);
    }
    const rng = new Rng(8);
    const alphabet = ['H', 'K', 'L', 'M', 'U', 'C', 'R', '\\', 'S', '-', '1', '5', '_', 'Classes', 'HKLM', 'HKU', 'SOFTWARE', '.DEFAULT', ' ', '\u00e9', '\ud83e'];
    for (let i = 0; i < 5000; i++) {
      let s = '';
      for (let n = rng.int(12); n > 0; n--) s += rng.pick(alphabet);
      try {
        const p = parseRegPath(s, rng.int(2) ? { user: 'u' } : {});
        expect(p.path.startsWith('\\')).toBe(true);
      } catch (e) {
        expect(e).toBeInstanceOf(UsageError);
      }
    }
  });

  it('tells images from keys on the command line', () => {
    expect(looksLikeRegPath('HKLM\\SOFTWARE')).toBe(true);
    expect(looksLikeRegPath('\\HKEY_USERS\\x')).toBe(true);
    expect(looksLikeRegPath('hkcu')).toBe(true);
    expect(looksLikeRegPath('disk.qcow2')).toBe(false);
    expect(looksLikeRegPath('/images/HKLM.img')).toBe(false);
  });
});

describe('profile paths (virt-win-reg lookup_pip_of_user_sid)', () => {
  it('expands %SystemRoot%, drops %SystemDrive% and C:, turns backslashes into slashes', () => {
    expect(profilePathOnRoot('C:\\Users\\alice', '/Windows')).toBe('/Users/alice');
    expect(profilePathOnRoot('%SystemDrive%\\Documents and Settings\\bob', '/WINDOWS')).toBe('/Documents and Settings/bob');
    expect(profilePathOnRoot('%systemroot%\\ServiceProfiles\\LocalService', '/Windows')).toBe('/Windows/ServiceProfiles/LocalService');
    expect(profilePathOnRoot('c:\\users\\x\\', '/Windows')).toBe('/users/x');
  });
  it('refuses profiles on other drives or with unknown variables', () => {
    expect(profilePathOnRoot('D:\\Users\\alice', '/Windows')).toBeUndefined();
    expect(profilePathOnRoot('%ProfilesDir%\\alice', '/Windows')).toBeUndefined();
  });
});

/** A small SYSTEM hive made in memory. */
function systemHive(current?: number): Hive {
  const h = Hive.create({ now: FIXED_TIME, rootName: 'SYSTEM' });
  for (const cs of ['ControlSet002', 'ControlSet001', 'Select', 'ControlSet010', 'ControlSetX']) h.addChild(h.root, cs);
  if (current !== undefined) h.setValue(h.path('Select')!, { name: 'Current', type: 4, data: new Uint8Array([current, 0, 0, 0]) });
  return h;
}

describe('CurrentControlSet', () => {
  it('resolves through Select\\Current; other paths are unchanged', () => {
    const h = systemHive(2);
    expect(currentControlSet(h)).toBe('ControlSet002');
    expect(resolveControlSet(h, '\\CurrentControlSet\\Services\\Tcpip')).toBe('\\ControlSet002\\Services\\Tcpip');
    expect(resolveControlSet(h, '\\currentcontrolset')).toBe('\\ControlSet002');
    expect(resolveControlSet(h, '\\Select')).toBe('\\Select');
    expect(resolveControlSet(h, '\\ControlSet001\\CurrentControlSet')).toBe('\\ControlSet001\\CurrentControlSet');
    expect(controlSets(h)).toEqual(['ControlSet001', 'ControlSet002', 'ControlSet010']);
  });
  it('fails with a typed error when Select\\Current is missing or unusable', () => {
    for (const h of [systemHive(), systemHive(0)]) {
      expect(() => resolveControlSet(h, '\\CurrentControlSet\\X', 'HKLM\\SYSTEM\\CurrentControlSet\\X')).toThrow(/cannot resolve CurrentControlSet/);
      expect(() => resolveControlSet(h, '\\CurrentControlSet')).toThrow(GuestError);
    }
  });
});

describe('in-place hive rewrite: changed 4 KiB pages', () => {
  it('lists runs of differing pages and the appended tail', () => {
    const a = new Uint8Array(5 * 4096);
    const b = new Uint8Array(7 * 4096);
    b[0] = 1; // page 0
    b[2 * 4096 + 5] = 1; // page 2
    b[3 * 4096] = 1; // page 3 (joins page 2)
    expect(changedPages(a, b)).toEqual([{ offset: 0, length: 4096 }, { offset: 2 * 4096, length: 2 * 4096 }, { offset: 5 * 4096, length: 2 * 4096 }]);
    expect(changedPages(a, a.slice())).toEqual([]);
    const c = a.slice(0, 4 * 4096);
    expect(changedPages(a, c)).toEqual([]); // shrinking is the caller's truncate
  });
});

describe('registry diff', () => {
  it('reports added, changed and deleted keys and values of the touched paths, in export order', () => {
    const before = Hive.create({ now: FIXED_TIME });
    const k = before.ensurePath('Software\\Vendor');
    before.setValue(k, { name: 'Keep', type: 4, data: new Uint8Array([1, 0, 0, 0]) });
    before.setValue(k, { name: 'Change', type: 1, data: Buffer.from('old\0', 'utf16le') });
    before.setValue(k, { name: 'Drop', type: 3, data: new Uint8Array([1, 2]) });
    before.ensurePath('Software\\Vendor\\Gone\\Deeper');
    before.ensurePath('Other\\Untouched');
    const bytes = before.serialize();
    const after = Hive.open(bytes, { writable: true, now: FIXED_TIME });
    const v = after.path('Software\\Vendor')!;
    after.setValue(v, { name: 'Change', type: 1, data: Buffer.from('new "x"\\\0', 'utf16le') });
    after.deleteValue(v, 'Drop');
    after.setValue(v, { name: '', type: 7, data: Buffer.from('a\0b\0\0', 'utf16le') });
    after.deleteChild(after.path('Software\\Vendor\\Gone')!);
    const n = after.ensurePath('Software\\Vendor\\New');
    after.setValue(n, { name: 'Q', type: 4, data: new Uint8Array([0xef, 0xbe, 0xad, 0xde]) });
    after.setValue(after.path('Other\\Untouched')!, { name: 'hidden', type: 4, data: new Uint8Array(4) });
    const changes = diffHive(Hive.open(bytes), after, ['\\Software\\Vendor', '\\Software\\Vendor\\New', '\\Software\\Vendor\\Gone'], 'HKEY_LOCAL_MACHINE\\SOFTWARE');
    expect(formatHiveDiffs([{ label: 'HKLM\\SOFTWARE', prefix: 'HKEY_LOCAL_MACHINE\\SOFTWARE', file: 'f', changes }])).toBe(
      '--- HKEY_LOCAL_MACHINE\\SOFTWARE (f) before\n+++ HKEY_LOCAL_MACHINE\\SOFTWARE (f) after\n' +
        ' [HKEY_LOCAL_MACHINE\\SOFTWARE\\Software\\Vendor]\n-"Drop"=hex:01,02\n-"Change"="old"\n+"Change"="new \\"x\\"\\\\"\n+@=hex(7):61,00,00,00,62,00,00,00,00,00\n' +
        '-[HKEY_LOCAL_MACHINE\\SOFTWARE\\Software\\Vendor\\Gone]\n-[HKEY_LOCAL_MACHINE\\SOFTWARE\\Software\\Vendor\\Gone\\Deeper]\n' +
        '+[HKEY_LOCAL_MACHINE\\SOFTWARE\\Software\\Vendor\\New]\n+"Q"=dword:deadbeef\n',
    );
    // Keys that were not touched are not compared (Other\Untouched changed but is not listed).
    expect(changes.some((c) => c.key.includes('Untouched'))).toBe(false);
  });

  it('writes values as regedit does: clean strings quoted, 4-byte dwords, hex otherwise', () => {
    expect(formatRegData(1, Buffer.from('C:\\x "y"\0', 'utf16le'))).toBe('"C:\\\\x \\"y\\""');
    expect(formatRegData(1, Buffer.from('no nul', 'utf16le'))).toBe('hex(1):6e,00,6f,00,20,00,6e,00,75,00,6c,00');
    expect(formatRegData(1, Buffer.from('a\0b\0', 'utf16le'))).toMatch(/^hex\(1\):/);
    expect(formatRegData(1, Buffer.from('\ud800\0', 'utf16le'))).toMatch(/^hex\(1\):/);
    expect(formatRegData(1, Buffer.from('\ud83e\udd8a\0', 'utf16le'))).toBe('"\ud83e\udd8a"');
    expect(formatRegData(4, new Uint8Array([1, 0, 0, 0]))).toBe('dword:00000001');
    expect(formatRegData(4, new Uint8Array([1, 0, 0]))).toBe('hex(4):01,00,00');
    expect(formatRegData(3, new Uint8Array([]))).toBe('hex:');
    expect(formatRegData(0x1f4, new Uint8Array([0xff]))).toBe('hex(1f4):ff');
  });
});
