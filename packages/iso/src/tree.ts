import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  IoError, LimitError, LoopError, UsageError, ioError, nullLogger, type Logger,
} from '@guestkit/disk/binary';
import { IsoCode } from './errors.js';

/**
 * The index of a host directory tree an image is generated from: one small object per entry
 * (name bytes, type, permissions, owner, times, size, symlink target), never file contents.
 * Names are kept as the raw bytes the host returned, so Rock Ridge reproduces them exactly even
 * when they are not valid UTF-8.
 */
export type EntryKind = 'file' | 'dir' | 'symlink' | 'fifo' | 'chr' | 'blk';

export class IsoEntry {
  /** Filled by the planner. */
  isoId: Uint8Array = EMPTY;
  jolietId: Uint8Array | undefined = undefined;
  /** First block of the data (files), or the shared empty block. */
  lba = 0;
  /** Extents the file is recorded in (ISO level 3 multi-extent files have more than one). */
  sections = 1;
  /** A regular file with the same (device, inode) indexed earlier: both records share its extent. */
  hardlinkOf: IsoEntry | undefined = undefined;
  /** Bytes that replace the file's content at an offset (the El Torito boot info table). */
  patch: { offset: number; bytes: Uint8Array } | undefined = undefined;

  constructor(
    readonly name: Uint8Array,
    readonly parent: IsoDir | undefined,
    readonly kind: EntryKind,
    readonly mode: number,
    readonly uid: number,
    readonly gid: number,
    readonly mtimeMs: number,
    readonly atimeMs: number,
    readonly ctimeMs: number,
    readonly size: number,
    readonly rdev: number,
    readonly target: Uint8Array | undefined,
  ) {}

  private text: string | undefined = undefined;

  /** The host name as text (invalid UTF-8 shown as U+FFFD), for messages and name translation. */
  get displayName(): string {
    this.text ??= Buffer.from(this.name.buffer, this.name.byteOffset, this.name.byteLength).toString('utf8');
    return this.text;
  }
}

export class IsoDir extends IsoEntry {
  /** Children in host order (sorted by name bytes); the planner sorts them per tree. */
  children: IsoEntry[] = [];
  /** Primary-tree children in ECMA-119 order (planner). */
  isoChildren: IsoEntry[] = [];
  /** Joliet-tree children in order (planner); entries Joliet cannot hold are left out. */
  jolietChildren: IsoEntry[] = [];
  /** Number of subdirectories (for the Rock Ridge link count). */
  subdirs = 0;
  /** Planner: primary directory extent, its size, and its Rock Ridge continuation blocks. */
  isoLba = 0;
  isoBytes = 0;
  ceLba = 0;
  ceBlocks = 0;
  /** Planner: Joliet directory extent and size (0 bytes when the directory is not in Joliet). */
  jolietLba = 0;
  jolietBytes = 0;
  /** Planner: 1-based numbers in the two path tables. */
  isoNumber = 0;
  jolietNumber = 0;
}

const EMPTY = new Uint8Array(0);

/** Limits on what an index may hold (each with the reason in its doc). */
export interface IsoLimits {
  /** Entries in the tree; each costs a few hundred bytes of memory while the image exists. */
  maxEntries: number;
  /** Directory depth; bounds the work per path and guards against bind-mount loops we did not detect. */
  maxDepth: number;
  /** Symlink target length; Linux's PATH_MAX is 4096, RRIP SL entries are chained in continuation areas. */
  maxSymlinkBytes: number;
}

export const DEFAULT_LIMITS: IsoLimits = { maxEntries: 5_000_000, maxDepth: 1024, maxSymlinkBytes: 65536 };

export interface ScanOptions {
  limits?: Partial<IsoLimits>;
  /** Absolute host paths to leave out (the output image when it is written inside the tree). */
  exclude?: readonly string[];
  logger?: Logger;
}

export interface IsoTree {
  /** Absolute host path of the source directory (raw bytes). */
  readonly rootPath: Uint8Array;
  readonly root: IsoDir;
  readonly entryCount: number;
  readonly dirCount: number;
  readonly fileCount: number;
  /** Sum of regular file sizes (hard links counted once). */
  readonly fileBytes: number;
  /** Host entries left out (sockets, excluded paths), with the reason. */
  readonly skipped: { path: string; reason: string }[];
}

const SLASH = Buffer.from('/');

/** Host path of an entry, as bytes (node:fs accepts Buffer paths). */
export function hostPath(tree: IsoTree, e: IsoEntry): Buffer {
  const parts: Uint8Array[] = [];
  for (let n: IsoEntry | undefined = e; n && n.parent; n = n.parent) parts.push(n.name);
  const out: Uint8Array[] = [tree.rootPath];
  for (let i = parts.length - 1; i >= 0; i--) out.push(SLASH, parts[i]!);
  return Buffer.concat(out);
}

/** Path of an entry inside the image ("/a/b"), as text. */
export function treePath(e: IsoEntry): string {
  const parts: string[] = [];
  for (let n: IsoEntry | undefined = e; n && n.parent; n = n.parent) parts.push(n.displayName);
  return '/' + parts.reverse().join('/');
}

/**
 * Index the tree under `dir` (lstat only: symlinks are recorded, never followed). Sockets are
 * skipped with a warning, as mkisofs does. Throws UsageError if `dir` is not a directory,
 * IoError when an entry cannot be read, LimitError / LoopError when a limit is hit.
 */
export function scanTree(dir: string, opts: ScanOptions = {}): IsoTree {
  const limits = { ...DEFAULT_LIMITS, ...opts.limits };
  const log = opts.logger ?? nullLogger;
  const rootAbs = path.resolve(dir);
  let st: fs.Stats;
  try {
    st = fs.statSync(rootAbs);
  } catch (e) {
    throw ioError(`cannot read source directory ${dir}`, e);
  }
  if (!st.isDirectory()) {
    throw new UsageError(IsoCode.SourceNotDirectory, `${dir} is not a directory`, { path: dir });
  }
  const rootPath = Buffer.from(rootAbs);
  const exclude = new Set((opts.exclude ?? []).map((p) => path.resolve(p)));
  const root = new IsoDir(EMPTY, undefined, 'dir', st.mode, st.uid, st.gid, st.mtimeMs, st.atimeMs, st.ctimeMs, 0, 0, undefined);
  const skipped: { path: string; reason: string }[] = [];
  const seenDirs = new Set<string>([`${st.dev}:${st.ino}`]);
  const links = new Map<string, IsoEntry>();
  let entries = 1;
  let dirs = 1;
  let files = 0;
  let bytes = 0;

  const stack: { d: IsoDir; p: Buffer; depth: number }[] = [{ d: root, p: rootPath, depth: 0 }];
  while (stack.length > 0) {
    const { d, p, depth } = stack.pop()!;
    let names: Buffer[];
    try {
      names = fs.readdirSync(p, { encoding: 'buffer' });
    } catch (e) {
      throw ioError(`cannot list ${p.toString()}`, e);
    }
    names.sort(Buffer.compare);
    for (const name of names) {
      const cp = Buffer.concat([p, SLASH, name]);
      const cps = cp.toString();
      if (exclude.has(cps)) {
        skipped.push({ path: cps, reason: 'excluded' });
        continue;
      }
      let s: fs.Stats;
      try {
        s = fs.lstatSync(cp);
      } catch (e) {
        throw ioError(`cannot stat ${cps}`, e);
      }
      let kind: EntryKind;
      if (s.isFile()) kind = 'file';
      else if (s.isDirectory()) kind = 'dir';
      else if (s.isSymbolicLink()) kind = 'symlink';
      else if (s.isFIFO()) kind = 'fifo';
      else if (s.isCharacterDevice()) kind = 'chr';
      else if (s.isBlockDevice()) kind = 'blk';
      else {
        skipped.push({ path: cps, reason: 'socket' });
        log.warn({ path: cps }, `skipping socket ${cps} (ISO 9660 cannot record sockets)`);
        continue;
      }
      if (++entries > limits.maxEntries) {
        throw new LimitError(IsoCode.TooManyEntries, `${dir}: more than ${limits.maxEntries} entries`, { limit: limits.maxEntries });
      }
      let target: Uint8Array | undefined;
      if (kind === 'symlink') {
        try {
          target = fs.readlinkSync(cp, { encoding: 'buffer' });
        } catch (e) {
          throw ioError(`cannot read symlink ${cps}`, e);
        }
        if (target.length > limits.maxSymlinkBytes) {
          throw new LimitError(IsoCode.SymlinkTooLong, `${cps}: symlink target of ${target.length} bytes exceeds ${limits.maxSymlinkBytes}`, {
            path: cps, length: target.length,
          });
        }
      }
      if (kind === 'file') {
        try {
          fs.accessSync(cp, fs.constants.R_OK);
        } catch (e) {
          throw new IoError(IsoCode.SourceUnreadable, `cannot read ${cps}: ${(e as Error).message}`, { path: cps }, { cause: e });
        }
      }
      const size = kind === 'file' ? s.size : 0;
      const Ctor = kind === 'dir' ? IsoDir : IsoEntry;
      const entry = new Ctor(new Uint8Array(name), d, kind, s.mode, s.uid, s.gid, s.mtimeMs, s.atimeMs, s.ctimeMs, size, s.rdev, target);
      d.children.push(entry);
      if (kind === 'file') {
        files++;
        if (s.nlink > 1) {
          const b = fs.lstatSync(cp, { bigint: true });
          const key = `${b.dev}:${b.ino}`;
          const first = links.get(key);
          if (first && first.size === size) entry.hardlinkOf = first;
          else links.set(key, entry);
        }
        if (!entry.hardlinkOf) bytes += size;
      } else if (kind === 'dir') {
        dirs++;
        d.subdirs++;
        const key = `${s.dev}:${s.ino}`;
        if (seenDirs.has(key)) {
          throw new LoopError(IsoCode.DirectoryLoop, `${cps} is a directory already indexed (bind mount loop)`, { path: cps });
        }
        seenDirs.add(key);
        if (depth + 1 > limits.maxDepth) {
          throw new LimitError(IsoCode.TooDeep, `${cps} is deeper than ${limits.maxDepth} levels`, { path: cps, limit: limits.maxDepth });
        }
        stack.push({ d: entry as IsoDir, p: cp, depth: depth + 1 });
      }
    }
  }
  return { rootPath, root, entryCount: entries, dirCount: dirs, fileCount: files, fileBytes: bytes, skipped };
}
