import type { ByteWriter } from '@guestkit/disk/binary';
import { both16, both32 } from './common.js';
import { writeDate7 } from './dates.js';

/**
 * Directory Record (ECMA-119 §9.1). Offsets in bytes from the start of the record.
 * A record never crosses a logical block boundary (§6.8.1.1); the rest of a block after the last
 * record that fits is zero.
 */
export const DR = {
  /** u8 LEN_DR: length of the whole record including the System Use field. */
  length: 0,
  /** u8 length of the Extended Attribute Record (always 0 here). */
  extAttrLength: 1,
  /** both-endian u32: first logical block of the extent. */
  extent: 2,
  /** both-endian u32: data length in bytes. */
  dataLength: 10,
  /** 7 bytes: recording date and time (§9.1.5). */
  date: 18,
  /** u8 file flags (DR_FLAG). */
  flags: 25,
  /** u8 file unit size (interleaving; 0). */
  fileUnitSize: 26,
  /** u8 interleave gap size (0). */
  interleaveGap: 27,
  /** both-endian u16 volume sequence number (1). */
  volumeSequence: 28,
  /** u8 LEN_FI: length of the file identifier. */
  idLength: 32,
  /** LEN_FI bytes of identifier, then one zero pad byte if LEN_FI is even, then System Use. */
  id: 33,
  /** Fixed part before the identifier. */
  FIXED: 33,
} as const;

/** File flags (ECMA-119 §9.1.6). */
export const DR_FLAG = {
  hidden: 0x01,
  directory: 0x02,
  associated: 0x04,
  record: 0x08,
  protection: 0x10,
  /** Not the final record of a file recorded in several extents (§9.1.6, bit 7). */
  multiExtent: 0x80,
} as const;

/** LEN_DR is one byte. */
export const MAX_RECORD_LENGTH = 255;

/** The identifier of the "." record (§6.8.2.2). */
export const ID_SELF = new Uint8Array([0x00]);
/** The identifier of the ".." record. */
export const ID_PARENT = new Uint8Array([0x01]);

/** Length of a record before its System Use field: fixed part, identifier, pad byte (§9.1.12). */
export function recordBaseLength(idLength: number): number {
  return DR.FIXED + idLength + (idLength % 2 === 0 ? 1 : 0);
}

/** Total record length for a given identifier length and System Use length, padded to an even length. */
export function recordLength(idLength: number, systemUseLength: number): number {
  const n = recordBaseLength(idLength) + systemUseLength;
  return n % 2 === 0 ? n : n + 1;
}

export interface DirectoryRecordFields {
  extent: number;
  dataLength: number;
  mtimeMs: number;
  flags: number;
  id: Uint8Array;
}

/**
 * Write one directory record at `off` followed by `systemUse` entries; returns its length.
 * The caller has checked that the result is at most MAX_RECORD_LENGTH.
 */
export function writeDirectoryRecord(w: ByteWriter, off: number, f: DirectoryRecordFields, systemUse: readonly Uint8Array[]): number {
  let suLen = 0;
  for (const e of systemUse) suLen += e.length;
  const len = recordLength(f.id.length, suLen);
  w.fill(off, len, 0, 'directory record');
  w.u8(off + DR.length, len, 'LEN_DR');
  w.u8(off + DR.extAttrLength, 0, 'ext attr length');
  both32(w, off + DR.extent, f.extent, 'extent location');
  both32(w, off + DR.dataLength, f.dataLength, 'data length');
  writeDate7(w, off + DR.date, f.mtimeMs, 'recording date');
  w.u8(off + DR.flags, f.flags, 'file flags');
  both16(w, off + DR.volumeSequence, 1, 'volume sequence number');
  w.u8(off + DR.idLength, f.id.length, 'LEN_FI');
  w.bytesAt(off + DR.id, f.id, 'file identifier');
  let p = off + recordBaseLength(f.id.length);
  for (const e of systemUse) {
    w.bytesAt(p, e, 'system use entry');
    p += e.length;
  }
  return len;
}
