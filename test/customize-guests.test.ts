import { describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { runCli } from './support/cli.js';
import { tempDir } from './support/shared.js';
import { missingTools, runTool } from './support/tools.js';
import {
  ORACLE_TOOLS, copyGuest, dword, expectNtfsHealthy, exportDiff, hexMulti, hexString, hivexExport, ntfsPartition, ntfscat, sha256,
} from './winreg-support.js';

/**
 * guestkit customize on copies of the test guests. Oracles: ntfscat extracts the hives and the
 * uploaded files from the written image, hivexregedit exports the hives before and after, and
 * the key-by-key diff of the two exports must be exactly the edit (nothing else changed);
 * uploaded files read back byte for byte; ntfsfix -n and ntfsresize -i -f accept the volume.
 */
const missing = missingTools(ORACLE_TOOLS);
const d = missing.length === 0 ? describe : describe.skip;

const SAMPLE = 'win11-uefi.qcow2';
/** The sample guest's C: is partition 3. */
const C = 3;
const SW = ['/Windows/System32/config/SOFTWARE', 'HKEY_LOCAL_MACHINE\\SOFTWARE'] as const;
const SY = ['/Windows/System32/config/SYSTEM', 'HKEY_LOCAL_MACHINE\\SYSTEM'] as const;

/** Deterministic pseudo-random bytes. */
function bytes(n: number, seed: string): Buffer {
  const out = Buffer.alloc(n);
  let block = createHash('sha256').update(seed).digest();
  for (let i = 0; i < n; i += 32) {
    block.copy(out, i, 0, Math.min(32, n - i));
    block = createHash('sha256').update(block).digest();
  }
  return out;
}

/** Exports of SOFTWARE and SYSTEM (and any extra hive) of an image. */
function exportsOf(image: string, dir: string, extra: (readonly [string, string])[] = []): Record<string, string> {
  const part = ntfsPartition(image, C, dir);
  const out: Record<string, string> = {};
  for (const [file, prefix] of [SW, SY, ...extra]) out[prefix] = hivexExport(ntfscat(part, file), prefix, dir);
  return out;
}

d(`guestkit customize on test guests${missing.length ? ` [skipped: ${missing.join(', ')} not installed]` : ''}`, () => {
  it('--run-once adds exactly one RunOnce value (HKLM\\SOFTWARE) and nothing else', () => {
    const t = tempDir();
    try {
      const img = copyGuest(SAMPLE, t.dir);
      const before = exportsOf(img, t.dir);
      const r = runCli(['customize', img, '--run-once', 'C:\\Temp\\setup.bat /quiet']);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      const after = exportsOf(img, t.dir);
      expect(exportDiff(before[SW[1]]!, after[SW[1]]!)).toEqual({
        addedKeys: {}, removedKeys: {},
        changedKeys: { 'HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\RunOnce': { added: [`"guestkit-001"=${hexString('C:\\Temp\\setup.bat /quiet')}`], removed: [] } },
      });
      expect(after[SY[1]]).toBe(before[SY[1]]);
      expectNtfsHealthy(ntfsPartition(img, C, t.dir));
      // A second run takes the next free name.
      expect(runCli(['customize', img, '--run-once', 'two']).status).toBe(0);
      const again = exportsOf(img, t.dir);
      expect(exportDiff(after[SW[1]]!, again[SW[1]]!).changedKeys['HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\RunOnce']!.added).toEqual([`"guestkit-002"=${hexString('two')}`]);
    } finally {
      t.cleanup();
    }
  });

  it('--upload: files (into new directories, over an existing file, non-ASCII names) read back identical with ntfscat; hives untouched', () => {
    const t = tempDir();
    try {
      const img = copyGuest(SAMPLE, t.dir);
      const before = exportsOf(img, t.dir);
      const big = join(t.dir, 'tool.bin');
      writeFileSync(big, bytes(300_000, 'big'));
      const small = join(t.dir, 'Résumé – ünïcødé.txt');
      writeFileSync(small, 'hello\r\n');
      const hosts = join(t.dir, 'hosts');
      writeFileSync(hosts, '127.0.0.1 replaced\r\n');
      const r = runCli(['customize', img, '--upload', `${big}:C:\\Program Files\\Vendor\\Tool\\tool.bin`, '--upload', `${small}:C:\\Temp\\`, '--upload', `${hosts}:/Windows/System32/drivers/etc/hosts`]);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      const part = ntfsPartition(img, C, t.dir);
      expect(ntfscat(part, '/Program Files/Vendor/Tool/tool.bin').equals(bytes(300_000, 'big'))).toBe(true);
      expect(ntfscat(part, '/Temp/Résumé – ünïcødé.txt').toString()).toBe('hello\r\n');
      expect(ntfscat(part, '/Windows/System32/drivers/etc/hosts').toString()).toBe('127.0.0.1 replaced\r\n');
      expectNtfsHealthy(part);
      const after = exportsOf(img, t.dir);
      expect(after).toEqual(before);
    } finally {
      t.cleanup();
    }
  });

  it('--firstboot installs libguestfs\'s firstboot service (current control set only) and the scripts; exactly those keys are added', () => {
    const t = tempDir();
    try {
      const img = copyGuest(SAMPLE, t.dir);
      const before = exportsOf(img, t.dir);
      const script = join(t.dir, 'setup.bat');
      writeFileSync(script, 'echo one\necho two\n');
      const wrapper = join(t.dir, 'rhsrvany.exe');
      writeFileSync(wrapper, bytes(40_000, 'rhsrvany'));
      const r = runCli(['customize', img, '--firstboot', script, '--firstboot-command', 'ipconfig /all', '--firstboot-service-binary', wrapper]);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      const after = exportsOf(img, t.dir);
      const dir = 'C:\\Program Files\\Guestfs\\Firstboot';
      const svc = 'HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001\\Services\\firstboot';
      expect(exportDiff(before[SY[1]]!, after[SY[1]]!)).toEqual({
        addedKeys: {
          [svc]: [
            `"DisplayName"=${hexString('Virt tools firstboot service')}`, `"ErrorControl"=${dword(1)}`,
            `"ImagePath"=${hexString(`${dir}\\rhsrvany.exe -s firstboot`)}`, `"ObjectName"=${hexString('LocalSystem')}`,
            `"Start"=${dword(2)}`, `"Type"=${dword(0x10)}`,
          ],
          [`${svc}\\Parameters`]: [`"CommandLine"=${hexString(`cmd /c "${dir}\\firstboot.bat"`)}`, `"PWD"=${hexString(dir)}`],
        },
        removedKeys: {}, changedKeys: {},
      });
      expect(after[SW[1]]).toBe(before[SW[1]]);
      const part = ntfsPartition(img, C, t.dir);
      const fb = '/Program Files/Guestfs/Firstboot';
      expect(ntfscat(part, `${fb}/rhsrvany.exe`).equals(bytes(40_000, 'rhsrvany'))).toBe(true);
      expect(ntfscat(part, `${fb}/scripts/5000-0001-setup.bat`).toString()).toBe('echo one\r\necho two\r\n');
      expect(ntfscat(part, `${fb}/scripts/5000-0002-ipconfig--all.bat`).toString()).toBe('ipconfig /all\r\n');
      const bat = ntfscat(part, `${fb}/firstboot.bat`).toString();
      expect(bat).not.toMatch(/[^\r]\n/);
      expect(bat).toContain(`set "FB=${dir}"`);
      expect(bat).toContain('"%FB%\\rhsrvany.exe" -s firstboot uninstall');
      expectNtfsHealthy(part);
    } finally {
      t.cleanup();
    }
  });

  it('--firstboot finds the wrapper as libguestfs does ($VIRT_TOOLS_DATA_DIR), reuses one already installed, and is refused without one', () => {
    const t = tempDir();
    try {
      const img = copyGuest(SAMPLE, t.dir);
      const hash = sha256(img);
      const script = join(t.dir, 'a.bat');
      writeFileSync(script, 'echo a\n');
      const empty = join(t.dir, 'empty');
      const tools = join(t.dir, 'virt-tools');
      runTool('mkdir', ['-p', empty, tools]);
      writeFileSync(join(tools, 'pvvxsvc.exe'), bytes(1000, 'pvvxsvc'));
      const none = runCli(['customize', img, '--firstboot', script], { env: { VIRT_TOOLS_DATA_DIR: empty } });
      expect(none.status).toBe(2);
      expect(none.stderr).toMatch(/--firstboot needs a service wrapper.*--firstboot-service-binary/);
      expect(sha256(img)).toBe(hash);
      const r = runCli(['customize', img, '--firstboot', script], { env: { VIRT_TOOLS_DATA_DIR: tools } });
      expect(r.status, r.stderr).toBe(0);
      const b = join(t.dir, 'b.bat');
      writeFileSync(b, 'echo b\n');
      const again = runCli(['customize', img, '--firstboot', b], { env: { VIRT_TOOLS_DATA_DIR: empty } });
      expect(again.status, again.stderr).toBe(0);
      expect(again.stderr).toMatch(/using the pvvxsvc.exe already installed/);
      const part = ntfsPartition(img, C, t.dir);
      const fb = '/Program Files/Guestfs/Firstboot';
      expect(ntfscat(part, `${fb}/pvvxsvc.exe`).equals(bytes(1000, 'pvvxsvc'))).toBe(true);
      expect(ntfscat(part, `${fb}/scripts/5000-0001-a.bat`).toString()).toBe('echo a\r\n');
      expect(ntfscat(part, `${fb}/scripts/5000-0001-b.bat`).toString()).toBe('echo b\r\n');
      const sys = hivexExport(ntfscat(part, '/Windows/System32/config/SYSTEM'), 'HKEY_LOCAL_MACHINE\\SYSTEM', t.dir);
      expect(sys).toContain(`"ImagePath"=${hexString('C:\\Program Files\\Guestfs\\Firstboot\\pvvxsvc.exe -s firstboot')}`);
    } finally {
      t.cleanup();
    }
  });

  it('--install-service writes the service into every control set and uploads the binary', () => {
    const t = tempDir();
    try {
      const img = copyGuest(SAMPLE, t.dir);
      const before = exportsOf(img, t.dir);
      const bin = join(t.dir, 'agent.exe');
      writeFileSync(bin, bytes(12_345, 'agent'));
      const r = runCli(['customize', img, '--install-service', `GuestAgent=${bin}`]);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      const after = exportsOf(img, t.dir);
      const values = [
        `"DisplayName"=${hexString('GuestAgent')}`, `"ErrorControl"=${dword(1)}`,
        `"ImagePath"=${hexString('"C:\\Program Files\\Guestkit\\GuestAgent\\agent.exe"', 2)}`, `"ObjectName"=${hexString('LocalSystem')}`,
        `"Start"=${dword(2)}`, `"Type"=${dword(0x10)}`,
      ];
      expect(exportDiff(before[SY[1]]!, after[SY[1]]!)).toEqual({
        addedKeys: { 'HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001\\Services\\GuestAgent': values, 'HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet002\\Services\\GuestAgent': values },
        removedKeys: {}, changedKeys: {},
      });
      const part = ntfsPartition(img, C, t.dir);
      expect(ntfscat(part, '/Program Files/Guestkit/GuestAgent/agent.exe').equals(bytes(12_345, 'agent'))).toBe(true);
      expectNtfsHealthy(part);
    } finally {
      t.cleanup();
    }
  });

  it('--inject-driver without a DriverDatabase (XP-7 recipe): service in every control set + CriticalDeviceDatabase entries, .sys in System32\\drivers', () => {
    const t = tempDir();
    try {
      const img = copyGuest(SAMPLE, t.dir);
      const before = exportsOf(img, t.dir);
      const sys = join(t.dir, 'vioscsi.sys');
      writeFileSync(sys, bytes(70_000, 'vioscsi'));
      const r = runCli(['customize', img, '--inject-driver', sys]);
      expect(r.status).toBe(0);
      // The sample has group policy objects and anti-virus entries: virt-v2v's warnings.
      expect(r.stderr).toMatch(/Group Policy/);
      expect(r.stderr).toMatch(/anti-virus/);
      const after = exportsOf(img, t.dir);
      const svc = [`"ErrorControl"=${dword(1)}`, `"Group"=${hexString('SCSI miniport')}`, `"ImagePath"=${hexString('system32\\drivers\\vioscsi.sys', 2)}`, `"Start"=${dword(0)}`, `"Type"=${dword(1)}`];
      const cdb = [`"ClassGUID"=${hexString('{4D36E97B-E325-11CE-BFC1-08002BE10318}')}`, `"Service"=${hexString('vioscsi')}`];
      const added: Record<string, string[]> = {};
      for (const cs of ['ControlSet001', 'ControlSet002']) {
        added[`HKEY_LOCAL_MACHINE\\SYSTEM\\${cs}\\Control\\CriticalDeviceDatabase`] = [];
        for (const id of ['VEN_1AF4&DEV_1004&SUBSYS_00081AF4&REV_00', 'VEN_1AF4&DEV_1048&SUBSYS_11001AF4&REV_01']) {
          added[`HKEY_LOCAL_MACHINE\\SYSTEM\\${cs}\\Control\\CriticalDeviceDatabase\\PCI#${id}`] = cdb;
        }
        added[`HKEY_LOCAL_MACHINE\\SYSTEM\\${cs}\\Services\\vioscsi`] = svc;
      }
      expect(exportDiff(before[SY[1]]!, after[SY[1]]!)).toEqual({ addedKeys: added, removedKeys: {}, changedKeys: {} });
      expect(after[SW[1]]).toBe(before[SW[1]]);
      const part = ntfsPartition(img, C, t.dir);
      expect(ntfscat(part, '/Windows/System32/drivers/vioscsi.sys').equals(bytes(70_000, 'vioscsi'))).toBe(true);
      expectNtfsHealthy(part);
    } finally {
      t.cleanup();
    }
  });

  it('--dry-run prints the plan, the registry diff and the file changes, and leaves the image byte for byte unchanged', () => {
    const t = tempDir();
    try {
      const img = copyGuest(SAMPLE, t.dir);
      const hash = sha256(img);
      const sys = join(t.dir, 'viostor.sys');
      writeFileSync(sys, bytes(5000, 'viostor'));
      const r = runCli(['customize', img, '--dry-run', '--run-once', 'C:\\x.bat', '--inject-driver', sys, '--pci-id', 'PCI\\VEN_1AF4&DEV_1001&SUBSYS_00021AF4&REV_00']);
      expect(r.status).toBe(0);
      expect(r.out).toContain('# 1. --run-once "C:\\\\x.bat"');
      expect(r.out).toContain(' [HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\RunOnce]\n+"guestkit-001"="C:\\\\x.bat"\n');
      expect(r.out).toContain('+[HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001\\Control\\CriticalDeviceDatabase\\PCI#VEN_1AF4&DEV_1001&SUBSYS_00021AF4&REV_00]\n+"ClassGUID"="{4D36E97B-E325-11CE-BFC1-08002BE10318}"\n+"Service"="viostor"\n');
      expect(r.out).not.toContain('DEV_1042'); // --pci-id replaces the defaults
      expect(r.out).toContain('create /Windows/System32/drivers/viostor.sys (5000 bytes)');
      expect(r.out).toContain('# dry run: nothing was written');
      expect(sha256(img)).toBe(hash);
      const j = runCli(['customize', img, '--dry-run', '--json', '--run-once', 'C:\\x.bat']);
      const doc = JSON.parse(j.out) as { committed: boolean; registry: { changes: { key: string }[] }[] };
      expect(doc.committed).toBe(false);
      expect(doc.registry[0]!.changes[0]!.key).toBe('HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\RunOnce');
      const p = runCli(['customize', img, '--print-plan', '--run-once', 'C:\\x.bat']);
      expect(p.out).toBe(
        '# plan for the Windows installation on /dev/sda3 (systemroot /Windows)\n\n' +
          '# 1. --run-once "C:\\\\x.bat": run the command once at the next logon (RunOnce value guestkit-001)\n' +
          '[HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\RunOnce]\n"guestkit-001"="C:\\\\x.bat"\n',
      );
      expect(sha256(img)).toBe(hash);
    } finally {
      t.cleanup();
    }
  });

  it('all or nothing: when a later step fails (no space for an upload) nothing of the earlier steps reaches the image', () => {
    const t = tempDir();
    try {
      const img = copyGuest(SAMPLE, t.dir);
      const hash = sha256(img);
      const small = join(t.dir, 'a.txt');
      writeFileSync(small, 'a');
      const huge = join(t.dir, 'huge.bin');
      writeFileSync(huge, Buffer.alloc(60 * 1024 * 1024, 1)); // C: is 40 MiB
      const r = runCli(['customize', img, '--upload', `${small}:C:\\a.txt`, '--run-once', 'x', '--upload', `${huge}:C:\\huge.bin`]);
      expect(r.status).toBe(1);
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/space/i);
      expect(sha256(img)).toBe(hash);
    } finally {
      t.cleanup();
    }
  });

  it('refuses a hibernated guest (exit 4) and leaves it unchanged; reads still work (CurrentControlSet = ControlSet002 there)', () => {
    const t = tempDir();
    try {
      const img = copyGuest('win7-bios.raw.gz', t.dir);
      const hash = sha256(img);
      const r = runCli(['customize', img, '--run-once', 'x']);
      expect(r.status).toBe(4);
      expect(r.stderr).toMatch(/hibernat/);
      const m = runCli(['win-reg', '--merge', img], { input: '[HKLM\\SOFTWARE\\X]\n"a"="b"\n' });
      expect(m.status).toBe(4);
      expect(sha256(img)).toBe(hash);
      const h = runCli(['win-reg', img, 'HKLM\\SYSTEM\\CurrentControlSet\\Services\\Tcpip\\Parameters', 'Hostname']);
      const direct = runCli(['win-reg', img, 'HKLM\\SYSTEM\\ControlSet002\\Services\\Tcpip\\Parameters', 'Hostname']);
      expect(h.status).toBe(0);
      expect(h.out).toBe(direct.out);
      expect(h.out).not.toBe(runCli(['win-reg', img, 'HKLM\\SYSTEM\\ControlSet001\\Services\\Tcpip\\Parameters', 'Hostname']).out);
    } finally {
      t.cleanup();
    }
  });

  it('usage errors: no recipe, --pci-id before --inject-driver, a driver without PCI ids, a drive letter that is not C:, uploading over a hive the run edits', () => {
    const t = tempDir();
    try {
      const img = copyGuest(SAMPLE, t.dir);
      const hash = sha256(img);
      const sys = join(t.dir, 'mydrv.sys');
      writeFileSync(sys, 'x');
      for (const args of [[], ['--pci-id', 'VEN_1AF4&DEV_1001'], ['--inject-driver', sys], ['--inject-driver', sys, '--pci-id', 'VEN_XYZ'], ['--upload', `${sys}:E:\\x.sys`], ['--upload', `${sys}:C:\\Windows\\System32\\config\\SOFTWARE`, '--run-once', 'x']]) {
        const r = runCli(['customize', img, ...args]);
        expect(r.status, args.join(' ')).toBe(2);
        expect(r.stderr.trimEnd().split('\n'), r.stderr).toHaveLength(1);
      }
      expect(sha256(img)).toBe(hash);
    } finally {
      t.cleanup();
    }
  });

  it('several installations: refused without --root, edits the chosen one with it', () => {
    const t = tempDir();
    try {
      const img = copyGuest('dual-boot.raw.gz', t.dir);
      const r = runCli(['win-reg', img, 'HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion', 'EditionID']);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/multiboot operating systems are not supported.*\/dev\/sda3 and \/dev\/sda4/);
      const a = runCli(['win-reg', '--root', '/dev/sda3', img, 'HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion', 'ProductName']);
      const b = runCli(['win-reg', '--root', '/dev/sda4', img, 'HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion', 'ProductName']);
      expect(a.out).toMatch(/Server 2022/);
      expect(b.out).toMatch(/Windows 1/);
      const c = runCli(['customize', '--root', '/dev/sda4', img, '--run-once', 'arm.bat']);
      expect(c.status).toBe(0);
      const part = ntfsPartition(img, 4, t.dir);
      const exp = hivexExport(ntfscat(part, '/Windows/System32/config/SOFTWARE'), 'HKEY_LOCAL_MACHINE\\SOFTWARE', t.dir);
      expect(exp).toContain(`"guestkit-001"=${hexString('arm.bat')}`);
      const other = hivexExport(ntfscat(ntfsPartition(img, 3, t.dir), '/Windows/System32/config/SOFTWARE'), 'HKEY_LOCAL_MACHINE\\SOFTWARE', t.dir);
      expect(other).not.toContain('guestkit-001');
      void hexMulti;
    } finally {
      t.cleanup();
    }
  });
});
