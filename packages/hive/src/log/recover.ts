import { ByteView, ByteWriter, FormatError, UnsafeStateError, nullLogger } from '@guestkit/disk/binary';
import { HiveCode } from '../errors.js';
import { BASE, HBIN_BASE, decodeBaseBlock, writeBaseBlockChecksum } from '../layout/base-block.js';
import { HBIN } from '../layout/hbin.js';
import { HiveImage } from '../read/hive-image.js';
import { Hive, type HiveOpenOptions } from '../hive.js';
import { parseLog, seqBefore, type ParsedLog, type RejectedLog, type LogEntry } from './log-file.js';

/** What a replay did. */
export interface RecoveryReport {
  format: 'old' | 'new';
  /** Logs whose data was applied, in order. */
  logsUsed: string[];
  /** Logs that could not be used, with the reason. */
  logsRejected: RejectedLog[];
  /** New format: log entries applied. */
  entriesApplied: number;
  /** Dirty pages written over the primary image. */
  pagesApplied: number;
  /** Sequence numbers of the primary before, and of the recovered hive. */
  fromSequence: [number, number];
  toSequence: number;
  /** The primary's base block was invalid and was rebuilt from a log's copy. */
  baseBlockFromLog: boolean;
  hiveBinsSize: number;
  /** Why a log stopped early (a bad entry ends the replay of that log). */
  notes: string[];
}

export interface LogInput {
  name: string;
  bytes: Uint8Array;
}

/**
 * Replay transaction logs over a dirty primary hive in memory and open the result (the files
 * are not modified). Follows the Windows rules as documented by Suhanov ("Format of transaction
 * log files", "Multiple transaction log files"):
 *  - new format (HvLE, 8.1+): entries are applied in sequence-number order, starting from the
 *    log whose first entry is not older than the primary's secondary sequence number, each
 *    entry verified by its two Marvin32 hashes; a bad or out-of-sequence entry ends the replay
 *    of that log, and the other log continues only with the next sequence number. With an
 *    invalid primary base block only the log with the latest entries is used;
 *  - old format (DIRT dirty vector, Vista/7): the log whose base-block timestamp is not older
 *    than the primary's (newest of .LOG1/.LOG2) has its dirty pages written over the primary.
 * @throws UnsafeStateError(HIVE_RECOVERY_FAILED) when no log can be applied.
 */
export function recoverHive(primary: Uint8Array, logs: readonly LogInput[], opts: HiveOpenOptions = {}): { hive: Hive; report: RecoveryReport } {
  const name = opts.name ?? 'hive';
  const log = opts.logger ?? nullLogger;
  if (primary.length < BASE.LOG_COPY_SIZE || new ByteView(primary).ascii(0, 4) !== 'regf') {
    throw new FormatError(HiveCode.BadSignature, `${name}: not a Windows registry hive`, { where: name });
  }
  const pbase = decodeBaseBlock(new ByteView(primary, 0, name).sub(0, BASE.LOG_COPY_SIZE));
  const baseValid = pbase.checksumOk;
  const parsed: ParsedLog[] = [];
  const rejected: RejectedLog[] = [];
  for (const l of logs) {
    const p = parseLog(l.name, l.bytes);
    if ('reason' in p) rejected.push(p);
    else parsed.push(p);
  }
  const notes: string[] = [];
  // A log normally ends where the next "HvLE" signature is missing; anything else is worth reporting.
  for (const p of parsed) if (p.stopReason && !p.stopReason.includes('end of entries')) notes.push(`${p.name}: ${p.stopReason}`);
  const fail = (why: string): never => {
    const detail = [...rejected.map((r) => `${r.name}: ${r.reason}`), ...parsed.map((p) => `${p.name}: ${p.stopReason ?? `${p.format}-format log not applicable`}`)];
    throw new UnsafeStateError(HiveCode.RecoveryFailed, `${name}: the hive is dirty (sequence ${pbase.sequence1}/${pbase.sequence2}${baseValid ? '' : ', bad base block'}) and its transaction logs cannot be applied: ${why}${detail.length ? ` (${detail.join('; ')})` : ''}`, {
      where: name, sequence1: pbase.sequence1, sequence2: pbase.sequence2, logs: detail,
    });
  };

  const newLogs = parsed.filter((p) => p.format === 'new' && (p.entries?.length ?? 0) > 0);
  const oldLogs = parsed.filter((p) => p.format === 'old');
  let work: Uint8Array;
  let report: RecoveryReport;
  let baseSrc: Uint8Array;
  let finalSeq: number;
  let flags = pbase.flags;
  if (newLogs.length > 0) {
    const ordered = [...newLogs].sort((a, b) => (seqBefore(a.base.sequence1, b.base.sequence1) ? -1 : seqBefore(b.base.sequence1, a.base.sequence1) ? 1 : 0));
    let use: ParsedLog[];
    if (baseValid) {
      use = [];
      let last: number | undefined;
      for (const l of ordered) {
        const first = l.base.sequence1;
        if (last === undefined) {
          if (seqBefore(first, pbase.sequence2)) {
            notes.push(`${l.name}: entries start at ${first}, older than the primary's ${pbase.sequence2}`);
            continue;
          }
        } else if (first !== ((last + 1) >>> 0)) {
          notes.push(`${l.name}: entries start at ${first}, not at ${(last + 1) >>> 0}`);
          continue;
        }
        use.push(l);
        last = l.entries![l.entries!.length - 1]!.sequence;
      }
      if (use.length === 0) fail('no log continues from the primary sequence number');
      baseSrc = primary.subarray(0, BASE.SIZE);
    } else {
      const latest = ordered[ordered.length - 1]!;
      use = [latest];
      baseSrc = logBase(latest);
    }
    const entries: LogEntry[] = use.flatMap((l) => l.entries!);
    const lastEntry = entries[entries.length - 1]!;
    work = resizeHive(primary, lastEntry.hiveBinsSize, baseSrc);
    let pages = 0;
    for (const e of entries) {
      work = resizeHive(work, e.hiveBinsSize);
      for (const pg of e.pages) {
        work.set(pg.bytes, HBIN_BASE + pg.offset);
        pages++;
      }
      flags = (e.flags & 1) !== 0 ? flags | 1 : flags & ~1;
    }
    finalSeq = lastEntry.sequence;
    report = {
      format: 'new', logsUsed: use.map((l) => l.name), logsRejected: rejected, entriesApplied: entries.length, pagesApplied: pages,
      fromSequence: [pbase.sequence1, pbase.sequence2], toSequence: finalSeq, baseBlockFromLog: !baseValid, hiveBinsSize: lastEntry.hiveBinsSize, notes,
    };
  } else if (oldLogs.length > 0) {
    const primaryTime = baseValid ? pbase.lastWritten : firstBinTimestamp(primary);
    const eligible = oldLogs.filter((l) => primaryTime === undefined || l.base.lastWritten >= primaryTime);
    if (eligible.length === 0) fail('no old-format log is as recent as the primary');
    // Prefer .LOG1, unless another eligible log is more recent (Windows 8 / KB3140410 rule).
    let chosen = eligible[0]!;
    for (const l of eligible.slice(1)) if (l.base.lastWritten > chosen.base.lastWritten) chosen = l;
    baseSrc = baseValid ? primary.subarray(0, BASE.SIZE) : logBase(chosen);
    work = resizeHive(primary, chosen.base.hiveBinsSize, baseSrc);
    for (const pg of chosen.pages!) work.set(pg.bytes, HBIN_BASE + pg.offset);
    finalSeq = chosen.base.sequence1;
    flags = chosen.base.flags;
    report = {
      format: 'old', logsUsed: [chosen.name], logsRejected: rejected, entriesApplied: 0, pagesApplied: chosen.pages!.length,
      fromSequence: [pbase.sequence1, pbase.sequence2], toSequence: finalSeq, baseBlockFromLog: !baseValid, hiveBinsSize: chosen.base.hiveBinsSize, notes,
    };
  } else {
    return fail('no usable transaction log');
  }

  // A clean base block for the recovered image.
  const w = new ByteWriter(work);
  w.u32(BASE.sequence1, finalSeq).u32(BASE.sequence2, finalSeq).u32(BASE.fileType, 0);
  w.u32(BASE.hiveBinsSize, report.hiveBinsSize).u32(BASE.flags, flags >>> 0);
  writeBaseBlockChecksum(work.subarray(0, BASE.LOG_COPY_SIZE));
  log.info({ hive: name, ...report, logsRejected: rejected.map((r) => `${r.name}: ${r.reason}`) }, 'transaction logs replayed');
  const img = new HiveImage(work, { unsafe: Boolean(opts.unsafe), log, name });
  return { hive: Hive.fromImage(img, { ...opts, name }, true), report };
}

/** True when the base block says the primary needs its logs: sequence numbers differ or the checksum is bad. */
recoverHive.needsRecovery = function needsRecovery(bytes: Uint8Array): boolean {
  if (bytes.length < BASE.LOG_COPY_SIZE) return false;
  const v = new ByteView(bytes);
  if (v.ascii(0, 4) !== 'regf') return false;
  const b = decodeBaseBlock(v.sub(0, BASE.LOG_COPY_SIZE));
  return !b.checksumOk || b.sequence1 !== b.sequence2;
};

/** The base block rebuilt from a log's 512-byte copy (the file type is reset when finishing). */
function logBase(l: ParsedLog): Uint8Array {
  const b = new Uint8Array(BASE.SIZE);
  b.set(l.baseBytes);
  return b;
}

/** Copy of the hive resized to base block + `hbinsSize` bytes (zero-filled growth), optionally with a new base block. */
function resizeHive(src: Uint8Array, hbinsSize: number, base?: Uint8Array): Uint8Array {
  const size = HBIN_BASE + hbinsSize;
  if (!base && src.length === size) return src;
  const out = new Uint8Array(size);
  out.set(src.subarray(0, Math.min(size, src.length)));
  if (base) out.set(base.subarray(0, BASE.SIZE));
  return out;
}

function firstBinTimestamp(primary: Uint8Array): bigint | undefined {
  if (primary.length < HBIN_BASE + HBIN.SIZE) return undefined;
  return new ByteView(primary).u64(HBIN_BASE + HBIN.timestamp);
}
