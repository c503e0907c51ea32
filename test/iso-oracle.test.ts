import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { describeWithTools, runTool, runToolStatus } from './support/tools.js';
import { repoRoot, tempDir } from './support/shared.js';
import { Rng } from './support/fuzz.js';

/**
 * `guestkit mkiso` checked by readers nobody here wrote: xorriso (libisofs), isoinfo (cdrkit),
 * file(1) and blkid (util-linux). Every file extracted by xorriso must equal its source.
 */
const CLI = path.join(repoRoot, 'apps/cli/bin/guestkit');
const isRoot = process.getuid?.() === 0;

function mkiso(args: string[], env: NodeJS.ProcessEnv = {}): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, 'mkiso', ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

interface SrcEntry {
  rel: string; // "/a/b"
  kind: 'file' | 'dir' | 'symlink' | 'fifo';
  mode: number;
  size: number;
  mtimeSec: number;
  uid: number;
  gid: number;
  target?: string;
}

/** Everything under `root` (lstat), keyed by "/rel/path" (names decoded as UTF-8). */
function walk(root: string): Map<string, SrcEntry> {
  const out = new Map<string, SrcEntry>();
  const rec = (abs: string, rel: string) => {
    for (const name of fs.readdirSync(abs)) {
      const p = path.join(abs, name);
      const r = `${rel}/${name}`;
      const st = fs.lstatSync(p);
      const kind = st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : st.isFIFO() ? 'fifo' : 'file';
      const e: SrcEntry = { rel: r, kind, mode: st.mode, size: st.size, mtimeSec: Math.floor(st.mtimeMs / 1000), uid: st.uid, gid: st.gid };
      if (kind === 'symlink') e.target = fs.readlinkSync(p);
      out.set(r, e);
      if (kind === 'dir') rec(p, r);
    }
  };
  rec(root, '');
  return out;
}

/**
 * `ls -l` style permission string as isoinfo prints it: isoinfo shows only the rwx bits (not
 * setuid/setgid/sticky, which the xorriso extraction test checks) and 'f' for a FIFO.
 */
function permString(mode: number, kind: SrcEntry['kind']): string {
  const t = kind === 'dir' ? 'd' : kind === 'symlink' ? 'l' : kind === 'fifo' ? 'f' : '-';
  const bit = (m: number, c: string) => (mode & m ? c : '-');
  return t + bit(0o400, 'r') + bit(0o200, 'w') + bit(0o100, 'x') + bit(0o40, 'r') + bit(0o20, 'w') + bit(0o10, 'x') +
    bit(0o4, 'r') + bit(0o2, 'w') + bit(0o1, 'x');
}

/** isoinfo prints Joliet names in ISO-8859-1, with '_' for each UTF-16 unit it cannot map. */
function asIsoinfoLatin1(name: string): string {
  let out = '';
  for (let i = 0; i < name.length; i++) out += name.charCodeAt(i) < 0x100 ? name[i] : '_';
  return out;
}

interface ListedEntry {
  perms: string;
  size: number;
  name: string;
  target?: string;
}

/** Parse `isoinfo -l` output into directory → entries (without "." and ".."). */
function parseIsoinfo(text: string): Map<string, ListedEntry[]> {
  const dirs = new Map<string, ListedEntry[]>();
  let cur: ListedEntry[] | undefined;
  const re = /^(\S{10})\s+\d+\s+\d+\s+\d+\s+(\d+) \S+ [ \d]\d \d{4} \[\s*\d+ \d+\]  (.*?) ?$/;
  for (const line of text.split('\n')) {
    const d = /^Directory listing of (.*)$/.exec(line);
    if (d) {
      cur = [];
      dirs.set(d[1]!.replace(/\/$/, '') || '/', cur);
      continue;
    }
    const m = re.exec(line);
    if (!m || !cur) continue;
    let name = m[3]!;
    if (name === '.' || name === '..') continue;
    let target: string | undefined;
    const arrow = name.indexOf(' -> ');
    if (m[1]![0] === 'l' && arrow >= 0) {
      target = name.slice(arrow + 4);
      name = name.slice(0, arrow);
    }
    cur.push({ perms: m[1]!, size: Number(m[2]), name, ...(target !== undefined ? { target } : {}) });
  }
  return dirs;
}

/** Paths printed by `xorriso -indev ISO -find /` (quoted, one per line). */
function xorrisoFind(iso: string): string[] {
  const out = runTool('xorriso', ['-indev', iso, '-find', '/']).toString();
  return out.split('\n').filter((l) => l.startsWith("'")).map((l) => l.slice(1, -1));
}

/** Extract the whole image with xorriso and compare every entry with the source. */
function extractAndCompare(iso: string, src: string, scratch: string, opts: { owners: boolean; skip?: Set<string> }): void {
  const ex = path.join(scratch, `extract-${Math.random().toString(36).slice(2)}`);
  runTool('xorriso', ['-osirrox', 'on', '-indev', iso, '-extract', '/', ex]);
  const a = walk(src);
  const b = walk(ex);
  expect([...b.keys()].sort()).toEqual([...a.keys()].sort());
  for (const [rel, s] of a) {
    if (opts.skip?.has(rel)) continue;
    const x = b.get(rel)!;
    expect({ rel, kind: x.kind }).toEqual({ rel, kind: s.kind });
    if (s.kind === 'symlink') {
      expect({ rel, target: x.target }).toEqual({ rel, target: s.target });
      continue;
    }
    expect({ rel, mode: (x.mode & 0o7777).toString(8) }).toEqual({ rel, mode: (s.mode & 0o7777).toString(8) });
    if (s.kind !== 'dir') expect({ rel, mtime: x.mtimeSec }).toEqual({ rel, mtime: s.mtimeSec });
    if (opts.owners) expect({ rel, uid: x.uid, gid: x.gid }).toEqual({ rel, uid: s.uid, gid: s.gid });
    if (s.kind === 'file') {
      expect({ rel, size: x.size }).toEqual({ rel, size: s.size });
      const sa = fs.readFileSync(path.join(src, rel));
      const sb = fs.readFileSync(path.join(ex, rel));
      expect(sb.equals(sa), `content of ${rel}`).toBe(true);
    }
  }
  fs.rmSync(ex, { recursive: true, force: true });
}

function rndBytes(rng: Rng, n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = rng.next() & 0xff;
  return b;
}

describeWithTools(['xorriso', 'isoinfo', 'file', 'blkid'], 'guestkit mkiso against xorriso, isoinfo, file and blkid', () => {
  let t: { dir: string; cleanup: () => void };
  let src: string;
  let iso: string;
  let summary: { files: number; directories: number; warnings: string[]; volumeId: string };
  const long100 = 'L'.repeat(96) + '.txt';
  const long255 = 'n'.repeat(251) + '.bin';

  beforeAll(() => {
    t = tempDir('gk-iso-oracle-');
    src = path.join(t.dir, 'src');
    const rng = new Rng(2024);
    const put = (rel: string, data: Buffer | string, mode?: number) => {
      const p = path.join(src, rel);
      fs.mkdirSync(path.dirname(p), { recursive: true });
      fs.writeFileSync(p, data);
      if (mode !== undefined) fs.chmodSync(p, mode);
    };
    put('hello.txt', 'hello, world\n');
    put('UPPER.TXT', 'upper\n');
    put('upper.txt', 'lower\n'); // collides with UPPER.TXT in ISO 9660 names
    put(long100, 'long name\n');
    put(long255, rndBytes(rng, 5000));
    put('caf\u00e9 \u00f1 \u65e5\u672c\u8a9e.txt', 'unicode\n');
    put('emoji \u{1F600}\u{1F680}.txt', 'emoji\n');
    put('sizes/empty', '');
    put('sizes/one', 'x');
    put('sizes/2047', rndBytes(rng, 2047));
    put('sizes/2048', rndBytes(rng, 2048));
    put('sizes/2049', rndBytes(rng, 2049));
    put('sizes/1MiB', rndBytes(rng, 1 << 20));
    put('perms/private', 'secret\n', 0o600);
    put('perms/exec.sh', '#!/bin/sh\n', 0o755);
    put('perms/readonly', 'ro\n', 0o444);
    fs.mkdirSync(path.join(src, 'perms/sticky'));
    fs.chmodSync(path.join(src, 'perms/sticky'), 0o1777);
    fs.mkdirSync(path.join(src, 'empty-dir'));
    put('times/old', 'old\n');
    fs.utimesSync(path.join(src, 'times/old'), new Date('2001-02-03T04:05:06Z'), new Date('2001-02-03T04:05:06Z'));
    put('times/future', 'future\n');
    fs.utimesSync(path.join(src, 'times/future'), new Date('2099-12-31T23:59:58Z'), new Date('2099-12-31T23:59:58Z'));
    if (isRoot) {
      put('owners/someone', 'owned\n');
      fs.chownSync(path.join(src, 'owners/someone'), 1234, 5678);
    }
    fs.mkdirSync(path.join(src, 'links'));
    fs.symlinkSync('../hello.txt', path.join(src, 'links/rel'));
    fs.symlinkSync('/etc/hostname', path.join(src, 'links/abs'));
    fs.symlinkSync('does/not/exist', path.join(src, 'links/dangling'));
    fs.symlinkSync('../sizes', path.join(src, 'links/to-dir'));
    fs.symlinkSync('./a/../b/./' + 'c'.repeat(200) + '/' + 'd'.repeat(250), path.join(src, 'links/long-target'));
    fs.linkSync(path.join(src, 'hello.txt'), path.join(src, 'links/hard'));
    spawnSync('mkfifo', [path.join(src, 'fifo')]);
    // Deeper than ECMA-119's 8 levels.
    put('deep/1/2/3/4/5/6/7/8/9/10/11/12/leaf.txt', 'deep\n');
    // A Joliet path longer than 240 bytes (60-character components).
    put(['j'.repeat(60) + '1', 'j'.repeat(60) + '2', 'j'.repeat(60) + '3'].join('/') + '/far.txt', 'far\n');
    // Many files: directories spanning many blocks.
    for (let i = 0; i < 1500; i++) put(`many/entry-${String(i).padStart(5, '0')}-${'m'.repeat(i % 90)}.dat`, `${i}\n`);
    iso = path.join(t.dir, 'out.iso');
    const r = mkiso([src, '-o', iso, '-V', 'GK_TEST', '--json']);
    expect(r.status, r.stderr).toBe(0);
    // The only diagnostic: the path too long for Joliet (xorriso warns about it the same way).
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^guestkit: warning: 1 entry is left out of the Joliet tree/)]);
    summary = JSON.parse(r.stdout);
  });

  afterAll(() => t?.cleanup());

  it('reports what it wrote', () => {
    const files = [...walk(src).values()].filter((e) => e.kind === 'file').length;
    expect(summary.files).toBe(files);
    expect(summary.volumeId).toBe('GK_TEST');
    expect(summary.warnings.some((w) => w.includes('Joliet path would exceed 240 bytes'))).toBe(true);
  });

  it('file -s and blkid recognise an ISO 9660 filesystem with the label', () => {
    expect(runTool('file', ['-s', iso]).toString()).toMatch(/ISO 9660 CD-ROM filesystem data 'GK_TEST'/);
    const b = runTool('blkid', ['-p', '-o', 'export', iso]).toString();
    expect(b).toMatch(/^TYPE=iso9660$/m);
    expect(b).toMatch(/^LABEL=GK_TEST$/m);
  });

  it('xorriso -find lists exactly the tree', () => {
    const listed = xorrisoFind(iso).sort();
    expect(listed).toEqual(['/', ...walk(src).keys()].sort());
  });

  it('isoinfo -R -l shows every name, size, permission and symlink target', () => {
    const listing = parseIsoinfo(runTool('isoinfo', ['-R', '-l', '-i', iso]).toString());
    const all = walk(src);
    const dirs = new Set(['/', ...[...all.values()].filter((e) => e.kind === 'dir').map((e) => e.rel)]);
    expect(new Set(listing.keys())).toEqual(dirs);
    for (const e of all.values()) {
      const parent = path.posix.dirname(e.rel);
      const got = listing.get(parent)!.find((x) => x.name === path.posix.basename(e.rel));
      expect(got, e.rel).toBeDefined();
      expect({ rel: e.rel, perms: got!.perms }).toEqual({ rel: e.rel, perms: permString(e.mode, e.kind) });
      if (e.kind === 'file') expect({ rel: e.rel, size: got!.size }).toEqual({ rel: e.rel, size: e.size });
      if (e.kind === 'symlink') expect({ rel: e.rel, target: got!.target }).toEqual({ rel: e.rel, target: e.target });
    }
    expect(listing.get('/')!.some((x) => x.name === long255)).toBe(true);
  });

  it('isoinfo -J -l shows the Joliet tree: 64-character names, no symlinks, no paths over 240 bytes', () => {
    const listing = parseIsoinfo(runTool('isoinfo', ['-J', '-l', '-i', iso]).toString('latin1'));
    const root = listing.get('/')!.map((x) => x.name);
    expect(root).toContain('hello.txt');
    expect(root).toContain(asIsoinfoLatin1('caf\u00e9 \u00f1 \u65e5\u672c\u8a9e.txt'));
    expect(root).toContain(asIsoinfoLatin1('emoji \u{1F600}\u{1F680}.txt'));
    expect(root).toContain('L'.repeat(60) + '.txt');
    expect(root.filter((n) => n.toLowerCase() === 'upper.txt').sort()).toEqual(['UPPER.TXT', 'upper.txt']);
    for (const entries of listing.values()) for (const e of entries) expect(e.name.length).toBeLessThanOrEqual(64);
    expect(listing.get('/links')!.map((x) => x.name)).toEqual(['hard']);
    expect(root).not.toContain('fifo');
    expect(listing.has('/deep/1/2/3/4/5/6/7/8/9/10/11/12')).toBe(true);
    const j = 'j'.repeat(60);
    expect(listing.has(`/${j}1`)).toBe(true);
    expect(listing.has(`/${j}1/${j}2`)).toBe(false); // 2 x 2 x (61 + 1) = 248 bytes > 240
    expect(listing.get('/many')!.length).toBe(1500);
    // xorriso makes the same decisions about which directories Joliet can hold.
    const ref = path.join(t.dir, 'ref-joliet.iso');
    runTool('xorriso', ['-as', 'mkisofs', '-R', '-J', '-o', ref, src]);
    const refListing = parseIsoinfo(runTool('isoinfo', ['-J', '-l', '-i', ref]).toString('latin1'));
    expect([...listing.keys()].sort()).toEqual([...refListing.keys()].sort());
  });

  it('isoinfo -R -J -l and plain isoinfo -l read the image', () => {
    const both = runToolStatus('isoinfo', ['-R', '-J', '-l', '-i', iso]);
    expect(both.status).toBe(0);
    expect(both.stdout).toContain('hello.txt');
    const plain = parseIsoinfo(runTool('isoinfo', ['-l', '-i', iso]).toString());
    const names = plain.get('/')!.map((x) => x.name);
    expect(names).toContain('HELLO.TXT;1');
    for (const entries of plain.values()) {
      for (const e of entries) expect(e.name).toMatch(/^[A-Z0-9_]{1,31}$|^[A-Z0-9_]*\.[A-Z0-9_]*;1$/);
    }
  });

  it('xorriso extracts every file equal to its source, with modes, times and symlinks', () => {
    extractAndCompare(iso, src, t.dir, { owners: isRoot });
  });

  it('SOURCE_DATE_EPOCH makes the image reproducible', () => {
    const a = path.join(t.dir, 'r1.iso');
    const b = path.join(t.dir, 'r2.iso');
    expect(mkiso([path.join(src, 'sizes'), '-o', a], { SOURCE_DATE_EPOCH: '1700000000' }).status).toBe(0);
    expect(mkiso([path.join(src, 'sizes'), '-o', b], { SOURCE_DATE_EPOCH: '1700000000' }).status).toBe(0);
    expect(fs.readFileSync(a).equals(fs.readFileSync(b))).toBe(true);
    expect(runTool('isoinfo', ['-d', '-i', a]).toString()).toMatch(/Volume id: ISOIMAGE/);
  });

  it('level 1 writes 8.3 names that plain readers list', () => {
    const out = path.join(t.dir, 'l1.iso');
    expect(mkiso([path.join(src, 'perms'), '-o', out, '--iso-level', '1']).status).toBe(0);
    const plain = parseIsoinfo(runTool('isoinfo', ['-l', '-i', out]).toString());
    for (const entries of plain.values()) for (const e of entries) expect(e.name).toMatch(/^[A-Z0-9_]{1,8}(\.[A-Z0-9_]{0,3};1)?$/);
    extractAndCompare(out, path.join(src, 'perms'), t.dir, { owners: isRoot });
  });

  it('refuses bad input with the documented exit codes', () => {
    const notDir = mkiso([path.join(src, 'hello.txt'), '-o', path.join(t.dir, 'x.iso')]);
    expect(notDir.status).toBe(2);
    expect(notDir.stderr).toContain('ISO_SOURCE_NOT_DIRECTORY');
    const noBoot = mkiso([src, '-o', path.join(t.dir, 'x.iso'), '-b', 'boot/missing.bin']);
    expect(noBoot.status).toBe(1);
    expect(noBoot.stderr).toContain('ISO_BOOT_IMAGE_NOT_FOUND');
    expect(fs.existsSync(path.join(t.dir, 'x.iso'))).toBe(false);
  });

  it('an interrupted mkiso leaves no partial output and keeps an existing image', async () => {
    const d = path.join(t.dir, 'interrupt');
    fs.mkdirSync(d);
    fs.writeFileSync(path.join(d, 'big'), '');
    fs.truncateSync(path.join(d, 'big'), 8 * 1024 ** 3); // sparse: slow enough to interrupt, costs no disk
    const out = path.join(t.dir, 'interrupt.iso');
    fs.writeFileSync(out, 'previous image');
    const child = spawn(process.execPath, [CLI, 'mkiso', d, '-o', out], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (b) => (err += b));
    await new Promise((r) => setTimeout(r, 1500));
    child.kill('SIGINT');
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    expect(code).toBe(130);
    expect(err).toContain('was not written');
    expect(fs.readFileSync(out, 'utf8')).toBe('previous image');
    expect(fs.readdirSync(t.dir).filter((n) => n.includes('.tmp-'))).toEqual([]);
  }, 60_000);

  it('an image written inside its own source tree does not include itself', () => {
    const d = path.join(t.dir, 'selfref');
    fs.mkdirSync(d);
    fs.writeFileSync(path.join(d, 'a.txt'), 'a\n');
    const out = path.join(d, 'self.iso');
    expect(mkiso([d, '-o', out]).status).toBe(0);
    expect(mkiso([d, '-o', out]).status).toBe(0); // second run sees the first image and must skip it too
    expect(xorrisoFind(out).sort()).toEqual(['/', '/a.txt']);
  });
});

describeWithTools(['xorriso', 'mkfs.fat'], 'guestkit mkiso El Torito boot images', () => {
  let t: { dir: string; cleanup: () => void };
  let src: string;
  beforeAll(() => {
    t = tempDir('gk-iso-boot-');
    src = path.join(t.dir, 'src');
    fs.mkdirSync(path.join(src, 'boot'), { recursive: true });
    fs.writeFileSync(path.join(src, 'boot/bios.bin'), rndBytes(new Rng(7), 3000));
    runTool('mkfs.fat', ['-C', path.join(src, 'boot/efi.img'), '1440']);
    fs.writeFileSync(path.join(src, 'readme.txt'), 'boot me\n');
  });
  afterAll(() => t?.cleanup());

  function report(iso: string): string[] {
    return runTool('xorriso', ['-indev', iso, '-report_el_torito', 'plain']).toString().split('\n').filter((l) => l.startsWith('El Torito'));
  }

  it('BIOS no-emulation + UEFI entries as xorriso reports them, boot info table as xorriso computes it', () => {
    const iso = path.join(t.dir, 'boot.iso');
    const r = mkiso([src, '-o', iso, '-V', 'BOOTME', '-b', 'boot/bios.bin', '--boot-info-table', '-e', 'boot/efi.img', '--json']);
    expect(r.status).toBe(0);
    const s = JSON.parse(r.stdout) as { boot: { platform: string; lba: number; sectors: number }[] };
    const rep = report(iso);
    const img = rep.filter((l) => l.startsWith('El Torito boot img :'));
    expect(img.map((l) => l.split(/\s+/).slice(5, 11))).toEqual([
      ['1', 'BIOS', 'y', 'none', '0x0000', '0x00'],
      ['2', 'UEFI', 'y', 'none', '0x0000', '0x00'],
    ]);
    expect(img[0]!.split(/\s+/).slice(-2)).toEqual(['8', String(s.boot[0]!.lba)]);
    expect(img[1]!.split(/\s+/).slice(-2)).toEqual(['2880', String(s.boot[1]!.lba)]);
    expect(rep.filter((l) => l.startsWith('El Torito img path')).map((l) => l.split(/\s+/).pop())).toEqual(['/boot/bios.bin', '/boot/efi.img']);
    expect(rep.some((l) => /img opts :\s+1\s+boot-info-table/.test(l))).toBe(true);

    // xorriso's own image of the same tree: the boot info tables must agree on every field but the image block.
    const ref = path.join(t.dir, 'ref.iso');
    runTool('xorriso', ['-as', 'mkisofs', '-R', '-J', '-o', ref, '-b', 'boot/bios.bin', '-no-emul-boot', '-boot-info-table', '-eltorito-alt-boot', '-e', 'boot/efi.img', '-no-emul-boot', src]);
    const refLba = Number(report(ref).find((l) => l.startsWith('El Torito boot img :   1'))!.split(/\s+/).pop());
    const ours = Buffer.alloc(64);
    const theirs = Buffer.alloc(64);
    const fo = fs.openSync(iso, 'r');
    fs.readSync(fo, ours, 0, 64, s.boot[0]!.lba * 2048);
    fs.closeSync(fo);
    const fr = fs.openSync(ref, 'r');
    fs.readSync(fr, theirs, 0, 64, refLba * 2048);
    fs.closeSync(fr);
    expect(ours.readUInt32LE(8)).toBe(16);
    expect(ours.readUInt32LE(12)).toBe(s.boot[0]!.lba);
    expect([ours.readUInt32LE(8), ours.readUInt32LE(16), ours.readUInt32LE(20)]).toEqual([theirs.readUInt32LE(8), theirs.readUInt32LE(16), theirs.readUInt32LE(20)]);
    // The UEFI image is stored unchanged.
    const ex = path.join(t.dir, 'efi-out.img');
    runTool('xorriso', ['-osirrox', 'on', '-indev', iso, '-extract', '/boot/efi.img', ex]);
    expect(fs.readFileSync(ex).equals(fs.readFileSync(path.join(src, 'boot/efi.img')))).toBe(true);
  });

  it('UEFI-only images put the EFI platform in the validation entry', () => {
    const iso = path.join(t.dir, 'uefi.iso');
    expect(mkiso([src, '-o', iso, '--uefi', 'boot/efi.img']).status).toBe(0);
    const img = report(iso).filter((l) => l.startsWith('El Torito boot img :'));
    expect(img.length).toBe(1);
    expect(img[0]!.split(/\s+/)[6]).toBe('UEFI');
  });
});

describeWithTools(['xorriso', 'isoinfo'], 'guestkit mkiso with files of 4 GiB and more (multi-extent)', () => {
  it('records a 4 GiB + 5 KiB sparse file in two extents that xorriso extracts intact, and level 2 refuses it', () => {
    const t = tempDir('gk-iso-4g-');
    try {
      const src = path.join(t.dir, 'src');
      fs.mkdirSync(src);
      const big = path.join(src, 'big.img');
      const size = 4 * 1024 ** 3 + 5 * 1024;
      fs.writeFileSync(big, '');
      fs.truncateSync(big, size);
      const marks: [number, string][] = [[0, 'START'], [0xffff_f800 - 3, 'EDGE!!'], [size - 4, 'END!']];
      const fd = fs.openSync(big, 'r+');
      for (const [o, s] of marks) fs.writeSync(fd, Buffer.from(s), 0, s.length, o);
      fs.closeSync(fd);
      fs.writeFileSync(path.join(src, 'small.txt'), 'small\n');

      const refused = mkiso([src, '-o', path.join(t.dir, 'l2.iso'), '--iso-level', '2']);
      expect(refused.status).toBe(3);
      expect(refused.stderr).toContain('ISO_FILE_TOO_LARGE');

      const iso = path.join(t.dir, 'big.iso');
      expect(mkiso([src, '-o', iso]).status).toBe(0);
      expect(fs.statSync(iso).size).toBeGreaterThan(size);
      expect(fs.statSync(iso).blocks * 512).toBeLessThan(64 * 1024 * 1024); // the output stays sparse (three data chunks)

      const lsdl = runTool('xorriso', ['-indev', iso, '-find', '/big.img', '-exec', 'lsdl']).toString();
      expect(lsdl).toMatch(new RegExp(`\\s${size}\\s.*'/big.img'`));
      const listing = runTool('isoinfo', ['-R', '-l', '-i', iso]).toString();
      expect(listing).toContain('big.img');

      const out = path.join(t.dir, 'big.out');
      runTool('xorriso', ['-osirrox', 'on:sparse=1m', '-indev', iso, '-extract', '/big.img', out]);
      expect(fs.statSync(out).size).toBe(size);
      const rfd = fs.openSync(out, 'r');
      for (const [o, s] of marks) {
        const b = Buffer.alloc(s.length + 8);
        fs.readSync(rfd, b, 0, b.length, Math.max(0, o - 4));
        const exp = Buffer.alloc(b.length);
        Buffer.from(s).copy(exp, o - Math.max(0, o - 4));
        expect(b.subarray(0, Math.min(b.length, size - Math.max(0, o - 4)))).toEqual(exp.subarray(0, Math.min(b.length, size - Math.max(0, o - 4))));
      }
      fs.closeSync(rfd);
    } finally {
      t.cleanup();
    }
  }, 180_000);
});

describeWithTools(['xorriso'], 'guestkit mkiso on seeded random trees (names with any bytes)', () => {
  // Names drawn from a hostile alphabet: spaces, dots, ISO-forbidden characters, Joliet-forbidden
  // characters, non-ASCII and bytes that are not UTF-8. xorriso must extract the tree exactly.
  const alphabet = [...'aZ09 ._-~+=,;:*?\\\'"!@#$%^&()[]{}', '\u00e9', '\u4e2d', '\u{1F600}'];
  for (const seed of [1, 2, 3]) {
    it(`seed ${seed}`, () => {
      const t = tempDir(`gk-iso-rand${seed}-`);
      try {
        const rng = new Rng(seed * 7919);
        const src = path.join(t.dir, 'src');
        fs.mkdirSync(src);
        const dirs = [src];
        let n = 0;
        while (n < 120) {
          const parent = rng.pick(dirs);
          let name = '';
          const len = 1 + rng.int(rng.int(4) === 0 ? 120 : 20);
          while (Buffer.byteLength(name) < len) name += rng.pick(alphabet);
          let nameBuf = Buffer.from(name).subarray(0, 200);
          if (rng.int(10) === 0) nameBuf = Buffer.concat([nameBuf, Buffer.from([0xff, 0xfe])]); // not UTF-8
          if (nameBuf.includes(0x2f) || nameBuf.equals(Buffer.from('.')) || nameBuf.equals(Buffer.from('..'))) continue;
          const p = Buffer.concat([Buffer.from(parent + '/'), nameBuf]);
          if (fs.existsSync(p)) continue;
          const kind = rng.int(5);
          if (kind === 0) {
            fs.mkdirSync(p);
            dirs.push(p.toString('latin1') === p.toString() ? p.toString() : parent);
          } else if (kind === 1) fs.symlinkSync(Buffer.from('x/'.repeat(rng.int(200)) + name), p);
          else fs.writeFileSync(p, rndBytes(rng, rng.int(5000)));
          n++;
        }
        const iso = path.join(t.dir, 'r.iso');
        const r = mkiso([src, '-o', iso]);
        expect(r.status, r.stderr).toBe(0);
        const ex = path.join(t.dir, 'ex');
        runTool('xorriso', ['-osirrox', 'on', '-indev', iso, '-extract', '/', ex]);
        const diff = spawnSync('diff', ['-r', '--no-dereference', src, ex], { encoding: 'utf8' });
        expect(diff.stdout + diff.stderr).toBe('');
        expect(diff.status).toBe(0);
      } finally {
        t.cleanup();
      }
    }, 60_000);
  }
});
