import {
  ByteView, ByteWriter, ExistsError, FormatError, LimitError, LoopError, NotFoundError, ReadOnlyError, UnsafeStateError, UnsupportedError, UsageError, CommonCode,
  filetimeToDate, nullLogger, type Logger,
} from '@guestkit/disk/binary';
import { forEachBlock, splitPath, type BlockDevice, type DirEntry, type FileHandle, type FileSystem, type FileType, type OpenOptions, type Stat, type StatFs } from '@guestkit/disk';
import { NtfsCode, NtfsLimits } from './errors.js';
import { AttrFlags, AttrType, FILE_NAME, FileAttr, Namespace, RecordFlags, STD_INFO, SystemFile, makeRef } from './layout/mft-record.js';
import { ReparseTag, WOF_STREAM, decodeReparse, type ReparsePoint } from './layout/reparse.js';
import { NtfsVolume } from './volume.js';
import { DirectoryIndex, type FoundEntry } from './index/directory.js';
import { decodeFileName, type FileNameKey } from './index/index-node.js';
import type { FileView } from './attribute/file-attrs.js';
import { WofStream, type ByteSource } from './attribute/wof-stream.js';
import { safetyReport, UNSAFE_ADVICE, type NtfsSafetyReport } from './safety.js';
import { NtfsWriter, blobIsResident, blobNr, blobValue, fileNameValue, NEW_NAME_NAMESPACE, type NrState } from './write/writer.js';
import { residentAttr } from './write/record-edit.js';
import { encodeRoot } from './write/index-edit.js';
import type { Run } from './runlist/runlist.js';

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
    if (s.includes(':')) throw new UsageError(NtfsCode.Usage, `path ${JSON.stringify(path)}: a stream name cannot contain ":"`, { path });
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

  statfs(): StatFs {
    const bm = this.vol.readAll(this.vol.view(SystemFile.Bitmap), AttrType.Data, '', 1 << 28)!;
    let used = 0;
    const full = Math.floor(this.vol.clusterCount / 8);
    for (let i = 0; i < full; i++) used += POPCOUNT[bm[i]!]!;
    for (let c = full * 8; c < this.vol.clusterCount; c++) if (bm[c >>> 3]! & (1 << (c & 7))) used++;
    return { blockSize: this.vol.clusterSize, totalBlocks: this.vol.clusterCount, freeBlocks: this.vol.clusterCount - used, nameMax: 255 };
  }

  // ---- write API ------------------------------------------------------------------------------

  private writer: NtfsWriter | undefined;

  protected assertWritable(): void {
    if (this.readOnly) throw new ReadOnlyError(CommonCode.ReadOnly, `${this.vol.name}: NTFS opened read-only (use --rw to write)`, { device: this.vol.name });
  }

  /** Check the volume may be written (called by openNtfs with `write`). @throws UnsafeStateError */
  assertSafeToWrite(): void {
    const s = this.safety();
    if (!s.safeToWrite && !this.force) {
      throw new UnsafeStateError(NtfsCode.UnsafeState, `${this.vol.name}: refusing to write: ${s.reasons.join('; ')}. ${UNSAFE_ADVICE}`, { reasons: s.reasons });
    }
    if (!s.safeToWrite) this.logger.warn({ reasons: s.reasons }, 'writing to an unsafe NTFS volume because force was given');
  }

  /** Run one operation as a transaction: stage, commit in order, or write nothing on failure. */
  protected tx<T>(fn: (w: NtfsWriter) => T): T {
    this.assertWritable();
    const w = (this.writer ??= new NtfsWriter(this.vol));
    try {
      w.resetLogFile();
      const r = fn(w);
      const done = w.commit();
      if (done.records.includes(0)) {
        this.vol.reload();
        this.forgetDir();
      } else {
        // only what this operation changed is re-read
        for (const n of done.records) {
          this.vol.invalidate(n);
          this.forgetDir(n);
        }
        for (const d of done.dirs) this.forgetDir(d);
      }
      this.resetSafety();
      return r;
    } catch (e) {
      w.abort();
      this.vol.invalidate();
      this.forgetDir();
      throw e;
    }
  }

  private parentOf(path: string): { parent: number; name: string; stream: string; parentPath: string } {
    const { parts, stream } = parsePath(path);
    const name = parts.pop();
    if (name === undefined) throw new UsageError(NtfsCode.Usage, `${path}: the root cannot be changed this way`, { path });
    const parentPath = '/' + parts.join('/');
    const p = this.resolve(parentPath);
    if (!p) throw new NotFoundError(NtfsCode.NotFound, `${parentPath}: no such directory`, { path: parentPath });
    if (!this.isDirView(this.vol.view(p.record))) throw new UsageError(NtfsCode.Usage, `${parentPath}: not a directory`, { path: parentPath });
    return { parent: p.record, name, stream, parentPath };
  }

  private checkName(name: string, path: string): void {
    if (name.length === 0 || name.length > 255 || /[/\x00]/.test(name) || name.includes(':') || name === '.' || name === '..') {
      throw new UsageError(NtfsCode.Usage, `${path}: "${name}" is not a valid NTFS name`, { path, name });
    }
  }

  /** Create a file or directory record and its directory entry. */
  private create(w: NtfsWriter, parent: number, name: string, isDir: boolean, path: string): number {
    this.checkName(name, path);
    if (this.dir(parent).find(name).some((f) => this.vol.record(f.entry.record).inUse)) {
      throw new ExistsError(NtfsCode.Exists, `${path}: file exists`, { path });
    }
    const r = w.allocRecord(isDir ? RecordFlags.Directory : 0);
    const parentSeq = w.rec(parent).sequence;
    const attrs = isDir ? 0 : FileAttr.Archive;
    r.add(residentAttr(AttrType.StandardInformation, '', w.newStdInfo(attrs, w.siSecurityId(parent))));
    const fn = fileNameValue(makeRef(parent, parentSeq), name, NEW_NAME_NAMESPACE, w.now(), isDir ? FileAttr.DupFileNameIndexPresent : FileAttr.Archive, 0, 0);
    r.add(residentAttr(AttrType.FileName, '', fn, { indexed: true }));
    r.linkCount = 1;
    if (isDir) {
      r.add(residentAttr(AttrType.IndexRoot, '$I30', encodeRoot({ vcn: -1, dirty: true, entries: [{ ref: 0n, key: new Uint8Array(0), end: true, sub: -1 }] }, this.vol.indexRecordSize, this.vol.clusterSize)));
    } else r.add(residentAttr(AttrType.Data, '', new Uint8Array(0)));
    w.indexInsert(parent, fn, makeRef(r.recordNumber, r.sequence));
    w.touch(parent, { m: true, c: true });
    return r.recordNumber;
  }

  /** Current state of a stream (from the staged record for files created in this transaction). */
  private dataState(w: NtfsWriter, n: number, stream: string): { resident?: Uint8Array; nr?: NrState } | undefined {
    if (w.isNew(n)) {
      const b = w.rec(n).find(AttrType.Data, stream);
      if (!b) return undefined;
      return blobIsResident(b) ? { resident: blobValue(b).slice() } : { nr: blobNr(b, this.vol.clusterCount) };
    }
    const info = this.vol.streamInfo(this.vol.view(n), AttrType.Data, stream);
    if (!info) return undefined;
    if (info.resident) return { resident: info.residentData!.slice() };
    return { nr: { runs: info.runs.map((r) => ({ ...r })), allocatedSize: info.allocatedSize, dataSize: info.dataSize, initializedSize: info.initializedSize, flags: info.flags, compressionUnit: info.compressionUnit } };
  }

  private residentFits(w: NtfsWriter, n: number, stream: string, len: number): boolean {
    const base = w.rec(n);
    const cur = base.find(AttrType.Data, stream);
    const need = ((((0x18 + stream.length * 2 + 7) & ~7) + len + 7) & ~7);
    // keep room for a few more names/attributes, as Windows does (resident only while small)
    return len <= this.vol.recordSize / 2 && need + 64 <= base.free() + (cur && blobIsResident(cur) ? cur.bytes.length : 0);
  }

  /**
   * Replace a stream's whole content (bytes in memory, or a positional source copied in blocks of
   * COPY_BLOCK, 1 MiB: a 100 MiB copy spends ~40 % less time in pwrite than with 8 MiB blocks here).
   */
  private setData(w: NtfsWriter, n: number, stream: string, input: Uint8Array | ByteSource): void {
    const length = input instanceof Uint8Array ? input.length : input.size;
    const wof = stream === '' && this.reparseTagOf(w, n) === ReparseTag.Wof;
    const small = (): Uint8Array => {
      if (input instanceof Uint8Array) return input;
      const b = new Uint8Array(length);
      input.read(0, b);
      return b;
    };
    const old = this.dataState(w, n, stream);
    let runs: Run[] = [];
    if (old?.nr) {
      // plain bytes under an EFS file's keys and flags would be garbage to Windows
      if (old.nr.flags & AttrFlags.Encrypted) {
        throw new UnsupportedError(NtfsCode.Unsupported, `record ${n}: replacing an encrypted (EFS) stream is not supported; delete the file and write a new one`, { record: n });
      }
      const plain = (old.nr.flags & AttrFlags.CompressionMask) === 0 && old.nr.runs.every((r) => r.lcn >= 0);
      if (plain) runs = old.nr.runs;
      else w.freeRuns(old.nr.runs);
    }
    const cs = this.vol.clusterSize;
    if (this.residentFits(w, n, stream, length)) {
      w.freeRuns(runs);
      w.place(n, AttrType.Data, stream, { resident: small() });
    } else {
      const need = Math.ceil(length / cs);
      runs = this.resizeRuns(w, runs, need);
      forEachBlock(input, (off, block) => w.writeRuns(runs, off, block));
      w.place(n, AttrType.Data, stream, { nr: { runs, allocatedSize: need * cs, dataSize: length, initializedSize: length, flags: 0, compressionUnit: 0 } });
    }
    if (wof) this.dropWof(w, n);
    // the main stream is stored plain now: no compressed, sparse or WOF marks left in the names
    if (stream === '' && !w.isNew(n)) this.clearNameAttrs(w, n, FileAttr.Compressed | FileAttr.Sparse | (wof ? FileAttr.ReparsePoint : 0), wof);
    this.afterDataChange(w, n, stream === '' ? length : undefined);
  }

  /** Cut or extend (allocating near the last run) a plain runlist to `need` clusters. */
  private resizeRuns(w: NtfsWriter, runs: Run[], need: number): Run[] {
    let have = 0;
    const out: Run[] = [];
    for (const r of runs) {
      if (have >= need) {
        w.freeRuns([r]);
        continue;
      }
      if (have + r.length > need) {
        const keep = need - have;
        out.push({ vcn: r.vcn, lcn: r.lcn, length: keep });
        w.freeRuns([{ vcn: r.vcn + keep, lcn: r.lcn + keep, length: r.length - keep }]);
        have = need;
        continue;
      }
      out.push({ ...r });
      have += r.length;
    }
    if (have < need) {
      const last = out[out.length - 1];
      out.push(...w.allocRuns(need - have, have, last ? last.lcn + last.length : 0));
    }
    return out;
  }

  /** Timestamps and the duplicated information in directory entries, after a data change. */
  private afterDataChange(w: NtfsWriter, n: number, mainSize: number | undefined): void {
    w.touch(n, { m: true, c: true, a: true }, (a) => (a & ~(FileAttr.Compressed | FileAttr.Sparse)) | (this.isDirRec(w, n) ? 0 : FileAttr.Archive));
    if (mainSize === undefined || w.isNew(n)) {
      if (w.isNew(n) && mainSize !== undefined) this.refreshEntries(w, n, mainSize);
      return;
    }
    this.refreshEntries(w, n, mainSize);
  }

  private isDirRec(w: NtfsWriter, n: number): boolean {
    return (w.rec(n).flags & RecordFlags.Directory) !== 0;
  }

  /** Rewrite the $FILE_NAME copies in the parents' indexes with the new size and times. */
  private refreshEntries(w: NtfsWriter, n: number, size: number): void {
    const r = w.rec(n);
    const cs = this.vol.clusterSize;
    const data = r.find(AttrType.Data);
    const alloc = data && !blobIsResident(data) ? blobNr(data, this.vol.clusterCount).allocatedSize : Math.ceil(size / 8) * 8;
    const t = w.now();
    void cs;
    for (const fnBlob of r.findAll(AttrType.FileName)) {
      const key = blobValue(fnBlob).slice();
      const k = decodeFileName(key, 'new key');
      const kw = new ByteWriter(key);
      kw.u64(FILE_NAME.allocatedSize, alloc).u64(FILE_NAME.dataSize, size).u64(FILE_NAME.lastDataChangeTime, t).u64(FILE_NAME.lastMftChangeTime, t).u64(FILE_NAME.lastAccessTime, t);
      w.indexUpdate(k.parentRecord, k.name, n, key);
    }
  }

  writeFile(path: string, data: Uint8Array): void {
    this.writeFileFrom(path, data);
  }

  /**
   * Create or replace a file (or "path:stream") from a positional source without holding it in
   * memory: `{ size, read(offset, dst) }` (a BlockDevice, another file's `source()`, ...).
   */
  writeFileFrom(path: string, data: Uint8Array | ByteSource): void {
    this.tx((w) => {
      const { parent, name, stream } = this.parentOf(path);
      let n = this.pick(this.dir(parent).find(name), parent)?.entry.record;
      if (n === undefined) n = this.create(w, parent, name, false, path);
      else if (this.isDirView(this.vol.view(n)) && stream === '') throw new UsageError(NtfsCode.Usage, `${path}: is a directory`, { path });
      this.setData(w, n, stream, data);
    });
  }

  mkdir(path: string): void {
    this.tx((w) => {
      const { parent, name } = this.parentOf(path);
      this.create(w, parent, name, true, path);
    });
  }

  unlink(path: string): void {
    this.tx((w) => {
      const r = this.resolve(path);
      if (!r) throw new NotFoundError(NtfsCode.NotFound, `${path}: no such file`, { path });
      if (r.stream) {
        const old = this.dataState(w, r.record, r.stream);
        if (!old) throw new NotFoundError(NtfsCode.NotFound, `${path}: no such stream`, { path });
        if (old.nr) w.freeRuns(old.nr.runs);
        this.removeStream(w, r.record, r.stream);
        w.touch(r.record, { c: true });
        return;
      }
      if (this.isDirView(this.vol.view(r.record))) throw new UsageError(NtfsCode.Usage, `${path}: is a directory (use rmdir)`, { path });
      this.removeName(w, r.record, r.parent, r.key!.name, true);
    });
  }

  rmdir(path: string): void {
    this.tx((w) => {
      const r = this.resolve(path);
      if (!r || r.stream) throw new NotFoundError(NtfsCode.NotFound, `${path}: no such directory`, { path });
      if (r.record === ROOT) throw new UsageError(NtfsCode.Usage, 'cannot remove the root directory', { path });
      if (!this.isDirView(this.vol.view(r.record))) throw new UsageError(NtfsCode.Usage, `${path}: not a directory`, { path });
      if (this.listRecord(r.record).length > 0) throw new UsageError(NtfsCode.Usage, `${path}: directory not empty`, { path });
      this.removeName(w, r.record, r.parent, r.key!.name, true);
    });
  }

  rename(from: string, to: string): void {
    this.tx((w) => {
      const src = this.resolve(from);
      if (!src || src.stream || src.record === ROOT) throw new NotFoundError(NtfsCode.NotFound, `${from}: no such file or directory`, { path: from });
      const dst = this.parentOf(to);
      if (dst.stream) throw new UsageError(NtfsCode.Usage, `${to}: cannot rename to a stream`, { path: to });
      this.checkName(dst.name, to);
      const existing = this.pick(this.dir(dst.parent).find(dst.name), dst.parent);
      if (existing && !(existing.entry.record === src.record && dst.parent === src.parent)) {
        throw new ExistsError(NtfsCode.Exists, `${to}: file exists`, { path: to });
      }
      if (this.isDirView(this.vol.view(src.record))) {
        // refuse moving a directory below itself
        let p = dst.parent;
        for (let i = 0; i < NtfsLimits.maxPathDepth && p !== ROOT; i++) {
          if (p === src.record) throw new UsageError(NtfsCode.Usage, `cannot move ${from} into itself (${to})`, { from, to });
          const names = this.fileNames(this.vol.view(p));
          p = names[0]?.parentRecord ?? ROOT;
        }
        if (dst.parent === src.record) throw new UsageError(NtfsCode.Usage, `cannot move ${from} into itself`, { from, to });
      }
      const old = this.removeName(w, src.record, src.parent, src.key!.name, false);
      const r = w.rec(src.record);
      const fn = fileNameValue(makeRef(dst.parent, w.rec(dst.parent).sequence), dst.name, NEW_NAME_NAMESPACE, old.creationTime, old.fileAttributes, old.allocatedSize, old.dataSize, old.reparseTag);
      w.addAttr(src.record, residentAttr(AttrType.FileName, '', fn, { indexed: true }));
      r.linkCount = r.linkCount + 1;
      w.indexInsert(dst.parent, fn, makeRef(src.record, r.sequence));
      w.touch(src.record, { c: true });
      w.touch(dst.parent, { m: true, c: true });
    });
  }

  /**
   * Remove the name `name` in `parent` of record `n` (with its DOS/Win32 partner). With `free`,
   * a record left without names is freed with all its clusters. Returns the removed key.
   */
  private removeName(w: NtfsWriter, n: number, parent: number, name: string, free: boolean): FileNameKey {
    const r = w.rec(n);
    // names may live in extension records too (a file with many hard links)
    const blobs = w.recordsOf(n).flatMap((rec) => w.rec(rec).findAll(AttrType.FileName).map((b) => ({ rec, b, k: decodeFileName(blobValue(b).slice(), `record ${rec} $FILE_NAME`) })));
    const target = blobs.find((x) => x.k.parentRecord === parent && x.k.name === name) ?? blobs.find((x) => x.k.parentRecord === parent && this.vol.upcase.equalsIgnoreCase(x.k.name, name));
    if (!target) throw new FormatError(NtfsCode.BadRecord, `record ${n} has no $FILE_NAME "${name}" in directory ${parent}`, { record: n });
    const drop = [target];
    if (target.k.namespace === Namespace.Win32 || target.k.namespace === Namespace.Dos) {
      const partnerNs = target.k.namespace === Namespace.Win32 ? Namespace.Dos : Namespace.Win32;
      const partner = blobs.find((x) => x.k.parentRecord === parent && x.k.namespace === partnerNs);
      if (partner) drop.push(partner);
    }
    // the last name of a file being deleted: the whole file goes, records and clusters
    const last = free && blobs.length === drop.length;
    for (const d of drop) {
      w.indexRemove(parent, d.k.name, n);
      if (!last) w.removeAttr(n, d.rec, d.b);
      else if (d.rec === n) r.remove(d.b); // no name left behind in the freed record, as ntfs-3g does
    }
    w.touch(parent, { m: true, c: true });
    if (last) {
      // a reparse point (symlink, junction, WOF file, ...) leaves the volume's list of them
      const tag = this.reparseTagOf(w, n);
      if (tag !== undefined) this.unlistReparsePoint(w, tag, n);
      w.freeAllOf(n);
      w.freeRecord(n);
      return target.k;
    }
    r.linkCount = Math.max(0, r.linkCount - drop.length);
    w.touch(n, { c: true });
    return target.k;
  }

  private removeStream(w: NtfsWriter, n: number, stream: string): void {
    const base = w.rec(n);
    const view = this.vol.view(n);
    for (const b of base.attrs.filter((a) => a.type === AttrType.Data && a.name === stream)) base.remove(b);
    if (view.attrList) {
      // extents in extension records: re-place as empty then drop
      w.place(n, AttrType.Data, stream, { resident: new Uint8Array(0) });
      const b = base.find(AttrType.Data, stream);
      if (b) base.remove(b);
    }
  }

  open(path: string, opts: OpenOptions = {}): FileHandle {
    const writing = !!(opts.write || opts.create || opts.truncate);
    if (!writing) {
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
    this.assertWritable();
    let r = this.resolve(path);
    if (r && opts.exclusive && opts.create) throw new ExistsError(NtfsCode.Exists, `${path}: file exists`, { path });
    if (!r || (r.stream && !this.vol.streamInfo(this.vol.view(r.record), AttrType.Data, r.stream))) {
      if (!opts.create) throw new NotFoundError(NtfsCode.NotFound, `${path}: no such file`, { path });
      this.writeFile(path, new Uint8Array(0));
      r = this.resolve(path)!;
    } else if (opts.truncate) this.writeFile(path, new Uint8Array(0));
    if (this.isDirView(this.vol.view(r.record)) && !r.stream) throw new UsageError(NtfsCode.Usage, `${path}: is a directory`, { path });
    const n = r.record;
    const stream = r.stream;
    const fs = this;
    const cur = () => fs.dataSource(fs.vol.view(n), stream, path);
    return {
      path,
      get size() {
        return cur().size;
      },
      readOnly: false,
      readAt: (offset: number, dst: Uint8Array) => cur().read(offset, dst),
      writeAt: (offset: number, src: Uint8Array) => fs.tx((w) => fs.writeRange(w, n, stream, offset, src)),
      truncate: (size: number) => fs.tx((w) => fs.truncateStream(w, n, stream, size)),
      close: () => {},
    };
  }

  /** Write part of a stream, growing it as needed. */
  private writeRange(w: NtfsWriter, n: number, stream: string, offset: number, src: Uint8Array): void {
    if (!Number.isSafeInteger(offset) || offset < 0) throw new UsageError(NtfsCode.Usage, `bad offset ${offset}`, { offset });
    const old = this.dataState(w, n, stream);
    if (!old) throw new NotFoundError(NtfsCode.NotFound, `record ${n}: stream "${stream}" is gone`, { record: n });
    if (this.storedPacked(w, n, stream, old)) {
      const size = old.resident?.length ?? old.nr!.dataSize;
      this.rewriteWhole(w, n, stream, Math.max(size, offset + src.length), { offset, bytes: src });
      return;
    }
    if (old.resident) {
      const len = Math.max(old.resident.length, offset + src.length);
      const next = new Uint8Array(len);
      next.set(old.resident);
      next.set(src, offset);
      this.setData(w, n, stream, next);
      return;
    }
    const nr = old.nr!;
    const cs = this.vol.clusterSize;
    const newSize = Math.max(nr.dataSize, offset + src.length);
    let runs = this.realizeSparse(w, nr.runs);
    runs = this.resizeRuns(w, runs, Math.max(Math.ceil(newSize / cs), runs.reduce((a, r) => a + r.length, 0)));
    // bytes between the initialized size and the write must read as zeros: write them
    if (offset > nr.initializedSize) this.zero(w, runs, nr.initializedSize, offset);
    w.writeRuns(runs, offset, src);
    // past the end of what was written the data is uninitialized (reads as zeros, like Windows)
    const init = Math.max(nr.initializedSize, offset + src.length);
    const alloc = runs.reduce((a, r) => a + r.length, 0) * cs;
    w.place(n, AttrType.Data, stream, { nr: { runs, allocatedSize: alloc, dataSize: newSize, initializedSize: Math.min(init, newSize), flags: 0, compressionUnit: 0 } });
    this.afterDataChange(w, n, stream === '' ? newSize : undefined);
  }

  /** Replace sparse runs by zero-filled clusters (the writer does not keep sparse runs). */
  private realizeSparse(w: NtfsWriter, runs: Run[]): Run[] {
    const out: Run[] = [];
    for (const r of runs) {
      if (r.lcn >= 0) {
        out.push({ ...r });
        continue;
      }
      const got = w.allocRuns(r.length, r.vcn, out.length ? out[out.length - 1]!.lcn + out[out.length - 1]!.length : 0);
      for (const g of got) w.writeRuns([g], g.vcn * this.vol.clusterSize, new Uint8Array(g.length * this.vol.clusterSize));
      out.push(...got);
    }
    return out;
  }

  /**
   * Whether a stream's bytes are stored packed: LZNT1-compressed, or the main stream of a WOF
   * (CompactOS) file, whose $DATA is only a sparse placeholder. Such a stream cannot be patched in
   * place; it is rewritten whole, plain (see rewriteWhole). Encrypted streams are refused.
   */
  private storedPacked(w: NtfsWriter, n: number, stream: string, old: { resident?: Uint8Array; nr?: NrState }): boolean {
    if (old.nr && old.nr.flags & AttrFlags.Encrypted) {
      throw new UnsupportedError(NtfsCode.Unsupported, `record ${n}: writing an encrypted (EFS) stream is not supported`, { record: n });
    }
    if (old.nr && old.nr.flags & AttrFlags.CompressionMask) return true;
    return stream === '' && this.reparseTagOf(w, n) === ReparseTag.Wof;
  }

  /**
   * Rewrite a packed stream whole and plain, as Windows does when a WOF file is written: its
   * current bytes (decompressed on the fly from the old clusters, which stay allocated until the
   * commit), cut or zero-extended to `size`, with `patch` laid over them.
   */
  private rewriteWhole(w: NtfsWriter, n: number, stream: string, size: number, patch?: { offset: number; bytes: Uint8Array }): void {
    const old = this.dataSource(this.vol.view(n), stream, `record ${n}`);
    this.setData(w, n, stream, {
      size,
      read(offset: number, dst: Uint8Array): void {
        const have = Math.max(0, Math.min(dst.length, old.size - offset));
        if (have > 0) old.read(offset, dst.subarray(0, have));
        dst.fill(0, have);
        if (!patch) return;
        const from = Math.max(offset, patch.offset);
        const to = Math.min(offset + dst.length, patch.offset + patch.bytes.length);
        if (from < to) dst.set(patch.bytes.subarray(from - patch.offset, to - patch.offset), from - offset);
      },
    });
  }

  /** The reparse tag of a file already on disk (undefined without a $REPARSE_POINT). */
  private reparseTagOf(w: NtfsWriter, n: number): number | undefined {
    if (w.isNew(n)) return undefined;
    const view = this.vol.view(n);
    if (!view.attrs.some((a) => a.type === AttrType.ReparsePoint)) return undefined;
    const data = this.vol.readAll(view, AttrType.ReparsePoint, '', 65536);
    return data && data.length >= 4 ? new ByteView(data).u32(0) : undefined;
  }

  /**
   * A WOF file whose main stream was just written plain stops being one, as on Windows: its
   * $REPARSE_POINT, its WofCompressedData stream and its $Extend/$Reparse entry go, and the
   * reparse-point attribute leaves $STANDARD_INFORMATION.
   */
  private dropWof(w: NtfsWriter, n: number): void {
    this.unlistReparsePoint(w, ReparseTag.Wof, n);
    w.dropAttribute(n, AttrType.ReparsePoint, '');
    w.dropAttribute(n, AttrType.Data, WOF_STREAM);
    w.touch(n, { c: true }, (a) => a & ~FileAttr.ReparsePoint);
  }

  /**
   * Remove record `n`'s entry from $Extend/$Reparse:$R. A damaged $R index is left as it is, with a
   * warning (chkdsk rebuilds it), and the file operation goes on: the index is read whole first,
   * staging nothing, so a damaged one is found before the edit starts.
   */
  private unlistReparsePoint(w: NtfsWriter, tag: number, n: number): void {
    try {
      w.checkReparseIndex();
    } catch (e) {
      if (!(e instanceof FormatError || e instanceof LoopError || e instanceof LimitError)) throw e;
      this.logger.warn({ record: n, tag, err: e.message }, '$Extend/$Reparse is damaged; its entry for this file is left for chkdsk');
      return;
    }
    w.reparseIndexRemove(tag, makeRef(n, w.rec(n).sequence));
  }

  /**
   * Clear attribute bits (and with `reparse` the reparse tag) in a file's $FILE_NAME values, whose
   * copies in the directory entries are refreshed from them (afterDataChange).
   */
  private clearNameAttrs(w: NtfsWriter, n: number, bits: number, reparse: boolean): void {
    for (const recN of w.recordsOf(n)) {
      const rec = w.rec(recN);
      for (const b of rec.findAll(AttrType.FileName)) {
        const val = blobValue(b).slice();
        const was = new ByteView(val).u32(FILE_NAME.fileAttributes);
        if ((was & bits) === 0 && !reparse) continue;
        const bw = new ByteWriter(val).u32(FILE_NAME.fileAttributes, was & ~bits);
        if (reparse) bw.u32(FILE_NAME.reparseTag, 0);
        rec.replace(b, residentAttr(AttrType.FileName, '', val, { indexed: true }));
      }
    }
  }

  private zero(w: NtfsWriter, runs: Run[], from: number, to: number): void {
    const chunk = new Uint8Array(Math.min(1 << 20, Math.max(0, to - from)));
    for (let o = from; o < to; o += chunk.length) w.writeRuns(runs, o, chunk.subarray(0, Math.min(chunk.length, to - o)));
  }

  private truncateStream(w: NtfsWriter, n: number, stream: string, size: number): void {
    if (!Number.isSafeInteger(size) || size < 0) throw new UsageError(NtfsCode.Usage, `bad size ${size}`, { size });
    const old = this.dataState(w, n, stream);
    if (!old) throw new NotFoundError(NtfsCode.NotFound, `record ${n}: stream "${stream}" is gone`, { record: n });
    if (this.storedPacked(w, n, stream, old)) {
      this.rewriteWhole(w, n, stream, size);
      return;
    }
    const fits = this.residentFits(w, n, stream, size);
    if (old.resident && !fits) {
      // Growing out of the MFT record: move the resident bytes into clusters and leave the new tail
      // uninitialized (it reads as zeros), instead of writing `size` bytes of zeros first.
      const cur = old.resident;
      const cs = this.vol.clusterSize;
      const need = Math.ceil(size / cs);
      const runs = this.resizeRuns(w, [], need);
      if (cur.length > 0) w.writeRuns(runs, 0, cur);
      w.place(n, AttrType.Data, stream, { nr: { runs, allocatedSize: need * cs, dataSize: size, initializedSize: cur.length, flags: 0, compressionUnit: 0 } });
      this.afterDataChange(w, n, stream === '' ? size : undefined);
      return;
    }
    if (old.resident || fits) {
      const cur = old.resident ?? (() => {
        const b = new Uint8Array(Math.min(size, old.nr!.dataSize));
        this.dataSource(this.vol.view(n), stream, `record ${n}`).read(0, b);
        return b;
      })();
      const next = new Uint8Array(size);
      next.set(cur.subarray(0, Math.min(size, cur.length)));
      this.setData(w, n, stream, next);
      return;
    }
    const nr = old.nr!;
    const cs = this.vol.clusterSize;
    let runs = this.realizeSparse(w, nr.runs);
    runs = this.resizeRuns(w, runs, Math.ceil(size / cs));
    // growing leaves the new tail uninitialized (no zeros written; it reads as zeros)
    w.place(n, AttrType.Data, stream, { nr: { runs, allocatedSize: Math.ceil(size / cs) * cs, dataSize: size, initializedSize: Math.min(nr.initializedSize, size), flags: 0, compressionUnit: 0 } });
    this.afterDataChange(w, n, stream === '' ? size : undefined);
  }

  /** Write the device's caches out. */
  flush(): void {
    if (!this.readOnly) this.vol.device.flush();
  }
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
