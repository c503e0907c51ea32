import { UsageError } from '@guestkit/disk/binary';
import { FatCode } from './errors.js';
import type { Codepage } from './codepage.js';
import { upcaseUnit } from './upcase.js';
import { NTRES_BASE_LOWER, NTRES_EXT_LOWER, SLOT_E5_ESCAPE, SLOT_FREE } from './layout/dir-entry.js';

/** Longest long name, in UTF-16 code units (fatgen103 §7). */
export const MAX_LFN_UNITS = 255;
/** Highest numeric tail Windows tries ("~999999") before giving up (RtlGenerate8dot3Name docs). */
export const MAX_TAIL_INDEX = 999_999;

/** Characters never allowed in a long name (besides controls < 0x20). */
const LFN_ILLEGAL = '"*/:<>?\\|';
/**
 * Characters that may appear in a long name but not in a short one; generated aliases replace
 * them with "_" (ntdll RtlGenerate8dot3Name; fastfat FsRtlIsFatDbcsLegal).
 */
const SHORT_ILLEGAL = '"*+,/:;<=>?[\\]|';

function isShortIllegalUnit(u: number): boolean {
  return u < 0x20 || u === 0x7f || (u < 0x80 && SHORT_ILLEGAL.includes(String.fromCharCode(u)));
}

/**
 * Check a name for creation and normalise it as the Win32 layer does: trailing dots and spaces
 * are removed ("name." and "name " both become "name"). Throws UsageError(FAT_BAD_NAME or
 * FAT_NAME_TOO_LONG).
 */
export function normalizeLongName(name: string): string {
  let end = name.length;
  while (end > 0 && (name.charCodeAt(end - 1) === 0x2e || name.charCodeAt(end - 1) === 0x20)) end--;
  const n = name.slice(0, end);
  if (n.length === 0 || name === '.' || name === '..') {
    throw new UsageError(FatCode.BadName, `invalid FAT name ${JSON.stringify(name)}: empty after removing trailing dots and spaces`, { name });
  }
  if (n.length > MAX_LFN_UNITS) {
    throw new UsageError(FatCode.NameTooLong, `FAT name is ${n.length} UTF-16 code units long; the limit is ${MAX_LFN_UNITS}`, { name, length: n.length });
  }
  for (let i = 0; i < n.length; i++) {
    const u = n.charCodeAt(i);
    if (u < 0x20 || LFN_ILLEGAL.includes(n[i]!)) {
      throw new UsageError(FatCode.BadName, `invalid FAT name ${JSON.stringify(name)}: character U+${u.toString(16).padStart(4, '0')} is not allowed`, {
        name, unit: u,
      });
    }
  }
  return n;
}

/** The stored form of an 8.3 name plus what the directory entry needs alongside it. */
export interface ShortNamePlan {
  /** DIR_Name: 11 bytes, space padded, 0xE5 escaped as 0x05. */
  raw: Uint8Array;
  /** DIR_NTRes case bits (only when no long name is needed). */
  ntRes: number;
  /** True when the long name must be stored in LFN slots. */
  needsLfn: boolean;
}

/** Key for comparing 11-byte short names. */
export function shortKey(raw: Uint8Array): string {
  let s = '';
  for (let i = 0; i < 11; i++) s += String.fromCharCode(raw[i]!);
  return s;
}

function pad83(base: number[], ext: number[]): Uint8Array {
  const raw = new Uint8Array(11).fill(0x20);
  raw.set(base.slice(0, 8), 0);
  raw.set(ext.slice(0, 3), 8);
  if (raw[0] === SLOT_FREE) raw[0] = SLOT_E5_ESCAPE;
  return raw;
}

/**
 * The upper-cased OEM bytes of `name` if it is a legal 8.3 name as it stands (fastfat:
 * RtlUpcaseUnicodeStringToCountedOemString succeeds and FsRtlIsFatDbcsLegal accepts it, and the
 * name has no space — FatSelectNames), else undefined.
 */
function legal83(name: string, cp: Codepage): { base: number[]; ext: number[] } | undefined {
  if (name.length > 12 || name.includes(' ')) return undefined;
  const dot = name.indexOf('.');
  if (dot !== name.lastIndexOf('.')) return undefined;
  const baseStr = dot < 0 ? name : name.slice(0, dot);
  const extStr = dot < 0 ? '' : name.slice(dot + 1);
  if (baseStr.length < 1 || baseStr.length > 8 || extStr.length > 3 || (dot >= 0 && extStr.length === 0)) return undefined;
  const enc = (s: string): number[] | undefined => {
    const out: number[] = [];
    for (let i = 0; i < s.length; i++) {
      const u = upcaseUnit(s.charCodeAt(i));
      if (isShortIllegalUnit(u)) return undefined;
      const b = cp.encodeChar(u);
      if (b < 0) return undefined;
      out.push(b);
    }
    return out;
  };
  const base = enc(baseStr);
  const ext = enc(extStr);
  return base && ext ? { base, ext } : undefined;
}

/**
 * fastfat FatEvaluateNameCase: a legal 8.3 name needs no long name when the base and the
 * extension are each all upper or all lower case in A-Z; the lower-case parts are flagged in
 * DIR_NTRes. Any character >= 0x80 forces a long name (code-page invariance: the short name's
 * bytes mean different characters under different OEM code pages).
 */
function evaluateCase(name: string): { needsLfn: boolean; ntRes: number } {
  const dot = name.indexOf('.');
  const parts = dot < 0 ? [name, ''] : [name.slice(0, dot), name.slice(dot + 1)];
  let ntRes = 0;
  for (let p = 0; p < 2; p++) {
    let upper = 0;
    let lower = 0;
    for (const ch of parts[p]!) {
      const u = ch.charCodeAt(0);
      if (u >= 0x80) return { needsLfn: true, ntRes: 0 };
      if (u >= 0x41 && u <= 0x5a) upper++;
      else if (u >= 0x61 && u <= 0x7a) lower++;
    }
    if (upper > 0 && lower > 0) return { needsLfn: true, ntRes: 0 };
    if (lower > 0) ntRes |= p === 0 ? NTRES_BASE_LOWER : NTRES_EXT_LOWER;
  }
  return { needsLfn: false, ntRes };
}

/**
 * The 16-bit checksum Windows NT 6.x+ puts into generated short names ("SOBC84~1.ASP"), as
 * reverse-engineered from ntoskrnl RtlGenerate8dot3Name: a base-37 rolling sum over the long
 * name's UTF-16 code units, scrambled with 314159269 and reduced modulo 1000000007.
 * The returned value's hex digits are emitted low nibble first.
 */
export function windowsShortNameChecksum(name: string): number {
  let sum = 0;
  for (let i = 0; i < name.length; i++) sum = (sum * 0x25 + name.charCodeAt(i)) & 0xffff;
  let t = Math.imul(sum, 314159269);
  if (t < 0) t = -t;
  t = t % 1000000007;
  return t & 0xffff;
}

const HEX = '0123456789ABCDEF';

function checksumDigits(name: string): number[] {
  let c = windowsShortNameChecksum(name);
  const out: number[] = [];
  for (let i = 0; i < 4; i++) {
    out.push(HEX.charCodeAt(c & 0xf));
    c >>= 4;
  }
  return out;
}

/** Bytes for one character of a generated alias, or undefined if it is skipped. */
function aliasUnit(u: number, cp: Codepage): number | undefined {
  if (u <= 0x20 || u === 0x2e) return undefined;
  if (u < 0x7f && isShortIllegalUnit(u)) return 0x5f; // '_'
  const up = upcaseUnit(u);
  const b = cp.encodeChar(up);
  // Characters the OEM code page cannot represent are dropped (lossy), as ntdll does.
  return b < 0 || isShortIllegalUnit(up) ? undefined : b;
}

/**
 * Generate an 8.3 alias the way Windows (fastfat FatSelectNames + ntdll RtlGenerate8dot3Name)
 * does: base = up to 6 legal characters before the last dot, extension = up to 3 after it;
 * "BASE~1".."BASE~4"; from the fifth try (or at once when the base has at most 2 characters)
 * the first two base characters plus the 4-hex-digit checksum of the long name, "~1", "~2", ...,
 * shortening the base as the tail grows. `taken(key)` says whether a short name is in use.
 */
export function generateShortName(name: string, cp: Codepage, taken: (key: string) => boolean): Uint8Array {
  const lastDot = name.lastIndexOf('.');
  const dotPos = lastDot < 0 ? name.length : lastDot;
  let base: number[] = [];
  for (let i = 0; i < dotPos && base.length < 6; i++) {
    const b = aliasUnit(name.charCodeAt(i), cp);
    if (b !== undefined) base.push(b);
  }
  const ext: number[] = [];
  for (let i = dotPos + 1; i < name.length && ext.length < 3; i++) {
    const b = aliasUnit(name.charCodeAt(i), cp);
    if (b !== undefined) ext.push(b);
  }
  let hashed = false;
  if (base.length <= 2) {
    base = [...base, ...checksumDigits(name)];
    hashed = true;
  }
  let index = 0;
  for (let tries = 0; tries <= MAX_TAIL_INDEX + 4; tries++) {
    index++;
    if (!hashed && index > 4) {
      base = [...base.slice(0, 2), ...checksumDigits(name)];
      hashed = true;
      index = 1;
    }
    if (index > MAX_TAIL_INDEX) break;
    const tail = [0x7e, ...String(index).split('').map((d) => d.charCodeAt(0))];
    const raw = pad83([...base.slice(0, 8 - tail.length), ...tail], ext);
    if (!taken(shortKey(raw))) return raw;
  }
  throw new UsageError(FatCode.NoShortName, `no free 8.3 alias left for ${JSON.stringify(name)} (tried up to ~${MAX_TAIL_INDEX})`, { name });
}

/**
 * Decide how `name` (already normalised) is stored: as a plain 8.3 name (with NT case bits) when
 * it is one, else with a long name plus a generated alias unique among `taken` short names.
 */
export function planShortName(name: string, cp: Codepage, taken: (key: string) => boolean): ShortNamePlan {
  const legal = legal83(name, cp);
  if (legal) {
    const raw = pad83(legal.base, legal.ext);
    const c = evaluateCase(name);
    if (!taken(shortKey(raw))) return { raw, ntRes: c.needsLfn ? 0 : c.ntRes, needsLfn: c.needsLfn };
  }
  return { raw: generateShortName(name, cp, taken), ntRes: 0, needsLfn: true };
}

/**
 * Display form of a stored short name: base and extension trimmed, 0x05 escape undone, decoded
 * through the OEM code page, and A-Z lowered where DIR_NTRes says so (fastfat Fat8dot3ToString).
 */
export function decodeShortName(raw: Uint8Array, ntRes: number, cp: Codepage, applyCase: boolean): string {
  let baseLen = 8;
  while (baseLen > 0 && raw[baseLen - 1] === 0x20) baseLen--;
  let extLen = 3;
  while (extLen > 0 && raw[8 + extLen - 1] === 0x20) extLen--;
  const bytes = raw.slice(0, baseLen);
  if (bytes[0] === SLOT_E5_ESCAPE) bytes[0] = SLOT_FREE;
  let base = cp.decode(bytes);
  let ext = cp.decode(raw.subarray(8, 8 + extLen));
  if (applyCase) {
    if (ntRes & NTRES_BASE_LOWER) base = lowerAZ(base);
    if (ntRes & NTRES_EXT_LOWER) ext = lowerAZ(ext);
  }
  return extLen > 0 ? `${base}.${ext}` : base;
}

function lowerAZ(s: string): string {
  return s.replace(/[A-Z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 32));
}
