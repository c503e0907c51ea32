import { describe, expect, it } from 'vitest';
import { copyFileSync, readFileSync, readdirSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { labDir, labImages, labUnavailable } from './support/lab.js';
import { runCli } from './support/cli.js';
import { tempDir } from './support/shared.js';
import { missingTools, inCI, runTool, runToolStatus } from './support/tools.js';

/**
 * guestfish's upload session on the lab guest, recorded from real libguestfs 1.48
 * (../shared/lab/expected/upload): guestkit fish --rw, writing through a qcow2 overlay over the
 * raw lab disk, must print the same, read back the same, and leave NTFS and FAT volumes that
 * ntfs-3g, ntfsresize, mtools and fsck.fat accept.
 */
const TOOLS = ['qemu-img', 'ntfsls', 'ntfscat', 'ntfsfix', 'ntfsresize', 'fsck.fat', 'mcopy', 'mdir'];
const lab = labDir();
const images = lab ? labImages() : undefined;
const missing = missingTools(TOOLS);
const skipWhy = !lab ? '../shared/lab not present' : !images ? labUnavailable : missing.length && !inCI ? `${missing.join(', ')} not installed` : '';
const d = skipWhy ? describe.skip : describe;

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const SECTOR = 512;
const ESP = { start: 2048, count: 204800 };
const C = { start: 239616, count: 512000 };

d(`guestkit fish --rw vs the recorded guestfish upload session${skipWhy ? ` [skipped: ${skipWhy}]` : ''}`, () => {
  it('rw-session.fish then ro-readback.fish print what guestfish printed; native tools agree', { timeout: 300_000 }, () => {
    const expected = join(lab!, 'expected', 'upload');
    const t = tempDir();
    try {
      const overlay = join(t.dir, 'overlay.qcow2');
      runTool('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', join(images!, 'win10-gpt.raw'), '-F', 'raw', overlay]);
      for (const f of readdirSync(join(expected, 'local'))) copyFileSync(join(expected, 'local', f), join(t.dir, f));

      const rw = runCli(['fish', '--rw', '-a', overlay, '-i'], { input: readFileSync(join(expected, 'rw-session.fish'), 'utf8'), cwd: t.dir });
      expect(rw.stderr).toBe('');
      expect(rw.status).toBe(0);
      expect(rw.out).toBe(readFileSync(join(expected, 'rw-session.txt'), 'utf8'));

      const ro = runCli(['fish', '-a', overlay, '-i'], { input: readFileSync(join(expected, 'ro-readback.fish'), 'utf8'), cwd: t.dir });
      expect(ro.stderr).toBe('');
      expect(ro.out).toBe(readFileSync(join(expected, 'ro-readback.txt'), 'utf8'));

      const check = runToolStatus('qemu-img', ['check', overlay]);
      expect(check.status, check.stdout + check.stderr).toBe(0);

      // Extract both volumes with qemu-img and check them with ntfs-3g, ntfsresize, mtools, fsck.fat.
      const cImg = join(t.dir, 'c.img');
      const espImg = join(t.dir, 'esp.img');
      for (const [vol, out] of [[C, cImg], [ESP, espImg]] as const) {
        // qemu-img dd counts `count` from the start of the input, skipped blocks included.
        runTool('qemu-img', ['dd', '-f', 'qcow2', '-O', 'raw', `bs=${SECTOR}`, `skip=${vol.start}`, `count=${vol.start + vol.count}`, `if=${overlay}`, `of=${out}`]);
      }
      const upload = readFileSync(join(t.dir, 'upload-1MiB.bin'));
      expect(runToolStatus('ntfsfix', ['-n', cImg]).status).toBe(0);
      const resize = runToolStatus('ntfsresize', ['-i', '-f', cImg]);
      expect(resize.status, resize.stdout + resize.stderr).toBe(0);
      expect(runTool('ntfsls', ['-p', '/Lab/New Dir', cImg]).toString()).toContain('héllo upload.txt');
      expect(runTool('ntfscat', [cImg, '/Lab/written.txt']).toString()).toBe('written by guestfish write\n');
      expect(sha256(runTool('ntfscat', [cImg, '/Users/alice/Documents/upload-1MiB.bin']))).toBe(sha256(upload));
      expect(runTool('ntfscat', [cImg, '/Windows/System32/drivers/etc/hosts']).equals(readFileSync(join(t.dir, 'new-hosts')))).toBe(true);
      const fsck = runToolStatus('fsck.fat', ['-n', espImg]);
      expect(fsck.status, fsck.stdout + fsck.stderr).toBe(0);
      expect(sha256(runTool('mcopy', ['-n', '-i', espImg, '::/EFI/Lab/upload.bin', '-']))).toBe(sha256(upload));
      expect(runTool('mdir', ['-i', espImg, '-b', '::/EFI/Lab']).toString().split('\n').filter(Boolean).sort()).toEqual(['::/EFI/Lab/Long File Name.txt', '::/EFI/Lab/upload.bin']);
    } finally {
      t.cleanup();
    }
  });
});
