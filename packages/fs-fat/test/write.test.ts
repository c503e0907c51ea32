import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hasTool, inCI, runToolStatus } from '../../../test/support/tools.js';
import {
  ExistsError, LimitError, MemoryDevice, NotFoundError, OutOfRangeError, ReadOnlyError, UsageError,
} from '@guestkit/disk';
import { mkfs, openFat, FatCode, type FatFileSystem } from '@guestkit/fs-fat';

/** FileSystem semantics of writes, handles and errors (the oracle tests live in test/fat-*.test.ts). */
const MIB = 1024 * 1024;
const T = new Date('2024-06-01T12:00:00Z');

/** Every volume a test wrote; afterEach flushes it and has fsck.fat -n check it. */
const written: { dev: MemoryDevice; fs: FatFileSystem }[] = [];

function fresh(size = 8 * MIB, type?: 'fat12' | 'fat16' | 'fat32'): { dev: MemoryDevice; fs: FatFileSystem } {
  const dev = new MemoryDevice(size);
  mkfs(dev, { type, serial: 1 });
  const v = { dev, fs: openFat(dev, { write: true, clock: () => T }) };
  written.push(v);
  return v;
}

afterEach(() => {
  const vols = written.splice(0);
  if (!hasTool('fsck.fat')) {
    if (inCI) throw new Error('fsck.fat missing under CI');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'gk-fat-unit-'));
  try {
    for (const [i, v] of vols.entries()) {
      try {
        v.fs.flush();
      } catch {
        /* closed */
      }
      const img = join(dir, `${i}.img`);
      writeFileSync(img, v.dev.bytes);
      const r = runToolStatus('fsck.fat', ['-n', img]);
      expect(r.status, `fsck.fat -n after the test:\n${r.stdout}${r.stderr}`).toBe(0);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

describe('fs-fat write semantics', () => {
  it('creates, replaces and reads files; errors are typed', () => {
    const { fs } = fresh();
    fs.mkdir('/d');
    fs.writeFile('/d/a.txt', enc('one'));
    fs.writeFile('/D/A.TXT', enc('two, longer')); // same file, case-insensitively
    expect(dec(fs.readFile('/d/a.txt'))).toBe('two, longer');
    expect(fs.readdir('/d').map((e) => e.name)).toEqual(['a.txt']);
    expect(() => fs.mkdir('/d')).toThrowError(ExistsError);
    expect(() => fs.mkdir('/x/y')).toThrowError(NotFoundError);
    expect(() => fs.writeFile('/d/a.txt/z', enc('x'))).toThrowError(UsageError);
    expect(() => fs.writeFile('/d', enc('x'))).toThrowError(expect.objectContaining({ code: FatCode.IsADirectory }));
    expect(() => fs.unlink('/d')).toThrowError(expect.objectContaining({ code: FatCode.IsADirectory }));
    expect(() => fs.rmdir('/d/a.txt')).toThrowError(expect.objectContaining({ code: FatCode.NotADirectory }));
    expect(() => fs.rmdir('/d')).toThrowError(expect.objectContaining({ code: FatCode.DirNotEmpty }));
    expect(() => fs.rmdir('/')).toThrowError(UsageError);
    expect(() => fs.unlink('/nope')).toThrowError(NotFoundError);
    expect(() => fs.writeFile('/bad:name', enc('x'))).toThrowError(expect.objectContaining({ code: FatCode.BadName }));
    expect(() => fs.writeFile('/' + 'x'.repeat(256), enc('x'))).toThrowError(expect.objectContaining({ code: FatCode.NameTooLong }));
    expect(() => fs.readFile('/d/a.txt', { maxBytes: 3 })).toThrowError(LimitError);
  });

  it('drops trailing dots and spaces from new names, like Windows', () => {
    const { fs } = fresh();
    fs.writeFile('/name. .', enc('x'));
    expect(fs.readdir('/').map((e) => e.name)).toEqual(['name']);
    expect(fs.stat('/name.').name).toBe('name');
    expect(() => fs.mkdir('/name ')).toThrowError(ExistsError);
  });

  it('renames: case only, across directories, onto existing names, into itself', () => {
    const { fs } = fresh();
    fs.mkdir('/a');
    fs.mkdir('/a/b');
    fs.writeFile('/a/file.txt', enc('f'));
    fs.rename('/a/file.txt', '/a/FILE.TXT');
    expect(fs.readdir('/a').map((e) => e.name).sort()).toEqual(['FILE.TXT', 'b']);
    fs.rename('/a/FILE.TXT', '/a/b/Moved File.txt');
    expect(dec(fs.readFile('/a/b/moved file.txt'))).toBe('f');
    fs.writeFile('/other', enc('o'));
    expect(() => fs.rename('/other', '/a/b/MOVED FILE.TXT')).toThrowError(ExistsError);
    expect(() => fs.rename('/a', '/a/b/c')).toThrowError(expect.objectContaining({ code: FatCode.BadRename }));
    expect(() => fs.rename('/', '/z')).toThrowError(UsageError);
    expect(() => fs.rename('/nope', '/z')).toThrowError(NotFoundError);
    fs.rename('/a/b', '/b2');
    expect(fs.readdir('/b2').map((e) => e.name)).toEqual(['Moved File.txt']);
    expect(fs.check().directories).toBe(3);
  });

  it('handles: create/exclusive/truncate, shared state, rename and unlink while open', () => {
    const { fs } = fresh();
    const h = fs.open('/h.bin', { create: true });
    expect(h.readOnly).toBe(false);
    h.writeAt(0, enc('hello'));
    const h2 = fs.open('/h.bin', { write: true });
    expect(h2.size).toBe(5);
    h2.writeAt(5, enc(' world'));
    expect(h.size).toBe(11);
    expect(() => fs.open('/h.bin', { create: true, exclusive: true })).toThrowError(ExistsError);
    fs.mkdir('/dir');
    fs.rename('/h.bin', '/dir/renamed.bin');
    h.writeAt(11, enc('!'));
    expect(dec(fs.readFile('/dir/renamed.bin'))).toBe('hello world!');
    const buf = new Uint8Array(5);
    expect(() => h.readAt(10, buf)).toThrowError(OutOfRangeError);
    const h3 = fs.open('/dir/renamed.bin', { truncate: true });
    expect(h3.size).toBe(0);
    expect(h.size).toBe(0);
    fs.unlink('/dir/renamed.bin');
    expect(() => h.writeAt(0, enc('x'))).toThrowError(expect.objectContaining({ code: FatCode.Closed }));
    h.close();
    h2.close();
    h3.close();
    expect(() => h.readAt(0, buf)).toThrowError(expect.objectContaining({ code: FatCode.Closed }));
    expect(() => fs.open('/nope')).toThrowError(NotFoundError);
    expect(() => fs.open('/dir')).toThrowError(UsageError);
  });

  it('grows files through handles without writing every byte twice, and never exposes stale data', () => {
    // mkfs leaves the data area as it was: every free cluster here is full of stale 0xFF bytes.
    const dev = new MemoryDevice(new Uint8Array(8 * MIB).fill(0xff));
    mkfs(dev, { serial: 1 });
    const fs = openFat(dev, { write: true, clock: () => T });
    written.push({ dev, fs });
    const cs = fs.geometry.clusterSize;
    const h = fs.open('/new', { create: true });
    h.truncate(8 * cs);
    const oldCluster = fs.stat('/new').inode;
    const all = new Uint8Array(8 * cs);
    h.readAt(0, all);
    expect(all.every((b) => b === 0)).toBe(true);
    expect(fs.readFile('/new').every((b) => b === 0)).toBe(true);
    h.writeAt(3 * cs, new Uint8Array([1, 2, 3]));
    h.readAt(0, all);
    expect([...all.subarray(3 * cs - 1, 3 * cs + 4)]).toEqual([0, 1, 2, 3, 0]);
    expect(all.filter((b) => b !== 0).length).toBe(3);
    h.close();
    fs.flush();
    const off = fs.geometry.dataOffset + (oldCluster - 2) * cs;
    const disk = dev.bytes.subarray(off, off + 8 * cs);
    expect(disk.filter((b) => b !== 0).length).toBe(3); // zeros are on disk after close
    expect(fs.check().files).toBe(1);
  });

  it('keeps a removed file\'s handle from disturbing the file that reuses its slot', () => {
    const { fs } = fresh();
    fs.writeFile('/a', enc('A'));
    const ha = fs.open('/a', { write: true });
    fs.unlink('/a');
    fs.writeFile('/b', enc('B')); // takes the freed directory slot
    const hb = fs.open('/b', { write: true });
    ha.close();
    hb.writeAt(1, enc('bb'));
    expect(dec(fs.readFile('/b'))).toBe('Bbb');
    expect(fs.open('/b').size).toBe(3);
    hb.close();
  });

  it('limits files to 4 GiB - 1 without allocating', () => {
    const { fs } = fresh();
    const h = fs.open('/big', { create: true });
    expect(() => h.truncate(2 ** 32)).toThrowError(expect.objectContaining({ code: FatCode.FileTooLarge }));
    expect(() => h.writeAt(2 ** 32 - 1, new Uint8Array(2))).toThrowError(expect.objectContaining({ code: FatCode.FileTooLarge }));
    expect(h.size).toBe(0);
  });

  it('keeps statfs and the FSInfo free count exact across writes and frees', () => {
    const { dev, fs } = fresh(40 * MIB, 'fat32');
    const free0 = fs.statfs().freeBlocks;
    const cs = fs.geometry.clusterSize;
    fs.writeFile('/x', new Uint8Array(10 * cs + 1));
    fs.mkdir('/d');
    expect(fs.statfs().freeBlocks).toBe(free0 - 12);
    fs.unlink('/x');
    fs.flush();
    const fresh2 = openFat(dev);
    expect(fresh2.statfs().freeBlocks).toBe(free0 - 1);
    expect(fs.statfs().freeBlocks).toBe(free0 - 1);
  });

  it('sets timestamps from the clock and utimes', () => {
    const { fs } = fresh();
    fs.writeFile('/t', enc('x'));
    const st = fs.stat('/t');
    expect(st.mtime.toISOString()).toBe('2024-06-01T12:00:00.000Z');
    expect(st.birthtime.toISOString()).toBe('2024-06-01T12:00:00.000Z');
    fs.utimes('/t', { mtime: new Date('2020-01-02T03:04:06Z'), atime: new Date('2021-05-05T00:00:00Z'), birthtime: new Date('2019-01-01T00:00:01.230Z') });
    const st2 = fs.stat('/t');
    expect([st2.mtime, st2.atime, st2.birthtime].map((d) => d.toISOString())).toEqual([
      '2020-01-02T03:04:06.000Z', '2021-05-05T00:00:00.000Z', '2019-01-01T00:00:01.230Z',
    ]);
  });

  it('refuses writes when read-only or closed', () => {
    const { dev } = fresh();
    const ro = openFat(dev);
    expect(ro.readOnly).toBe(true);
    expect(() => ro.writeFile('/x', enc('x'))).toThrowError(ReadOnlyError);
    expect(() => ro.open('/x', { create: true })).toThrowError(ReadOnlyError);
    ro.close();
    expect(() => ro.readdir('/')).toThrowError(expect.objectContaining({ code: FatCode.Closed }));
    const rw = openFat(dev, { write: true });
    rw.close();
    expect(() => rw.mkdir('/x')).toThrowError(expect.objectContaining({ code: FatCode.Closed }));
  });

  it('fills the FAT12/16 root directory, reusing deleted slots', () => {
    const { fs } = fresh(2 * MIB, 'fat12');
    const n = fs.geometry.rootEntries;
    for (let i = 0; i < n; i++) fs.writeFile(`/F${i}`, new Uint8Array(0));
    expect(() => fs.writeFile('/more', new Uint8Array(0))).toThrowError(expect.objectContaining({ code: FatCode.RootFull }));
    fs.unlink('/F3');
    fs.writeFile('/more', new Uint8Array(0));
    expect(fs.readdir('/')[3]!.name).toBe('more');
  });
});
