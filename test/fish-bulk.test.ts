import { expect, it } from 'vitest';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeWithTools, runTool, runToolStatus } from './support/tools.js';
import { guestkitBin, runCli } from './support/cli.js';
import { tempDir } from './support/shared.js';

/** fish bulk transfer (tar-in/out, copy-in/out) checked with GNU tar, mtools and fsck.fat; the interactive shell through a pty. */
describeWithTools(['mkfs.fat', 'fsck.fat', 'mcopy', 'tar', 'script'], 'guestkit fish bulk transfer and shell', () => {
  function tree(dir: string): void {
    mkdirSync(join(dir, 'sub', 'deeper'), { recursive: true });
    writeFileSync(join(dir, 'a.txt'), 'a\n');
    writeFileSync(join(dir, 'sub', 'big.bin'), Buffer.from(Array.from({ length: 700_000 }, (_, i) => (i * 31) & 0xff)));
    writeFileSync(join(dir, 'sub', 'deeper', 'ünïcode name well past the hundred characters that a plain ustar header has room for — pax.txt'), 'é\n');
  }

  it('tar-in a GNU tar.gz, tar-out it again, copy-in and copy-out: GNU tar and diff see the same tree; fsck.fat is clean', () => {
    const t = tempDir();
    try {
      const src = join(t.dir, 'src');
      tree(src);
      runTool('tar', ['-C', src, '-czf', join(t.dir, 'in.tgz'), '.']);
      const img = join(t.dir, 'f.img');
      runTool('mkfs.fat', ['-C', '-F', '16', img, '16384']);
      const w = runCli(['fish', '--rw', '-a', img, '-m', '/dev/sda', 'mkdir', '/T', ':', 'tar-in', join(t.dir, 'in.tgz'), '/T', ':', 'mkdir', '/C', ':', 'copy-in', src, '/C']);
      expect(w.stderr).toBe('');
      expect(w.status).toBe(0);
      expect(runToolStatus('fsck.fat', ['-n', img]).status).toBe(0);
      const out = runCli(['fish', '-a', img, '-m', '/dev/sda', 'tar-out', '/T', join(t.dir, 'out.tar.gz'), 'compress:gzip']);
      expect(out.status).toBe(0);
      const x = join(t.dir, 'x');
      mkdirSync(x);
      runTool('tar', ['-C', x, '-xzf', join(t.dir, 'out.tar.gz')]);
      expect(runToolStatus('diff', ['-r', src, x]).status).toBe(0);
      const y = join(t.dir, 'y');
      mkdirSync(y);
      expect(runCli(['fish', '-a', img, '-m', '/dev/sda', 'copy-out', '/C/src', y]).status).toBe(0);
      expect(runToolStatus('diff', ['-r', src, join(y, 'src')]).status).toBe(0);
      const bad = join(t.dir, 'evil.tar');
      mkdirSync(join(t.dir, 'e'));
      writeFileSync(join(t.dir, 'e', 'x'), 'x');
      runTool('tar', ['-C', join(t.dir, 'e'), '-cf', bad, '--transform', 's,^,../,', 'x']);
      const evil = runCli(['fish', '--rw', '-a', img, '-m', '/dev/sda', 'tar-in', bad, '/T']);
      expect(evil.status).toBe(2);
      expect(evil.stderr).toMatch(/refusing entry/);
      const garbage = join(t.dir, 'garbage.tar');
      writeFileSync(garbage, Buffer.alloc(4096, 0x41));
      const g = runCli(['fish', '--rw', '-a', img, '-m', '/dev/sda', 'tar-in', garbage, '/T']);
      expect(g.status).toBe(3);
      expect(g.stderr.trim().split('\n')).toHaveLength(1);
    } finally {
      t.cleanup();
    }
  });

  it('the interactive shell runs commands, explains them, and survives errors', () => {
    const t = tempDir();
    try {
      const img = join(t.dir, 'f.img');
      runTool('mkfs.fat', ['-C', img, '2048']);
      runTool('mcopy', ['-i', img, '/etc/hostname', '::/HOST.TXT']);
      const input = 'ls /\nhelp mkdir-p\nbogus\ncat /HOST.TXT\nquit\n';
      const r = runToolStatus('script', ['-qec', `${process.execPath} ${guestkitBin} fish -a ${img} -m /dev/sda`, '/dev/null'], { input });
      const out = r.stdout.replace(/\r/g, '').replace(/\x1b\[[0-9;]*[A-Za-z]/g, '');
      expect(r.status).toBe(0);
      expect(out).toContain('HOST.TXT');
      expect(out).toContain('SYNOPSIS\n    mkdir-p path');
      expect(out).toMatch(/bogus: unknown command/);
      expect(out).toContain(readFileSync('/etc/hostname', 'utf8').trim());
    } finally {
      t.cleanup();
    }
  });
});
