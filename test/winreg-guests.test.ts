import { describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from './support/cli.js';
import { sharedDir, tempDir } from './support/shared.js';
import { missingTools, runTool, runToolStatus } from './support/tools.js';
import {
  ORACLE_TOOLS, asRaw, copyGuest, dword, expectNtfsHealthy, exportDiff, hexMulti, hexString, hivexExport, ntfsPartition, ntfscat,
  partitionFile, sha256, writePartition,
} from './winreg-support.js';

/**
 * guestkit win-reg on copies of the test guests, with independent tools setting up what the
 * guests lack (hivexregedit adds a DriverDatabase, ntfscp puts a dirty hive with its logs in place,
 * mcopy/fsck.fat read the ESP) and checking the result (ntfscat + hivexregedit exports).
 */
const missing = missingTools([...ORACLE_TOOLS, 'ntfscp', 'ntfsinfo', 'mcopy', 'fsck.fat']);
const d = missing.length === 0 ? describe : describe.skip;
const SAMPLE = 'win11-uefi.qcow2';
const HEADER = 'Windows Registry Editor Version 5.00\n\n';

/** A raw copy of the sample (so that ntfscp can change its C: in place). */
function rawSample(dir: string): string {
  return asRaw(copyGuest(SAMPLE, dir), dir);
}

/** Replace files of C: (partition 3) with ntfs-3g's ntfscp. */
function ntfscpInto(raw: string, dir: string, files: [string, string][]): void {
  const part = partitionFile(raw, 3, dir);
  for (const [src, dst] of files) runTool('ntfscp', ['-f', part, src, dst]);
  writePartition(raw, 3, part);
}

d(`guestkit win-reg on test guests (set up and checked with hivex and ntfs-3g tools)${missing.length ? ` [skipped: ${missing.join(', ')} not installed]` : ''}`, () => {
  it('--inject-driver on Windows 8+ (SYSTEM\\DriverDatabase present): virt-v2v\'s DriverDatabase entries, no CriticalDeviceDatabase', () => {
    const t = tempDir();
    try {
      const raw = rawSample(t.dir);
      // Give the guest a DriverDatabase key with hivexregedit, and put the hive back with ntfscp.
      const sys = join(t.dir, 'SYSTEM');
      writeFileSync(sys, ntfscat(partitionFile(raw, 3, t.dir), '/Windows/System32/config/SYSTEM'));
      writeFileSync(join(t.dir, 'ddb.reg'), '[HKEY_LOCAL_MACHINE\\SYSTEM\\DriverDatabase]\n"Architecture"=dword:00000009\n');
      runTool('hivexregedit', ['--merge', '--prefix', 'HKEY_LOCAL_MACHINE\\SYSTEM', sys, join(t.dir, 'ddb.reg')]);
      ntfscpInto(raw, t.dir, [[sys, '/Windows/System32/config/SYSTEM']]);
      const before = hivexExport(ntfscat(partitionFile(raw, 3, t.dir), '/Windows/System32/config/SYSTEM'), 'HKEY_LOCAL_MACHINE\\SYSTEM', t.dir);
      const drv = join(t.dir, 'viostor.sys');
      writeFileSync(drv, 'not really a driver');
      const r = runCli(['customize', raw, '--inject-driver', drv]);
      expect(r.status, r.stderr).toBe(0);
      const part = partitionFile(raw, 3, t.dir);
      const after = hivexExport(ntfscat(part, '/Windows/System32/config/SYSTEM'), 'HKEY_LOCAL_MACHINE\\SYSTEM', t.dir);
      const ddb = 'HKEY_LOCAL_MACHINE\\SYSTEM\\DriverDatabase';
      const ids = ['VEN_1AF4&DEV_1001&SUBSYS_00021AF4&REV_00', 'VEN_1AF4&DEV_1042&SUBSYS_11001AF4&REV_01'];
      // virt-v2v convert/windows_virtio.ml ddb_regedits, literally.
      const version = 'hex(3):' + [0x00, 0xff, 0x09, 0, 0, 0, 0, 0, 0x7b, 0xe9, 0x36, 0x4d, 0x25, 0xe3, 0xce, 0x11, 0xbf, 0xc1, 0x08, 0x00, 0x2b, 0xe1, 0x03, 0x18, ...new Array(24).fill(0)]
        .map((b: number) => b.toString(16).padStart(2, '0')).join(',');
      const added: Record<string, string[]> = {
        [`${ddb}\\DeviceIds`]: [], [`${ddb}\\DeviceIds\\PCI`]: [],
        [`${ddb}\\DriverInfFiles`]: [],
        [`${ddb}\\DriverInfFiles\\guestor.inf`]: [`@=${hexMulti(['guestor.inf_tmp'])}`, `"Active"=${hexString('guestor.inf_tmp')}`, `"Configurations"=${hexMulti(['guestor_conf'])}`],
        [`${ddb}\\DriverPackages`]: [],
        [`${ddb}\\DriverPackages\\guestor.inf_tmp`]: [`"Version"=${version}`],
        [`${ddb}\\DriverPackages\\guestor.inf_tmp\\Configurations`]: [],
        [`${ddb}\\DriverPackages\\guestor.inf_tmp\\Configurations\\guestor_conf`]: [`"ConfigFlags"=${dword(0)}`, `"Service"=${hexString('viostor')}`],
        [`${ddb}\\DriverPackages\\guestor.inf_tmp\\Descriptors`]: [], [`${ddb}\\DriverPackages\\guestor.inf_tmp\\Descriptors\\PCI`]: [],
      };
      for (const id of ids) {
        added[`${ddb}\\DeviceIds\\PCI\\${id}`] = ['"guestor.inf"=hex(3):01,ff,00,00'];
        added[`${ddb}\\DriverPackages\\guestor.inf_tmp\\Descriptors\\PCI\\${id}`] = [`"Configuration"=${hexString('guestor_conf')}`];
      }
      // The guest already has a viostor service with these very values in both control sets: unchanged.
      expect(exportDiff(before, after)).toEqual({ addedKeys: added, removedKeys: {}, changedKeys: {} });
      expect(ntfscat(part, '/Windows/System32/drivers/viostor.sys').toString()).toBe('not really a driver');
      expectNtfsHealthy(part);
    } finally {
      t.cleanup();
    }
  });

  describe('a dirty hive with transaction logs (yarp NewDirtyHive1, placed with ntfscp as alice\'s NTUSER.DAT)', () => {
    const shared = sharedDir();
    const itS = shared ? it : it.skip;
    const yarp = shared ? join(shared, 'testdata', 'hives', 'yarp', 'NewDirtyHive1') : '';
    const setup = (dir: string): string => {
      const raw = rawSample(dir);
      ntfscpInto(raw, dir, [
        [join(yarp, 'NewDirtyHive'), '/Users/alice/NTUSER.DAT'],
        [join(yarp, 'NewDirtyHive.LOG1'), '/Users/alice/NTUSER.DAT.LOG1'],
        [join(yarp, 'NewDirtyHive.LOG2'), '/Users/alice/NTUSER.DAT.LOG2'],
      ]);
      return raw;
    };

    itS('reads replay the logs (what Windows 10 recovered); --no-logs reads the stale primary', () => {
      const t = tempDir();
      try {
        const raw = setup(t.dir);
        const recovered = hivexExport(readFileSync(join(yarp, 'RecoveredHive_Windows10')), 'HKEY_USERS\\alice', t.dir);
        const r = runCli(['win-reg', raw, 'HKU\\alice']);
        expect(r.status).toBe(0);
        expect(r.stdout.toString('latin1')).toBe(recovered.replace(HEADER, ''));
        const stale = hivexExport(readFileSync(join(yarp, 'NewDirtyHive')), 'HKEY_USERS\\alice', t.dir);
        expect(stale).not.toBe(recovered);
        expect(runCli(['win-reg', '--no-logs', raw, 'HKU\\alice']).stdout.toString('latin1')).toBe(stale.replace(HEADER, ''));
      } finally {
        t.cleanup();
      }
    });

    itS('--merge replays the logs first: the written hive is clean and exports as hivexregedit --merge into the Windows-recovered hive', () => {
      const t = tempDir();
      try {
        const raw = setup(t.dir);
        const reg = join(t.dir, 'm.reg');
        writeFileSync(reg, '[HKEY_USERS\\alice\\GuestkitMerged]\n"v"="merged"\n');
        const r = runCli(['win-reg', '--merge', raw, reg]);
        expect(r.status).toBe(0);
        expect(r.stderr).toMatch(/dirty; its transaction logs .* were replayed/);
        const part = partitionFile(raw, 3, t.dir);
        const hive = ntfscat(part, '/Users/alice/NTUSER.DAT');
        expect(hive.readUInt32LE(4)).toBe(hive.readUInt32LE(8)); // clean: sequence1 == sequence2
        expect(hive.readUInt32LE(4)).toBeGreaterThan(5); // newer than every log entry (yarp's logs end at 5)
        const oracle = join(t.dir, 'oracle.hive');
        writeFileSync(oracle, readFileSync(join(yarp, 'RecoveredHive_Windows10')));
        runTool('hivexregedit', ['--merge', '--prefix', 'HKEY_USERS\\alice', oracle, reg]);
        expect(hivexExport(hive, 'HKEY_USERS\\alice', t.dir)).toBe(hivexExport(readFileSync(oracle), 'HKEY_USERS\\alice', t.dir));
        // The logs are left as they were.
        expect(ntfscat(part, '/Users/alice/NTUSER.DAT.LOG2').equals(readFileSync(join(yarp, 'NewDirtyHive.LOG2')))).toBe(true);
        expectNtfsHealthy(part);
      } finally {
        t.cleanup();
      }
    });
  });

  it('CurrentControlSet on write: resolved through Select\\Current as it is before the merge', () => {
    const t = tempDir();
    try {
      const img = copyGuest(SAMPLE, t.dir);
      const first = '[HKLM\\SYSTEM\\Select]\n"Current"=dword:00000002\n\n[HKLM\\SYSTEM\\CurrentControlSet\\Services\\CcsOne]\n"x"=dword:00000001\n';
      expect(runCli(['win-reg', '--merge', img], { input: first }).status).toBe(0);
      expect(runCli(['win-reg', '--merge', img], { input: '[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\CcsTwo]\n"x"=dword:00000002\n' }).status).toBe(0);
      const exp = hivexExport(ntfscat(ntfsPartition(img, 3, t.dir), '/Windows/System32/config/SYSTEM'), 'HKEY_LOCAL_MACHINE\\SYSTEM', t.dir);
      expect(exp).toContain('[HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001\\Services\\CcsOne]\n"x"=dword:00000001\n');
      expect(exp).toContain('[HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet002\\Services\\CcsTwo]\n"x"=dword:00000002\n');
      expect(exp).not.toMatch(/CurrentControlSet/i);
      // Reads through the alias follow Select\Current too.
      expect(runCli(['win-reg', img, 'HKLM\\SYSTEM\\CurrentControlSet\\Services\\CcsTwo', 'x']).out).toBe('2\n');
    } finally {
      t.cleanup();
    }
  });

  it('--merge --dry-run prints the registry diff and writes nothing; a bad .reg file is refused with its line (exit 3) and writes nothing', () => {
    const t = tempDir();
    try {
      const img = copyGuest(SAMPLE, t.dir);
      const hash = sha256(img);
      const reg = '[HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion]\n"RegisteredOwner"="bob"\n"InstallDate"=-\n\n[HKLM\\SOFTWARE\\New\\Deep]\n@=dword:00000007\n';
      const r = runCli(['win-reg', '--merge', '--dry-run', img], { input: reg });
      expect(r.status).toBe(0);
      expect(r.out).toBe(
        '--- HKEY_LOCAL_MACHINE\\SOFTWARE (/dev/sda3:/Windows/System32/config/SOFTWARE) before\n' +
          '+++ HKEY_LOCAL_MACHINE\\SOFTWARE (/dev/sda3:/Windows/System32/config/SOFTWARE) after\n' +
          ' [HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion]\n-"InstallDate"=dword:657d7520\n-"RegisteredOwner"="alice"\n+"RegisteredOwner"="bob"\n' +
          '+[HKEY_LOCAL_MACHINE\\SOFTWARE\\New]\n+[HKEY_LOCAL_MACHINE\\SOFTWARE\\New\\Deep]\n+@=dword:00000007\n' +
          r.out.slice(r.out.indexOf('# would write')),
      );
      expect(r.out).toMatch(/# would write \/Windows\/System32\/config\/SOFTWARE: \d+ bytes/);
      expect(r.out.endsWith('# dry run: nothing was written\n')).toBe(true);
      const bad = runCli(['win-reg', '--merge', img], { input: '[HKLM\\SOFTWARE\\Ok]\n"a"="b"\n\n[HKLM\\SOFTWARE\\Bad]\nthis is not a value\n' });
      expect(bad.status).toBe(3);
      expect(bad.stderr).toMatch(/^guestkit: <stdin>:5: .*this is not a value.*\n$/);
      const strict = runCli(['win-reg', '--merge', '--strict', img], { input: '[HKLM\\SOFTWARE\\No\\Parent]\n"a"="b"\n' });
      expect(strict.status).not.toBe(0);
      expect(strict.stderr).toMatch(/parent/);
      expect(sha256(img)).toBe(hash);
    } finally {
      t.cleanup();
    }
  });

  it('the hive is rewritten in place: same MFT record, its clusters kept, the appended hbins added at the end (ntfsinfo)', () => {
    const t = tempDir();
    try {
      const img = copyGuest(SAMPLE, t.dir);
      const info = (part: string) => {
        const out = runTool('ntfsinfo', ['-F', '/Windows/System32/config/SOFTWARE', '-v', part]).toString();
        const record = /from mft record (\d+)/.exec(out)![1];
        const data = out.slice(out.indexOf('Dumping attribute $DATA'));
        const runs = [...data.matchAll(/^\s+(0x[0-9a-f]+)\s+(0x[0-9a-f]+)\s+(0x[0-9a-f]+)$/gim)].map((m) => ({ vcn: Number(m[1]), lcn: Number(m[2]), length: Number(m[3]) }));
        const size = Number(/Data size:\s+(\d+)/.exec(data)![1]);
        return { record, runs, size };
      };
      const before = info(ntfsPartition(img, 3, t.dir));
      expect(before.runs.length).toBeGreaterThan(0);
      expect(before.runs.reduce((n, r) => n + r.length, 0) * 4096).toBe(before.size);
      // Enough new data to need more hbins than the file's slack.
      const big = `"Blob"=hex:${Array.from({ length: 9000 }, (_, i) => (i % 256).toString(16).padStart(2, '0')).join(',')}`;
      expect(runCli(['win-reg', '--merge', img], { input: `[HKLM\\SOFTWARE\\Grow]\n${big}\n` }).status).toBe(0);
      const after = info(ntfsPartition(img, 3, t.dir));
      expect(after.record).toBe(before.record);
      expect(after.size).toBeGreaterThan(before.size);
      // Every cluster the hive had is still its, at the same place.
      let vcn = 0;
      for (const r of before.runs) {
        for (let i = 0; i < r.length; i++, vcn++) {
          const run = after.runs.find((x) => vcn >= x.vcn && vcn < x.vcn + x.length)!;
          expect(run.lcn + (vcn - run.vcn), `vcn ${vcn}`).toBe(r.lcn + i);
        }
      }
    } finally {
      t.cleanup();
    }
  });

  it('--encoding ASCII stores "string" values as single bytes (Win::Hivex::Regedit encode), UTF-16LE by default', () => {
    const t = tempDir();
    try {
      const img = copyGuest(SAMPLE, t.dir);
      expect(runCli(['win-reg', '--merge', '--encoding', 'ASCII', img], { input: '[HKLM\\SOFTWARE\\Enc]\n"a"="xy"\n' }).status).toBe(0);
      expect(runCli(['win-reg', '--merge', img], { input: '[HKLM\\SOFTWARE\\Enc]\n"b"="xy"\n' }).status).toBe(0);
      const exp = hivexExport(ntfscat(ntfsPartition(img, 3, t.dir), '/Windows/System32/config/SOFTWARE'), 'HKEY_LOCAL_MACHINE\\SOFTWARE', t.dir);
      expect(exp).toContain('[HKEY_LOCAL_MACHINE\\SOFTWARE\\Enc]\n"a"=hex(1):78,79,00\n"b"=hex(1):78,00,79,00,00,00\n');
      expect(runCli(['win-reg', '--merge', '--encoding', 'EBCDIC', img], { input: '' }).status).toBe(2);
    } finally {
      t.cleanup();
    }
  });

  it('HKU\\<user>_Classes and HKCU\\Software\\Classes read UsrClass.dat; HKLM\\BCD00000000 reads and writes the store on the FAT ESP', () => {
    const t = tempDir();
    try {
      const img = copyGuest(SAMPLE, t.dir);
      const shared = sharedDir();
      // Any real hive will do as alice's classes hive: hivex's "special" (non-ASCII key and value names).
      const classes = shared ? join(shared, 'testdata', 'hives', 'hivex', 'special') : undefined;
      if (classes) {
        const up = runCli(['customize', img, '--upload', `${classes}:C:\\Users\\alice\\AppData\\Local\\Microsoft\\Windows\\UsrClass.dat`]);
        expect(up.status).toBe(0);
        const want = hivexExport(readFileSync(classes), 'HKEY_USERS\\alice_Classes', t.dir).replace(HEADER, '');
        expect(runCli(['win-reg', img, 'HKU\\alice_Classes']).stdout.toString('latin1')).toBe(want);
        const bySid = runCli(['win-reg', img, 'HKU\\S-1-5-21-3623811015-3361044348-30300820-1001_Classes']);
        expect(bySid.stdout.toString('latin1')).toBe(want.replaceAll('[HKEY_USERS\\alice_Classes', '[HKEY_USERS\\S-1-5-21-3623811015-3361044348-30300820-1001_Classes'));
        const hkcu = runCli(['win-reg', '--user', 'alice', img, 'HKCU\\Software\\Classes']);
        expect(hkcu.stdout.toString('latin1')).toBe(want.replaceAll('[HKEY_USERS\\alice_Classes\\', '[HKEY_CURRENT_USER\\Software\\Classes\\'));
      }
      // BCD: what mcopy reads from the ESP, exported by hivexregedit.
      const esp = ntfsPartition(img, 1, t.dir);
      const bcd = join(t.dir, 'BCD');
      runTool('mcopy', ['-n', '-i', esp, '::/EFI/Microsoft/Boot/BCD', bcd]);
      const want = hivexExport(readFileSync(bcd), 'HKEY_LOCAL_MACHINE\\BCD00000000', t.dir).replace(HEADER, '');
      expect(runCli(['win-reg', img, 'HKLM\\BCD00000000']).stdout.toString('latin1')).toBe(want);
      const m = runCli(['win-reg', '--merge', img], { input: '[HKLM\\BCD00000000\\Description]\n"GuestkitNote"="edited offline"\n' });
      expect(m.status, m.stderr).toBe(0);
      const esp2 = ntfsPartition(img, 1, t.dir);
      runTool('mcopy', ['-n', '-i', esp2, '::/EFI/Microsoft/Boot/BCD', bcd]);
      const after = hivexExport(readFileSync(bcd), 'HKEY_LOCAL_MACHINE\\BCD00000000', t.dir);
      expect(exportDiff(want, after)).toEqual({
        addedKeys: {}, removedKeys: {},
        changedKeys: { 'HKEY_LOCAL_MACHINE\\BCD00000000\\Description': { added: [`"GuestkitNote"=${hexString('edited offline')}`], removed: [] } },
      });
      const fsck = runToolStatus('fsck.fat', ['-n', esp2]);
      expect(fsck.status, fsck.stdout + fsck.stderr).toBe(0);
    } finally {
      t.cleanup();
    }
  });
});
