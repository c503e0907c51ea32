import { ByteView, ByteWriter, FormatError, hex } from '@guestkit/disk/binary';
import { NtfsCode } from '../errors.js';

/**
 * NTFS boot sector (BIOS parameter block + NTFS extension), offsets from the start of the volume.
 * Ref: Linux-NTFS "flatcap" docs (Boot sector); ntfs-3g include/ntfs-3g/bootsect.h / layout.h NTFS_BOOT_SECTOR.
 */
export const BOOT = {
  jump: 0x00, // u8[3]
  oemId: 0x03, // char[8] "NTFS    "
  bytesPerSector: 0x0b, // u16  BPB_BytsPerSec: 256..4096, power of two
  sectorsPerCluster: 0x0d, // u8   BPB_SecPerClus: 1..128, or 0xF4..0xFF meaning 2^(256-v) sectors (large clusters)
  reservedSectors: 0x0e, // u16  must be 0
  fats: 0x10, // u8   must be 0
  mediaDescriptor: 0x15, // u8
  hiddenSectors: 0x1c, // u32  partition start (informational)
  totalSectors: 0x28, // u64  sectors in the volume (one less than the partition: the backup boot sector)
  mftLcn: 0x30, // u64  first cluster of $MFT
  mftMirrLcn: 0x38, // u64  first cluster of $MFTMirr
  clustersPerMftRecord: 0x40, // i8   >0: clusters; <0: 2^-v bytes
  clustersPerIndexRecord: 0x44, // i8   same encoding
  volumeSerial: 0x48, // u64
  checksum: 0x50, // u32  unused (0)
  endMarker: 0x1fe, // u16  0xAA55
  SIZE: 0x200,
} as const;

/** Decoded and validated geometry. All sizes in bytes. */
export interface BootSector {
  readonly bytesPerSector: number;
  readonly clusterSize: number;
  readonly totalSectors: number;
  readonly clusterCount: number;
  readonly mftLcn: number;
  readonly mftMirrLcn: number;
  readonly mftRecordSize: number;
  readonly indexRecordSize: number;
  readonly serial: bigint;
}

const MIN_CLUSTER = 256;
const MAX_CLUSTER = 2 * 1024 * 1024;

function recordSize(raw: number, clusterSize: number): number | undefined {
  const v = raw > 127 ? raw - 256 : raw;
  if (v > 0) return v * clusterSize;
  if (v < 0 && v >= -31) return 2 ** -v;
  return undefined;
}

function bad(where: string, field: string, msg: string, actual: unknown): FormatError {
  return new FormatError(NtfsCode.BadBootSector, `NTFS boot sector at ${where}: ${field} ${msg}`, { where, field, actual: String(actual) });
}

/**
 * Parse and validate an NTFS boot sector (the first 512 bytes of the volume).
 * @param volumeSize device size in bytes, to check the sector count against.
 * @throws FormatError(NTFS_BAD_BOOT_SECTOR) when it is not NTFS or the geometry is impossible.
 */
export function decodeBootSector(bytes: Uint8Array, volumeSize: number, where = 'volume'): BootSector {
  const v = new ByteView(bytes, 0, `${where} boot sector`);
  v.need(0, BOOT.SIZE, 'boot sector');
  if (v.ascii(BOOT.oemId, 8) !== 'NTFS    ') throw bad(where, 'OEM id', 'is not "NTFS    "', v.ascii(BOOT.oemId, 8));
  const bps = v.u16(BOOT.bytesPerSector);
  if (bps < 256 || bps > 4096 || (bps & (bps - 1)) !== 0) throw bad(where, 'bytes per sector', `= ${bps}, expected a power of two in 256..4096`, bps);
  const spcRaw = v.u8(BOOT.sectorsPerCluster);
  let spc: number;
  if (spcRaw <= 0x80) spc = spcRaw;
  else if (spcRaw >= 0xf4) spc = 2 ** (256 - spcRaw);
  else throw bad(where, 'sectors per cluster', `= ${hex(spcRaw)} is not a valid encoding`, spcRaw);
  if (spc === 0 || (spc & (spc - 1)) !== 0) throw bad(where, 'sectors per cluster', `= ${spc}, expected a power of two`, spc);
  const clusterSize = bps * spc;
  if (clusterSize < MIN_CLUSTER || clusterSize > MAX_CLUSTER) throw bad(where, 'cluster size', `= ${clusterSize} is outside 256 B..2 MiB`, clusterSize);
  const totalSectors = v.u64n(BOOT.totalSectors, 'total sectors');
  if (totalSectors === 0) throw bad(where, 'total sectors', 'is 0', 0);
  if (volumeSize > 0 && totalSectors * bps > volumeSize + bps) {
    // One sector of slack: the backup boot sector lives just past the counted sectors.
    throw bad(where, 'total sectors', `× ${bps} = ${totalSectors * bps} exceeds the device size ${volumeSize}`, totalSectors);
  }
  const clusterCount = Math.floor((totalSectors * bps) / clusterSize);
  const mftLcn = v.u64n(BOOT.mftLcn, 'MFT LCN');
  const mftMirrLcn = v.u64n(BOOT.mftMirrLcn, 'MFTMirr LCN');
  if (mftLcn >= clusterCount) throw bad(where, '$MFT LCN', `= ${mftLcn} is past the last cluster ${clusterCount - 1}`, mftLcn);
  if (mftMirrLcn >= clusterCount) throw bad(where, '$MFTMirr LCN', `= ${mftMirrLcn} is past the last cluster ${clusterCount - 1}`, mftMirrLcn);
  const mftRecordSize = recordSize(v.u8(BOOT.clustersPerMftRecord), clusterSize);
  if (mftRecordSize === undefined || mftRecordSize < 256 || mftRecordSize > 65536 || (mftRecordSize & (mftRecordSize - 1)) !== 0 || mftRecordSize < bps) {
    throw bad(where, 'MFT record size', `(raw ${v.u8(BOOT.clustersPerMftRecord)}) = ${mftRecordSize}, expected a power of two 256..64 KiB`, mftRecordSize);
  }
  const indexRecordSize = recordSize(v.u8(BOOT.clustersPerIndexRecord), clusterSize);
  if (indexRecordSize === undefined || indexRecordSize < 256 || indexRecordSize > 65536 || (indexRecordSize & (indexRecordSize - 1)) !== 0) {
    throw bad(where, 'index record size', `(raw ${v.u8(BOOT.clustersPerIndexRecord)}) = ${indexRecordSize}, expected a power of two 256..64 KiB`, indexRecordSize);
  }
  return {
    bytesPerSector: bps,
    clusterSize,
    totalSectors,
    clusterCount,
    mftLcn,
    mftMirrLcn,
    mftRecordSize,
    indexRecordSize,
    serial: v.u64(BOOT.volumeSerial),
  };
}

/** The serial as libblkid/libguestfs print it: 16 upper-case hex digits of the little-endian u64. */
export function serialToUuid(serial: bigint): string {
  return serial.toString(16).toUpperCase().padStart(16, '0');
}

/** Encode the fields this package owns into a boot sector buffer (tests build volumes with it). */
export function encodeBootSectorFields(dst: Uint8Array, b: Omit<BootSector, 'clusterCount'>): void {
  const w = new ByteWriter(dst);
  w.ascii(BOOT.oemId, 'NTFS    ');
  w.u16(BOOT.bytesPerSector, b.bytesPerSector);
  const spc = b.clusterSize / b.bytesPerSector;
  w.u8(BOOT.sectorsPerCluster, spc <= 128 ? spc : 256 - Math.log2(spc));
  w.u64(BOOT.totalSectors, b.totalSectors);
  w.u64(BOOT.mftLcn, b.mftLcn);
  w.u64(BOOT.mftMirrLcn, b.mftMirrLcn);
  const enc = (size: number) => (size >= b.clusterSize ? size / b.clusterSize : 256 - Math.log2(size));
  w.u8(BOOT.clustersPerMftRecord, enc(b.mftRecordSize));
  w.u8(BOOT.clustersPerIndexRecord, enc(b.indexRecordSize));
  w.u64(BOOT.volumeSerial, b.serial);
  w.u16(BOOT.endMarker, 0xaa55);
}
