import { existsSync, readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { GuestError, filetimeToIso, collectingLogger } from '@guestkit/disk/binary';
import { Hive } from './hive.js';
import { findLogFiles, openHiveFile } from './file.js';
import { parseLog } from './log/log-file.js';
import type { CellStats } from './read/hive-image.js';
import type { RecoveryReport } from './log/recover.js';

/** What `guestkit hive check` reports. */
export interface HiveCheckReport {
  file: string;
  size: number;
  /** Format version ("1.5"), base-block file name, root key name. */
  version?: string;
  baseName?: string;
  rootName?: string;
  sequence?: [number, number];
  checksumOk?: boolean;
  lastWritten?: string;
  hiveBinsSize?: number;
  /** Sequence numbers differ or the checksum is bad. */
  dirty: boolean;
  logs: { file: string; format?: 'old' | 'new'; sequence?: number; entries?: number; problem?: string }[];
  /** What opening with the logs did (when dirty). */
  recovery?: Pick<RecoveryReport, 'format' | 'logsUsed' | 'entriesApplied' | 'pagesApplied' | 'toSequence' | 'baseBlockFromLog' | 'notes'>;
  cells?: CellStats;
  keys?: number;
  values?: number;
  maxDepth?: number;
  /** Structural problems found (strict reading failed, or warnings while reading unsafe). */
  problems: string[];
  /** Overall verdict: the hive reads cleanly (after log replay when needed). */
  ok: boolean;
}

/**
 * Inspect a hive file: base block, transaction logs, replay outcome, hbin/cell statistics and a
 * full walk (every key, value name and value data read). Never throws for a bad hive: problems
 * are listed in the report.
 */
export function checkHiveFile(path: string): HiveCheckReport {
  const problems: string[] = [];
  const bytes = new Uint8Array(readFileSync(path));
  const report: HiveCheckReport = { file: path, size: bytes.length, dirty: false, logs: [], problems, ok: false };
  const found = findLogFiles(path);
  for (const f of [found.log1, found.log2, found.log]) {
    if (!f || !existsSync(f)) continue;
    const p = parseLog(basename(f), new Uint8Array(readFileSync(f)));
    if ('reason' in p) report.logs.push({ file: f, problem: p.reason });
    else report.logs.push({ file: f, format: p.format, sequence: p.base.sequence1, ...(p.entries ? { entries: p.entries.length } : {}) });
  }
  let primary: Hive | undefined;
  try {
    primary = Hive.open(bytes, { name: path, unsafe: true, logger: collectingLogger([]) });
  } catch (e) {
    if (!(e instanceof GuestError)) throw e;
    problems.push(`${e.code}: ${e.message}`);
  }
  if (primary) {
    const b = primary.image.base;
    Object.assign(report, {
      version: primary.version, baseName: b.fileName, rootName: safe(() => primary!.nodeName(primary!.root)),
      sequence: [b.sequence1, b.sequence2] as [number, number], checksumOk: b.checksumOk, lastWritten: filetimeToIso(b.lastWritten),
      hiveBinsSize: b.hiveBinsSize, dirty: primary.dirty, cells: primary.image.stats,
    });
  }
  let hive: Hive | undefined;
  try {
    const o = openHiveFile(path, { name: path });
    hive = o.hive;
    if (o.recovery) {
      const r = o.recovery;
      report.recovery = { format: r.format, logsUsed: r.logsUsed, entriesApplied: r.entriesApplied, pagesApplied: r.pagesApplied, toSequence: r.toSequence, baseBlockFromLog: r.baseBlockFromLog, notes: r.notes };
      report.cells = hive.image.stats;
    }
  } catch (e) {
    if (!(e instanceof GuestError)) throw e;
    if (!problems.some((p) => p.startsWith(e.code))) problems.push(`${e.code}: ${e.message}`);
  }
  const walkOver = hive ?? primary;
  if (walkOver) {
    let keys = 0;
    let values = 0;
    let maxDepth = 0;
    try {
      for (const { node, depth } of walkOver.walk()) {
        keys++;
        if (depth > maxDepth) maxDepth = depth;
        for (const v of walkOver.values(node)) {
          walkOver.valueName(v);
          walkOver.valueData(v);
          values++;
        }
      }
    } catch (e) {
      if (!(e instanceof GuestError)) throw e;
      problems.push(`${e.code}: ${e.message}`);
    }
    Object.assign(report, { keys, values, maxDepth });
  }
  report.ok = hive !== undefined && problems.length === 0;
  return report;
}

function safe<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch {
    return undefined;
  }
}
