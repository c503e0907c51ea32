import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MemoryDevice, NotFoundError, UsageError } from '@guestkit/disk';
import { openFat, probeFat } from '@guestkit/fs-fat';

/**
 * Reading the committed fixtures made by mkfs.fat + mtools (test/fixtures/scripts/make-fat-fixtures.sh):
 * names as mtools stored them (long names, Unicode, NT case bits, mtools' own aliases), contents,
 * label, serial, case-insensitive lookup. Runs without any oracle tool installed.
 */
const fixtures = join(dirname(fileURLToPath(import.meta.url)), '../../../test/fixtures/fat');
const load = (name: string): MemoryDevice => new MemoryDevice(new Uint8Array(gunzipSync(readFileSync(join(fixtures, name)))), { readOnly: true, name });

/** The generator's bytes: (i*7 + len(tag)) % 251. */
function content(tag: string, n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 7 + tag.length) % 251;
  return b;
}

const TREE: [string, string, number][] = [
  ['/README.TXT', 'small.txt', 13],
  ['/lower.txt', 'lower.txt', 100],
  ['/Long File Name.txt', 'long.txt', 1000],
  ['/ünïcödé ñame.txt', 'uni.txt', 2049],
  ['/日本語.txt', 'cjk.txt', 5],
  ['/empty', 'empty', 0],
  ['/dir1/sub/deep/file.bin', 'deep.bin', 5000],
  ['/dir1/MiXeD.TxT', 'mixed.txt', 64],
];

describe.each([
  ['fat12.img.gz', 'fat12', 'FIXTURE12', '12AB-34CD'],
  ['fat16.img.gz', 'fat16', 'FIXTURE16', '1616-CAFE'],
  ['fat32.img.gz', 'fat32', 'FIXTURE32', '3232-3232'],
] as const)('fixture %s', (file, type, label, uuid) => {
  const dev = load(file);
  const fs = openFat(dev);

  it('identifies the volume', () => {
    expect(probeFat(dev)).toBe(type);
    expect(fs.fatType).toBe(type);
    expect(fs.type).toBe('vfat');
    expect(fs.label).toBe(label);
    expect(fs.uuid).toBe(uuid);
    expect(fs.readOnly).toBe(true);
  });

  it('lists the tree in directory order, without "." and ".."', () => {
    expect(fs.readdir('/').map((e) => e.name)).toEqual(['README.TXT', 'lower.txt', 'Long File Name.txt', 'ünïcödé ñame.txt', '日本語.txt', 'empty', 'dir1', 'many']);
    expect(fs.readdir('/dir1').map((e) => `${e.name}:${e.type}`)).toEqual(['sub:directory', 'MiXeD.TxT:file']);
    const many = fs.readdir('/many');
    expect(many).toHaveLength(40);
    expect(many[0]!.name).toBe('entry number 001 with a long name.txt');
    expect([...fs.walk('/')].length).toBe(8 + 3 + 1 + 40);
  });

  it('reads every file', () => {
    for (const [p, tag, n] of TREE) expect(Buffer.from(fs.readFile(p)).equals(Buffer.from(content(tag, n))), p).toBe(true);
    for (let i = 1; i <= 40; i++) {
      const p = `/many/entry number ${String(i).padStart(3, '0')} with a long name.txt`;
      expect([...fs.readFile(p)]).toEqual([...content('f.txt', i)]);
    }
  });

  it('looks names up case-insensitively and by their 8.3 alias', () => {
    expect(fs.stat('/readme.txt').name).toBe('README.TXT');
    expect(fs.stat('/LONG FILE NAME.TXT').size).toBe(1000);
    expect(fs.stat('/LONGFI~1.TXT').name).toBe('Long File Name.txt');
    expect(fs.stat('/Long File Name.txt').shortName).toBe('LONGFI~1.TXT');
    expect(fs.stat('/ÜNÏCÖDÉ ÑAME.TXT').name).toBe('ünïcödé ñame.txt');
    expect(fs.resolveCase('/DIR1/SUB/DEEP/FILE.BIN')).toBe('/dir1/sub/deep/file.bin');
    expect(fs.resolveCase('/dir1/nope')).toBeUndefined();
    expect(fs.tryStat('/nope')).toBeUndefined();
    expect(() => fs.stat('/nope')).toThrowError(NotFoundError);
    expect(() => fs.stat('/README.TXT/x')).toThrowError(UsageError);
    expect(() => fs.readFile('/dir1')).toThrowError(UsageError);
    expect(() => fs.readdir('/README.TXT')).toThrowError(UsageError);
  });

  it('applies NT case bits to short-only names and reports stored 8.3 names', () => {
    const lower = fs.stat('/lower.txt');
    expect(lower.name).toBe('lower.txt');
    expect(lower.shortName).toBe('LOWER.TXT');
    expect(fs.stat('/README.TXT').shortName).toBeUndefined();
    // mtools (cp850 by default) stored "ÜNÏCÖD~1"; cp437 has no Ï, so 0xD8 decodes as ╪ ...
    expect(fs.stat('/ünïcödé ñame.txt').shortName).toBe('ÜN╪CÖD~1.TXT');
    // ... and with the matching code page it reads back as written.
    expect(openFat(dev, { codepage: 'cp850' }).stat('/ünïcödé ñame.txt').shortName).toBe('ÜNÏCÖD~1.TXT');
  });

  it('reports timestamps (faketime 2024-03-05 06:07:08 UTC) and sizes', () => {
    const st = fs.stat('/dir1/sub/deep/file.bin');
    expect(st.mtime.toISOString()).toBe('2024-03-05T06:07:08.000Z');
    expect(st.size).toBe(5000);
    expect(st.allocatedSize).toBe(Math.ceil(5000 / fs.geometry.clusterSize) * fs.geometry.clusterSize);
    expect(st.attributes & 0x20).toBe(0x20);
    expect(fs.stat('/dir1').type).toBe('directory');
    expect(fs.stat('/').type).toBe('directory');
    const sfs = fs.statfs();
    expect(sfs.blockSize).toBe(fs.geometry.clusterSize);
    expect(sfs.totalBlocks).toBe(fs.geometry.clusterCount);
    expect(sfs.freeBlocks).toBeLessThan(sfs.totalBlocks);
    expect(fs.check().files).toBe(7 + 1 + 40);
  });

  it('streams through a read-only handle', () => {
    const h = fs.open('/dir1/sub/deep/file.bin');
    const part = new Uint8Array(100);
    h.readAt(4900, part);
    expect([...part]).toEqual([...content('deep.bin', 5000).subarray(4900)]);
    expect(() => h.readAt(4950, part)).toThrowError(/past the end/);
    expect(() => h.writeAt(0, part)).toThrowError(/read-only/);
    h.close();
  });
});

describe('fixture fat4k.img.gz (4096-byte sectors)', () => {
  it('reads the volume', () => {
    const fs = openFat(load('fat4k.img.gz'));
    expect(fs.geometry.bytesPerSector).toBe(4096);
    expect(fs.label).toBe('SECT4K');
    expect(Buffer.from(fs.readFile('/big.bin')).equals(Buffer.from(content('big.bin', 100000)))).toBe(true);
  });
});
