/**
 * qcow2 refcounts (qcow2.txt "Host cluster management"): a refcount table of 8-byte entries
 * pointing to refcount blocks, each one cluster of `refcount_bits`-wide entries.
 *
 * Writes are exact and ordered: a cluster's refcount reaches 1 on disk before anything points to
 * it, and drops only after nothing does, so a crash leaves at worst leaked clusters. New
 * clusters are taken from the end of the file (nothing below the first free cluster past the
 * end is ever reused), which also makes "is it free" trivially true for every fresh cluster.
 */
import { ByteView, FormatError, LimitError, hex } from '../../binary/index.js';
import { DiskCode } from '../../errors.js';
import type { HostFile } from '../host.js';
import { HDR, LIMITS, entryOffset, offsetWords, type Qcow2Header } from './layout.js';

/** Clusters past the end of the file that may claim a non-zero refcount before we call the refcounts garbage. */
const MAX_USED_PAST_EOF = 4096;
/** Bound on the refblock-creation recursion (a new refblock's own refcount may need another). */
const MAX_REFBLOCK_NESTING = 8;

export class RefcountTable {
  readonly cs: number;
  readonly bits: number;
  /** Refcount entries per refcount block. */
  readonly perBlock: number;
  readonly max: number;
  private table: Uint8Array;
  private tableView: ByteView;
  private readonly blocks = new Map<number, Uint8Array>();
  /** First cluster index that allocations may use (at or past the end of the file). */
  private cursor: number;

  constructor(
    private readonly host: HostFile,
    private readonly header: Qcow2Header,
    private readonly name: string,
  ) {
    this.cs = header.clusterSize;
    this.bits = 2 ** header.refcountOrder;
    this.perBlock = (this.cs * 8) / this.bits;
    this.max = this.bits >= 53 ? Number.MAX_SAFE_INTEGER : 2 ** this.bits - 1;
    this.table = new Uint8Array(header.refcountTableClusters * this.cs);
    host.readAt(header.refcountTableOffset, this.table);
    this.tableView = new ByteView(this.table, header.refcountTableOffset, `qcow2 refcount table of ${name}`);
    this.cursor = Math.ceil(host.size / this.cs);
  }

  get tableEntries(): number {
    return this.table.length / 8;
  }

  /** Host offset of refcount block `rt` (0 = not allocated); validated. */
  blockOffset(rt: number): number {
    if (rt >= this.tableEntries) return 0;
    const hi = this.tableView.u32be(rt * 8, 'refcount table entry');
    const lo = this.tableView.u32be(rt * 8 + 4, 'refcount table entry');
    if ((hi & 0xff000000) !== 0) {
      throw new FormatError(DiskCode.Qcow2Refcount, `qcow2 refcount table entry ${rt} at ${this.name} @ ${hex(this.header.refcountTableOffset + rt * 8)} has reserved high bits set`, { device: this.name });
    }
    const off = entryOffset(hi, lo);
    if (off === 0) return 0;
    if (off % this.cs !== 0 || lo % 512 !== 0 || off > this.host.size - this.cs) {
      throw new FormatError(DiskCode.Qcow2Refcount, `qcow2 refcount table entry ${rt} at ${this.name} @ ${hex(this.header.refcountTableOffset + rt * 8)} points to refcount block ${hex(off)}, misaligned or outside the ${this.host.size}-byte file`, {
        device: this.name, offset: this.header.refcountTableOffset + rt * 8, actual: off,
      });
    }
    return off;
  }

  private block(rt: number): Uint8Array | undefined {
    let b = this.blocks.get(rt);
    if (b) return b;
    const off = this.blockOffset(rt);
    if (off === 0) return undefined;
    b = new Uint8Array(this.cs);
    this.host.readAt(off, b);
    this.blocks.set(rt, b);
    return b;
  }

  /** Refcount of host cluster `c`. */
  get(c: number): number {
    const rt = Math.floor(c / this.perBlock);
    const b = this.block(rt);
    if (!b) return 0;
    return this.readEntry(b, c - rt * this.perBlock, rt);
  }

  private readEntry(b: Uint8Array, i: number, rt: number): number {
    const w = this.bits;
    if (w < 8) {
      const bit = i * w;
      return (b[bit >> 3]! >> (bit & 7)) & (2 ** w - 1);
    }
    const v = new ByteView(b, 0, `qcow2 refcount block ${rt} of ${this.name}`);
    const o = (i * w) / 8;
    if (w === 8) return v.u8(o);
    if (w === 16) return v.u16be(o);
    if (w === 32) return v.u32be(o);
    const x = v.u64be(o);
    if (x > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new FormatError(DiskCode.Qcow2Refcount, `qcow2 refcount of cluster ${rt * this.perBlock + i} in ${this.name} is ${x}, beyond 2^53`, { device: this.name });
    }
    return Number(x);
  }

  /** Encode entry `i` of block `b`; returns the byte range [from, to) of `b` that changed. */
  private writeEntry(b: Uint8Array, i: number, value: number): [number, number] {
    const w = this.bits;
    if (w < 8) {
      const bit = i * w;
      const mask = (2 ** w - 1) << (bit & 7);
      b[bit >> 3] = (b[bit >> 3]! & ~mask) | ((value << (bit & 7)) & mask);
      return [bit >> 3, (bit >> 3) + 1];
    }
    const o = (i * w) / 8;
    let v = BigInt(value);
    for (let k = w / 8 - 1; k >= 0; k--) {
      b[o + k] = Number(v & 0xffn);
      v >>= 8n;
    }
    return [o, o + w / 8];
  }

  /** Set the refcount of host cluster `c` on disk (creating its refcount block if needed). */
  set(c: number, value: number, nesting = 0): void {
    if (value < 0 || value > this.max) {
      throw new LimitError(DiskCode.Qcow2WriteLimit, `${this.name}: refcount of cluster ${c} would become ${value}, outside 0..${this.max} (${this.bits}-bit refcounts)`, { device: this.name, cluster: c, value });
    }
    const rt = Math.floor(c / this.perBlock);
    if (!this.block(rt)) this.createBlock(rt, nesting);
    const b = this.block(rt)!;
    const [from, to] = this.writeEntry(b, c - rt * this.perBlock, value);
    this.host.writeAt(this.blockOffset(rt) + from, b.subarray(from, to));
  }

  /** Change the refcount of cluster `c` by `delta` (FormatError on underflow: the image lied). */
  adjust(c: number, delta: number): void {
    const cur = this.get(c);
    if (cur + delta < 0) {
      throw new FormatError(DiskCode.Qcow2Refcount, `${this.name}: refcount of cluster ${c} (${hex(c * this.cs)}) is ${cur}, cannot drop by ${-delta} — refcounts are inconsistent`, {
        device: this.name, cluster: c, refcount: cur,
      });
    }
    this.set(c, cur + delta);
  }

  /**
   * Move the cursor to the first cluster at or after it with refcount 0. Past the end of the file
   * every refcount should be 0; a long run of non-zero ones there means the refcount blocks are
   * garbage, so stop (FormatError) instead of walking through them.
   */
  private skipUsed(): void {
    const eof = Math.ceil(this.host.size / this.cs);
    let skipped = 0;
    while (this.get(this.cursor) !== 0) {
      if (this.cursor >= eof && ++skipped > MAX_USED_PAST_EOF) {
        throw new FormatError(DiskCode.Qcow2Refcount, `${this.name}: refcount blocks claim more than ${MAX_USED_PAST_EOF} clusters past the end of the file are in use — refcounts are inconsistent`, {
          device: this.name, cluster: this.cursor,
        });
      }
      this.cursor++;
    }
  }

  /** Next cluster index at or past the cursor whose refcount is 0 (advances the cursor past it). */
  private takeFreeCluster(): number {
    this.skipUsed();
    return this.cursor++;
  }

  private createBlock(rt: number, nesting: number): void {
    if (nesting > MAX_REFBLOCK_NESTING) {
      throw new LimitError(DiskCode.Qcow2WriteLimit, `${this.name}: refcount block allocation nested more than ${MAX_REFBLOCK_NESTING} deep`, { device: this.name });
    }
    if (rt >= this.tableEntries) this.growTable(rt + 1);
    if (this.blockOffset(rt) !== 0) return; // growTable may have created it
    const b = this.takeFreeCluster();
    const content = new Uint8Array(this.cs);
    const self = Math.floor(b / this.perBlock) === rt;
    if (self) this.writeEntry(content, b - rt * this.perBlock, 1);
    this.writeGrow(b * this.cs, content);
    // Its own refcount lives elsewhere: make it 1 there before the table points to it.
    if (!self) this.set(b, 1, nesting + 1);
    this.setTableEntry(rt, b * this.cs);
    this.blocks.set(rt, content);
  }

  private setTableEntry(rt: number, off: number): void {
    const v = new Uint8Array(8);
    putOffset(v, 0, off);
    this.table.set(v, rt * 8);
    this.host.writeAt(this.header.refcountTableOffset + rt * 8, v);
  }

  private writeGrow(off: number, data: Uint8Array): void {
    if (off + data.length <= this.host.size) this.host.writeAt(off, data);
    else if (this.host.writeGrow) this.host.writeGrow(off, data);
    else throw new LimitError(DiskCode.Qcow2WriteLimit, `${this.name}: the host cannot grow`, { device: this.name });
  }

  /**
   * Move the refcount table to a larger place at the end of the file. The new table and any
   * refcount blocks needed to describe it are written first; then (after a flush barrier) the
   * header is switched in one 12-byte write; then the old table's clusters are released.
   */
  private growTable(minEntries: number): void {
    const oldClusters = this.header.refcountTableClusters;
    const oldOffset = this.header.refcountTableOffset;
    const entriesPerCluster = this.cs / 8;
    const k = Math.max(Math.ceil(minEntries / entriesPerCluster), Math.ceil(oldClusters * 1.5), oldClusters + 1);
    if (k * this.cs > LIMITS.MAX_REFTABLE_BYTES) {
      throw new LimitError(DiskCode.Qcow2WriteLimit, `${this.name}: the refcount table would exceed ${LIMITS.MAX_REFTABLE_BYTES} bytes`, { device: this.name });
    }
    // Place the table at the cursor, then the refcount blocks it needs right after it. The set
    // of blocks needed depends on how many there are, so iterate to a fixed point.
    this.skipUsed();
    const t0 = this.cursor;
    const newEntries = k * entriesPerCluster;
    const missing = (first: number, count: number): number[] => {
      const s = new Set<number>();
      for (let c = first; c < first + count; c++) {
        const rt = Math.floor(c / this.perBlock);
        if (rt >= this.tableEntries || this.blockOffset(rt) === 0) s.add(rt);
      }
      return [...s].sort((a, b) => a - b);
    };
    let need: number[] = [];
    for (let iter = 0; iter < 64; iter++) {
      const next = missing(t0, k + need.length);
      if (next.length === need.length) break;
      need = next;
    }
    const areaEnd = t0 + k + need.length;
    for (let c = t0; c < areaEnd; c++) {
      if (this.get(c) !== 0) {
        throw new FormatError(DiskCode.Qcow2Refcount, `${this.name}: cluster ${c} past the end of the file already has a refcount`, { device: this.name });
      }
    }
    for (const rt of need) {
      if (rt >= newEntries) throw new LimitError(DiskCode.Qcow2WriteLimit, `${this.name}: refcount table growth does not converge`, { device: this.name });
    }
    // New table = old entries + the new blocks.
    const table = new Uint8Array(k * this.cs);
    table.set(this.table);
    const newBlocks = new Map<number, { at: number; content: Uint8Array }>();
    need.forEach((rt, j) => {
      const at = t0 + k + j;
      putOffset(table, rt * 8, at * this.cs);
      newBlocks.set(rt, { at, content: new Uint8Array(this.cs) });
    });
    // Refcount 1 for every cluster of the area: in the new blocks, or in existing ones (on disk now).
    for (let c = t0; c < areaEnd; c++) {
      const rt = Math.floor(c / this.perBlock);
      const nb = newBlocks.get(rt);
      if (nb) this.writeEntry(nb.content, c - rt * this.perBlock, 1);
      else this.set(c, 1);
    }
    for (const nb of newBlocks.values()) this.writeGrow(nb.at * this.cs, nb.content);
    this.writeGrow(t0 * this.cs, table);
    this.host.flush();
    // Switch: refcount_table_offset (u64 @48) and refcount_table_clusters (u32 @56) in one write.
    const hdr = new Uint8Array(12);
    putOffset(hdr, 0, t0 * this.cs);
    putU32be(hdr, 8, k);
    this.host.writeAt(HDR.refcountTableOffset, hdr);
    this.host.flush();
    this.table = table;
    this.tableView = new ByteView(table, t0 * this.cs, `qcow2 refcount table of ${this.name}`);
    this.header.refcountTableOffset = t0 * this.cs;
    this.header.refcountTableClusters = k;
    for (const [rt, nb] of newBlocks) this.blocks.set(rt, nb.content);
    this.cursor = areaEnd;
    // Release the old table's clusters.
    for (let c = oldOffset / this.cs; c < oldOffset / this.cs + oldClusters; c++) this.adjust(c, -1);
  }

  /**
   * Allocate `n` contiguous clusters past the end of the file, with refcount 1 each on disk.
   * Returns the host byte offset of the first.
   */
  allocate(n: number): number {
    for (let attempt = 0; ; attempt++) {
      if (attempt > 1000) throw new LimitError(DiskCode.Qcow2WriteLimit, `${this.name}: cannot find ${n} free clusters`, { device: this.name });
      this.skipUsed();
      const start = this.cursor;
      let ok = true;
      for (let c = start; c < start + n; c++) {
        if (this.get(c) !== 0) {
          this.cursor = c + 1;
          ok = false;
          break;
        }
      }
      if (!ok) continue;
      // Make sure every refcount block covering the range exists; creating one moves the cursor.
      let created = false;
      const firstRt = Math.floor(start / this.perBlock);
      const lastRt = Math.floor((start + n - 1) / this.perBlock);
      for (let rt = firstRt; rt <= lastRt; rt++) {
        if (rt >= this.tableEntries || this.blockOffset(rt) === 0) {
          this.createBlock(rt, 0);
          created = true;
        }
      }
      if (created && this.cursor > start) continue;
      for (let c = start; c < start + n; c++) this.set(c, 1);
      this.cursor = start + n;
      return start * this.cs;
    }
  }

  /** Current allocation cursor (cluster index), for tests. */
  get nextFree(): number {
    return this.cursor;
  }
}

/** Store a byte offset as a big-endian u64 entry at `at` (no flags). */
export function putOffset(buf: Uint8Array, at: number, off: number): void {
  const { hi, lo } = offsetWords(off);
  putU32be(buf, at, hi);
  putU32be(buf, at + 4, lo);
}

export function putU32be(buf: Uint8Array, at: number, x: number): void {
  buf[at] = x >>> 24;
  buf[at + 1] = (x >>> 16) & 0xff;
  buf[at + 2] = (x >>> 8) & 0xff;
  buf[at + 3] = x & 0xff;
}
