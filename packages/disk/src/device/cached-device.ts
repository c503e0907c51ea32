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
  /** Slot in the slab. */
  slot: number;
  /** Valid bytes (the last block of the device may be short). */
  len: number;
  dirty: boolean;
}

/** Slab memory is allocated in chunks of this many bytes (at least one block) as the cache fills. */
const SLAB_CHUNK = 4 * 1024 * 1024;

/**
 * An LRU cache of aligned blocks over any device, for metadata-heavy layers (MFT records, FAT
 * sectors, hive bins through partitions and qcow2). Reads fetch every run of missing blocks with
 * one base read. Writes are write-back: blocks are patched in memory, marked dirty, and written
 * to the base on eviction or flush() (in ascending order, adjacent dirty blocks coalesced).
 *
 * Block memory comes from a slab of fixed slots (grown in 4 MiB chunks up to maxBytes and
 * reused on eviction), so a stream of misses does not allocate and the garbage collector stays
 * out of the way.
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
  private readonly capacity: number;
  private readonly chunks: Uint8Array[] = [];
  private readonly slotsPerChunk: number;
  private readonly freeSlots: number[] = [];
  private slotCount = 0;
  private scratch = new Uint8Array(0);
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
    this.capacity = Math.floor(max / bs);
    this.slotsPerChunk = Math.max(1, Math.floor(SLAB_CHUNK / bs));
    this.cache = new LRUCache<number, Block>({
      max: this.capacity,
      // Write-back on eviction: a dirty block leaving the cache goes to the base first; its slot is reused.
      dispose: (b, index, reason) => {
        if (reason === 'set') return;
        if (b.dirty) {
          this.writeBlock(index, this.view(b.slot, b.len));
          b.dirty = false;
          this.dirty.delete(index);
        }
        this.freeSlots.push(b.slot);
      },
    });
  }

  private view(slot: number, len: number): Uint8Array {
    const chunk = this.chunks[Math.floor(slot / this.slotsPerChunk)]!;
    const off = (slot % this.slotsPerChunk) * this.blockSize;
    return chunk.subarray(off, off + len);
  }

  /** A free slot: from the free list, a new slab chunk, or by evicting the least recently used block. */
  private takeSlot(): number {
    const s = this.freeSlots.pop();
    if (s !== undefined) return s;
    if (this.slotCount < this.capacity) {
      if (this.slotCount % this.slotsPerChunk === 0) {
        this.chunks.push(new Uint8Array(Math.min(this.slotsPerChunk, this.capacity - this.slotCount) * this.blockSize));
      }
      return this.slotCount++;
    }
    this.cache.pop(); // dispose() returns its slot
    return this.freeSlots.pop()!;
  }

  private blockLen(index: number): number {
    return Math.min(this.blockSize, this.size - index * this.blockSize);
  }

  private writeBlock(index: number, data: Uint8Array): void {
    this.base.writeAt(index * this.blockSize, data);
    this.stats.baseWrites++;
  }

  /** Insert block `index` with `data` (copied into a slot). */
  private insert(index: number, data: Uint8Array, dirty: boolean): Block {
    const slot = this.takeSlot();
    this.view(slot, data.length).set(data);
    const b: Block = { slot, len: data.length, dirty };
    this.cache.set(index, b);
    return b;
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
        this.copyOut(i, this.view(b.slot, b.len), offset, dst);
        i++;
        continue;
      }
      // A run of missing blocks: one base read.
      let j = i;
      while (j + 1 <= last && !this.cache.has(j + 1)) j++;
      this.stats.misses += j - i + 1;
      const runOff = i * bs;
      const runLen = Math.min((j + 1) * bs, this.size) - runOff;
      this.stats.baseReads++;
      if (runLen >= this.bypass) {
        // Big read: straight into dst where it overlaps, without caching.
        if (runOff >= offset && runOff + runLen <= offset + dst.length) {
          this.base.readAt(runOff, dst.subarray(runOff - offset, runOff - offset + runLen));
        } else {
          const tmp = new Uint8Array(runLen);
          this.base.readAt(runOff, tmp);
          for (let k = i; k <= j; k++) this.copyOut(k, tmp.subarray((k - i) * bs, (k - i) * bs + this.blockLen(k)), offset, dst);
        }
      } else if (i === j) {
        // One block (the common case for random access): read straight into its slot.
        const slot = this.takeSlot();
        const v = this.view(slot, runLen);
        try {
          this.base.readAt(runOff, v);
        } catch (e) {
          this.freeSlots.push(slot);
          throw e;
        }
        this.cache.set(i, { slot, len: runLen, dirty: false });
        this.copyOut(i, v, offset, dst);
      } else {
        if (this.scratch.length < runLen) this.scratch = new Uint8Array(runLen);
        const tmp = this.scratch.subarray(0, runLen);
        this.base.readAt(runOff, tmp);
        for (let k = i; k <= j; k++) {
          const data = tmp.subarray((k - i) * bs, (k - i) * bs + this.blockLen(k));
          this.copyOut(k, data, offset, dst);
          this.insert(k, data, false);
        }
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
        const slot = this.takeSlot();
        const v = this.view(slot, len);
        if (from > bOff || to < bOff + len) {
          try {
            this.base.readAt(bOff, v);
          } catch (e) {
            this.freeSlots.push(slot);
            throw e;
          }
          this.stats.baseReads++;
        }
        b = { slot, len, dirty: false };
        this.cache.set(i, b);
      }
      this.view(b.slot, b.len).set(src.subarray(from - offset, to - offset), from - bOff);
      b.dirty = true;
      this.dirty.add(i);
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
        parts.push(this.view(b.slot, b.len));
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
    this.chunks.length = 0;
    this.freeSlots.length = 0;
    this.slotCount = 0;
    if (this.ownsBase) this.base.close();
  }
}
