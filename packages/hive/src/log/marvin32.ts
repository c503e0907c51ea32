/**
 * Marvin32 (the hash .NET and the Windows kernel use for string hashing), 64-bit result. Windows
 * protects HvLE log entries with it, seeded with 0x82EF4D887A4E55C5 (Suhanov "Log entries").
 * State is two 32-bit lanes; each 4-byte little-endian block is added to the low lane and mixed;
 * the tail is padded with 0x80 and mixed twice. Result: (high << 32) | low.
 */
export const LOG_ENTRY_SEED = 0x82ef4d887a4e55c5n;

function rotl(x: number, n: number): number {
  return ((x << n) | (x >>> (32 - n))) >>> 0;
}

export function marvin32(data: Uint8Array, seed: bigint = LOG_ENTRY_SEED, off = 0, len = data.length - off): bigint {
  let lo = Number(seed & 0xffffffffn);
  let hi = Number((seed >> 32n) & 0xffffffffn);
  const mix = (v: number) => {
    lo = (lo + v) >>> 0;
    hi = (hi ^ lo) >>> 0;
    lo = (rotl(lo, 20) + hi) >>> 0;
    hi = (rotl(hi, 9) ^ lo) >>> 0;
    lo = (rotl(lo, 27) + hi) >>> 0;
    hi = rotl(hi, 19);
  };
  let p = off;
  const end = off + len;
  while (end - p >= 4) {
    mix((data[p]! | (data[p + 1]! << 8) | (data[p + 2]! << 16) | (data[p + 3]! << 24)) >>> 0);
    p += 4;
  }
  // Tail: the remaining bytes, then 0x80, as a little-endian u32.
  let fin = 0x80;
  const rem = end - p;
  if (rem === 1) fin = 0x8000 | data[p]!;
  else if (rem === 2) fin = 0x800000 | data[p]! | (data[p + 1]! << 8);
  else if (rem === 3) fin = (0x80000000 | data[p]! | (data[p + 1]! << 8) | (data[p + 2]! << 16)) >>> 0;
  mix(fin);
  mix(0);
  return (BigInt(hi) << 32n) | BigInt(lo);
}
