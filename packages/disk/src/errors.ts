/**
 * Error codes of packages/disk (images, qcow2, partition tables, devices). Each code is stable
 * and greppable; the class it is thrown with (FormatError, UnsupportedError, ...) is the category
 * the CLI maps to an exit code.
 */
export const DiskCode = {
  // ---- image opening ------------------------------------------------------------------------
  /** `format` was forced to qcow2 but the file does not start with the qcow2 magic. */
  NotQcow2: 'QCOW2_BAD_MAGIC',
  /** The image file is empty or shorter than any header. */
  ImageTooSmall: 'IMAGE_TOO_SMALL',

  // ---- qcow2 header -------------------------------------------------------------------------
  /** Header version is not 2 or 3 (qcow v1 and unknown versions are refused). */
  Qcow2Version: 'QCOW2_UNSUPPORTED_VERSION',
  /** cluster_bits outside 9..21 (qemu's limits: 512 B .. 2 MiB clusters). */
  Qcow2ClusterBits: 'QCOW2_BAD_CLUSTER_BITS',
  /** A header field is out of range or inconsistent (header_length, refcount_order, sizes). */
  Qcow2HeaderField: 'QCOW2_BAD_HEADER_FIELD',
  /** An incompatible feature bit we do not know is set: the spec says refuse to open. */
  Qcow2UnknownIncompatible: 'QCOW2_UNKNOWN_INCOMPATIBLE_FEATURE',
  /** Encrypted image (AES or LUKS). */
  Qcow2Encrypted: 'QCOW2_ENCRYPTED',
  /** Image uses an external data file. */
  Qcow2ExternalData: 'QCOW2_EXTERNAL_DATA_FILE',
  /** Image uses extended L2 entries (subclusters). */
  Qcow2ExtendedL2: 'QCOW2_EXTENDED_L2',
  /** Compression type other than zlib (zstd). */
  Qcow2CompressionType: 'QCOW2_COMPRESSION_TYPE',
  /** The corrupt bit is set: qemu flagged the image; it must not be written. */
  Qcow2CorruptBit: 'QCOW2_CORRUPT_BIT',
  /** The dirty bit is set (lazy refcounts left inconsistent): refcounts must be repaired before writing. */
  Qcow2Dirty: 'QCOW2_DIRTY',
  /** A header extension is malformed (length beyond the first cluster, bad backing format name). */
  Qcow2HeaderExtension: 'QCOW2_BAD_HEADER_EXTENSION',
  /** The L1 table is smaller than the virtual size requires, or larger than our limit. */
  Qcow2L1Size: 'QCOW2_BAD_L1_SIZE',
  /** A metadata table (L1, refcount table, snapshot table) lies outside the file or is misaligned. */
  Qcow2TableOffset: 'QCOW2_BAD_TABLE_OFFSET',

  // ---- qcow2 mapping ------------------------------------------------------------------------
  /** An L1 entry points to an L2 table that is misaligned or outside the file. */
  Qcow2L2Offset: 'QCOW2_BAD_L2_OFFSET',
  /** An L2 entry's data cluster offset is misaligned or outside the file. */
  Qcow2DataOffset: 'QCOW2_BAD_DATA_OFFSET',
  /** A compressed cluster failed to inflate or did not inflate to exactly one cluster. */
  Qcow2Compressed: 'QCOW2_BAD_COMPRESSED_CLUSTER',
  /** Reserved bits set in an L1/L2/refcount entry. */
  Qcow2ReservedBits: 'QCOW2_RESERVED_BITS',
  /** A refcount block entry/offset is invalid. */
  Qcow2Refcount: 'QCOW2_BAD_REFCOUNT',
  /** Writing would exceed a structural limit (refcount table maximum, refcount overflow). */
  Qcow2WriteLimit: 'QCOW2_WRITE_LIMIT',
  /** The image has internal snapshots in a form we will not write. */
  Qcow2Snapshots: 'QCOW2_SNAPSHOTS',

  // ---- backing chains -----------------------------------------------------------------------
  /** A backing chain visits the same file twice. */
  BackingLoop: 'BACKING_LOOP',
  /** A backing chain deeper than MAX_BACKING_DEPTH. */
  BackingDepth: 'BACKING_TOO_DEEP',
  /** The backing file name is empty, too long, or a protocol/json: name we do not follow. */
  BackingName: 'BACKING_BAD_NAME',
  /** The backing file named in the header does not exist. */
  BackingMissing: 'BACKING_MISSING',
  /** The backing format (header extension) is not raw or qcow2. */
  BackingFormat: 'BACKING_UNSUPPORTED_FORMAT',

  // ---- partition tables ---------------------------------------------------------------------
  /** MBR partition entry with impossible values (start/size beyond 2^32 sectors, zero start). */
  MbrEntry: 'MBR_BAD_ENTRY',
  /** An extended-partition (EBR) chain loops. */
  EbrLoop: 'MBR_EBR_LOOP',
  /** An EBR chain is longer than MAX_LOGICAL_PARTITIONS. */
  EbrLimit: 'MBR_EBR_TOO_MANY',
  /** GPT header fails its checks (signature, size, CRC, LBAs) — both copies. */
  GptHeader: 'GPT_BAD_HEADER',
  /** GPT entry array size/count out of range (count × size overflow, too large). */
  GptEntries: 'GPT_BAD_ENTRY_ARRAY',
  /** GPT partition entry with first LBA > last LBA or outside the usable area. */
  GptEntry: 'GPT_BAD_ENTRY',
  /** A partition table to create is invalid (overlap, out of the disk, too many entries). */
  TableSpec: 'PARTITION_SPEC_INVALID',

  // ---- devices ------------------------------------------------------------------------------
  /** A device option is invalid (block size not a power of two, ...). */
  DeviceOption: 'DEVICE_BAD_OPTION',
  /** An operation on a closed device. */
  Closed: 'DEVICE_CLOSED',
  /** A requested size is invalid ("10Q", negative, larger than 2^53). */
  BadSize: 'BAD_SIZE',
} as const;

export type DiskCodeValue = (typeof DiskCode)[keyof typeof DiskCode];
