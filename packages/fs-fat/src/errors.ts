/**
 * Error codes of packages/fs-fat. The class says the category (what the CLI maps to an exit
 * code), the code says the precise case. Every message names the structure, the absolute byte
 * offset where one applies, and expected versus found.
 */
export const FatCode = {
  /** Boot sector unreadable or not a FAT boot sector at all. */
  NotFat: 'FAT_NOT_FAT',
  /** An exFAT volume (recognised, not supported yet). */
  Exfat: 'FAT_EXFAT',
  /** A BIOS parameter block field has an impossible value. */
  BadBpb: 'FAT_BAD_BPB',
  /** The volume (per its BPB) is larger than the device holding it. */
  VolumeTruncated: 'FAT_VOLUME_TRUNCATED',
  /** A cluster chain visits the same cluster twice. */
  ChainLoop: 'FAT_CHAIN_LOOP',
  /** A cluster number outside [2, maxCluster] (a start cluster or a FAT entry). */
  ChainOutOfRange: 'FAT_CHAIN_OUT_OF_RANGE',
  /** A chain runs into a free (0), reserved (1) or bad cluster before its end-of-chain mark. */
  ChainBroken: 'FAT_CHAIN_BROKEN',
  /** A file's size needs more clusters than its chain has. */
  ChainShort: 'FAT_CHAIN_SHORT',
  /** Two files or directories share a cluster. */
  CrossLinked: 'FAT_CROSS_LINKED',
  /** A directory contains one of its own ancestors. */
  DirLoop: 'FAT_DIR_LOOP',
  /** A directory longer than the FAT limit of 65536 entries. */
  DirTooLarge: 'FAT_DIR_TOO_LARGE',
  /** A directory entry of a subdirectory has no (or an impossible) first cluster. */
  BadDirCluster: 'FAT_BAD_DIR_CLUSTER',
  /** The volume dirty flag is set: not cleanly unmounted (write refused unless forced). */
  Dirty: 'FAT_DIRTY',
  /** A traversal exceeded a named limit (depth, entries). */
  Limit: 'FAT_LIMIT',
  NotFound: 'FAT_NOT_FOUND',
  Exists: 'FAT_EXISTS',
  NotADirectory: 'FAT_NOT_A_DIRECTORY',
  IsADirectory: 'FAT_IS_A_DIRECTORY',
  DirNotEmpty: 'FAT_DIR_NOT_EMPTY',
  /** A name that FAT cannot store (illegal characters, empty, "." or ".."). */
  BadName: 'FAT_BAD_NAME',
  /** A long name over 255 UTF-16 code units. */
  NameTooLong: 'FAT_NAME_TOO_LONG',
  /** No free cluster left. */
  NoSpace: 'FAT_NO_SPACE',
  /** The fixed FAT12/16 root directory has no free slot. */
  RootFull: 'FAT_ROOT_FULL',
  /** No unique 8.3 alias could be generated. */
  NoShortName: 'FAT_NO_SHORT_NAME',
  /** A file would exceed 4 GiB - 1 bytes, the FAT maximum. */
  FileTooLarge: 'FAT_FILE_TOO_LARGE',
  /** readFile over its maxBytes limit. */
  ReadLimit: 'FAT_READ_LIMIT',
  /** Write on a read-only filesystem or handle. */
  ReadOnly: 'FAT_READ_ONLY',
  /** Use of a closed filesystem or handle, or of a handle whose file was removed. */
  Closed: 'FAT_CLOSED',
  /** Read or write past the end of a file handle. */
  FileRange: 'FAT_FILE_RANGE',
  /** Moving a directory into itself or its own subtree, or renaming the root. */
  BadRename: 'FAT_BAD_RENAME',
  /** An unknown or multi-byte OEM code page. */
  BadCodepage: 'FAT_BAD_CODEPAGE',
  /** mkfs: the device cannot hold a filesystem with the requested parameters. */
  MkfsGeometry: 'FAT_MKFS_GEOMETRY',
  /** mkfs: an invalid option (label, sector size, cluster size). */
  MkfsOption: 'FAT_MKFS_OPTION',
} as const;

export type FatCode = (typeof FatCode)[keyof typeof FatCode];
