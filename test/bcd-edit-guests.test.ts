/**
 * `guestkit bcd` editing stores inside disk images (run `pnpm build` first):
 *  - device values built from the partition table: on the test guests, `osdevice partition=C:`
 *    reproduces the exact bytes Windows' tools wrote (GPT on win11-uefi, MBR on win7-bios), so
 *    the edit is a no-op;
 *  - the NTFS write path (\Boot\BCD on win7-bios's System Reserved): the volume passes
 *    `ntfsfix -n`, ntfscat reads BCD and BCD.bak, hivexregedit reads the new store;
 *  - the FAT write path on a lab guest (../shared/lab win10, through a qcow2 overlay):
 *    `safeboot minimal` + `timeout 5` + a new copied entry + osdevice/device partition=C:
 *    leave the ESP passing `fsck.fat -n`, the store readable by hivexregedit and reglookup,
 *    and `guestkit inspect --json` reporting the new boot configuration; --dry-run leaves the
 *    image untouched.
 */
import { describe, expect, it } from 'vitest';
import { copyFileSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { repoRoot, tempDir } from './support/shared.js';
import { describeWithTools, runTool } from './support/tools.js';
import { LAB_TOOLS, labImages, labUnavailable } from './support/lab.js';
import { guestPaths } from '../packages/inspector/test/support/guests.js';

const BIN = join(repoRoot, 'apps/cli/bin/guestkit');
const SAMPLE = join(repoRoot, 'test/fixtures/guests/win11-uefi.qcow2');

function gk(args: string[]): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, GUESTKIT_LOG: '' } });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

const sha = (p: string): string => createHash('sha256').update(readFileSync(p)).digest('hex');

describe('device values from the partition table point at the volumes the stores already name', () => {
  it('win11-uefi (GPT): osdevice and device partition=C: are unchanged; the image is not written', () => {
    const t = tempDir('gk-bcd-g-');
    try {
      const img = join(t.dir, 'win11-uefi.qcow2');
      copyFileSync(SAMPLE, img);
      const before = sha(img);
      for (const el of ['osdevice', 'device']) {
        const r = gk(['bcd', img, el, 'partition=C:']);
        expect(r.status, r.stderr).toBe(0);
        expect(r.stdout).toBe(`{default} ${el}: partition=/dev/sda3 (unchanged)\nnothing changed in /dev/sda1:/EFI/Microsoft/Boot/BCD\n`);
      }
      const r = gk(['bcd', img, 'set', '{bootmgr}', 'device', 'partition=/dev/sda1']);
      expect(r.stdout).toContain('(unchanged)');
      expect(sha(img)).toBe(before);
      // a partition that is not there is refused
      expect(gk(['bcd', img, 'osdevice', 'partition=/dev/sda7']).status).toBe(2);
    } finally {
      t.cleanup();
    }
  });

  describeWithTools(['ntfsfix', 'ntfscat', 'hivexregedit'], 'win7-bios (MBR, \\Boot\\BCD on NTFS)', () => {
    it('osdevice partition=C: is unchanged; timeout + create write through NTFS, ntfsfix -n and hivex accept the result', () => {
      const t = tempDir('gk-bcd-g-');
      try {
        const img = join(t.dir, 'win7-bios.raw');
        runTool('cp', ['--sparse=always', guestPaths(['win7-bios.raw'])[0]!, img]);
        const u = gk(['bcd', img, 'osdevice', 'partition=C:']);
        expect(u.stdout).toMatch(/^\{default\} osdevice: partition=\/dev\/sda2 \(unchanged\)\n/);
        const part = join(t.dir, 'p1.img');
        const extract = (): void => void runTool('dd', [`if=${img}`, `of=${part}`, 'bs=512', 'skip=2048', 'count=16384', 'status=none']);
        extract();
        const origStore = runTool('ntfscat', [part, '/Boot/BCD']);
        expect(gk(['bcd', img, 'timeout', '7']).status).toBe(0);
        const c = gk(['bcd', img, 'create', '--copy', '{default}', '-d', 'Windows 7 (copy)']);
        expect(c.status, c.stderr).toBe(0);
        const id = c.stdout.trim();
        extract();
        const fix = spawnSync('ntfsfix', ['-n', part], { encoding: 'utf8' });
        expect(fix.status, fix.stdout + fix.stderr).toBe(0);
        expect(fix.stdout).toContain('was processed successfully');
        const store = join(t.dir, 'BCD');
        runTool('sh', ['-c', `ntfscat "${part}" /Boot/BCD > "${store}"`]);
        const reg = runTool('hivexregedit', ['--export', store, '\\']).toString('latin1');
        expect(reg).toContain(`[\\Objects\\${id}\\Elements\\12000004]`);
        expect(reg).toMatch(/\[\\Objects\\\{9dea862c-5cdd-4e70-acc1-f32b344d4795\}\\Elements\\25000004\]\n"Element"=hex\(3\):07,00,00,00,00,00,00,00/);
        // BCD.bak holds the store as it was before the last edit (after `timeout 7`), readable by hivex
        const bak = join(t.dir, 'BCD.bak');
        runTool('sh', ['-c', `ntfscat "${part}" /Boot/BCD.bak > "${bak}"`]);
        const bakReg = runTool('hivexregedit', ['--export', bak, '\\']).toString('latin1');
        expect(bakReg).toMatch(/Elements\\25000004\]\n"Element"=hex\(3\):07,00/);
        expect(bakReg).not.toContain(id);
        expect(readFileSync(bak).equals(origStore)).toBe(false);
        const e = gk(['bcd', img]);
        expect(e.stdout).toContain(`identifier              ${id}\ndevice                  partition=C: (/dev/sda2)\n`);
      } finally {
        t.cleanup();
      }
    });
  });
});

const LAB_ORACLES = ['qemu-img', 'fsck.fat', 'mcopy', 'hivexregedit', 'reglookup'];

describeWithTools([...new Set([...LAB_TOOLS, ...LAB_ORACLES])], 'lab guest (../shared/lab win10)', () => {
  const lab = labImages();
  const maybe = lab ? it : it.skip;
  if (!lab) it.skip(`lab images unavailable: ${labUnavailable}`, () => {});

  maybe('GPT: safeboot minimal + timeout 5 + a copied entry; fsck.fat, hivex, reglookup and inspect --json agree', () => {
    const t = tempDir('gk-bcd-lab-');
    try {
      const img = join(t.dir, 'win10.qcow2');
      runTool('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', join(lab!, 'win10-gpt.raw'), '-F', 'raw', img]);
      const esp = join(t.dir, 'esp.img');
      const dumpEsp = (): void => void runTool('qemu-img', ['dd', '-f', 'qcow2', '-O', 'raw', 'bs=1M', 'skip=1', 'count=101', `if=${img}`, `of=${esp}`]);
      dumpEsp();
      const origStore = runTool('mcopy', ['-n', '-i', esp, '::/EFI/Microsoft/Boot/BCD', '-']);

      // --dry-run writes nothing
      const size0 = statSync(img).size;
      const sha0 = sha(img);
      const dry = gk(['bcd', img, 'timeout', '5', '--dry-run']);
      expect(dry.status, dry.stderr).toBe(0);
      expect(dry.stdout).toContain('+"Element"=hex(3):05,00,00,00,00,00,00,00');
      expect(statSync(img).size).toBe(size0);
      expect(sha(img)).toBe(sha0);

      for (const args of [['safeboot', 'minimal'], ['timeout', '5'], ['osdevice', 'partition=C:'], ['device', 'partition=C:']]) {
        const r = gk(['bcd', img, ...args]);
        expect(r.status, `${args.join(' ')}: ${r.stderr}`).toBe(0);
        expect(r.stdout).toContain('wrote /dev/sda1:/EFI/Microsoft/Boot/BCD (the old store is kept as /dev/sda1:/EFI/Microsoft/Boot/BCD.bak)');
      }
      const c = gk(['bcd', img, 'create', '--copy', '{default}', '--description', 'Windows 10 (safe mode)']);
      expect(c.status, c.stderr).toBe(0);
      const id = c.stdout.trim();
      expect(id).toMatch(/^\{[0-9a-f-]{36}\}$/);

      // the ESP is a clean FAT volume, with BCD and BCD.bak
      dumpEsp();
      const fsck = spawnSync('fsck.fat', ['-n', esp], { encoding: 'utf8' });
      expect(fsck.status, fsck.stdout + fsck.stderr).toBe(0);
      expect(fsck.stdout).not.toMatch(/dirty|corrupt|lost|differ/i);
      const store = join(t.dir, 'BCD');
      runTool('mcopy', ['-n', '-i', esp, '::/EFI/Microsoft/Boot/BCD', store]);
      const bak = runTool('mcopy', ['-n', '-i', esp, '::/EFI/Microsoft/Boot/BCD.bak', '-']);
      expect(bak.length).toBeGreaterThan(0);
      expect(bak.equals(origStore)).toBe(false); // the .bak is the store before the last edit
      // hivex and reglookup read the new store
      const reg = runTool('hivexregedit', ['--export', store, '\\']).toString('latin1');
      expect(reg).toContain(`[\\Objects\\${id}\\Elements\\25000080]\n"Element"=hex(3):00,00,00,00,00,00,00,00\n`);
      expect(reg).toContain('[\\Objects\\{9dea862c-5cdd-4e70-acc1-f32b344d4795}\\Elements\\25000004]\n"Element"=hex(3):05,00,00,00,00,00,00,00\n');
      const rl = spawnSync('reglookup', [store], { encoding: 'latin1' });
      expect(rl.status).toBe(0);
      expect(rl.stdout).toContain(`/Objects/${id}/Elements/12000004/Element,SZ,Windows 10 (safe mode),`);
      // the original store (from the base image) and the edited one differ only as asked
      const orig = join(t.dir, 'BCD.orig');
      writeFileSync(orig, origStore);
      expect(runTool('hivexregedit', ['--export', store, '\\Description']).toString()).toBe(runTool('hivexregedit', ['--export', orig, '\\Description']).toString());

      // inspect --json reports the new boot configuration
      const j = JSON.parse(gk(['inspect', '--json', img]).stdout);
      const boot = j.operatingsystems[0].windows.boot;
      expect(boot.store).toEqual({ device: '/dev/sda1', path: '/EFI/Microsoft/Boot/BCD' });
      expect(boot.timeout_seconds).toBe(5);
      expect(boot.display_order).toEqual(['{default}', id]);
      const copy = boot.entries.find((e: { id: string }) => e.id === id);
      expect(copy).toMatchObject({ description: 'Windows 10 (safe mode)', osdevice: 'partition=C: (/dev/sda3)', this_os: true, is_default: false });
      expect(boot.entries.find((e: { is_default: boolean }) => e.is_default)).toMatchObject({ description: 'Windows 10', osdevice: 'partition=C: (/dev/sda3)' });
      const en = JSON.parse(gk(['bcd', img, 'enum', '{default}', '--json']).stdout);
      expect(en.stores[0].objects[0].elements.find((e: { name: string }) => e.name === 'safeboot')).toMatchObject({ value: 0, display: 'Minimal' });
      // the base image is untouched
      expect(runTool('qemu-img', ['check', img]).toString()).toContain('No errors');
    } finally {
      t.cleanup();
    }
  }, 120_000);

  maybe('MBR: osdevice partition=C: is built from the disk signature and the partition offset', () => {
    const t = tempDir('gk-bcd-lab-');
    try {
      const img = join(t.dir, 'win10-mbr.qcow2');
      runTool('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', join(lab!, 'win10-mbr.raw'), '-F', 'raw', img]);
      const r = gk(['bcd', img, 'osdevice', 'partition=C:', '--json']);
      expect(r.status, r.stderr).toBe(0);
      const j = JSON.parse(r.stdout);
      expect(j).toMatchObject({ written: true, changes: [{ element: 'osdevice', after: 'partition=/dev/sda2' }] });
      const en = JSON.parse(gk(['bcd', img, 'enum', '{default}', '--json']).stdout);
      expect(en.stores[0].objects[0].elements.find((e: { name: string }) => e.name === 'osdevice').value).toEqual({
        kind: 'partition', scheme: 'mbr', disk_signature: '0x5eedf00d', offset: 122683392, guest_device: '/dev/sda2', drive_letter: 'C',
      });
    } finally {
      t.cleanup();
    }
  }, 60_000);
});
