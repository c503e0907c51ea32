import {
  ByteView, ExistsError, FormatError, GuestError, LimitError, LoopError, NoSpaceError, NotFoundError, OutOfRangeError,
  ReadOnlyError, UnsafeStateError, UsageError, hex, nullLogger, type Logger,
} from '@guestkit/disk/binary';
import {
  forEachBlock, splitPath, type BlockDevice, type ByteSource, type DirEntry, type FileHandle, type FileSystem, type OpenOptions, type Stat, type StatFs,
} from '@guestkit/disk';
import { getCodepage, type Codepage } from './codepage.js';
import { buildEntrySlots, DirState, type DirRecord } from './directory.js';
import { FatCode } from './errors.js';
import { FatTable, runsLength, toRuns, type Run } from './fat-table.js';
import { parseBootSector, type FatType, type Geometry } from './geometry.js';
import { NO_NAME_LABEL, VOLUME_DIRTY_BIT } from './layout/boot-sector.js';
import { ATTR, DIR, SLOT_FREE, encodeFirstCluster, encodeShortEntry, type ShortEntry } from './layout/dir-entry.js';
import { FSI, decodeFsInfo, encodeFsInfoCounts } from './layout/fsinfo.js';
import { decodeShortName, normalizeLongName, planShortName } from './names.js';
import { fromDos, toDos } from './time.js';
import { upcase } from './upcase.js';

/** FAT directories hold at most 65536 entries (fatgen103 §6; Windows and Linux enforce it). */
export const MAX_DIR_BYTES = 65536 * DIR.SIZE;
/** Largest FAT file: DIR_FileSize is 32 bits. */
export const MAX_FILE_SIZE = 0xffffffff;

const sizeOf = (data: Uint8Array | ByteSource): number => (data instanceof Uint8Array ? data.length : data.size);
/** Deepest directory nesting a walk follows (paths beyond this are refused, not followed). */
export const MAX_WALK_DEPTH = 1024;
/** readFile default limit (FileSystem contract). */
const DEFAULT_READ_LIMIT = 1 << 30;
/** Cached directory bytes above which unused directories are dropped. */
const DIR_CACHE_BYTES = 64 * 1024 * 1024;
/** Buffer used to zero-fill file gaps and new directory clusters. */
const ZERO_CHUNK = 1024 * 1024;

export interface OpenFatOptions {
  /** Open read-write (the device must be writable). Default: read-only. */
  write?: boolean;
  /** OEM code page of short names (an iconv-lite single-byte encoding). Default "cp437". */
  codepage?: string;
  logger?: Logger;
  /** Write even when the volume dirty flag is set (it then stays set). Default false. */
  force?: boolean;
  /**
   * Before the first change, walk the whole tree and refuse to write if chains loop, cross or
   * run short (check()). Default true; false skips it (faster first write on huge volumes).
   */
  check?: boolean;
  /** Clock for timestamps (tests pass a fixed one). Default: the current time. */
  clock?: () => Date;
}

/** What check() found. */
export interface CheckReport {
  directories: number;
  files: number;
  /** Clusters owned by files and directories (including a FAT32 root). */
  usedClusters: number;
  /**
   * Clusters in use (or bad) in the FAT that nothing owns (harmless; fsck.fat frees them), when
   * the free count is known without a full FAT scan (FAT32 FSInfo, or after statfs()).
   */
  lostClusters: number | undefined;
}

/** One item of walk(). */
export interface WalkItem {
  path: string;
  entry: DirEntry;
}

interface Located {
  /** Directory holding the entry (undefined for the root itself). */
  parent: DirState | undefined;
  record: DirRecord | undefined;
  /** Keys of the directories passed through, root first (for "move into itself" checks). */
  trail: number[];
}

/** Shared state of a file that has handles open or an operation in progress. */
interface FileState {
  dirKey: number;
  slot: number;
  path: string;
  first: number;
  size: number;
  /**
   * Bytes from the start that hold written data on disk (Windows' ValidDataLength). Growing a
   * file through a handle (truncate) allocates at once but zero-fills [valid, size) only when
   * something is written past it or the handle is closed; reads there return zeros meanwhile.
   * Equal to size whenever no handle is open.
   */
  valid: number;
  runs: Run[] | undefined;
  /** Cluster index at which each run starts (parallel to runs). */
  starts: number[] | undefined;
  refs: number;
  deleted: boolean;
}

function notFound(path: string): NotFoundError {
  return new NotFoundError(FatCode.NotFound, `${path}: no such file or directory`, { path });
}

/**
 * A FAT12/16/32 volume on a BlockDevice, implementing the shared FileSystem interface.
 * Create it with openFat(). Read-only unless opened with `write: true`.
 *
 * Writes are ordered so that a crash at any point leaves at worst lost clusters (which fsck.fat
 * frees) and never an entry pointing at unallocated or foreign clusters: data first, then the FAT
 * (every copy), then the directory entry; when freeing, the entry first, then the FAT. The volume
 * dirty flag (BS_Reserved1 bit 0, one byte) is set before the first change and cleared by flush().
 */
export class FatFileSystem implements FileSystem {
  readonly type = 'vfat' as const;
  readonly label: string | undefined;
  readonly uuid: string | undefined;
  readonly readOnly: boolean;
  readonly fatType: FatType;
  readonly geometry: Geometry;
  /** The dirty flag was already set when the volume was opened. */
  readonly wasDirty: boolean;

  private readonly fat: FatTable;
  private readonly cp: Codepage;
  private readonly log: Logger;
  private readonly clock: () => Date;
  private readonly dirs = new Map<number, DirState>();
  private readonly files = new Map<string, FileState>();
  private readonly rootKey: number;
  private readonly doCheck: boolean;
  private checked = false;
  private dirtySet = false;
  private modified = false;
  private closed = false;
  private fsInfo: { valid: boolean } = { valid: false };

  /** @internal use openFat() */
  constructor(readonly dev: BlockDevice, opts: OpenFatOptions = {}) {
    this.log = (opts.logger ?? nullLogger).child({ component: 'fs-fat', device: dev.name });
    this.cp = getCodepage(opts.codepage ?? 'cp437');
    this.clock = opts.clock ?? (() => new Date());
    this.doCheck = opts.check ?? true;
    if (dev.size < 512) {
      throw new FormatError(FatCode.NotFat, `${dev.name}: device of ${dev.size} bytes is too small for a FAT volume`, { device: dev.name });
    }
    const sector0 = new Uint8Array(Math.min(4096, dev.size));
    dev.readAt(0, sector0);
    const g = parseBootSector(sector0, dev.name);
    this.geometry = g;
    this.fatType = g.fatType;
    const wantWrite = opts.write ?? false;
    if (wantWrite && dev.readOnly) {
      throw new ReadOnlyError(FatCode.ReadOnly, `${dev.name}: device is read-only; cannot open the FAT volume for writing`, { device: dev.name });
    }
    if (g.dataOffset > dev.size) {
      throw new FormatError(FatCode.VolumeTruncated, `${dev.name}: FAT data area starts at ${hex(g.dataOffset)}, past the end of the ${dev.size}-byte device`, {
        device: dev.name, dataOffset: g.dataOffset, size: dev.size,
      });
    }
    if (g.volumeBytes > dev.size) {
      if (wantWrite) {
        throw new FormatError(FatCode.VolumeTruncated, `${dev.name}: the BPB describes ${g.volumeBytes} bytes but the device has ${dev.size}; refusing to write a truncated volume`, {
          device: dev.name, volumeBytes: g.volumeBytes, size: dev.size,
        });
      }
      this.log.warn({ volumeBytes: g.volumeBytes, size: dev.size }, 'FAT volume is larger than its device (truncated image); reads past the end will fail');
    }
    this.wasDirty = g.ebpb !== undefined && (g.ebpb.flags & VOLUME_DIRTY_BIT) !== 0;
    if (wantWrite && this.wasDirty && !opts.force) {
      throw new UnsafeStateError(FatCode.Dirty, `${dev.name}: the FAT volume dirty flag is set (not cleanly unmounted); run fsck.fat first or open with force`, {
        device: dev.name,
      });
    }
    this.readOnly = !wantWrite;
    this.fat = new FatTable(dev, g, dev.name, this.log);
    this.rootKey = g.fatType === 'fat32' ? g.rootCluster : 0;
    this.loadFsInfo();
    this.uuid = formatSerial(sector0, g.fatType === 'fat32' ? 0x43 : 0x27);
    this.label = this.readLabel(sector0);
    this.log.debug({
      fatType: g.fatType, clusterSize: g.clusterSize, clusters: g.clusterCount, sectorSize: g.bytesPerSector, dirty: this.wasDirty,
    }, 'opened FAT volume');
  }

  private loadFsInfo(): void {
    const g = this.geometry;
    if (g.fatType !== 'fat32' || g.fsInfoSector === undefined) return;
    const b = new Uint8Array(FSI.SIZE);
    this.dev.readAt(g.fsInfoSector * g.bytesPerSector, b);
    const fi = decodeFsInfo(new ByteView(b, g.fsInfoSector * g.bytesPerSector, `${this.dev.name} FSInfo`));
    this.fsInfo = { valid: fi.valid };
    if (!fi.valid) {
      this.log.warn({ sector: g.fsInfoSector }, 'FSInfo signatures are wrong; its counts are ignored and not maintained');
      return;
    }
    // Like rust-fatfs and Linux: trust the free count only on a cleanly unmounted volume.
    if (!this.wasDirty && fi.freeCount <= g.clusterCount) this.fat.freeCount = fi.freeCount;
    if (fi.nextFree >= 2 && fi.nextFree <= g.maxCluster) this.fat.nextFree = fi.nextFree;
  }

  /** blkid's rule: the root directory's volume-label entry, else the boot sector label; "NO NAME" is no label. */
  private readLabel(sector0: Uint8Array): string | undefined {
    let raw: Uint8Array | undefined;
    try {
      raw = this.rootDir().label?.raw;
    } catch (e) {
      if (!(e instanceof GuestError)) throw e;
      this.log.warn({ err: e.message }, 'cannot read the root directory for the volume label');
    }
    const noName = (b: Uint8Array | undefined): boolean => !b || Buffer.from(b).toString('latin1') === NO_NAME_LABEL;
    if (noName(raw)) {
      const off = this.geometry.fatType === 'fat32' ? 0x47 : 0x2b;
      raw = sector0.slice(off, off + 11);
    }
    if (noName(raw)) return undefined;
    const text = this.cp.decode(raw!).replace(/[\s\0]+$/, '');
    return text.length > 0 ? text : undefined;
  }

  // ---------------------------------------------------------------------------------------
  // Directories

  private rootDir(): DirState {
    return this.dirByKey(this.rootKey, '/');
  }

  private dirByKey(key: number, path: string): DirState {
    const hit = this.dirs.get(key);
    if (hit) return hit;
    const g = this.geometry;
    let d: DirState;
    if (key === 0) {
      const bytes = new Uint8Array(g.rootDirBytes);
      this.dev.readAt(g.rootDirOffset, bytes);
      d = new DirState(0, true, undefined, bytes, `${this.dev.name}:/`, false, this.cp, g.rootDirOffset);
    } else {
      const isRoot = key === this.rootKey;
      const runs = this.fat.chain(key, `directory ${path}`);
      const bytesLen = runsLength(runs) * g.clusterSize;
      if (bytesLen > Math.max(MAX_DIR_BYTES, g.clusterSize)) {
        throw new FormatError(FatCode.DirTooLarge, `${this.dev.name}: directory ${path} is ${bytesLen} bytes long; FAT allows ${MAX_DIR_BYTES} (65536 entries)`, {
          device: this.dev.name, path, bytes: bytesLen,
        });
      }
      const bytes = new Uint8Array(bytesLen);
      this.readRuns(runs, undefined, 0, bytes);
      d = new DirState(key, isRoot, runs, bytes, `${this.dev.name}:${path}`, g.fatType === 'fat32', this.cp, this.clusterOffset(key));
    }
    this.dirs.set(key, d);
    return d;
  }

  private subdir(rec: DirRecord, path: string): DirState {
    const c = rec.short.firstCluster;
    if (c === 0) {
      throw new FormatError(FatCode.BadDirCluster, `${this.dev.name}: directory ${path} has first cluster 0`, { device: this.dev.name, path });
    }
    this.fat.checkCluster(c, `directory ${path}`, 'first cluster');
    return this.dirByKey(c, path);
  }

  /** Drop cached directories when they use too much memory (only between operations). */
  private trimCaches(): void {
    let total = 0;
    for (const d of this.dirs.values()) total += d.bytes.length;
    if (total <= DIR_CACHE_BYTES) return;
    const keep = new Set<number>([this.rootKey]);
    for (const f of this.files.values()) keep.add(f.dirKey);
    for (const k of [...this.dirs.keys()]) if (!keep.has(k)) this.dirs.delete(k);
  }

  private locate(path: string): Located {
    this.assertOpen();
    const parts = splitPath(path);
    let dir = this.rootDir();
    const trail = [dir.key];
    if (parts.length === 0) return { parent: undefined, record: undefined, trail };
    let sofar = '';
    for (let i = 0; i < parts.length; i++) {
      const rec = findName(dir, parts[i]!);
      if (!rec) return { parent: dir, record: undefined, trail: i === parts.length - 1 ? trail : [] };
      sofar += '/' + rec.name;
      if (i === parts.length - 1) return { parent: dir, record: rec, trail };
      if (!rec.isDir) {
        throw new UsageError(FatCode.NotADirectory, `${sofar}: not a directory (in ${path})`, { path, component: sofar });
      }
      dir = this.subdir(rec, sofar);
      trail.push(dir.key);
    }
    throw new Error('unreachable');
  }

  /** Resolve the parent directory of `path` (which must exist) and the final name. */
  private locateParent(path: string): { dir: DirState; base: string; trail: number[] } {
    const parts = splitPath(path);
    if (parts.length === 0) throw new UsageError(FatCode.BadName, `${path}: the root directory has no parent`, { path });
    const base = parts.pop()!;
    const parentPath = '/' + parts.join('/');
    const loc = this.locate(parentPath);
    if (loc.record === undefined && loc.parent !== undefined) throw notFound(parentPath);
    if (loc.record !== undefined && !loc.record.isDir) {
      throw new UsageError(FatCode.NotADirectory, `${parentPath}: not a directory`, { path: parentPath });
    }
    const dir = loc.record ? this.subdir(loc.record, parentPath) : this.rootDir();
    return { dir, base, trail: loc.record ? [...loc.trail, dir.key] : loc.trail };
  }

  // ---------------------------------------------------------------------------------------
  // Reading

  stat(path: string): Stat {
    const s = this.tryStat(path);
    if (!s) throw notFound(path);
    return s;
  }

  tryStat(path: string): Stat | undefined {
    const loc = this.locate(path);
    if (loc.parent === undefined) return this.rootStat();
    if (!loc.record) return undefined;
    return this.recordStat(loc.record, path);
  }

  private rootStat(): Stat {
    const t = fromDos(0);
    const d = this.rootDir();
    const allocated = d.runs ? runsLength(d.runs) * this.geometry.clusterSize : this.geometry.rootDirBytes;
    return {
      name: '/', type: 'directory', size: 0, allocatedSize: allocated, inode: this.rootKey, links: 1,
      attributes: ATTR.DIRECTORY, mtime: t, atime: t, birthtime: t, ctime: t,
    };
  }

  private recordStat(r: DirRecord, path: string): Stat {
    const s = r.short;
    const cs = this.geometry.clusterSize;
    let allocatedSize: number;
    if (r.isDir) {
      allocatedSize = s.firstCluster >= 2 ? runsLength(this.fat.chain(s.firstCluster, `directory ${path}`)) * cs : 0;
    } else {
      allocatedSize = Math.ceil(s.fileSize / cs) * cs;
    }
    const mtime = fromDos(s.wrtDate, s.wrtTime);
    const st: Stat = {
      name: r.name,
      type: r.isDir ? 'directory' : 'file',
      size: r.isDir ? 0 : s.fileSize,
      allocatedSize,
      inode: s.firstCluster,
      links: 1,
      attributes: s.attr,
      mtime,
      atime: fromDos(s.lstAccDate),
      birthtime: fromDos(s.crtDate, s.crtTime, s.crtTimeTenth),
      ctime: mtime,
    };
    if (r.shortName !== r.name) st.shortName = r.shortName;
    return st;
  }

  readdir(path: string): DirEntry[] {
    const dir = this.openDirAt(path);
    return dir.records.map((r) => this.toDirEntry(r));
  }

  private toDirEntry(r: DirRecord): DirEntry {
    return {
      name: r.name,
      type: r.isDir ? 'directory' : 'file',
      size: r.isDir ? 0 : r.short.fileSize,
      inode: r.short.firstCluster,
      mtime: fromDos(r.short.wrtDate, r.short.wrtTime),
      attributes: r.short.attr,
    };
  }

  private openDirAt(path: string): DirState {
    const loc = this.locate(path);
    if (loc.parent === undefined) return this.rootDir();
    if (!loc.record) throw notFound(path);
    if (!loc.record.isDir) throw new UsageError(FatCode.NotADirectory, `${path}: not a directory`, { path });
    return this.subdir(loc.record, path);
  }

  resolveCase(path: string): string | undefined {
    const parts = splitPath(path);
    let dir = this.rootDir();
    let out = '';
    for (let i = 0; i < parts.length; i++) {
      const rec = findName(dir, parts[i]!);
      if (!rec) return undefined;
      out += '/' + rec.name;
      if (i < parts.length - 1) {
        if (!rec.isDir) return undefined;
        dir = this.subdir(rec, out);
      }
    }
    return out === '' ? '/' : out;
  }

  readFile(path: string, opts: { maxBytes?: number } = {}): Uint8Array {
    const loc = this.locate(path);
    if (loc.parent === undefined) throw new UsageError(FatCode.IsADirectory, `${path}: is a directory`, { path });
    if (!loc.record) throw notFound(path);
    if (loc.record.isDir) throw new UsageError(FatCode.IsADirectory, `${path}: is a directory`, { path });
    const max = opts.maxBytes ?? DEFAULT_READ_LIMIT;
    const size = loc.record.short.fileSize;
    if (size > max) {
      throw new LimitError(FatCode.ReadLimit, `${path}: file is ${size} bytes, over the ${max}-byte readFile limit (use open() to stream it)`, { path, size, max });
    }
    const st = this.fileState(loc.parent, loc.record, path);
    const out = new Uint8Array(size);
    try {
      this.readFileData(st, 0, out);
    } finally {
      this.releaseTransient(st);
    }
    return out;
  }

  /**
   * Walk the tree under `path` (default: everything), depth first in directory order. Each
   * directory entry is descended at most once, so directory loops and cross-linked directories
   * end the descent there (like sleuthkit's fls and GNU find). Nesting beyond MAX_WALK_DEPTH
   * throws LimitError.
   */
  *walk(path = '/'): Generator<WalkItem> {
    const start = this.openDirAt(path);
    const seen = new Set<string>([`${start.key}:root`]);
    const base = splitPath(path).length ? '/' + splitPath(path).join('/') : '';
    const stack: { dir: DirState; prefix: string; depth: number }[] = [{ dir: start, prefix: base, depth: 0 }];
    while (stack.length) {
      const { dir, prefix, depth } = stack.pop()!;
      const children: { dir: DirState; prefix: string; depth: number }[] = [];
      for (const r of [...dir.records]) {
        const p = `${prefix}/${r.name}`;
        yield { path: p, entry: this.toDirEntry(r) };
        if (!r.isDir) continue;
        const id = `${dir.key}:${r.slot}`;
        if (seen.has(id)) continue;
        seen.add(id);
        if (depth + 1 > MAX_WALK_DEPTH) {
          throw new LimitError(FatCode.Limit, `${this.dev.name}: directories nested deeper than ${MAX_WALK_DEPTH} at ${p}`, { path: p });
        }
        children.push({ dir: this.subdir(r, p), prefix: p, depth: depth + 1 });
      }
      for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]!);
    }
  }

  statfs(): StatFs {
    this.assertOpen();
    const free = this.fat.freeCount ?? this.fat.countFree();
    return { blockSize: this.geometry.clusterSize, totalBlocks: this.geometry.clusterCount, freeBlocks: free, nameMax: 255 };
  }

  /**
   * Verify the whole tree: every chain in range, no loops, no cluster owned twice (cross-linked
   * files or directories, directory loops), no file larger than its chain.
   * @throws FormatError(FAT_CROSS_LINKED | FAT_CHAIN_* | FAT_BAD_DIR_CLUSTER), LoopError(FAT_DIR_LOOP | FAT_CHAIN_LOOP), LimitError
   */
  check(): CheckReport {
    this.assertOpen();
    const g = this.geometry;
    const owner = new Uint8Array(Math.floor(g.maxCluster / 8) + 1);
    let used = 0;
    const claim = (runs: Run[], path: string, ancestors: Set<number>): void => {
      for (const r of runs) {
        for (let c = r.start; c < r.start + r.count; c++) {
          const bit = 1 << (c & 7);
          if (owner[c >>> 3]! & bit) {
            if (ancestors.has(c)) {
              throw new LoopError(FatCode.DirLoop, `${this.dev.name}: directory ${path} is one of its own ancestors (cluster ${c})`, { path, cluster: c });
            }
            throw new FormatError(FatCode.CrossLinked, `${this.dev.name}: ${path} shares cluster ${c} with another file or directory`, { path, cluster: c });
          }
          owner[c >>> 3] = owner[c >>> 3]! | bit;
          used++;
        }
      }
    };
    let directories = 1;
    let files = 0;
    const root = this.rootDir();
    if (root.runs) claim(root.runs, '/', new Set());
    const stack: { dir: DirState; path: string; depth: number; ancestors: Set<number> }[] = [
      { dir: root, path: '', depth: 0, ancestors: new Set([root.key]) },
    ];
    while (stack.length) {
      const { dir, path, depth, ancestors } = stack.pop()!;
      for (const r of dir.records) {
        const p = `${path}/${r.name}`;
        const c = r.short.firstCluster;
        if (r.isDir) {
          directories++;
          if (c === 0) throw new FormatError(FatCode.BadDirCluster, `${this.dev.name}: directory ${p} has first cluster 0`, { path: p });
          if (depth + 1 > MAX_WALK_DEPTH) throw new LimitError(FatCode.Limit, `${this.dev.name}: directories nested deeper than ${MAX_WALK_DEPTH} at ${p}`, { path: p });
          if (ancestors.has(c)) throw new LoopError(FatCode.DirLoop, `${this.dev.name}: directory ${p} is one of its own ancestors (cluster ${c})`, { path: p, cluster: c });
          const runs = this.fat.chain(c, `directory ${p}`);
          claim(runs, p, ancestors);
          const sub = this.subdir(r, p);
          stack.push({ dir: sub, path: p, depth: depth + 1, ancestors: new Set([...ancestors, c]) });
        } else {
          files++;
          const size = r.short.fileSize;
          if (c === 0) {
            if (size > 0) throw this.shortChain(p, size, 0);
            continue;
          }
          const runs = this.fat.chain(c, p);
          const bytes = runsLength(runs) * g.clusterSize;
          if (bytes < size) throw this.shortChain(p, size, bytes);
          claim(runs, p, ancestors);
        }
      }
    }
    // Lost clusters come from the free count when it is already known (FSInfo); the check does
    // not scan the whole FAT just for this informational figure.
    const free = this.fat.freeCount;
    const lost = free === undefined ? undefined : Math.max(0, g.clusterCount - free - used);
    return { directories, files, usedClusters: used, lostClusters: lost };
  }

  private shortChain(path: string, size: number, bytes: number): FormatError {
    return new FormatError(FatCode.ChainShort, `${this.dev.name}: ${path} is ${size} bytes but its cluster chain holds ${bytes}`, {
      device: this.dev.name, path, size, chainBytes: bytes,
    });
  }

  // ---------------------------------------------------------------------------------------
  // File data

  private clusterOffset(c: number): number {
    return this.geometry.dataOffset + (c - 2) * this.geometry.clusterSize;
  }

  /** Call fn(deviceOffset, bufferOffset, length) for each contiguous piece of [offset, offset+length). */
  private pieces(runs: Run[], starts: number[] | undefined, offset: number, length: number, fn: (dev: number, buf: number, len: number) => void): void {
    const cs = this.geometry.clusterSize;
    let i = 0;
    let pos = 0;
    if (starts && starts.length) {
      // Binary search for the run holding `offset`.
      const target = Math.floor(offset / cs);
      let lo = 0;
      let hi = starts.length - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (starts[mid]! <= target) lo = mid;
        else hi = mid - 1;
      }
      i = lo;
      pos = starts[lo]! * cs;
    }
    const end = offset + length;
    for (; i < runs.length && pos < end; i++) {
      const r = runs[i]!;
      const runEnd = pos + r.count * cs;
      if (runEnd > offset) {
        const a = Math.max(offset, pos);
        const b = Math.min(end, runEnd);
        fn(this.clusterOffset(r.start) + (a - pos), a - offset, b - a);
      }
      pos = runEnd;
    }
  }

  private readRuns(runs: Run[], starts: number[] | undefined, offset: number, dst: Uint8Array): void {
    this.pieces(runs, starts, offset, dst.length, (d, b, n) => this.dev.readAt(d, dst.subarray(b, b + n)));
  }

  private writeRuns(runs: Run[], starts: number[] | undefined, offset: number, src: Uint8Array): void {
    this.pieces(runs, starts, offset, src.length, (d, b, n) => this.dev.writeAt(d, src.subarray(b, b + n)));
  }

  private zeroRuns(runs: Run[], starts: number[] | undefined, offset: number, length: number): void {
    const zero = new Uint8Array(Math.min(ZERO_CHUNK, length));
    this.pieces(runs, starts, offset, length, (d, _b, n) => {
      for (let k = 0; k < n; k += zero.length) this.dev.writeAt(d + k, zero.subarray(0, Math.min(zero.length, n - k)));
    });
  }

  private fileState(dir: DirState, rec: DirRecord, path: string): FileState {
    const id = `${dir.key}:${rec.slot}`;
    let st = this.files.get(id);
    if (!st) {
      const size = rec.short.fileSize;
      st = { dirKey: dir.key, slot: rec.slot, path, first: rec.short.firstCluster, size, valid: size, runs: undefined, starts: undefined, refs: 0, deleted: false };
      this.files.set(id, st);
    }
    return st;
  }

  private releaseTransient(st: FileState): void {
    if (st.refs === 0) this.forget(st);
  }

  /** Drop a file state from the map — only if the map still holds this one (the slot may be reused). */
  private forget(st: FileState): void {
    const key = `${st.dirKey}:${st.slot}`;
    if (this.files.get(key) === st) this.files.delete(key);
  }

  private loadRuns(st: FileState): Run[] {
    if (st.runs) return st.runs;
    const runs = st.first === 0 ? [] : this.fat.chain(st.first, st.path);
    const bytes = runsLength(runs) * this.geometry.clusterSize;
    if (bytes < st.size) throw this.shortChain(st.path, st.size, bytes);
    this.setRuns(st, runs);
    return runs;
  }

  private setRuns(st: FileState, runs: Run[]): void {
    st.runs = runs;
    const starts: number[] = [];
    let n = 0;
    for (const r of runs) {
      starts.push(n);
      n += r.count;
    }
    st.starts = starts;
  }

  private readFileData(st: FileState, offset: number, dst: Uint8Array): void {
    if (dst.length === 0) return;
    const runs = this.loadRuns(st);
    const stored = Math.max(0, Math.min(dst.length, st.valid - offset));
    if (stored > 0) this.readRuns(runs, st.starts, offset, dst.subarray(0, stored));
    if (stored < dst.length) dst.fill(0, stored);
  }

  /** Write the zeros a handle's growth deferred ([valid, size)), making the file whole on disk. */
  private settle(st: FileState): void {
    if (st.deleted || st.valid >= st.size) return;
    this.zeroRuns(this.loadRuns(st), st.starts, st.valid, st.size - st.valid);
    st.valid = st.size;
  }

  // ---------------------------------------------------------------------------------------
  // Writing

  private assertOpen(): void {
    if (this.closed) throw new UsageError(FatCode.Closed, `${this.dev.name}: the FAT filesystem is closed`, { device: this.dev.name });
  }

  private beginWrite(): void {
    this.assertOpen();
    if (this.readOnly) {
      throw new ReadOnlyError(FatCode.ReadOnly, `${this.dev.name}: FAT volume opened read-only (open with write: true / --rw)`, { device: this.dev.name });
    }
    if (!this.checked && this.doCheck) {
      this.check();
      this.checked = true;
    }
    this.trimCaches();
    if (!this.dirtySet) {
      this.setDirtyFlag(true);
      this.dirtySet = true;
    }
    this.modified = true;
  }

  /** Run a write operation; on an unexpected failure drop caches so memory matches the disk again. */
  private op<T>(fn: () => T): T {
    this.beginWrite();
    try {
      return fn();
    } catch (e) {
      if (!(e instanceof NoSpaceError || e instanceof ExistsError || e instanceof NotFoundError || e instanceof UsageError)) {
        this.resync();
      }
      throw e;
    }
  }

  private resync(): void {
    this.fat.discard();
    this.fat.freeCount = undefined;
    this.dirs.clear();
    for (const st of this.files.values()) {
      st.runs = undefined;
      st.starts = undefined;
    }
  }

  /** Write only the BS_Reserved1 byte (rust-fatfs set_dirty_flag): never rewrite the boot sector. */
  private setDirtyFlag(on: boolean): void {
    const g = this.geometry;
    if (!g.ebpb || (this.wasDirty && !on)) return;
    const b = new Uint8Array(1);
    this.dev.readAt(g.flagsOffset, b);
    const nv = on ? b[0]! | VOLUME_DIRTY_BIT : b[0]! & ~VOLUME_DIRTY_BIT;
    if (nv !== b[0]) {
      b[0] = nv;
      this.dev.writeAt(g.flagsOffset, b);
    }
  }

  private now(): { date: number; time: number; tenth: number } {
    return toDos(this.clock());
  }

  private writeDirSlots(dir: DirState, fromSlot: number, toSlot: number): void {
    const from = fromSlot * DIR.SIZE;
    const to = toSlot * DIR.SIZE;
    if (!dir.runs) {
      this.dev.writeAt(this.geometry.rootDirOffset + from, dir.bytes.subarray(from, to));
      return;
    }
    this.pieces(dir.runs, undefined, from, to - from, (d, b, n) => this.dev.writeAt(d, dir.bytes.subarray(from + b, from + b + n)));
  }

  /** Make room for `n` more slots at the end of a cluster directory. */
  private growDir(dir: DirState, n: number, tailFree: number): void {
    const g = this.geometry;
    if (!dir.runs) {
      throw new NoSpaceError(FatCode.RootFull, `${this.dev.name}: the FAT12/16 root directory is full (${g.rootEntries} entries)`, {
        device: this.dev.name, entries: g.rootEntries,
      });
    }
    const needBytes = (n - tailFree) * DIR.SIZE;
    const clusters = Math.ceil(needBytes / g.clusterSize);
    if (dir.bytes.length + clusters * g.clusterSize > Math.max(MAX_DIR_BYTES, g.clusterSize)) {
      throw new NoSpaceError(FatCode.DirTooLarge, `${dir.where}: directory is full (FAT allows 65536 entries)`, { where: dir.where });
    }
    const last = dir.runs[dir.runs.length - 1]!;
    const lastCluster = last.start + last.count - 1;
    const added = this.fat.allocate(clusters, lastCluster + 1);
    this.fat.set(lastCluster, added[0]!);
    const addedRuns = toRuns(added);
    const zero = new Uint8Array(g.clusterSize);
    for (const c of added) this.dev.writeAt(this.clusterOffset(c), zero);
    this.fat.writeBack();
    const runs = [...dir.runs];
    for (const r of addedRuns) {
      const tail = runs[runs.length - 1]!;
      if (tail.start + tail.count === r.start) runs[runs.length - 1] = { start: tail.start, count: tail.count + r.count };
      else runs.push(r);
    }
    dir.runs = runs;
    const bytes = new Uint8Array(dir.bytes.length + clusters * g.clusterSize);
    bytes.set(dir.bytes);
    dir.bytes = bytes;
  }

  /** Store a new entry (long name slots + short entry) in `dir`, growing it if needed. */
  private addEntry(dir: DirState, longName: string | undefined, short: ShortEntry): DirRecord {
    const slots = buildEntrySlots(longName, short);
    const n = slots.length / DIR.SIZE;
    let { start, tailFree } = dir.findFreeRun(n);
    if (start === undefined) {
      this.growDir(dir, n, tailFree);
      start = dir.findFreeRun(n).start!;
    }
    dir.bytes.set(slots, start * DIR.SIZE);
    let endWrite = start + n;
    // Entries after the end marker are invisible; if slots past it hold stale bytes, put a new
    // end marker right after the new entry so they stay invisible.
    if (start + n >= dir.endSlot && start + n < dir.slotCount && dir.bytes[(start + n) * DIR.SIZE] !== 0) {
      dir.bytes.fill(0, (start + n) * DIR.SIZE, (start + n + 1) * DIR.SIZE);
      endWrite++;
    }
    this.writeDirSlots(dir, start, endWrite);
    return dir.addParsed(start, n);
  }

  private removeEntry(dir: DirState, rec: DirRecord): void {
    for (let s = rec.firstSlot; s <= rec.slot; s++) dir.bytes[s * DIR.SIZE] = SLOT_FREE;
    this.writeDirSlots(dir, rec.firstSlot, rec.slot + 1);
    dir.removeRecord(rec);
  }

  private updateEntry(dir: DirState, rec: DirRecord, patch: Partial<ShortEntry>): DirRecord {
    const short: ShortEntry = { ...rec.short, ...patch };
    encodeShortEntry(dir.bytes, rec.slot * DIR.SIZE, short);
    this.writeDirSlots(dir, rec.slot, rec.slot + 1);
    return dir.replaceShort(rec, short);
  }

  private recordAt(st: FileState): { dir: DirState; rec: DirRecord } {
    const dir = this.dirByKey(st.dirKey, st.path);
    const rec = dir.records.find((r) => r.slot === st.slot);
    if (!rec || st.deleted) {
      throw new UsageError(FatCode.Closed, `${st.path}: the file was removed while open`, { path: st.path });
    }
    return { dir, rec };
  }

  /** Plan the short name for `name` in `dir`, avoiding every short and long name already used. */
  private plan(dir: DirState, name: string, except?: DirRecord): ReturnType<typeof planShortName> {
    return planShortName(name, this.cp, (key) => {
      if (dir.isShortTaken(key, except)) return true;
      const text = decodeShortName(Uint8Array.from(key, (ch) => ch.charCodeAt(0)), 0, this.cp, false);
      return dir.isNameTaken(upcase(text), except);
    });
  }

  private newShort(plan: { raw: Uint8Array; ntRes: number }, attr: number, first: number, size: number): ShortEntry {
    const t = this.now();
    return {
      name: plan.raw, attr, ntRes: plan.ntRes, crtTimeTenth: t.tenth, crtTime: t.time, crtDate: t.date, lstAccDate: t.date,
      firstCluster: first, wrtTime: t.time, wrtDate: t.date, fileSize: size,
    };
  }

  private allocateFor(bytes: number, hint?: number): number[] {
    return this.fat.allocate(Math.ceil(bytes / this.geometry.clusterSize), hint);
  }

  writeFile(path: string, data: Uint8Array): void {
    this.put(path, data);
  }

  /**
   * Create or replace a file from a positional source, read in 1 MiB blocks: a new cluster chain
   * is written first, then the entry switched to it and the old chain freed, so a failure (a read
   * error, no space) leaves the old file as it was.
   */
  writeFileFrom(path: string, src: ByteSource): void {
    this.put(path, src);
  }

  private put(path: string, data: Uint8Array | ByteSource): void {
    this.op(() => {
      const size = sizeOf(data);
      if (size > MAX_FILE_SIZE) throw this.tooLarge(path, size);
      const loc = this.locate(path);
      if (loc.parent === undefined || loc.record?.isDir) throw new UsageError(FatCode.IsADirectory, `${path}: is a directory`, { path });
      if (loc.record) {
        const st = this.fileState(loc.parent, loc.record, path);
        try {
          this.replaceContents(st, data);
        } finally {
          this.releaseTransient(st);
        }
        return;
      }
      const { dir, base } = this.locateParent(path);
      this.createFile(dir, base, data);
    });
  }

  /** Write a whole file's contents from offset 0 of `runs` (in blocks when it comes from a source). */
  private writeContents(runs: Run[], data: Uint8Array | ByteSource): void {
    forEachBlock(data, (off, block) => this.writeRuns(runs, undefined, off, block));
  }

  private tooLarge(path: string, size: number): LimitError {
    return new LimitError(FatCode.FileTooLarge, `${path}: ${size} bytes is over the FAT file size limit of ${MAX_FILE_SIZE} bytes`, { path, size });
  }

  private createFile(dir: DirState, rawName: string, data: Uint8Array | ByteSource): DirRecord {
    const name = normalizeLongName(rawName);
    if (findName(dir, name)) throw new ExistsError(FatCode.Exists, `${name}: already exists`, { name });
    const plan = this.plan(dir, name);
    const size = sizeOf(data);
    const clusters = this.allocateFor(size);
    const runs = toRuns(clusters);
    this.writeContents(runs, data);
    this.fat.writeBack();
    try {
      return this.addEntry(dir, plan.needsLfn ? name : undefined, this.newShort(plan, ATTR.ARCHIVE, clusters[0] ?? 0, size));
    } catch (e) {
      this.fat.free(runs);
      this.fat.writeBack();
      throw e;
    }
  }

  /** writeFile on an existing file: new chain first, switch the entry, then free the old chain. */
  private replaceContents(st: FileState, data: Uint8Array | ByteSource): void {
    const old = this.loadRuns(st);
    const size = sizeOf(data);
    let clusters: number[];
    try {
      clusters = this.allocateFor(size);
    } catch (e) {
      if (!(e instanceof NoSpaceError)) throw e;
      // Not enough room for old and new side by side: rewrite in place.
      this.truncateState(st, 0);
      forEachBlock(data, (off, block) => this.writeState(st, off, block));
      return;
    }
    const runs = toRuns(clusters);
    this.writeContents(runs, data);
    this.fat.writeBack();
    const { dir, rec } = this.recordAt(st);
    const t = this.now();
    this.updateEntry(dir, rec, {
      firstCluster: clusters[0] ?? 0, fileSize: size, wrtDate: t.date, wrtTime: t.time, lstAccDate: t.date, attr: rec.short.attr | ATTR.ARCHIVE,
    });
    st.first = clusters[0] ?? 0;
    st.size = size;
    st.valid = size;
    this.setRuns(st, runs);
    this.fat.free(old);
    this.fat.writeBack();
  }

  /** Write `src` at `offset` of a file, growing it (zero-filling any gap). */
  private writeState(st: FileState, offset: number, src: Uint8Array): void {
    const end = offset + src.length;
    if (end > MAX_FILE_SIZE) throw this.tooLarge(st.path, end);
    const newSize = Math.max(st.size, end);
    const runs = this.ensureClusters(st, newSize);
    // Bytes between what is stored and the write must read as zeros (old slack, new clusters).
    if (offset > st.valid) this.zeroRuns(runs, st.starts, st.valid, offset - st.valid);
    this.writeRuns(runs, st.starts, offset, src);
    st.valid = Math.max(st.valid, end);
    this.fat.writeBack();
    this.commitSize(st, newSize);
  }

  /** Make sure the chain covers `size` bytes, allocating (contiguously if possible) and linking new clusters. */
  private ensureClusters(st: FileState, size: number): Run[] {
    const runs = this.loadRuns(st);
    const cs = this.geometry.clusterSize;
    const have = runsLength(runs);
    const need = Math.ceil(size / cs);
    if (need <= have) return runs;
    const last = runs.length ? runs[runs.length - 1]!.start + runs[runs.length - 1]!.count - 1 : undefined;
    const added = this.fat.allocate(need - have, last !== undefined ? last + 1 : undefined);
    if (last !== undefined) this.fat.set(last, added[0]!);
    const merged = [...runs];
    for (const r of toRuns(added)) {
      const tail = merged[merged.length - 1];
      if (tail && tail.start + tail.count === r.start) merged[merged.length - 1] = { start: tail.start, count: tail.count + r.count };
      else merged.push(r);
    }
    if (st.first === 0) st.first = added[0]!;
    this.setRuns(st, merged);
    return merged;
  }

  private commitSize(st: FileState, size: number): void {
    const { dir, rec } = this.recordAt(st);
    const t = this.now();
    this.updateEntry(dir, rec, {
      firstCluster: st.first, fileSize: size, wrtDate: t.date, wrtTime: t.time, lstAccDate: t.date, attr: rec.short.attr | ATTR.ARCHIVE,
    });
    st.size = size;
  }

  private truncateState(st: FileState, size: number): void {
    if (size > MAX_FILE_SIZE) throw this.tooLarge(st.path, size);
    if (size > st.size) {
      // Allocate now; the zeros are written lazily (see FileState.valid) so that growing a file
      // and then writing it, as an upload does, does not write every byte twice.
      this.ensureClusters(st, size);
      this.fat.writeBack();
      this.commitSize(st, size);
      if (st.refs === 0) this.settle(st);
      return;
    }
    st.valid = Math.min(st.valid, size);
    const runs = this.loadRuns(st);
    const need = Math.ceil(size / this.geometry.clusterSize);
    const have = runsLength(runs);
    const keep: Run[] = [];
    const drop: Run[] = [];
    let left = need;
    for (const r of runs) {
      if (left >= r.count) {
        keep.push(r);
        left -= r.count;
      } else if (left > 0) {
        keep.push({ start: r.start, count: left });
        drop.push({ start: r.start + left, count: r.count - left });
        left = 0;
      } else drop.push(r);
    }
    // Entry first (smaller size, maybe no cluster), then the FAT: a crash in between only loses clusters.
    if (need === 0) st.first = 0;
    this.commitSize(st, size);
    if (need < have) {
      if (keep.length) {
        const k = keep[keep.length - 1]!;
        this.fat.set(k.start + k.count - 1, this.fat.eocMark);
      }
      this.fat.free(drop);
      this.fat.writeBack();
    }
    this.setRuns(st, keep);
  }

  mkdir(path: string): void {
    this.op(() => {
      const { dir, base } = this.locateParent(path);
      const name = normalizeLongName(base);
      if (findName(dir, name)) throw new ExistsError(FatCode.Exists, `${path}: already exists`, { path });
      const plan = this.plan(dir, name);
      const [cluster] = this.fat.allocate(1);
      const c = cluster!;
      const t = this.now();
      const content = new Uint8Array(this.geometry.clusterSize);
      const dotShort = (nm: string, first: number): ShortEntry => ({
        name: Uint8Array.from(nm.padEnd(11, ' '), (ch) => ch.charCodeAt(0)), attr: ATTR.DIRECTORY, ntRes: 0,
        crtTimeTenth: t.tenth, crtTime: t.time, crtDate: t.date, lstAccDate: t.date, firstCluster: first, wrtTime: t.time, wrtDate: t.date, fileSize: 0,
      });
      encodeShortEntry(content, 0, dotShort('.', c));
      encodeShortEntry(content, DIR.SIZE, dotShort('..', dir.dotdotValue));
      this.dev.writeAt(this.clusterOffset(c), content);
      this.fat.writeBack();
      try {
        this.addEntry(dir, plan.needsLfn ? name : undefined, this.newShort(plan, ATTR.DIRECTORY, c, 0));
      } catch (e) {
        this.fat.free([{ start: c, count: 1 }]);
        this.fat.writeBack();
        throw e;
      }
    });
  }

  unlink(path: string): void {
    this.op(() => {
      const loc = this.locate(path);
      if (loc.parent === undefined) throw new UsageError(FatCode.IsADirectory, `${path}: is a directory`, { path });
      if (!loc.record) throw notFound(path);
      if (loc.record.isDir) throw new UsageError(FatCode.IsADirectory, `${path}: is a directory (use rmdir)`, { path });
      const rec = loc.record;
      const st = this.fileState(loc.parent, rec, path);
      const runs = this.loadRuns(st);
      this.removeEntry(loc.parent, rec);
      this.fat.free(runs);
      this.fat.writeBack();
      st.deleted = true;
      this.forget(st);
    });
  }

  rmdir(path: string): void {
    this.op(() => {
      const loc = this.locate(path);
      if (loc.parent === undefined) throw new UsageError(FatCode.BadRename, `${path}: cannot remove the root directory`, { path });
      if (!loc.record) throw notFound(path);
      if (!loc.record.isDir) throw new UsageError(FatCode.NotADirectory, `${path}: not a directory`, { path });
      const sub = this.subdir(loc.record, path);
      if (sub.records.length > 0) throw new UsageError(FatCode.DirNotEmpty, `${path}: directory not empty`, { path, entries: sub.records.length });
      const runs = sub.runs ?? [];
      this.removeEntry(loc.parent, loc.record);
      this.fat.free(runs);
      this.fat.writeBack();
      this.dirs.delete(sub.key);
    });
  }

  rename(from: string, to: string): void {
    this.op(() => {
      const src = this.locate(from);
      if (src.parent === undefined) throw new UsageError(FatCode.BadRename, `cannot rename the root directory`, { from, to });
      if (!src.record) throw notFound(from);
      const srcDir = src.parent;
      const rec = src.record;
      const { dir: dstDir, base, trail } = this.locateParent(to);
      const name = normalizeLongName(base);
      if (rec.isDir && trail.includes(rec.short.firstCluster)) {
        throw new UsageError(FatCode.BadRename, `cannot move directory ${from} into itself (${to})`, { from, to });
      }
      const existing = findName(dstDir, name);
      if (existing && existing !== rec) throw new ExistsError(FatCode.Exists, `${to}: already exists`, { path: to });
      const sameDir = dstDir === srcDir;
      const plan = this.plan(dstDir, name, sameDir ? rec : undefined);
      const short: ShortEntry = { ...rec.short, name: plan.raw, ntRes: plan.ntRes, attr: rec.isDir ? rec.short.attr : rec.short.attr | ATTR.ARCHIVE };
      const oldId = `${srcDir.key}:${rec.slot}`;
      // New entry first, then remove the old one: a crash in between leaves two names for one
      // file (fsck.fat repairs that) rather than none.
      const added = this.addEntry(dstDir, plan.needsLfn ? name : undefined, short);
      const current = srcDir.records.find((r) => r.slot === rec.slot) ?? rec;
      this.removeEntry(srcDir, current);
      if (rec.isDir && !sameDir) {
        const moved = this.subdir(added, to);
        if (moved.dotdotSlot !== undefined) {
          encodeFirstCluster(moved.bytes, moved.dotdotSlot * DIR.SIZE, dstDir.dotdotValue);
          this.writeDirSlots(moved, moved.dotdotSlot, moved.dotdotSlot + 1);
        }
      }
      const st = this.files.get(oldId);
      if (st) {
        this.files.delete(oldId);
        st.dirKey = dstDir.key;
        st.slot = added.slot;
        st.path = to;
        this.files.set(`${st.dirKey}:${st.slot}`, st);
      }
    });
  }

  utimes(path: string, times: { mtime?: Date; atime?: Date; birthtime?: Date }): void {
    this.op(() => {
      const loc = this.locate(path);
      if (loc.parent === undefined) throw new UsageError(FatCode.BadName, `the FAT root directory has no timestamps`, { path });
      if (!loc.record) throw notFound(path);
      const patch: Partial<ShortEntry> = {};
      if (times.mtime) {
        const t = toDos(times.mtime);
        patch.wrtDate = t.date;
        patch.wrtTime = t.time;
      }
      if (times.atime) patch.lstAccDate = toDos(times.atime).date;
      if (times.birthtime) {
        const t = toDos(times.birthtime);
        patch.crtDate = t.date;
        patch.crtTime = t.time;
        patch.crtTimeTenth = t.tenth;
      }
      this.updateEntry(loc.parent, loc.record, patch);
    });
  }

  open(path: string, opts: OpenOptions = {}): FileHandle {
    this.assertOpen();
    const write = !!(opts.write || opts.create || opts.truncate);
    if (write && this.readOnly) {
      throw new ReadOnlyError(FatCode.ReadOnly, `${this.dev.name}: FAT volume opened read-only; cannot open ${path} for writing`, { path });
    }
    let loc = this.locate(path);
    if (loc.parent === undefined || loc.record?.isDir) throw new UsageError(FatCode.IsADirectory, `${path}: is a directory`, { path });
    if (loc.record && opts.create && opts.exclusive) throw new ExistsError(FatCode.Exists, `${path}: already exists`, { path });
    if (!loc.record) {
      if (!opts.create) throw notFound(path);
      this.op(() => {
        const { dir, base } = this.locateParent(path);
        this.createFile(dir, base, new Uint8Array(0));
      });
      loc = this.locate(path);
    }
    const st = this.fileState(loc.parent!, loc.record!, path);
    st.refs++;
    const handle = new FatFileHandle(this, st, path, !write);
    if (opts.truncate && st.size > 0) handle.truncate(0);
    return handle;
  }

  /** @internal handle support */
  _read(st: FileState, offset: number, dst: Uint8Array): void {
    this.assertOpen();
    if (st.deleted) throw new UsageError(FatCode.Closed, `${st.path}: the file was removed while open`, { path: st.path });
    if (!(Number.isInteger(offset) && offset >= 0 && offset + dst.length <= st.size)) {
      throw new OutOfRangeError(FatCode.FileRange, `${st.path}: read of ${dst.length} bytes at ${offset} is past the end of the ${st.size}-byte file`, {
        path: st.path, offset, length: dst.length, size: st.size,
      });
    }
    this.readFileData(st, offset, dst);
  }

  /** @internal handle support */
  _write(st: FileState, offset: number, src: Uint8Array): void {
    this.op(() => {
      if (st.deleted) throw new UsageError(FatCode.Closed, `${st.path}: the file was removed while open`, { path: st.path });
      if (!(Number.isInteger(offset) && offset >= 0)) {
        throw new OutOfRangeError(FatCode.FileRange, `${st.path}: invalid write offset ${offset}`, { path: st.path, offset });
      }
      if (src.length === 0) return;
      this.writeState(st, offset, src);
    });
  }

  /** @internal handle support */
  _truncate(st: FileState, size: number): void {
    this.op(() => {
      if (st.deleted) throw new UsageError(FatCode.Closed, `${st.path}: the file was removed while open`, { path: st.path });
      if (!(Number.isInteger(size) && size >= 0)) throw new UsageError(FatCode.FileRange, `${st.path}: invalid size ${size}`, { path: st.path, size });
      if (size === st.size) return;
      this.truncateState(st, size);
    });
  }

  /** @internal handle support */
  _release(st: FileState): void {
    if (!this.closed && !this.readOnly && st.valid < st.size) this.op(() => this.settle(st));
    st.refs--;
    if (st.refs <= 0) this.forget(st);
  }

  /**
   * Write everything out: FAT sectors, the FSInfo counts (FAT32), a device flush, and then the
   * cleared dirty flag (only if the volume was clean when opened).
   */
  flush(): void {
    this.assertOpen();
    if (this.readOnly) return;
    for (const st of this.files.values()) if (st.valid < st.size) this.settle(st);
    this.fat.writeBack();
    if (this.modified && this.fsInfo.valid && this.geometry.fsInfoSector !== undefined) {
      const free = this.fat.freeCount ?? this.fat.countFree();
      const g = this.geometry;
      this.dev.writeAt(g.fsInfoSector! * g.bytesPerSector + FSI.freeCount, encodeFsInfoCounts(free, this.fat.nextFree));
    }
    this.dev.flush();
    if (this.dirtySet) {
      this.setDirtyFlag(false);
      this.dirtySet = false;
      this.dev.flush();
    }
  }

  /** Flush (when writable) and release the filesystem; the device stays open (its owner closes it). */
  close(): void {
    if (this.closed) return;
    if (!this.readOnly) this.flush();
    this.closed = true;
    this.dirs.clear();
  }
}

function findName(dir: DirState, name: string): DirRecord | undefined {
  const hit = dir.find(name);
  if (hit) return hit;
  // Windows drops trailing dots and spaces from names; so do we when creating, so look them up that way too.
  const trimmed = name.replace(/[. ]+$/, '');
  return trimmed && trimmed !== name ? dir.find(trimmed) : undefined;
}

/** Volume serial as blkid/libguestfs print it: "%02X%02X-%02X%02X" of bytes 3,2,1,0. */
function formatSerial(sector0: Uint8Array, off: number): string {
  const h = (i: number): string => sector0[off + i]!.toString(16).toUpperCase().padStart(2, '0');
  return `${h(3)}${h(2)}-${h(1)}${h(0)}`;
}

/** An open file on a FAT volume (see FileSystem.open). */
export class FatFileHandle implements FileHandle {
  private closed = false;

  /** @internal */
  constructor(private readonly fs: FatFileSystem, private readonly st: FileState, readonly path: string, readonly readOnly: boolean) {}

  get size(): number {
    return this.st.size;
  }

  private assertOpen(): void {
    if (this.closed) throw new UsageError(FatCode.Closed, `${this.path}: file handle is closed`, { path: this.path });
  }

  readAt(offset: number, dst: Uint8Array): void {
    this.assertOpen();
    this.fs._read(this.st, offset, dst);
  }

  writeAt(offset: number, src: Uint8Array): void {
    this.assertOpen();
    if (this.readOnly) throw new ReadOnlyError(FatCode.ReadOnly, `${this.path}: opened read-only`, { path: this.path });
    this.fs._write(this.st, offset, src);
  }

  truncate(size: number): void {
    this.assertOpen();
    if (this.readOnly) throw new ReadOnlyError(FatCode.ReadOnly, `${this.path}: opened read-only`, { path: this.path });
    this.fs._truncate(this.st, size);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.fs._release(this.st);
  }
}

/**
 * Open the FAT12/16/32 volume on `dev`.
 * @throws UnsupportedError(FAT_EXFAT) "unsupported: exFAT"; FormatError(FAT_NOT_FAT | FAT_BAD_BPB |
 * FAT_VOLUME_TRUNCATED); UnsafeStateError(FAT_DIRTY) when writing a dirty volume without `force`;
 * ReadOnlyError; UsageError(FAT_BAD_CODEPAGE).
 */
export function openFat(dev: BlockDevice, opts: OpenFatOptions = {}): FatFileSystem {
  return new FatFileSystem(dev, opts);
}
