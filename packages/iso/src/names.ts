import { LimitError } from '@guestkit/disk/binary';
import { IsoCode } from './errors.js';

/**
 * Name translation for the two directory trees of an image:
 * - ISO 9660 identifiers (ECMA-119 §7.5/§7.6): d-characters A-Z 0-9 _, files "NAME.EXT;1",
 *   directories "NAME". Level 1 allows 8.3 names; levels 2 and 3 allow 30 characters for a
 *   file's name plus extension and 31 for a directory (§7.5.1, §7.6.3).
 * - Joliet identifiers (Microsoft Joliet specification 1995): UCS-2, at most 64 characters,
 *   without * / : ; ? \ and control characters.
 * Rock Ridge NM carries the exact host name; these translated names are what readers without
 * Rock Ridge (or Windows, via Joliet) show.
 */

export type IsoLevel = 1 | 2 | 3;

/** Joliet's name limit in UCS-2 code units (Joliet specification §3.3; xorriso's default). */
export const JOLIET_MAX_NAME = 64;
/** Joliet limits a full path to 240 bytes of UCS-2 (xorriso and libarchive enforce it the same way). */
export const JOLIET_MAX_PATH_BYTES = 240;

interface Limits {
  fileName: number;
  fileExt: number;
  fileTotal: number;
  dir: number;
}

function limits(level: IsoLevel): Limits {
  return level === 1 ? { fileName: 8, fileExt: 3, fileTotal: 11, dir: 8 } : { fileName: 30, fileExt: 30, fileTotal: 30, dir: 31 };
}

/** Map to d-characters: upper case, and '_' for every other code point (one per code point). */
function dchars(s: string): string {
  const u = s.toUpperCase();
  return D_CHARS.test(u) ? u : u.replace(NOT_D_CHAR, '_');
}

const D_CHARS = /^[A-Z0-9_]*$/;
const NOT_D_CHAR = /[^A-Z0-9_]/gu;

/** Split a host name into name and extension at its last dot (a leading dot does not start an extension). */
function splitExt(name: string): [string, string] {
  const i = name.lastIndexOf('.');
  if (i <= 0) return [name, ''];
  return [name.slice(0, i), name.slice(i + 1)];
}

/** The base ISO 9660 identifier for a host name, before uniqueness is enforced (no ";1"). */
export function isoBaseName(hostName: string, isDir: boolean, level: IsoLevel): string {
  const L = limits(level);
  if (isDir) {
    const d = dchars(hostName).slice(0, L.dir);
    return d.length ? d : '_';
  }
  let [n, e] = splitExt(hostName);
  n = dchars(n);
  e = dchars(e).slice(0, L.fileExt);
  if (n.length + e.length > L.fileTotal) n = n.slice(0, Math.max(1, L.fileTotal - e.length));
  n = n.slice(0, L.fileName);
  if (n.length === 0 && e.length === 0) n = '_';
  return `${n}.${e}`;
}

/**
 * Make `base` unique among `taken` by replacing its tail with a decimal counter, keeping the
 * extension and the length limits; returns the chosen identifier and records it in `taken`.
 */
export function uniqueIsoName(base: string, isDir: boolean, level: IsoLevel, taken: Set<string>): string {
  if (!taken.has(base)) {
    taken.add(base);
    return base;
  }
  const L = limits(level);
  const dot = isDir ? -1 : base.lastIndexOf('.');
  const n = dot < 0 ? base : base.slice(0, dot);
  const e = dot < 0 ? '' : base.slice(dot);
  const maxN = isDir ? L.dir : Math.min(L.fileName, L.fileTotal - (e.length - 1));
  for (let i = 1; ; i++) {
    const digits = String(i);
    if (digits.length > maxN) break;
    const cand = n.slice(0, Math.max(0, maxN - digits.length)) + digits + e;
    if (!taken.has(cand)) {
      taken.add(cand);
      return cand;
    }
  }
  // Only reachable when 10^maxN names collide (more entries than one directory can hold at level 1).
  throw new LimitError(IsoCode.TooManyEntries, `no unique ISO 9660 name left for ${base} in its directory`, { name: base });
}

/** Characters Joliet forbids in names: control characters and * / : ; ? \ */
const JOLIET_BAD = /[\u0000-\u001f*/:;?\\]/g;

/** The base Joliet name (no ";1"), at most JOLIET_MAX_NAME code units, keeping a short extension. */
export function jolietBaseName(hostName: string): string {
  return truncateUnits(hostName.replace(JOLIET_BAD, '_'), JOLIET_MAX_NAME);
}

/** Truncate to `max` UTF-16 code units, keeping an extension of up to 8 units, never splitting a surrogate pair. */
function truncateUnits(s: string, max: number): string {
  if (s.length <= max) return s;
  const [n, e] = splitExt(s);
  if (e.length > 0 && e.length <= 8) return cutUnits(n, max - e.length - 1) + '.' + e;
  return cutUnits(s, max);
}

function cutUnits(s: string, n: number): string {
  if (s.length <= n) return s;
  let k = Math.max(0, n);
  const c = s.charCodeAt(k - 1);
  if (k > 0 && c >= 0xd800 && c <= 0xdbff) k--;
  return s.slice(0, k);
}

/** Make a Joliet name unique among `taken` (exact comparison) with a "~N" counter before the extension. */
export function uniqueJolietName(base: string, taken: Set<string>): string {
  if (!taken.has(base)) {
    taken.add(base);
    return base;
  }
  const [n, e] = splitExt(base);
  const ext = e ? '.' + e : '';
  for (let i = 1; ; i++) {
    const tag = '~' + i;
    const cand = cutUnits(n, JOLIET_MAX_NAME - ext.length - tag.length) + tag + ext;
    if (!taken.has(cand)) {
      taken.add(cand);
      return cand;
    }
  }
}

/**
 * ECMA-119 §9.3 order of directory records: file name and extension compared separately, the
 * shorter one padded with spaces (0x20), then the version number descending (always 1 here).
 * Works on ISO identifiers without ";1" and, code unit by code unit, on Joliet names.
 */
export function compareIdentifiers(a: string, b: string): number {
  const [an, ae] = splitIdentifier(a);
  const [bn, be] = splitIdentifier(b);
  return comparePadded(an, bn) || comparePadded(ae, be);
}

function splitIdentifier(s: string): [string, string] {
  const i = s.lastIndexOf('.');
  return i < 0 ? [s, ''] : [s.slice(0, i), s.slice(i + 1)];
}

function comparePadded(a: string, b: string): number {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = i < a.length ? a.charCodeAt(i) : 0x20;
    const y = i < b.length ? b.charCodeAt(i) : 0x20;
    if (x !== y) return x - y;
  }
  return 0;
}
