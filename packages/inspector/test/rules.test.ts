/**
 * libguestfs's root-finding and registry rules on small synthetic guests: a FAT volume made
 * in memory with @guestkit/fs-fat, hives made with @guestkit/hive, a PE header from
 * make-guests-pe.py's layout. Each case is one rule of daemon/inspect_fs.ml,
 * inspect_fs_windows.ml or lib/inspect-apps.c, with the result libguestfs 1.48 would give.
 */
import { describe, expect, it } from 'vitest';
import { MemoryDevice, type FileSystem } from '@guestkit/disk';
import { mkfs, openFat } from '@guestkit/fs-fat';
import { Hive } from '@guestkit/hive';
import { inspectGuest, inspectionToXml, type GuestLike } from '@guestkit/inspector';

/** A minimal PE32+ x86-64 header (MZ, e_lfanew 0x80, PE\0\0, machine 0x8664, magic 0x20b). */
function pe(machine = 0x8664, magic = 0x20b): Uint8Array {
  const b = new Uint8Array(0x200);
  b[0] = 0x4d;
  b[1] = 0x5a;
  b[0x3c] = 0x80;
  b.set([0x50, 0x45, 0, 0], 0x80);
  b[0x84] = machine & 0xff;
  b[0x85] = machine >>> 8;
  b[0x98] = magic & 0xff;
  b[0x99] = magic >>> 8;
  return b;
}

type Val = { name: string; type: 'REG_SZ'; data: string } | { name: string; type: 'REG_DWORD'; data: number };
function hive(keys: Record<string, Val[]>): Uint8Array {
  const h = Hive.create();
  for (const [path, vals] of Object.entries(keys)) {
    const n = h.ensurePath(path);
    for (const v of vals) h.setValue(n, v);
  }
  return h.serialize();
}
const sz = (name: string, data: string): Val => ({ name, type: 'REG_SZ', data });
const dw = (name: string, data: number): Val => ({ name, type: 'REG_DWORD', data });

const CV = 'Microsoft\\Windows NT\\CurrentVersion';
const SOFTWARE = {
  [CV]: [sz('ProductName', 'Windows 8.1 Pro'), sz('CurrentVersion', '6.3'), sz('InstallationType', 'Client'), sz('CurrentBuildNumber', '9600')],
  'Microsoft\\Windows\\CurrentVersion\\Uninstall\\App': [sz('DisplayName', 'An App')],
};
const SYSTEM = {
  Select: [dw('Current', 1)],
  'ControlSet001\\Services\\Tcpip\\Parameters': [sz('Hostname', 'synthetic')],
};

/** A one-volume guest: a FAT16 filesystem on the whole disk, files given as path → bytes (a path ending in / is a directory). */
function guest(files: Record<string, Uint8Array | string>): { g: GuestLike; fs: FileSystem } {
  const dev = new MemoryDevice(32 * 1024 * 1024, { name: 'synthetic' });
  mkfs(dev, { type: 'fat16', serial: 0x12345678, label: 'SYNTH' });
  const fs = openFat(dev, { write: true });
  for (const [p, data] of Object.entries(files)) {
    const parts = p.split('/').filter(Boolean);
    const isDir = p.endsWith('/');
    for (let i = 1; i <= parts.length - (isDir ? 0 : 1); i++) {
      const d = '/' + parts.slice(0, i).join('/');
      if (!fs.tryStat(d)) fs.mkdir(d);
    }
    if (!isDir) fs.writeFile(p, typeof data === 'string' ? new Uint8Array(Buffer.from(data, 'latin1')) : data);
  }
  fs.flush();
  const g: GuestLike = {
    disks: [{ name: 'sda', table: { scheme: 'none', partitions: [] } }],
    filesystems: () => [{ device: '/dev/sda', type: 'vfat', label: fs.label, uuid: fs.uuid, disk: { name: 'sda' } }],
    mount: () => fs,
  };
  return { g, fs };
}

const WINDOWS = (over: Record<string, Uint8Array | string | undefined> = {}): Record<string, Uint8Array | string> => {
  const base: Record<string, Uint8Array | string | undefined> = {
    '/Windows/System32/cmd.exe': pe(),
    '/Windows/System32/config/SOFTWARE': hive(SOFTWARE),
    '/Windows/System32/config/SYSTEM': hive(SYSTEM),
    ...over,
  };
  return Object.fromEntries(Object.entries(base).filter(([, v]) => v !== undefined)) as Record<string, Uint8Array | string>;
};

describe('finding a Windows root', () => {
  it('the standard layout: root, facts, osinfo, filesystem entry', () => {
    const r = inspectGuest(guest(WINDOWS()).g, { extras: false });
    expect(r.operatingSystems).toHaveLength(1);
    const os = r.operatingSystems[0]!;
    expect([os.root, os.windowsSystemroot, os.arch, os.productName, os.productVariant, os.majorVersion, os.minorVersion, os.hostname, os.osinfo148]).toEqual([
      '/dev/sda', '/Windows', 'x86_64', 'Windows 8.1 Pro', 'Client', 6, 3, 'synthetic', 'win8.1',
    ]);
    expect(inspectionToXml(r)).toContain('    <filesystems>\n      <filesystem dev="/dev/sda">\n        <type>vfat</type>\n        <label>SYNTH</label>\n        <uuid>1234-5678</uuid>\n');
  });

  it('candidates are tried in order /windows, /winnt, … and resolved case-insensitively', () => {
    const r = inspectGuest(guest({
      '/WINNT/SYSTEM32/CMD.EXE': pe(0x14c, 0x10b),
      '/WINNT/SYSTEM32/CONFIG/': '',
    }).g, { extras: false });
    expect(r.operatingSystems.map((o) => [o.windowsSystemroot, o.arch])).toEqual([['/WINNT', 'i386']]);
  });

  it('no cmd.exe, cmd.exe a directory, or no config directory: not a root', () => {
    expect(inspectGuest(guest(WINDOWS({ '/Windows/System32/cmd.exe': undefined })).g).operatingSystems).toEqual([]);
    expect(inspectGuest(guest({ '/Windows/System32/cmd.exe/': '', '/Windows/System32/config/': '' }).g).operatingSystems).toEqual([]);
    expect(inspectGuest(guest({ '/Windows/System32/cmd.exe': pe() }).g).operatingSystems).toEqual([]);
  });

  it('a filesystem that looks like Linux first is never a Windows root', () => {
    const files = WINDOWS({ '/etc/fstab': 'x', '/bin/': '' });
    expect(inspectGuest(guest(files).g).operatingSystems).toEqual([]);
    // /etc/hosts instead of /etc/fstab also makes it Linux
    expect(inspectGuest(guest(WINDOWS({ '/etc/hosts': 'x', '/bin/': '' })).g).operatingSystems).toEqual([]);
    // but /etc alone does not
    expect(inspectGuest(guest(WINDOWS({ '/etc/': '' })).g).operatingSystems).toHaveLength(1);
  });

  it('boot.ini: only [operating systems] multi()/scsi() lines, first path that is a systemroot', () => {
    const ini = '[boot loader]\r\ndefault=multi(0)disk(0)rdisk(0)partition(1)\\OS\\A\r\n[operating systems]\r\nmulti(0)disk(0)rdisk(0)partition(1)\\missing="x"\r\nmulti(0)disk(0)rdisk(0)partition(1)\\os\\a="XP" /fastdetect\r\n';
    const r = inspectGuest(guest({ '/boot.ini': ini, '/OS/A/system32/cmd.exe': pe(0x14c, 0x10b), '/OS/A/system32/config/': '' }).g);
    expect(r.operatingSystems.map((o) => o.windowsSystemroot)).toEqual(['/os/a']);
    const none = inspectGuest(guest({ '/boot.ini': '[operating systems]\r\nC:\\OS\\A="x"\r\n', '/OS/A/system32/cmd.exe': pe(), '/OS/A/system32/config/': '' }).g);
    expect(none.operatingSystems).toEqual([]);
  });

  it('FreeDOS and MS-DOS roots', () => {
    const f = inspectGuest(guest({ '/FDOS/FREEDOS.BSS': 'x' }).g, { extras: false });
    expect(inspectionToXml(f)).toContain('<root>/dev/sda</root>\n    <name>dos</name>\n    <arch>i386</arch>\n    <distro>freedos</distro>\n    <major_version>0</major_version>\n    <minor_version>0</minor_version>\n    <mountpoints>');
    const m = inspectGuest(guest({ '/DOS/COMMAND.COM': 'x' }).g, { extras: false });
    expect(inspectionToXml(m)).toContain('<distro>msdos</distro>\n    <major_version>0</major_version>\n    <minor_version>0</minor_version>\n    <osinfo>msdos6.22</osinfo>');
    // a Windows volume (System Volume Information) comes before the DOS check
    expect(inspectGuest(guest({ '/System Volume Information/': '', '/DOS/COMMAND.COM': 'x' }).g).operatingSystems).toEqual([]);
  });
});

describe('registry rules', () => {
  it('no SYSTEM hive: no registry facts at all, but the applications (SOFTWARE) are listed', () => {
    const r = inspectGuest(guest(WINDOWS({ '/Windows/System32/config/SYSTEM': undefined })).g, { extras: false });
    const os = r.operatingSystems[0]!;
    expect([os.productName, os.hostname, os.majorVersion, os.osinfo148]).toEqual([undefined, undefined, 0, undefined]);
    expect(os.applications!.map((a) => a.displayName)).toEqual(['An App']);
    expect(os.warnings.join(' ')).toMatch(/hive is missing/);
  });

  it('no CurrentVersion and no version DWORDs: InstallationType is not read either', () => {
    const sw = hive({ [CV]: [sz('ProductName', 'Odd'), sz('InstallationType', 'Server')] });
    const os = inspectGuest(guest(WINDOWS({ '/Windows/System32/config/SOFTWARE': sw })).g).operatingSystems[0]!;
    expect([os.productName, os.productVariant, os.majorVersion]).toEqual(['Odd', undefined, 0]);
  });

  it('value names under CurrentVersion are case-sensitive; the DWORD version wins over CurrentVersion', () => {
    const sw = hive({ [CV]: [sz('productname', 'lower'), sz('CurrentVersion', '6.1'), dw('CurrentMajorVersionNumber', 10), dw('CurrentMinorVersionNumber', 0), sz('InstallationType', 'Client')] });
    const os = inspectGuest(guest(WINDOWS({ '/Windows/System32/config/SOFTWARE': sw })).g).operatingSystems[0]!;
    expect([os.productName, os.majorVersion, os.minorVersion, os.osinfo148]).toEqual([undefined, 10, 0, 'win10']);
  });

  it('a wrongly typed value costs only its field, with a warning', () => {
    const sw = hive({ [CV]: [dw('ProductName', 7), sz('CurrentVersion', '6.1'), sz('InstallationType', 'Server')] });
    const os = inspectGuest(guest(WINDOWS({ '/Windows/System32/config/SOFTWARE': sw })).g).operatingSystems[0]!;
    expect([os.productName, os.productVariant, os.osinfo148]).toEqual([undefined, 'Server', 'win2k8r2']);
    expect(os.warnings.join(' ')).toMatch(/ProductName/);
  });

  it('Select\\Current picks the control set; Hostname must be spelled exactly', () => {
    const sy = hive({ Select: [dw('current', 3)], 'ControlSet003\\Services\\Tcpip\\Parameters': [sz('hostname', 'lower'), sz('Hostname', 'exact')] });
    const os = inspectGuest(guest(WINDOWS({ '/Windows/System32/config/SYSTEM': sy })).g).operatingSystems[0]!;
    expect([os.windowsCurrentControlSet, os.hostname]).toEqual(['ControlSet003', 'exact']);
  });

  it('a hive that is not a hive: warning, the rest is still inspected', () => {
    const os = inspectGuest(guest(WINDOWS({ '/Windows/System32/config/SYSTEM': 'not a hive at all, just text' })).g).operatingSystems[0]!;
    expect(os.productName).toBe('Windows 8.1 Pro');
    expect(os.hostname).toBeUndefined();
    expect(os.warnings.join(' ')).toMatch(/SYSTEM hive/);
  });

  it('cmd.exe that is not an executable: no arch, a warning (libguestfs 1.48 would abort)', () => {
    const os = inspectGuest(guest(WINDOWS({ '/Windows/System32/cmd.exe': 'MZ but nothing else' })).g).operatingSystems[0]!;
    expect(os.arch).toBeUndefined();
    expect(os.warnings.join(' ')).toMatch(/cmd\.exe/);
    expect(inspectionToXml({ operatingSystems: [os], warnings: [] })).not.toContain('<arch>');
  });
});

describe('fuzz', () => {
  it('mutated hives and cmd.exe never make inspectGuest throw (every problem becomes a warning)', async () => {
    const { Rng, mutate, fuzzIterations } = await import('../../../test/support/fuzz.js');
    const sw = hive(SOFTWARE);
    const sy = hive(SYSTEM);
    const exe = pe();
    const { g, fs } = guest(WINDOWS());
    const rng = new Rng(0x1b5);
    const n = fuzzIterations(150);
    let warned = 0;
    for (let i = 0; i < n; i++) {
      fs.writeFile('/Windows/System32/config/SOFTWARE', mutate(sw, rng, [{ offset: 0x1000, length: sw.length - 0x1000 }, { offset: 0, length: 0x200 }]));
      fs.writeFile('/Windows/System32/config/SYSTEM', mutate(sy, rng, [{ offset: 0x1000, length: sy.length - 0x1000 }]));
      fs.writeFile('/Windows/System32/cmd.exe', mutate(exe, rng, [{ offset: 0, length: 0x100 }]));
      const r = inspectGuest(g);
      expect(r.operatingSystems).toHaveLength(1);
      inspectionToXml(r);
      if (r.operatingSystems[0]!.warnings.length) warned++;
    }
    expect(warned).toBeGreaterThan(0);
  });
});
