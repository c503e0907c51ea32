/**
 * Case folding for name lookups. FAT compares names case-insensitively by upper-casing each
 * UTF-16 code unit on its own (Windows uses its per-unit upcase table; JavaScript's
 * `toUpperCase` would turn "ß" into "SS" and change lengths). ASCII takes a fast path; other
 * code units map to the single-unit upper case of themselves, or to themselves when the upper
 * case is longer than one unit, computed on first use and remembered.
 */
const cache = new Map<number, number>();

export function upcaseUnit(unit: number): number {
  if (unit < 0x80) return unit >= 0x61 && unit <= 0x7a ? unit - 32 : unit;
  let u = cache.get(unit);
  if (u === undefined) {
    if (unit >= 0xd800 && unit <= 0xdfff) u = unit;
    else {
      const s = String.fromCharCode(unit).toUpperCase();
      u = s.length === 1 ? s.charCodeAt(0) : unit;
    }
    cache.set(unit, u);
  }
  return u;
}

/** Upper-case `s` one code unit at a time (length preserved). */
export function upcase(s: string): string {
  let ascii = true;
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (ascii) return s.toUpperCase();
  let out = '';
  for (let i = 0; i < s.length; i++) out += String.fromCharCode(upcaseUnit(s.charCodeAt(i)));
  return out;
}
