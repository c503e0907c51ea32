/**
 * Windows FILETIME: 100-nanosecond intervals since 1601-01-01T00:00:00Z, as a bigint.
 */
export const FILETIME_UNIX_EPOCH = 116444736000000000n;

/** FILETIME -> Date (millisecond precision; out-of-range values clamp to an Invalid Date). */
export function filetimeToDate(ft: bigint): Date {
  const ms = (ft - FILETIME_UNIX_EPOCH) / 10000n;
  return new Date(Number(ms));
}

/** FILETIME -> nanoseconds since the Unix epoch (exact). */
export function filetimeToUnixNs(ft: bigint): bigint {
  return (ft - FILETIME_UNIX_EPOCH) * 100n;
}

/** Date -> FILETIME. */
export function dateToFiletime(d: Date): bigint {
  return BigInt(d.getTime()) * 10000n + FILETIME_UNIX_EPOCH;
}

/** Current time as a FILETIME (honours a frozen clock such as faketime). */
export function nowFiletime(): bigint {
  return dateToFiletime(new Date());
}

/** ISO 8601 with 100-ns precision, e.g. 2024-01-15T10:00:00.1234567Z; `fraction: false` drops it. */
export function filetimeToIso(ft: bigint, fraction = true): string {
  const secs = (ft - FILETIME_UNIX_EPOCH) / 10000000n;
  let rem = (ft - FILETIME_UNIX_EPOCH) % 10000000n;
  let s = secs;
  if (rem < 0n) {
    rem += 10000000n;
    s -= 1n;
  }
  const d = new Date(Number(s) * 1000);
  if (Number.isNaN(d.getTime())) return 'invalid';
  const base = d.toISOString().slice(0, 19);
  return fraction ? `${base}.${rem.toString().padStart(7, '0')}Z` : `${base}Z`;
}
