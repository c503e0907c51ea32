import { describe, expect, it } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { labDir, labImages, labUnavailable } from './support/lab.js';
import { runCli } from './support/cli.js';
import { tempDir } from './support/shared.js';

/**
 * guestfish's read-only session on the lab's fake Windows 10 guest, recorded from real
 * libguestfs 1.48 (../shared/lab/expected/guestfish): guestkit fish must print the same bytes
 * and download the same files.
 */
const lab = labDir();
const images = lab ? labImages() : undefined;
const d = lab && images ? describe : describe.skip;

d(`guestkit fish vs recorded guestfish on the lab guest${images ? '' : ` [skipped: ${lab ? labUnavailable : '../shared/lab not present'}]`}`, () => {
  it('ro-session.fish prints exactly what guestfish printed', () => {
    const expectedDir = join(lab!, 'expected', 'guestfish');
    const script = readFileSync(join(expectedDir, 'ro-session.fish'), 'utf8');
    const t = tempDir();
    try {
      // guestfish ran with -i: inspection mounts the Windows system volume (/dev/sda3) at /.
      const r = runCli(['fish', '-a', join(images!, 'win10-gpt.raw'), '-i'], { input: script, cwd: t.dir });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(r.out).toBe(readFileSync(join(expectedDir, 'ro-session.txt'), 'utf8'));
      const downloads = readdirSync(join(expectedDir, 'download')).sort();
      expect(readdirSync(t.dir).sort()).toEqual(downloads);
      for (const f of downloads) {
        expect(readFileSync(join(t.dir, f)).equals(readFileSync(join(expectedDir, 'download', f))), f).toBe(true);
      }
    } finally {
      t.cleanup();
    }
  });

  it('win: drive-letter paths read what virt-cat printed (GPT and MBR drive mappings)', () => {
    const expected = join(lab!, 'expected', 'virt-cat');
    const gpt = runCli(['fish', '-a', join(images!, 'win10-gpt.raw'), '-i', 'download', 'win:c:\\windows\\system32\\drivers\\etc\\hosts', '-']);
    expect(gpt.stderr).toBe('');
    expect(gpt.stdout.equals(readFileSync(join(expected, 'gpt-win-path.txt')))).toBe(true);
    const mbr = runCli(['fish', '-a', join(images!, 'win10-mbr.raw'), '-i', 'download', 'win:C:\\Windows\\WIN.INI', '-']);
    expect(mbr.stdout.equals(readFileSync(join(expected, 'mbr-win-path.txt')))).toBe(true);
    const none = runCli(['fish', '-a', join(images!, 'win10-gpt.raw'), '-i', 'cat', 'win:E:\\foo.txt']);
    expect(none.status).toBe(1);
    expect(none.stderr).toMatch(/drive 'e:' not found/);
  });

  it('reads the same filesystems through qcow2 and through the MBR disk', () => {
    for (const [img, root] of [['win10-gpt.qcow2', '/dev/sda3'], ['win10-gpt-compressed.qcow2', '/dev/sda3'], ['win10-mbr.raw', '/dev/sda2']] as const) {
      const r = runCli(['fish', '-a', join(images!, img), '-m', root!, 'checksum', 'sha256', '/Windows/System32/cmd.exe', ':', 'list-filesystems']);
      expect(r.stderr).toBe('');
      expect(r.out.split('\n')[0]).toBe('13234866089d6b12b956577a4d1a63b5407b193d3be8b98bebcd288cffcbe6cd');
    }
  });
});
