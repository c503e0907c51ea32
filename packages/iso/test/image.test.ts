import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { GuestError, IoError, LimitError, NotFoundError, OutOfRangeError, ReadOnlyError, UsageError } from '@guestkit/disk';
import { IsoImage, IsoCode, MAX_SECTION_BYTES, scanTree, writeImageFile, type IsoDir } from '../src/index.js';

let dir: string;
const contents = new Map<string, Buffer>();

function rnd(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    b[i] = x & 0xff;
  }
  return b;
}

function put(rel: string, data: Buffer): void {
  const p = path.join(dir, rel);
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, data);
  contents.set(rel, data);
}

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gk-iso-unit-'));
  put('empty', Buffer.alloc(0));
  put('one', Buffer.from('x'));
  put('block', rnd(2048, 1));
  put('block-plus', rnd(2049, 2));
  put('sub/big.bin', rnd(300_000, 3));
  put('sub/deeper/zeros', Buffer.alloc(10_000));
  for (let i = 0; i < 150; i++) put(`many/file-with-a-rather-long-name-${String(i).padStart(4, '0')}.txt`, Buffer.from(`file ${i}\n`));
  fs.symlinkSync('sub/big.bin', path.join(dir, 'rel-link'));
  fs.symlinkSync('/' + 'very-long-component/'.repeat(120) + 'end', path.join(dir, 'long-link'));
  fs.linkSync(path.join(dir, 'block'), path.join(dir, 'block-hardlink'));
  contents.set('block-hardlink', contents.get('block')!);
});

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function readAll(img: IsoImage): Buffer {
  const b = Buffer.alloc(img.size);
  img.readAt(0, b);
  return b;
}

describe('IsoImage', () => {
  it('is a read-only device whose size is a whole number of blocks', () => {
    const img = IsoImage.fromDirectory(dir, { timestampMs: 0 });
    try {
      expect(img.size % 2048).toBe(0);
      expect(img.readOnly).toBe(true);
      expect(() => img.writeAt(0, new Uint8Array(1))).toThrow(ReadOnlyError);
      expect(() => img.readAt(img.size - 1, new Uint8Array(2))).toThrow(OutOfRangeError);
      const pvd = Buffer.alloc(2048);
      img.readAt(16 * 2048, pvd);
      expect(pvd.subarray(1, 6).toString()).toBe('CD001');
      expect(pvd.readUInt32LE(80) * 2048).toBe(img.size);
    } finally {
      img.close();
    }
  });

  it('reads the same bytes whole and in random pieces, with tiny caches, synchronously and not', async () => {
    const a = IsoImage.fromDirectory(dir, { timestampMs: 0 });
    const b = IsoImage.fromDirectory(dir, { timestampMs: 0, metadataCacheBytes: 1, maxOpenFiles: 1 });
    try {
      const whole = readAll(a);
      let seed = 12345;
      const next = (n: number) => {
        seed = (seed * 1103515245 + 12345) % 0x8000_0000;
        return seed % n;
      };
      for (let i = 0; i < 400; i++) {
        const off = next(whole.length);
        const len = Math.min(whole.length - off, 1 + next(20_000));
        const piece = Buffer.alloc(len);
        b.readAt(off, piece);
        expect(piece.equals(whole.subarray(off, off + len))).toBe(true);
        const apiece = Buffer.alloc(len);
        await b.readAtAsync(off, apiece);
        expect(apiece.equals(piece)).toBe(true);
      }
    } finally {
      a.close();
      b.close();
    }
  });

  it('places every file at its extent, byte for byte, and shares extents of hard links', () => {
    const img = IsoImage.fromDirectory(dir, { timestampMs: 0 });
    try {
      const whole = readAll(img);
      const byName = new Map<string, { lba: number; size: number }>();
      const walk = (d: IsoDir, prefix: string) => {
        for (const c of d.children) {
          const rel = prefix + c.displayName;
          if (c.kind === 'dir') walk(c as IsoDir, rel + '/');
          else byName.set(rel, { lba: c.lba, size: c.size });
        }
      };
      walk(img.tree.root, '');
      for (const [rel, data] of contents) {
        const e = byName.get(rel)!;
        expect(e.size).toBe(data.length);
        expect(whole.subarray(e.lba * 2048, e.lba * 2048 + e.size).equals(data)).toBe(true);
      }
      expect(byName.get('block-hardlink')!.lba).toBe(byName.get('block')!.lba);
    } finally {
      img.close();
    }
  });

  it('extents() cover the image in order; zero runs read as zeros; data holds every file', () => {
    const img = IsoImage.fromDirectory(dir, { timestampMs: 0 });
    try {
      const whole = readAll(img);
      const ext = [...img.extents!(0, img.size)];
      let pos = 0;
      for (const e of ext) {
        expect(e.offset).toBe(pos);
        expect(e.length).toBeGreaterThan(0);
        if (e.kind === 'zero') expect(whole.subarray(e.offset, e.offset + e.length).every((x) => x === 0)).toBe(true);
        pos += e.length;
      }
      expect(pos).toBe(img.size);
      // A sub-range query is clipped to the range.
      const mid = [...img.extents!(10_000, 50_000)];
      expect(mid[0]!.offset).toBe(10_000);
      expect(mid.reduce((n, e) => n + e.length, 0)).toBe(50_000);
    } finally {
      img.close();
    }
  });

  it('is deterministic for a fixed timestamp', () => {
    const a = IsoImage.fromDirectory(dir, { timestampMs: 1_700_000_000_000 });
    const b = IsoImage.fromDirectory(dir, { timestampMs: 1_700_000_000_000 });
    try {
      expect(readAll(a).equals(readAll(b))).toBe(true);
    } finally {
      a.close();
      b.close();
    }
  });

  it('spreads a large directory over several blocks and long symlinks over continuation areas', () => {
    const img = IsoImage.fromDirectory(dir, { timestampMs: 0 });
    try {
      const many = img.tree.root.children.find((c) => c.displayName === 'many') as IsoDir;
      expect(many.isoBytes).toBeGreaterThan(2048);
      expect(img.tree.root.ceBlocks).toBeGreaterThan(0); // ER and the long SL go to continuation blocks
    } finally {
      img.close();
    }
  });

  it('reports a source file that shrank as ISO_SOURCE_CHANGED', () => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'gk-iso-chg-'));
    try {
      fs.writeFileSync(path.join(d, 'f'), rnd(10_000, 9));
      const img = IsoImage.fromDirectory(d);
      fs.truncateSync(path.join(d, 'f'), 100);
      const f = img.plan.files[0]!;
      let err: unknown;
      try {
        img.readAt(f.lba * 2048, new Uint8Array(10_000));
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(IoError);
      expect((err as GuestError).code).toBe(IsoCode.SourceChanged);
      img.close();
    } finally {
      fs.rmSync(d, { recursive: true, force: true });
    }
  });

  it('refuses trees over the limits and sources that are not directories', () => {
    expect(() => scanTree(dir, { limits: { maxEntries: 10 } })).toThrow(LimitError);
    expect(() => scanTree(dir, { limits: { maxDepth: 1 } })).toThrow(LimitError);
    expect(() => scanTree(dir, { limits: { maxSymlinkBytes: 100 } })).toThrow(LimitError);
    expect(() => scanTree(path.join(dir, 'one'))).toThrow(UsageError);
    expect(() => scanTree(path.join(dir, 'missing'))).toThrow(IoError);
    expect(() => IsoImage.fromDirectory(dir, { boot: { bios: 'nope.bin' } })).toThrow(NotFoundError);
    expect(() => IsoImage.fromDirectory(dir, { boot: { bios: 'empty' } })).toThrow(NotFoundError);
  });

  it('records a file of 4 GiB or more in several extents at level 3 and refuses it at level 2', () => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'gk-iso-big-'));
    try {
      const big = path.join(d, 'big');
      fs.writeFileSync(big, '');
      fs.truncateSync(big, 4 * 1024 ** 3 + 5000); // sparse: no disk space used
      let err: unknown;
      try {
        IsoImage.fromDirectory(d, { isoLevel: 2 });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(LimitError);
      expect((err as GuestError).code).toBe(IsoCode.FileTooLarge);
      const img = IsoImage.fromDirectory(d);
      const f = img.plan.files[0]!;
      expect(f.sections).toBe(2);
      expect(img.size).toBeGreaterThan(4 * 1024 ** 3);
      // The root directory holds two records for the file: the first flagged multi-extent.
      const root = Buffer.alloc(2048);
      img.readAt(img.tree.root.isoLba * 2048, root);
      let p = 0;
      const recs: { flags: number; extent: number; length: number }[] = [];
      while (p < 2048 && root[p]! > 0) {
        if (root[p + 32] === 6) recs.push({ flags: root[p + 25]!, extent: root.readUInt32LE(p + 2), length: root.readUInt32LE(p + 10) });
        p += root[p]!;
      }
      expect(recs).toEqual([
        { flags: 0x80, extent: f.lba, length: MAX_SECTION_BYTES },
        { flags: 0, extent: f.lba + MAX_SECTION_BYTES / 2048, length: 4 * 1024 ** 3 + 5000 - MAX_SECTION_BYTES },
      ]);
      img.close();
    } finally {
      fs.rmSync(d, { recursive: true, force: true });
    }
  });

  it('writes an image file atomically and sparsely', async () => {
    const out = path.join(os.tmpdir(), `gk-iso-unit-${process.pid}.iso`);
    const img = IsoImage.fromDirectory(dir, { timestampMs: 0 });
    try {
      const r = await writeImageFile(img, out);
      expect(r.bytes).toBe(img.size);
      expect(r.dataBytes).toBeLessThan(img.size);
      expect(fs.readFileSync(out).equals(readAll(img))).toBe(true);
      expect(fs.readdirSync(os.tmpdir()).some((n) => n.startsWith(`.gk-iso-unit-${process.pid}.iso.tmp`))).toBe(false);
    } finally {
      img.close();
      fs.rmSync(out, { force: true });
    }
  });
});
