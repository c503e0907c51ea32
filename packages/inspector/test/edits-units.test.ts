/**
 * Unit rules of the edit recipes: argument parsing, guest paths, PCI ids and GUID bytes (checked
 * against the constants virt-v2v hard-codes), libguestfs's script naming, CRLF scripts, and the
 * printed plan.
 */
import { describe, expect, it } from 'vitest';
import { UsageError } from '@guestkit/disk/binary';
import {
  RegType, SCSI_CLASS_GUID, driverPackageVersion, firstbootBat, formatPlan, guestPathOnRoot, normalizePciId, parseGuid,
  planRegOps, regDword, regMultiString, regString, sanitizeScriptName, setDword, setSz, splitServiceArg, splitUploadArg, unixToDos,
  windowsPath, type EditPlan,
} from '@guestkit/inspector';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('recipe arguments', () => {
  it('--upload splits at the first colon (virt-customize), so Windows destinations keep theirs', () => {
    expect(splitUploadArg('./a.bat:C:\\a.bat')).toEqual({ source: './a.bat', dest: 'C:\\a.bat' });
    expect(splitUploadArg('/tmp/x:/Windows/Temp/')).toEqual({ source: '/tmp/x', dest: '/Windows/Temp/' });
    for (const bad of ['nocolon', ':C:\\x', 'file:']) expect(() => splitUploadArg(bad)).toThrow(UsageError);
  });
  it('--install-service splits NAME=BINARY', () => {
    expect(splitServiceArg('agent=./bin/agent.exe')).toEqual({ name: 'agent', binary: './bin/agent.exe' });
    expect(splitServiceArg('a=b=c')).toEqual({ name: 'a', binary: 'b=c' });
    for (const bad of ['agent', '=x', 'x=']) expect(() => splitServiceArg(bad)).toThrow(UsageError);
  });
});

describe('guest paths', () => {
  const ctx = { root: '/dev/sda3', systemroot: '/Windows', driveMappings: [{ letter: 'C', device: '/dev/sda3' }, { letter: 'D', device: '/dev/sdb1' }] };
  it('accepts C:\\…, win:C:\\…, /… and %SystemRoot%\\…', () => {
    expect(guestPathOnRoot('C:\\Temp\\x.bat', ctx)).toBe('/Temp/x.bat');
    expect(guestPathOnRoot('c:/Temp//x.bat', ctx)).toBe('/Temp/x.bat');
    expect(guestPathOnRoot('win:C:\\Program Files\\x', ctx)).toBe('/Program Files/x');
    expect(guestPathOnRoot('/Windows/Temp/', ctx)).toBe('/Windows/Temp');
    expect(guestPathOnRoot('%SystemRoot%\\System32\\drivers\\x.sys', ctx)).toBe('/Windows/System32/drivers/x.sys');
    expect(guestPathOnRoot('C:\\x', { ...ctx, driveMappings: [] })).toBe('/x');
  });
  it('refuses other drives, relative paths, ".." and characters Windows forbids', () => {
    expect(() => guestPathOnRoot('D:\\x', ctx)).toThrow(/drive D: is \/dev\/sdb1/);
    expect(() => guestPathOnRoot('E:\\x', ctx)).toThrow(/not mapped/);
    expect(() => guestPathOnRoot('Temp\\x', ctx)).toThrow(/absolute/);
    expect(() => guestPathOnRoot('C:\\a\\..\\b', ctx)).toThrow(/\.\./);
    expect(() => guestPathOnRoot('C:\\a|b', ctx)).toThrow(UsageError);
  });
  it('prints root paths the Windows way', () => {
    expect(windowsPath('/Program Files/Guestfs/Firstboot')).toBe('C:\\Program Files\\Guestfs\\Firstboot');
    expect(windowsPath('/')).toBe('C:\\');
  });
});

describe('driver injection data', () => {
  it('normalises PCI ids and refuses malformed ones', () => {
    expect(normalizePciId('pci\\ven_1af4&dev_1001&subsys_00021af4&rev_00')).toBe('VEN_1AF4&DEV_1001&SUBSYS_00021AF4&REV_00');
    expect(normalizePciId('VEN_8086&DEV_2922')).toBe('VEN_8086&DEV_2922');
    for (const bad of ['VEN_1AF4', 'VEN_1AF4&DEV_10011', 'DEV_1001&VEN_1AF4', 'VEN_XYZW&DEV_1001', 'VEN_1AF4&DEV_1001&REV_0']) {
      expect(() => normalizePciId(bad), bad).toThrow(UsageError);
    }
  });
  it('the DriverPackages Version blob for the SCSI class is virt-v2v\'s constant', () => {
    // virt-v2v convert/windows_virtio.ml: "\x00\xff\x09\x00\x00\x00\x00\x00" ^ "\x7b\xe9\x36\x4d\x25\xe3\xce\x11" ^ "\xbf\xc1\x08\x00\x2b\xe1\x03\x18" ^ 24 × "\x00"
    expect(hex(driverPackageVersion(parseGuid(SCSI_CLASS_GUID).bytes))).toBe('00ff090000000000' + '7be9364d25e3ce11' + 'bfc108002be10318' + '00'.repeat(24));
    expect(parseGuid('4d36e97b-e325-11ce-bfc1-08002be10318').text).toBe(SCSI_CLASS_GUID);
    expect(() => parseGuid('{not-a-guid}')).toThrow(UsageError);
  });
  it('value encodings: REG_SZ with its NUL, REG_MULTI_SZ double-NUL terminated, little-endian DWORD', () => {
    expect(hex(regString('ab'))).toBe('610062000000');
    expect(hex(regMultiString(['a', 'b']))).toBe('61000000620000000000');
    expect(hex(regDword(0x10))).toBe('10000000');
  });
});

describe('firstboot (libguestfs layout)', () => {
  it('names scripts like libguestfs sanitize_name', () => {
    expect(sanitizeScriptName('ipconfig /all')).toBe('ipconfig--all');
    expect(sanitizeScriptName('setup_2')).toBe('setup_2');
    expect(sanitizeScriptName('x'.repeat(80))).toHaveLength(60);
  });
  it('firstboot.bat is CRLF, runs scripts\\*.bat from scripts-done, logs to log.txt and removes the service', () => {
    const bat = firstbootBat('C:\\Program Files\\Guestfs\\Firstboot', 'pvvxsvc.exe');
    expect(bat).not.toMatch(/[^\r]\n/);
    expect(bat).toContain('set "FB=C:\\Program Files\\Guestfs\\Firstboot"\r\n');
    expect(bat).toContain('"%FB%\\scripts\\*.bat"');
    expect(bat).toContain('"%FB%\\scripts-done');
    expect(bat).toContain('log.txt');
    expect(bat).toContain('"%FB%\\pvvxsvc.exe" -s firstboot uninstall\r\n');
    expect(unixToDos('a\nb\r\nc')).toBe('a\r\nb\r\nc');
  });
});

describe('plans as data', () => {
  const plan: EditPlan = {
    root: '/dev/sda3', systemroot: '/Windows',
    steps: [
      {
        recipe: '--run-once x', summary: 'run x', warnings: ['careful'],
        edits: [
          { kind: 'file', op: 'mkdir', path: '/Temp' },
          { kind: 'file', op: 'write', path: '/Temp/x.bat', data: new Uint8Array(3), source: 'x.bat', replaces: false },
          setSz('HKLM\\SOFTWARE\\K', 'a', 'C:\\x'),
          setDword('HKLM\\SOFTWARE\\K', 'b', 1),
          { kind: 'reg', op: 'deleteValue', key: 'HKLM\\SOFTWARE\\K', name: '' },
          { kind: 'reg', op: 'deleteKey', key: 'HKLM\\SOFTWARE\\Old' },
          { kind: 'reg', op: 'createKey', key: 'HKLM\\SOFTWARE\\New' },
        ],
      },
    ],
  };
  it('prints as a .reg-like listing', () => {
    expect(formatPlan(plan)).toBe(
      '# plan for the Windows installation on /dev/sda3 (systemroot /Windows)\n\n' +
        '# 1. --run-once x: run x\n# warning: careful\nmkdir /Temp\nwrite /Temp/x.bat (3 bytes from x.bat)\n' +
        '[HKLM\\SOFTWARE\\K]\n"a"="C:\\\\x"\n"b"=dword:00000001\n@=-\n[-HKLM\\SOFTWARE\\Old]\n[HKLM\\SOFTWARE\\New]\n',
    );
  });
  it('turns into .reg operations in order', () => {
    expect(planRegOps(plan).map((o) => `${o.op} ${o.path}${'name' in o ? ` ${o.name}` : ''}`)).toEqual([
      'set HKLM\\SOFTWARE\\K a', 'set HKLM\\SOFTWARE\\K b', 'deleteValue HKLM\\SOFTWARE\\K ', 'deleteKey HKLM\\SOFTWARE\\Old', 'key HKLM\\SOFTWARE\\New',
    ]);
    const first = planRegOps(plan)[0]!;
    expect(first.op === 'set' && first.type).toBe(RegType.SZ);
  });
});
