import { ByteView, FormatError, hex } from '@guestkit/disk/binary';
import { NtfsCode } from '../errors.js';
import { FILE_NAME, splitRef } from '../layout/mft-record.js';
import { INDEX_ENTRY, INDEX_HEADER, IndexEntryFlags } from '../layout/index.js';

/** A decoded $FILE_NAME value (a directory entry key, or the attribute itself). */
export interface FileNameKey {
  parentRecord: number;
  parentSequence: number;
  creationTime: bigint;
  lastDataChangeTime: bigint;
  lastMftChangeTime: bigint;
  lastAccessTime: bigint;
  allocatedSize: number;
  dataSize: number;
  fileAttributes: number;
  reparseTag: number;
  namespace: number;
  name: string;
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

/** Decode a $FILE_NAME value. @throws FormatError on a name that runs past the value. */
export function decodeFileName(b: Uint8Array, where: string, base = 0): FileNameKey {
  const v = new ByteView(b, base, where);
  const nameLength = v.u8(FILE_NAME.nameLength);
  const parent = splitRef(v.u64(FILE_NAME.parentRef));
  const i64n = (off: number, field: string): number => {
    const x = v.i64(off, field);
    return x < 0n || x > BigInt(Number.MAX_SAFE_INTEGER) ? 0 : Number(x);
  };
  return {
    parentRecord: parent.record,
    parentSequence: parent.sequence,
    creationTime: v.u64(FILE_NAME.creationTime),
    lastDataChangeTime: v.u64(FILE_NAME.lastDataChangeTime),
    lastMftChangeTime: v.u64(FILE_NAME.lastMftChangeTime),
    lastAccessTime: v.u64(FILE_NAME.lastAccessTime),
    allocatedSize: i64n(FILE_NAME.allocatedSize, 'allocated size'),
    dataSize: i64n(FILE_NAME.dataSize, 'data size'),
    fileAttributes: v.u32(FILE_NAME.fileAttributes),
    reparseTag: v.u32(FILE_NAME.reparseTag),
    namespace: v.u8(FILE_NAME.namespace),
    name: v.utf16(FILE_NAME.name, nameLength * 2, 'file name'),
  };
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
