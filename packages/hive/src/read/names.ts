import { decodeLatin1, decodeUtf16le, encodeUtf16le, isLatin1 } from '@guestkit/disk/binary';
import { UPCASE_RUNS } from './upcase-table.js';

/**
 * Registry name rules. Windows compares key and value names case-insensitively by upper-casing
 * each UTF-16 code unit with its own table (RtlUpcaseUnicodeChar) and comparing code units —
 * not with locale rules and not with String#toUpperCase (which, for example, upper-cases
 * U+0131 'ı' to 'I'; Windows does not). The table comes from upcase-table.ts.
 */
let table: Uint16Array | undefined;

function upcaseTable(): Uint16Array {
  if (table) return table;
  const t = new Uint16Array(65536);
  for (let i = 0; i < 65536; i++) t[i] = i;
  for (let r = 0; r + 3 < UPCASE_RUNS.length; r += 4) {
    const start = UPCASE_RUNS[r]!;
    const count = UPCASE_RUNS[r + 1]!;
    const delta = UPCASE_RUNS[r + 2]!;
    const stride = UPCASE_RUNS[r + 3]!;
    for (let k = 0; k < count; k++) {
      const c = start + k * stride;
      t[c] = c + delta;
    }
  }
  table = t;
  return t;
}

/** Windows upper case of one UTF-16 code unit. */
export function upcaseUnit(c: number): number {
  return upcaseTable()[c & 0xffff]!;
}

/** Upper-case a name code unit by code unit (length is preserved). */
const ASCII = /^[\x00-\x7f]*$/;

export function upcaseName(s: string): string {
  // For ASCII, Windows and String#toUpperCase agree (only a-z change).
  if (ASCII.test(s)) return s.toUpperCase();
  const t = upcaseTable();
  let out = '';
  let changed = false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const u = t[c]!;
    if (u !== c) changed = true;
    out += String.fromCharCode(u);
  }
  return changed ? out : s;
}

/**
 * Compare two names the way Windows orders subkey lists: upper-case both, then compare code
 * units; a proper prefix sorts first. Returns <0, 0 or >0.
 */
export function compareNames(a: string, b: string): number {
  const t = upcaseTable();
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = t[a.charCodeAt(i)]!;
    const y = t[b.charCodeAt(i)]!;
    if (x !== y) return x - y;
  }
  return a.length - b.length;
}

/** True when two names are the same key/value name to Windows. */
export function namesEqual(a: string, b: string): boolean {
  return a.length === b.length && compareNames(a, b) === 0;
}

/**
 * The "lh" hash: H = 37·H + upcase(c) over the name's UTF-16 code units, modulo 2^32
 * (Suhanov "Hash leaf"; libyal "LH sub key hash algorithm").
 */
export function lhHash(name: string): number {
  const t = upcaseTable();
  let h = 0;
  for (let i = 0; i < name.length; i++) h = (Math.imul(h, 37) + t[name.charCodeAt(i)]!) >>> 0;
  return h >>> 0;
}

/**
 * The "lf" name hint: the first four characters as (extended) ASCII bytes, NUL-padded; when
 * one of them does not fit in a byte, the hint is zero (Suhanov "Fast leaf").
 */
export function lfHint(name: string): number {
  let v = 0;
  for (let i = 0; i < 4 && i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c > 0xff) return 0;
    v += c * 2 ** (8 * i);
  }
  return v >>> 0;
}

/** Decode a stored name: Latin-1 when the COMP_NAME flag is set, else lossless UTF-16LE. */
export function decodeName(bytes: Uint8Array, compressed: boolean): string {
  const n = bytes.length;
  // Short names (nearly all) are faster to build directly than through a Buffer.
  if (compressed) {
    if (n > 64) return decodeLatin1(bytes);
    let s = '';
    for (let i = 0; i < n; i++) s += String.fromCharCode(bytes[i]!);
    return s;
  }
  if (n > 128) return decodeUtf16le(bytes);
  let s = '';
  for (let i = 0; i + 1 < n; i += 2) s += String.fromCharCode(bytes[i]! + bytes[i + 1]! * 256);
  return s;
}

/** Where a key or value name lies in the hive image (see HiveReader.readValue / readNodeName). */
export interface NameSpan {
  nameOff: number;
  nameLen: number;
  /** Latin-1 bytes (the COMP_NAME flag), else UTF-16LE. */
  nameCompressed: boolean;
}

/**
 * decodeName over `buf[off, off+len)` without creating a view (the caller has checked the range
 * lies inside the cell).
 */
export function decodeNameRange(buf: Uint8Array, off: number, len: number, compressed: boolean): string {
  if (compressed) {
    if (len > 64) return decodeLatin1(buf.subarray(off, off + len));
    let s = '';
    for (let i = 0; i < len; i++) s += String.fromCharCode(buf[off + i]!);
    return s;
  }
  if (len > 128) return decodeUtf16le(buf.subarray(off, off + len));
  let s = '';
  const end = off + len - 1;
  for (let i = off; i < end; i += 2) s += String.fromCharCode(buf[i]! + buf[i + 1]! * 256);
  return s;
}

/** Encode a name for storage: Latin-1 ("compressed") when every code unit fits, else UTF-16LE. */
export function encodeName(name: string): { bytes: Uint8Array; compressed: boolean } {
  if (isLatin1(name)) {
    const b = Buffer.from(name, 'latin1');
    return { bytes: new Uint8Array(b.buffer, b.byteOffset, b.byteLength), compressed: true };
  }
  return { bytes: encodeUtf16le(name), compressed: false };
}

/** Size in bytes the name would take as UTF-16 (what nk "largest name" fields count). */
export function utf16Size(name: string): number {
  return name.length * 2;
}

const SURROGATE = /[\uD800-\uDFFF]/;

/**
 * Order by Unicode code point (what Perl's `cmp` does on character strings, and hence the
 * order hivexregedit prints keys and values in). JS `<` compares UTF-16 code units, which
 * differs only when a surrogate pair meets a code unit in U+E000..U+FFFF.
 */
export function compareCodePoints(a: string, b: string): number {
  if (!SURROGATE.test(a) && !SURROGATE.test(b)) return a < b ? -1 : a > b ? 1 : 0;
  const n = Math.min(a.length, b.length);
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const x = a.codePointAt(i)!;
    const y = b.codePointAt(j)!;
    if (x !== y) return x - y;
    i += x > 0xffff ? 2 : 1;
    j += y > 0xffff ? 2 : 1;
  }
  void n;
  return a.length - i - (b.length - j);
}
