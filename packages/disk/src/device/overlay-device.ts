import { LimitError, UsageError } from '../binary/index.js';
import { DiskCode } from '../errors.js';
import { assertDeviceRange, assertWritable, allData, type BlockDevice, type Extent } from './block-device.js';
import { blocksToRanges, overlayData } from './extent-merge.js';

export interface OverlayDeviceOptions {
  /** Copy-on-write granularity in bytes, a power of two >= 512 (default 4096). */
  blockSize?: number;
  /** Most bytes the overlay may hold before writes fail with LimitError (default 1 GiB). */
  maxBytes?: number;
  /** close() also closes the base device (default true). */
  ownsBase?: boolean;
  /** Name (default: the base's name). */
  name?: string;
}

/**
 * Copy-on-write over any device, read-only or not: writes land in memory blocks; reads merge
 * them over the base. `changedExtents()` lists what would change (for --dry-run reports),
 * `commit()` writes the changed blocks to the base in ascending order then flushes it,
 * `discard()` forgets them. The base is never written except by commit().
 */
export class OverlayDevice implements BlockDevice {
  readonly name: string;
  readonly size: number;
  readonly sectorSize: number;
  readonly readOnly = false;
  readonly blockSize: number;
  private readonly blocks = new Map<number, Uint8Array>();
  private readonly maxBytes: number;
  private readonly ownsBase: boolean;
  private bytesHeld = 0;

  constructor(readonly base: BlockDevice, opts: OverlayDeviceOptions = {}) {
    const bs = opts.blockSize ?? 4096;
    if (!Number.isInteger(bs) || bs < 512 || (bs & (bs - 1)) !== 0 || bs > 64 * 1024 * 1024) {
      throw new UsageError(DiskCode.DeviceOption, `OverlayDevice: block size ${bs} must be a power of two between 512 and 64 MiB`, { blockSize: bs });
    }
    this.blockSize = bs;
    this.name = opts.name ?? base.name;
    this.size = base.size;
    this.sectorSize = base.sectorSize;
    this.maxBytes = opts.maxBytes ?? 1024 * 1024 * 1024;
    this.ownsBase = opts.ownsBase ?? true;
  }

  /** True when there are uncommitted writes. */
  get dirty(): boolean {
    return this.blocks.size > 0;
  }

  private blockLen(index: number): number {
    return Math.min(this.blockSize, this.size - index * this.blockSize);
  }

  readAt(offset: number, dst: Uint8Array): void {
    assertDeviceRange(this, offset, dst.length, 'read');
    if (dst.length === 0) return;
    if (this.blocks.size === 0) {
      this.base.readAt(offset, dst);
      return;
    }
    const bs = this.blockSize;
    const end = offset + dst.length;
    let pos = offset;
    while (pos < end) {
      const i = Math.floor(pos / bs);
      const blk = this.blocks.get(i);
      if (blk) {
        const to = Math.min(end, i * bs + blk.length);
        dst.set(blk.subarray(pos - i * bs, to - i * bs), pos - offset);
        pos = to;
        continue;
      }
      // Run of base blocks up to the next overlay block: one base read.
      let j = i + 1;
      while (j * bs < end && !this.blocks.has(j)) j++;
      const to = Math.min(end, j * bs);
      this.base.readAt(pos, dst.subarray(pos - offset, to - offset));
      pos = to;
    }
  }

  writeAt(offset: number, src: Uint8Array): void {
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
      let blk = this.blocks.get(i);
      if (!blk) {
        if (this.bytesHeld + len > this.maxBytes) {
          throw new LimitError(DiskCode.DeviceOption, `${this.name}: overlay holds more than ${this.maxBytes} bytes of changes; commit or discard them first`, {
            device: this.name, maxBytes: this.maxBytes,
          });
        }
        blk = new Uint8Array(len);
        if (from > bOff || to < bOff + len) this.base.readAt(bOff, blk);
        this.blocks.set(i, blk);
        this.bytesHeld += len;
      }
      blk.set(src.subarray(from - offset, to - offset), from - bOff);
    }
  }

  /**
   * What the overlay changes, in ascending order. By default the blocks written to (block
   * granularity); with `exact`, only the bytes that actually differ from the base.
   */
  changedExtents(opts: { exact?: boolean } = {}): Extent[] {
    const indices = [...this.blocks.keys()].sort((a, b) => a - b);
    if (!opts.exact) return blocksToRanges(indices, this.blockSize, this.size).map((r) => ({ ...r, kind: 'data' as const }));
    const out: Extent[] = [];
    for (const i of indices) {
      const blk = this.blocks.get(i)!;
      const orig = new Uint8Array(blk.length);
      this.base.readAt(i * this.blockSize, orig);
      let k = 0;
      while (k < blk.length) {
        if (blk[k] === orig[k]) {
          k++;
          continue;
        }
        let m = k;
        while (m < blk.length && blk[m] !== orig[m]) m++;
        const off = i * this.blockSize + k;
        const last = out[out.length - 1];
        if (last && last.offset + last.length === off) last.length += m - k;
        else out.push({ offset: off, length: m - k, kind: 'data' });
        k = m;
      }
    }
    return out;
  }

  /** Write the changed blocks to the base (ascending, adjacent blocks in one write), flush it, and empty the overlay. */
  commit(): void {
    assertWritable(this.base);
    const indices = [...this.blocks.keys()].sort((a, b) => a - b);
    let k = 0;
    while (k < indices.length) {
      let m = k;
      while (m + 1 < indices.length && indices[m + 1] === indices[m]! + 1) m++;
      const parts = indices.slice(k, m + 1).map((i) => this.blocks.get(i)!);
      this.base.writeAt(indices[k]! * this.blockSize, parts.length === 1 ? parts[0]! : Buffer.concat(parts));
      k = m + 1;
    }
    this.base.flush();
    this.discard();
  }

  /** Forget every uncommitted write. */
  discard(): void {
    this.blocks.clear();
    this.bytesHeld = 0;
  }

  /** Does nothing: the overlay's writes stay in memory until commit(). */
  flush(): void {}

  *extents(offset: number, length: number): Iterable<Extent> {
    assertDeviceRange(this, offset, length, 'extents');
    const base = this.base.extents ? this.base.extents(offset, length) : allData(offset, length);
    if (this.blocks.size === 0) {
      yield* base;
      return;
    }
    const ranges = blocksToRanges([...this.blocks.keys()].sort((a, b) => a - b), this.blockSize, this.size);
    yield* overlayData(base, ranges, offset, length);
  }

  /** Discards uncommitted writes (never commits implicitly) and closes the base if owned. */
  close(): void {
    this.discard();
    if (this.ownsBase) this.base.close();
  }
}
