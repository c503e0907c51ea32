/**
 * NTFS error codes. Classes (FormatError, UnsupportedError, LimitError, LoopError, ...) are the
 * categories the CLI maps to exit codes; these strings are the precise, stable cases.
 */
export const NtfsCode = {
  /** The boot sector is not NTFS or has impossible geometry. */
  BadBootSector: 'NTFS_BAD_BOOT_SECTOR',
  /** An MFT record has a bad magic, header or attribute chain. */
  BadRecord: 'NTFS_BAD_MFT_RECORD',
  /** An update-sequence (fixup) check failed: torn or corrupt multi-sector write. */
  FixupMismatch: 'NTFS_FIXUP_MISMATCH',
  /** An attribute header is inconsistent (lengths, offsets, sizes). */
  BadAttribute: 'NTFS_BAD_ATTRIBUTE',
  /** A runlist (mapping pairs) is malformed, overlaps itself or points past the volume. */
  BadRunlist: 'NTFS_BAD_RUNLIST',
  /** An attribute list is malformed or refers to a record that is not an extension of this file. */
  BadAttributeList: 'NTFS_BAD_ATTRIBUTE_LIST',
  /** An index ($I30) root, block or entry is malformed. */
  BadIndex: 'NTFS_BAD_INDEX',
  /** A cycle among index blocks, attribute-list records or directories. */
  Loop: 'NTFS_LOOP',
  /** A named limit was exceeded (entries, runs, depth, size). */
  Limit: 'NTFS_LIMIT',
  /** Compressed data (LZNT1, XPRESS) does not decode. */
  BadCompressedData: 'NTFS_BAD_COMPRESSED_DATA',
  /** A required system file or attribute is missing. */
  MissingSystemFile: 'NTFS_MISSING_SYSTEM_FILE',
  /** Encrypted ($EFS) data cannot be read. */
  Encrypted: 'NTFS_ENCRYPTED',
  /** A compression format or feature guestkit does not read (WOF LZX, unknown reparse provider). */
  Unsupported: 'NTFS_UNSUPPORTED',
  /** Path does not exist. */
  NotFound: 'NTFS_NOT_FOUND',
  /** Path exists already. */
  Exists: 'NTFS_EXISTS',
  /** Not a directory / is a directory / directory not empty / bad name. */
  Usage: 'NTFS_USAGE',
  /** The volume is hibernated, dirty or has an unclean $LogFile: writing refused. */
  UnsafeState: 'NTFS_UNSAFE_STATE',
  /** No free clusters or MFT records. */
  NoSpace: 'NTFS_NO_SPACE',
  /** The filesystem was opened read-only. */
  ReadOnly: 'NTFS_READ_ONLY',
} as const;
export type NtfsCodeValue = (typeof NtfsCode)[keyof typeof NtfsCode];

/** Limits on hostile input; each says why it is what it is. */
export const NtfsLimits = {
  /** Runs in one attribute: a fragmented 2 TiB file on Windows stays far below this. */
  maxRuns: 4_000_000,
  /** Entries in one attribute list (the list itself is at most 256 KiB on Windows). */
  maxAttrListEntries: 65_536,
  /** Extension records of one file (each attribute-list entry may name one). */
  maxExtensionRecords: 65_536,
  /** Depth of an $I30 B-tree: with 4 KiB blocks even 2^32 entries need fewer than 10 levels. */
  maxIndexDepth: 32,
  /** Entries read from one directory. */
  maxDirEntries: 10_000_000,
  /** Directory nesting while resolving a path. */
  maxPathDepth: 512,
  /** Largest resident or metadata value read into memory at once ($UpCase is 128 KiB, attr lists are small). */
  maxMetadataBytes: 256 * 1024 * 1024,
  /** Default readFile limit (callers may raise it). */
  defaultMaxReadBytes: 1024 * 1024 * 1024,
} as const;
