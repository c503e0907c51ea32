/**
 * Registry value types (REG_*). The type field is a free 32-bit number: anything else is legal
 * and is kept byte for byte. Ref: libyal libregf "Data types"; winnt.h.
 */
export const RegType = {
  REG_NONE: 0,
  REG_SZ: 1,
  REG_EXPAND_SZ: 2,
  REG_BINARY: 3,
  REG_DWORD: 4,
  REG_DWORD_BIG_ENDIAN: 5,
  REG_LINK: 6,
  REG_MULTI_SZ: 7,
  REG_RESOURCE_LIST: 8,
  REG_FULL_RESOURCE_DESCRIPTOR: 9,
  REG_RESOURCE_REQUIREMENTS_LIST: 10,
  REG_QWORD: 11,
} as const;

export type RegTypeName = keyof typeof RegType;

const NAMES: readonly RegTypeName[] = Object.keys(RegType) as RegTypeName[];

/** "REG_SZ" for 1; undefined for a type number with no name. */
export function regTypeName(t: number): RegTypeName | undefined {
  return t >= 0 && t < NAMES.length ? NAMES[t] : undefined;
}

/** 1 for "REG_SZ" / "sz" / "1" / "0x1"; undefined when unknown. */
export function parseRegType(s: string): number | undefined {
  const u = s.trim().toUpperCase();
  if (/^(0X[0-9A-F]+|[0-9]+)$/.test(u)) {
    const n = Number(u);
    return Number.isSafeInteger(n) && n >= 0 && n <= 0xffffffff ? n : undefined;
  }
  const k = (u.startsWith('REG_') ? u : 'REG_' + u) as RegTypeName;
  return k in RegType ? RegType[k] : undefined;
}
