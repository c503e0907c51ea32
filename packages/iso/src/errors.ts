/**
 * Error codes of @guestkit/iso. Categories are the shared GuestError classes
 * (`@guestkit/disk/binary`); the codes say precisely what went wrong.
 */
export const IsoCode = {
  /** The source given to `scanTree` is not a directory. */
  SourceNotDirectory: 'ISO_SOURCE_NOT_DIRECTORY',
  /** A source file is shorter than when it was indexed (it changed while the image was served). */
  SourceChanged: 'ISO_SOURCE_CHANGED',
  /** The tree has more entries than `IsoLimits.maxEntries`. */
  TooManyEntries: 'ISO_TOO_MANY_ENTRIES',
  /** More directories than the 16-bit parent numbers of the path table can address (65535). */
  TooManyDirectories: 'ISO_TOO_MANY_DIRECTORIES',
  /** The tree is deeper than `IsoLimits.maxDepth`. */
  TooDeep: 'ISO_TREE_TOO_DEEP',
  /** A directory is reachable twice (bind mount loop). */
  DirectoryLoop: 'ISO_DIRECTORY_LOOP',
  /** A file is too large for the chosen ISO level (levels 1 and 2 store one extent < 4 GiB). */
  FileTooLarge: 'ISO_FILE_TOO_LARGE',
  /** The image would exceed 2^32 blocks of 2048 bytes (8 TiB), the limit of ISO 9660 block addresses. */
  ImageTooLarge: 'ISO_IMAGE_TOO_LARGE',
  /** A symbolic link target is longer than `IsoLimits.maxSymlinkBytes`. */
  SymlinkTooLong: 'ISO_SYMLINK_TOO_LONG',
  /** The El Torito boot image is not a regular file of the tree. */
  BootImageNotFound: 'ISO_BOOT_IMAGE_NOT_FOUND',
  /** An option value makes no sense (ISO level, load size, label). */
  BadOption: 'ISO_BAD_OPTION',
  /** A host file could not be read while indexing or serving. */
  SourceUnreadable: 'ISO_SOURCE_UNREADABLE',
} as const;

export type IsoCodeValue = (typeof IsoCode)[keyof typeof IsoCode];
