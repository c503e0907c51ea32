/**
 * qcow2 v2/v3 as a BlockDevice (qemu `docs/interop/qcow2.txt`).
 *
 * Reads map guest ranges to runs of one kind (data with contiguous host offsets, zeros,
 * unallocated → backing file, one compressed cluster) and issue one host read per run, so a
 * contiguous data area costs one syscall however many clusters it spans. L2 tables are cached
 * (lru-cache, bounded in bytes).
 *
 * Writes (opened with `write: true`) allocate clusters at the end of the file, copy-on-write
 * from the backing file / compressed / shared clusters, and keep refcounts exact. Every update
 * is ordered so that a crash at any point leaves at worst leaked clusters, never a reference to
 * a cluster whose refcount is too low: refcount +1 → data → L2 entry → L1 entry → refcount −1 of
 * what was replaced.
 */
import { zlib } from './zlib.js';
import { LRUCache } from 'lru-cache';
import {
  ByteView, FormatError, UnsafeStateError, ReadOnlyError, IoError, CommonCode, hex, nullLogger,
  type Logger,
} from '../../binary/index.js';
import { assertDeviceRange, type Extent } from '../../device/block-device.js';
import { DiskCode } from '../../errors.js';
import type { HostFile, ImageDevice } from '../host.js';
import {
  decodeHeader, decodeCompressed, entryOffset, l2Entries, HDR, ENTRY, INCOMPAT, LIMITS,
  type Qcow2Header,
} from './layout.js';
import { Qcow2Writer } from './writer.js';
import { repairDirtyRefcounts } from './check.js';
import type { RefcountTable } from './refcounts.js';

export interface Qcow2OpenOptions {
  /** Open for writing (default: read-only). */
  write?: boolean;
  /** The already-opened backing image (openImage resolves the chain). */
  backing?: ImageDevice | undefined;
  /** Device name for error messages (default: the host's name). */
  name?: string;
  logger?: Logger;
  /** Bytes of L2 tables to keep cached (default 32 MiB). */
  l2CacheBytes?: number;
  /** Path of the image (for info and for resolving relative backing names). */
  path?: string;
  /**
   * With `write`: rebuild the refcounts of an image whose dirty bit is set (lazy refcounts)
   * before writing, as qemu does (default true); false refuses with UnsafeStateError instead.
   */
  repairDirty?: boolean;
}

/** One run of the top layer's mapping (no backing resolution). */
export interface Qcow2Run {
  kind: 'data' | 'compressed' | 'zero' | 'unallocated';
  /** Guest offset and length in bytes. */
  offset: number;
  length: number;
  /** Host offset of the first byte (data), or of the compressed stream (compressed). */
  host?: number;
  /** Compressed stream length bound in bytes (compressed). */
  compressedBytes?: number;
}

/** Kinds as numbers in the hot path. */
const K_UNALLOC = 0;
const K_ZERO = 1;
const K_DATA = 2;
const K_COMP = 3;
const KIND_NAMES = ['unallocated', 'zero', 'data', 'compressed'] as const;

export class Qcow2Device implements ImageDevice {
  readonly format = 'qcow2' as const;
  readonly name: string;
  readonly sectorSize = 512;
  readonly readOnly: boolean;
  readonly path?: string;
  readonly backing: ImageDevice | undefined;
  /** The decoded header (kept current by writes). */
  readonly header: Qcow2Header;
  readonly host: HostFile;
  readonly log: Logger;

  readonly clusterSize: number;
  readonly clusterBits: number;
  /** Entries per L2 table. */
  readonly l2Entries: number;
  /** In-memory copy of the active L1 table (8 bytes per entry). */
  l1: Uint8Array;
  l1View: ByteView;
  /** L2 tables by host offset, each with its ByteView (so switching tables allocates nothing). */
  private readonly l2Cache: LRUCache<number, ByteView>;
  /** Last L2 table used (avoids an LRU lookup per cluster in a run). */
  private curL1Index = -1;
  private curL2: ByteView | undefined;
  private compHost = -1;
  private compData: Uint8Array | undefined;
  private closed = false;
  /** Write machinery, created on the first write. */
  private writer: Qcow2Writer | undefined;

  private constructor(host: HostFile, header: Qcow2Header, opts: Qcow2OpenOptions) {
    this.host = host;
    this.header = header;
    this.name = opts.name ?? host.name;
    this.readOnly = !opts.write;
    if (opts.path !== undefined) this.path = opts.path;
    else if (host.path !== undefined) this.path = host.path;
    this.backing = opts.backing;
    this.log = (opts.logger ?? nullLogger).child({ component: 'qcow2', image: this.name });
    this.clusterBits = header.clusterBits;
    this.clusterSize = header.clusterSize;
    this.l2Entries = l2Entries(header.clusterBits);
    this.l1 = new Uint8Array(header.l1Size * 8);
    if (header.l1Size > 0) host.readAt(header.l1TableOffset, this.l1);
    this.l1View = new ByteView(this.l1, header.l1TableOffset, `qcow2 L1 table of ${this.name}`);
    const cacheBytes = Math.max(opts.l2CacheBytes ?? 32 * 1024 * 1024, this.clusterSize * 4);
    this.l2Cache = new LRUCache<number, ByteView>({ maxSize: cacheBytes, sizeCalculation: (v) => v.length });
  }

  /** Read and validate the header of the qcow2 image on `host` (see layout.ts decodeHeader). */
  static readHeader(host: HostFile, name = host.name): Qcow2Header {
    const fileSize = host.size;
    // Read the first cluster (at most 2 MiB) in two steps: the fixed header gives the cluster size.
    const peek = new Uint8Array(Math.min(fileSize, 4096));
    host.readAt(0, peek);
    let first = peek;
    if (peek.length >= HDR.V2_SIZE) {
      const bits = new ByteView(peek).u32be(HDR.clusterBits);
      if (bits >= LIMITS.MIN_CLUSTER_BITS && bits <= LIMITS.MAX_CLUSTER_BITS && 2 ** bits > peek.length && fileSize > peek.length) {
        first = new Uint8Array(Math.min(fileSize, 2 ** bits));
        host.readAt(0, first);
      }
    }
    return decodeHeader(first, fileSize, name);
  }

  /**
   * Open a qcow2 image on `host`. Validates the header (see layout.ts), refuses unknown
   * incompatible features, encryption, external data files, extended L2 and non-zlib
   * compression; with `write`, also refuses the corrupt and dirty bits (UnsafeStateError).
   */
  static open(host: HostFile, opts: Qcow2OpenOptions = {}): Qcow2Device {
    const name = opts.name ?? host.name;
    const header = Qcow2Device.readHeader(host, name);
    const log = opts.logger ?? nullLogger;
    if (header.incompatibleFeatures & INCOMPAT.corrupt) {
      if (opts.write) {
        throw new UnsafeStateError(DiskCode.Qcow2CorruptBit, `${name}: qcow2 image has the corrupt bit set (qemu found an inconsistency); refusing to write — repair it with \`qemu-img check -r all\` first`, { device: name });
      }
      log.warn({ device: name }, `${name}: qcow2 image has the corrupt bit set; reading anyway`);
    }
    const dirty = (header.incompatibleFeatures & INCOMPAT.dirty) !== 0n;
    if (dirty && opts.write && opts.repairDirty === false) {
      throw new UnsafeStateError(DiskCode.Qcow2Dirty, `${name}: qcow2 image has the dirty bit set (refcounts were left inconsistent by lazy refcounts); refusing to write — repair it with \`qemu-img check -r all\` first`, { device: name });
    }
    if (dirty && !opts.write) log.debug({ device: name }, 'dirty bit set (refcounts not needed for reading)');
    if (opts.write && host.readOnly) {
      throw new ReadOnlyError(CommonCode.ReadOnly, `${name}: the host file is read-only`, { device: name });
    }
    if (header.backingFile !== undefined && opts.backing === undefined) {
      log.debug({ device: name, backing: header.backingFile }, 'backing file not opened: unallocated clusters read as zeros');
    }
    const dev = new Qcow2Device(host, header, opts);
    if (dirty && opts.write) {
      // As qemu does on a read-write open: rebuild the refcounts, then clear the dirty bit.
      log.warn({ device: name }, `${name}: qcow2 dirty bit set (lazy refcounts); rebuilding refcounts before writing`);
      try {
        const n = repairDirtyRefcounts(dev);
        dev.log.info({ changed: n }, 'refcounts rebuilt, dirty bit cleared');
      } catch (e) {
        throw new UnsafeStateError(DiskCode.Qcow2Dirty, `${name}: qcow2 image has the dirty bit set and its refcounts could not be rebuilt (${(e as Error).message}); repair it with \`qemu-img check -r all\``, { device: name }, { cause: e });
      }
    }
    dev.log.debug({ version: header.version, clusterSize: header.clusterSize, size: header.size, l1Size: header.l1Size }, 'opened');
    return dev;
  }

  /**
   * Virtual size in bytes: the header's size rounded down to whole 512-byte sectors, which is
   * what qemu exposes for an image whose header size is not sector aligned.
   */
  get size(): number {
    return this.header.size - (this.header.size % 512);
  }

  // ------------------------------------------------------------------------------------------
  // Mapping
  // ------------------------------------------------------------------------------------------

  /** Host offset of the L2 table for L1 index `i` (0 = none). Validates alignment and bounds. */
  l2OffsetAt(i: number): number {
    const off = i * 8;
    const hi = this.l1View.u32be(off, 'L1 entry');
    const lo = this.l1View.u32be(off + 4, 'L1 entry');
    const l2 = entryOffset(hi, lo);
    if (l2 === 0) return 0;
    if (l2 % this.clusterSize !== 0) {
      throw new FormatError(DiskCode.Qcow2L2Offset, `qcow2 L1 entry ${i} at ${this.name} @ ${hex(this.header.l1TableOffset + off)} points to L2 table ${hex(l2)}, which is not cluster aligned (${this.clusterSize})`, {
        device: this.name, offset: this.header.l1TableOffset + off, actual: l2,
      });
    }
    if (l2 > this.host.size - this.clusterSize) {
      throw new FormatError(DiskCode.Qcow2L2Offset, `qcow2 L1 entry ${i} at ${this.name} @ ${hex(this.header.l1TableOffset + off)} points to L2 table ${hex(l2)}, outside the ${this.host.size}-byte file`, {
        device: this.name, offset: this.header.l1TableOffset + off, actual: l2, fileSize: this.host.size,
      });
    }
    return l2;
  }

  /** The cached L2 table at host offset `l2` (a mutable buffer shared with the writer). */
  l2Table(l2: number): Uint8Array {
    return this.l2View(l2).bytes;
  }

  private l2View(l2: number): ByteView {
    let v = this.l2Cache.get(l2);
    if (!v) {
      const t = new Uint8Array(this.clusterSize);
      this.host.readAt(l2, t);
      v = new ByteView(t, l2, `qcow2 L2 table of ${this.name}`);
      this.l2Cache.set(l2, v);
    }
    return v;
  }

  /** Put a (new or changed) L2 table into the cache. */
  cacheL2(l2: number, table: Uint8Array): void {
    this.l2Cache.set(l2, new ByteView(table, l2, `qcow2 L2 table of ${this.name}`));
    this.curL1Index = -1;
  }

  /** Forget the memoized L2 (after L1 changes). */
  invalidateMapping(): void {
    this.curL1Index = -1;
    this.curL2 = undefined;
  }

  private l2For(l1Index: number): ByteView | undefined {
    if (l1Index === this.curL1Index) return this.curL2;
    const l2 = this.l2OffsetAt(l1Index);
    const view = l2 === 0 ? undefined : this.l2View(l2);
    this.curL1Index = l1Index;
    this.curL2 = view;
    return view;
  }

  // Scratch results of decodeAt (avoids an object per cluster in the hot path).
  private eKind = 0;
  private eHost = 0;
  private eBytes = 0;
  private eCopied = false;
  /** The last decodeAt found no L2 table (or an index past the L1 table). */
  private eNoL2 = false;

  /** Decode the L2 entry of guest cluster `ci` into eKind/eHost/eBytes/eCopied. */
  private decodeAt(ci: number): void {
    const l1Index = Math.floor(ci / this.l2Entries);
    this.eNoL2 = false;
    if (l1Index >= this.header.l1Size) {
      // Only reachable for clusters past the virtual size (the header check guarantees coverage).
      this.eKind = K_UNALLOC;
      this.eNoL2 = true;
      return;
    }
    const l2 = this.l2For(l1Index);
    if (!l2) {
      this.eKind = K_UNALLOC;
      this.eNoL2 = true;
      return;
    }
    const off = (ci - l1Index * this.l2Entries) * 8;
    const hi = l2.u32be(off, 'L2 entry');
    const lo = l2.u32be(off + 4, 'L2 entry');
    if (hi & ENTRY.COMPRESSED_HI) {
      const c = decodeCompressed(hi, lo, this.clusterBits);
      if (c.host === 0 || c.host >= this.host.size) {
        throw new FormatError(DiskCode.Qcow2DataOffset, `qcow2 L2 entry for guest cluster ${ci} at ${this.name} @ ${hex(l2.base + off)} points to compressed data at ${hex(c.host)}, outside the ${this.host.size}-byte file`, {
          device: this.name, offset: l2.base + off, actual: c.host, fileSize: this.host.size,
        });
      }
      this.eKind = K_COMP;
      this.eHost = c.host;
      this.eBytes = c.bytes;
      this.eCopied = false;
      return;
    }
    const host = entryOffset(hi, lo);
    this.eCopied = (hi & ENTRY.COPIED_HI) !== 0;
    this.eHost = host;
    if (this.header.version === 3 && lo & ENTRY.ZERO_LO) {
      this.eKind = K_ZERO;
      return;
    }
    if (host === 0) {
      this.eKind = K_UNALLOC;
      return;
    }
    if (host % this.clusterSize !== 0) {
      throw new FormatError(DiskCode.Qcow2DataOffset, `qcow2 L2 entry for guest cluster ${ci} at ${this.name} @ ${hex(l2.base + off)} points to data cluster ${hex(host)}, which is not cluster aligned`, {
        device: this.name, offset: l2.base + off, actual: host,
      });
    }
    if (host >= this.host.size) {
      throw new FormatError(DiskCode.Qcow2DataOffset, `qcow2 L2 entry for guest cluster ${ci} at ${this.name} @ ${hex(l2.base + off)} points to data cluster ${hex(host)}, outside the ${this.host.size}-byte file`, {
        device: this.name, offset: l2.base + off, actual: host, fileSize: this.host.size,
      });
    }
    this.eKind = K_DATA;
  }

  /** Decoded entry of guest cluster `ci` (for the writer and for check). */
  entry(ci: number): { kind: Qcow2Run['kind']; host: number; bytes: number; copied: boolean } {
    this.decodeAt(ci);
    return { kind: KIND_NAMES[this.eKind]!, host: this.eHost, bytes: this.eBytes, copied: this.eCopied };
  }

  // Result of nextRun.
  private rKind = 0;
  private rLen = 0;
  private rHost = 0;
  private rBytes = 0;

  /**
   * The run starting at guest offset `pos`, ending no later than `end`: one compressed cluster,
   * or consecutive clusters of one kind (data only while host offsets stay contiguous, unless
   * `anyHost`). Sets rKind/rLen/rHost/rBytes.
   */
  private nextRun(pos: number, end: number, anyHost = false): void {
    const cs = this.clusterSize;
    const per = this.l2Entries;
    let ci = Math.floor(pos / cs);
    this.decodeAt(ci);
    const kind = this.eKind;
    this.rKind = kind;
    this.rHost = kind === K_DATA ? this.eHost + (pos - ci * cs) : this.eHost;
    this.rBytes = this.eBytes;
    let expect = this.eHost;
    let p = pos;
    for (let first = true; p < end; first = false) {
      if (!first) {
        this.decodeAt(ci);
        if (this.eKind !== kind) break;
        if (kind === K_DATA && !anyHost && this.eHost !== expect) break;
      }
      if (kind === K_UNALLOC && this.eNoL2) {
        // No L2 table: the whole range it would map is unallocated; skip it in one step.
        const next = (Math.floor(ci / per) + 1) * per;
        p = Math.min(end, next * cs);
        ci = next;
        continue;
      }
      p = Math.min(end, (ci + 1) * cs);
      ci++;
      expect += cs;
      if (kind === K_COMP) break;
    }
    this.rLen = p - pos;
  }

  /**
   * The top layer's mapping of `[offset, offset+length)` as runs (no backing resolution):
   * what `qemu-img map` calls depth 0. Data runs have contiguous host offsets.
   */
  *map(offset = 0, length = this.size - offset): Iterable<Qcow2Run> {
    assertDeviceRange(this, offset, length, 'map');
    const end = offset + length;
    let pos = offset;
    while (pos < end) {
      this.nextRun(pos, end);
      const run: Qcow2Run = { kind: KIND_NAMES[this.rKind]!, offset: pos, length: this.rLen };
      if (this.rKind === K_DATA) run.host = this.rHost;
      if (this.rKind === K_COMP) {
        run.host = this.rHost;
        run.compressedBytes = this.rBytes;
      }
      // The consumer may read from this device between iterations (which reuses the run
      // scratch fields), so advance by the run's own length.
      yield run;
      pos += run.length;
    }
  }

  /**
   * Allocation map of the whole chain: data (incl. compressed) → 'data', zero clusters → 'zero',
   * unallocated ranges are resolved through the backing file ('unallocated' past its end or
   * without one). Adjacent runs of one kind are merged.
   */
  *extents(offset: number, length: number): Iterable<Extent> {
    assertDeviceRange(this, offset, length, 'extents');
    const end = offset + length;
    let pending: Extent | undefined;
    const emit = function* (e: Extent): Generator<Extent> {
      if (e.length === 0) return;
      if (pending && pending.kind === e.kind && pending.offset + pending.length === e.offset) {
        pending.length += e.length;
        return;
      }
      if (pending) yield pending;
      pending = { ...e };
    };
    let pos = offset;
    while (pos < end) {
      this.nextRun(pos, end, true);
      const kind = this.rKind;
      const len = this.rLen;
      if (kind === K_DATA || kind === K_COMP) yield* emit({ offset: pos, length: len, kind: 'data' });
      else if (kind === K_ZERO) yield* emit({ offset: pos, length: len, kind: 'zero' });
      else if (this.backing && pos < this.backing.size) {
        const inBacking = Math.min(len, this.backing.size - pos);
        if (this.backing.extents) {
          for (const e of this.backing.extents(pos, inBacking)) yield* emit(e);
        } else yield* emit({ offset: pos, length: inBacking, kind: 'data' });
        if (inBacking < len) yield* emit({ offset: pos + inBacking, length: len - inBacking, kind: 'unallocated' });
      } else yield* emit({ offset: pos, length: len, kind: 'unallocated' });
      pos += len;
    }
    if (pending) yield pending;
  }

  // ------------------------------------------------------------------------------------------
  // Reads
  // ------------------------------------------------------------------------------------------

  readAt(offset: number, dst: Uint8Array): void {
    this.assertOpen();
    assertDeviceRange(this, offset, dst.length, 'read');
    const end = offset + dst.length;
    let pos = offset;
    while (pos < end) {
      this.nextRun(pos, end);
      const len = this.rLen;
      const out = dst.subarray(pos - offset, pos - offset + len);
      switch (this.rKind) {
        case K_DATA:
          this.readHost(this.rHost, out);
          break;
        case K_ZERO:
          out.fill(0);
          break;
        case K_COMP: {
          const host = this.rHost;
          const bytes = this.rBytes;
          const cluster = this.inflateCluster(host, bytes, Math.floor(pos / this.clusterSize));
          const inOff = pos % this.clusterSize;
          out.set(cluster.subarray(inOff, inOff + len));
          break;
        }
        default:
          this.readBacking(pos, out);
      }
      pos += len;
    }
  }

  /** Read guest range from the backing file (zeros past its end or without one). */
  readBacking(pos: number, out: Uint8Array): void {
    const b = this.backing;
    if (!b || pos >= b.size) {
      out.fill(0);
      return;
    }
    const n = Math.min(out.length, b.size - pos);
    b.readAt(pos, out.subarray(0, n));
    if (n < out.length) out.fill(0, n);
  }

  /** Read host bytes; the part past the end of the file reads as zeros (as qemu does). */
  private readHost(host: number, out: Uint8Array): void {
    const avail = Math.max(0, Math.min(out.length, this.host.size - host));
    if (avail > 0) this.host.readAt(host, out.subarray(0, avail));
    if (avail < out.length) out.fill(0, avail);
  }

  /** Inflate one compressed cluster (raw deflate); the last one is kept for sequential reads. */
  inflateCluster(host: number, bytes: number, ci: number): Uint8Array {
    if (host === this.compHost && this.compData) return this.compData;
    const n = Math.min(bytes, this.host.size - host);
    const raw = new Uint8Array(n);
    this.host.readAt(host, raw);
    let out: Uint8Array;
    try {
      out = zlib().inflateRawSync(raw, { finishFlush: zlib().constants.Z_SYNC_FLUSH, maxOutputLength: this.clusterSize });
    } catch (e) {
      throw new FormatError(DiskCode.Qcow2Compressed, `qcow2 compressed cluster for guest cluster ${ci} at ${this.name} @ ${hex(host)} (+${n}) does not inflate: ${(e as Error).message}`, {
        device: this.name, offset: host, length: n,
      }, { cause: e });
    }
    if (out.length !== this.clusterSize) {
      throw new FormatError(DiskCode.Qcow2Compressed, `qcow2 compressed cluster for guest cluster ${ci} at ${this.name} @ ${hex(host)} inflates to ${out.length} bytes, expected ${this.clusterSize}`, {
        device: this.name, offset: host, expected: this.clusterSize, actual: out.length,
      });
    }
    const copy = new Uint8Array(out.buffer, out.byteOffset, out.length);
    this.compHost = host;
    this.compData = copy;
    return copy;
  }

  /** Forget the cached inflated cluster (the writer calls this when clusters move). */
  dropCompressedCache(): void {
    this.compHost = -1;
    this.compData = undefined;
  }

  // ------------------------------------------------------------------------------------------
  // Writes
  // ------------------------------------------------------------------------------------------

  writeAt(offset: number, src: Uint8Array): void {
    this.assertOpen();
    if (this.readOnly) {
      throw new ReadOnlyError(CommonCode.ReadOnly, `${this.name}: opened read-only (use --rw to write)`, { device: this.name });
    }
    assertDeviceRange(this, offset, src.length, 'write');
    if (src.length === 0) return;
    this.getWriter().write(offset, src);
  }

  /**
   * Store guest cluster `clusterIndex` compressed (raw deflate), qemu-style; only for clusters
   * unallocated in this image (convert -c writes into a fresh image). Falls back to a normal
   * write when the data does not shrink. `data` is one cluster (shorter for a partial last one).
   */
  writeCompressedCluster(clusterIndex: number, data: Uint8Array): void {
    this.assertOpen();
    if (this.readOnly) throw new ReadOnlyError(CommonCode.ReadOnly, `${this.name}: opened read-only`, { device: this.name });
    this.getWriter().writeCompressed(clusterIndex, data);
  }

  /** The refcount table (loaded on first use; used by writes and by check). */
  refcounts(): RefcountTable {
    return this.getWriter().refcounts;
  }

  private getWriter(): Qcow2Writer {
    if (!this.writer) this.writer = new Qcow2Writer(this);
    return this.writer;
  }

  flush(): void {
    if (this.closed) return;
    if (!this.readOnly) this.host.flush();
  }

  /**
   * Close the image and its backing chain. Every write has already reached the host file
   * (writes are not buffered here); call flush() first when the data must be on stable storage.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.host.close();
    } finally {
      this.backing?.close();
      this.l2Cache.clear();
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new IoError(DiskCode.Closed, `${this.name}: device is closed`, { device: this.name });
  }
}

