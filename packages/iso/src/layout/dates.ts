import type { ByteWriter } from '@guestkit/disk/binary';

/**
 * ISO 9660 date fields. We always write UTC (offset 0), as xorriso does with `-always_gmt`
 * semantics, so an image does not depend on the build machine's time zone.
 */

/** Size of the "recording date and time" of a directory record (ECMA-119 §9.1.5) and of RRIP TF short form. */
export const DATE7_SIZE = 7;
/** Size of a volume descriptor date (ECMA-119 §8.4.26.1). */
export const DATE17_SIZE = 17;

/**
 * 7-byte date (ECMA-119 §9.1.5): years since 1900, month, day, hour, minute, second, GMT offset
 * in 15-minute units. Years outside 1900..2155 are clamped (the field is one unsigned byte).
 */
export function writeDate7(w: ByteWriter, off: number, ms: number, field = 'date7'): void {
  const d = new Date(clampMs(ms, Date.UTC(1900, 0, 1), Date.UTC(2155, 11, 31, 23, 59, 59)));
  w.u8(off, d.getUTCFullYear() - 1900, field);
  w.u8(off + 1, d.getUTCMonth() + 1, field);
  w.u8(off + 2, d.getUTCDate(), field);
  w.u8(off + 3, d.getUTCHours(), field);
  w.u8(off + 4, d.getUTCMinutes(), field);
  w.u8(off + 5, d.getUTCSeconds(), field);
  w.u8(off + 6, 0, field);
}

/**
 * 17-byte date (ECMA-119 §8.4.26.1): "YYYYMMDDHHMMSSCC" in ASCII digits (CC = hundredths) and a
 * GMT offset byte. `undefined` writes the "not specified" value: sixteen '0' digits and offset 0.
 */
export function writeDate17(w: ByteWriter, off: number, ms: number | undefined, field = 'date17'): void {
  let s: string;
  if (ms === undefined) {
    s = '0000000000000000';
  } else {
    const d = new Date(clampMs(ms, Date.UTC(1, 0, 1), Date.UTC(9999, 11, 31, 23, 59, 59)));
    const p = (n: number, l: number) => String(n).padStart(l, '0');
    s = p(d.getUTCFullYear(), 4) + p(d.getUTCMonth() + 1, 2) + p(d.getUTCDate(), 2) + p(d.getUTCHours(), 2) +
      p(d.getUTCMinutes(), 2) + p(d.getUTCSeconds(), 2) + p(Math.floor(d.getUTCMilliseconds() / 10), 2);
  }
  w.ascii(off, s, field);
  w.u8(off + 16, 0, field);
}

function clampMs(ms: number, lo: number, hi: number): number {
  if (!Number.isFinite(ms)) return lo;
  return Math.min(hi, Math.max(lo, ms));
}
