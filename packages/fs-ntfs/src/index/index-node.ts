import { ByteView, FormatError, decodeUtf16le, hex } from '@guestkit/disk/binary';
import { NtfsCode } from '../errors.js';
import { FILE_NAME, splitRef } from '../layout/mft-record.js';
import { INDEX_ENTRY, INDEX_HEADER, IndexEntryFlags } from '../layout/index.js';

/** A decoded $FILE_NAME value (a directory entry key, or the attribute itself). */
export interface FileNameKey {
  readonly parentRecord: number;
  readonly parentSequence: number;
  readonly creationTime: bigint;
  readonly lastDataChangeTime: bigint;
  readonly lastMftChangeTime: bigint;
  readonly lastAccessTime: bigint;
  readonly allocatedSize: number;
  readonly dataSize: number;
  readonly fileAttributes: number;
  readonly reparseTag: number;
  readonly namespace: number;
  readonly name: string;
}

/** One index entry. `key` is a view into the node bytes. */
export interface IndexEntry {
  /** Offset of the entry in its node buffer. */
  offset: number;
  length: number;
  flags: number;
  record: number;
  sequence: number;
  key: Uint8Array;
  /** Sub-node VCN when `flags & Node`. */
  subVcn: number;
}

const u32 = (b: Uint8Array, o: number): number => (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16)) + b[o + 3]! * 16777216;
const u64big = (b: Uint8Array, o: number): bigint => (BigInt(u32(b, o + 4)) << 32n) | BigInt(u32(b, o));
const i64num = (b: Uint8Array, o: number): number => {
  const hi = u32(b, o + 4);
  // negative or above 2^53: treat as 0 (sizes in directory entries are informational)
  return hi >= 0x200000 ? 0 : hi * 4294967296 + u32(b, o);
};

/** A $FILE_NAME decoded on demand: hot fields eagerly, FILETIMEs only when asked. */
class FileNameValue implements FileNameKey {
  readonly parentRecord: number;
  readonly parentSequence: number;
  readonly allocatedSize: number;
  readonly dataSize: number;
  readonly fileAttributes: number;
  readonly reparseTag: number;
  readonly namespace: number;
  readonly name: string;
  constructor(private readonly b: Uint8Array) {
    this.parentRecord = u32(b, FILE_NAME.parentRef) + (b[FILE_NAME.parentRef + 4]! | (b[FILE_NAME.parentRef + 5]! << 8)) * 4294967296;
    this.parentSequence = b[FILE_NAME.parentRef + 6]! | (b[FILE_NAME.parentRef + 7]! << 8);
    this.allocatedSize = i64num(b, FILE_NAME.allocatedSize);
    this.dataSize = i64num(b, FILE_NAME.dataSize);
    this.fileAttributes = u32(b, FILE_NAME.fileAttributes);
    this.reparseTag = u32(b, FILE_NAME.reparseTag);
    this.namespace = b[FILE_NAME.namespace]!;
    this.name = decodeUtf16le(b.subarray(FILE_NAME.name, FILE_NAME.name + b[FILE_NAME.nameLength]! * 2));
  }
  get creationTime(): bigint {
    return u64big(this.b, FILE_NAME.creationTime);
  }
  get lastDataChangeTime(): bigint {
    return u64big(this.b, FILE_NAME.lastDataChangeTime);
  }
  get lastMftChangeTime(): bigint {
    return u64big(this.b, FILE_NAME.lastMftChangeTime);
  }
  get lastAccessTime(): bigint {
    return u64big(this.b, FILE_NAME.lastAccessTime);
  }
  /** Last data change as milliseconds since the Unix epoch (no bigint on the listing path). */
  get mtimeMs(): number {
    const o = FILE_NAME.lastDataChangeTime;
    return (u32(this.b, o + 4) * 4294967296 + u32(this.b, o)) / 10000 - 11644473600000;
  }
}

/** Decode a $FILE_NAME value. @throws FormatError when the name runs past the value. */
export function decodeFileName(b: Uint8Array, where: string, base = 0): FileNameKey & { readonly mtimeMs: number } {
  if (b.length < FILE_NAME.HEADER || FILE_NAME.HEADER + b[FILE_NAME.nameLength]! * 2 > b.length) {
    throw new FormatError(NtfsCode.BadIndex, `${where} @ ${hex(base)}: $FILE_NAME of ${b.length} bytes is too short for its name`, { where, offset: base, length: b.length });
  }
  // a view: index nodes are immutable once parsed (writers replace whole nodes)
  return new FileNameValue(b);
}

/**
 * Parse the entries after an INDEX_HEADER at `headerOffset` of `buf` (an index root value or a
 * fixed-up index block). Checks every entry against the used length; requires a final END entry.
 * @throws FormatError(NTFS_BAD_INDEX)
 */
export function parseIndexEntries(buf: Uint8Array, headerOffset: number, where: string, absBase: number): { entries: IndexEntry[]; flags: number; indexLength: number; allocatedSize: number } {
  const v = new ByteView(buf, absBase, where);
  const bad = (msg: string, off: number) => new FormatError(NtfsCode.BadIndex, `${where} @ ${hex(absBase + off)}: ${msg}`, { where, offset: absBase + off });
  const entriesOffset = v.u32(headerOffset + INDEX_HEADER.entriesOffset, 'entries offset');
  const indexLength = v.u32(headerOffset + INDEX_HEADER.indexLength, 'index length');
  const allocatedSize = v.u32(headerOffset + INDEX_HEADER.allocatedSize, 'allocated size');
  const flags = v.u8(headerOffset + INDEX_HEADER.flags, 'index flags');
  const end = headerOffset + indexLength;
  if (indexLength > buf.length - headerOffset || entriesOffset < INDEX_HEADER.SIZE || entriesOffset & 7 || entriesOffset > indexLength) {
    throw bad(`index header: entries at +${entriesOffset}, used length ${indexLength} do not fit the ${buf.length - headerOffset}-byte node`, headerOffset);
  }
  const entries: IndexEntry[] = [];
  let off = headerOffset + entriesOffset;
  for (;;) {
    if (off + INDEX_ENTRY.HEADER > end) throw bad('entries run past the used length without an END entry', off);
    const length = v.u16(off + INDEX_ENTRY.length);
    const keyLength = v.u16(off + INDEX_ENTRY.keyLength);
    const eflags = v.u16(off + INDEX_ENTRY.flags);
    const isNode = (eflags & IndexEntryFlags.Node) !== 0;
    const minLen = INDEX_ENTRY.HEADER + (eflags & IndexEntryFlags.End ? 0 : keyLength) + (isNode ? 8 : 0);
    if (length < minLen || length & 7 || off + length > end) {
      throw bad(`entry length ${length} (key ${keyLength}, flags ${hex(eflags)}) is invalid within ${end - off} bytes`, off);
    }
    let subVcn = -1;
    if (isNode) {
      const s = v.i64(off + length - 8, 'sub-node VCN');
      if (s < 0n || s > BigInt(Number.MAX_SAFE_INTEGER)) throw bad(`sub-node VCN ${s} is invalid`, off + length - 8);
      subVcn = Number(s);
    }
    const ref = splitRef(v.u64(off + INDEX_ENTRY.fileRef));
    const keyEnd = off + INDEX_ENTRY.HEADER + (eflags & IndexEntryFlags.End ? 0 : keyLength);
    entries.push({
      offset: off, length, flags: eflags, record: ref.record, sequence: ref.sequence,
      key: buf.subarray(off + INDEX_ENTRY.HEADER, keyEnd), subVcn,
    });
    if (eflags & IndexEntryFlags.End) break;
    off += length;
    if (entries.length > 65536) throw bad('more than 65536 entries in one node', off);
  }
  return { entries, flags, indexLength, allocatedSize };
}
