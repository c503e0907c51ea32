import { decodeNameRange, type NameSpan } from '../read/names.js';

/*
 * Names left where they are in the hive image: exporters sort and print most names (Latin-1
 * "compressed" ones) straight from those bytes, and decode a JS string only for UTF-16 names
 * and the rare names that need escaping or re-encoding.
 */

/** The name as a JS string (Latin-1, or lossless UTF-16 with an odd last byte dropped). */
export function spanName(buf: Uint8Array, s: NameSpan): string {
  return decodeNameRange(buf, s.nameOff, s.nameLen, s.nameCompressed);
}

/** Order of two Latin-1 names by their bytes, which is also code-point order (Perl `cmp`). */
export function compareLatin1Spans(buf: Uint8Array, a: NameSpan, b: NameSpan): number {
  const n = a.nameLen < b.nameLen ? a.nameLen : b.nameLen;
  const x = a.nameOff;
  const y = b.nameOff;
  for (let i = 0; i < n; i++) {
    const d = buf[x + i]! - buf[y + i]!;
    if (d !== 0) return d;
  }
  return a.nameLen - b.nameLen;
}

/** True when every name in `items[0, n)` is stored as Latin-1. */
export function allLatin1(items: readonly NameSpan[], n: number): boolean {
  for (let i = 0; i < n; i++) if (!items[i]!.nameCompressed) return false;
  return true;
}

/** Below this many items an insertion sort beats Array.prototype.sort (no comparator closure, no work array). */
const INSERTION_MAX = 16;

/**
 * Stable in-place sort of the Latin-1 names `items[0, n)` by their bytes (callers check
 * allLatin1 first; lists with UTF-16 names are sorted as strings instead).
 */
export function sortLatin1Spans<T extends NameSpan>(buf: Uint8Array, items: T[], n: number): void {
  if (n > INSERTION_MAX) {
    sortPrefix(items, n, (a, b) => compareLatin1Spans(buf, a, b));
    return;
  }
  for (let i = 1; i < n; i++) {
    const x = items[i]!;
    let j = i - 1;
    while (j >= 0 && compareLatin1Spans(buf, items[j]!, x) > 0) {
      items[j + 1] = items[j]!;
      j--;
    }
    items[j + 1] = x;
  }
}

/** Stable sort of `items[0, n)` in place (Array.prototype.sort on a copy when n < length). */
export function sortPrefix<T>(items: T[], n: number, cmp: (a: T, b: T) => number): void {
  if (n === items.length) {
    items.sort(cmp);
    return;
  }
  const part = items.slice(0, n).sort(cmp);
  for (let i = 0; i < n; i++) items[i] = part[i]!;
}
