import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { labDir, labImages, labUnavailable } from './support/lab.js';
import { runCli } from './support/cli.js';
import { tempDir } from './support/shared.js';
import { missingTools, runTool } from './support/tools.js';
import { ORACLE_TOOLS, expectNtfsHealthy, hivexExport, ntfsPartition, ntfscat, sha256 } from './winreg-support.js';

/**
 * guestkit win-reg against what virt-win-reg 1.48 printed and wrote on the lab's fake Windows 10
 * guest (../shared/lab/expected/{win-reg,merge-runonce,merge-complex,merge-error}): reads must
 * print the same bytes; merges must leave hives whose hivexregedit exports equal the exports of
 * the hives virt-win-reg left (the lab recorded those with hivexregedit too).
 */
const lab = labDir();
const images = lab ? labImages() : undefined;
const missing = missingTools(ORACLE_TOOLS);
const why = !lab ? '../shared/lab not present' : !images ? labUnavailable : missing.length ? `${missing.join(', ')} not installed` : '';
const d = why === '' ? describe : describe.skip;

/** The read cases of ../shared/lab/run-oracle.sh: expected file, image, arguments. */
const READS: [string, string, string[]][] = [
  ['hklm-software-currentversion.reg', 'win10-gpt.raw', ['HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion']],
  ['hklm-software-productname.txt', 'win10-gpt.raw', ['HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion', 'ProductName']],
  ['hklm-software-majorversion.txt', 'win10-gpt.raw', ['HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion', 'CurrentMajorVersionNumber']],
  ['hklm-software-lab-types.reg', 'win10-gpt.raw', ['HKEY_LOCAL_MACHINE\\SOFTWARE\\Lab\\Types']],
  ['hklm-software-lab-types.unsafe-printable.reg', 'win10-gpt.raw', ['--unsafe-printable-strings', 'HKLM\\SOFTWARE\\Lab\\Types']],
  ['hklm-software-uninstall.reg', 'win10-gpt.raw', ['HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Uninstall']],
  ['hklm-system-whole-hive.reg', 'win10-gpt.raw', ['HKLM\\SYSTEM']],
  ['hklm-system-select-current.txt', 'win10-gpt.raw', ['HKLM\\SYSTEM\\Select', 'Current']],
  ['hklm-system-mounteddevices.mbr.reg', 'win10-mbr.raw', ['HKLM\\SYSTEM\\MountedDevices']],
  ['hklm-sam-names.reg', 'win10-gpt.raw', ['HKLM\\SAM\\SAM\\Domains\\Account\\Users\\Names']],
  ['hku-default-keyboard.reg', 'win10-gpt.raw', ['HKU\\.DEFAULT\\Keyboard Layout']],
  ['hku-alice-by-name.reg', 'win10-gpt.raw', ['HKU\\alice\\Software\\Microsoft\\Windows\\CurrentVersion']],
  ['hku-alice-by-sid.reg', 'win10-gpt.raw', ['HKEY_USERS\\S-1-5-21-1004336348-1177238915-682003330-1001\\Environment']],
  ['qcow2-productname.txt', 'win10-gpt-compressed.qcow2', ['HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion', 'ProductName']],
];

d(`guestkit win-reg vs recorded virt-win-reg on the lab guest${why ? ` [skipped: ${why}]` : ''}`, () => {
  const expected = (p: string) => readFileSync(join(lab!, 'expected', p));

  it.each(READS)('%s: the same bytes as virt-win-reg', (out, image, args) => {
    const opts = args.filter((a) => a.startsWith('--'));
    const rest = args.filter((a) => !a.startsWith('--'));
    const r = runCli(['win-reg', ...opts, join(images!, image), ...rest]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout.equals(expected(`win-reg/${out}`)), `${out}:\n${r.out.slice(0, 400)}`).toBe(true);
  });

  it('errors: a missing key and HKEY_CURRENT_USER say what virt-win-reg says, one line, with our exit codes', () => {
    const img = join(images!, 'win10-gpt.raw');
    const missing = runCli(['win-reg', img, 'HKLM\\SOFTWARE\\NoSuchKey']);
    expect(missing.status).toBe(1);
    expect(missing.out).toBe('');
    // virt-win-reg: "\NoSuchKey: path not found in this hive at /usr/bin/virt-win-reg line 364."
    expect(expected('win-reg/error-no-such-key.txt.stderr').toString()).toMatch(/path not found in this hive/);
    expect(missing.stderr).toBe('guestkit: HKLM\\SOFTWARE\\NoSuchKey: path not found in this hive [WINREG_NO_SUCH_KEY]\n');
    const hkcu = runCli(['win-reg', img, 'HKEY_CURRENT_USER\\Software']);
    expect(hkcu.status).toBe(2);
    expect(hkcu.out).toBe('');
    // virt-win-reg: "virt-win-reg: HKEY_CURRENT_USER\Software: not a supported Windows Registry path"
    const theirs = expected('win-reg/error-unsupported-root.txt.stderr').toString().trim().replace(/^virt-win-reg: /, '');
    expect(hkcu.stderr.split('\n').length).toBe(2);
    expect(hkcu.stderr.startsWith(`guestkit: ${theirs} (`)).toBe(true);
    // With --user, HKCU is that user's NTUSER.DAT, exported under HKEY_CURRENT_USER.
    const alice = runCli(['win-reg', '--user', 'alice', img, 'HKCU\\Software\\Microsoft\\Windows\\CurrentVersion']);
    expect(alice.status).toBe(0);
    expect(alice.out).toBe(expected('win-reg/hku-alice-by-name.reg').toString('latin1').replaceAll('[HKEY_USERS\\alice\\', '[HKEY_CURRENT_USER\\'));
  });

  it('merge-runonce: the SOFTWARE hive exports as the one virt-win-reg --merge wrote; the volume stays healthy', () => {
    const t = tempDir();
    try {
      const ov = join(t.dir, 'runonce.qcow2');
      runTool('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'raw', '-b', join(images!, 'win10-gpt.raw'), ov]);
      const r = runCli(['win-reg', '--merge', '--format=qcow2', ov, join(lab!, 'reg', 'merge-runonce.reg')]);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(r.out).toBe(expected('merge-runonce/virt-win-reg-merge.out').toString());
      const part = ntfsPartition(ov, 3, t.dir);
      const sw = ntfscat(part, '/Windows/System32/config/SOFTWARE');
      expect(hivexExport(sw, 'HKEY_LOCAL_MACHINE\\SOFTWARE', t.dir)).toBe(expected('merge-runonce/SOFTWARE.export.reg').toString('latin1'));
      expectNtfsHealthy(part);
      // Read back through guestkit as virt-win-reg did.
      const rb = runCli(['win-reg', ov, 'HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\RunOnce']);
      expect(rb.stdout.equals(expected('merge-runonce/readback-runonce.reg'))).toBe(true);
      const one = runCli(['win-reg', ov, 'HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\RunOnce', 'LabFirstBoot']);
      expect(one.stdout.equals(expected('merge-runonce/readback-labfirstboot.txt'))).toBe(true);
    } finally {
      t.cleanup();
    }
  });

  it('merge-complex: SYSTEM, SOFTWARE and alice\'s NTUSER.DAT export as virt-win-reg left them; inspect agrees with virt-inspector afterwards', () => {
    const t = tempDir();
    try {
      const ov = join(t.dir, 'complex.qcow2');
      runTool('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'raw', '-b', join(images!, 'win10-gpt.raw'), ov]);
      const r = runCli(['win-reg', '--merge', '--format=qcow2', ov, join(lab!, 'reg', 'merge-complex.reg')]);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      const part = ntfsPartition(ov, 3, t.dir);
      for (const [file, prefix, exp] of [
        ['/Windows/System32/config/SYSTEM', 'HKEY_LOCAL_MACHINE\\SYSTEM', 'SYSTEM.export.reg'],
        ['/Windows/System32/config/SOFTWARE', 'HKEY_LOCAL_MACHINE\\SOFTWARE', 'SOFTWARE.export.reg'],
        ['/Users/alice/NTUSER.DAT', 'HKEY_USERS\\alice', 'NTUSER-alice.export.reg'],
      ] as const) {
        expect(hivexExport(ntfscat(part, file), prefix, t.dir), exp).toBe(expected(`merge-complex/${exp}`).toString('latin1'));
      }
      expectNtfsHealthy(part);
      const insp = runCli(['inspect', ov]);
      expect(insp.status).toBe(0);
      expect(insp.out).toBe(expected('merge-complex/inspector-after-merge.xml').toString().replaceAll('$SCRATCH/complex.qcow2', ov));
    } finally {
      t.cleanup();
    }
  });

  it('merge-error: HKEY_CURRENT_USER in a .reg file is refused with virt-win-reg\'s words, and the image is not touched', () => {
    const t = tempDir();
    try {
      const ov = join(t.dir, 'error.qcow2');
      runTool('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'raw', '-b', join(images!, 'win10-gpt.raw'), ov]);
      const before = sha256(ov);
      const r = runCli(['win-reg', '--merge', ov, join(lab!, 'expected', 'merge-error', 'merge-error.reg')]);
      const theirs = expected('merge-error/virt-win-reg-merge.out.stderr').toString().trim().replace(/^virt-win-reg: /, '');
      expect(theirs).toBe('HKEY_CURRENT_USER\\Software\\Lab: not a supported Windows Registry path');
      expect(r.status).toBe(2);
      expect(r.stderr.startsWith(`guestkit: ${theirs} (`)).toBe(true);
      expect(r.stderr.trimEnd().split('\n').length).toBe(1);
      expect(sha256(ov)).toBe(before);
    } finally {
      t.cleanup();
    }
  });
});
