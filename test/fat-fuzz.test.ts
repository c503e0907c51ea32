import { describe, expect, it } from 'vitest';
import { gunzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import { MemoryDevice } from '@guestkit/disk';
import { mkfs, openFat, probeFat, type FatFileSystem } from '@guestkit/fs-fat';
import { Rng, classify, fuzzIterations, mutate } from './support/fuzz.js';
import { fixturePath } from './support/shared.js';

/**
 * Seeded mutation fuzzing of FAT volumes: boot sector, FAT, root and subdirectory bytes are
 * damaged, then the volume is probed, opened, walked, read, checked and written to (with and
 * without the pre-write check). Only GuestErrors may escape; every walk must end.
 */
const ITERS = fuzzIterations(750);

function fixture(name: string): Uint8Array {
  return new Uint8Array(gunzipSync(readFileSync(fixturePath('fat', name))));
}

/** Small volumes from our own mkfs (the committed FAT32 fixture is 34 MB, fat4k 4 MB). */
function ours(size: number, opts: Parameters<typeof mkfs>[1]): Uint8Array {
  const dev = new MemoryDevice(size);
  mkfs(dev, { serial: 7, label: 'FUZZ', ...opts });
  const fs = openFat(dev, { write: true, clock: () => new Date('2024-01-01Z') });
  fs.mkdir('/dir');
  fs.mkdir('/dir/sub');
  for (let i = 0; i < 12; i++) fs.writeFile(`/dir/long file name ${i}.bin`, new Uint8Array(i * 300).fill(i));
  fs.writeFile('/dir/sub/x.txt', new Uint8Array([1, 2, 3]));
  fs.close();
  return dev.bytes;
}

function regions(b: Uint8Array): { offset: number; length: number }[] {
  const fs = openFat(new MemoryDevice(b.slice()));
  const g = fs.geometry;
  const r = [
    { offset: 0, length: 512 },
    { offset: g.fatOffset, length: Math.min(g.fatBytes, 2048) },
  ];
  if (g.rootDirBytes) r.push({ offset: g.rootDirOffset, length: Math.min(g.rootDirBytes, 2048) });
  else r.push({ offset: g.dataOffset + (g.rootCluster - 2) * g.clusterSize, length: g.clusterSize });
  for (const w of fs.walk('/')) {
    if (w.entry.type === 'directory') r.push({ offset: g.dataOffset + (w.entry.inode - 2) * g.clusterSize, length: Math.min(g.clusterSize, 2048) });
  }
  return r;
}

/**
 * Structure-aware damage on top of the byte mutations: point FAT entries of the first clusters
 * at other clusters (loops, cross-links), at free/bad/EOC marks, or past the volume.
 */
function damageFat(b: Uint8Array, rng: Rng, g: FatFileSystem['geometry']): void {
  const n = 1 + rng.int(3);
  const used = Math.min(g.maxCluster, 2 + 64);
  for (let i = 0; i < n; i++) {
    const c = 2 + rng.int(used - 1);
    const marks = [2 + rng.int(used - 1), c, 0, 1, g.maxCluster + 1 + rng.int(8), 0xffffffff];
    const v = rng.pick(marks);
    for (let k = 0; k < g.numFats; k++) {
      const base = g.fatOffset + k * g.fatBytes;
      if (g.fatBits === 12) {
        const off = base + c + Math.floor(c / 2);
        const cur = b[off]! | (b[off + 1]! << 8);
        const nv = c % 2 === 0 ? (cur & 0xf000) | (v & 0xfff) : (cur & 0x000f) | ((v & 0xfff) << 4);
        b[off] = nv & 0xff;
        b[off + 1] = (nv >> 8) & 0xff;
      } else if (g.fatBits === 16) {
        b[base + c * 2] = v & 0xff;
        b[base + c * 2 + 1] = (v >> 8) & 0xff;
      } else {
        for (let j = 0; j < 4; j++) b[base + c * 4 + j] = (v >>> (8 * j)) & 0xff;
      }
    }
  }
}

function exercise(fs: FatFileSystem): void {
  void fs.label;
  void fs.uuid;
  let n = 0;
  for (const w of fs.walk('/')) {
    if (++n > 5000) throw new Error('walk did not end');
    if (w.entry.type === 'file') fs.readFile(w.path, { maxBytes: 1 << 20 });
    fs.stat(w.path);
    fs.resolveCase(w.path.toUpperCase());
  }
  fs.statfs();
  fs.check();
}

function write(fs: FatFileSystem): void {
  const entries = fs.readdir('/');
  fs.writeFile('/fuzz new file.txt', new Uint8Array(3000).fill(1));
  fs.mkdir('/fuzzdir');
  for (const e of entries.slice(0, 3)) {
    const p = `/${e.name}`;
    if (e.type === 'file') {
      const h = fs.open(p, { write: true });
      h.writeAt(h.size + 700, new Uint8Array(10));
      h.truncate(5);
      h.close();
      fs.rename(p, `/fuzzdir/${e.name}`);
    } else {
      fs.rename(p, `/fuzzdir/${e.name}`);
      fs.writeFile(`/fuzzdir/${e.name}/new.txt`, new Uint8Array(10));
    }
  }
  fs.unlink('/fuzz new file.txt');
  fs.flush();
}

const BASES: [string, () => Uint8Array][] = [
  ['FAT12 (mtools fixture)', () => fixture('fat12.img.gz')],
  ['FAT16 (mtools fixture)', () => fixture('fat16.img.gz')],
  ['FAT12 4K sectors (our mkfs)', () => ours(640 * 1024, { sectorSize: 4096, clusterSize: 4096 })],
  ['FAT32 (our mkfs)', () => ours(2 * 1024 * 1024, { type: 'fat32', clusterSize: 512 })],
];

describe('fs-fat fuzz', () => {
  for (const [name, make] of BASES) {
    it(`${name}: ${ITERS} mutated volumes give only GuestErrors`, () => {
      const base = make();
      const regs = regions(base);
      const geometry = openFat(new MemoryDevice(base.slice())).geometry;
      const rng = new Rng(0xfa7 + name.length);
      const bugs: unknown[] = [];
      let opened = 0;
      let wrote = 0;
      for (let i = 0; i < ITERS; i++) {
        const bytes = mutate(base, rng, regs);
        if (rng.int(2) === 0) damageFat(bytes, rng, geometry);
        const dev = new MemoryDevice(bytes);
        const r1 = classify(() => probeFat(dev));
        if (!r1.ok && !r1.guest) bugs.push(r1.error);
        const r2 = classify(() => {
          const fs = openFat(dev);
          opened++;
          exercise(fs);
        });
        if (!r2.ok && !r2.guest) bugs.push(r2.error);
        // Writes, first with the pre-write consistency check, then (on a fresh copy) without it.
        for (const check of [true, false]) {
          const w = new MemoryDevice(check ? bytes.slice() : bytes);
          const r3 = classify(() => {
            const fs = openFat(w, { write: true, check, force: true, clock: () => new Date('2024-01-01Z') });
            write(fs);
            wrote++;
            fs.close();
          });
          if (!r3.ok && !r3.guest) bugs.push(r3.error);
        }
        if (bugs.length) break;
      }
      expect(bugs.map((e) => (e instanceof Error ? e.stack : String(e)))).toEqual([]);
      // The mutations must leave enough volumes readable and writable to exercise the deep paths.
      expect(opened).toBeGreaterThan(ITERS / 4);
      expect(wrote).toBeGreaterThan(ITERS / 10);
    }, 300_000);
  }
});
