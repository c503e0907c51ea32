/**
 * Cell records. All offsets are relative to the start of the cell *data* (after the 4-byte
 * cell size). Relative cell offsets stored in fields are relative to the hive bins data: add
 * HBIN_BASE (0x1000) to get a file offset; 0xffffffff means "none".
 * Refs: libyal libregf "Named key", "Value key", "Security key", "Sub key list", "Data block key";
 * Suhanov "Key node", "Key value", "Key security", "Index leaf/Fast leaf/Hash leaf/Index root",
 * "Big data"; Windows names _CM_KEY_NODE, _CM_KEY_VALUE, _CM_KEY_SECURITY, _CM_KEY_INDEX,
 * _CM_BIG_DATA.
 */

/** CM_KEY_NODE ("nk"). */
export const NK = {
  signature: 0x00, //        2   "nk"
  flags: 0x02, //            u16 KEY_* below
  lastWritten: 0x04, //      u64 FILETIME
  accessBits: 0x0c, //       u32 access bits / layered-key bits (Win8+); "spare" before
  parent: 0x10, //           u32 parent nk (no meaning for the root)
  subkeyCount: 0x14, //      u32 stable subkeys
  volatileSubkeyCount: 0x18, // u32 no meaning on disk
  subkeyList: 0x1c, //       u32 lf/lh/li/ri or 0xffffffff
  volatileSubkeyList: 0x20, // u32 no meaning on disk
  valueCount: 0x24, //       u32
  valueList: 0x28, //        u32 value list cell or 0xffffffff
  security: 0x2c, //         u32 sk cell
  className: 0x30, //        u32 class name cell or 0xffffffff
  maxSubkeyNameLen: 0x34, // u32 low 16 bits: largest subkey name (bytes, as UTF-16); bits 16-31: virt/user/debug flags
  maxSubkeyClassLen: 0x38, // u32 bytes
  maxValueNameLen: 0x3c, //  u32 bytes (as UTF-16)
  maxValueDataLen: 0x40, //  u32 bytes
  workVar: 0x44, //          u32 unused since XP
  nameLength: 0x48, //       u16 bytes
  classNameLength: 0x4a, //  u16 bytes
  name: 0x4c, //             name bytes follow
  SIZE: 0x4c,
} as const;

export const KeyFlag = {
  Volatile: 0x0001,
  HiveExit: 0x0002,
  /** KEY_HIVE_ENTRY: the root key of this hive. */
  HiveEntry: 0x0004,
  NoDelete: 0x0008,
  SymLink: 0x0010,
  /** KEY_COMP_NAME: the name is stored as Latin-1 bytes, else UTF-16LE. */
  CompName: 0x0020,
  PredefHandle: 0x0040,
  VirtualSource: 0x0080,
  VirtualTarget: 0x0100,
  VirtualStore: 0x0200,
} as const;

/** CM_KEY_VALUE ("vk"). */
export const VK = {
  signature: 0x00, //  2   "vk"
  nameLength: 0x02, // u16 bytes; 0 = the default value "(Default)"
  dataSize: 0x04, //   u32 bytes; bit 31 set = data stored inline in `dataOffset` (≤ 4 bytes)
  dataOffset: 0x08, // u32 data cell / db cell, or the data itself when inline
  type: 0x0c, //       u32 REG_* (any value is allowed)
  flags: 0x10, //      u16 VALUE_COMP_NAME = 1; 2 = tombstone (layered keys)
  spare: 0x12, //      u16
  name: 0x14, //       name bytes follow
  SIZE: 0x14,
} as const;

export const ValueFlag = { CompName: 0x0001, Tombstone: 0x0002 } as const;
/** Bit 31 of VK.dataSize: data is stored in the dataOffset field itself. */
export const VK_DATA_INLINE = 0x80000000;

/** CM_KEY_SECURITY ("sk"). */
export const SK = {
  signature: 0x00, //   2   "sk"
  reserved: 0x02, //    u16
  flink: 0x04, //       u32 next sk in the hive's circular list
  blink: 0x08, //       u32 previous sk
  refCount: 0x0c, //    u32 number of nk cells pointing here
  descriptorSize: 0x10, // u32 bytes
  descriptor: 0x14, //  self-relative SECURITY_DESCRIPTOR follows
  SIZE: 0x14,
} as const;

/** CM_KEY_INDEX: "lf"/"lh" (8-byte elements: nk offset + hint/hash), "li"/"ri" (4-byte elements). */
export const LIST = {
  signature: 0x00, // 2   "lf" | "lh" | "li" | "ri"
  count: 0x02, //     u16 number of elements
  elements: 0x04, //  elements follow
  SIZE: 0x04,
} as const;
export const LF_ELEMENT = 8;
export const LI_ELEMENT = 4;

/** CM_BIG_DATA ("db"), used for data larger than 16344 bytes in hives of version ≥ 1.4. */
export const DB = {
  signature: 0x00, //   2   "db"
  segmentCount: 0x02, // u16
  segmentList: 0x04, // u32 cell holding `segmentCount` u32 segment offsets
  SIZE: 0x08, //        (+4 bytes of padding in practice)
} as const;
/** Every big-data segment but the last holds exactly this many bytes (CM_KEY_VALUE_BIG). */
export const BIG_DATA_SEGMENT = 16344;

/** Two-letter signatures as little-endian u16 values, to compare without decoding text. */
export const SIG = {
  nk: 0x6b6e,
  vk: 0x6b76,
  sk: 0x6b73,
  lf: 0x666c,
  lh: 0x686c,
  li: 0x696c,
  ri: 0x6972,
  db: 0x6264,
} as const;

/** Render a u16 signature for messages. */
export function sigText(v: number): string {
  const a = v & 0xff;
  const b = (v >>> 8) & 0xff;
  const c = (x: number) => (x >= 0x20 && x < 0x7f ? String.fromCharCode(x) : `\\x${x.toString(16).padStart(2, '0')}`);
  return c(a) + c(b);
}
