/**
 * Case folding for name lookups. FAT compares names case-insensitively by upper-casing each
 * UTF-16 code unit on its own (Windows uses its per-unit upcase table; JavaScript's
 * `toUpperCase` would turn "ß" into "SS" and change lengths). The table is built once, lazily:
 * each code unit maps to the single-unit upper case of itself, or to itself when the upper case
 * is longer than one unit.
 */
let table: Uint16Array | undefined;

function buildTable(): Uint16Array {
  const t = new Uint16Array(0x10000);
  for (let c = 0; c < 0x10000; c++) {
    if (c >= 0xd800 && c <= 0xdfff) {
      t[c] = c;
      continue;
    }
    const u = String.fromCharCode(c).toUpperCase();
    t[c] = u.length === 1 ? u.charCodeAt(0) : c;
  }
  return t;
}

export function upcaseUnit(unit: number): number {
  table ??= buildTable();
  return table[unit]!;
}

/** Upper-case `s` one code unit at a time (length preserved). */
export function upcase(s: string): string {
  table ??= buildTable();
  let out = '';
  let changed = false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const u = table[c]!;
    if (u !== c) changed = true;
    out += String.fromCharCode(u);
  }
  return changed ? out : s;
}
