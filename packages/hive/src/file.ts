import { closeSync, fsyncSync, openSync, readFileSync, renameSync, unlinkSync, writeSync, existsSync, readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { ioError, nullLogger, type Logger } from '@guestkit/disk/binary';
import type { FileSystem } from '@guestkit/disk';
import { Hive, type HiveOpenOptions } from './hive.js';
import { recoverHive, type RecoveryReport } from './log/recover.js';

export interface HiveFileOptions extends HiveOpenOptions {
  /**
   * Transaction logs: 'auto' (default) looks for NAME.LOG1, NAME.LOG2 and NAME.LOG next to the
   * hive (any case) and replays them when the hive is dirty; 'none' ignores them; or give the
   * log files explicitly.
   */
  logs?: 'auto' | 'none' | string[];
}

/** What opening a hive file found. */
export interface OpenedHive {
  hive: Hive;
  path: string;
  /** Log files that exist next to the hive (whether or not they were needed). */
  logsFound: string[];
  /** Set when the hive was dirty and logs were replayed. */
  recovery?: RecoveryReport;
}

function readFile(path: string): Uint8Array {
  try {
    const b = readFileSync(path);
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  } catch (e) {
    throw ioError(`reading ${path}`, e);
  }
}

/** NAME.LOG1 / NAME.LOG2 / NAME.LOG next to a hive file, matched case-insensitively. */
export function findLogFiles(path: string): { log?: string; log1?: string; log2?: string } {
  const dir = dirname(path);
  const base = basename(path).toLowerCase();
  const out: { log?: string; log1?: string; log2?: string } = {};
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return out;
  }
  for (const n of names) {
    const l = n.toLowerCase();
    if (l === base + '.log') out.log = join(dir, n);
    else if (l === base + '.log1') out.log1 = join(dir, n);
    else if (l === base + '.log2') out.log2 = join(dir, n);
  }
  return out;
}

/**
 * Open a hive file. When the hive is dirty (sequence numbers differ or the base block checksum
 * is bad) and transaction logs are available, they are replayed in memory (the file is not
 * touched) and `recovery` says what was applied; without logs a dirty hive opens as it is on
 * disk (`hive.dirty` is true) and writes to it are refused unless `allowDirty`.
 */
export function openHiveFile(path: string, opts: HiveFileOptions = {}): OpenedHive {
  const log = opts.logger ?? nullLogger;
  const bytes = readFile(path);
  const found = findLogFiles(path);
  const logsFound = [found.log1, found.log2, found.log].filter((x): x is string => x !== undefined);
  const explicit = Array.isArray(opts.logs) ? opts.logs : undefined;
  const useLogs = opts.logs !== 'none';
  const logPaths = explicit ?? logsFound;
  const name = opts.name ?? path;
  if (useLogs && logPaths.length > 0 && needsRecovery(bytes)) {
    const logs = logPaths.map((p) => ({ name: p, bytes: existsSync(p) ? readFile(p) : new Uint8Array(0) }));
    const { hive, report } = recoverHive(bytes, logs, { ...opts, name, logger: log });
    return { hive, path, logsFound, recovery: report };
  }
  return { hive: Hive.open(bytes, { ...opts, name }), path, logsFound };
}

/** True when the base block says the hive needs its logs (dirty or bad checksum). */
export function needsRecovery(bytes: Uint8Array): boolean {
  return recoverHive.needsRecovery(bytes);
}

/**
 * Write a hive back to a host file atomically: the new bytes go to a temporary file in the same
 * directory, which is fsynced and renamed over the original, and the directory is fsynced. A
 * crash leaves either the old file or the new one, never a truncated hive (hivex writes in place
 * with O_TRUNC). Returns the number of bytes written.
 */
export function commitHiveFile(hive: Hive, path: string, logger: Logger = nullLogger): number {
  const bytes = hive.serialize();
  writeFileAtomic(path, bytes);
  logger.debug({ path, bytes: bytes.length }, 'hive committed');
  return bytes.length;
}

/** temp file + fsync + rename + directory fsync. */
export function writeFileAtomic(path: string, bytes: Uint8Array): void {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.guestkit-${process.pid}-${Date.now().toString(36)}.tmp`);
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'wx', 0o644);
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off, off);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, path);
  } catch (e) {
    if (fd !== undefined) {
      try {
        closeSync(fd);
      } catch {
        /* already failing */
      }
    }
    try {
      unlinkSync(tmp);
    } catch {
      /* nothing to clean */
    }
    throw ioError(`writing ${path}`, e);
  }
  try {
    const dfd = openSync(dir, 'r');
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
  } catch {
    // Some filesystems refuse fsync on directories; the rename itself is still atomic.
  }
}

/**
 * Scoped edit of a host hive file (libguestfs with_hive_write): open writable (replaying logs
 * when dirty), run `fn`, and commit atomically only if it returns normally and changed something.
 */
export function withHiveFile<T>(path: string, opts: HiveFileOptions, fn: (h: Hive) => T): T {
  const { hive } = openHiveFile(path, { ...opts, writable: true });
  const r = fn(hive);
  if (hive.isModified || hive.recovered) commitHiveFile(hive, path, opts.logger);
  return r;
}

/**
 * Scoped edit of a hive inside a guest filesystem: read it (and its logs) through `fs`, run
 * `fn`, and write the new bytes back with `fs.writeFile` only if `fn` returned normally and the
 * hive changed. Atomicity on the guest volume is the filesystem layer's business.
 */
export function withHive<T>(fs: FileSystem, path: string, opts: HiveFileOptions, fn: (h: Hive) => T): T {
  const bytes = fs.readFile(path);
  const logs: { name: string; bytes: Uint8Array }[] = [];
  if (opts.logs !== 'none') {
    for (const ext of ['.LOG1', '.LOG2', '.LOG']) {
      const p = path + ext;
      if (fs.tryStat(p)) logs.push({ name: p, bytes: fs.readFile(p) });
    }
  }
  let hive: Hive;
  if (logs.length > 0 && needsRecovery(bytes)) hive = recoverHive(bytes, logs, { ...opts, writable: true, name: opts.name ?? path }).hive;
  else hive = Hive.open(bytes, { ...opts, writable: opts.writable ?? true, name: opts.name ?? path });
  const r = fn(hive);
  if (hive.writable && (hive.isModified || hive.recovered)) fs.writeFile(path, hive.serialize());
  return r;
}
