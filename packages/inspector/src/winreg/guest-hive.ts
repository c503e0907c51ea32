/**
 * A hive file inside a guest filesystem: read it with its transaction logs (replayed in memory
 * when the hive is dirty), and write the edited hive back **in place** through the filesystem's
 * write path — only the 4 KiB pages that changed are rewritten and the file grows at its end by
 * the hbins the edit appended, so the hive keeps its clusters (and its MFT record) instead of
 * being replaced by a new file.
 */
import type { FileSystem } from '@guestkit/disk';
import { nullLogger, type Logger } from '@guestkit/disk/binary';
import { Hive, needsRecovery, recoverHive, type RecoveryReport } from '@guestkit/hive';

/** Largest hive the editor opens (real SOFTWARE hives reach a few hundred MiB). */
export const MAX_GUEST_HIVE_BYTES = 512 * 1024 * 1024;
/** Granularity of the in-place rewrite: the hbin alignment. */
const PAGE = 4096;
/** Transaction log names Windows keeps next to a hive (Vista+: .LOG1/.LOG2; XP: .LOG). */
const LOG_SUFFIXES = ['.LOG1', '.LOG2', '.LOG'] as const;

export interface GuestHive {
  /** Path of the hive in the filesystem, in on-disk case. */
  path: string;
  fs: FileSystem;
  hive: Hive;
  /** The bytes as read from the guest (before any log replay): what the in-place write compares against. */
  original: Uint8Array;
  /** Transaction logs found next to the hive (paths). */
  logs: string[];
  /** The logs' bytes, when they were replayed. */
  logInputs?: { name: string; bytes: Uint8Array }[];
  /** What the file holds now, after `writeGuestHive` (undefined: still `original`). */
  written?: Uint8Array;
  /** Present when the hive was dirty and its logs were replayed. */
  recovery?: RecoveryReport;
}

export interface LoadGuestHiveOptions {
  writable?: boolean;
  /** Read a damaged hive as far as possible (read-only; virt-win-reg exports this way). */
  unsafe?: boolean;
  /** Replay the transaction logs of a dirty hive (default true). */
  logs?: boolean;
  logger?: Logger;
  /** Name for messages. */
  name?: string;
  /** Clock for key timestamps (tests). */
  now?: () => bigint;
}

/** The transaction logs next to `path` (any case), as on-disk paths. */
export function findGuestLogs(fs: FileSystem, path: string): string[] {
  const out: string[] = [];
  for (const suffix of LOG_SUFFIXES) {
    const p = fs.resolveCase(path + suffix);
    if (p !== undefined && fs.tryStat(p)?.type === 'file') out.push(p);
  }
  return out;
}

/**
 * Open a hive file of the guest. A dirty hive (sequence numbers differ, or a bad header
 * checksum) with logs next to it is replayed in memory first; the files are not touched.
 * @throws NotFoundError (no such file), the hive package's errors (corrupt hive), UnsafeStateError (logs unusable)
 */
export function loadGuestHive(fs: FileSystem, path: string, opts: LoadGuestHiveOptions = {}): GuestHive {
  const log = opts.logger ?? nullLogger;
  const name = opts.name ?? path;
  const original = fs.readFile(path, { maxBytes: MAX_GUEST_HIVE_BYTES });
  const logs = findGuestLogs(fs, path);
  const base = {
    writable: Boolean(opts.writable), unsafe: Boolean(opts.unsafe) && !opts.writable, name, logger: log,
    ...(opts.now ? { now: opts.now } : {}),
  };
  if (opts.logs !== false && logs.length > 0 && needsRecovery(original)) {
    const inputs = logs.map((p) => ({ name: p, bytes: fs.readFile(p, { maxBytes: MAX_GUEST_HIVE_BYTES }) }));
    const { hive, report } = recoverHive(original, inputs, base);
    log.info({ hive: path, logs: report.logsUsed, entries: report.entriesApplied, pages: report.pagesApplied }, 'dirty hive: transaction logs replayed');
    return { path, fs, hive, original, logs, logInputs: inputs, recovery: report };
  }
  // Hive.open copies the bytes when writable, so `original` stays as read.
  return { path, fs, hive: Hive.open(original, base), original, logs };
}

export interface HiveWriteReport {
  path: string;
  /** Size before and after. */
  oldSize: number;
  newSize: number;
  /** Byte ranges of the file that were rewritten (page granularity). */
  ranges: { offset: number; length: number }[];
  bytesWritten: number;
}

/** Runs of 4 KiB pages where `next` differs from `old` (plus everything past the end of `old`). */
export function changedPages(old: Uint8Array, next: Uint8Array): { offset: number; length: number }[] {
  const out: { offset: number; length: number }[] = [];
  const common = Math.min(old.length, next.length);
  const a = Buffer.from(old.buffer, old.byteOffset, old.byteLength);
  const b = Buffer.from(next.buffer, next.byteOffset, next.byteLength);
  const push = (offset: number, length: number) => {
    const last = out[out.length - 1];
    if (last && last.offset + last.length === offset) last.length += length;
    else out.push({ offset, length });
  };
  for (let off = 0; off < common; off += PAGE) {
    const end = Math.min(common, off + PAGE);
    if (a.compare(b, off, end, off, end) !== 0) push(off, end - off);
  }
  if (next.length > common) push(common, next.length - common);
  return out;
}

/**
 * Write the edited hive back over its file: `hive.serialize()` (sequence numbers, hive bins
 * size, timestamp and checksum updated), compared page by page with what was read; changed
 * pages are rewritten in place and the file grows by the appended hbins (or shrinks, after a
 * log replay that dropped a stale tail). Nothing is written when nothing changed.
 */
export function writeGuestHive(gh: GuestHive, logger: Logger = nullLogger): HiveWriteReport {
  const next = gh.hive.serialize();
  const old = gh.written ?? gh.original;
  const ranges = changedPages(old, next);
  const report: HiveWriteReport = { path: gh.path, oldSize: old.length, newSize: next.length, ranges, bytesWritten: 0 };
  if (ranges.length === 0 && next.length === old.length) return report;
  const h = gh.fs.open(gh.path, { write: true });
  try {
    // Ascending: changed pages in place, then the appended hbins (one allocation at the end).
    for (const r of ranges) {
      h.writeAt(r.offset, next.subarray(r.offset, r.offset + r.length));
      report.bytesWritten += r.length;
    }
    if (next.length < old.length) h.truncate(next.length);
  } finally {
    h.close();
  }
  logger.debug({ hive: gh.path, ranges: ranges.length, bytes: report.bytesWritten, size: next.length }, 'hive written in place');
  gh.written = next;
  return report;
}
