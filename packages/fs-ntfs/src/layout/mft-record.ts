/**
 * MFT record header (FILE_RECORD_SEGMENT_HEADER / ntfs-3g MFT_RECORD), offsets from the record start.
 * Ref: ntfs-3g include/ntfs-3g/layout.h; Linux-NTFS docs "FILE record".
 */
export const FILE_REC = {
  magic: 0x00, // "FILE" ("BAAD" after a torn write)
  usaOffset: 0x04, // u16
  usaCount: 0x06, // u16  1 + size/512
  lsn: 0x08, // u64  $LogFile sequence number
  sequence: 0x10, // u16  reuse count
  linkCount: 0x12, // u16  number of $FILE_NAME attributes that are index entries (hard links, DOS names count)
  attrsOffset: 0x14, // u16  first attribute, 8-aligned
  flags: 0x16, // u16  MFT_RECORD_IN_USE 1, IS_DIRECTORY 2, IS_4 4 ($Extend), IS_VIEW_INDEX 8
  bytesInUse: 0x18, // u32
  bytesAllocated: 0x1c, // u32  == record size
  baseRecord: 0x20, // u64  MFT reference of the base record (0 for a base record)
  nextAttrInstance: 0x28, // u16
  reserved: 0x2a, // u16  (NTFS 3.1)
  recordNumber: 0x2c, // u32  (NTFS 3.1) this record's number, low 32 bits
  usaV31: 0x30, // NTFS 3.1 update sequence array
  usaV30: 0x2a, // NTFS 3.0 update sequence array
} as const;

export const RecordFlags = { InUse: 0x1, Directory: 0x2, Extend: 0x4, ViewIndex: 0x8 } as const;

/** Attribute type codes (ATTR_TYPES). */
export const AttrType = {
  StandardInformation: 0x10,
  AttributeList: 0x20,
  FileName: 0x30,
  ObjectId: 0x40,
  SecurityDescriptor: 0x50,
  VolumeName: 0x60,
  VolumeInformation: 0x70,
  Data: 0x80,
  IndexRoot: 0x90,
  IndexAllocation: 0xa0,
  Bitmap: 0xb0,
  ReparsePoint: 0xc0,
  EaInformation: 0xd0,
  Ea: 0xe0,
  LoggedUtilityStream: 0x100,
  End: 0xffffffff,
} as const;

/** Common attribute header (ATTR_RECORD), offsets from the attribute start. */
export const ATTR = {
  type: 0x00, // u32
  length: 0x04, // u32  whole attribute, 8-aligned
  nonResident: 0x08, // u8
  nameLength: 0x09, // u8   in UTF-16 code units
  nameOffset: 0x0a, // u16
  flags: 0x0c, // u16  COMPRESSED 0x0001 (mask 0x00ff), ENCRYPTED 0x4000, SPARSE 0x8000
  instance: 0x0e, // u16
  // resident
  valueLength: 0x10, // u32
  valueOffset: 0x14, // u16
  residentFlags: 0x16, // u8  RESIDENT_ATTR_IS_INDEXED 1
  RESIDENT_HEADER: 0x18,
  // non-resident
  lowestVcn: 0x10, // i64
  highestVcn: 0x18, // i64
  mappingPairsOffset: 0x20, // u16
  compressionUnit: 0x22, // u8  log2(clusters per compression unit), 0 = not compressed
  allocatedSize: 0x28, // i64  bytes
  dataSize: 0x30, // i64  bytes
  initializedSize: 0x38, // i64  bytes
  compressedSize: 0x40, // i64  only when compressed or sparse
  NONRESIDENT_HEADER: 0x40,
  NONRESIDENT_COMPRESSED_HEADER: 0x48,
} as const;

export const AttrFlags = { CompressionMask: 0x00ff, Encrypted: 0x4000, Sparse: 0x8000 } as const;

/** $STANDARD_INFORMATION, offsets from the value start. */
export const STD_INFO = {
  creationTime: 0x00,
  lastDataChangeTime: 0x08,
  lastMftChangeTime: 0x10,
  lastAccessTime: 0x18,
  fileAttributes: 0x20, // u32 FILE_ATTR_*
  maxVersions: 0x24,
  versionNumber: 0x28,
  classId: 0x2c,
  ownerId: 0x30, // u32 (NTFS 3.x)
  securityId: 0x34, // u32 (NTFS 3.x) key into $Secure:$SII
  quotaCharged: 0x38, // u64
  usn: 0x40, // u64
  SIZE_V1: 0x30,
  SIZE_V3: 0x48,
} as const;

/** FILE_ATTR_* bits (Windows FILE_ATTRIBUTE_*, plus NTFS-internal ones). */
export const FileAttr = {
  ReadOnly: 0x1,
  Hidden: 0x2,
  System: 0x4,
  Directory: 0x10,
  Archive: 0x20,
  Normal: 0x80,
  Temporary: 0x100,
  Sparse: 0x200,
  ReparsePoint: 0x400,
  Compressed: 0x800,
  Offline: 0x1000,
  NotContentIndexed: 0x2000,
  Encrypted: 0x4000,
  /** In $FILE_NAME: the file has an $I30 index (is a directory). */
  DupFileNameIndexPresent: 0x10000000,
  /** In $FILE_NAME: the file has a view index. */
  DupViewIndexPresent: 0x20000000,
} as const;

/** $FILE_NAME value, offsets from the value start (also the key of $I30 index entries). */
export const FILE_NAME = {
  parentRef: 0x00, // u64 MFT reference
  creationTime: 0x08,
  lastDataChangeTime: 0x10,
  lastMftChangeTime: 0x18,
  lastAccessTime: 0x20,
  allocatedSize: 0x28, // i64
  dataSize: 0x30, // i64
  fileAttributes: 0x38, // u32
  reparseTag: 0x3c, // u32 (reparse tag if REPARSE_POINT, else EA size)
  nameLength: 0x40, // u8 code units
  namespace: 0x41, // u8 POSIX 0, WIN32 1, DOS 2, WIN32_AND_DOS 3
  name: 0x42,
  HEADER: 0x42,
} as const;

export const Namespace = { Posix: 0, Win32: 1, Dos: 2, Win32AndDos: 3 } as const;

/** Attribute list entry (ATTR_LIST_ENTRY), offsets from the entry start. */
export const ATTR_LIST = {
  type: 0x00, // u32
  length: 0x04, // u16
  nameLength: 0x06, // u8
  nameOffset: 0x07, // u8
  lowestVcn: 0x08, // i64
  mftRef: 0x10, // u64
  instance: 0x18, // u16
  name: 0x1a,
  HEADER: 0x1a,
} as const;

/** $VOLUME_INFORMATION value. */
export const VOLUME_INFO = { majorVersion: 0x08, minorVersion: 0x09, flags: 0x0a, SIZE: 0x0c } as const;

/** $Volume flags (VOLUME_FLAGS). */
export const VolumeFlags = {
  Dirty: 0x0001,
  ResizeLogFile: 0x0002,
  UpgradeOnMount: 0x0004,
  MountedOnNt4: 0x0008,
  DeleteUsnUnderway: 0x0010,
  RepairObjectId: 0x0020,
  ChkdskUnderway: 0x4000,
  ModifiedByChkdsk: 0x8000,
} as const;

/** System file record numbers. */
export const SystemFile = {
  Mft: 0,
  MftMirr: 1,
  LogFile: 2,
  Volume: 3,
  AttrDef: 4,
  Root: 5,
  Bitmap: 6,
  Boot: 7,
  BadClus: 8,
  Secure: 9,
  UpCase: 10,
  Extend: 11,
  FirstUser: 16,
} as const;

/** Split an MFT reference into record number (48 bits) and sequence (16 bits), without bitwise ops on >32-bit values. */
export function splitRef(ref: bigint): { record: number; sequence: number } {
  return { record: Number(ref & 0xffffffffffffn), sequence: Number(ref >> 48n) };
}

export function makeRef(record: number, sequence: number): bigint {
  return (BigInt(sequence) << 48n) | BigInt(record);
}
