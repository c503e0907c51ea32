/**
 * BCD decoding over every real store in ../shared/testdata/bcd, read twice: through
 * hivexregedit's export of it (an independent registry reader, testdata/oracles/hivexregedit)
 * and through @guestkit/hive. Both must give the same objects and elements; the decoded
 * entries are checked against bcdedit output and the documented element layouts.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { join } from 'node:path';
import { GuestError } from '@guestkit/disk/binary';
import {
  bcdObjectsJson, decodeBcdDevice, elementFormat, elementName, elementTypeByName, formatBcdText, openHiveBytes,
  readBcdStore, selectBcdObjects, type BcdStore,
} from '@guestkit/inspector';
import { describeWithShared } from '../../../test/support/shared.js';
import { Rng, classify, fuzzIterations, mutate } from '../../../test/support/fuzz.js';
import { regExportTree } from './support/reg-export-tree.js';

const STORES = [
  'regipy/BCD', 'ericzimmerman/BCD', 'windeploy-linux/BCD', 'windeploy-linux/BCD-efi', 'usbboot/boot/BCD',
  'usbboot/EFI/Microsoft/Boot/BCD', 'dfir-artifact-museum/Win10/BCD-Template', 'dfir-artifact-museum/Win11/BCD-Template',
];

function viaHivex(shared: string, s: string): { store: BcdStore; exportText: string } {
  const exportText = gunzipSync(readFileSync(join(shared, 'testdata/oracles/hivexregedit/bcd', `${s}.reg.gz`))).toString('latin1');
  return { store: readBcdStore(regExportTree(exportText)), exportText };
}

function viaHive(shared: string, s: string): BcdStore {
  return readBcdStore(openHiveBytes(readFileSync(join(shared, 'testdata/bcd', s)), s));
}

describeWithShared('BCD stores of ../shared/testdata/bcd', (shared) => {
  for (const s of STORES) {
    it(`${s}: @guestkit/hive and hivexregedit's export decode to the same store`, () => {
      const { store: a, exportText } = viaHivex(shared, s);
      const b = viaHive(shared, s);
      const all = (x: BcdStore) => bcdObjectsJson(x, selectBcdObjects(x, 'all'));
      expect(all(b)).toEqual(all(a));
      expect(formatBcdText(b, selectBcdObjects(b, 'all'))).toBe(formatBcdText(a, selectBcdObjects(a, 'all')));
      // every object and every element key of the export is there
      const objectKeys = exportText.match(/^\[\\Objects\\\{[^}\\]+\}\]$/gm) ?? [];
      const elementKeys = exportText.match(/^\[\\Objects\\\{[^}\\]+\}\\Elements\\[0-9a-fA-F]{8}\]$/gm) ?? [];
      expect(b.objects).toHaveLength(objectKeys.length);
      expect(b.objects.reduce((n, o) => n + o.elements.length, 0)).toBe(elementKeys.length);
      expect(b.warnings).toEqual([]);
      // data that fits its declared format always decodes (raw only for odd sizes/types)
      for (const o of b.objects) {
        for (const e of o.elements) {
          if (e.value.format === 'raw') throw new Error(`${s} ${o.id} ${e.name}: ${e.value.reason}`);
          expect(e.value.format).toBe(elementFormat(e.type));
        }
      }
    });
  }

  it('usbboot/boot/BCD (Windows setup media) reads as bcdedit /store prints it', () => {
    // bcdedit /store D:\boot\bcd on Windows 10 install media, as posted at
    // tenforums.com/installation-upgrade/21722-alphanumeric-object-dvd-bcd.html (same objects).
    const st = viaHive(shared, 'usbboot/boot/BCD');
    expect(formatBcdText(st, selectBcdObjects(st, 'active'))).toBe(
      [
        'Windows Boot Manager',
        '--------------------',
        'identifier              {bootmgr}',
        'description             Windows Boot Manager',
        'locale                  en-US',
        'inherit                 {globalsettings}',
        'default                 {default}',
        'displayorder            {default}',
        'toolsdisplayorder       {memdiag}',
        'timeout                 30',
        '',
        'Windows Boot Loader',
        '-------------------',
        'identifier              {default}',
        'device                  ramdisk=[boot]\\sources\\boot.wim,{7619dcc8-fafe-11d9-b411-000476eba25f}',
        'path                    \\windows\\system32\\boot\\winload.exe',
        'description             Windows Setup',
        'locale                  en-US',
        'inherit                 {bootloadersettings}',
        'osdevice                ramdisk=[boot]\\sources\\boot.wim,{7619dcc8-fafe-11d9-b411-000476eba25f}',
        'systemroot              \\windows',
        'bootmenupolicy          Standard',
        'detecthal               Yes',
        'winpe                   Yes',
        'ems                     No',
        '',
      ].join('\n'),
    );
  });

  it('regipy/BCD (an installed UEFI Windows 10): loader, GPT devices, WinRE ramdisk, firmware entries', () => {
    const st = viaHive(shared, 'regipy/BCD');
    const j = bcdObjectsJson(st, selectBcdObjects(st, '{default}')) as any[];
    const el = (n: string) => j[0].elements.find((e: any) => e.name === n);
    expect(el('description').value).toBe('Windows 10');
    expect(el('osdevice').value).toEqual({
      kind: 'partition', scheme: 'gpt', disk_guid: '{0b2394a9-095e-487d-8d48-719ecd4d78ca}', partition_guid: '{8e0f2c38-e4ea-47ba-b7fc-9d8c74dccf0b}',
    });
    expect(el('nx').display).toBe('OptIn');
    expect(el('allowedinmemorysettings').value).toEqual([0x15000075]);
    expect(el('recoverysequence').display).toBe('{733b62e6-f608-11eb-825c-c112f60133ab}');
    const re = bcdObjectsJson(st, selectBcdObjects(st, '{733b62e6-f608-11eb-825c-c112f60133ab}')) as any[];
    const dev = re[0].elements.find((e: any) => e.name === 'device');
    expect(dev.options).toBe('{733b62e7-f608-11eb-825c-c112f60133ab}');
    expect(dev.value.kind).toBe('ramdisk');
    expect(dev.value.path).toBe('\\Recovery\\WindowsRE\\Winre.wim');
    expect(dev.value.parent.partition_guid).toBe('{6cdfcd69-de75-4490-8f99-5a84bf264917}');
    const fw = selectBcdObjects(st, 'all').filter((o) => o.type === 0x101fffff).map((o) => o.heading);
    expect(fw).toEqual(['Firmware Application (101fffff)', 'Firmware Application (101fffff)', 'Firmware Application (101fffff)']);
  });

  it('windeploy-linux/BCD (BIOS template): MBR partition devices carry signature and byte offset', () => {
    const st = viaHive(shared, 'windeploy-linux/BCD');
    const text = formatBcdText(st, selectBcdObjects(st, '{memdiag}'));
    expect(text).toContain('device                  partition=mbr disk 0xddba6bbb offset 1048576\n');
    expect(text).toContain('path                    \\boot\\memtest.exe\n');
  });

  it('windeploy-linux/BCD-efi: locate devices', () => {
    const st = viaHive(shared, 'windeploy-linux/BCD-efi');
    expect(formatBcdText(st, selectBcdObjects(st, '{default}'))).toContain('osdevice                locate=custom:22000002\n');
  });

  it('the Windows 10/11 BCD templates: hidden class-4 elements are kept as custom:XXXXXXXX', () => {
    const st = viaHive(shared, 'dfir-artifact-museum/Win11/BCD-Template');
    const custom = st.objects.flatMap((o) => o.elements.filter((e) => !e.known).map((e) => e.name));
    expect(custom.length).toBeGreaterThan(0);
    expect(custom.every((n) => /^custom:4[0-9a-f]{7}$/.test(n))).toBe(true);
  });

  it('fuzz: mutated device elements decode or throw a GuestError, never anything else', () => {
    const blobs: Uint8Array[] = [];
    for (const s of STORES) for (const o of viaHive(shared, s).objects) for (const e of o.elements) if (elementFormat(e.type) === 'device') blobs.push(e.data);
    expect(blobs.length).toBeGreaterThan(20);
    const rng = new Rng(0x5eed_bcd);
    const n = fuzzIterations(3000);
    for (let i = 0; i < n; i++) {
      const input = mutate(rng.pick(blobs), rng, [{ offset: 0x10, length: 0x40 }, { offset: 0x38, length: 0x20 }]);
      const r = classify(() => decodeBcdDevice(input));
      if (!r.ok && !r.guest) throw r.error;
    }
  });

  it('fuzz: whole stores with mutated hive bytes decode or throw a GuestError', () => {
    const rng = new Rng(0xbcd5_70e);
    const hives = STORES.map((s) => readFileSync(join(shared, 'testdata/bcd', s)));
    const n = fuzzIterations(300);
    for (let i = 0; i < n; i++) {
      const input = mutate(rng.pick(hives), rng, [{ offset: 0x1000, length: 0x6000 }]);
      const r = classify(() => {
        const st = readBcdStore(openHiveBytes(input, 'fuzz'));
        formatBcdText(st, selectBcdObjects(st, 'all'));
      });
      if (!r.ok && !r.guest) throw r.error;
    }
  });
});

describe('element table', () => {
  it('names depend on the object kind for application elements', () => {
    expect(elementName(0x21000001, 'osloader')).toBe('osdevice');
    expect(elementName(0x21000001, 'resume')).toBe('filedevice');
    expect(elementName(0x22000002, 'osloader')).toBe('systemroot');
    expect(elementName(0x22000002, 'resume')).toBe('filepath');
    expect(elementName(0x23000003, 'bootmgr')).toBe('default');
    expect(elementName(0x23000003, 'osloader')).toBe('resumeobject');
    expect(elementName(0x12000004, undefined)).toBe('description');
    expect(elementName(0x31000003, 'device')).toBe('ramdisksdidevice');
    expect(elementName(0x25000099, 'osloader')).toBe('custom:25000099');
  });
  it('reverse lookup for editors', () => {
    expect(elementTypeByName('osdevice', 'osloader')).toBe(0x21000001);
    expect(elementTypeByName('timeout', 'bootmgr')).toBe(0x25000004);
    expect(elementTypeByName('description', 'bootmgr')).toBe(0x12000004);
    expect(elementTypeByName('custom:46000010', 'osloader')).toBe(0x46000010);
    expect(elementTypeByName('nosuchthing', 'osloader')).toBeUndefined();
  });
  it('formats from the type bits', () => {
    expect(['device', 'string', 'object', 'objectlist', 'integer', 'boolean', 'integerlist'].map((_, i) => elementFormat((i + 1) * 0x1000000 + 0x10000000))).toEqual([
      'device', 'string', 'object', 'objectlist', 'integer', 'boolean', 'integerlist',
    ]);
    expect(elementFormat(0x18000001)).toBeUndefined();
  });
});

describe('device decoding limits', () => {
  it('a too-short device element is a FormatError', () => {
    expect(() => decodeBcdDevice(new Uint8Array(20))).toThrowError(GuestError);
  });
  it('nesting is bounded', () => {
    // a RAM disk whose parent is a RAM disk whose parent ... 12 levels deep
    const desc = (inner: Uint8Array | undefined): Uint8Array => {
      if (!inner) {
        const b = new Uint8Array(0x48);
        b[0] = 5;
        b[8] = 0x48;
        return b;
      }
      const fpLen = 12 + inner.length + 2;
      const bodyLen = 0x18 + fpLen;
      const b = new Uint8Array(16 + bodyLen);
      const v = new DataViewLike(b);
      v.u32(8, b.length);
      v.u32(16, 3);
      v.u32(16 + 0x18, 1);
      v.u32(16 + 0x18 + 4, fpLen);
      v.u32(16 + 0x18 + 8, 5);
      b.set(inner, 16 + 0x18 + 12);
      return b;
    };
    let d: Uint8Array | undefined;
    for (let i = 0; i < 12; i++) d = desc(d);
    const blob = new Uint8Array(16 + d!.length);
    blob.set(d!, 16);
    expect(() => decodeBcdDevice(blob)).toThrowError(/nested deeper/);
  });
});

/** Little-endian u32 writer for building test blobs (tests may not use DataView directly on parsers' behalf). */
class DataViewLike {
  constructor(private readonly b: Uint8Array) {}
  u32(off: number, v: number): void {
    this.b[off] = v & 0xff;
    this.b[off + 1] = (v >>> 8) & 0xff;
    this.b[off + 2] = (v >>> 16) & 0xff;
    this.b[off + 3] = (v >>> 24) & 0xff;
  }
}
