/**
 * The BCD editor's pieces: the element-name table (and its generated document), value and
 * device encoding checked byte for byte against what Windows wrote in the real stores of
 * ../shared/testdata/bcd, device strings, the editor's verbs and safety checks, dirty stores,
 * the dry-run diff (applied back with git apply), and fuzzing.
 */
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { GuestError, UnsafeStateError, UsageError, NotFoundError } from '@guestkit/disk/binary';
import { Hive } from '@guestkit/hive';
import {
  BCD_ELEMENT_TABLES, BcdEditor, bcdElementDoc, catalogPartitions, decodeBcdDevice, editBcdFile, elementClass, elementFormat,
  elementTypeByName, encodeBcdDevice, encodeBcdValue, hiveKey, openHiveBytes, openStoreForEdit, parseBcdDeviceSpec, readBcdStore,
  resolveBcdDevice, unifiedDiff, applyBcdEdit, bcdElement, findBcdObject, type BcdElementScope, type BcdPartitionCatalog, type BcdStore,
} from '@guestkit/inspector';
import { describeWithShared, repoRoot, tempDir } from '../../../test/support/shared.js';
import { itWithTools } from '../../../test/support/tools.js';
import { Rng, classify, fuzzIterations, mutate } from '../../../test/support/fuzz.js';

const STORES = [
  'regipy/BCD', 'ericzimmerman/BCD', 'windeploy-linux/BCD', 'windeploy-linux/BCD-efi', 'usbboot/boot/BCD',
  'usbboot/EFI/Microsoft/Boot/BCD', 'dfir-artifact-museum/Win10/BCD-Template', 'dfir-artifact-museum/Win11/BCD-Template',
];
const PADDED = 8;
const SHORT = 60;
const DOC = join(repoRoot, 'packages/inspector/docs/bcd-elements.md');
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
let seq = 0;
const fixedGuid = (): string => `00000000-0000-4000-8000-${(++seq).toString(16).padStart(12, '0')}`;

describe('BCD element table', () => {
  it('packages/inspector/docs/bcd-elements.md is the generated table', () => {
    const text = bcdElementDoc();
    if (process.env.UPDATE_BCD_DOC) writeFileSync(DOC, text);
    expect(readFileSync(DOC, 'utf8')).toBe(text);
    // every element of every table is in it, with its hex type and format
    for (const t of Object.values(BCD_ELEMENT_TABLES)) {
      for (const i of t.values()) expect(text).toContain(`| ${i.name} | 0x${i.type.toString(16).padStart(8, '0')} | ${elementFormat(i.type)} | ${i.symbol} |`);
    }
  });

  it('every name maps back to its type in its scope; classes and formats fit the scope', () => {
    let n = 0;
    for (const [scope, t] of Object.entries(BCD_ELEMENT_TABLES) as [BcdElementScope, ReadonlyMap<number, { type: number; name: string; symbol: string }>][]) {
      const names = new Set<string>();
      for (const i of t.values()) {
        n++;
        expect(i.name).toMatch(/^[a-z0-9]+$/);
        expect(names.has(i.name), `${scope}: ${i.name} twice`).toBe(false);
        names.add(i.name);
        expect(elementFormat(i.type), `${i.name}`).toBeDefined();
        expect(elementClass(i.type)).toBe(scope === 'library' ? 1 : scope === 'device' ? 3 : 2);
        expect(elementTypeByName(i.name, scope), `${scope}: ${i.name}`).toBe(i.type);
        expect(elementTypeByName(i.name.toUpperCase(), scope)).toBe(i.type);
      }
    }
    expect(n).toBeGreaterThanOrEqual(250);
  });

  it('the elements users reach for have the numbers of Microsoft\'s BCD enumerations', () => {
    // BcdLibraryElementTypes, BcdBootMgrElementTypes, BcdOSLoaderElementTypes (learn.microsoft.com, BCD WMI provider).
    const expected: [string, BcdElementScope, number][] = [
      ['device', 'library', 0x11000001], ['path', 'library', 0x12000002], ['description', 'library', 0x12000004], ['locale', 'library', 0x12000005],
      ['inherit', 'library', 0x14000006], ['recoverysequence', 'library', 0x14000008], ['recoveryenabled', 'library', 0x16000009],
      ['nointegritychecks', 'library', 0x16000048], ['testsigning', 'library', 0x16000049], ['bootdebug', 'library', 0x16000010],
      ['displayorder', 'bootmgr', 0x24000001], ['bootsequence', 'bootmgr', 0x24000002], ['default', 'bootmgr', 0x23000003],
      ['timeout', 'bootmgr', 0x25000004], ['toolsdisplayorder', 'bootmgr', 0x24000010], ['displaybootmenu', 'bootmgr', 0x26000020],
      ['osdevice', 'osloader', 0x21000001], ['systemroot', 'osloader', 0x22000002], ['nx', 'osloader', 0x25000020], ['pae', 'osloader', 0x25000021],
      ['safeboot', 'osloader', 0x25000080], ['safebootalternateshell', 'osloader', 0x26000081], ['bootlog', 'osloader', 0x26000090],
      ['sos', 'osloader', 0x26000091], ['debug', 'osloader', 0x260000a0], ['bootmenupolicy', 'osloader', 0x250000c2],
      ['bootstatuspolicy', 'osloader', 0x250000e0], ['hypervisorlaunchtype', 'osloader', 0x250000f0], ['quietboot', 'osloader', 0x26000041],
      ['filedevice', 'resume', 0x21000001], ['filepath', 'resume', 0x22000002], ['passcount', 'memdiag', 0x25000001],
      ['ramdisksdidevice', 'device', 0x31000003], ['ramdisksdipath', 'device', 0x32000004],
    ];
    for (const [name, scope, type] of expected) expect(elementTypeByName(name, scope), name).toBe(type);
    const safeboot = BCD_ELEMENT_TABLES.osloader.get(0x25000080)!.values!;
    expect(safeboot).toEqual({ 0: 'Minimal', 1: 'Network', 2: 'DsRepair' });
    expect(BCD_ELEMENT_TABLES.osloader.get(0x250000c2)!.values).toEqual({ 0: 'Legacy', 1: 'Standard' });
    expect(BCD_ELEMENT_TABLES.osloader.get(0x250000f0)!.values).toEqual({ 0: 'Off', 1: 'Auto' });
  });
});

function storeOf(shared: string, s: string): { bytes: Uint8Array; store: BcdStore } {
  const bytes = new Uint8Array(readFileSync(join(shared, 'testdata/bcd', s)));
  return { bytes, store: readBcdStore(openHiveBytes(bytes, s)) };
}

describeWithShared('BCD encoding against the stores Windows wrote', (shared) => {
  it('every element re-encodes to its stored registry type and bytes (strings: up to extra trailing NULs)', () => {
    let exact = 0;
    let padded = 0;
    let short = 0;
    const kinds = new Set<string>();
    for (const s of STORES) {
      for (const o of storeOf(shared, s).store.objects) {
        for (const e of o.elements) {
          if (e.value.format === 'raw') throw new Error(`${s}: raw ${e.name}`);
          const enc = encodeBcdValue(e.value);
          expect(enc.registryType, `${s} ${o.id} ${e.name}`).toBe(e.registryType);
          if (e.value.format === 'device') kinds.add(e.value.value.device.kind + (e.value.value.device.kind === 'partition' ? `-${e.value.value.device.scheme}` : e.value.value.device.kind === 'ramdisk' ? `-${e.value.value.device.parent.kind}` : ''));
          if (hex(enc.data) === hex(e.data)) {
            exact++;
            continue;
          }
          // Some integers are stored in fewer than 8 bytes (same value, which the editor writes as 8).
          if (e.value.format === 'integer' && e.data.length < 8) {
            short++;
            continue;
          }
          // Firmware-written paths carry one extra UTF-16 NUL: same text, more zeros.
          expect(e.value.format, `${s} ${o.id} ${e.name}: ${hex(e.data)} vs ${hex(enc.data)}`).toBe('string');
          expect(hex(e.data).startsWith(hex(enc.data)) && /^0+$/.test(hex(e.data.subarray(enc.data.length)))).toBe(true);
          padded++;
        }
      }
    }
    // 434 elements in all: 366 exact; 8 firmware paths with an extra NUL; 60 integers Windows stored in 1-4 bytes (templates)
    expect({ exact, padded, short }).toEqual({ exact: 366, padded: PADDED, short: SHORT });
    expect([...kinds].sort()).toEqual(['boot', 'locate', 'partition-gpt', 'partition-mbr', 'ramdisk-boot', 'ramdisk-partition']);
  });

  it('device strings as enum prints them encode to the bytes Windows stored', () => {
    const cases: [string, string, number, string][] = [
      ['windeploy-linux/BCD', '{b2721d73-1db4-4c62-bf78-c548a880142d}', 0x11000001, 'partition=mbr disk 0xddba6bbb offset 1048576'],
      ['windeploy-linux/BCD', '{9dea862c-5cdd-4e70-acc1-f32b344d4795}', 0x11000001, 'boot'],
      ['regipy/BCD', '{733b62e5-f608-11eb-825c-c112f60133ab}', 0x21000001, 'partition=gpt disk {0b2394a9-095e-487d-8d48-719ecd4d78ca} partition {8e0f2c38-e4ea-47ba-b7fc-9d8c74dccf0b}'],
      ['regipy/BCD', '{733b62e6-f608-11eb-825c-c112f60133ab}', 0x11000001, 'ramdisk=[gpt disk {0b2394a9-095e-487d-8d48-719ecd4d78ca} partition {6cdfcd69-de75-4490-8f99-5a84bf264917}]\\Recovery\\WindowsRE\\Winre.wim,{733b62e7-f608-11eb-825c-c112f60133ab}'],
      ['usbboot/boot/BCD', '{7619dcc9-fafe-11d9-b411-000476eba25f}', 0x21000001, 'ramdisk=[boot]\\sources\\boot.wim,{7619dcc8-fafe-11d9-b411-000476eba25f}'],
      ['windeploy-linux/BCD-efi', '{d65367c7-3fb7-11ec-8288-eab76d76405a}', 0x21000001, 'locate=custom:22000002'],
    ];
    for (const [s, id, type, text] of cases) {
      const stored = bcdElement(findBcdObject(storeOf(shared, s).store, id), type)!;
      const r = resolveBcdDevice(parseBcdDeviceSpec(text), text, undefined, (x) => x);
      expect(hex(encodeBcdDevice(r.element)), `${s} ${text}`).toBe(hex(stored.data));
      expect(decodeBcdDevice(stored.data)).toEqual(r.element);
    }
  });
});

describe('device strings', () => {
  const gptDisk = {
    name: 'sda',
    table: { scheme: 'gpt', diskGuid: '8F3A2B1C-4D5E-4F60-8172-93A4B5C6D7E8', partitions: [
      { number: 1, start: 1048576, guid: '1B6C9E3A-2D4F-4A8B-9C0D-1E2F3A4B5C01' },
      { number: 3, start: 122683392, guid: '3D8EB05C-4F61-4CAD-BE2F-3A4B5C6D7E03' },
    ] },
  };
  const mbrDisk = { name: 'sdb', table: { scheme: 'mbr', diskSignature: 0x5eedf00d, partitions: [{ number: 1, start: 1048576 }, { number: 2, start: 2097152, extended: true }, { number: 5, start: 3145728 }] } };
  const catalog: BcdPartitionCatalog = { partitions: catalogPartitions([gptDisk, mbrDisk]), letters: new Map([['C', '/dev/sda3'], ['D', '/dev/sdb5']]), lettersFrom: 'test' };
  const resolve = (t: string) => resolveBcdDevice(parseBcdDeviceSpec(t), t, catalog, (x) => x);

  it('partitions by letter and by device come from the partition table (GPT GUIDs, MBR signature + offset)', () => {
    expect(catalog.partitions.map((p) => p.device)).toEqual(['/dev/sda1', '/dev/sda3', '/dev/sdb1', '/dev/sdb5']);
    expect(resolve('partition=C:').element.device).toEqual({ kind: 'partition', scheme: 'gpt', diskGuid: '{8f3a2b1c-4d5e-4f60-8172-93a4b5c6d7e8}', partitionGuid: '{3d8eb05c-4f61-4cad-be2f-3a4b5c6d7e03}' });
    expect(resolve('partition=c').targets).toEqual(['/dev/sda3']);
    expect(resolve('partition=D:').element.device).toEqual({ kind: 'partition', scheme: 'mbr', diskSignature: 0x5eedf00d, offset: 3145728 });
    expect(resolve('partition=/dev/sda1').element.device).toMatchObject({ partitionGuid: '{1b6c9e3a-2d4f-4a8b-9c0d-1e2f3a4b5c01}' });
    const rd = resolve('ramdisk=[/dev/sdb1]\\Recovery\\WindowsRE\\Winre.wim,{ramdiskoptions}');
    expect(rd.element).toEqual({ options: '{ramdiskoptions}', device: { kind: 'ramdisk', path: '\\Recovery\\WindowsRE\\Winre.wim', parent: { kind: 'partition', scheme: 'mbr', diskSignature: 0x5eedf00d, offset: 1048576 } } });
    // the encoded MBR partition: offset at +0x20, style 1 at +0x34, signature at +0x38
    const b = encodeBcdDevice(resolve('partition=/dev/sdb1').element);
    expect(b.length).toBe(0x58);
    expect(hex(b.subarray(0x20, 0x28))).toBe('0000100000000000');
    expect(hex(b.subarray(0x34, 0x3c))).toBe('010000000df0ed5e');
  });

  it('refuses partitions the guest does not have, unknown letters and bad syntax', () => {
    const code = (t: string): string => {
      try {
        resolve(t);
        return 'ok';
      } catch (e) {
        expect(e).toBeInstanceOf(UsageError);
        return (e as GuestError).code;
      }
    };
    for (const t of ['partition=E:', 'partition=/dev/sda2', 'partition=/dev/sdb2', 'partition=gpt disk {8f3a2b1c-4d5e-4f60-8172-93a4b5c6d7e8} partition {00000000-0000-0000-0000-000000000001}',
      'partition=mbr disk 0x5eedf00d offset 512', 'partition=', 'ramdisk=[boot]x.wim,{a}', 'ramdisk=boot', 'vhd=[C:]\\x.vhd', 'locate=\\x']) {
      expect(code(t), t).toBe('BCD_BAD_DEVICE');
    }
    // without a guest, letters cannot be resolved but identifiers are taken with a warning
    expect(() => resolveBcdDevice(parseBcdDeviceSpec('partition=C:'), 'partition=C:', undefined, (x) => x)).toThrow(/disk image/);
    const t = 'partition=mbr disk 0x1 offset 1048576';
    expect(resolveBcdDevice(parseBcdDeviceSpec(t), t, undefined, (x) => x).warnings[0]).toMatch(/not checked/);
  });
});

function editorOn(shared: string, s: string, force = false): { hive: Hive; ed: BcdEditor } {
  const hive = Hive.open(readFileSync(join(shared, 'testdata/bcd', s)), { writable: true, name: s });
  return { hive, ed: new BcdEditor(hive, { newGuid: fixedGuid, force }) };
}

const el = (st: BcdStore, id: string, type: number) => bcdElement(findBcdObject(st, id), type)?.value;
const BOOTMGR = '{9dea862c-5cdd-4e70-acc1-f32b344d4795}';
const REGIPY_DEFAULT = '{733b62e5-f608-11eb-825c-c112f60133ab}';
const REGIPY_WINRE = '{733b62e6-f608-11eb-825c-c112f60133ab}';

describeWithShared('BcdEditor on regipy/BCD (an installed UEFI Windows 10)', (shared) => {
  it('ids: GUIDs in any case, aliases with or without braces, {current} and {default} are the default entry', () => {
    const { ed } = editorOn(shared, 'regipy/BCD');
    expect(ed.resolveId('{CURRENT}')).toBe(REGIPY_DEFAULT);
    expect(ed.resolveId('default')).toBe(REGIPY_DEFAULT);
    expect(ed.resolveId('{bootmgr}')).toBe(BOOTMGR);
    expect(ed.resolveId('memdiag')).toBe('{b2721d73-1db4-4c62-bf78-c548a880142d}');
    expect(ed.resolveId('733B62E6-F608-11EB-825C-C112F60133AB')).toBe(REGIPY_WINRE);
    expect(() => ed.resolveId('{nonsense}')).toThrow(UsageError);
    expect(() => ed.object('{01234567-89ab-cdef-0123-456789abcdef}')).toThrow(NotFoundError);
  });

  it('set by name, symbol and hex; typed values; named integers; unknown elements kept', () => {
    const { hive, ed } = editorOn(shared, 'regipy/BCD');
    ed.set('{default}', 'bootmenupolicy', ['legacy']);
    ed.set('{default}', 'BcdOSLoaderInteger_BootStatusPolicy', ['IgnoreAllFailures']);
    ed.set('{default}', '0x26000090', ['on']);
    ed.set('{default}', 'custom:45000001', ['0x10']);
    ed.set('{default}', 'badmemorylist', ['1,2', '0x30']);
    ed.set('{default}', 'description', ['two', 'words']);
    ed.set('{default}', 'recoverysequence', ['{memdiag}', REGIPY_WINRE]);
    const st = readBcdStore(hiveKey(hive));
    expect(el(st, REGIPY_DEFAULT, 0x250000c2)).toEqual({ format: 'integer', value: 0n });
    expect(el(st, REGIPY_DEFAULT, 0x250000e0)).toEqual({ format: 'integer', value: 1n });
    expect(el(st, REGIPY_DEFAULT, 0x26000090)).toEqual({ format: 'boolean', value: true });
    expect(el(st, REGIPY_DEFAULT, 0x45000001)).toEqual({ format: 'integer', value: 16n });
    expect(el(st, REGIPY_DEFAULT, 0x1700000a)).toEqual({ format: 'integerlist', value: [1n, 2n, 0x30n] });
    expect(el(st, REGIPY_DEFAULT, 0x12000004)).toEqual({ format: 'string', value: 'two words' });
    expect(el(st, REGIPY_DEFAULT, 0x14000008)).toEqual({ format: 'objectlist', value: ['{b2721d73-1db4-4c62-bf78-c548a880142d}', REGIPY_WINRE] });
    expect(ed.changes.map((c) => `${c.element}=${c.after}`)).toEqual([
      'bootmenupolicy=Legacy', 'bootstatuspolicy=IgnoreAllFailures', 'bootlog=Yes', 'custom:45000001=16', 'badmemorylist=0x1, 0x2, 0x30',
      'description=two words', `recoverysequence={memdiag}, ${REGIPY_WINRE}`,
    ]);
    // the unknown element 0x15000066 is untouched; bad values and elements are refused
    expect(() => ed.set('{default}', 'safeboot', ['sometimes'])).toThrow(/Minimal, Network, DsRepair/);
    expect(() => ed.set('{default}', 'recoveryenabled', ['maybe'])).toThrow(UsageError);
    expect(() => ed.set('{default}', 'timeout', ['5'])).toThrow(/belongs to bootmgr/);
    expect(() => ed.set('{default}', 'nosuchthing', ['5'])).toThrow(/unknown element/);
    expect(() => ed.set('{default}', 'nx', ['1', '2'])).toThrow(/one value/);
  });

  it('an unchanged value is not rewritten; deletevalue removes the element key', () => {
    const { hive, ed } = editorOn(shared, 'regipy/BCD');
    const c = ed.set('{bootmgr}', 'timeout', ['30']);
    expect(c).toMatchObject({ before: '30', after: '30' });
    expect(hive.isModified).toBe(false);
    ed.deleteValue('{default}', 'nx');
    expect(el(readBcdStore(hiveKey(hive)), REGIPY_DEFAULT, 0x25000020)).toBeUndefined();
    expect(() => ed.deleteValue('{default}', 'nx')).toThrow(NotFoundError);
  });

  it('default takes loaders only; --force overrides with a warning', () => {
    const { ed } = editorOn(shared, 'regipy/BCD');
    expect(() => ed.setDefault('{memdiag}')).toThrow(/Windows Memory Tester object, not a loader/);
    expect(() => ed.setDefault('{globalsettings}')).toThrow(/BCD_REFUSED|not a loader/);
    expect(() => ed.setDefault('{733b62e4-f608-11eb-825c-c112f60133ab}')).toThrow(/Resume from Hibernate/);
    expect(() => ed.set('{bootmgr}', 'default', ['{memdiag}'])).toThrow(/not a loader/);
    ed.setDefault(REGIPY_WINRE);
    expect(ed.warnings[0]).toMatch(/not in the boot menu/);
    const f = editorOn(shared, 'regipy/BCD', true).ed;
    f.setDefault('{memdiag}');
    expect(f.warnings.some((w) => /--force/.test(w))).toBe(true);
  });

  it('boot menu lists: addfirst/addlast move, remove warns about the default, refuses unknown and non-boot objects', () => {
    const { hive, ed } = editorOn(shared, 'regipy/BCD');
    ed.set('{bootmgr}', 'displayorder', [REGIPY_WINRE], 'addfirst');
    ed.set('{bootmgr}', 'displayorder', ['{memdiag}'], 'addlast');
    let st = readBcdStore(hiveKey(hive));
    expect(el(st, BOOTMGR, 0x24000001)).toEqual({ format: 'objectlist', value: [REGIPY_WINRE, REGIPY_DEFAULT, '{b2721d73-1db4-4c62-bf78-c548a880142d}'] });
    ed.set('{bootmgr}', 'displayorder', [REGIPY_WINRE], 'addlast');
    ed.set('{bootmgr}', 'displayorder', ['{default}'], 'remove');
    expect(ed.warnings.some((w) => /no longer in the boot menu/.test(w))).toBe(true);
    st = readBcdStore(hiveKey(hive));
    expect(el(st, BOOTMGR, 0x24000001)).toEqual({ format: 'objectlist', value: ['{b2721d73-1db4-4c62-bf78-c548a880142d}', REGIPY_WINRE] });
    expect(() => ed.set('{bootmgr}', 'displayorder', ['{01234567-89ab-cdef-0123-456789abcdef}'])).toThrow(/no such object/);
    expect(() => ed.set('{bootmgr}', 'bootsequence', ['{globalsettings}'])).toThrow(/not a boot entry/);
    expect(() => ed.set('{bootmgr}', 'displayorder', ['{memdiag}', 'memdiag'])).toThrow(/twice/);
    // the firmware boot manager's order holds firmware entries and {bootmgr}
    ed.set('{fwbootmgr}', 'displayorder', ['{bootmgr}'], 'addfirst');
    expect((el(readBcdStore(hiveKey(hive)), '{a5a30fa2-3d06-4e9f-b5f4-a01df9d1fcba}', 0x24000001) as { value: string[] }).value[0]).toBe(BOOTMGR);
    // a one-time boot sequence through the op form
    applyBcdEdit(ed, { op: 'bootsequence', ids: [REGIPY_WINRE], mode: 'set' });
    expect(el(readBcdStore(hiveKey(hive)), BOOTMGR, 0x24000002)).toEqual({ format: 'objectlist', value: [REGIPY_WINRE] });
    // emptying a list deletes it
    ed.set('{bootmgr}', 'toolsdisplayorder', ['{memdiag}'], 'remove');
    expect(el(readBcdStore(hiveKey(hive)), BOOTMGR, 0x24000010)).toBeUndefined();
  });

  it('create --copy: every element copied byte for byte, new description, joins the boot menu when the source is in it', () => {
    const { hive, ed } = editorOn(shared, 'regipy/BCD');
    const before = readBcdStore(hiveKey(hive));
    const id = ed.copy('{default}', 'Copy');
    expect(id).toMatch(/^\{00000000-0000-4000-8000-[0-9a-f]{12}\}$/);
    const st = readBcdStore(hiveKey(hive));
    const src = findBcdObject(before, REGIPY_DEFAULT)!;
    const dst = findBcdObject(st, id)!;
    expect(dst.type).toBe(src.type);
    expect(dst.elements.map((e) => [e.type, e.registryType, e.type === 0x12000004 ? '' : hex(e.data)])).toEqual(src.elements.map((e) => [e.type, e.registryType, e.type === 0x12000004 ? '' : hex(e.data)]));
    expect(el(st, id, 0x12000004)).toEqual({ format: 'string', value: 'Copy' });
    expect(el(st, BOOTMGR, 0x24000001)).toEqual({ format: 'objectlist', value: [REGIPY_DEFAULT, id] });
    // a firmware entry: its FirmwareVariable is not copied; a WinRE loader is not in the menu
    const fw = ed.copy('{733b62de-f608-11eb-825c-c112f60133ab}', 'fw copy');
    expect(hive.value(hive.requirePath(`Objects\\${fw}\\Description`), 'FirmwareVariable')).toBeUndefined();
    const re = ed.copy(REGIPY_WINRE, undefined);
    expect(el(readBcdStore(hiveKey(hive)), BOOTMGR, 0x24000001)).toEqual({ format: 'objectlist', value: [REGIPY_DEFAULT, id] });
    expect(findBcdObject(readBcdStore(hiveKey(hive)), re)).toBeDefined();
    expect(() => ed.copy('{default}', 'x', id)).toThrow(/already has/);
  });

  it('delete: refuses the boot manager, the default and well-known objects; cleans the menus; names references left', () => {
    const { hive, ed } = editorOn(shared, 'regipy/BCD');
    expect(() => ed.delete('{bootmgr}')).toThrow(/boot manager/);
    expect(() => ed.delete('{default}')).toThrow(/default boot entry/);
    expect(() => ed.delete('{globalsettings}')).toThrow(/well-known/);
    expect(() => ed.delete('{memdiag}')).toThrow(/well-known/);
    const forced = new BcdEditor(hive, { force: true });
    forced.delete('{memdiag}');
    const st = readBcdStore(hiveKey(hive));
    expect(findBcdObject(st, '{b2721d73-1db4-4c62-bf78-c548a880142d}')).toBeUndefined();
    expect(el(st, BOOTMGR, 0x24000010)).toBeUndefined();
    ed.delete(REGIPY_WINRE);
    expect(ed.warnings.some((w) => w.includes('recoverysequence') && w.includes(REGIPY_WINRE))).toBe(true);
  });

  it('switches: safeboot minimal / alternateshell / network / off', () => {
    const { hive, ed } = editorOn(shared, 'regipy/BCD');
    const sb = () => { const st = readBcdStore(hiveKey(hive)); return [el(st, REGIPY_DEFAULT, 0x25000080), el(st, REGIPY_DEFAULT, 0x26000081)]; };
    applyBcdEdit(ed, { op: 'switch', name: 'safeboot', value: ['alternateshell'] });
    expect(sb()).toEqual([{ format: 'integer', value: 0n }, { format: 'boolean', value: true }]);
    applyBcdEdit(ed, { op: 'switch', name: 'safeboot', value: ['network'] });
    expect(sb()).toEqual([{ format: 'integer', value: 1n }, undefined]);
    applyBcdEdit(ed, { op: 'switch', name: 'safeboot', value: ['off'] });
    expect(sb()).toEqual([undefined, undefined]);
    applyBcdEdit(ed, { op: 'switch', name: 'hypervisorlaunchtype', value: ['auto'] });
    applyBcdEdit(ed, { op: 'switch', name: 'testsigning', id: REGIPY_WINRE, value: ['on'] });
    const st = readBcdStore(hiveKey(hive));
    expect(el(st, REGIPY_DEFAULT, 0x250000f0)).toEqual({ format: 'integer', value: 1n });
    expect(el(st, REGIPY_WINRE, 0x16000049)).toEqual({ format: 'boolean', value: true });
    expect(() => applyBcdEdit(ed, { op: 'switch', name: 'safeboot', value: ['maximal'] })).toThrow(UsageError);
  });
});

describeWithShared('dirty stores', (shared) => {
  it('a dirty store without logs is refused; logs that replay are used; logs that do not are refused', () => {
    const bytes = new Uint8Array(readFileSync(join(shared, 'testdata/bcd/regipy/BCD')));
    const dirty = bytes.slice();
    dirty[8] = dirty[8]! + 1; // secondary sequence number differs
    const t = tempDir('gk-bcd-dirty-');
    try {
      const p = join(t.dir, 'BCD');
      writeFileSync(p, dirty);
      let err: unknown;
      try {
        editBcdFile(p, [{ op: 'timeout', seconds: '3' }]);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(UnsafeStateError);
      expect((err as GuestError).code).toBe('BCD_DIRTY');
      expect(readFileSync(p).equals(Buffer.from(dirty))).toBe(true);
      expect(existsSync(`${p}.bak`)).toBe(false);
    } finally {
      t.cleanup();
    }
    const yarp = join(shared, 'testdata/hives/yarp');
    const logsOf = (dir: string, name: string) => ['.LOG1', '.LOG2'].map((x) => join(yarp, dir, name + x)).filter(existsSync).map((p) => ({ name: p, bytes: new Uint8Array(readFileSync(p)) }));
    const ok = openStoreForEdit(new Uint8Array(readFileSync(join(yarp, 'NewDirtyHive1/NewDirtyHive'))), 'NewDirtyHive', logsOf('NewDirtyHive1', 'NewDirtyHive'));
    expect(ok.logsReplayed?.length).toBe(2);
    expect(ok.hive.dirty).toBe(false);
    expect(() => openStoreForEdit(new Uint8Array(readFileSync(join(yarp, 'BadLogHive1/BadLogHive'))), 'BadLogHive', logsOf('BadLogHive1', 'BadLogHive'))).toThrow(UnsafeStateError);
  });
});

describe('dry-run diff', () => {
  itWithTools(['git'], 'unifiedDiff output applies with git apply (an independent patch reader) and gives the new text', () => {
    const rng = new Rng(0xd1ff);
    const t = tempDir('gk-bcd-diff-');
    try {
      for (let round = 0; round < 25; round++) {
        const a = Array.from({ length: 20 + rng.int(80) }, (_, i) => `line ${i} ${rng.int(5)}`);
        const b = a.slice();
        for (let k = 0; k < 1 + rng.int(6); k++) {
          const at = rng.int(b.length + 1);
          const r = rng.int(3);
          if (r === 0) b.splice(at, 0, `new ${round}.${k}`);
          else if (r === 1) b.splice(at, 1);
          else b.splice(at, 1, `changed ${round}.${k}`);
        }
        const A = a.join('\n') + '\n';
        const B = b.join('\n') + '\n';
        const d = unifiedDiff(A, B, 'x', 'x');
        if (A === B) {
          expect(d).toBe('');
          continue;
        }
        writeFileSync(join(t.dir, 'x'), A);
        writeFileSync(join(t.dir, 'x.diff'), d);
        const r = spawnSync('git', ['apply', '-p0', '--unsafe-paths', 'x.diff'], { cwd: t.dir, encoding: 'utf8' });
        expect(r.status, r.stdout + r.stderr + d).toBe(0);
        expect(readFileSync(join(t.dir, 'x'), 'utf8')).toBe(B);
        // hunks carry at most 3 lines of context either side
        expect(d.split('\n').filter((l) => l.startsWith('@@')).length).toBeGreaterThan(0);
      }
    } finally {
      t.cleanup();
    }
  });
});

describeWithShared('fuzz', (shared) => {
  it('editing mutated stores ends in a GuestError or a store that still decodes, never anything else', () => {
    const rng = new Rng(0xbcde_d17);
    const hives = STORES.map((s) => new Uint8Array(readFileSync(join(shared, 'testdata/bcd', s))));
    const n = fuzzIterations(150);
    const ops = [
      { op: 'timeout', seconds: '4' }, { op: 'switch', name: 'safeboot', value: ['minimal'] }, { op: 'create', copy: '{default}', description: 'f' },
      { op: 'displayorder', ids: ['{memdiag}'], mode: 'addlast' }, { op: 'deletevalue', id: '{bootmgr}', element: 'locale' }, { op: 'delete', id: '{memdiag}' },
    ] as const;
    let edited = 0;
    for (let i = 0; i < n; i++) {
      const input = mutate(rng.pick(hives), rng, [{ offset: 0x1000, length: 0x6000 }]);
      const r = classify(() => {
        const { hive } = openStoreForEdit(input, 'fuzz', []);
        const ed = new BcdEditor(hive, { newGuid: fixedGuid });
        applyBcdEdit(ed, rng.pick(ops) as Parameters<typeof applyBcdEdit>[1]);
        if (hive.isModified) {
          readBcdStore(hiveKey(Hive.open(hive.serialize())));
          edited++;
        }
      });
      if (!r.ok && !r.guest) throw r.error;
    }
    expect(edited).toBeGreaterThan(0);
  });
});
