/**
 * guestkit inspect against what the real virt-inspector 1.48 printed for the test guests
 * (test/fixtures/recordings, made by test/fixtures/scripts/record-libguestfs.sh), and the JSON
 * facts against independent readers of the same data (hivexget, ntfscat, file).
 */
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { inspectImages, inspectionToJson, inspectionToXml, Guest, inspectGuest } from '@guestkit/inspector';
import { INSPECT_CASES, guestPaths, guestsDir, recordedExit, recording } from '../packages/inspector/test/support/guests.js';
import { itWithTools, runTool } from './support/tools.js';

describe('virt-inspector XML, byte for byte (libguestfs 1.48 recordings)', () => {
  for (const [name, images] of Object.entries(INSPECT_CASES)) {
    const rec = recording(`inspector/${name}.xml`);
    const exit = recordedExit(`inspector/${name}`);
    if (rec === undefined || exit === undefined) {
      it.skip(`${name} [not recorded yet: run test/fixtures/scripts/record-libguestfs.sh]`, () => {});
      continue;
    }
    if (exit !== 0) continue; // cases libguestfs could not inspect are checked below
    it(`${name}: XML identical`, () => {
      const r = inspectImages(guestPaths(images), { extras: false });
      expect(inspectionToXml(r)).toBe(rec);
    });
    const recNoApps = recording(`inspector/${name}.no-applications.xml`);
    if (recNoApps !== undefined && recordedExit(`inspector/${name}.no-applications`) === 0) {
      it(`${name}: --no-applications XML identical`, () => {
        const r = inspectImages(guestPaths(images), { extras: false, applications: false });
        expect(inspectionToXml(r, { applications: false })).toBe(recNoApps);
      });
    }
  }
});

describe('where libguestfs 1.48 gives up, guestkit degrades field by field', () => {
  it('win-damaged: the SOFTWARE hive cannot be opened; SYSTEM facts, arch and the root are still reported', () => {
    const exit = recordedExit('inspector/win-damaged');
    const stderr = recording('inspector/win-damaged.xml.stderr') ?? '';
    const r = inspectImages(guestPaths(INSPECT_CASES['win-damaged']!));
    expect(r.operatingSystems).toHaveLength(1);
    const os = r.operatingSystems[0]!;
    expect(os.root).toBe('/dev/sda1');
    expect(os.arch).toBe('x86_64');
    expect(os.productName).toBeUndefined();
    expect(os.hostname).toBe('DAMAGED-HOST');
    expect(os.windowsCurrentControlSet).toBe('ControlSet001');
    expect(os.driveMappings).toEqual([{ letter: 'C', device: '/dev/sda1' }]);
    expect(os.warnings.join('\n')).toMatch(/SOFTWARE hive .*root/);
    if (exit !== undefined && exit !== 0) {
      // libguestfs aborted the whole inspection on this hive.
      expect(stderr).toMatch(/hivex|error/i);
    }
  });
});

describe('extended XML (what newer libguestfs prints)', () => {
  it('adds windows_group_policy, build_id, class, the Defender pseudo-app and osinfo win11', () => {
    const r = inspectImages(guestPaths(INSPECT_CASES['win11-uefi']!), { extras: false });
    const x = inspectionToXml(r, { extended: true });
    expect(x).toContain('    <windows_current_control_set>ControlSet001</windows_current_control_set>\n    <windows_group_policy/>\n    <hostname>WIN11-LAB</hostname>\n    <build_id>22631</build_id>\n    <osinfo>win11</osinfo>\n');
    expect(x).toContain('<name>WinDefend</name>\n        <display_name>Microsoft Defender Antivirus</display_name>\n        <publisher>Microsoft Corporation</publisher>\n        <class>antivirus</class>');
    expect(x).toContain('<name>Sophos Endpoint Agent</name>\n        <display_name>Sophos Endpoint Agent</display_name>\n        <version>2023.2.1</version>\n        <publisher>Sophos Limited</publisher>\n        <class>antivirus</class>');
    expect(x).toContain('<display_name>ClamWin Free Antivirus 0.103.2</display_name>');
    // the plain XML has none of it
    const plain = inspectionToXml(r);
    expect(plain).not.toMatch(/windows_group_policy|build_id|<class>|WinDefend/);
  });

  it('Windows 7 (Defender disabled, group policy history without GUIDs) gets no Defender entry and no policy flag', () => {
    const r = inspectImages(guestPaths(INSPECT_CASES['win7-bios']!), { extras: false });
    const x = inspectionToXml(r, { extended: true });
    expect(x).not.toMatch(/windows_group_policy|WinDefend/);
    expect(x).toContain('<build_id>7601</build_id>');
    expect(x).toContain('<name>AVG8Uninstall</name>');
    expect(x).toMatch(/<publisher>AVG Technologies<\/publisher>\n {8}<class>antivirus<\/class>/);
  });

  it('Server 2022 and Windows 11 ARM64: win2k22 and win11; XP stays winxp', () => {
    const r = inspectImages(guestPaths(INSPECT_CASES['dual-boot+data-xp']!), { extras: false });
    expect(r.operatingSystems.map((o) => [o.root, o.osinfo148, o.osinfo])).toEqual([
      ['/dev/sda3', 'win2k22', 'win2k22'],
      ['/dev/sda4', 'win10', 'win11'],
      ['/dev/sdb2', 'winxp', 'winxp'],
    ]);
  });
});

/** Copy one file out of an NTFS partition of a raw image with ntfs-3g's ntfscat. */
function ntfscat(image: string, startSector: number, sizeSectors: number, path: string): Buffer {
  const d = mkdtempSync(join(tmpdir(), 'gk-ntfscat-'));
  try {
    const part = join(d, 'part.img');
    execFileSync('dd', [`if=${image}`, `of=${part}`, 'bs=512', `skip=${startSector}`, `count=${sizeSectors}`, 'status=none']);
    return runTool('ntfscat', [part, path]);
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
}

function hivexget(hive: Buffer, key: string, value: string): string {
  const d = mkdtempSync(join(tmpdir(), 'gk-hive-'));
  try {
    writeFileSync(join(d, 'h'), hive);
    return runTool('hivexget', [join(d, 'h'), key, value]).toString('utf8').replace(/\n$/, '');
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
}

describe('JSON facts checked with independent tools', () => {
  const dual = () => inspectionToJson(inspectImages(guestPaths(INSPECT_CASES['dual-boot']!))) as { operatingsystems: Record<string, any>[] };

  itWithTools(['dd', 'ntfscat', 'hivexget'], 'Server 2022 (sda3): registry extras equal what hivexget reads from the hive ntfscat extracts', () => {
    const img = guestPaths(['dual-boot.raw'])[0]!;
    const software = ntfscat(img, 36864, 73728, '/Windows/System32/config/SOFTWARE');
    const system = ntfscat(img, 36864, 73728, '/Windows/System32/config/SYSTEM');
    const cv = '\\Microsoft\\Windows NT\\CurrentVersion';
    const os = dual().operatingsystems[0]!;
    const w = os.windows;
    expect(w.edition_id).toBe(hivexget(software, cv, 'EditionID'));
    expect(w.display_version).toBe(hivexget(software, cv, 'DisplayVersion'));
    expect(w.registered_owner).toBe(hivexget(software, cv, 'RegisteredOwner'));
    expect(w.registered_organization).toBe(hivexget(software, cv, 'RegisteredOrganization'));
    expect(String(w.ubr)).toBe(hivexget(software, cv, 'UBR'));
    const installDate = Number(hivexget(software, cv, 'InstallDate'));
    expect(w.install_date).toBe(new Date(installDate * 1000).toISOString().replace('.000Z', 'Z'));
    expect(os.build_id).toBe(hivexget(software, cv, 'CurrentBuildNumber'));
    expect(w.full_version).toBe(`10.0.${hivexget(software, cv, 'CurrentBuildNumber')}.${hivexget(software, cv, 'UBR')}`);
    expect(w.computer_name).toBe(hivexget(system, '\\ControlSet001\\Control\\ComputerName\\ComputerName', 'ComputerName'));
    expect(w.timezone.key_name).toBe(hivexget(system, '\\ControlSet001\\Control\\TimeZoneInformation', 'TimeZoneKeyName'));
    expect(w.processor_architecture).toBe(hivexget(system, '\\ControlSet001\\Control\\Session Manager\\Environment', 'PROCESSOR_ARCHITECTURE'));
    expect(w.hibernation.fast_startup).toBe(hivexget(system, '\\ControlSet001\\Control\\Session Manager\\Power', 'HiberbootEnabled') === '1');
  });

  itWithTools(['dd', 'ntfscat', 'file'], 'ARM64: arch from the PE machine field (aarch64) where libguestfs says x86_64; file(1) agrees', () => {
    const img = guestPaths(['dual-boot.raw'])[0]!;
    const d = mkdtempSync(join(tmpdir(), 'gk-pe-'));
    try {
      writeFileSync(join(d, 'arm.exe'), ntfscat(img, 110592, 69632, '/Windows/System32/cmd.exe'));
      writeFileSync(join(d, 'x64.exe'), ntfscat(img, 36864, 73728, '/Windows/System32/cmd.exe'));
      expect(runTool('file', ['-b', join(d, 'arm.exe')]).toString()).toMatch(/^PE32\+ executable .*Aarch64/);
      expect(runTool('file', ['-b', join(d, 'x64.exe')]).toString()).toMatch(/^PE32\+ executable .*x86-64/);
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
    const [srv, arm] = dual().operatingsystems;
    expect([srv!.arch, srv!.arch_libguestfs, srv!.windows.pe_machine]).toEqual(['x86_64', 'x86_64', '0x8664']);
    expect([arm!.arch, arm!.arch_libguestfs, arm!.windows.pe_machine, arm!.windows.pe_format]).toEqual(['aarch64', 'x86_64', '0xaa64', 'PE32+']);
    expect(arm!.windows.processor_architecture).toBe('ARM64');
  });

  it('boot mode, hibernation and the BCD boot configuration', () => {
    const j = (c: string) => (inspectionToJson(inspectImages(guestPaths(INSPECT_CASES[c]!))) as { operatingsystems: Record<string, any>[] }).operatingsystems;
    const [w11] = j('win11-uefi');
    expect(w11!.windows.boot_mode.mode).toBe('uefi');
    expect(w11!.windows.hibernation).toEqual({ fast_startup: true, hiberfile: { path: '/hiberfil.sys', size: 4096, signature: 'wake', hibernated: false, reason: 'clean-signature' } });
    const boot = w11!.windows.boot;
    expect(boot.store).toEqual({ device: '/dev/sda1', path: '/EFI/Microsoft/Boot/BCD' });
    expect(boot.timeout_seconds).toBe(30);
    expect(boot.display_order).toEqual(['{default}']);
    const def = boot.entries.find((e: any) => e.is_default);
    expect(def).toMatchObject({ description: 'Windows 11', osdevice: 'partition=C: (/dev/sda3)', path: '\\Windows\\system32\\winload.efi', systemroot: '\\Windows', locale: 'en-US', this_os: true });
    expect(def.recoverysequence).toEqual(['{c0ffee03-1a2b-11ee-9f3c-806e6f6e6963}']);
    const re = boot.entries.find((e: any) => e.id === '{c0ffee03-1a2b-11ee-9f3c-806e6f6e6963}');
    expect(re.device).toBe('ramdisk=[/dev/sda4]\\Recovery\\WindowsRE\\Winre.wim,{c0ffee04-1a2b-11ee-9f3c-806e6f6e6963}');

    const [w7] = j('win7-bios');
    expect(w7!.windows.boot_mode.mode).toBe('bios');
    expect(w7!.windows.hibernation.hiberfile).toMatchObject({ signature: 'hibr', hibernated: true, reason: 'signature-hibr' });
    expect(w7!.windows.hibernation.fast_startup).toBeUndefined();
    expect(w7!.windows.boot.store).toEqual({ device: '/dev/sda1', path: '/Boot/BCD' });
    expect(w7!.windows.boot.display_order).toEqual(['{default}', '{ntldr}']);
    expect(w7!.windows.boot.entries.find((e: any) => e.label === '{ntldr}')).toMatchObject({ heading: 'Windows Legacy OS Loader', description: 'Earlier Version of Windows', device: 'partition=/dev/sda1', path: '\\ntldr' });

    const [srv, arm] = j('dual-boot');
    expect(srv!.windows.boot.default_entry).toBe('{d00d0001-0000-4000-8000-000000000001}');
    expect(srv!.windows.boot.entries.filter((e: any) => e.this_os).map((e: any) => e.description)).toEqual(['Windows Server 2022']);
    expect(arm!.windows.boot.entries.filter((e: any) => e.this_os).map((e: any) => e.description)).toEqual(['Windows 11 (ARM64)']);
    expect(arm!.windows.boot.entries.find((e: any) => e.this_os).osdevice).toBe('partition=C: (/dev/sda4)');
    expect(srv!.windows.boot.entries.find((e: any) => e.this_os).osdevice).toBe('partition=C: (/dev/sda3)');
  });

  it('XP through boot.ini: systemroot as boot.ini spells it, no current control set, no hostname', () => {
    const [xp] = (inspectionToJson(inspectImages(guestPaths(['data-xp.raw']))) as { operatingsystems: Record<string, any>[] }).operatingsystems;
    expect(xp).toMatchObject({ root: '/dev/sda2', windows_systemroot: '/WinXP', windows_software_hive: '/WINXP/system32/config/software', arch: 'i386', osinfo: 'winxp', major_version: 5, minor_version: 1 });
    expect(xp!.hostname).toBeUndefined();
    expect(xp!.windows_current_control_set).toBeUndefined();
    expect(xp!.windows.csd_version).toBe('Service Pack 3');
  });

  it('the overlay reads through its qcow2 backing file: the changed hostname, the rest from the base', () => {
    const [o] = inspectImages(guestPaths(INSPECT_CASES['win11-uefi-overlay']!), { extras: false }).operatingSystems;
    expect(o!.hostname).toBe('WIN11-RENAMED');
    expect(o!.productName).toBe('Windows 10 Pro');
  });
});

describe('corrupt and odd inputs', () => {
  it('a corrupt qcow2 is one FormatError (exit 3 in the CLI)', () => {
    const d = mkdtempSync(join(tmpdir(), 'gk-corrupt-'));
    try {
      const p = join(d, 'bad.qcow2');
      const b = Buffer.alloc(1 << 20);
      b.write('QFI\xfb', 0, 'latin1');
      b.writeUInt32BE(3, 4); // version 3
      b.writeUInt32BE(0xff, 20); // cluster_bits 255: impossible
      writeFileSync(p, b);
      expect(() => inspectImages([p])).toThrowError(expect.objectContaining({ name: expect.stringMatching(/FormatError|UnsupportedError/) }));
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });

  it('an image with no filesystem has no operating system', () => {
    const d = mkdtempSync(join(tmpdir(), 'gk-empty-'));
    try {
      const p = join(d, 'zero.raw');
      writeFileSync(p, Buffer.alloc(4 << 20));
      expect(inspectImages([p]).operatingSystems).toEqual([]);
      expect(() => inspectImages([p], { requireOs: true })).toThrowError(/no operating system/);
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });

  it('the guests directory is complete', () => {
    for (const imgs of Object.values(INSPECT_CASES)) for (const p of guestPaths(imgs)) expect(existsSync(p)).toBe(true);
    expect(existsSync(join(guestsDir(), 'win11-uefi.qcow2'))).toBe(true);
  });

  it('inspectGuest on an opened Guest equals inspectImages', () => {
    const g = Guest.open(guestPaths(INSPECT_CASES['win7-bios']!));
    try {
      expect(inspectionToXml(inspectGuest(g, { extras: false }))).toBe(inspectionToXml(inspectImages(guestPaths(INSPECT_CASES['win7-bios']!), { extras: false })));
    } finally {
      g.close();
    }
  });
});

describe('JSON facts of the sample guest against virt-win-reg recordings', () => {
  const cvReg = recording('win-reg/hklm-software-currentversion.reg');
  const installDate = recording('win-reg/hklm-software-installdate.txt');
  const run = cvReg !== undefined && installDate !== undefined ? it : it.skip;
  run('CurrentVersion values as virt-win-reg exported them', () => {
    const vals = new Map<string, string>();
    for (const m of cvReg!.matchAll(/^"([^"]+)"=(hex\(1\):([0-9a-f,]*)|dword:([0-9a-f]{8}))$/gm)) {
      vals.set(m[1]!, m[3] !== undefined ? Buffer.from(m[3].split(',').map((h) => parseInt(h, 16))).toString('utf16le').replace(/\0+$/, '') : String(parseInt(m[4]!, 16)));
    }
    const j = inspectionToJson(inspectImages(guestPaths(INSPECT_CASES['win11-uefi']!))) as { operatingsystems: Record<string, any>[] };
    const o = j.operatingsystems[0]!;
    expect(o.product_name).toBe(vals.get('ProductName'));
    expect(o.build_id).toBe(vals.get('CurrentBuildNumber'));
    expect(o.windows.edition_id).toBe(vals.get('EditionID'));
    expect(o.windows.display_version).toBe(vals.get('DisplayVersion'));
    expect(o.windows.release_id).toBe(vals.get('ReleaseId'));
    expect(String(o.windows.ubr)).toBe(vals.get('UBR'));
    expect(o.windows.registered_owner).toBe(vals.get('RegisteredOwner'));
    expect(o.windows.registered_organization).toBe(vals.get('RegisteredOrganization'));
    expect(o.windows.install_date).toBe(new Date(Number(installDate!.trim()) * 1000).toISOString().replace('.000Z', 'Z'));
  });
});

describe('hives written by hivex (virt-win-reg --merge recordings)', () => {
  it('merge-complex: the SYSTEM and SOFTWARE hives hivex wrote read as virt-inspector read them', async () => {
    const { openHiveBytes, readSystemFacts, readSoftwareFacts, readSoftwareExtras } = await import('@guestkit/inspector');
    const { gunzipSync } = await import('node:zlib');
    const { readFileSync } = await import('node:fs');
    const { RECORDINGS_DIR } = await import('../packages/inspector/test/support/guests.js');
    const hive = (n: string) => openHiveBytes(gunzipSync(readFileSync(join(RECORDINGS_DIR, 'merge-complex', `${n}.gz`))), n);
    const xml = recording('merge-complex/inspector-after-merge.xml')!;
    const warn = (m: string) => {
      throw new Error(m);
    };
    const sys = readSystemFacts(hive('SYSTEM'), warn);
    expect(`<hostname>${sys.hostname}</hostname>`).toBe(xml.match(/<hostname>[^<]*<\/hostname>/)![0]);
    expect(sys.hostname).toBe('MERGED-HOST');
    const sw = readSoftwareFacts(hive('SOFTWARE'), warn);
    expect(`<product_name>${sw.productName}</product_name>`).toBe(xml.match(/<product_name>[^<]*<\/product_name>/)![0]);
    const extras: Record<string, unknown> = {};
    readSoftwareExtras(hive('SOFTWARE'), extras, { major: 10, minor: 0 });
    expect(extras.registeredOwner).toBe('merged owner');
    expect(extras.installDate).toBeUndefined();
  });
});
