import { ByteView, FormatError, UnsupportedError, hex } from '@guestkit/disk/binary';
import { FatCode } from './errors.js';
import {
  BS, BS32, EBPB_BASE_FAT16, EBPB_BASE_FAT32, EXT_BOOT_SIGNATURES, decodeExtendedBpb, decodeRawBpb,
  type ExtendedBpb,
} from './layout/boot-sector.js';

export type FatType = 'fat12' | 'fat16' | 'fat32';

/**
 * Cluster-count limits (fatgen103 §3.5 and the Linux driver): a volume with fewer than 4085
 * clusters is FAT12, fewer than 65525 FAT16. FAT32 is recognised by BPB_FATSz16 == 0 (as fastfat,
 * Linux and dosfstools do), and may have fewer clusters (mkfs.fat -F 32 on small media).
 */
export const FAT12_MAX_CLUSTERS = 4084;
export const FAT16_MAX_CLUSTERS = 65524;
/** FAT32 entries are 28 bits; 0x0FFFFFF7 and up are BAD/EOC, so the last data cluster is 0x0FFFFFF6. */
export const FAT32_MAX_CLUSTERS = 0x0ffffff6 - 1;

/** Everything derived from a validated boot sector. Byte offsets are from the volume start. */
export interface Geometry {
  fatType: FatType;
  /** 12, 16 or 32. */
  fatBits: number;
  bytesPerSector: number;
  sectorsPerCluster: number;
  /** Cluster size in bytes. */
  clusterSize: number;
  reservedSectors: number;
  numFats: number;
  /** FAT12/16 fixed root directory entries (0 on FAT32). */
  rootEntries: number;
  totalSectors: number;
  /** Sectors per FAT copy. */
  fatSectors: number;
  media: number;
  hiddenSectors: number;
  sectorsPerTrack: number;
  heads: number;
  /** Number of data clusters; valid cluster numbers are 2..maxCluster. */
  clusterCount: number;
  maxCluster: number;
  /** Offset of FAT copy 0 and the size of one copy, in bytes. */
  fatOffset: number;
  fatBytes: number;
  /** The FAT that is read (FAT32 with mirroring disabled: BPB_ExtFlags bits 0-3; else 0). */
  activeFat: number;
  /** False when FAT32 BPB_ExtFlags bit 7 says only the active FAT is maintained. */
  mirrored: boolean;
  /** FAT12/16 fixed root directory position and size in bytes (0 on FAT32). */
  rootDirOffset: number;
  rootDirBytes: number;
  /** Offset of cluster 2. */
  dataOffset: number;
  /** Bytes the volume occupies according to the BPB. */
  volumeBytes: number;
  /** FAT32 root directory first cluster (0 on FAT12/16). */
  rootCluster: number;
  /** FAT32 FSInfo sector, or undefined when the BPB names none. */
  fsInfoSector: number | undefined;
  backupBootSector: number | undefined;
  /** The extended BPB when its signature (0x28/0x29) is present. */
  ebpb: ExtendedBpb | undefined;
  /** Absolute offset of the BS_Reserved1 state byte (only meaningful with an EBPB). */
  flagsOffset: number;
}

function bad(where: string, field: string, offset: number, actual: number | string, expected: string): FormatError {
  return new FormatError(
    FatCode.BadBpb,
    `${where}: FAT boot sector field ${field} at ${hex(offset)} is ${actual}, expected ${expected}`,
    { where, field, offset, actual, expected },
  );
}

const isPow2 = (n: number): boolean => n > 0 && (n & (n - 1)) === 0;

/** True when the boot sector carries the exFAT OEM name ("EXFAT   " at 3). */
export function isExfatBootSector(sector: Uint8Array): boolean {
  const v = new ByteView(sector);
  return v.has(3, 8) && v.ascii(3, 8) === 'EXFAT   ';
}

/**
 * Validate a FAT boot sector (at least 512 bytes) and derive the volume geometry.
 * @throws UnsupportedError(FAT_EXFAT) for exFAT, FormatError(FAT_NOT_FAT | FAT_BAD_BPB) otherwise.
 */
export function parseBootSector(sector: Uint8Array, where: string): Geometry {
  const v = new ByteView(sector, 0, `${where} boot sector`);
  if (sector.length < BS.SIZE) {
    throw new FormatError(FatCode.NotFat, `${where}: ${sector.length} bytes is too small for a FAT boot sector`, { where });
  }
  if (isExfatBootSector(sector)) {
    throw new UnsupportedError(FatCode.Exfat, 'unsupported: exFAT', { where });
  }
  const oem = v.ascii(3, 8);
  if (oem === 'NTFS    ') {
    throw new FormatError(FatCode.NotFat, `${where}: boot sector OEM name is "NTFS    " (an NTFS volume, not FAT)`, { where, oem });
  }
  const r = decodeRawBpb(v);
  const fat16Type = v.ascii(EBPB_BASE_FAT16 + 0x12, 8);
  const fat32Type = v.ascii(EBPB_BASE_FAT32 + 0x12, 8);
  const hasMagic = r.jmpBoot0 === 0xeb || r.jmpBoot0 === 0xe9 || fat16Type.startsWith('FAT') || fat32Type.startsWith('FAT');
  if (!hasMagic) {
    throw new FormatError(
      FatCode.NotFat,
      `${where}: not a FAT boot sector (jump byte ${hex(r.jmpBoot0)} at 0x0, no "FAT" file-system type at 0x36 or 0x52)`,
      { where, jump: r.jmpBoot0 },
    );
  }
  if (!isPow2(r.bytesPerSector) || r.bytesPerSector < 512 || r.bytesPerSector > 4096) {
    throw bad(where, 'BPB_BytsPerSec', BS.bytesPerSector, r.bytesPerSector, '512, 1024, 2048 or 4096');
  }
  if (!isPow2(r.sectorsPerCluster)) {
    throw bad(where, 'BPB_SecPerClus', BS.sectorsPerCluster, r.sectorsPerCluster, 'a power of two 1..128');
  }
  if (r.reservedSectors < 1) throw bad(where, 'BPB_RsvdSecCnt', BS.reservedSectors, r.reservedSectors, '>= 1');
  if (r.numFats < 1) throw bad(where, 'BPB_NumFATs', BS.numFats, r.numFats, '>= 1');
  if (!(r.media === 0xf0 || r.media >= 0xf8)) throw bad(where, 'BPB_Media', BS.media, hex(r.media), '0xf0 or 0xf8..0xff');
  const totalSectors = r.totalSectors16 !== 0 ? r.totalSectors16 : r.totalSectors32;
  if (totalSectors === 0) throw bad(where, 'BPB_TotSec16/BPB_TotSec32', BS.totalSectors16, 0, 'a non-zero sector count');
  const isFat32 = r.fatSize16 === 0;
  const fatSectors = isFat32 ? r.fatSize32 : r.fatSize16;
  if (fatSectors === 0) throw bad(where, 'BPB_FATSz32', BS32.fatSize32, 0, 'a non-zero FAT size');
  const bps = r.bytesPerSector;
  const rootEntries = isFat32 ? 0 : r.rootEntries;
  if (!isFat32) {
    if (rootEntries === 0) throw bad(where, 'BPB_RootEntCnt', BS.rootEntries, 0, '> 0 on FAT12/16');
    // Linux rejects a root directory that does not fill whole sectors.
    if ((rootEntries * 32) % bps !== 0) {
      throw bad(where, 'BPB_RootEntCnt', BS.rootEntries, rootEntries, `a multiple of ${bps / 32} (whole sectors)`);
    }
  }
  const rootDirSectors = (rootEntries * 32) / bps;
  const firstDataSector = r.reservedSectors + r.numFats * fatSectors + rootDirSectors;
  if (firstDataSector >= totalSectors) {
    throw bad(where, 'BPB_TotSec', BS.totalSectors32, totalSectors, `more than the ${firstDataSector} sectors of reserved area, FATs and root directory`);
  }
  const clusterCount = Math.floor((totalSectors - firstDataSector) / r.sectorsPerCluster);
  if (clusterCount < 1) throw bad(where, 'BPB_SecPerClus', BS.sectorsPerCluster, r.sectorsPerCluster, 'at least one data cluster');
  let fatType: FatType;
  if (isFat32) {
    fatType = 'fat32';
    if (clusterCount > FAT32_MAX_CLUSTERS) throw bad(where, 'cluster count', BS.totalSectors32, clusterCount, `<= ${FAT32_MAX_CLUSTERS} for FAT32`);
  } else if (clusterCount <= FAT12_MAX_CLUSTERS) {
    fatType = 'fat12';
  } else if (clusterCount <= FAT16_MAX_CLUSTERS) {
    fatType = 'fat16';
  } else {
    throw bad(where, 'cluster count', BS.totalSectors16, clusterCount, `<= ${FAT16_MAX_CLUSTERS} when BPB_FATSz16 is set (FAT16)`);
  }
  const fatBits = fatType === 'fat12' ? 12 : fatType === 'fat16' ? 16 : 32;
  const fatBytes = fatSectors * bps;
  const entriesInFat = Math.floor((fatBytes * 8) / fatBits);
  if (entriesInFat < clusterCount + 2) {
    throw bad(where, fatType === 'fat32' ? 'BPB_FATSz32' : 'BPB_FATSz16', isFat32 ? BS32.fatSize32 : BS.fatSize16, fatSectors,
      `room for ${clusterCount + 2} FAT entries (has ${entriesInFat})`);
  }
  let rootCluster = 0;
  let fsInfoSector: number | undefined;
  let backupBootSector: number | undefined;
  let activeFat = 0;
  let mirrored = true;
  if (isFat32) {
    rootCluster = r.rootCluster;
    if (rootCluster < 2 || rootCluster > clusterCount + 1) {
      throw bad(where, 'BPB_RootClus', BS32.rootCluster, rootCluster, `a cluster in 2..${clusterCount + 1}`);
    }
    if (r.fsInfoSector !== 0 && r.fsInfoSector !== 0xffff && r.fsInfoSector < r.reservedSectors) fsInfoSector = r.fsInfoSector;
    if (r.backupBootSector !== 0 && r.backupBootSector !== 0xffff && r.backupBootSector < r.reservedSectors) backupBootSector = r.backupBootSector;
    if (r.extFlags & 0x80) {
      mirrored = false;
      activeFat = r.extFlags & 0x0f;
      if (activeFat >= r.numFats) throw bad(where, 'BPB_ExtFlags', BS32.extFlags, hex(r.extFlags), `an active FAT below BPB_NumFATs (${r.numFats})`);
    }
  }
  const ebpbBase = isFat32 ? EBPB_BASE_FAT32 : EBPB_BASE_FAT16;
  const ext = decodeExtendedBpb(v, ebpbBase);
  const ebpb = EXT_BOOT_SIGNATURES.includes(ext.bootSignature) ? ext : undefined;
  return {
    fatType,
    fatBits,
    bytesPerSector: bps,
    sectorsPerCluster: r.sectorsPerCluster,
    clusterSize: bps * r.sectorsPerCluster,
    reservedSectors: r.reservedSectors,
    numFats: r.numFats,
    rootEntries,
    totalSectors,
    fatSectors,
    media: r.media,
    hiddenSectors: r.hiddenSectors,
    sectorsPerTrack: r.sectorsPerTrack,
    heads: r.heads,
    clusterCount,
    maxCluster: clusterCount + 1,
    fatOffset: r.reservedSectors * bps,
    fatBytes,
    activeFat,
    mirrored,
    rootDirOffset: isFat32 ? 0 : (r.reservedSectors + r.numFats * fatSectors) * bps,
    rootDirBytes: rootEntries * 32,
    dataOffset: firstDataSector * bps,
    volumeBytes: totalSectors * bps,
    rootCluster,
    fsInfoSector,
    backupBootSector,
    ebpb,
    flagsOffset: ebpbBase + 0x01,
  };
}
