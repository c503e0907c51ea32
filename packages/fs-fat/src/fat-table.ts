import {
  ByteView, ByteWriter, FormatError, LoopError, NoSpaceError, hex, type Logger,
} from '@guestkit/disk/binary';
import type { BlockDevice } from '@guestkit/disk';
import { FatCode } from './errors.js';
import type { Geometry } from './geometry.js';

/** A run of consecutive clusters. */
export interface Run {
  start: number;
  count: number;
}

/** FAT bytes are cached in chunks of this size (a multiple of every sector size). */
const CHUNK_BYTES = 64 * 1024;
/**
 * Clean chunks beyond this many are evicted (64 MiB of FAT: a 2 TiB FAT32 volume with 32 KiB
 * clusters has a 256 MiB FAT; we never need all of it at once).
 */
const MAX_CACHED_CHUNKS = 1024;

interface Chunk {
  bytes: Uint8Array;
  view: ByteView;
  writer: ByteWriter;
  /** Dirty byte range [lo, hi) within the chunk; lo >= hi when clean. */
  lo: number;
  hi: number;
}

/**
 * The file allocation table: cached reads, writes that go to every FAT copy (or only the active
 * one when FAT32 mirroring is off) in sector-sized pieces, chain walks that cannot loop, and
 * cluster allocation. Changes stay in memory until `writeBack()`.
 */
export class FatTable {
  /** Value written to end a chain. */
  readonly eocMark: number;
  /** Entries >= this end a chain. */
  readonly eocMin: number;
  /** The bad-cluster mark. */
  readonly badMark: number;
  readonly maxCluster: number;
  /** Free clusters, when known (from a trusted FSInfo or a full count). */
  freeCount: number | undefined;
  /** Allocation hint: the most recently allocated cluster (FSInfo FSI_Nxt_Free). */
  nextFree: number;
  private readonly chunks = new Map<number, Chunk>();
  private visited: Uint8Array | undefined;
  private readonly copyBase: number;

  constructor(
    private readonly dev: BlockDevice,
    private readonly g: Geometry,
    private readonly where: string,
    private readonly log: Logger,
  ) {
    this.maxCluster = g.maxCluster;
    if (g.fatBits === 12) {
      this.eocMark = 0xfff; this.eocMin = 0xff8; this.badMark = 0xff7;
    } else if (g.fatBits === 16) {
      this.eocMark = 0xffff; this.eocMin = 0xfff8; this.badMark = 0xfff7;
    } else {
      this.eocMark = 0x0fffffff; this.eocMin = 0x0ffffff8; this.badMark = 0x0ffffff7;
    }
    this.copyBase = g.fatOffset + g.activeFat * g.fatBytes;
    this.freeCount = undefined;
    this.nextFree = 2;
  }

  private chunk(index: number): Chunk {
    if (index === this.lastIndex && this.lastChunk) return this.lastChunk;
    let c = this.chunks.get(index);
    if (c) {
      this.lastIndex = index;
      this.lastChunk = c;
      return c;
    }
    const start = index * CHUNK_BYTES;
    const len = Math.min(CHUNK_BYTES, this.g.fatBytes - start);
    const bytes = new Uint8Array(len);
    this.dev.readAt(this.copyBase + start, bytes);
    c = { bytes, view: new ByteView(bytes, this.copyBase + start, `${this.where} FAT`), writer: new ByteWriter(bytes), lo: len, hi: 0 };
    if (this.chunks.size >= MAX_CACHED_CHUNKS) this.evictClean();
    this.chunks.set(index, c);
    this.lastIndex = index;
    this.lastChunk = c;
    return c;
  }

  private lastIndex = -1;
  private lastChunk: Chunk | undefined;

  private evictClean(): void {
    this.lastIndex = -1;
    this.lastChunk = undefined;
    for (const [k, c] of this.chunks) {
      if (c.lo >= c.hi) this.chunks.delete(k);
      if (this.chunks.size < MAX_CACHED_CHUNKS / 2) break;
    }
  }

  private byteAt(off: number): number {
    const ci = Math.floor(off / CHUNK_BYTES);
    return this.chunk(ci).view.u8(off - ci * CHUNK_BYTES, 'FAT12 entry');
  }

  private setByte(off: number, v: number): void {
    const ci = Math.floor(off / CHUNK_BYTES);
    const c = this.chunk(ci);
    const o = off - ci * CHUNK_BYTES;
    c.writer.u8(o, v, 'FAT12 entry');
    this.touch(c, o, 1);
  }

  private touch(c: Chunk, o: number, n: number): void {
    if (o < c.lo) c.lo = o;
    if (o + n > c.hi) c.hi = o + n;
  }

  /** The raw entry for `cluster` (0..maxCluster); FAT32's reserved top 4 bits are masked off. */
  get(cluster: number): number {
    if (this.g.fatBits === 12) {
      const off = cluster + Math.floor(cluster / 2);
      const v = this.byteAt(off) | (this.byteAt(off + 1) << 8);
      return cluster % 2 === 0 ? v & 0xfff : v >> 4;
    }
    if (this.g.fatBits === 16) {
      const off = cluster * 2;
      const ci = Math.floor(off / CHUNK_BYTES);
      return this.chunk(ci).view.u16(off - ci * CHUNK_BYTES, 'FAT16 entry');
    }
    const off = cluster * 4;
    const ci = Math.floor(off / CHUNK_BYTES);
    return (this.chunk(ci).view.u32(off - ci * CHUNK_BYTES, 'FAT32 entry') & 0x0fffffff) >>> 0;
  }

  /** Set the entry for `cluster` (in memory; FAT32's top 4 bits are preserved). */
  set(cluster: number, value: number): void {
    if (this.g.fatBits === 12) {
      const off = cluster + Math.floor(cluster / 2);
      const lo = this.byteAt(off);
      const hi = this.byteAt(off + 1);
      if (cluster % 2 === 0) {
        this.setByte(off, value & 0xff);
        this.setByte(off + 1, (hi & 0xf0) | ((value >> 8) & 0x0f));
      } else {
        this.setByte(off, (lo & 0x0f) | ((value & 0x0f) << 4));
        this.setByte(off + 1, (value >> 4) & 0xff);
      }
      return;
    }
    if (this.g.fatBits === 16) {
      const off = cluster * 2;
      const ci = Math.floor(off / CHUNK_BYTES);
      const c = this.chunk(ci);
      const o = off - ci * CHUNK_BYTES;
      c.writer.u16(o, value & 0xffff, 'FAT16 entry');
      this.touch(c, o, 2);
      return;
    }
    const off = cluster * 4;
    const ci = Math.floor(off / CHUNK_BYTES);
    const c = this.chunk(ci);
    const o = off - ci * CHUNK_BYTES;
    const old = c.view.u32(o, 'FAT32 entry');
    c.writer.u32(o, ((old & 0xf0000000) | (value & 0x0fffffff)) >>> 0, 'FAT32 entry');
    this.touch(c, o, 4);
  }

  isEoc(v: number): boolean {
    return v >= this.eocMin;
  }

  /** True when there are FAT changes not yet written. */
  get dirty(): boolean {
    for (const c of this.chunks.values()) if (c.lo < c.hi) return true;
    return false;
  }

  /** Write changed FAT sectors to every FAT copy (only the active one when mirroring is off). */
  writeBack(): void {
    const bps = this.g.bytesPerSector;
    const copies = this.g.mirrored ? [...Array(this.g.numFats).keys()] : [this.g.activeFat];
    for (const [index, c] of this.chunks) {
      if (c.lo >= c.hi) continue;
      const lo = Math.floor(c.lo / bps) * bps;
      const hi = Math.min(c.bytes.length, Math.ceil(c.hi / bps) * bps);
      const piece = c.bytes.subarray(lo, hi);
      for (const k of copies) this.dev.writeAt(this.g.fatOffset + k * this.g.fatBytes + index * CHUNK_BYTES + lo, piece);
      c.lo = c.bytes.length;
      c.hi = 0;
    }
  }

  /** Forget cached FAT contents (after a failed write, to re-read what is on disk). */
  discard(): void {
    this.chunks.clear();
    this.lastIndex = -1;
    this.lastChunk = undefined;
  }

  private bitmap(): Uint8Array {
    // One bit per cluster number: a chain can then never visit a cluster twice, so every walk
    // ends within maxCluster steps (rust-fatfs's ClusterIterator has no such guard).
    this.visited ??= new Uint8Array(Math.floor(this.maxCluster / 8) + 1);
    return this.visited;
  }

  /**
   * Follow the chain starting at `start` to its end-of-chain mark and return it as runs of
   * consecutive clusters. `what` names the owner for error messages.
   * @throws FormatError(FAT_CHAIN_OUT_OF_RANGE | FAT_CHAIN_BROKEN), LoopError(FAT_CHAIN_LOOP)
   */
  chain(start: number, what: string): Run[] {
    this.checkCluster(start, what, 'first cluster');
    const bits = this.bitmap();
    const runs: Run[] = [];
    let c = start;
    let last: Run | undefined;
    try {
      for (;;) {
        const byte = c >>> 3;
        const mask = 1 << (c & 7);
        if (bits[byte]! & mask) {
          throw new LoopError(FatCode.ChainLoop, `${this.where}: cluster chain of ${what} loops back to cluster ${c}`, { where: this.where, what, cluster: c });
        }
        bits[byte] = bits[byte]! | mask;
        if (last && last.start + last.count === c) last.count++;
        else {
          last = { start: c, count: 1 };
          runs.push(last);
        }
        const next = this.get(c);
        if (next >= this.eocMin) break;
        if (next === this.badMark || next < 2) {
          throw new FormatError(
            FatCode.ChainBroken,
            `${this.where}: cluster chain of ${what} reaches a ${next === 0 ? 'free' : next === 1 ? 'reserved' : 'bad'} cluster: FAT[${c}] = ${hex(next)}`,
            { where: this.where, what, cluster: c, value: next },
          );
        }
        if (next > this.maxCluster) {
          throw new FormatError(
            FatCode.ChainOutOfRange,
            `${this.where}: cluster chain of ${what} points outside the volume: FAT[${c}] = ${hex(next)}, last cluster is ${this.maxCluster}`,
            { where: this.where, what, cluster: c, value: next, maxCluster: this.maxCluster },
          );
        }
        c = next;
      }
    } finally {
      for (const r of runs) for (let k = r.start; k < r.start + r.count; k++) bits[k >>> 3] = bits[k >>> 3]! & ~(1 << (k & 7));
    }
    return runs;
  }

  checkCluster(c: number, what: string, field: string): void {
    if (!(Number.isInteger(c) && c >= 2 && c <= this.maxCluster)) {
      throw new FormatError(FatCode.ChainOutOfRange, `${this.where}: ${field} of ${what} is cluster ${c}, outside 2..${this.maxCluster}`, {
        where: this.where, what, cluster: c, maxCluster: this.maxCluster,
      });
    }
  }

  /** Count free clusters by scanning the whole FAT (sets freeCount). */
  countFree(): number {
    let n = 0;
    for (let c = 2; c <= this.maxCluster; c++) if (this.get(c) === 0) n++;
    this.freeCount = n;
    return n;
  }

  /**
   * Allocate `count` free clusters, searching upward from `hint` (default: after the last
   * allocation) and wrapping once; link them into one chain ending in EOC. Nothing changes when
   * there is not enough room.
   * @throws NoSpaceError(FAT_NO_SPACE)
   */
  allocate(count: number, hint?: number): number[] {
    if (count <= 0) return [];
    const max = this.maxCluster;
    let start = hint !== undefined && hint >= 2 && hint <= max ? hint : this.nextFree + 1;
    if (start < 2 || start > max) start = 2;
    const found: number[] = [];
    let c = start;
    for (let scanned = 0; scanned < max - 1 && found.length < count; scanned++) {
      if (this.get(c) === 0) found.push(c);
      c = c === max ? 2 : c + 1;
    }
    if (found.length < count) {
      // The loop visited every cluster, so this is the exact free count.
      this.freeCount = found.length;
      throw new NoSpaceError(FatCode.NoSpace, `${this.where}: no space left: need ${count} free clusters, found ${found.length}`, {
        where: this.where, needed: count, free: found.length,
      });
    }
    for (let i = 0; i < found.length; i++) this.set(found[i]!, i + 1 < found.length ? found[i + 1]! : this.eocMark);
    if (this.freeCount !== undefined) this.freeCount -= found.length;
    this.nextFree = found[found.length - 1]!;
    this.log.trace?.({ count, first: found[0] }, 'allocated clusters');
    return found;
  }

  /** Mark every cluster of `runs` free. */
  free(runs: readonly Run[]): void {
    let n = 0;
    for (const r of runs) {
      for (let k = r.start; k < r.start + r.count; k++) this.set(k, 0);
      n += r.count;
    }
    if (this.freeCount !== undefined) this.freeCount += n;
  }
}

/** Turn a cluster list into runs of consecutive clusters. */
export function toRuns(clusters: readonly number[]): Run[] {
  const runs: Run[] = [];
  let last: Run | undefined;
  for (const c of clusters) {
    if (last && last.start + last.count === c) last.count++;
    else {
      last = { start: c, count: 1 };
      runs.push(last);
    }
  }
  return runs;
}

export function runsLength(runs: readonly Run[]): number {
  let n = 0;
  for (const r of runs) n += r.count;
  return n;
}
