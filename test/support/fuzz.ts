import { GuestError } from '@guestkit/disk/binary';

/**
 * Seeded mutation fuzzing: flip bytes of a good input, run the parser, and require that it
 * either succeeds or throws a GuestError — never a TypeError/RangeError, a hang or an OOM.
 */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 1;
  }
  /** xorshift32 */
  next(): number {
    let x = this.s;
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    this.s = x;
    return x;
  }
  int(n: number): number {
    return this.next() % n;
  }
  pick<T>(a: readonly T[]): T {
    return a[this.int(a.length)]!;
  }
}

const INTERESTING = [0x00, 0xff, 0x7f, 0x80, 0x01, 0xfe];

/** Mutate a copy of `input`: a few byte flips, interesting values, or 32-bit extremes, focused on `regions` if given. */
export function mutate(input: Uint8Array, rng: Rng, regions?: { offset: number; length: number }[]): Uint8Array {
  const out = input.slice();
  const n = 1 + rng.int(8);
  for (let i = 0; i < n; i++) {
    let pos: number;
    if (regions && regions.length > 0) {
      const r = rng.pick(regions);
      pos = r.offset + rng.int(Math.max(1, r.length));
    } else pos = rng.int(out.length);
    if (pos >= out.length) continue;
    switch (rng.int(4)) {
      case 0:
        out[pos] = rng.int(256);
        break;
      case 1:
        out[pos] = rng.pick(INTERESTING);
        break;
      case 2:
        out[pos] = out[pos]! ^ (1 << rng.int(8));
        break;
      default: {
        const v = rng.pick([0xffffffff, 0x7fffffff, 0x80000000, 0, 1, 0x1000]);
        for (let k = 0; k < 4 && pos + k < out.length; k++) out[pos + k] = (v >>> (8 * k)) & 0xff;
      }
    }
  }
  return out;
}

/** Run `fn` and classify: ok, a GuestError, or anything else (a bug). */
export function classify(fn: () => unknown): { ok: true } | { ok: false; guest: true; code: string } | { ok: false; guest: false; error: unknown } {
  try {
    fn();
    return { ok: true };
  } catch (e) {
    if (e instanceof GuestError) return { ok: false, guest: true, code: e.code };
    return { ok: false, guest: false, error: e };
  }
}

/** Number of fuzz iterations: GUESTKIT_FUZZ_ITERS overrides the default. */
export function fuzzIterations(defaultN: number): number {
  const v = Number(process.env.GUESTKIT_FUZZ_ITERS);
  return Number.isFinite(v) && v > 0 ? v : defaultN;
}
