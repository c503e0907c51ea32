import { afterAll, beforeAll, describe, expect } from 'vitest';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { FileDevice, NoSpaceError, ExistsError, UsageError, IoError } from '@guestkit/disk';
import { openFat, FatCode, windowsShortNameChecksum } from '@guestkit/fs-fat';
import { tempDir } from './support/shared.js';
import { itWithTools } from './support/tools.js';
import { bytes, mkfsFat, openRw, verifyImage, type Model } from '../packages/fs-fat/test/support/model.js';
import { fsckFat, run } from '../packages/fs-fat/test/support/oracles.js';

/**
 * Write scenarios on volumes made by mkfs.fat, each checked afterwards with fsck.fat -n, mdir and
 * mcopy (see verifyImage), on FAT12, FAT16, FAT32 and a FAT32 volume with 4096-byte sectors.
 */
const TOOLS = ['mkfs.fat', 'fsck.fat', 'mdir', 'mcopy'];

const VOLUMES = [
  { name: 'FAT12', args: ['-F', '12', '-i', '0000F012'], kib: 1440, cluster: 512 },
  { name: 'FAT16', args: ['-F', '16', '-i', '0000F016'], kib: 16 * 1024, cluster: 2048 },
  { name: 'FAT32', args: ['-F', '32', '-i', '0000F032'], kib: 64 * 1024, cluster: 512 },
  { name: 'FAT32/4K', args: ['-F', '32', '-S', '4096', '-i', '0004F032'], kib: 300 * 1024, cluster: 4096 },
] as const;

let tmp: string;
let cleanup: () => void;
beforeAll(() => {
  ({ dir: tmp, cleanup } = tempDir('gk-fat-write-'));
});
afterAll(() => cleanup?.());

let counter = 0;
function fresh(v: (typeof VOLUMES)[number]): string {
  const img = join(tmp, `v${counter++}.img`);
  mkfsFat(img, [...v.args], v.kib);
  return img;
}

for (const v of VOLUMES) {
  describe(`fs-fat writes on ${v.name} (mkfs.fat)`, () => {
    itWithTools(TOOLS, 'creates files of edge sizes with long, Unicode and mixed-case names in nested directories', () => {
      const img = fresh(v);
      const model: Model = new Map();
      const { fs, done } = openRw(img);
      const cs = fs.geometry.clusterSize;
      expect(cs).toBe(v.cluster);
      fs.mkdir('/Docs');
      fs.mkdir('/Docs/Sub Dir');
      fs.mkdir('/Docs/Sub Dir/deeper');
      model.set('/Docs', { type: 'directory' }).set('/Docs/Sub Dir', { type: 'directory' }).set('/Docs/Sub Dir/deeper', { type: 'directory' });
      const files: [string, number][] = [
        ['/empty.dat', 0], ['/one.bin', 1], ['/README.TXT', cs - 1], ['/readme2.txt', cs], ['/Mixed Case Name.Txt', cs + 1],
        ['/Docs/ünïcödé ñame.txt', 3 * cs + 17], ['/Docs/日本語のファイル.txt', 100], ['/Docs/Sub Dir/big.bin', 300_000],
        ['/Docs/Sub Dir/deeper/a.b.c.d', 77], ['/x+y=z;[1].txt', 5], ['/' + 'n'.repeat(200) + '.ext', 9],
      ];
      files.forEach(([p, n], i) => {
        const data = bytes(n, i + 1);
        fs.writeFile(p, data);
        model.set(p, { type: 'file', data });
      });
      done();
      verifyImage(img, model, tmp, v.name);
    });

    itWithTools(TOOLS, 'overwrites, extends with zero-filled gaps and truncates', () => {
      const img = fresh(v);
      const model: Model = new Map();
      const { fs, done } = openRw(img);
      const cs = fs.geometry.clusterSize;
      fs.writeFile('/a.bin', bytes(5 * cs, 1));
      fs.writeFile('/a.bin', bytes(2 * cs + 3, 2)); // overwrite smaller
      fs.writeFile('/b.bin', bytes(10, 3));
      fs.writeFile('/b.bin', bytes(7 * cs + 1, 4)); // overwrite larger
      fs.writeFile('/c.bin', bytes(cs, 5));
      fs.writeFile('/c.bin', new Uint8Array(0)); // overwrite with nothing
      model.set('/a.bin', { type: 'file', data: bytes(2 * cs + 3, 2) });
      model.set('/b.bin', { type: 'file', data: bytes(7 * cs + 1, 4) });
      model.set('/c.bin', { type: 'file', data: new Uint8Array(0) });
      // Handle: write past the end (gap must read as zeros, even over old slack), then truncate.
      const h = fs.open('/d.bin', { create: true, write: true });
      h.writeAt(0, bytes(cs + 100, 6));
      h.truncate(10);
      h.writeAt(3 * cs, bytes(50, 7));
      const d = new Uint8Array(3 * cs + 50);
      d.set(bytes(cs + 100, 6).subarray(0, 10), 0);
      d.set(bytes(50, 7), 3 * cs);
      expect(h.size).toBe(d.length);
      const back = new Uint8Array(d.length);
      h.readAt(0, back);
      expect(Buffer.from(back).equals(Buffer.from(d))).toBe(true);
      h.truncate(2 * cs + 1); // shrink mid-cluster
      h.truncate(2 * cs + 500); // grow again: zeros after 2*cs+1
      const d2 = new Uint8Array(2 * cs + 500);
      d2.set(d.subarray(0, 2 * cs + 1));
      h.close();
      model.set('/d.bin', { type: 'file', data: d2 });
      done();
      verifyImage(img, model, tmp, v.name);
    });

    itWithTools(TOOLS, 'writes from a source in blocks; a source that fails part-way leaves the old file as it was', () => {
      const img = fresh(v);
      const model: Model = new Map();
      const { fs, done } = openRw(img);
      const cs = fs.geometry.clusterSize;
      const source = (data: Uint8Array, failAt = Infinity) => ({
        size: data.length,
        read(offset: number, dst: Uint8Array) {
          if (offset + dst.length > failAt) throw new IoError('IO_EIO', 'source: read error');
          dst.set(data.subarray(offset, offset + dst.length));
        },
      });
      const big = bytes(Math.min(3 << 20, fs.statfs().freeBlocks * cs / 3), 11);
      fs.writeFileFrom('/new.bin', source(big));
      const old = bytes(4 * cs + 7, 12);
      fs.writeFile('/keep.bin', old);
      expect(() => fs.writeFileFrom('/keep.bin', source(big, big.length >> 1))).toThrow(IoError);
      expect(() => fs.writeFileFrom('/fresh.bin', source(big, big.length >> 1))).toThrow(IoError);
      expect(fs.tryStat('/fresh.bin')).toBeUndefined();
      expect(Buffer.from(fs.readFile('/keep.bin')).equals(Buffer.from(old))).toBe(true);
      model.set('/new.bin', { type: 'file', data: big });
      model.set('/keep.bin', { type: 'file', data: old });
      done();
      verifyImage(img, model, tmp, v.name);
    });

    itWithTools(TOOLS, 'renames and moves files and directories (".." follows), case-only renames, deletes', () => {
      const img = fresh(v);
      const model: Model = new Map();
      const { fs, done } = openRw(img);
      for (const d of ['/src', '/src/inner', '/dst', '/dst/deep']) fs.mkdir(d);
      fs.writeFile('/src/inner/file.txt', bytes(1000, 1));
      fs.writeFile('/src/keep.txt', bytes(10, 2));
      fs.writeFile('/gone.txt', bytes(10, 3));
      fs.writeFile('/readme.txt', bytes(20, 4));
      fs.rename('/src/inner', '/dst/deep/Moved Inner'); // directory to another parent
      fs.rename('/src/keep.txt', '/dst/kept with long name.txt'); // file across directories
      fs.rename('/readme.txt', '/README.TXT'); // case only, same directory
      fs.unlink('/gone.txt');
      fs.mkdir('/empty');
      fs.rmdir('/empty');
      expect(() => fs.rmdir('/dst')).toThrowError(UsageError);
      expect(() => fs.rename('/dst', '/dst/deep/x')).toThrowError(/into itself/);
      expect(() => fs.rename('/README.TXT', '/src')).toThrowError(ExistsError);
      for (const d of ['/src', '/dst', '/dst/deep', '/dst/deep/Moved Inner']) model.set(d, { type: 'directory' });
      model.set('/dst/deep/Moved Inner/file.txt', { type: 'file', data: bytes(1000, 1) });
      model.set('/dst/kept with long name.txt', { type: 'file', data: bytes(10, 2) });
      model.set('/README.TXT', { type: 'file', data: bytes(20, 4) });
      expect(fs.stat('/readme.txt').name).toBe('README.TXT');
      done();
      verifyImage(img, model, tmp, v.name);
    });

    itWithTools(TOOLS, 'grows a directory past one cluster and generates Windows 8.3 aliases that mdir shows', () => {
      const img = fresh(v);
      const model: Model = new Map();
      const { fs, done } = openRw(img);
      fs.mkdir('/many');
      model.set('/many', { type: 'directory' });
      const n = Math.max(40, Math.ceil((3 * fs.geometry.clusterSize) / 64));
      for (let i = 1; i <= n; i++) {
        const p = `/many/Long File Name ${i}.txt`;
        fs.writeFile(p, bytes(i, i));
        model.set(p, { type: 'file', data: bytes(i, i) });
      }
      const expected = (i: number): string => {
        if (i <= 4) return `LONGFI~${i}.TXT`;
        // From the fifth: two characters + the Windows checksum of the long name, "~1".
        let c = windowsShortNameChecksum(`Long File Name ${i}.txt`);
        let hex = '';
        for (let k = 0; k < 4; k++, c >>= 4) hex += '0123456789ABCDEF'[c & 0xf];
        return `LO${hex}~1.TXT`;
      };
      for (let i = 1; i <= 7; i++) expect(fs.stat(`/many/Long File Name ${i}.txt`).shortName).toBe(expected(i));
      done();
      // mdir prints the stored 8.3 name next to the long one.
      const r = run('mdir', ['-a', '-i', img, '::/many']);
      for (let i = 1; i <= 7; i++) {
        const [base, ext] = expected(i).split('.');
        expect(r.stdout).toContain(`${base!.padEnd(8)} ${ext}`);
      }
      verifyImage(img, model, tmp, v.name);
    });

    itWithTools(TOOLS, 'sets the dirty flag while writing, clears it on flush, and keeps both FATs and FSInfo in step', () => {
      const img = fresh(v);
      const before = readFileSync(img);
      const dev = FileDevice.open(img, { write: true });
      const fs = openFat(dev, { write: true });
      const flagAt = fs.fatType === 'fat32' ? 0x41 : 0x25;
      fs.writeFile('/x.bin', bytes(3 * fs.geometry.clusterSize, 9));
      const mid = readFileSync(img);
      expect(mid[flagAt]! & 1).toBe(1);
      const diff = [...Array(512).keys()].filter((i) => mid[i] !== before[i]);
      expect(diff).toEqual([flagAt]); // only that byte of the boot sector
      const dirty = fsckFat(img);
      expect(dirty.ok).toBe(false);
      expect(dirty.output).toMatch(/Dirty bit/i);
      fs.flush();
      const after = readFileSync(img);
      expect(after.subarray(0, 512).equals(before.subarray(0, 512))).toBe(true);
      const g = fs.geometry;
      const fat1 = after.subarray(g.fatOffset, g.fatOffset + g.fatBytes);
      const fat2 = after.subarray(g.fatOffset + g.fatBytes, g.fatOffset + 2 * g.fatBytes);
      expect(fat1.equals(fat2)).toBe(true);
      expect(fsckFat(img).ok).toBe(true);
      fs.close();
      dev.close();
      verifyImage(img, new Map([['/x.bin', { type: 'file', data: bytes(3 * g.clusterSize, 9) }]]), tmp, v.name);
    });

    itWithTools(TOOLS, 'fails cleanly when the volume or the FAT12/16 root directory is full', () => {
      const img = fresh(v);
      const model: Model = new Map();
      const { fs, done } = openRw(img);
      if (fs.fatType !== 'fat32') {
        const slots = fs.geometry.rootEntries;
        let i = 0;
        let err: unknown;
        try {
          for (; i < slots + 1; i++) {
            fs.writeFile(`/F${i}`, bytes(1, i));
            model.set(`/F${i}`, { type: 'file', data: bytes(1, i) });
          }
        } catch (e) {
          err = e;
        }
        expect(err).toBeInstanceOf(NoSpaceError);
        expect((err as NoSpaceError).code).toBe(FatCode.RootFull);
        expect(i).toBe(slots);
        fs.unlink('/F7'); // frees a slot that the next entry reuses
        model.delete('/F7');
      }
      const free = fs.statfs().freeBlocks * fs.geometry.clusterSize;
      fs.mkdir('/d');
      model.set('/d', { type: 'directory' });
      const tooBig = new Uint8Array(free + 1);
      expect(() => fs.writeFile('/d/huge.bin', tooBig)).toThrowError(NoSpaceError);
      done();
      verifyImage(img, model, tmp, v.name);
    });

    itWithTools(TOOLS, 'writes exact timestamps from the clock (UTC, as mcopy -m reads them with TZ=UTC)', () => {
      const img = fresh(v);
      const t = new Date('2023-06-07T08:09:10.550Z');
      const { fs, done } = openRw(img, { clock: () => t });
      fs.writeFile('/stamp.txt', bytes(3, 3));
      fs.mkdir('/sdir');
      const st = fs.stat('/stamp.txt');
      expect(st.mtime.toISOString()).toBe('2023-06-07T08:09:10.000Z');
      expect(st.birthtime.toISOString()).toBe('2023-06-07T08:09:10.550Z');
      expect(st.atime.toISOString()).toBe('2023-06-07T00:00:00.000Z');
      fs.utimes('/sdir', { mtime: new Date('2001-02-03T04:05:06Z') });
      done();
      const r = run('mdir', ['-a', '-i', img, '::/']);
      expect(r.stdout).toMatch(/STAMP +TXT +3 2023-06-07 +8:09/i);
      expect(r.stdout).toMatch(/SDIR +<DIR> +2001-02-03 +4:05/i);
      verifyImage(img, new Map<string, { type: 'file'; data: Uint8Array } | { type: 'directory' }>([
        ['/stamp.txt', { type: 'file', data: bytes(3, 3) }], ['/sdir', { type: 'directory' }],
      ]), tmp, v.name);
    });
  });
}
