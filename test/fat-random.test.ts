import { afterAll, beforeAll, describe, expect } from 'vitest';
import { join } from 'node:path';
import { ExistsError, NoSpaceError, UsageError } from '@guestkit/disk';
import type { FatFileSystem } from '@guestkit/fs-fat';
import { Rng } from './support/fuzz.js';
import { tempDir } from './support/shared.js';
import { itWithTools } from './support/tools.js';
import { bytes, mkfsFat, openRw, verifyFs, verifyImage, type Model } from '../packages/fs-fat/test/support/model.js';

/**
 * A seeded random sequence of thousands of operations (create, overwrite, extend, truncate,
 * delete, rename/move, mkdir, rmdir) against a model, on FAT12, FAT16, FAT32 and FAT32 with
 * 4096-byte sectors made by mkfs.fat. The live filesystem is compared with the model after
 * every operation on the touched paths; at checkpoints the image is flushed and checked with
 * fsck.fat -n, mdir and mcopy, and reopened from disk.
 */
const TOOLS = ['mkfs.fat', 'fsck.fat', 'mdir', 'mcopy'];
const OPS = Number(process.env.GUESTKIT_FAT_RANDOM_OPS ?? 2000);
const CHECK_EVERY = 500;

const VOLUMES = [
  { name: 'FAT12', args: ['-F', '12', '-i', '00012012'], kib: 4 * 1024, seed: 12 },
  { name: 'FAT16', args: ['-F', '16', '-i', '00016016'], kib: 16 * 1024, seed: 16 },
  { name: 'FAT32', args: ['-F', '32', '-i', '00032032'], kib: 64 * 1024, seed: 32 },
  { name: 'FAT32/4K', args: ['-F', '32', '-S', '4096', '-i', '00432432'], kib: 300 * 1024, seed: 4096 },
] as const;

let tmp: string;
let cleanup: () => void;
beforeAll(() => {
  ({ dir: tmp, cleanup } = tempDir('gk-fat-rand-'));
});
afterAll(() => cleanup?.());

const up = (s: string): string => s.toUpperCase();
const parentOf = (p: string): string => p.slice(0, p.lastIndexOf('/')) || '/';

class Sim {
  readonly model: Model = new Map();
  /** Successful operations by kind (the test requires every kind to have run many times). */
  readonly done = new Map<string, number>();
  private byUpper = new Map<string, string>();
  constructor(readonly rng: Rng, public fs: FatFileSystem, readonly cluster: number, readonly capacity: number) {}

  used(): number {
    let n = 0;
    for (const e of this.model.values()) if (e.type === 'file') n += Math.ceil(e.data.length / this.cluster) * this.cluster;
    return n;
  }
  dirs(): string[] {
    return ['/', ...[...this.model].filter(([, e]) => e.type === 'directory').map(([p]) => p)];
  }
  files(): string[] {
    return [...this.model].filter(([, e]) => e.type === 'file').map(([p]) => p);
  }
  has(p: string): boolean {
    return this.byUpper.has(up(p));
  }
  set(p: string, e: { type: 'file'; data: Uint8Array } | { type: 'directory' }): void {
    const old = this.byUpper.get(up(p));
    if (old !== undefined && old !== p) this.model.delete(old);
    this.model.set(p, e);
    this.byUpper.set(up(p), p);
  }
  del(p: string): void {
    this.model.delete(p);
    this.byUpper.delete(up(p));
  }
  children(p: string): string[] {
    return [...this.model.keys()].filter((k) => k.startsWith(p + '/'));
  }

  name(): string {
    const r = this.rng;
    const n = r.int(100000);
    switch (r.int(9)) {
      case 0: return `FILE${n % 1000}.TXT`;
      case 1: return `file${n % 1000}.txt`;
      case 2: return `Mixed${n % 100}.Dat`;
      case 3: return `a long name ${n} with spaces.data`;
      case 4: return `Collide Name ${n % 40}.txt`; // shares "COLLID" -> ~1..~4 then hashed aliases
      case 5: return `ünï ${n % 500}.txt`;
      case 6: return `日本${n % 300}`;
      case 7: return `x+y;${n % 50}[1].c`;
      default: return `${'long-'.repeat(1 + r.int(30))}${n}`;
    }
  }
  size(): number {
    const r = this.rng;
    const c = this.cluster;
    switch (r.int(10)) {
      case 0: return 0;
      case 1: return c;
      case 2: return c * (1 + r.int(8)) + r.int(3) - 1;
      case 3: return r.int(64 * c);
      default: return r.int(2 * c);
    }
  }
  data(n: number): Uint8Array {
    return bytes(n, this.rng.next());
  }
  pickDir(): string {
    const d = this.dirs();
    return this.rng.pick(d);
  }
  join(dir: string, name: string): string {
    return dir === '/' ? '/' + name : `${dir}/${name}`;
  }

  private count(kind: string): void {
    this.done.set(kind, (this.done.get(kind) ?? 0) + 1);
  }

  /** One random operation; returns the paths whose state to compare right away. */
  step(): string[] {
    const r = this.rng;
    const full = this.used() > this.capacity * 0.6;
    const files = this.files();
    let op = r.int(100);
    if (full && op < 50) op = 60; // prefer deletes when the volume fills up
    try {
      if (op < 22) {
        const p = this.join(this.pickDir(), this.name());
        if (this.has(p)) return [];
        const d = this.data(this.size());
        this.fs.writeFile(p, d);
        this.set(p, { type: 'file', data: d });
        this.count('create');
        return [p];
      }
      if (op < 32 && files.length) {
        const p = r.pick(files);
        const d = this.data(this.size());
        this.fs.writeFile(p, d);
        this.set(p, { type: 'file', data: d });
        this.count('overwrite');
        return [p];
      }
      if (op < 42 && files.length) {
        const p = r.pick(files);
        const e = this.model.get(p) as { type: 'file'; data: Uint8Array };
        const off = e.data.length + r.int(3 * this.cluster) - (r.int(2) ? 0 : Math.min(e.data.length, r.int(this.cluster)));
        const chunk = this.data(r.int(4 * this.cluster));
        const h = this.fs.open(p, { write: true });
        try {
          h.writeAt(off, chunk);
        } finally {
          h.close();
        }
        const nd = new Uint8Array(Math.max(e.data.length, off + chunk.length));
        nd.set(e.data);
        nd.set(chunk, off);
        if (chunk.length === 0) return [p];
        this.set(p, { type: 'file', data: nd });
        this.count(off > e.data.length ? 'extend-gap' : 'write');
        return [p];
      }
      if (op < 52 && files.length) {
        const p = r.pick(files);
        const e = this.model.get(p) as { type: 'file'; data: Uint8Array };
        const n = r.int(2) ? r.int(e.data.length + 1) : e.data.length + r.int(3 * this.cluster);
        const h = this.fs.open(p, { write: true });
        try {
          h.truncate(n);
        } finally {
          h.close();
        }
        const nd = new Uint8Array(n);
        nd.set(e.data.subarray(0, Math.min(n, e.data.length)));
        this.set(p, { type: 'file', data: nd });
        this.count(n < e.data.length ? 'truncate-shrink' : 'truncate-grow');
        return [p];
      }
      if (op < 64 && files.length) {
        const p = r.pick(files);
        this.fs.unlink(p);
        this.del(p);
        this.count('delete');
        return [p];
      }
      if (op < 78) {
        const all = [...this.model.keys()];
        if (!all.length) return [];
        const src = r.pick(all);
        const isDir = this.model.get(src)!.type === 'directory';
        let dst: string;
        if (r.int(5) === 0) {
          // case-only rename in place
          const base = src.slice(src.lastIndexOf('/') + 1);
          dst = this.join(parentOf(src), r.int(2) ? base.toUpperCase() : base.toLowerCase());
          if (dst === src || up(dst) !== up(src)) return [];
        } else {
          const target = this.pickDir();
          if (isDir && (target === src || target.startsWith(src + '/'))) {
            expect(() => this.fs.rename(src, this.join(target, 'x'))).toThrowError(UsageError);
            return [];
          }
          dst = this.join(target, this.name());
          if (this.has(dst)) return [];
        }
        this.fs.rename(src, dst);
        const moved = isDir ? this.children(src) : [];
        const entry = this.model.get(src)!;
        this.del(src);
        this.set(dst, entry);
        for (const c of moved) {
          const e = this.model.get(c)!;
          this.del(c);
          this.set(dst + c.slice(src.length), e);
        }
        this.count(isDir ? 'rename-dir' : 'rename-file');
        return [dst];
      }
      if (op < 90) {
        const p = this.join(this.pickDir(), this.name());
        if (this.has(p)) {
          expect(() => this.fs.mkdir(p)).toThrowError(ExistsError);
          return [];
        }
        this.fs.mkdir(p);
        this.set(p, { type: 'directory' });
        this.count('mkdir');
        return [p];
      }
      const dirs = this.dirs().filter((d) => d !== '/');
      if (!dirs.length) return [];
      const d = r.pick(dirs);
      if (this.children(d).length) {
        expect(() => this.fs.rmdir(d)).toThrowError(UsageError);
        return [d];
      }
      this.fs.rmdir(d);
      this.del(d);
      this.count('rmdir');
      return [d];
    } catch (e) {
      if (e instanceof NoSpaceError) {
        this.count('no-space');
        return []; // model unchanged; checked at the next checkpoint
      }
      throw e;
    }
  }

  compare(paths: string[]): void {
    for (const p of paths) {
      const e = this.model.get(p);
      const st = this.fs.tryStat(p);
      if (!e) {
        // Gone, unless a case-only rename left the same name in another case.
        if (!this.byUpper.has(up(p))) expect(st, `${p} should be gone`).toBeUndefined();
        continue;
      }
      expect(st?.type, p).toBe(e.type);
      expect(st?.name, p).toBe(p.slice(p.lastIndexOf('/') + 1));
      if (e.type === 'file') expect(st?.size, p).toBe(e.data.length);
    }
  }
}

for (const v of VOLUMES) {
  describe(`fs-fat random operations on ${v.name}`, () => {
    itWithTools(TOOLS, `${OPS} seeded operations match the model, fsck.fat, mdir and mcopy`, () => {
      const img = join(tmp, `${v.name.replace('/', '-')}.img`);
      mkfsFat(img, [...v.args], v.kib);
      let { fs, done } = openRw(img, { clock: () => new Date('2024-01-01T00:00:00Z') });
      const cluster = fs.geometry.clusterSize;
      const capacity = fs.geometry.clusterCount * cluster;
      const sim = new Sim(new Rng(v.seed), fs, cluster, capacity);
      let checkpoints = 0;
      for (let i = 1; i <= OPS; i++) {
        sim.compare(sim.step());
        if (i % CHECK_EVERY === 0 || i === OPS) {
          fs.flush();
          verifyFs(fs, sim.model, `${v.name} op ${i} (live)`);
          fs.check();
          verifyImage(img, sim.model, tmp, `${v.name} op ${i}`);
          checkpoints++;
          if (i === CHECK_EVERY * 2) {
            // Reopen from disk mid-way: FSInfo, directory caches and the dirty flag start afresh.
            done();
            ({ fs, done } = openRw(img, { clock: () => new Date('2024-01-02T00:00:00Z') }));
            sim.fs = fs;
          }
        }
      }
      done();
      expect(checkpoints).toBeGreaterThanOrEqual(Math.floor(OPS / CHECK_EVERY));
      expect(sim.model.size).toBeGreaterThan(10);
      const kinds = ['create', 'overwrite', 'write', 'extend-gap', 'truncate-shrink', 'truncate-grow', 'delete', 'rename-file', 'rename-dir', 'mkdir', 'rmdir'];
      for (const k of kinds) expect(sim.done.get(k) ?? 0, `${k} operations`).toBeGreaterThanOrEqual(Math.floor(OPS / 250));
    }, 300_000);
  });
}
