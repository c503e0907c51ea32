/**
 * End to end: the built `guestkit inspect` and `guestkit bcd` commands (run `pnpm build` first;
 * `pnpm install` does).
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { repoRoot, describeWithShared } from './support/shared.js';
import { INSPECT_CASES, guestPaths, recordedExit, recording } from '../packages/inspector/test/support/guests.js';

const BIN = join(repoRoot, 'apps/cli/bin/guestkit');
const SAMPLE = join(repoRoot, 'test/fixtures/guests/win11-uefi.qcow2');

function gk(args: string[]): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, GUESTKIT_LOG: '' } });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

describe('guestkit inspect', () => {
  it('the README main job: the shipped sample guest, XML identical to virt-inspector 1.48', () => {
    const r = gk(['inspect', SAMPLE]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(recording('inspector/win11-uefi.xml'));
  });

  it('-a for several disks, --no-applications', () => {
    const [a, b] = guestPaths(INSPECT_CASES['dual-boot+data-xp']!);
    const r = gk(['inspect', '-a', a!, '-a', b!, '--no-applications']);
    expect(r.status).toBe(0);
    const rec = recording('inspector/dual-boot+data-xp.no-applications.xml');
    if (rec !== undefined && recordedExit('inspector/dual-boot+data-xp.no-applications') === 0) expect(r.stdout).toBe(rec);
    expect(r.stdout).not.toContain('<applications');
    expect(r.stdout.match(/<operatingsystem>/g)).toHaveLength(3);
  });

  it('--json is the documented document', () => {
    const r = gk(['inspect', '--json', SAMPLE]);
    expect(r.status).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.format).toBe('guestkit-inspect');
    expect(j.version).toBe(1);
    const o = j.operatingsystems[0];
    expect(o).toMatchObject({ root: '/dev/sda3', name: 'windows', arch: 'x86_64', osinfo: 'win11', osinfo_libguestfs_1_48: 'win10', build_id: '22631' });
    expect(o.windows).toMatchObject({ edition_id: 'Professional', display_version: '23H2', ubr: 3007, computer_name: 'WIN11-LAB', boot_mode: { mode: 'uefi' } });
  });

  it('--extended adds the newer libguestfs elements', () => {
    const r = gk(['inspect', '--extended', SAMPLE]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('<build_id>22631</build_id>');
    expect(r.stdout).toContain('<windows_group_policy/>');
  });

  it('usage errors exit 2; no OS exits 1; a corrupt image exits 3 with one line', () => {
    const none = gk(['inspect']);
    expect(none.status).toBe(2);
    const d = mkdtempSync(join(tmpdir(), 'gk-cli-'));
    try {
      const zero = join(d, 'zero.raw');
      writeFileSync(zero, Buffer.alloc(1 << 20));
      const z = gk(['inspect', zero]);
      expect(z.status).toBe(1);
      expect(z.stderr).toMatch(/no operating system/);
      const bad = join(d, 'bad.qcow2');
      const b = Buffer.alloc(1 << 16);
      b.write('QFI\xfb', 0, 'latin1');
      b.writeUInt32BE(3, 4);
      b.writeUInt32BE(0xff, 20);
      writeFileSync(bad, b);
      const c = gk(['inspect', bad]);
      expect(c.status).toBe(3);
      expect(c.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(c.stdout).toBe('');
      const missing = gk(['inspect', join(d, 'nope.qcow2')]);
      expect(missing.status).not.toBe(0);
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });
});

describe('guestkit bcd', () => {
  it('the sample guest: boot manager and boot menu, partitions as guest devices with drive letters', () => {
    const r = gk(['bcd', SAMPLE]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^Windows Boot Manager\n--------------------\nidentifier {14}\{bootmgr\}\ndevice {18}partition=\/dev\/sda1\n/);
    expect(r.stdout).toContain('\nWindows Boot Loader\n-------------------\nidentifier              {default}\ndevice                  partition=C: (/dev/sda3)\npath                    \\Windows\\system32\\winload.efi\ndescription             Windows 11\n');
    expect(r.stdout).not.toContain('Windows Memory Tester');
  });

  it('enum all, an object by alias, --guids and --json', () => {
    const all = gk(['bcd', SAMPLE, 'enum', 'all']);
    expect(all.status).toBe(0);
    for (const h of ['Firmware Boot Manager', 'Windows Memory Tester', 'Resume from Hibernate', 'Device options', 'Global Settings', 'custom:15000999']) expect(all.stdout).toContain(h);
    const one = gk(['bcd', SAMPLE, 'enum', '{memdiag}', '--guids']);
    expect(one.stdout).toMatch(/^Windows Memory Tester\n-+\nidentifier {14}\{b2721d73-1db4-4c62-bf78-c548a880142d\}\n/);
    const j = JSON.parse(gk(['bcd', SAMPLE, 'enum', '{default}', '--json']).stdout);
    expect(j.stores[0]).toMatchObject({ device: '/dev/sda1', path: '/EFI/Microsoft/Boot/BCD' });
    const el = j.stores[0].objects[0].elements.find((e: { name: string }) => e.name === 'osdevice');
    expect(el.value).toMatchObject({ kind: 'partition', scheme: 'gpt', guest_device: '/dev/sda3', drive_letter: 'C' });
    const missing = gk(['bcd', SAMPLE, 'enum', '{01234567-89ab-cdef-0123-456789abcdef}']);
    expect(missing.status).toBe(1);
  });

  it('an MBR/BIOS guest: \\Boot\\BCD on System Reserved', () => {
    const r = gk(['bcd', guestPaths(['win7-bios.raw'])[0]!]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('device                  partition=C: (/dev/sda2)\npath                    \\Windows\\system32\\winload.exe\n');
    expect(r.stdout).toContain('Windows Legacy OS Loader');
  });

  describeWithShared('a store file', (shared) => {
    it('bcd BCD-FILE enum all --json', () => {
      const r = gk(['bcd', join(shared, 'testdata/bcd/regipy/BCD'), 'enum', 'all', '--json']);
      expect(r.status).toBe(0);
      const j = JSON.parse(r.stdout);
      expect(j.objects.length).toBe(17);
    });
  });
});
