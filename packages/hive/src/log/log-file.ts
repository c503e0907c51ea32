import { ByteView } from '@guestkit/disk/binary';
import { BASE, FileType, decodeBaseBlock, type BaseBlock } from '../layout/base-block.js';
import { HBIN_ALIGN } from '../layout/hbin.js';
import { marvin32 } from './marvin32.js';

/**
 * Transaction log files (Suhanov "Format of transaction log files"). Both formats start with a
 * partial copy of the base block (the first 512 bytes). The old format (file type 1, XP..8.0;
 * 2 on NT..2000) follows it with a dirty vector ("DIRT" + one bit per 512-byte page of the hive
 * bins data) and the dirty pages; the new format (file type 6, 8.1+) with HvLE log entries.
 */

/** HvLE log entry header; offsets from the start of the entry. */
export const HVLE = {
  signature: 0x00, //      4   "HvLE"
  size: 0x04, //           u32 bytes of this entry, a multiple of 512
  flags: 0x08, //          u32 copy of base block flags bit 0
  sequence: 0x0c, //       u32 sequence number the hive has after this entry
  hiveBinsSize: 0x10, //   u32 hive bins data size after this entry
  dirtyPageCount: 0x14, // u32
  hash1: 0x18, //          u64 Marvin32 of [40, size)
  hash2: 0x20, //          u64 Marvin32 of [0, 32)
  pageRefs: 0x28, //       dirtyPageCount × { u32 offset (relative to hive bins), u32 size }
  SIZE: 0x28,
} as const;

/** Old-format dirty vector, right after the 512-byte base block copy. */
export const DIRT = { signature: 0x00, bitmap: 0x04, AT: 0x200 } as const;

export interface DirtyPage {
  /** Offset relative to the hive bins data. */
  offset: number;
  bytes: Uint8Array;
}

export interface LogEntry {
  sequence: number;
  flags: number;
  hiveBinsSize: number;
  pages: DirtyPage[];
  /** File offset of the entry in its log. */
  at: number;
}

export interface ParsedLog {
  name: string;
  format: 'old' | 'new';
  base: BaseBlock;
  /** The 512-byte base block copy as stored. */
  baseBytes: Uint8Array;
  /** Old format: the dirty pages (in bitmap order). */
  pages?: DirtyPage[];
  /** New format: the consecutive valid entries starting at base.sequence1 (stops at the first bad one). */
  entries?: LogEntry[];
  /** Why parsing stopped early (new format), for the report. */
  stopReason?: string;
}

/** A log file that cannot be used, and why. */
export interface RejectedLog {
  name: string;
  reason: string;
}

/** Parse one log file; returns the reason instead when it cannot be used at all. */
export function parseLog(name: string, bytes: Uint8Array): ParsedLog | RejectedLog {
  if (bytes.length < BASE.LOG_COPY_SIZE) return { name, reason: `${bytes.length} bytes: no base block` };
  const v = new ByteView(bytes, 0, name);
  if (v.ascii(0, 4) !== 'regf') return { name, reason: 'no "regf" signature' };
  const base = decodeBaseBlock(v.sub(0, BASE.LOG_COPY_SIZE, `${name} base block`));
  if (!base.checksumOk) return { name, reason: 'base block checksum mismatch' };
  // A log is consistent only when both sequence numbers agree (Suhanov, old format note 2).
  if (base.sequence1 !== base.sequence2) return { name, reason: `sequence numbers differ (${base.sequence1}/${base.sequence2})` };
  if (base.hiveBinsSize < HBIN_ALIGN || base.hiveBinsSize % HBIN_ALIGN !== 0) return { name, reason: `hive bins size ${base.hiveBinsSize} is not a multiple of 4096` };
  if (base.fileType === FileType.LogNew) return parseNew(name, bytes, v, base);
  if (base.fileType === FileType.LogOld || base.fileType === FileType.LogVeryOld) return parseOld(name, bytes, v, base);
  return { name, reason: `file type ${base.fileType} is not a transaction log` };
}

function parseOld(name: string, bytes: Uint8Array, v: ByteView, base: BaseBlock): ParsedLog | RejectedLog {
  const bitmapBytes = base.hiveBinsSize / HBIN_ALIGN; // one bit per 512-byte page
  if (!v.has(DIRT.AT, 4 + bitmapBytes) || v.ascii(DIRT.AT, 4) !== 'DIRT') return { name, reason: 'no "DIRT" dirty vector' };
  const bitmap = v.bytesAt(DIRT.AT + DIRT.bitmap, bitmapBytes, 'dirty vector');
  let at = Math.ceil((DIRT.AT + 4 + bitmapBytes) / 512) * 512;
  const pages: DirtyPage[] = [];
  for (let i = 0; i < bitmapBytes * 8; i++) {
    if ((bitmap[Math.floor(i / 8)]! & (1 << (i % 8))) === 0) continue;
    if (at + 512 > bytes.length) return { name, reason: `dirty page ${pages.length} is past the end of the log (${bytes.length} bytes)` };
    pages.push({ offset: i * 512, bytes: bytes.subarray(at, at + 512) });
    at += 512;
  }
  return { name, format: 'old', base, baseBytes: bytes.subarray(0, BASE.LOG_COPY_SIZE), pages };
}

function parseNew(name: string, bytes: Uint8Array, v: ByteView, base: BaseBlock): ParsedLog {
  const entries: LogEntry[] = [];
  let at = BASE.LOG_COPY_SIZE;
  let expected = base.sequence1;
  let stopReason: string | undefined;
  while (at + HVLE.SIZE <= bytes.length) {
    const why = checkEntry(v, at, bytes.length, expected);
    if (typeof why === 'string') {
      stopReason = `entry at ${at}: ${why}`;
      break;
    }
    entries.push(why);
    at += v.u32(at + HVLE.size);
    expected = (expected + 1) >>> 0;
  }
  const baseBytes = bytes.subarray(0, BASE.LOG_COPY_SIZE);
  return stopReason === undefined ? { name, format: 'new', base, baseBytes, entries } : { name, format: 'new', base, baseBytes, entries, stopReason };
}

function checkEntry(v: ByteView, at: number, fileSize: number, expected: number): LogEntry | string {
  if (v.ascii(at, 4) !== 'HvLE') return 'no "HvLE" signature (end of entries)';
  const size = v.u32(at + HVLE.size);
  if (size < 512 || size % 512 !== 0 || at + size > fileSize) return `size ${size} is not a multiple of 512 inside the file`;
  const hbins = v.u32(at + HVLE.hiveBinsSize);
  if (hbins < HBIN_ALIGN || hbins % HBIN_ALIGN !== 0) return `hive bins size ${hbins} is not a multiple of 4096`;
  const count = v.u32(at + HVLE.dirtyPageCount);
  if (count === 0) return 'no dirty pages';
  if (HVLE.SIZE + count * 8 > size) return `${count} page references do not fit in ${size} bytes`;
  const h1 = v.u64(at + HVLE.hash1);
  const h2 = v.u64(at + HVLE.hash2);
  if (marvin32(v.bytes, undefined, at, 32) !== h2 || marvin32(v.bytes, undefined, at + HVLE.SIZE, size - HVLE.SIZE) !== h1) return 'Marvin32 hash mismatch';
  const seq = v.u32(at + HVLE.sequence);
  if (seq !== expected) return `sequence ${seq}, expected ${expected}`;
  const pages: DirtyPage[] = [];
  let data = at + HVLE.SIZE + count * 8;
  for (let i = 0; i < count; i++) {
    const off = v.u32(at + HVLE.pageRefs + i * 8);
    const len = v.u32(at + HVLE.pageRefs + i * 8 + 4);
    if (data + len > at + size) return `dirty page ${i} (${len} bytes) runs past the entry`;
    if (off + len > hbins) return `dirty page ${i} at ${off} (+${len}) is outside the ${hbins}-byte hive bins data`;
    pages.push({ offset: off, bytes: v.bytes.subarray(data, data + len) });
    data += len;
  }
  return { sequence: seq, flags: v.u32(at + HVLE.flags), hiveBinsSize: hbins, pages, at };
}

/** True when `a` comes before `b` in 32-bit sequence-number arithmetic (wrap-around safe). */
export function seqBefore(a: number, b: number): boolean {
  return a !== b && ((b - a) >>> 0) <= 0x7fffffff;
}
