/**
 * The registry as the inspector reads it: keys with names, subkeys and typed raw values.
 * Everything that reads registry data in this package goes through these two interfaces, so
 * the same code runs over a hive opened with @guestkit/hive (`hiveKey`) and over any other
 * source of keys (the tests also build them from hivexregedit exports, an independent reader).
 */
export interface RegValue {
  /** Value name as stored ("" is the default value). Lossless: may hold lone surrogates. */
  readonly name: string;
  /** Registry type number (REG_SZ = 1, REG_BINARY = 3, REG_DWORD = 4, ...). */
  readonly type: number;
  /** The value's data bytes (a copy). */
  readonly data: Uint8Array;
}

export interface RegKey {
  /** Key name as stored. Lossless: may hold lone surrogates. */
  readonly name: string;
  /** Subkeys in on-disk order. */
  subkeys(): RegKey[];
  /** Values in on-disk order. */
  values(): RegValue[];
}

/** Registry value types (winnt.h REG_*). */
export const REG = {
  NONE: 0,
  SZ: 1,
  EXPAND_SZ: 2,
  BINARY: 3,
  DWORD: 4,
  DWORD_BIG_ENDIAN: 5,
  LINK: 6,
  MULTI_SZ: 7,
  RESOURCE_LIST: 8,
  FULL_RESOURCE_DESCRIPTOR: 9,
  RESOURCE_REQUIREMENTS_LIST: 10,
  QWORD: 11,
} as const;

/**
 * The subset of @guestkit/hive's `Hive` (a HiveReader) the inspector uses; any object with
 * these methods can be wrapped by `hiveKey`. Node and value handles are opaque numbers.
 */
export interface HiveLike<N = number, V = number> {
  readonly root: N;
  children(n: N): N[];
  nodeName(n: N): string;
  values(n: N): V[];
  valueName(v: V): string;
  valueType(v: V): number;
  valueBytes(v: V): Uint8Array;
}

/** A RegKey view of node `node` (default: the root) of an open hive. Reads lazily. */
export function hiveKey<N, V>(hive: HiveLike<N, V>, node: N = hive.root): RegKey {
  return {
    get name() {
      return hive.nodeName(node);
    },
    subkeys: () => hive.children(node).map((c) => hiveKey(hive, c)),
    // Data is read only when asked for: lookups by name touch many values and few data.
    values: () =>
      hive.values(node).map((v) => {
        let data: Uint8Array | undefined;
        return {
          name: hive.valueName(v),
          type: hive.valueType(v),
          get data(): Uint8Array {
            return (data ??= hive.valueBytes(v));
          },
        };
      }),
  };
}
