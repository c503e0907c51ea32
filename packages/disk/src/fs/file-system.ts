/**
 * The shape NTFS and FAT share, so the inspector, `guestkit fish` and the edit recipes work on
 * either. Paths are absolute and `/`-separated ("/Windows/System32/config/SYSTEM"); lookups are
 * case-insensitive where the filesystem is (NTFS through the volume's $UpCase table, FAT through
 * OEM upper-casing). NTFS named streams are addressed as "path:stream".
 *
 * Errors: NotFoundError (absent path or parent), ExistsError, ReadOnlyError, NoSpaceError,
 * UsageError (not a directory, directory not empty, bad name), FormatError (corrupt volume),
 * UnsupportedError (encrypted file, unknown compression), UnsafeStateError (refused write).
 */
export type FileType = 'file' | 'directory' | 'symlink' | 'other';

export interface Stat {
  /** Name as stored (long name; original case). */
  name: string;
  type: FileType;
  /** Size of the file's data (the main stream, or the named stream for "path:stream") in bytes; 0 for directories. */
  size: number;
  /** Bytes allocated on disk for the data. */
  allocatedSize: number;
  /** Inode-like identity: the NTFS MFT record number, or for FAT the first cluster (0 for empty files). */
  inode: number;
  /** Hard-link count (1 on FAT). */
  links: number;
  /** Windows FILE_ATTRIBUTE_* bits (READONLY 0x1, HIDDEN 0x2, SYSTEM 0x4, DIRECTORY 0x10, ARCHIVE 0x20, ...). */
  attributes: number;
  /** Last data modification. */
  mtime: Date;
  /** Last access (FAT: date only). */
  atime: Date;
  /** Creation (birth) time. */
  birthtime: Date;
  /** Metadata change time (NTFS MFT change time; FAT: same as mtime). */
  ctime: Date;
  /** For symlinks and junctions: the target as stored (e.g. "C:\\Users", "\\??\\C:\\x"). */
  target?: string;
  /** Reparse tag when the entry is a reparse point (NTFS). */
  reparseTag?: number;
  /** Names of alternate data streams (NTFS), without the leading colon. */
  streams?: string[];
  /** The DOS 8.3 name when one exists and differs from `name`. */
  shortName?: string;
  /** Extra per-filesystem facts (compressed, sparse, encrypted, ...). */
  flags?: { compressed?: boolean; sparse?: boolean; encrypted?: boolean; resident?: boolean };
}

/** A directory entry: the name plus what the directory itself records (cheap to list). */
export interface DirEntry {
  name: string;
  type: FileType;
  /** Size as recorded in the directory (NTFS $I30 copies may lag; `stat` is authoritative). */
  size: number;
  inode: number;
  mtime?: Date;
  attributes?: number;
}

export interface StatFs {
  /** Allocation unit (cluster) in bytes. */
  blockSize: number;
  totalBlocks: number;
  freeBlocks: number;
  /** Maximum name length in characters. */
  nameMax: number;
}

/** An open file: positional reads and writes like a BlockDevice, plus resize. */
export interface FileHandle {
  readonly path: string;
  readonly size: number;
  readonly readOnly: boolean;
  /** Fill all of `dst` from `offset`; throws OutOfRangeError past the end of the file. */
  readAt(offset: number, dst: Uint8Array): void;
  /** Write all of `src` at `offset`, extending the file if needed. */
  writeAt(offset: number, src: Uint8Array): void;
  /** Set the size: shrink frees space, grow fills with zeros. */
  truncate(size: number): void;
  close(): void;
}

/** Bytes to copy from, read by position (a BlockDevice, a host file, another guest file). */
export interface ByteSource {
  readonly size: number;
  /** Fill all of `dst` from `offset` (offset + dst.length <= size). */
  read(offset: number, dst: Uint8Array): void;
}

/** Block size for copies from a ByteSource: small enough that a block just read is still in the CPU cache when it is written. */
export const COPY_BLOCK = 1 << 20;

/**
 * Hand `data` to `sink` from start to end: bytes in memory at once, a source in blocks of
 * `blockSize` read into one reused buffer (so the block passed is only valid during the call).
 */
export function forEachBlock(data: Uint8Array | ByteSource, sink: (offset: number, block: Uint8Array) => void, blockSize = COPY_BLOCK): void {
  if (data instanceof Uint8Array) {
    sink(0, data);
    return;
  }
  const buf = new Uint8Array(Math.min(data.size, blockSize));
  for (let off = 0; off < data.size; off += buf.length) {
    const block = buf.subarray(0, Math.min(buf.length, data.size - off));
    data.read(off, block);
    sink(off, block);
  }
}

export interface OpenOptions {
  /** Open for writing (the filesystem must be writable). */
  write?: boolean;
  /** Create the file if it is missing (implies write). */
  create?: boolean;
  /** With `create`: fail with ExistsError if it exists. */
  exclusive?: boolean;
  /** Truncate to 0 on open (implies write). */
  truncate?: boolean;
}

export interface FileSystem {
  readonly type: 'ntfs' | 'vfat';
  /** Volume label, if any. */
  readonly label: string | undefined;
  /** Volume id as libguestfs prints it: NTFS serial as 16 upper-case hex digits; FAT "XXXX-XXXX". */
  readonly uuid: string | undefined;
  readonly readOnly: boolean;

  stat(path: string): Stat;
  /** Like stat, but `undefined` when the path does not exist (corruption still throws). */
  tryStat(path: string): Stat | undefined;
  /** Entries of a directory, without "." and "..", each file listed once under its long name. */
  readdir(path: string): DirEntry[];
  /** The path with each component in its on-disk case, or undefined if absent (guestfs case_sensitive_path). */
  resolveCase(path: string): string | undefined;
  /** Whole file contents; throws LimitError above `maxBytes` (default 1 GiB). */
  readFile(path: string, opts?: { maxBytes?: number }): Uint8Array;
  open(path: string, opts?: OpenOptions): FileHandle;
  /** Create or replace a file's contents. Parent directory must exist. */
  writeFile(path: string, data: Uint8Array): void;
  /**
   * Like writeFile, from a source read in blocks (never held whole in memory), as one operation:
   * the metadata changes once, at the end, so a failure (a source read error, no space) leaves the
   * volume consistent, though an existing file's clusters may hold part of the new bytes.
   * Filesystems without it are written through open/writeAt.
   */
  writeFileFrom?(path: string, src: ByteSource): void;
  mkdir(path: string): void;
  /** Remove a file (or a named stream "path:stream"). */
  unlink(path: string): void;
  /** Remove an empty directory. */
  rmdir(path: string): void;
  /** Rename or move; the destination must not exist. */
  rename(from: string, to: string): void;
  /** Set timestamps (any omitted stays). */
  utimes?(path: string, times: { mtime?: Date; atime?: Date; birthtime?: Date }): void;
  statfs(): StatFs;
  /** Make the volume consistent on disk (write metadata, clear dirty flags). */
  flush(): void;
  close(): void;
}

/** Split an absolute path into components; "/" -> []. Backslashes are not separators. */
export function splitPath(path: string): string[] {
  return path.split('/').filter((c) => c.length > 0 && c !== '.');
}

/** Parent directory and base name of a path. */
export function dirAndBase(path: string): { dir: string; base: string } {
  const parts = splitPath(path);
  const base = parts.pop() ?? '';
  return { dir: '/' + parts.join('/'), base };
}

export function joinPath(dir: string, name: string): string {
  return dir.endsWith('/') ? dir + name : dir + '/' + name;
}
