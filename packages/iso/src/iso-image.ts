import * as fs from 'node:fs';
import {
  ByteWriter, IoError, ReadOnlyError, CommonCode, ioError, nullLogger, assertDeviceRange, type BlockDevice, type Extent, type Logger,
} from '@guestkit/disk';
import { IsoCode } from './errors.js';
import { BLOCK, blocksFor } from './layout/common.js';
import { encodeVolumeDescriptor, encodeTerminator } from './layout/volume-descriptor.js';
import { encodeBootCatalog, encodeBootRecord } from './layout/el-torito.js';
import { PT_ROOT_ID, writePathTableRecord } from './layout/path-table.js';
import { buildIsoDir, buildJolietDir } from './directory-builder.js';
import { planImage, PVD_LBA, type IsoOptions, type Plan, type PathTablePlan } from './plan.js';
import { hostPath, scanTree, treePath, type IsoDir, type IsoEntry, type IsoTree, type ScanOptions } from './tree.js';

/** A metadata region: blocks whose bytes are generated on demand. */
interface MetaRegion {
  lba: number;
  blocks: number;
  build: () => Uint8Array;
}

export interface IsoImageOptions extends IsoOptions, Omit<ScanOptions, 'logger'> {
  /** Source files kept open at once (an LRU of descriptors). Default 32. */
  maxOpenFiles?: number;
  /** Bytes of generated metadata (directories, path tables) kept cached. Default 32 MiB. */
  metadataCacheBytes?: number;
}

/** Summary of an image, for reports and `--json`. */
export interface IsoSummary {
  volumeId: string;
  size: number;
  blocks: number;
  directories: number;
  files: number;
  symlinks: number;
  fileBytes: number;
  isoLevel: number;
  joliet: boolean;
  rockRidge: boolean;
  boot: { platform: 'bios' | 'uefi'; lba: number; sectors: number }[];
  warnings: string[];
}

/**
 * An ISO 9660 image of a directory tree, generated lazily: a read-only BlockDevice whose
 * `readAt` synthesises volume descriptors, path tables and directories from the index and reads
 * file contents straight from the source files. Memory is proportional to the number of entries,
 * not to their size. The source tree must not change while the image is read; a file that shrank
 * is reported as IoError ISO_SOURCE_CHANGED.
 */
export class IsoImage implements BlockDevice {
  readonly name: string;
  readonly size: number;
  readonly sectorSize = BLOCK;
  readonly readOnly = true;
  readonly plan: Plan;
  private readonly meta: MetaRegion[] = [];
  private readonly metaStarts: number[] = [];
  private readonly fileStarts: Float64Array;
  private readonly cache = new Map<MetaRegion, Uint8Array>();
  private cacheBytes = 0;
  private readonly maxCacheBytes: number;
  private readonly fds = new Map<IsoEntry, OpenFile>();
  private readonly maxOpen: number;
  private readonly log: Logger;
  private closed = false;

  private constructor(readonly tree: IsoTree, opts: IsoImageOptions) {
    this.log = opts.logger ?? nullLogger;
    this.plan = planImage(tree, opts);
    this.size = this.plan.volumeBlocks * BLOCK;
    this.name = `iso:${Buffer.from(tree.rootPath).toString()}`;
    this.maxOpen = Math.max(1, opts.maxOpenFiles ?? 32);
    this.maxCacheBytes = opts.metadataCacheBytes ?? 32 * 1024 * 1024;
    this.fileStarts = new Float64Array(this.plan.files.length);
    this.plan.files.forEach((f, i) => (this.fileStarts[i] = f.lba));
    this.buildRegions();
  }

  /** Index `dir` and plan its image. Throws UsageError / IoError / LimitError (see scanTree, planImage). */
  static fromDirectory(dir: string, opts: IsoImageOptions = {}): IsoImage {
    const scanOpts: ScanOptions = {};
    if (opts.limits) scanOpts.limits = opts.limits;
    if (opts.exclude) scanOpts.exclude = opts.exclude;
    if (opts.logger) scanOpts.logger = opts.logger;
    return new IsoImage(scanTree(dir, scanOpts), opts);
  }

  /** Plan an image of an already indexed tree. */
  static fromTree(tree: IsoTree, opts: IsoImageOptions = {}): IsoImage {
    return new IsoImage(tree, opts);
  }

  get warnings(): string[] {
    return this.plan.warnings;
  }

  summary(): IsoSummary {
    let symlinks = 0;
    for (const d of this.plan.isoDirs) for (const c of d.children) if (c.kind === 'symlink') symlinks++;
    return {
      volumeId: this.plan.volumeId,
      size: this.size,
      blocks: this.plan.volumeBlocks,
      directories: this.tree.dirCount,
      files: this.tree.fileCount,
      symlinks,
      fileBytes: this.tree.fileBytes,
      isoLevel: this.plan.level,
      joliet: this.plan.joliet,
      rockRidge: this.plan.rockRidge,
      boot: this.plan.bootEntries.map((b) => ({ platform: b.platform === 0xef ? 'uefi' as const : 'bios' as const, lba: b.lba, sectors: b.sectorCount })),
      warnings: [...this.plan.warnings],
    };
  }

  private buildRegions(): void {
    const p = this.plan;
    const add = (lba: number, blocks: number, build: () => Uint8Array) => {
      this.meta.push({ lba, blocks, build });
      this.metaStarts.push(lba);
    };
    const label = p.volumeId;
    const common = {
      systemId: '',
      volumeSetId: '',
      publisherId: '',
      dataPreparerId: '',
      applicationId: 'GUESTKIT',
      volumeSpaceBlocks: p.volumeBlocks,
      createdMs: p.timestampMs,
      modifiedMs: p.timestampMs,
      rootMtimeMs: this.tree.root.mtimeMs,
    };
    const root = this.tree.root;
    add(PVD_LBA, 1, () => encodeVolumeDescriptor({
      ...common, joliet: false, volumeId: pvdLabel(label), pathTableSize: p.isoPathTable.size,
      lPathTableLba: p.isoPathTable.lLba, mPathTableLba: p.isoPathTable.mLba, rootLba: root.isoLba, rootBytes: root.isoBytes,
    }));
    if (p.bootRecordLba !== undefined && p.catalogLba !== undefined) {
      const cat = p.catalogLba;
      add(p.bootRecordLba, 1, () => encodeBootRecord(cat));
    }
    if (p.svdLba !== undefined && p.jolietPathTable) {
      const jpt = p.jolietPathTable;
      add(p.svdLba, 1, () => encodeVolumeDescriptor({
        ...common, joliet: true, volumeId: label, pathTableSize: jpt.size,
        lPathTableLba: jpt.lLba, mPathTableLba: jpt.mLba, rootLba: root.jolietLba, rootBytes: root.jolietBytes,
      }));
    }
    add(p.terminatorLba, 1, () => encodeTerminator());
    if (p.catalogLba !== undefined) add(p.catalogLba, 1, () => encodeBootCatalog(p.bootEntries));
    const pt = (t: PathTablePlan, dirs: IsoDir[], joliet: boolean) => {
      add(t.lLba, blocksFor(t.size), () => this.pathTable(t, dirs, joliet, false));
      add(t.mLba, blocksFor(t.size), () => this.pathTable(t, dirs, joliet, true));
    };
    pt(p.isoPathTable, p.isoDirs, false);
    if (p.jolietPathTable) pt(p.jolietPathTable, p.jolietDirs, true);
    for (const d of p.isoDirs) add(d.isoLba, d.isoBytes / BLOCK + d.ceBlocks, () => buildIsoDir(d, p.rockRidge, p.addresses));
    for (const d of p.jolietDirs) add(d.jolietLba, d.jolietBytes / BLOCK, () => buildJolietDir(d, p.addresses));
    // The empty block needs no region: gaps read as zeros.
  }

  private pathTable(t: PathTablePlan, dirs: IsoDir[], joliet: boolean, bigEndian: boolean): Uint8Array {
    const w = ByteWriter.alloc(blocksFor(t.size) * BLOCK);
    let off = 0;
    for (const d of dirs) {
      const id = d.parent ? (joliet ? d.jolietId! : d.isoId) : PT_ROOT_ID;
      const parent = d.parent ? (joliet ? d.parent.jolietNumber : d.parent.isoNumber) : 1;
      off += writePathTableRecord(w, off, { extent: joliet ? d.jolietLba : d.isoLba, parent, id }, bigEndian);
    }
    return w.bytes;
  }

  private metaBytes(r: MetaRegion): Uint8Array {
    let b = this.cache.get(r);
    if (b) {
      this.cache.delete(r);
      this.cache.set(r, b);
      return b;
    }
    b = r.build();
    this.cache.set(r, b);
    this.cacheBytes += b.length;
    while (this.cacheBytes > this.maxCacheBytes && this.cache.size > 1) {
      const [k, v] = this.cache.entries().next().value as [MetaRegion, Uint8Array];
      this.cache.delete(k);
      this.cacheBytes -= v.length;
    }
    return b;
  }

  /**
   * Cut `[offset, offset + dst.length)` into pieces: file contents, generated metadata and
   * zeros. Metadata and zeros are filled in at once; file pieces are returned for the caller to
   * read (synchronously or not).
   */
  private mapRead(offset: number, dst: Uint8Array): FilePiece[] {
    assertDeviceRange(this, offset, dst.length, 'read');
    if (this.closed) throw new IoError('CLOSED', `${this.name}: device is closed`);
    const pieces: FilePiece[] = [];
    let done = 0;
    while (done < dst.length) {
      const pos = offset + done;
      const lba = Math.floor(pos / BLOCK);
      const want = dst.length - done;
      // File data.
      const fi = lastAtOrBefore(this.fileStarts, lba);
      if (fi >= 0) {
        const f = this.plan.files[fi]!;
        const start = f.lba * BLOCK;
        const end = start + blocksFor(f.size) * BLOCK;
        if (pos < end) {
          const n = Math.min(want, end - pos);
          const fileOff = pos - start;
          const piece = dst.subarray(done, done + n);
          const k = Math.max(0, Math.min(n, f.size - fileOff));
          if (k < n) piece.fill(0, k); // padding to the block boundary
          if (k > 0) pieces.push({ f, fileOff, dst: piece.subarray(0, k) });
          done += n;
          continue;
        }
        // Past the last file: zeros to the end of the image.
        const next = fi + 1 < this.fileStarts.length ? this.fileStarts[fi + 1]! * BLOCK : this.size;
        const n = Math.min(want, next - pos);
        dst.fill(0, done, done + n);
        done += n;
        continue;
      }
      // Metadata (everything before the first file).
      const mi = lastAtOrBefore(this.metaStarts, lba);
      const r = mi >= 0 ? this.meta[mi]! : undefined;
      if (r && pos < (r.lba + r.blocks) * BLOCK) {
        const bytes = this.metaBytes(r);
        const rel = pos - r.lba * BLOCK;
        const n = Math.min(want, bytes.length - rel);
        dst.set(bytes.subarray(rel, rel + n), done);
        done += n;
        continue;
      }
      const nextMeta = mi + 1 < this.metaStarts.length ? this.metaStarts[mi + 1]! * BLOCK : Infinity;
      const nextFile = this.fileStarts.length > 0 ? this.fileStarts[0]! * BLOCK : this.size;
      const n = Math.min(want, Math.min(nextMeta, nextFile, this.size) - pos);
      dst.fill(0, done, done + n);
      done += n;
    }
    return pieces;
  }

  readAt(offset: number, dst: Uint8Array): void {
    for (const p of this.mapRead(offset, dst)) {
      const h = this.acquire(p.f);
      try {
        let got = 0;
        while (got < p.dst.length) {
          let k: number;
          try {
            k = fs.readSync(h.fd, p.dst, got, p.dst.length - got, p.fileOff + got);
          } catch (e) {
            throw ioError(`${treePath(p.f)}: read at ${p.fileOff + got}`, e);
          }
          if (k === 0) throw sourceChanged(p.f, p.fileOff + got);
          got += k;
        }
      } finally {
        this.release(h);
      }
      applyPatch(p);
    }
  }

  /**
   * `readAt` with file contents read on libuv's thread pool (several files at once), so a caller
   * can overlap reading with other work. Metadata is still generated synchronously.
   */
  async readAtAsync(offset: number, dst: Uint8Array): Promise<void> {
    const pieces = this.mapRead(offset, dst);
    await Promise.all(pieces.map(async (p) => {
      const h = await this.acquireAsync(p.f);
      try {
        let got = 0;
        while (got < p.dst.length) {
          const k = await new Promise<number>((resolve, reject) => {
            fs.read(h.fd, p.dst, got, p.dst.length - got, p.fileOff + got, (err, n) =>
              err ? reject(ioError(`${treePath(p.f)}: read at ${p.fileOff + got}`, err)) : resolve(n));
          });
          if (k === 0) throw sourceChanged(p.f, p.fileOff + got);
          got += k;
        }
      } finally {
        this.release(h);
      }
      applyPatch(p);
    }));
  }

  /** `acquire`, opening the file on the thread pool when it is not open yet. */
  private async acquireAsync(f: IsoEntry): Promise<OpenFile> {
    const cached = this.fds.get(f);
    if (cached) return this.acquire(f);
    const p = hostPath(this.tree, f);
    const fd = await new Promise<number>((resolve, reject) => {
      fs.open(p, 'r', (err, d) => (err ? reject(ioError(`cannot open ${p.toString()}`, err)) : resolve(d)));
    });
    const again = this.fds.get(f);
    if (again || this.closed) {
      // Opened twice concurrently (or closed meanwhile): keep one descriptor.
      fs.close(fd, () => {});
      if (this.closed) throw new IoError('CLOSED', `${this.name}: device is closed`);
      return this.acquire(f);
    }
    const h: OpenFile = { fd, users: 1, closed: false };
    this.fds.set(f, h);
    this.evict();
    return h;
  }

  /** An open descriptor for `f`, pinned until released (the LRU never closes a descriptor in use). */
  private acquire(f: IsoEntry): OpenFile {
    let h = this.fds.get(f);
    if (h) {
      this.fds.delete(f);
      this.fds.set(f, h);
    } else {
      const p = hostPath(this.tree, f);
      let fd: number;
      try {
        fd = fs.openSync(p, 'r');
      } catch (e) {
        throw ioError(`cannot open ${p.toString()}`, e);
      }
      h = { fd, users: 1, closed: false };
      this.fds.set(f, h);
      this.evict(); // after pinning h, so it is not the one evicted
      return h;
    }
    h.users++;
    return h;
  }

  private release(h: OpenFile): void {
    h.users--;
    if (h.users === 0 && (this.closed || h.closed)) this.closeHandle(h);
    else this.evict();
  }

  private evict(): void {
    if (this.fds.size <= this.maxOpen) return;
    for (const [k, v] of this.fds) {
      if (this.fds.size <= this.maxOpen) break;
      if (v.users > 0) continue;
      this.fds.delete(k);
      this.closeHandle(v);
    }
  }

  private closeHandle(h: OpenFile): void {
    if (h.fd < 0) return;
    const fd = h.fd;
    h.fd = -1;
    h.closed = true;
    fs.closeSync(fd);
  }

  writeAt(_offset: number, _src: Uint8Array): void {
    throw new ReadOnlyError(CommonCode.ReadOnly, `${this.name}: a generated ISO image is read-only`, { device: this.name });
  }

  flush(): void {}

  close(): void {
    this.closed = true;
    // Descriptors still used by a read in progress are closed when it releases them.
    for (const h of this.fds.values()) {
      if (h.users === 0) this.closeHandle(h);
      else h.closed = true;
    }
    this.fds.clear();
    this.cache.clear();
    this.cacheBytes = 0;
  }

  /**
   * Allocation map: file contents are `data`, the zero padding after each file and unused blocks
   * are `zero`, generated metadata is `data`. Adjacent runs of one kind are merged.
   */
  *extents(offset: number, length: number): Iterable<Extent> {
    assertDeviceRange(this, offset, length, 'extents');
    const end = offset + length;
    let run: Extent | undefined;
    const emit = function* (o: number, l: number, kind: Extent['kind']): Generator<Extent> {
      const a = Math.max(o, offset);
      const b = Math.min(o + l, end);
      if (a >= b) return;
      if (run && run.kind === kind && run.offset + run.length === a) {
        run.length += b - a;
        return;
      }
      if (run) yield run;
      run = { offset: a, length: b - a, kind };
    };
    let pos = offset;
    // Metadata part: generated regions, zero gaps between them.
    const limit = Math.min(end, this.plan.dataLba * BLOCK);
    let mi = Math.max(0, lastAtOrBefore(this.metaStarts, Math.floor(pos / BLOCK)));
    while (pos < limit && mi < this.meta.length) {
      const r = this.meta[mi]!;
      const rs = r.lba * BLOCK;
      const re = (r.lba + r.blocks) * BLOCK;
      if (re <= pos) {
        mi++;
      } else if (pos < rs) {
        yield* emit(pos, Math.min(rs, limit) - pos, 'zero');
        pos = Math.min(rs, limit);
      } else {
        yield* emit(pos, Math.min(re, limit) - pos, 'data');
        pos = Math.min(re, limit);
        mi++;
      }
    }
    if (pos < limit) {
      yield* emit(pos, limit - pos, 'zero');
      pos = limit;
    }
    // File data part: contents are data, the padding to the block boundary and gaps are zero.
    let fi = Math.max(0, lastAtOrBefore(this.fileStarts, Math.floor(pos / BLOCK)));
    while (pos < end) {
      const f = this.plan.files[fi];
      if (!f) {
        yield* emit(pos, end - pos, 'zero');
        break;
      }
      const fs0 = f.lba * BLOCK;
      const dataEnd = fs0 + f.size;
      const extEnd = fs0 + blocksFor(f.size) * BLOCK;
      if (pos < fs0) {
        yield* emit(pos, fs0 - pos, 'zero');
        pos = fs0;
      } else if (pos < dataEnd) {
        yield* emit(pos, dataEnd - pos, 'data');
        pos = dataEnd;
      } else if (pos < extEnd) {
        yield* emit(pos, extEnd - pos, 'zero');
        pos = extEnd;
        fi++;
      } else fi++;
    }
    if (run) yield run;
  }
}

interface OpenFile {
  fd: number;
  users: number;
  closed: boolean;
}

/** Part of a read that comes from a source file. */
interface FilePiece {
  f: IsoEntry;
  fileOff: number;
  dst: Uint8Array;
}

function sourceChanged(f: IsoEntry, at: number): IoError {
  return new IoError(IsoCode.SourceChanged, `${treePath(f)} is shorter than when it was indexed (${f.size} bytes); the source tree changed`, {
    path: treePath(f), offset: at, size: f.size,
  });
}

/** Overlay the boot info table (if any) on what was read. */
function applyPatch(p: FilePiece): void {
  const patch = p.f.patch;
  if (!patch) return;
  const a = Math.max(p.fileOff, patch.offset);
  const b = Math.min(p.fileOff + p.dst.length, patch.offset + patch.bytes.length);
  if (a < b) p.dst.set(patch.bytes.subarray(a - patch.offset, b - patch.offset), a - p.fileOff);
}

/** Index of the last element <= x in a sorted array, or -1. */
function lastAtOrBefore(a: ArrayLike<number>, x: number): number {
  let lo = 0;
  let hi = a.length - 1;
  let r = -1;
  while (lo <= hi) {
    const m = (lo + hi) >>> 1;
    if (a[m]! <= x) {
      r = m;
      lo = m + 1;
    } else hi = m - 1;
  }
  return r;
}

/** The PVD volume identifier: printable ASCII only, at most 32 characters. */
function pvdLabel(s: string): string {
  let out = '';
  for (const ch of s) out += ch.length === 1 && ch >= ' ' && ch <= '~' ? ch : '_';
  return out.slice(0, 32);
}
