/**
 * Index structures ($I30 directories and view indexes). Ref: ntfs-3g layout.h INDEX_ROOT,
 * INDEX_HEADER, INDEX_BLOCK, INDEX_ENTRY; Linux-NTFS docs "Index record".
 */
export const INDEX_ROOT = {
  attrType: 0x00, // u32  indexed attribute type (0x30 for $I30)
  collationRule: 0x04, // u32  COLLATION_FILE_NAME = 1
  indexBlockSize: 0x08, // u32  bytes per index block
  clustersPerIndexBlock: 0x0c, // u8 (or log2 of 512-byte units when blocks are smaller than a cluster)
  header: 0x10, // INDEX_HEADER
  SIZE: 0x20,
} as const;

/** INDEX_HEADER: offsets are relative to the header itself. */
export const INDEX_HEADER = {
  entriesOffset: 0x00, // u32  first entry, 8-aligned
  indexLength: 0x04, // u32  bytes in use (header + entries)
  allocatedSize: 0x08, // u32
  flags: 0x0c, // u8   LARGE_INDEX 1 (has sub-nodes)
  SIZE: 0x10,
} as const;

/** INDEX_BLOCK ("INDX"), offsets from the block start. */
export const INDEX_BLOCK = {
  magic: 0x00,
  usaOffset: 0x04,
  usaCount: 0x06,
  lsn: 0x08,
  vcn: 0x10, // i64 this block's VCN in the index allocation
  header: 0x18, // INDEX_HEADER
  usa: 0x28,
} as const;

/** INDEX_ENTRY, offsets from the entry start. */
export const INDEX_ENTRY = {
  fileRef: 0x00, // u64 MFT reference ($I30); view indexes use data offset/length here
  dataOffset: 0x00, // u16 (view index)
  dataLength: 0x02, // u16 (view index)
  length: 0x08, // u16 entry length, 8-aligned
  keyLength: 0x0a, // u16
  flags: 0x0c, // u16 NODE 1 (sub-node VCN at the end), END 2
  key: 0x10,
  HEADER: 0x10,
} as const;

export const IndexEntryFlags = { Node: 1, End: 2 } as const;
export const IndexHeaderFlags = { LargeIndex: 1 } as const;
export const COLLATION_FILE_NAME = 1;
/** View indexes keyed by little-endian u32 sequences ($Extend/$Reparse:$R, $ObjId:$O): compared u32 by u32. */
export const COLLATION_NTOFS_ULONGS = 0x13;

/** $Extend/$Reparse:$R key: the reparse tag, then the file's MFT reference (entries carry no data). */
export const REPARSE_INDEX_KEY = {
  tag: 0x00, // u32
  fileRef: 0x04, // u64
  SIZE: 0x0c,
} as const;
