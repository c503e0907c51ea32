import { describe, expect, it } from 'vitest';
import { CachedDevice, OverlayDevice, MemoryDevice, ReadOnlyError, UsageError, LimitError, readBytes, type BlockDevice } from '../src/index.js';
import { Rng } from '../../../test/support/fuzz.js';
import { sameBytes } from './helpers.js';

/** A device that counts base operations. */
class Counting extends MemoryDevice {
  reads = 0;
  writes = 0;
  override readAt(o: number, d: Uint8Array): void {
    this.reads++;
    super.readAt(o, d);
  }
  override writeAt(o: number, s: Uint8Array): void {
    this.writes++;
    super.writeAt(o, s);
  }
}

function randomBytes(rng: Rng, n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = rng.int(256);
  return b;
}

/** Apply `ops` random reads/writes to `dev` and to a plain model, checking every read. */
function exercise(dev: BlockDevice, model: Uint8Array, rng: Rng, ops: number): void {
  for (let k = 0; k < ops; k++) {
    const len = 1 + rng.int(rng.int(4) === 0 ? 70000 : 3000);
    const off = rng.int(model.length - len);
    if (rng.int(2) === 0) {
      const src = randomBytes(rng, len);
      dev.writeAt(off, src);
      model.set(src, off);
    } else {
      expect(sameBytes(readBytes(dev, off, len), model.subarray(off, off + len))).toBe(true);
    }
  }
}

describe('CachedDevice', () => {
  for (const [blockSize, maxBytes] of [[512, 4096], [4096, 64 * 1024], [65536, 1 << 20]] as const) {
    it(`matches a model under random reads/writes (block ${blockSize}, cache ${maxBytes}) and writes back on flush`, () => {
      const size = 1_000_003; // not a multiple of the block size: the last block is short
      const rng = new Rng(blockSize);
      const init = randomBytes(rng, size);
      const base = new Counting(init.slice());
      const model = init.slice();
      const c = new CachedDevice(base, { blockSize, maxBytes });
      exercise(c, model, rng, 400);
      c.flush();
      expect(sameBytes(base.bytes, model)).toBe(true);
      c.close();
    });
  }

  it('serves repeated reads from the cache and coalesces a miss run into one base read', () => {
    const base = new Counting(1 << 20);
    const c = new CachedDevice(base, { blockSize: 4096 });
    readBytes(c, 100, 40000); // 10 blocks missing: one read
    expect(base.reads).toBe(1);
    for (let i = 0; i < 50; i++) readBytes(c, 4096 + i, 100);
    expect(base.reads).toBe(1);
    expect(c.stats.hits).toBe(50);
  });

  it('write-back: nothing reaches the base before flush (without eviction); flush coalesces', () => {
    const base = new Counting(1 << 20);
    const c = new CachedDevice(base, { blockSize: 4096 });
    c.writeAt(0, new Uint8Array(8192).fill(7));
    c.writeAt(8192, new Uint8Array(4096).fill(8));
    expect(base.writes).toBe(0);
    expect(base.bytes[0]).toBe(0);
    c.flush();
    expect(base.writes).toBe(1);
    expect(base.bytes[0]).toBe(7);
    expect(base.bytes[8192]).toBe(8);
  });

  it('extents show dirty blocks as data; read-only bases refuse writes; bad options refused', () => {
    const c = new CachedDevice(new MemoryDevice(65536), { blockSize: 4096 });
    c.writeAt(5000, new Uint8Array(10));
    expect([...c.extents(0, 65536)]).toEqual([{ offset: 0, length: 65536, kind: 'data' }]);
    expect(() => new CachedDevice(new MemoryDevice(10, { readOnly: true })).writeAt(0, new Uint8Array(1))).toThrow(ReadOnlyError);
    expect(() => new CachedDevice(new MemoryDevice(10), { blockSize: 1000 })).toThrow(UsageError);
  });
});

describe('OverlayDevice', () => {
  it('merges reads, leaves the base alone, lists exact changes, commits in order', () => {
    const rng = new Rng(42);
    const size = 777_777;
    const init = randomBytes(rng, size);
    const base = new Counting(init.slice());
    const model = init.slice();
    const o = new OverlayDevice(base, { blockSize: 4096 });
    exercise(o, model, rng, 300);
    expect(base.writes).toBe(0);
    expect(sameBytes(base.bytes, init)).toBe(true);
    // exact changes = the bytes where model differs from init
    const diff: { offset: number; length: number }[] = [];
    for (let i = 0; i < size; i++) {
      if (model[i] === init[i]) continue;
      const last = diff[diff.length - 1];
      if (last && last.offset + last.length === i) last.length++;
      else diff.push({ offset: i, length: 1 });
    }
    expect(o.changedExtents({ exact: true }).map(({ offset, length }) => ({ offset, length }))).toEqual(diff);
    const blocks = o.changedExtents();
    expect(blocks.every((e) => e.offset % 4096 === 0)).toBe(true);
    o.commit();
    expect(sameBytes(base.bytes, model)).toBe(true);
    expect(o.dirty).toBe(false);
    expect(o.changedExtents()).toEqual([]);
  });

  it('discard forgets; works over a read-only base; commit to a read-only base is refused', () => {
    const base = new MemoryDevice(new Uint8Array(10000).fill(1), { readOnly: true, name: 'ro.img' });
    const o = new OverlayDevice(base, { blockSize: 512 });
    o.writeAt(600, new Uint8Array([9, 9]));
    expect([...readBytes(o, 599, 4)]).toEqual([1, 9, 9, 1]);
    expect(o.changedExtents()).toEqual([{ offset: 512, length: 512, kind: 'data' }]);
    expect(() => o.commit()).toThrow(ReadOnlyError);
    o.discard();
    expect([...readBytes(o, 599, 4)]).toEqual([1, 1, 1, 1]);
  });

  it('bounds the memory it holds', () => {
    const o = new OverlayDevice(new MemoryDevice(1 << 20), { blockSize: 4096, maxBytes: 8192 });
    o.writeAt(0, new Uint8Array(8192));
    expect(() => o.writeAt(100000, new Uint8Array(1))).toThrow(LimitError);
  });
});

describe('OverlayDevice over a qcow2 image', () => {
  it('extents mark written blocks as data over the image map', async () => {
    const { openImage } = await import('../src/index.js');
    const { unpackFixtures } = await import('./helpers.js');
    const t = unpackFixtures('qcow2');
    try {
      const img = openImage(`${t.dir}/v3-zero.qcow2`);
      const o = new OverlayDevice(img, { blockSize: 4096 });
      const before = [...o.extents(0, o.size)];
      o.writeAt(1024 * 1024 + 10, new Uint8Array([1]));
      const after = [...o.extents(0, o.size)];
      expect(after).not.toEqual(before);
      expect(after.find((e) => e.offset <= 1024 * 1024 && e.offset + e.length >= 1024 * 1024 + 4096)?.kind).toBe('data');
      let pos = 0;
      for (const e of after) {
        expect(e.offset).toBe(pos);
        pos += e.length;
      }
      expect(pos).toBe(o.size);
      o.close();
    } finally {
      t.cleanup();
    }
  });
});
