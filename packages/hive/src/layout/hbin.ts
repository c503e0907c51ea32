/**
 * Hive bin ("hbin") header: 32 bytes at the start of every bin; bins are multiples of 4096
 * bytes and tile the hive bins data without gaps.
 * Ref: libyal libregf "Hive bin header"; Suhanov "Hive bin"; Windows name _HBIN.
 */
export const HBIN = {
  signature: 0x00, //  4   "hbin"
  offset: 0x04, //     u32 offset of this bin relative to the hive bins data
  size: 0x08, //       u32 bytes, multiple of 4096
  reserved: 0x0c, //   8
  timestamp: 0x14, //  u64 FILETIME (first bin only: backup of the base block timestamp)
  spare: 0x1c, //      u32 no meaning on disk
  SIZE: 0x20, //       first cell starts here
} as const;

/** Bins are allocated in 4 KiB pages. */
export const HBIN_ALIGN = 0x1000;

/**
 * Cells: a signed 32-bit size (negative = allocated) including the size field itself, then
 * the cell data. Sizes are multiples of 8 (hivex accepts multiples of 4; so do we on read).
 */
export const CELL_HEADER = 4;
export const CELL_ALIGN = 8;
