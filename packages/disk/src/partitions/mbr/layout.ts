/**
 * MBR / EBR sector layout (the IBM PC partition table; Wikipedia "Master boot record",
 * "Extended boot record"; Linux block/partitions/msdos.c and util-linux libfdisk/src/dos.c for
 * the reading rules). Little-endian. Sector-size independent: the table lives in the first
 * 512 bytes of the sector whatever the sector size.
 */
import { ByteView, ByteWriter } from '../../binary/index.js';

export const MBR = {
  bootCode: 0x000, //       440 bytes of boot code
  diskSignature: 0x1b8, //  u32 disk signature (Windows "disk ID")
  reserved: 0x1bc, //       u16, 0 (0x5a5a = copy-protected)
  entries: 0x1be, //        4 entries of 16 bytes
  signature: 0x1fe, //      0x55 0xaa
  SIZE: 0x200,
} as const;

export const MBR_ENTRY = {
  status: 0, //    u8  0x80 = active (bootable)
  chsFirst: 1, //  3 bytes CHS of the first sector
  type: 4, //      u8  partition type (system id)
  chsLast: 5, //   3 bytes CHS of the last sector
  lbaStart: 8, //  u32 first sector (relative: to the disk, the EBR, or the extended partition)
  sectors: 12, //  u32 number of sectors
  SIZE: 16,
} as const;

/** Extended-partition container types: DOS (0x05), Win95 LBA (0x0f), Linux (0x85). */
export const EXTENDED_TYPES: ReadonlySet<number> = new Set([0x05, 0x0f, 0x85]);
/** GPT protective MBR type. */
export const PROTECTIVE_TYPE = 0xee;

export interface MbrEntry {
  status: number;
  type: number;
  lbaStart: number;
  sectors: number;
  /** (encode only) absolute LBA used for the CHS fields when lbaStart is relative (EBR entries). */
  lbaAbsForChs?: number;
}

export function hasBootSignature(v: ByteView): boolean {
  return v.u8(MBR.signature) === 0x55 && v.u8(MBR.signature + 1) === 0xaa;
}

export function decodeEntry(v: ByteView, slot: number): MbrEntry {
  const o = MBR.entries + slot * MBR_ENTRY.SIZE;
  return {
    status: v.u8(o + MBR_ENTRY.status, 'mbr entry status'),
    type: v.u8(o + MBR_ENTRY.type, 'mbr entry type'),
    lbaStart: v.u32(o + MBR_ENTRY.lbaStart, 'mbr entry lba start'),
    sectors: v.u32(o + MBR_ENTRY.sectors, 'mbr entry sectors'),
  };
}

/** CHS tuple for an LBA with the usual 255 heads × 63 sectors geometry, clamped to 1023/254/63. */
export function chsBytes(lba: number): [number, number, number] {
  const heads = 255;
  const spt = 63;
  let c = Math.floor(lba / (heads * spt));
  let h = Math.floor(lba / spt) % heads;
  let s = (lba % spt) + 1;
  if (c > 1023) {
    c = 1023;
    h = 254;
    s = 63;
  }
  return [h, (((c >> 8) & 0x03) << 6) | s, c & 0xff];
}

export function encodeEntry(w: ByteWriter, slot: number, e: MbrEntry): void {
  const o = MBR.entries + slot * MBR_ENTRY.SIZE;
  if (e.sectors === 0 && e.type === 0) {
    w.fill(o, MBR_ENTRY.SIZE, 0, 'mbr entry');
    return;
  }
  const first = chsBytes(e.lbaAbsForChs ?? e.lbaStart);
  const last = chsBytes((e.lbaAbsForChs ?? e.lbaStart) + e.sectors - 1);
  w.u8(o + MBR_ENTRY.status, e.status, 'status');
  w.bytesAt(o + MBR_ENTRY.chsFirst, Uint8Array.from(first), 'chs first');
  w.u8(o + MBR_ENTRY.type, e.type, 'type');
  w.bytesAt(o + MBR_ENTRY.chsLast, Uint8Array.from(last), 'chs last');
  w.u32(o + MBR_ENTRY.lbaStart, e.lbaStart, 'lba start');
  w.u32(o + MBR_ENTRY.sectors, e.sectors, 'sectors');
}
