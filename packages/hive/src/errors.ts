/**
 * The hive package's error catalogue. Classes (from @guestkit/disk/binary) are categories the
 * CLI maps to exit codes; these codes are the precise, stable reasons (hivex's SET_ERRNO texts
 * turned into greppable identifiers).
 */
export const HiveCode = {
  /** The file does not start with "regf". */
  BadSignature: 'HIVE_BAD_SIGNATURE',
  /** The base block XOR-32 checksum does not match (the base block cannot be trusted). */
  BadChecksum: 'HIVE_BAD_CHECKSUM',
  /** Major version is not 1, or a minor version we do not read (1.0, 1.1 = NT 3.1 cell layout). */
  UnsupportedVersion: 'HIVE_UNSUPPORTED_VERSION',
  /** Not a primary hive (a transaction log, or an unknown file type). */
  NotPrimary: 'HIVE_NOT_PRIMARY',
  /** The file is smaller than a base block plus one hbin. */
  TooSmall: 'HIVE_TOO_SMALL',
  /** An hbin header is missing or inconsistent (signature, size, offset). */
  BadHbin: 'HIVE_BAD_HBIN',
  /** A cell inside an hbin has an impossible size or runs past its hbin. */
  BadCell: 'HIVE_BAD_CELL',
  /** The base block's root cell offset does not name an allocated nk cell. */
  BadRoot: 'HIVE_BAD_ROOT',
  /** A pointer does not name the start of an allocated cell (hivex EFAULT). */
  BadCellRef: 'HIVE_BAD_CELL_REF',
  /** A cell has the wrong signature for where it is referenced from. */
  BadCellType: 'HIVE_BAD_CELL_TYPE',
  /** A field inside a cell runs past the cell's end (name too long, list too long, ...). */
  CellOverflow: 'HIVE_CELL_OVERFLOW',
  /** A subkey list is not lf/lh/li/ri, or a leaf is used where an index root is needed. */
  BadSubkeyList: 'HIVE_BAD_SUBKEY_LIST',
  /** The nk subkey count differs from the number of entries in its lists. */
  SubkeyCountMismatch: 'HIVE_SUBKEY_COUNT_MISMATCH',
  /** ri records nested deeper than MAX_RI_DEPTH (CVE-2021-3622). */
  RiTooDeep: 'HIVE_RI_TOO_DEEP',
  /** A key or list was reached twice while walking (a cycle). */
  Cycle: 'HIVE_CYCLE',
  /** A named limit was exceeded (subkeys, values, value size, depth, total keys). */
  Limit: 'HIVE_LIMIT',
  /** Inline value data declared longer than 4 bytes. */
  BadInlineData: 'HIVE_BAD_INLINE_DATA',
  /** Value data longer than its cell and not stored as big data (db). */
  BadValueData: 'HIVE_BAD_VALUE_DATA',
  /** A big-data (db) record or its segment list is inconsistent. */
  BadBigData: 'HIVE_BAD_BIG_DATA',
  /** A name is not valid in its encoding (odd UTF-16 length). */
  BadName: 'HIVE_BAD_NAME',
  /** The parent pointer of a key does not lead back to the root. */
  BadParent: 'HIVE_BAD_PARENT',
  /** The hive is dirty (sequence numbers differ or bad checksum) and no usable log was given. */
  Dirty: 'HIVE_DIRTY',
  /** A transaction log could not be used (bad base block, bad entry, wrong sequence). */
  BadLog: 'HIVE_BAD_LOG',
  /** Recovery from transaction logs was attempted and failed. */
  RecoveryFailed: 'HIVE_RECOVERY_FAILED',
  /** Write on a hive opened read-only. */
  ReadOnly: 'HIVE_READ_ONLY',
  /** addChild with a name that already exists (case-insensitively). */
  Exists: 'HIVE_KEY_EXISTS',
  /** A key path or value name that does not exist where it must. */
  NotFound: 'HIVE_NOT_FOUND',
  /** A name the registry cannot store (empty, too long, contains a backslash). */
  InvalidName: 'HIVE_INVALID_NAME',
  /** The root key cannot be deleted or renamed. */
  RootKey: 'HIVE_ROOT_KEY',
  /** A value given to setValue does not match its declared type. */
  BadValue: 'HIVE_BAD_VALUE',
  /** The hive would grow past what a 32-bit cell offset can address. */
  TooLarge: 'HIVE_TOO_LARGE',
  /** A .reg file could not be parsed. */
  RegParse: 'HIVE_REG_PARSE',
  /** A .reg file asks to create a key whose parent is missing (with --strict, as hivex). */
  RegMissingParent: 'HIVE_REG_MISSING_PARENT',
  /** A .reg file asks to delete the root key. */
  RegDeleteRoot: 'HIVE_REG_DELETE_ROOT',
  /** hivexsh-style shell command error. */
  Shell: 'HIVE_SHELL',
} as const;

export type HiveCodeValue = (typeof HiveCode)[keyof typeof HiveCode];
