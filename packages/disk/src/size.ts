import { UsageError } from './binary/index.js';
import { DiskCode } from './errors.js';

const UNITS: Record<string, number> = { '': 1, b: 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40, p: 2 ** 50, e: 2 ** 60 };

/**
 * Parse a size the way qemu-img does: a number with an optional binary suffix
 * (k/K, M, G, T, P, E; optional "B"/"iB"), e.g. "10G", "512M", "1.5GiB", "4096".
 * @throws UsageError(BAD_SIZE) for anything else, negative sizes and sizes above 2^53.
 */
export function parseSize(s: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgtpe]?)(?:i?b)?\s*$/i.exec(s);
  if (!m) throw new UsageError(DiskCode.BadSize, `invalid size ${JSON.stringify(s)}: expected a number with an optional suffix k, M, G, T, P or E (powers of 1024)`, { value: s });
  const n = Number(m[1]) * UNITS[m[2]!.toLowerCase()]!;
  if (!Number.isFinite(n) || n < 0) throw new UsageError(DiskCode.BadSize, `invalid size ${JSON.stringify(s)}`, { value: s });
  const r = Math.round(n);
  if (!Number.isSafeInteger(r)) throw new UsageError(DiskCode.BadSize, `size ${JSON.stringify(s)} is larger than 2^53 bytes`, { value: s });
  return r;
}

/** Human size with binary units ("1.5 GiB", "512 B"). */
export function formatSize(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  if (i === 0) return `${n} B`;
  return `${Number.isInteger(v) ? v : v.toFixed(1)} ${units[i]}`;
}
