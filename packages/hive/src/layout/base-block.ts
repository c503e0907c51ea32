import { ByteView, ByteWriter } from '@guestkit/disk/binary';

/**
 * REGF base block ("file header"): the first 4096 bytes of a primary file; transaction logs
 * keep a 512-byte partial copy in their first sector.
 * Offsets in bytes from the start of the file.
 * Ref: libyal libregf "File header"; M. Suhanov "Windows registry file format specification",
 * "Base block"; Windows name _HBASE_BLOCK.
 */
export const BASE = {
  signature: 0x00, //      4  "regf"
  sequence1: 0x04, //      u32 primary sequence number (incremented when a write starts)
  sequence2: 0x08, //      u32 secondary sequence number (incremented when it ends)
  lastWritten: 0x0c, //    u64 FILETIME
  majorVersion: 0x14, //   u32 always 1
  minorVersion: 0x18, //   u32 1..6 (1.1 = NT 3.1 layout; 3 = NT4+ standard; 5 = XP+ latest; 6 = Win10 delta)
  fileType: 0x1c, //       u32 0 primary, 1 log (XP..8.0), 2 log (NT..2000), 6 log (HvLE, 8.1+)
  fileFormat: 0x20, //     u32 1 = direct memory load
  rootCell: 0x24, //       u32 root nk offset relative to the hive bins data (0x1000)
  hiveBinsSize: 0x28, //   u32 bytes of hive bins data
  clustering: 0x2c, //     u32 clustering factor (sector size / 512), 1
  fileName: 0x30, //       64  UTF-16LE partial file name (debugging aid)
  rmId: 0x70, //           16  GUID (Vista+ CLFS resource manager)
  logId: 0x80, //          16  GUID
  flags: 0x90, //          u32 bit 0: KTM locked; bit 1: layered keys supported
  tmId: 0x94, //           16  GUID
  guidSignature: 0xa4, //  4   "rmtm"
  lastReorganized: 0xa8, // u64 FILETIME (Win8+)
  checksum: 0x1fc, //      u32 XOR-32 of the first 508 bytes (0 → 1, 0xffffffff → 0xfffffffe)
  SIZE: 0x1000, //         the whole block in a primary file
  LOG_COPY_SIZE: 0x200, // the partial copy kept in transaction logs
} as const;

/** Hive bins data starts right after the base block; every relative offset is added to this. */
export const HBIN_BASE = 0x1000;
/** "Nothing here" for any relative cell offset. */
export const CELL_NIL = 0xffffffff;

export const FileType = { Primary: 0, LogOld: 1, LogVeryOld: 2, LogNew: 6 } as const;

export interface BaseBlock {
  readonly signature: string;
  readonly sequence1: number;
  readonly sequence2: number;
  readonly lastWritten: bigint;
  readonly majorVersion: number;
  readonly minorVersion: number;
  readonly fileType: number;
  readonly fileFormat: number;
  /** Relative to HBIN_BASE. */
  readonly rootCell: number;
  readonly hiveBinsSize: number;
  readonly clustering: number;
  /** Decoded UTF-16LE up to the first NUL. */
  readonly fileName: string;
  readonly flags: number;
  readonly checksum: number;
  /** The checksum computed over the block as found. */
  readonly computedChecksum: number;
  /** Stored checksum equals the Windows checksum (or the raw XOR, which hivex computes). */
  readonly checksumOk: boolean;
}

/**
 * XOR-32 of the first 508 bytes, adjusted like Windows: a result of 0 is stored as 1 and
 * 0xffffffff as 0xfffffffe (Suhanov, "Base block" note 2). hivex does not adjust, which is
 * why `rawXor` is exposed too.
 */
export function baseBlockChecksum(v: ByteView): { windows: number; rawXor: number } {
  let x = 0;
  for (let i = 0; i < 508; i += 4) x ^= v.u32(i, 'base block');
  const raw = x >>> 0;
  const windows = raw === 0 ? 1 : raw === 0xffffffff ? 0xfffffffe : raw;
  return { windows, rawXor: raw };
}

/** Decode the base block fields from a view of at least 512 bytes. */
export function decodeBaseBlock(v: ByteView): BaseBlock {
  const signature = v.ascii(BASE.signature, 4, 'regf signature');
  const sum = baseBlockChecksum(v);
  const checksum = v.u32(BASE.checksum, 'checksum');
  let nameEnd = 0;
  const nameBytes = v.bytesAt(BASE.fileName, 64, 'file name');
  while (nameEnd + 1 < 64 && (nameBytes[nameEnd] !== 0 || nameBytes[nameEnd + 1] !== 0)) nameEnd += 2;
  return {
    signature,
    sequence1: v.u32(BASE.sequence1, 'sequence1'),
    sequence2: v.u32(BASE.sequence2, 'sequence2'),
    lastWritten: v.u64(BASE.lastWritten, 'last written'),
    majorVersion: v.u32(BASE.majorVersion, 'major version'),
    minorVersion: v.u32(BASE.minorVersion, 'minor version'),
    fileType: v.u32(BASE.fileType, 'file type'),
    fileFormat: v.u32(BASE.fileFormat, 'file format'),
    rootCell: v.u32(BASE.rootCell, 'root cell'),
    hiveBinsSize: v.u32(BASE.hiveBinsSize, 'hive bins size'),
    clustering: v.u32(BASE.clustering, 'clustering factor'),
    fileName: v.utf16(BASE.fileName, nameEnd, 'file name'),
    flags: v.u32(BASE.flags, 'flags'),
    checksum,
    computedChecksum: sum.windows,
    checksumOk: checksum === sum.windows || checksum === sum.rawXor,
  };
}

/**
 * Recompute and store the checksum of a base block being written. If the raw XOR would be 0 or
 * 0xffffffff (where Windows and hivex disagree), a byte in the reserved tail (offset 0x1f8) is
 * nudged first so that both accept the block.
 */
export function writeBaseBlockChecksum(bytes: Uint8Array): number {
  const w = new ByteWriter(bytes);
  const v = new ByteView(bytes, 0, 'base block');
  let sum = baseBlockChecksum(v);
  if (sum.rawXor === 0 || sum.rawXor === 0xffffffff) {
    w.u8(0x1f8, (v.u8(0x1f8) ^ 1) & 0xff, 'checksum tweak');
    sum = baseBlockChecksum(v);
  }
  w.u32(BASE.checksum, sum.windows, 'checksum');
  return sum.windows;
}
