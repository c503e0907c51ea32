import { ByteView, ByteWriter } from '@guestkit/disk/binary';

/**
 * 32-byte short (8.3) directory entry (fatgen103 §6, "DIR_*"). Offsets from the entry start.
 */
export const DIR = {
  /** DIR_Name, 11 bytes OEM: 8 base + 3 extension, space padded. Byte 0: 0x00 end, 0xE5 free, 0x05 = a real 0xE5. */
  name: 0x00,
  /** DIR_Attr, u8 ATTR_* bits. */
  attr: 0x0b,
  /** DIR_NTRes, u8: Windows NT case bits (0x08 base lower case, 0x10 extension lower case). */
  ntRes: 0x0c,
  /** DIR_CrtTimeTenth, u8 0..199: creation time, units of 10 ms added to DIR_CrtTime. */
  crtTimeTenth: 0x0d,
  /** DIR_CrtTime, u16 DOS time (2-second units). */
  crtTime: 0x0e,
  /** DIR_CrtDate, u16 DOS date. */
  crtDate: 0x10,
  /** DIR_LstAccDate, u16 DOS date (no time). */
  lstAccDate: 0x12,
  /** DIR_FstClusHI, u16 high word of the first cluster (FAT32; 0 on FAT12/16). */
  fstClusHi: 0x14,
  /** DIR_WrtTime, u16 DOS time of last modification. */
  wrtTime: 0x16,
  /** DIR_WrtDate, u16 DOS date of last modification. */
  wrtDate: 0x18,
  /** DIR_FstClusLO, u16 low word of the first cluster. */
  fstClusLo: 0x1a,
  /** DIR_FileSize, u32 bytes (0 for directories). */
  fileSize: 0x1c,
  SIZE: 0x20,
} as const;

export const ATTR = {
  READ_ONLY: 0x01,
  HIDDEN: 0x02,
  SYSTEM: 0x04,
  VOLUME_ID: 0x08,
  DIRECTORY: 0x10,
  ARCHIVE: 0x20,
  /** READ_ONLY | HIDDEN | SYSTEM | VOLUME_ID: the attribute byte of a long-name slot. */
  LONG_NAME: 0x0f,
  /** The bits that matter when testing for LONG_NAME (fatgen103: ATTR_LONG_NAME_MASK). */
  LONG_NAME_MASK: 0x3f,
} as const;

/** DIR_NTRes bits (Windows NT "case" flags; only A-Z are affected). */
export const NTRES_BASE_LOWER = 0x08;
export const NTRES_EXT_LOWER = 0x10;

export const SLOT_END = 0x00;
export const SLOT_FREE = 0xe5;
/** DIR_Name[0] value meaning the name really starts with 0xE5 (a Kanji lead byte). */
export const SLOT_E5_ESCAPE = 0x05;

/** A decoded short entry. */
export interface ShortEntry {
  /** The 11 name bytes as stored (0x05 escape not undone). */
  name: Uint8Array;
  attr: number;
  ntRes: number;
  crtTimeTenth: number;
  crtTime: number;
  crtDate: number;
  lstAccDate: number;
  /** First cluster; FAT12/16 ignore the high word (some tools leave garbage there). */
  firstCluster: number;
  wrtTime: number;
  wrtDate: number;
  fileSize: number;
}

export function decodeShortEntry(v: ByteView, off: number, fat32: boolean): ShortEntry {
  const hi = fat32 ? v.u16(off + DIR.fstClusHi, 'DIR_FstClusHI') : 0;
  return {
    name: v.copyAt(off + DIR.name, 11, 'DIR_Name'),
    attr: v.u8(off + DIR.attr, 'DIR_Attr'),
    ntRes: v.u8(off + DIR.ntRes, 'DIR_NTRes'),
    crtTimeTenth: v.u8(off + DIR.crtTimeTenth, 'DIR_CrtTimeTenth'),
    crtTime: v.u16(off + DIR.crtTime, 'DIR_CrtTime'),
    crtDate: v.u16(off + DIR.crtDate, 'DIR_CrtDate'),
    lstAccDate: v.u16(off + DIR.lstAccDate, 'DIR_LstAccDate'),
    firstCluster: hi * 0x10000 + v.u16(off + DIR.fstClusLo, 'DIR_FstClusLO'),
    wrtTime: v.u16(off + DIR.wrtTime, 'DIR_WrtTime'),
    wrtDate: v.u16(off + DIR.wrtDate, 'DIR_WrtDate'),
    fileSize: v.u32(off + DIR.fileSize, 'DIR_FileSize'),
  };
}

/** Encode a short entry at `off` of `out`. */
export function encodeShortEntry(out: Uint8Array, off: number, e: ShortEntry): void {
  const w = new ByteWriter(out);
  w.bytesAt(off + DIR.name, e.name, 'DIR_Name');
  w.u8(off + DIR.attr, e.attr, 'DIR_Attr');
  w.u8(off + DIR.ntRes, e.ntRes, 'DIR_NTRes');
  w.u8(off + DIR.crtTimeTenth, e.crtTimeTenth, 'DIR_CrtTimeTenth');
  w.u16(off + DIR.crtTime, e.crtTime, 'DIR_CrtTime');
  w.u16(off + DIR.crtDate, e.crtDate, 'DIR_CrtDate');
  w.u16(off + DIR.lstAccDate, e.lstAccDate, 'DIR_LstAccDate');
  w.u16(off + DIR.fstClusHi, Math.floor(e.firstCluster / 0x10000), 'DIR_FstClusHI');
  w.u16(off + DIR.wrtTime, e.wrtTime, 'DIR_WrtTime');
  w.u16(off + DIR.wrtDate, e.wrtDate, 'DIR_WrtDate');
  w.u16(off + DIR.fstClusLo, e.firstCluster % 0x10000, 'DIR_FstClusLO');
  w.u32(off + DIR.fileSize, e.fileSize, 'DIR_FileSize');
}

/** Set only the first-cluster words of the entry at `off`. */
export function encodeFirstCluster(out: Uint8Array, off: number, cluster: number): void {
  new ByteWriter(out)
    .u16(off + DIR.fstClusHi, Math.floor(cluster / 0x10000), 'DIR_FstClusHI')
    .u16(off + DIR.fstClusLo, cluster % 0x10000, 'DIR_FstClusLO');
}
