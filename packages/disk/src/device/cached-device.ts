import { LRUCache } from 'lru-cache';
import { UsageError } from '../binary/index.js';
import { DiskCode } from '../errors.js';
import { assertDeviceRange, assertWritable, allData, type BlockDevice, type Extent } from './block-device.js';
import { blocksToRanges, overlayData } from './extent-merge.js';

export interface CachedDeviceOptions {
  /** Cache block size in bytes, a power of two >= 512 (default 64 KiB). */
  blockSize?: number;
  /** Bytes of blocks to keep (default 64 MiB). */
  maxBytes?: number;
  /**
   * Reads of at least this many uncached bytes bypass the cache (default: a quarter of
   * maxBytes), so one big sequential copy does not evict the hot metadata.
   */
  bypassBytes?: number;
  /** close() also closes the base device (default true). */
  ownsBase?: boolean;
}

interface Block {
  data: Uint8Array;
  dirty: boolean;
}

/**
 * An LRU cache of aligned blocks over any device, for metadata-heavy layers (MFT records, FAT
 * sectors, hive bins through partitions and qcow2). Reads fetch every run of missing blocks with
 * one base read. Writes are write-back: blocks are patched in memory, marked dirty, and written
 * to the base on eviction or flush() (in ascending order, adjacent dirty blocks coalesced).
 */
export class CachedDevice implements BlockDevice {
  readonly name: string;
  readonly size: number;
  readonly sectorSize: number;
  readonly readOnly: boolean;
  readonly blockSize: number;
  private readonly cache: LRUCache<number, Block>;
  private readonly dirty = new Set<number>();
  private readonly bypass: number;
  private readonly ownsBase: boolean;
  /** Statistics (tests, benchmarks). */
  readonly stats = { hits: 0, misses: 0, baseReads: 0, baseWrites: 0 };

  constructor(readonly base: BlockDevice, opts: CachedDeviceOptions = {}) {
    const bs = opts.blockSize ?? 64 * 1024;
    if (!Number.isInteger(bs) || bs < 512 || (bs & (bs - 1)) !== 0 || bs > 64 * 1024 * 1024) {
      throw new UsageError(DiskCode.DeviceOption, `CachedDevice: block size ${bs} must be a power of two between 512 and 64 MiB`, { blockSize: bs });
    }
    const max = Math.max(opts.maxBytes ?? 64 * 1024 * 1024, bs * 2);
    this.blockSize = bs;
    this.name = base.name;
    this.size = base.size;
    this.sectorSize = base.sectorSize;
    this.readOnly = base.readOnly;
    this.bypass = opts.bypassBytes ?? Math.max(bs, Math.floor(max / 4));
    this.ownsBase = opts.ownsBase ?? true;
    this.cache = new LRUCache<number, Block>({
      maxSize: max,
      sizeCalculation: (b) => b.data.length,
      // Write-back on eviction: a dirty block leaving the cache goes to the base first.
      dispose: (b, index, reason) => {
        if (b.dirty && (reason === 'evict' || reason === 'delete')) {
          this.writeBlock(index, b.data);
          b.dirty = false;
          this.dirty.delete(index);
        }
      },
    });
  }

  private blockLen(index: number): number {
    return Math.min(this.blockSize, this.size - index * this.blockSize);
  }

  private writeBlock(index: number, data: Uint8Array): void {
    this.base.writeAt(index * this.blockSize, data);
    this.stats.baseWrites++;
  }

  readAt(offset: number, dst: Uint8Array): void {
    assertDeviceRange(this, offset, dst.length, 'read');
    if (dst.length === 0) return;
    const bs = this.blockSize;
    const first = Math.floor(offset / bs);
    const last = Math.floor((offset + dst.length - 1) / bs);
    let i = first;
    while (i <= last) {
      const b = this.cache.get(i);
      if (b) {
        this.stats.hits++;
        this.copyOut(i, b.data, offset, dst);
        i++;
        continue;
      }
      // A run of missing blocks: one base read.
      let j = i;
      while (j + 1 <= last && !this.cache.has(j + 1)) j++;
      this.stats.misses += j - i + 1;
      const runOff = i * bs;
      const runLen = Math.min((j + 1) * bs, this.size) - runOff;
      const buf = new Uint8Array(runLen);
      this.base.readAt(runOff, buf);
      this.stats.baseReads++;
      const keep = runLen < this.bypass;
      for (let k = i; k <= j; k++) {
        const data = buf.subarray((k - i) * bs, (k - i) * bs + this.blockLen(k));
        this.copyOut(k, data, offset, dst);
        if (keep) this.cache.set(k, { data, dirty: false });
      }
      i = j + 1;
    }
  }

  /** Copy the part of block `index` that falls inside [offset, offset+dst.length) into dst. */
  private copyOut(index: number, data: Uint8Array, offset: number, dst: Uint8Array): void {
    const bOff = index * this.blockSize;
    const from = Math.max(offset, bOff);
    const to = Math.min(offset + dst.length, bOff + data.length);
    dst.set(data.subarray(from - bOff, to - bOff), from - offset);
  }

  writeAt(offset: number, src: Uint8Array): void {
    assertWritable(this);
    assertDeviceRange(this, offset, src.length, 'write');
    if (src.length === 0) return;
    const bs = this.blockSize;
    const first = Math.floor(offset / bs);
    const last = Math.floor((offset + src.length - 1) / bs);
    for (let i = first; i <= last; i++) {
      const bOff = i * bs;
      const len = this.blockLen(i);
      const from = Math.max(offset, bOff);
      const to = Math.min(offset + src.length, bOff + len);
      let b = this.cache.get(i);
      if (!b) {
        const data = new Uint8Array(len);
        if (from > bOff || to < bOff + len) {
          this.base.readAt(bOff, data);
          this.stats.baseReads++;
        }
        b = { data, dirty: false };
      }
      b.data.set(src.subarray(from - offset, to - offset), from - bOff);
      b.dirty = true;
      this.dirty.add(i);
      this.cache.set(i, b);
    }
  }

  /** Write every dirty block to the base (ascending, coalesced), then flush the base. */
  flush(): void {
    const indices = [...this.dirty].sort((a, b) => a - b);
    let k = 0;
    while (k < indices.length) {
      let m = k;
      while (m + 1 < indices.length && indices[m + 1] === indices[m]! + 1) m++;
      const parts: Uint8Array[] = [];
      for (let x = k; x <= m; x++) {
        const b = this.cache.peek(indices[x]!)!;
        parts.push(b.data);
      }
      const joined = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
      this.base.writeAt(indices[k]! * this.blockSize, joined);
      this.stats.baseWrites++;
      for (let x = k; x <= m; x++) this.cache.peek(indices[x]!)!.dirty = false;
      k = m + 1;
    }
    this.dirty.clear();
    this.base.flush();
  }

  /** Drop every clean block (dirty blocks stay until flushed). */
  invalidate(): void {
    for (const k of [...this.cache.keys()]) if (!this.dirty.has(k)) this.cache.delete(k);
  }

  *extents(offset: number, length: number): Iterable<Extent> {
    assertDeviceRange(this, offset, length, 'extents');
    const base = this.base.extents ? this.base.extents(offset, length) : allData(offset, length);
    if (this.dirty.size === 0) {
      yield* base;
      return;
    }
    const ranges = blocksToRanges([...this.dirty].sort((a, b) => a - b), this.blockSize, this.size);
    yield* overlayData(base, ranges, offset, length);
  }

  close(): void {
    this.flush();
    this.cache.clear();
    if (this.ownsBase) this.base.close();
  }
}
