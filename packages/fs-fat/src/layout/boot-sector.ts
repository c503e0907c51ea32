import { ByteView, ByteWriter } from '@guestkit/disk/binary';

/**
 * FAT boot sector and BIOS parameter block (BPB), sector 0 of the volume.
 * Names are those of Microsoft's "FAT: General Overview of On-Disk Format" (fatgen103), §3.
 * Offsets in bytes from the start of the volume; all integers little-endian.
 */
export const BS = {
  /** BS_jmpBoot, 3 bytes: EB xx 90 or E9 xx xx. */
  jmpBoot: 0x00,
  /** BS_OEMName, 8 bytes. */
  oemName: 0x03,
  /** BPB_BytsPerSec, u16: 512, 1024, 2048 or 4096. */
  bytesPerSector: 0x0b,
  /** BPB_SecPerClus, u8: power of two 1..128. */
  sectorsPerCluster: 0x0d,
  /** BPB_RsvdSecCnt, u16 sectors before the first FAT (>= 1). */
  reservedSectors: 0x0e,
  /** BPB_NumFATs, u8 (normally 2). */
  numFats: 0x10,
  /** BPB_RootEntCnt, u16: 32-byte entries of the fixed FAT12/16 root directory; 0 on FAT32. */
  rootEntries: 0x11,
  /** BPB_TotSec16, u16 total sectors (0 if BPB_TotSec32 is used). */
  totalSectors16: 0x13,
  /** BPB_Media, u8: 0xF0 or 0xF8..0xFF; also in the low byte of FAT[0]. */
  media: 0x15,
  /** BPB_FATSz16, u16 sectors per FAT; 0 on FAT32 (which is how FAT32 is recognised). */
  fatSize16: 0x16,
  /** BPB_SecPerTrk, u16 (CHS geometry, informative). */
  sectorsPerTrack: 0x18,
  /** BPB_NumHeads, u16 (CHS geometry, informative). */
  heads: 0x1a,
  /** BPB_HiddSec, u32 sectors before the volume on its disk. */
  hiddenSectors: 0x1c,
  /** BPB_TotSec32, u32 total sectors when BPB_TotSec16 is 0. */
  totalSectors32: 0x20,
  /** Boot sector signature 0x55 0xAA at 510 (present on every mkfs/format output). */
  signature: 0x1fe,
  SIZE: 0x200,
} as const;

/** FAT32 extension of the BPB (fatgen103 §3.3). */
export const BS32 = {
  /** BPB_FATSz32, u32 sectors per FAT. */
  fatSize32: 0x24,
  /** BPB_ExtFlags, u16: bits 0-3 active FAT, bit 7 set = mirroring disabled. */
  extFlags: 0x28,
  /** BPB_FSVer, u16: must be 0.0. */
  fsVersion: 0x2a,
  /** BPB_RootClus, u32 first cluster of the root directory. */
  rootCluster: 0x2c,
  /** BPB_FSInfo, u16 sector number of the FSInfo structure. */
  fsInfoSector: 0x30,
  /** BPB_BkBootSec, u16 sector number of the backup boot sector (0 or 0xFFFF: none). */
  backupBootSector: 0x32,
  /** BPB_Reserved, 12 bytes of zero. */
  reserved: 0x34,
} as const;

/**
 * The extended BPB ("DOS 4.0 EBPB"): at 0x24 on FAT12/16 and at 0x40 on FAT32. Fields are
 * relative to that base.
 */
export const EBPB = {
  /** BS_DrvNum, u8: 0x80 for fixed disks, 0x00 for floppies. */
  driveNumber: 0x00,
  /**
   * BS_Reserved1, u8. Windows NT and Linux keep volume state here: bit 0 = dirty (not cleanly
   * unmounted), bit 1 = surface test requested. rust-fatfs writes only this byte to set or clear it.
   */
  flags: 0x01,
  /** BS_BootSig, u8: 0x29 (or 0x28) when the three fields below exist. */
  bootSignature: 0x02,
  /** BS_VolID, u32 volume serial number (printed "XXXX-XXXX", high word first). */
  volumeId: 0x03,
  /** BS_VolLab, 11 bytes OEM, space padded; "NO NAME    " when unset. */
  volumeLabel: 0x07,
  /** BS_FilSysType, 8 bytes: "FAT12   ", "FAT16   ", "FAT32   " (informative only). */
  fsType: 0x12,
  /** Start of the boot code. */
  bootCode: 0x1a,
} as const;

export const EBPB_BASE_FAT16 = 0x24;
export const EBPB_BASE_FAT32 = 0x40;
export const EXT_BOOT_SIGNATURES: readonly number[] = [0x28, 0x29];
/** BS_Reserved1 bit 0. */
export const VOLUME_DIRTY_BIT = 0x01;
export const NO_NAME_LABEL = 'NO NAME    ';

/** The raw BPB fields, before any validation. */
export interface RawBpb {
  jmpBoot0: number;
  oemName: string;
  bytesPerSector: number;
  sectorsPerCluster: number;
  reservedSectors: number;
  numFats: number;
  rootEntries: number;
  totalSectors16: number;
  media: number;
  fatSize16: number;
  sectorsPerTrack: number;
  heads: number;
  hiddenSectors: number;
  totalSectors32: number;
  fatSize32: number;
  extFlags: number;
  fsVersion: number;
  rootCluster: number;
  fsInfoSector: number;
  backupBootSector: number;
  signature: number;
}

/** Decode the raw BPB fields of a 512-byte (or larger) boot sector. */
export function decodeRawBpb(v: ByteView): RawBpb {
  return {
    jmpBoot0: v.u8(BS.jmpBoot, 'BS_jmpBoot'),
    oemName: v.latin1(BS.oemName, 8, 'BS_OEMName'),
    bytesPerSector: v.u16(BS.bytesPerSector, 'BPB_BytsPerSec'),
    sectorsPerCluster: v.u8(BS.sectorsPerCluster, 'BPB_SecPerClus'),
    reservedSectors: v.u16(BS.reservedSectors, 'BPB_RsvdSecCnt'),
    numFats: v.u8(BS.numFats, 'BPB_NumFATs'),
    rootEntries: v.u16(BS.rootEntries, 'BPB_RootEntCnt'),
    totalSectors16: v.u16(BS.totalSectors16, 'BPB_TotSec16'),
    media: v.u8(BS.media, 'BPB_Media'),
    fatSize16: v.u16(BS.fatSize16, 'BPB_FATSz16'),
    sectorsPerTrack: v.u16(BS.sectorsPerTrack, 'BPB_SecPerTrk'),
    heads: v.u16(BS.heads, 'BPB_NumHeads'),
    hiddenSectors: v.u32(BS.hiddenSectors, 'BPB_HiddSec'),
    totalSectors32: v.u32(BS.totalSectors32, 'BPB_TotSec32'),
    fatSize32: v.u32(BS32.fatSize32, 'BPB_FATSz32'),
    extFlags: v.u16(BS32.extFlags, 'BPB_ExtFlags'),
    fsVersion: v.u16(BS32.fsVersion, 'BPB_FSVer'),
    rootCluster: v.u32(BS32.rootCluster, 'BPB_RootClus'),
    fsInfoSector: v.u16(BS32.fsInfoSector, 'BPB_FSInfo'),
    backupBootSector: v.u16(BS32.backupBootSector, 'BPB_BkBootSec'),
    signature: v.u16(BS.signature, 'boot signature'),
  };
}

/** The extended BPB of either flavour, decoded. */
export interface ExtendedBpb {
  /** Absolute offset of the EBPB in the boot sector (0x24 or 0x40). */
  base: number;
  driveNumber: number;
  flags: number;
  bootSignature: number;
  volumeId: number;
  /** The 11 label bytes as stored. */
  volumeLabel: Uint8Array;
  fsType: string;
}

export function decodeExtendedBpb(v: ByteView, base: number): ExtendedBpb {
  return {
    base,
    driveNumber: v.u8(base + EBPB.driveNumber, 'BS_DrvNum'),
    flags: v.u8(base + EBPB.flags, 'BS_Reserved1'),
    bootSignature: v.u8(base + EBPB.bootSignature, 'BS_BootSig'),
    volumeId: v.u32(base + EBPB.volumeId, 'BS_VolID'),
    volumeLabel: v.copyAt(base + EBPB.volumeLabel, 11, 'BS_VolLab'),
    fsType: v.latin1(base + EBPB.fsType, 8, 'BS_FilSysType'),
  };
}

/** Everything mkfs writes into sector 0 (the caller zeroes the buffer first). */
export interface BootSectorFields {
  oemName: string;
  bytesPerSector: number;
  sectorsPerCluster: number;
  reservedSectors: number;
  numFats: number;
  rootEntries: number;
  totalSectors: number;
  media: number;
  fatSectors: number;
  sectorsPerTrack: number;
  heads: number;
  hiddenSectors: number;
  fat32?: { rootCluster: number; fsInfoSector: number; backupBootSector: number };
  driveNumber: number;
  volumeId: number;
  volumeLabel: Uint8Array;
  fsType: string;
  bootCode: Uint8Array;
}

/** Encode a boot sector into `out` (at least 512 bytes, zeroed by the caller). */
export function encodeBootSector(out: Uint8Array, f: BootSectorFields): void {
  const w = new ByteWriter(out);
  const base = f.fat32 ? EBPB_BASE_FAT32 : EBPB_BASE_FAT16;
  const codeAt = base + EBPB.bootCode;
  w.u8(0, 0xeb).u8(1, codeAt - 2).u8(2, 0x90);
  w.ascii(BS.oemName, f.oemName.padEnd(8, ' ').slice(0, 8), 'BS_OEMName');
  w.u16(BS.bytesPerSector, f.bytesPerSector, 'BPB_BytsPerSec');
  w.u8(BS.sectorsPerCluster, f.sectorsPerCluster, 'BPB_SecPerClus');
  w.u16(BS.reservedSectors, f.reservedSectors, 'BPB_RsvdSecCnt');
  w.u8(BS.numFats, f.numFats, 'BPB_NumFATs');
  w.u16(BS.rootEntries, f.rootEntries, 'BPB_RootEntCnt');
  if (f.totalSectors < 0x10000) w.u16(BS.totalSectors16, f.totalSectors, 'BPB_TotSec16');
  else w.u32(BS.totalSectors32, f.totalSectors, 'BPB_TotSec32');
  w.u8(BS.media, f.media, 'BPB_Media');
  w.u16(BS.sectorsPerTrack, f.sectorsPerTrack, 'BPB_SecPerTrk');
  w.u16(BS.heads, f.heads, 'BPB_NumHeads');
  w.u32(BS.hiddenSectors, f.hiddenSectors, 'BPB_HiddSec');
  if (f.fat32) {
    w.u16(BS.fatSize16, 0, 'BPB_FATSz16');
    w.u32(BS32.fatSize32, f.fatSectors, 'BPB_FATSz32');
    w.u16(BS32.extFlags, 0, 'BPB_ExtFlags');
    w.u16(BS32.fsVersion, 0, 'BPB_FSVer');
    w.u32(BS32.rootCluster, f.fat32.rootCluster, 'BPB_RootClus');
    w.u16(BS32.fsInfoSector, f.fat32.fsInfoSector, 'BPB_FSInfo');
    w.u16(BS32.backupBootSector, f.fat32.backupBootSector, 'BPB_BkBootSec');
  } else {
    w.u16(BS.fatSize16, f.fatSectors, 'BPB_FATSz16');
  }
  w.u8(base + EBPB.driveNumber, f.driveNumber, 'BS_DrvNum');
  w.u8(base + EBPB.flags, 0, 'BS_Reserved1');
  w.u8(base + EBPB.bootSignature, 0x29, 'BS_BootSig');
  w.u32(base + EBPB.volumeId, f.volumeId >>> 0, 'BS_VolID');
  w.bytesAt(base + EBPB.volumeLabel, f.volumeLabel, 'BS_VolLab');
  w.ascii(base + EBPB.fsType, f.fsType.padEnd(8, ' ').slice(0, 8), 'BS_FilSysType');
  w.bytesAt(codeAt, f.bootCode.subarray(0, BS.signature - codeAt), 'boot code');
  w.u8(BS.signature, 0x55).u8(BS.signature + 1, 0xaa);
}
