import { ByteWriter } from '@guestkit/disk/binary';

/**
 * Shared ISO 9660 (ECMA-119, 4th edition 2019) encoding helpers.
 * Every multi-byte number on an ISO volume is either little-endian, big-endian, or
 * "both-byte orders" (ECMA-119 §7.2.3 / §7.3.3: the LE copy followed by the BE copy).
 */

/** Logical block (and logical sector) size in bytes (ECMA-119 §6.1.2; we only write 2048). */
export const BLOCK = 2048;

/** First block after the System Area (ECMA-119 §6.2.1: blocks 0-15 are the System Area). */
export const FIRST_DESCRIPTOR_LBA = 16;

/** Largest value of a 32-bit field (block addresses, data lengths). */
export const U32_MAX = 0xffff_ffff;

/** Write a both-byte-order 16-bit number (ECMA-119 §7.2.3): 4 bytes. */
export function both16(w: ByteWriter, off: number, v: number, field: string): void {
  w.u16(off, v, field);
  w.u16be(off + 2, v, field);
}

/** Write a both-byte-order 32-bit number (ECMA-119 §7.3.3): 8 bytes. */
export function both32(w: ByteWriter, off: number, v: number, field: string): void {
  w.u32(off, v, field);
  w.u32be(off + 4, v, field);
}

/** Blocks needed for `bytes` bytes. */
export function blocksFor(bytes: number): number {
  return Math.ceil(bytes / BLOCK);
}

/** Write `s` (ASCII, already restricted by the caller) left-aligned, padded with spaces to `len`. */
export function padAscii(w: ByteWriter, off: number, len: number, s: string, field: string): void {
  w.fill(off, len, 0x20, field);
  const b = Buffer.from(s.slice(0, len), 'latin1');
  w.bytesAt(off, b.subarray(0, len), field);
}

/** Encode `s` as UCS-2 big-endian (UTF-16BE code units; Joliet), truncated to `maxUnits` without splitting a surrogate pair. */
export function encodeUcs2be(s: string, maxUnits = Infinity): Uint8Array {
  let units = s.length;
  if (units > maxUnits) {
    units = maxUnits;
    const c = s.charCodeAt(units - 1);
    if (c >= 0xd800 && c <= 0xdbff) units--; // do not cut between the halves of a surrogate pair
  }
  const le = Buffer.from(s.slice(0, units), 'utf16le');
  const out = new Uint8Array(le.length);
  for (let i = 0; i + 1 < le.length; i += 2) {
    out[i] = le[i + 1]!;
    out[i + 1] = le[i]!;
  }
  return out;
}

/** Write `s` as UCS-2 BE padded with UCS-2 spaces (0x0020) to `len` bytes (Joliet SVD identifier fields). */
export function padUcs2(w: ByteWriter, off: number, len: number, s: string, field: string): void {
  for (let i = 0; i + 1 < len; i += 2) w.u16be(off + i, 0x0020, field);
  const b = encodeUcs2be(s, Math.floor(len / 2));
  w.bytesAt(off, b, field);
}
