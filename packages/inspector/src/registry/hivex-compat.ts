/**
 * Registry lookups with the exact semantics libguestfs gets from hivex, so that every field
 * virt-inspector prints comes out the same (hivex lib/node.c, lib/value.c, lib/utf16.c):
 *
 * - names are compared with strcasecmp in the C locale: ASCII letters fold, nothing else does;
 * - hivex converts names and strings from UTF-16LE (or Latin-1) to UTF-8 with iconv, which
 *   fails on a lone surrogate: such a name or string is an error, not a value;
 * - hivex_node_get_child / hivex_node_get_value decode the names of the candidates in order
 *   and give up (an error) at the first one that cannot be decoded;
 * - hivex_value_string accepts REG_SZ, REG_EXPAND_SZ and REG_LINK only, stops at the first
 *   aligned UTF-16 NUL and ignores an odd trailing byte;
 * - hivex_value_dword accepts REG_DWORD (little-endian) and REG_DWORD_BIG_ENDIAN with at least
 *   4 bytes and returns a signed 32-bit number.
 */
import { decodeUtf16le } from '@guestkit/disk/binary';
import { REG, type RegKey, type RegValue } from './reg-tree.js';

/** Outcome of a hivex-style lookup that can fail without the thing being absent. */
export type Lookup<T> = { ok: true; value: T } | { ok: false; absent: boolean; reason: string };

const absent = <T>(reason: string): Lookup<T> => ({ ok: false, absent: true, reason });
const failed = <T>(reason: string): Lookup<T> => ({ ok: false, absent: false, reason });

/** True when `s` has no unpaired UTF-16 surrogate (so iconv can convert it to UTF-8). */
export function isWellFormed(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (!(d >= 0xdc00 && d <= 0xdfff)) return false;
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) return false;
  }
  return true;
}

/** strcasecmp(a, b) == 0 in the C locale. */
export function asciiCaseEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x >= 0x41 && x <= 0x5a) x += 0x20;
    if (y >= 0x41 && y <= 0x5a) y += 0x20;
    if (x !== y) return false;
  }
  return true;
}

/** hivex_node_get_child. */
export function hivexChild(key: RegKey, name: string): Lookup<RegKey> {
  for (const c of key.subkeys()) {
    const n = c.name;
    if (!isWellFormed(n)) return failed(`a subkey name of ${JSON.stringify(key.name)} is not valid UTF-16`);
    if (asciiCaseEqual(n, name)) return { ok: true, value: c };
  }
  return absent(`no subkey ${JSON.stringify(name)}`);
}

/** A chain of hivex_node_get_child calls (libguestfs get_node). */
export function hivexPath(key: RegKey, path: readonly string[]): Lookup<RegKey> {
  let cur = key;
  for (const p of path) {
    const r = hivexChild(cur, p);
    if (!r.ok) return r;
    cur = r.value;
  }
  return { ok: true, value: cur };
}

/** hivex_node_get_value (case-insensitive). */
export function hivexGetValue(key: RegKey, name: string): Lookup<RegValue> {
  for (const v of key.values()) {
    if (!isWellFormed(v.name)) return failed(`a value name of ${JSON.stringify(key.name)} is not valid UTF-16`);
    if (asciiCaseEqual(v.name, name)) return { ok: true, value: v };
  }
  return absent(`no value ${JSON.stringify(name)}`);
}

/**
 * OCaml `List.assoc name (values as (value_key, value))`: the first value whose name is
 * exactly `name` (case-sensitive), as libguestfs does for CurrentVersion and Tcpip values.
 * Building that list converts every value name first, so one undecodable name is an error.
 */
export function assocValue(key: RegKey, name: string): Lookup<RegValue> {
  const vals = key.values();
  for (const v of vals) if (!isWellFormed(v.name)) return failed(`a value name of ${JSON.stringify(key.name)} is not valid UTF-16`);
  const v = vals.find((x) => x.name === name);
  return v ? { ok: true, value: v } : absent(`no value ${JSON.stringify(name)}`);
}

/** Length in bytes of the UTF-16 string before the first aligned NUL (hivex _hivex_utf16_string_len_in_bytes_max). */
export function utf16LenBeforeNul(data: Uint8Array): number {
  let i = 0;
  while (data.length - i >= 2 && (data[i] !== 0 || data[i + 1] !== 0)) i += 2;
  return i;
}

/** hivex_value_string. */
export function hivexValueString(v: RegValue): Lookup<string> {
  if (v.type !== REG.SZ && v.type !== REG.EXPAND_SZ && v.type !== REG.LINK) {
    return failed(`value ${JSON.stringify(v.name)} has type ${v.type}, not a string`);
  }
  const s = decodeUtf16le(v.data.subarray(0, utf16LenBeforeNul(v.data)));
  if (!isWellFormed(s)) return failed(`value ${JSON.stringify(v.name)} is not valid UTF-16`);
  return { ok: true, value: s };
}

/** hivex_value_dword (signed 32-bit). */
export function hivexValueDword(v: RegValue): Lookup<number> {
  if ((v.type !== REG.DWORD && v.type !== REG.DWORD_BIG_ENDIAN) || v.data.length < 4) {
    return failed(`value ${JSON.stringify(v.name)} has type ${v.type} and ${v.data.length} bytes, not a DWORD`);
  }
  const d = v.data;
  const le = v.type === REG.DWORD;
  const u = le
    ? d[0]! + d[1]! * 0x100 + d[2]! * 0x10000 + d[3]! * 0x1000000
    : d[3]! + d[2]! * 0x100 + d[1]! * 0x10000 + d[0]! * 0x1000000;
  return { ok: true, value: u >= 0x80000000 ? u - 0x100000000 : u };
}

/** A value read leniently (Windows semantics) for the JSON-only facts: case-insensitive name, any string type. */
export function stringValue(key: RegKey | undefined, name: string): string | undefined {
  if (!key) return undefined;
  const v = key.values().find((x) => x.name.toLowerCase() === name.toLowerCase());
  if (!v) return undefined;
  const r = hivexValueString(v);
  return r.ok ? r.value : undefined;
}

/** A DWORD (or QWORD, low 53 bits) read leniently: case-insensitive name; unsigned. */
export function numberValue(key: RegKey | undefined, name: string): number | undefined {
  if (!key) return undefined;
  const v = key.values().find((x) => x.name.toLowerCase() === name.toLowerCase());
  if (!v) return undefined;
  if (v.type === REG.QWORD && v.data.length >= 8) {
    let n = 0n;
    for (let i = 7; i >= 0; i--) n = (n << 8n) | BigInt(v.data[i]!);
    return n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : undefined;
  }
  const r = hivexValueDword(v);
  return r.ok ? (r.value < 0 ? r.value + 0x100000000 : r.value) : undefined;
}

/** The raw value (case-insensitive name) for lenient readers. */
export function rawValue(key: RegKey | undefined, name: string): RegValue | undefined {
  if (!key) return undefined;
  return key.values().find((x) => x.name.toLowerCase() === name.toLowerCase());
}

/** Case-insensitive subkey path for lenient readers (undefined when any part is absent). */
export function subkeyPath(key: RegKey | undefined, path: readonly string[]): RegKey | undefined {
  let cur = key;
  for (const p of path) {
    if (!cur) return undefined;
    const lp = p.toLowerCase();
    cur = cur.subkeys().find((c) => c.name.toLowerCase() === lp);
  }
  return cur;
}
