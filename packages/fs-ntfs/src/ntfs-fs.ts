import {
  FormatError, LimitError, NotFoundError, ReadOnlyError, UnsupportedError, UsageError, CommonCode, filetimeToDate, nullLogger, type Logger,
} from '@guestkit/disk/binary';
import { splitPath, type BlockDevice, type DirEntry, type FileHandle, type FileSystem, type FileType, type OpenOptions, type Stat, type StatFs } from '@guestkit/disk';
import { NtfsCode, NtfsLimits } from './errors.js';
import { AttrFlags, AttrType, FileAttr, Namespace, STD_INFO, SystemFile } from './layout/mft-record.js';
import { ReparseTag, WOF_STREAM, decodeReparse, type ReparsePoint } from './layout/reparse.js';
import { NtfsVolume } from './volume.js';
import { DirectoryIndex, type FoundEntry } from './index/directory.js';
import { decodeFileName, type FileNameKey } from './index/index-node.js';
import type { FileView } from './attribute/file-attrs.js';
import { WofStream, type ByteSource } from './attribute/wof-stream.js';
import { safetyReport, type NtfsSafetyReport } from './safety.js';

export interface NtfsOpenOptions {
  /** Open for writing (refused on unsafe volumes unless `force`). */
  write?: boolean;
  /** Write even though the volume is hibernated, dirty or has an unclean $LogFile. */
  force?: boolean;
  logger?: Logger;
}

/** A resolved path: the file record, the name it was reached by, and the stream asked for. */
interface Resolved {
  record: number;
  parent: number;
  /** Directory entry key that led here (undefined for the root). */
  key: FileNameKey | undefined;
  /** Named stream ("" = unnamed $DATA). */
  stream: string;
  /** The path with on-disk case. */
  path: string;
}

const ROOT = SystemFile.Root;

/** Decoded $STANDARD_INFORMATION. */
export interface StandardInformation {
  creationTime: bigint;
  lastDataChangeTime: bigint;
  lastMftChangeTime: bigint;
  lastAccessTime: bigint;
  fileAttributes: number;
  securityId: number;
}

function ftDate(ft: bigint): Date {
  return filetimeToDate(ft);
}

/** Split "dir/name:stream" into components and the stream name (":$DATA" suffixes accepted). */
function parsePath(path: string): { parts: string[]; stream: string } {
  if (typeof path !== 'string' || !path.startsWith('/')) {
    throw new UsageError(NtfsCode.Usage, `path ${JSON.stringify(path)} must be absolute`, { path });
  }
  const parts = splitPath(path);
  let stream = '';
  const last = parts[parts.length - 1];
  if (last !== undefined && last.includes(':')) {
    const i = last.indexOf(':');
    let s = last.slice(i + 1);
    if (s.toUpperCase().endsWith(':$DATA')) s = s.slice(0, -6);
    parts[parts.length - 1] = last.slice(0, i);
    stream = s;
    if (parts[parts.length - 1] === '') throw new UsageError(NtfsCode.Usage, `path ${JSON.stringify(path)} has an empty file name`, { path });
  }
  if (parts.some((p) => p === '..')) throw new UsageError(NtfsCode.Usage, `path ${JSON.stringify(path)} contains ".."`, { path });
  return { parts, stream };
}

/**
 * NTFS as a guestkit FileSystem over any BlockDevice. Read-only unless opened with `write`.
 * Lookups are case-insensitive through the volume's $UpCase; "path:stream" names an alternate
 * data stream; DOS 8.3 aliases resolve; every file is listed once under its long name.
 */
export class NtfsFileSystem implements FileSystem {
  readonly type = 'ntfs' as const;
  readonly vol: NtfsVolume;
  readonly readOnly: boolean;
  protected readonly force: boolean;
  protected readonly logger: Logger;
  private dirs = new Map<number, DirectoryIndex>();
  private _safety: NtfsSafetyReport | undefined;

  protected constructor(vol: NtfsVolume, opts: NtfsOpenOptions) {
    this.vol = vol;
    this.readOnly = !opts.write;
    this.force = opts.force ?? false;
    this.logger = opts.logger ?? nullLogger;
  }

  /** @internal use openNtfs */
  static openVolume(dev: BlockDevice, opts: NtfsOpenOptions = {}): NtfsFileSystem {
    const vol = NtfsVolume.open(dev, opts.logger ?? nullLogger);
    return new NtfsFileSystem(vol, opts);
  }

  get label(): string | undefined {
    return this.vol.label;
  }
  get uuid(): string {
    return this.vol.uuid;
  }
  /** NTFS version as "major.minor" (e.g. "3.1"). */
  get version(): string {
    return `${this.vol.majorVersion}.${this.vol.minorVersion}`;
  }
  /** $Volume flags (VOLUME_IS_DIRTY 0x1, ...). */
  get volumeFlags(): number {
    return this.vol.volumeFlags;
  }
  get clusterSize(): number {
    return this.vol.clusterSize;
  }

  /** Hibernation / Fast Startup / dirty / $LogFile report (computed once per open). */
  safety(): NtfsSafetyReport {
    if (!this._safety) {
      let hiber: ByteSource | undefined;
      const found = this.dir(ROOT).find('hiberfil.sys')[0];
      if (found) hiber = this.dataSource(this.vol.view(found.entry.record), '', '/hiberfil.sys');
      this._safety = safetyReport(this.vol, hiber);
    }
    return this._safety;
  }

  protected resetSafety(): void {
    this._safety = undefined;
  }

  // ---- lookup ---------------------------------------------------------------------------

  /** The $I30 index of a directory record (cached). @throws UsageError if not a directory */
  protected dir(record: number): DirectoryIndex {
    let d = this.dirs.get(record);
    if (d) return d;
    const view = this.vol.view(record);
    if (!view.attrs.some((a) => a.type === AttrType.IndexRoot && a.name === '$I30')) {
      throw new UsageError(NtfsCode.Usage, `record ${record} is not a directory`, { record });
    }
    d = new DirectoryIndex(this.vol, view);
    this.dirs.set(record, d);
    if (this.dirs.size > 4096) this.dirs.delete(this.dirs.keys().next().value as number);
    return d;
  }

  protected forgetDir(record?: number): void {
    if (record === undefined) this.dirs.clear();
    else this.dirs.delete(record);
    DirectoryIndex.forget(this.vol, record);
  }

  protected isDirView(view: FileView): boolean {
    return view.attrs.some((a) => a.type === AttrType.IndexRoot && a.name === '$I30');
  }

  /** Resolve a path; undefined when a component is absent. @throws FormatError on corruption */
  protected resolve(path: string): Resolved | undefined {
    const { parts, stream } = parsePath(path);
    if (parts.length > NtfsLimits.maxPathDepth) throw new LimitError(NtfsCode.Limit, `path has more than ${NtfsLimits.maxPathDepth} components`, { path });
    let rec: number = ROOT;
    let parent: number = ROOT;
    let key: FileNameKey | undefined;
    let real = '';
    for (const comp of parts) {
      const view = this.vol.view(rec);
      if (!this.isDirView(view)) return undefined;
      const hit = this.pick(this.dir(rec).find(comp), rec);
      if (!hit) return undefined;
      parent = rec;
      rec = hit.entry.record;
      key = hit.key;
      if (key.namespace === Namespace.Dos) key = this.longName(rec, parent) ?? key;
      real += '/' + key.name;
    }
    return { record: rec, parent, key, stream, path: real || '/' };
  }

  private pick(found: FoundEntry[], dirRecord: number): FoundEntry | undefined {
    for (const f of found) {
      const r = this.vol.record(f.entry.record);
      if (!r.inUse) continue;
      if (f.entry.sequence !== 0 && r.sequence !== f.entry.sequence) {
        throw new FormatError(NtfsCode.BadIndex, `directory ${dirRecord}: entry "${f.key.name}" refers to record ${f.entry.record} sequence ${f.entry.sequence}, which is now sequence ${r.sequence}`, {
          record: dirRecord, target: f.entry.record,
        });
      }
      return f;
    }
    return undefined;
  }

  /** The Win32/POSIX name of `record` inside `parent` (for DOS-alias lookups). */
  protected longName(record: number, parent: number): FileNameKey | undefined {
    const names = this.fileNames(this.vol.view(record));
    return names.find((n) => n.parentRecord === parent && n.namespace !== Namespace.Dos);
  }

  protected fileNames(view: FileView): FileNameKey[] {
    const out: FileNameKey[] = [];
    for (const a of view.attrs) {
      if (a.type !== AttrType.FileName || a.nonResident) continue;
      out.push(decodeFileName(view.records.get(a.recordNumber)!.value(a), `record ${view.base.recordNumber} $FILE_NAME`));
    }
    return out;
  }

  protected standardInfo(view: FileView): StandardInformation {
    const a = view.attrs.find((x) => x.type === AttrType.StandardInformation && !x.nonResident);
    const n = view.base.recordNumber;
    if (!a) throw new FormatError(NtfsCode.BadRecord, `record ${n} has no $STANDARD_INFORMATION`, { record: n });
    const v = view.records.get(a.recordNumber)!.value(a);
    if (v.length < STD_INFO.SIZE_V1) throw new FormatError(NtfsCode.BadAttribute, `record ${n}: $STANDARD_INFORMATION is ${v.length} bytes`, { record: n });
    const u64 = (o: number) => {
      let x = 0n;
      for (let i = 7; i >= 0; i--) x = (x << 8n) | BigInt(v[o + i]!);
      return x;
    };
    const u32 = (o: number) => (v[o]! | (v[o + 1]! << 8) | (v[o + 2]! << 16) | (v[o + 3]! << 24)) >>> 0;
    return {
      creationTime: u64(STD_INFO.creationTime),
      lastDataChangeTime: u64(STD_INFO.lastDataChangeTime),
      lastMftChangeTime: u64(STD_INFO.lastMftChangeTime),
      lastAccessTime: u64(STD_INFO.lastAccessTime),
      fileAttributes: u32(STD_INFO.fileAttributes),
      securityId: v.length >= STD_INFO.SIZE_V3 ? u32(STD_INFO.securityId) : 0,
    };
  }

  protected reparse(view: FileView): ReparsePoint | undefined {
    const data = this.vol.readAll(view, AttrType.ReparsePoint, '', 65536);
    return data ? decodeReparse(data, `record ${view.base.recordNumber} $REPARSE_POINT`) : undefined;
  }

  /** Names of the named $DATA streams. */
  protected streamNames(view: FileView): string[] {
    const s = new Set<string>();
    for (const a of view.attrs) if (a.type === AttrType.Data && a.name !== '') s.add(a.name);
    return [...s];
  }

  /**
   * A byte source for a file stream: plain, compressed, sparse, or WOF-compressed.
   * @throws NotFoundError when the stream does not exist
   */
  protected dataSource(view: FileView, stream: string, path: string): ByteSource {
    const s = this.vol.stream(view, AttrType.Data, stream);
    if (!s) {
      if (stream === '' && this.isDirView(view)) throw new UsageError(NtfsCode.Usage, `${path} is a directory`, { path });
      throw new NotFoundError(NtfsCode.NotFound, `${path}${stream ? '' : ''}: no such stream${stream ? ` "${stream}"` : ''}`, { path, stream });
    }
    if (stream === '') {
      const rp = view.attrs.some((a) => a.type === AttrType.ReparsePoint) ? this.reparse(view) : undefined;
      if (rp?.tag === ReparseTag.Wof) {
        const wofData = this.vol.stream(view, AttrType.Data, WOF_STREAM);
        if (wofData) return new WofStream(wofData, s.size, rp.data, `${this.vol.name}:${path}`);
      }
      if (rp?.tag === ReparseTag.Dedup) {
        throw new UnsupportedError(NtfsCode.Unsupported, `${path} is a Data Deduplication reparse point; its data lives in the chunk store, which guestkit does not read`, { path });
      }
    }
    return s;
  }

  // ---- FileSystem read API ------------------------------------------------------------------

  stat(path: string): Stat {
    const st = this.tryStat(path);
    if (!st) throw new NotFoundError(NtfsCode.NotFound, `${path}: no such file or directory`, { path });
    return st;
  }

  tryStat(path: string): Stat | undefined {
    const r = this.resolve(path);
    if (!r) return undefined;
    return this.statResolved(r);
  }

  protected statResolved(r: Resolved): Stat | undefined {
    const view = this.vol.view(r.record);
    const si = this.standardInfo(view);
    const isDir = this.isDirView(view);
    const names = this.fileNames(view);
    const rp = view.attrs.some((a) => a.type === AttrType.ReparsePoint) ? this.reparse(view) : undefined;
    let type: FileType = isDir ? 'directory' : 'file';
    if (rp && (rp.tag === ReparseTag.Symlink || rp.tag === ReparseTag.MountPoint || rp.tag === ReparseTag.LxSymlink)) type = 'symlink';
    const streams = this.streamNames(view);
    let size = 0;
    let allocatedSize = 0;
    let flagsBits = 0;
    let resident: boolean | undefined;
    if (r.stream !== '' || !isDir) {
      const info = this.vol.streamInfo(view, AttrType.Data, r.stream);
      if (!info) {
        if (r.stream !== '') return undefined;
      } else {
        size = info.dataSize;
        allocatedSize = info.resident ? 0 : (info.flags & (AttrFlags.CompressionMask | AttrFlags.Sparse)) ? sparseAllocated(info.runs, this.vol.clusterSize) : info.allocatedSize;
        flagsBits = info.flags;
        resident = info.resident;
      }
    }
    const base = r.key?.name ?? '';
    const short = names.find((n) => n.parentRecord === r.parent && (n.namespace === Namespace.Dos || n.namespace === Namespace.Win32AndDos));
    const links = names.filter((n) => n.namespace !== Namespace.Dos).length;
    const st: Stat = {
      name: r.stream ? `${base}:${r.stream}` : base,
      type,
      size,
      allocatedSize,
      inode: r.record,
      links: Math.max(1, links),
      attributes: si.fileAttributes | (isDir ? FileAttr.Directory : 0),
      mtime: ftDate(si.lastDataChangeTime),
      atime: ftDate(si.lastAccessTime),
      birthtime: ftDate(si.creationTime),
      ctime: ftDate(si.lastMftChangeTime),
      flags: {
        compressed: (flagsBits & AttrFlags.CompressionMask) !== 0 || (si.fileAttributes & FileAttr.Compressed) !== 0,
        sparse: (flagsBits & AttrFlags.Sparse) !== 0,
        encrypted: (flagsBits & AttrFlags.Encrypted) !== 0 || (si.fileAttributes & FileAttr.Encrypted) !== 0,
        ...(resident !== undefined ? { resident } : {}),
      },
    };
    if (streams.length) st.streams = streams;
    if (rp) {
      st.reparseTag = rp.tag;
      if (rp.substituteName !== undefined) st.target = rp.substituteName;
    }
    if (short && short.namespace === Namespace.Dos && short.name !== base) st.shortName = short.name;
    return st;
  }

  /**
   * The $DATA streams of a file: "" for the unnamed one (absent on some metadata files and on
   * directories) and every named stream, with sizes as recorded.
   * @throws NotFoundError
   */
  dataStreams(path: string): { name: string; size: number }[] {
    const r = this.resolve(path);
    if (!r || r.stream) throw new NotFoundError(NtfsCode.NotFound, `${path}: no such file or directory`, { path });
    const view = this.vol.view(r.record);
    const out = new Map<string, number>();
    for (const a of view.attrs) {
      if (a.type !== AttrType.Data || out.has(a.name)) continue;
      out.set(a.name, this.vol.streamInfo(view, AttrType.Data, a.name)!.dataSize);
    }
    return [...out].map(([name, size]) => ({ name, size }));
  }

  readdir(path: string): DirEntry[] {
    const r = this.resolve(path);
    if (!r || r.stream) throw new NotFoundError(NtfsCode.NotFound, `${path}: no such directory`, { path });
    const view = this.vol.view(r.record);
    if (!this.isDirView(view)) throw new UsageError(NtfsCode.Usage, `${path}: not a directory`, { path });
    return this.listRecord(r.record);
  }

  /** Entries of a directory record, each file once under its long name, "." left out. */
  protected listRecord(record: number): DirEntry[] {
    const out: DirEntry[] = [];
    for (const { entry, key } of this.dir(record).list()) {
      if (key.namespace === Namespace.Dos) continue;
      if (entry.record === record && key.name === '.') continue;
      const a = key.fileAttributes;
      let type: FileType = a & FileAttr.DupFileNameIndexPresent ? 'directory' : 'file';
      if (a & FileAttr.ReparsePoint && (key.reparseTag === ReparseTag.Symlink || key.reparseTag === ReparseTag.MountPoint)) type = 'symlink';
      out.push({ name: key.name, type, size: key.dataSize, inode: entry.record, mtime: new Date(Math.floor(key.mtimeMs)), attributes: a });
    }
    return out;
  }

  resolveCase(path: string): string | undefined {
    const r = this.resolve(path);
    if (!r) return undefined;
    return r.stream ? `${r.path}:${r.stream}` : r.path;
  }

  readFile(path: string, opts: { maxBytes?: number } = {}): Uint8Array {
    const max = opts.maxBytes ?? NtfsLimits.defaultMaxReadBytes;
    const src = this.source(path);
    if (src.size > max) throw new LimitError(NtfsCode.Limit, `${path} is ${src.size} bytes, more than the ${max}-byte limit`, { path, size: src.size, limit: max });
    const out = new Uint8Array(src.size);
    src.read(0, out);
    return out;
  }

  /** A positional reader for a file or named stream. @throws NotFoundError, UsageError (directory) */
  source(path: string): ByteSource {
    const r = this.resolve(path);
    if (!r) throw new NotFoundError(NtfsCode.NotFound, `${path}: no such file`, { path });
    return this.dataSource(this.vol.view(r.record), r.stream, path);
  }

  open(path: string, opts: OpenOptions = {}): FileHandle {
    if (opts.write || opts.create || opts.truncate) this.assertWritable();
    const src = this.source(path);
    return {
      path,
      get size() {
        return src.size;
      },
      readOnly: true,
      readAt: (offset: number, dst: Uint8Array) => src.read(offset, dst),
      writeAt: () => this.assertWritable(),
      truncate: () => this.assertWritable(),
      close: () => {},
    };
  }

  statfs(): StatFs {
    const bm = this.vol.readAll(this.vol.view(SystemFile.Bitmap), AttrType.Data, '', 1 << 28)!;
    let used = 0;
    const full = Math.floor(this.vol.clusterCount / 8);
    for (let i = 0; i < full; i++) used += POPCOUNT[bm[i]!]!;
    for (let c = full * 8; c < this.vol.clusterCount; c++) if (bm[c >>> 3]! & (1 << (c & 7))) used++;
    return { blockSize: this.vol.clusterSize, totalBlocks: this.vol.clusterCount, freeBlocks: this.vol.clusterCount - used, nameMax: 255 };
  }

  // ---- write API (read-only volume) -----------------------------------------------------------

  protected assertWritable(): void {
    if (this.readOnly) throw new ReadOnlyError(CommonCode.ReadOnly, `${this.vol.name}: NTFS opened read-only (use --rw to write)`, { device: this.vol.name });
  }

  writeFile(_path: string, _data: Uint8Array): void {
    this.assertWritable();
  }
  mkdir(_path: string): void {
    this.assertWritable();
  }
  unlink(_path: string): void {
    this.assertWritable();
  }
  rmdir(_path: string): void {
    this.assertWritable();
  }
  rename(_from: string, _to: string): void {
    this.assertWritable();
  }
  flush(): void {}
  close(): void {
    this.flush();
  }
}

const POPCOUNT = Uint8Array.from({ length: 256 }, (_, i) => {
  let c = 0;
  for (let x = i; x; x >>= 1) c += x & 1;
  return c;
});

function sparseAllocated(runs: { lcn: number; length: number }[], cs: number): number {
  let n = 0;
  for (const r of runs) if (r.lcn >= 0) n += r.length;
  return n * cs;
}
