import { ByteView, ByteWriter } from '@guestkit/disk/binary';
import { ATTR } from './dir-entry.js';

/**
 * VFAT long-name slot (fatgen103 §7, "LDIR_*"): 13 UTF-16 code units of the name, stored in
 * reverse order before the short entry they belong to. Offsets from the slot start.
 */
export const LDIR = {
  /** LDIR_Ord, u8: sequence number 1..20, 0x40 set on the last (physically first) slot. */
  ord: 0x00,
  /** LDIR_Name1, 5 UTF-16 code units. */
  name1: 0x01,
  /** LDIR_Attr, u8 = ATTR_LONG_NAME (0x0F). */
  attr: 0x0b,
  /** LDIR_Type, u8 = 0. */
  type: 0x0c,
  /** LDIR_Chksum, u8 checksum of the 11-byte short name (see lfnChecksum). */
  chksum: 0x0d,
  /** LDIR_Name2, 6 UTF-16 code units. */
  name2: 0x0e,
  /** LDIR_FstClusLO, u16 = 0. */
  fstClusLo: 0x1a,
  /** LDIR_Name3, 2 UTF-16 code units. */
  name3: 0x1c,
  SIZE: 0x20,
} as const;

export const LFN_LAST = 0x40;
export const LFN_SEQ_MASK = 0x1f;
export const LFN_CHARS_PER_SLOT = 13;
/** 255 UTF-16 units / 13 per slot, rounded up. */
export const LFN_MAX_SLOTS = 20;
/** Byte offsets of the 13 code units inside a slot, in name order. */
export const LFN_CHAR_OFFSETS: readonly number[] = [1, 3, 5, 7, 9, 14, 16, 18, 20, 22, 24, 28, 30];

/** fatgen103 §7.2 ChkSum: rotate right by one bit and add, over the 11 short-name bytes. */
export function lfnChecksum(shortName: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < 11; i++) sum = ((sum & 1) << 7) + (sum >> 1) + shortName[i]! & 0xff;
  return sum;
}

/** Read the 13 code units of a slot into `units` starting at `at`. */
export function decodeLfnChars(v: ByteView, off: number, units: number[], at: number): void {
  for (let i = 0; i < LFN_CHARS_PER_SLOT; i++) units[at + i] = v.u16(off + LFN_CHAR_OFFSETS[i]!, 'LDIR_Name');
}

/**
 * Encode the long-name slots for `name` (1..255 code units) in on-disk order (highest sequence
 * first) into `out` at `off`; returns the number of slots written.
 */
export function encodeLfnSlots(out: Uint8Array, off: number, name: string, checksum: number): number {
  const n = Math.ceil(name.length / LFN_CHARS_PER_SLOT);
  const w = new ByteWriter(out);
  for (let k = 0; k < n; k++) {
    const seq = n - k;
    const s = off + k * LDIR.SIZE;
    w.fill(s, LDIR.SIZE, 0);
    w.u8(s + LDIR.ord, seq === n ? seq | LFN_LAST : seq, 'LDIR_Ord');
    w.u8(s + LDIR.attr, ATTR.LONG_NAME, 'LDIR_Attr');
    w.u8(s + LDIR.chksum, checksum, 'LDIR_Chksum');
    for (let i = 0; i < LFN_CHARS_PER_SLOT; i++) {
      const idx = (seq - 1) * LFN_CHARS_PER_SLOT + i;
      // After the name: one NUL terminator, then 0xFFFF padding (fatgen103 §7.1).
      const unit = idx < name.length ? name.charCodeAt(idx) : idx === name.length ? 0x0000 : 0xffff;
      w.u16(s + LFN_CHAR_OFFSETS[i]!, unit, 'LDIR_Name');
    }
  }
  return n;
}
