import { describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { describeWithTools, runTool, runToolStatus } from './support/tools.js';
import { guestkitBin, runCli } from './support/cli.js';
import { spawnSync } from 'node:child_process';
import { tempDir } from './support/shared.js';

/** `guestkit fish` on FAT images made by mkfs.fat + mtools, checked back with mtools and fsck.fat. */
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

function makeFat(dir: string, fatBits: 12 | 16 | 32): { img: string; files: Map<string, Buffer> } {
  const img = join(dir, `fat${fatBits}.img`);
  const kib = fatBits === 32 ? 66000 : fatBits === 16 ? 16384 : 1440;
  runTool('mkfs.fat', ['-C', '-F', String(fatBits), '-n', 'GKTEST', '-i', '12345678', img, String(kib)]);
  const files = new Map<string, Buffer>();
  const add = (guestPath: string, data: Buffer) => {
    const local = join(dir, 'src-' + files.size);
    writeFileSync(local, data);
    runTool('mcopy', ['-i', img, local, '::' + guestPath]);
    files.set(guestPath, data);
  };
  runTool('mmd', ['-i', img, '::/Sub', '::/Sub/Deeper Dir']);
  add('/README.TXT', Buffer.from('short name\r\n'));
  add('/Sub/A long file name.txt', Buffer.from('long name file\n'));
  add('/Sub/Deeper Dir/big.bin', Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7) & 0xff)));
  return { img, files };
}

describeWithTools(['mkfs.fat', 'mcopy', 'mmd', 'mdir', 'fsck.fat'], 'guestkit fish on FAT', () => {
  for (const bits of [12, 16, 32] as const) {
    it(`FAT${bits}: reads what mtools wrote`, () => {
      const t = tempDir();
      try {
        const { img, files } = makeFat(t.dir, bits);
        const r = runCli(['fish', '-a', img, 'list-filesystems', ':', 'vfs-label', '/dev/sda', ':', 'vfs-uuid', '/dev/sda']);
        expect(r.stderr).toBe('');
        expect(r.out).toBe('/dev/sda: vfat\nGKTEST\n1234-5678\n');
        const ls = runCli(['fish', '-a', img, '-m', '/dev/sda', 'ls', '/Sub', ':', 'find', '/']);
        expect(ls.out).toBe('A long file name.txt\nDeeper Dir\nREADME.TXT\nSub\nSub/A long file name.txt\nSub/Deeper Dir\nSub/Deeper Dir/big.bin\n');
        for (const [p, data] of files) {
          const c = runCli(['fish', '-a', img, '-m', '/dev/sda', 'checksum', 'sha256', p.toLowerCase(), ':', 'filesize', p]);
          expect(c.out, p).toBe(`${sha256(data)}\n${data.length}\n`);
        }
        const cat = runCli(['fish', '-a', img, '-m', '/dev/sda', 'download', '/Sub/Deeper Dir/big.bin', '-']);
        expect(cat.stdout.equals(files.get('/Sub/Deeper Dir/big.bin')!)).toBe(true);
      } finally {
        t.cleanup();
      }
    });

    it(`FAT${bits}: writes that fsck.fat accepts and mtools reads back`, () => {
      const t = tempDir();
      try {
        const { img } = makeFat(t.dir, bits);
        const payload = Buffer.from(Array.from({ length: 100_000 }, (_, i) => (i * 13 + 5) & 0xff));
        writeFileSync(join(t.dir, 'up.bin'), payload);
        const w = runCli([
          'fish', '--rw', '-a', img, '-m', '/dev/sda',
          'mkdir-p', '/Lab/New Dir', ':', 'upload', join(t.dir, 'up.bin'), '/Lab/New Dir/héllo upload.bin', ':',
          'write', '/Lab/w.txt', 'written by guestkit\n', ':', 'mv', '/Lab/w.txt', '/Lab/renamed.txt', ':',
          'rm', '/README.TXT', ':', 'rm-rf', '/Sub', ':', 'cp', '/Lab/renamed.txt', '/Lab/New Dir',
        ]);
        expect(w.stderr).toBe('');
        expect(w.status).toBe(0);
        const fsck = runToolStatus('fsck.fat', ['-n', img]);
        expect(fsck.status, fsck.stdout + fsck.stderr).toBe(0);
        const mdir = runTool('mdir', ['-i', img, '-/', '-b', '::/']).toString();
        expect(mdir.split('\n').filter(Boolean).sort()).toEqual(['::/Lab/', '::/Lab/New Dir/', '::/Lab/New Dir/héllo upload.bin', '::/Lab/New Dir/renamed.txt', '::/Lab/renamed.txt'].sort());
        expect(runTool('mtype', ['-i', img, '::/Lab/renamed.txt']).toString()).toBe('written by guestkit\n');
        runTool('mcopy', ['-i', img, '::/Lab/New Dir/héllo upload.bin', join(t.dir, 'back.bin')]);
        expect(readFileSync(join(t.dir, 'back.bin')).equals(payload)).toBe(true);
      } finally {
        t.cleanup();
      }
    });
  }

  it('ends quietly, with status 0, when the reader of its output closes the pipe early', () => {
    const t = tempDir();
    try {
      const { img } = makeFat(t.dir, 16);
      // big.bin (300 kB) is more than a pipe holds, so guestkit is still writing when head exits
      const r = spawnSync('bash', ['-c', 'set -o pipefail; "$0" "$1" fish -a "$2" -m /dev/sda cat "/Sub/Deeper Dir/big.bin" | head -c 10 >/dev/null; echo "status ${PIPESTATUS[0]}"', process.execPath, guestkitBin, img], { encoding: 'utf8' });
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe('status 0\n');
    } finally {
      t.cleanup();
    }
  });

  it('refuses writes without --rw, and reports errors with exit codes', () => {
    const t = tempDir();
    try {
      const { img } = makeFat(t.dir, 16);
      const ro = runCli(['fish', '-a', img, '-m', '/dev/sda', 'write', '/x', 'y']);
      expect(ro.status).toBe(2);
      expect(ro.stderr).toMatch(/read-only; add --rw/);
      const missing = runCli(['fish', '-a', img, '-m', '/dev/sda', 'cat', '/nope']);
      expect(missing.status).toBe(1);
      expect(missing.stderr.trim().split('\n')).toHaveLength(1);
      const noimg = runCli(['fish', '-a', join(t.dir, 'absent.img'), 'ls', '/']);
      expect(noimg.status).toBe(1);
      expect(noimg.stderr).toMatch(/cannot open/);
      const garbage = join(t.dir, 'garbage.img');
      writeFileSync(garbage, Buffer.alloc(1 << 20, 0xa5));
      const g = runCli(['fish', '-a', garbage, '-m', '/dev/sda', 'ls', '/']);
      expect(g.status).not.toBe(0);
      expect(g.stderr).not.toMatch(/at .*\.js/);
    } finally {
      t.cleanup();
    }
  });
});
