/**
 * The volume's $UpCase table: 65536 UTF-16 code units mapping each unit to its upper case.
 * NTFS compares names (lookups and $I30 collation) through it, never through JS toUpperCase.
 * Ref: ntfs-3g libntfs-3g/unistr.c ntfs_names_full_collate.
 */
const HOST_BIG_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 0;

export class UpCase {
  readonly table: Uint16Array;

  constructor(raw: Uint8Array) {
    const n = Math.min(65536, raw.length >> 1);
    const table = new Uint16Array(65536);
    // Every volume is opened through this table: copy it as a block (a per-entry loop costs
    // ~10 ms of a cold start). The on-disk table is little-endian, like every host Node runs on
    // in practice; a big-endian host swaps.
    new Uint8Array(table.buffer).set(raw.subarray(0, 2 * n));
    if (HOST_BIG_ENDIAN) for (let i = 0; i < n; i++) table[i] = raw[2 * i]! | (raw[2 * i + 1]! << 8);
    for (let i = n; i < 65536; i++) table[i] = i;
    this.table = table;
  }

  /** Upper-case one string with the table. */
  upper(s: string): string {
    let out = '';
    for (let i = 0; i < s.length; i++) out += String.fromCharCode(this.table[s.charCodeAt(i)]!);
    return out;
  }

  /** $I30 collation (COLLATION_FILE_NAME): compare upper-cased code units, then length. */
  compare(a: string, b: string): number {
    const t = this.table;
    const n = Math.min(a.length, b.length);
    for (let i = 0; i < n; i++) {
      const x = t[a.charCodeAt(i)]!;
      const y = t[b.charCodeAt(i)]!;
      if (x !== y) return x < y ? -1 : 1;
    }
    return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
  }

  /** Full collation: case-insensitive first, then exact code units (ties between POSIX names). */
  compareFull(a: string, b: string): number {
    const c = this.compare(a, b);
    if (c !== 0) return c;
    return a < b ? -1 : a > b ? 1 : 0;
  }

  equalsIgnoreCase(a: string, b: string): boolean {
    return a.length === b.length && this.compare(a, b) === 0;
  }
}

/** A default table (ASCII + Latin-1 + the BMP mappings Node knows), for volumes being created in tests. */
export function defaultUpcaseBytes(): Uint8Array {
  const out = new Uint8Array(131072);
  for (let i = 0; i < 65536; i++) {
    let u = i;
    if (i < 0xd800 || i > 0xdfff) {
      const s = String.fromCharCode(i).toUpperCase();
      if (s.length === 1) u = s.charCodeAt(0);
    }
    out[2 * i] = u & 0xff;
    out[2 * i + 1] = u >>> 8;
  }
  return out;
}
