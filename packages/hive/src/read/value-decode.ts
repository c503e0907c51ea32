import { decodeUtf16le, encodeUtf16le, ByteView, ByteWriter, UsageError } from '@guestkit/disk/binary';
import { HiveCode } from '../errors.js';
import { RegType, regTypeName } from '../layout/value-types.js';

/**
 * A registry value as data. Named types carry decoded data; a numeric `type` carries raw bytes
 * (any type number, including ones with a name, so nothing is ever lost). `valueOf()` returns a
 * named variant only when the bytes decode exactly (a REG_DWORD of 4 bytes, ...), else raw.
 */
export type RegValue =
  | { name: string; type: 'REG_SZ' | 'REG_EXPAND_SZ' | 'REG_LINK'; data: string }
  | { name: string; type: 'REG_MULTI_SZ'; data: string[] }
  | { name: string; type: 'REG_DWORD' | 'REG_DWORD_BIG_ENDIAN'; data: number }
  | { name: string; type: 'REG_QWORD'; data: bigint }
  | { name: string; type: 'REG_BINARY' | 'REG_NONE'; data: Uint8Array }
  | { name: string; type: number; data: Uint8Array };

/** The REG_* number of a RegValue. */
export function regValueTypeNumber(v: RegValue): number {
  if (typeof v.type === 'number') return v.type;
  return RegType[v.type];
}

/**
 * UTF-16LE string data up to the first NUL code unit (Windows stores a terminator; XP-era
 * hives may have junk after it — hivex value_string does the same). A trailing odd byte is ignored.
 */
export function decodeRegString(data: Uint8Array): string {
  let end = data.length - (data.length % 2);
  for (let i = 0; i + 1 < end; i += 2) {
    if (data[i] === 0 && data[i + 1] === 0) {
      end = i;
      break;
    }
  }
  return decodeUtf16le(data.subarray(0, end));
}

/**
 * REG_MULTI_SZ: NUL-terminated UTF-16LE strings followed by an empty string. Empty strings in
 * the middle are kept (PendingFileRenameOperations uses them); exactly one final empty string
 * (the list terminator) is dropped; a last string without a terminator is kept.
 */
export function decodeMultiSz(data: Uint8Array): string[] {
  const n = data.length - (data.length % 2);
  const out: string[] = [];
  let start = 0;
  let i = 0;
  for (; i + 1 < n; i += 2) {
    if (data[i] === 0 && data[i + 1] === 0) {
      out.push(decodeUtf16le(data.subarray(start, i)));
      start = i + 2;
    }
  }
  if (start < n) out.push(decodeUtf16le(data.subarray(start, n)));
  else if (out.length > 0 && out[out.length - 1] === '') out.pop();
  return out;
}

/** Encode a REG_SZ/EXPAND_SZ/LINK string with its terminating NUL. */
export function encodeRegString(s: string): Uint8Array {
  return encodeUtf16le(s + '\0');
}

/** Encode REG_MULTI_SZ: each string NUL-terminated, then one more NUL. */
export function encodeMultiSz(list: readonly string[]): Uint8Array {
  return encodeUtf16le(list.map((s) => s + '\0').join('') + '\0');
}

/** Decode raw value bytes into the most specific RegValue that represents them exactly. */
export function decodeRegValue(name: string, type: number, data: Uint8Array): RegValue {
  switch (type) {
    case RegType.REG_SZ:
    case RegType.REG_EXPAND_SZ:
    case RegType.REG_LINK: {
      const s = decodeRegString(data);
      // Only when re-encoding gives the same bytes; else keep raw so nothing is lost.
      if (sameBytes(encodeRegString(s), data)) return { name, type: regTypeName(type) as 'REG_SZ', data: s };
      return { name, type, data };
    }
    case RegType.REG_MULTI_SZ: {
      const l = decodeMultiSz(data);
      if (sameBytes(encodeMultiSz(l), data)) return { name, type: 'REG_MULTI_SZ', data: l };
      return { name, type, data };
    }
    case RegType.REG_DWORD:
      if (data.length === 4) return { name, type: 'REG_DWORD', data: new ByteView(data).u32(0) };
      return { name, type, data };
    case RegType.REG_DWORD_BIG_ENDIAN:
      if (data.length === 4) return { name, type: 'REG_DWORD_BIG_ENDIAN', data: new ByteView(data).u32be(0) };
      return { name, type, data };
    case RegType.REG_QWORD:
      if (data.length === 8) return { name, type: 'REG_QWORD', data: new ByteView(data).u64(0) };
      return { name, type, data };
    case RegType.REG_BINARY:
      return { name, type: 'REG_BINARY', data };
    case RegType.REG_NONE:
      return { name, type: 'REG_NONE', data };
    default:
      return { name, type, data };
  }
}

/** Encode a RegValue to its type number and bytes. Throws UsageError for impossible data. */
export function encodeRegValue(v: RegValue): { type: number; data: Uint8Array } {
  const bad = (why: string) => new UsageError(HiveCode.BadValue, `value ${JSON.stringify(v.name)}: ${why}`, { name: v.name, type: v.type });
  if (typeof v.type === 'number') {
    if (!Number.isInteger(v.type) || v.type < 0 || v.type > 0xffffffff) throw bad(`type ${v.type} is not a 32-bit unsigned number`);
    if (!(v.data instanceof Uint8Array)) throw bad('raw data must be a Uint8Array');
    return { type: v.type, data: v.data };
  }
  switch (v.type) {
    case 'REG_SZ':
    case 'REG_EXPAND_SZ':
    case 'REG_LINK':
      if (typeof v.data !== 'string') throw bad('string data expected');
      return { type: RegType[v.type], data: encodeRegString(v.data) };
    case 'REG_MULTI_SZ':
      if (!Array.isArray(v.data) || v.data.some((s) => typeof s !== 'string')) throw bad('an array of strings expected');
      return { type: RegType.REG_MULTI_SZ, data: encodeMultiSz(v.data) };
    case 'REG_DWORD':
    case 'REG_DWORD_BIG_ENDIAN': {
      const n = v.data;
      if (typeof n !== 'number' || !Number.isInteger(n) || n < -0x80000000 || n > 0xffffffff) throw bad('a 32-bit integer expected');
      const w = ByteWriter.alloc(4);
      if (v.type === 'REG_DWORD') w.u32(0, n >>> 0);
      else w.u32be(0, n >>> 0);
      return { type: RegType[v.type], data: w.bytes };
    }
    case 'REG_QWORD': {
      let n = v.data;
      if (typeof n !== 'bigint') throw bad('a bigint expected');
      if (n < -(2n ** 63n) || n >= 2n ** 64n) throw bad('a 64-bit integer expected');
      if (n < 0n) n += 2n ** 64n;
      return { type: RegType.REG_QWORD, data: ByteWriter.alloc(8).u64(0, n).bytes };
    }
    case 'REG_BINARY':
    case 'REG_NONE':
      if (!(v.data instanceof Uint8Array)) throw bad('a Uint8Array expected');
      return { type: RegType[v.type], data: v.data };
    default:
      throw bad(`unknown type ${String((v as { type: unknown }).type)}`);
  }
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  return Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.length), Buffer.from(b.buffer, b.byteOffset, b.length)) === 0;
}
