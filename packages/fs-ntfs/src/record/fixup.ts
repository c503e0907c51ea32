import { FormatError, hex } from '@guestkit/disk/binary';
import { NtfsCode } from '../errors.js';

/**
 * Multi-sector transfer protection ("update sequence array", USA): the last two bytes of every
 * 512-byte stride of an MFT record or index block are replaced on disk by the update sequence
 * number (USN); the real bytes live in the array. A stride whose tail is not the USN was torn.
 * Ref: ntfs-3g libntfs-3g/mst.c (post-read fixup / pre-write fixup / post-write fixup).
 */
export const MST_STRIDE = 512;

/** Header fields common to FILE, INDX and RSTR records. */
export const MST = { magic: 0x00, usaOffset: 0x04, usaCount: 0x06 } as const;

function u16(b: Uint8Array, o: number): number {
  return b[o]! | (b[o + 1]! << 8);
}

/**
 * Check the USA of `buf` (a whole record, in place) and restore the protected bytes.
 * @throws FormatError(NTFS_FIXUP_MISMATCH) on a bad USA geometry or a torn stride.
 */
export function postReadFixup(buf: Uint8Array, what: string, absOffset: number): void {
  const size = buf.length;
  if (size < MST_STRIDE || size % MST_STRIDE !== 0) {
    throw new FormatError(NtfsCode.FixupMismatch, `${what} at ${hex(absOffset)}: size ${size} is not a multiple of ${MST_STRIDE}`, { what, offset: absOffset, size });
  }
  const usaOfs = u16(buf, MST.usaOffset);
  const usaCount = u16(buf, MST.usaCount);
  const strides = size / MST_STRIDE;
  if (usaCount !== strides + 1 || usaOfs & 1 || usaOfs < 8 || usaOfs + usaCount * 2 > MST_STRIDE - 2) {
    throw new FormatError(
      NtfsCode.FixupMismatch,
      `${what} at ${hex(absOffset)}: update sequence array at ${hex(usaOfs)} with ${usaCount} entries does not fit a ${size}-byte record (expected ${strides + 1} entries)`,
      { what, offset: absOffset, usaOffset: usaOfs, usaCount, expected: strides + 1 },
    );
  }
  const usn0 = buf[usaOfs]!;
  const usn1 = buf[usaOfs + 1]!;
  for (let i = 0; i < strides; i++) {
    const tail = (i + 1) * MST_STRIDE - 2;
    if (buf[tail] !== usn0 || buf[tail + 1] !== usn1) {
      throw new FormatError(
        NtfsCode.FixupMismatch,
        `${what} at ${hex(absOffset)}: stride ${i} ends with ${hex(u16(buf, tail))}, expected update sequence number ${hex(usn0 | (usn1 << 8))} (torn or corrupt write)`,
        { what, offset: absOffset + tail, stride: i, expected: usn0 | (usn1 << 8), actual: u16(buf, tail) },
      );
    }
  }
  for (let i = 0; i < strides; i++) {
    const tail = (i + 1) * MST_STRIDE - 2;
    buf[tail] = buf[usaOfs + 2 + i * 2]!;
    buf[tail + 1] = buf[usaOfs + 3 + i * 2]!;
  }
}

/**
 * Protect a record for writing: bump the USN (skipping 0 and 0xFFFF like ntfs-3g), save each
 * stride's last two bytes into the array and stamp the USN there. Returns a protected copy; the
 * in-memory record stays unprotected (the post-write fixup is therefore implicit).
 */
export function protectForWrite(rec: Uint8Array): Uint8Array {
  const out = rec.slice();
  const usaOfs = u16(out, MST.usaOffset);
  const usaCount = u16(out, MST.usaCount);
  const strides = out.length / MST_STRIDE;
  if (usaCount !== strides + 1 || usaOfs + usaCount * 2 > MST_STRIDE - 2) {
    throw new FormatError(NtfsCode.FixupMismatch, `cannot protect a ${out.length}-byte record with ${usaCount} USA entries at ${hex(usaOfs)}`, {});
  }
  let usn = u16(out, usaOfs) + 1;
  if (usn === 0xffff || usn === 0x10000) usn = 1;
  out[usaOfs] = usn & 0xff;
  out[usaOfs + 1] = usn >>> 8;
  rec[usaOfs] = usn & 0xff;
  rec[usaOfs + 1] = usn >>> 8;
  for (let i = 0; i < strides; i++) {
    const tail = (i + 1) * MST_STRIDE - 2;
    out[usaOfs + 2 + i * 2] = out[tail]!;
    out[usaOfs + 3 + i * 2] = out[tail + 1]!;
    rec[usaOfs + 2 + i * 2] = out[tail]!;
    rec[usaOfs + 3 + i * 2] = out[tail + 1]!;
    out[tail] = usn & 0xff;
    out[tail + 1] = usn >>> 8;
  }
  return out;
}
