import { FormatError, CommonCode } from './errors.js';

/**
 * Safe-integer arithmetic for numbers that come from disk. JavaScript numbers are exact up to
 * 2^53 (8 PiB); anything above is refused instead of silently rounded. Never use the bitwise
 * operators (`|`, `&`, `>>`, `>>>`) on byte offsets or cluster numbers: they truncate to 32 bits.
 */
export const MAX_SAFE = Number.MAX_SAFE_INTEGER;

/** Convert a bigint read from disk to a number, throwing FormatError if it is not exact. */
export function toSafeNumber(v: bigint, what = 'value'): number {
  if (v < 0n || v > BigInt(MAX_SAFE)) {
    throw new FormatError(CommonCode.Overflow, `${what} = ${v} does not fit in 2^53`, { what, value: v.toString() });
  }
  return Number(v);
}

export function checkedAdd(a: number, b: number, what = 'sum'): number {
  const r = a + b;
  if (!Number.isSafeInteger(r)) {
    throw new FormatError(CommonCode.Overflow, `${what}: ${a} + ${b} overflows 2^53`, { what, a, b });
  }
  return r;
}

export function checkedMul(a: number, b: number, what = 'product'): number {
  const r = a * b;
  if (!Number.isSafeInteger(r)) {
    throw new FormatError(CommonCode.Overflow, `${what}: ${a} * ${b} overflows 2^53`, { what, a, b });
  }
  return r;
}

/** True when `[off, off + len)` lies inside `[0, size)`; overflow-safe for non-negative integers. */
export function inRange(off: number, len: number, size: number): boolean {
  return Number.isInteger(off) && Number.isInteger(len) && off >= 0 && len >= 0 && off <= size && len <= size - off;
}

/** Round `n` up to a multiple of `align` (a positive integer). */
export function alignUp(n: number, align: number): number {
  const r = n % align;
  return r === 0 ? n : n + (align - r);
}

/** Round `n` down to a multiple of `align`. */
export function alignDown(n: number, align: number): number {
  return n - (n % align);
}

/** Integer division for values beyond 2^31 (bitwise-free). */
export function idiv(a: number, b: number): number {
  return Math.floor(a / b);
}
