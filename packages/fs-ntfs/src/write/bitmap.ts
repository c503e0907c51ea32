import { NoSpaceError } from '@guestkit/disk/binary';
import { NtfsCode } from '../errors.js';
import type { Run } from '../runlist/runlist.js';

/**
 * An in-memory allocation bitmap ($Bitmap for clusters, $MFT:$BITMAP for records) with the
 * range of bytes changed since the last commit. Bit n set = unit n in use.
 */
export class AllocBitmap {
  dirtyLo = Infinity;
  dirtyHi = -1;
  /** Next-fit position (units). */
  private cursor = 0;

  constructor(public bytes: Uint8Array, public units: number, readonly what: string) {}

  get(n: number): boolean {
    return (this.bytes[n >>> 3]! & (1 << (n & 7))) !== 0;
  }

  private mark(n: number, len: number, on: boolean): void {
    for (let i = n; i < n + len; ) {
      const byte = i >>> 3;
      if ((i & 7) === 0 && i + 8 <= n + len) {
        this.bytes[byte] = on ? 0xff : 0;
        i += 8;
      } else {
        if (on) this.bytes[byte] = this.bytes[byte]! | (1 << (i & 7));
        else this.bytes[byte] = this.bytes[byte]! & ~(1 << (i & 7));
        i++;
      }
    }
    this.dirtyLo = Math.min(this.dirtyLo, n >>> 3);
    this.dirtyHi = Math.max(this.dirtyHi, (n + len - 1) >>> 3);
  }

  set(n: number, len: number): void {
    this.mark(n, len, true);
  }
  clear(n: number, len: number): void {
    this.mark(n, len, false);
  }

  /** Count of free units. */
  freeCount(): number {
    let used = 0;
    for (let n = 0; n < this.units; n++) if (this.get(n)) used++;
    return this.units - used;
  }

  /** Length of the free run starting at n (up to max). */
  private freeRun(n: number, max: number): number {
    let k = 0;
    while (k < max && n + k < this.units) {
      const i = n + k;
      if ((i & 7) === 0 && this.bytes[i >>> 3] === 0 && k + 8 <= max && i + 8 <= this.units) {
        k += 8;
        continue;
      }
      if (this.get(i)) break;
      k++;
    }
    return k;
  }

  /** Next free unit at or after n, or -1. Skips full bytes quickly. */
  nextFree(n: number): number {
    let i = n;
    while (i < this.units) {
      if ((i & 7) === 0 && this.bytes[i >>> 3] === 0xff) {
        i += 8;
        continue;
      }
      if (!this.get(i)) return i;
      i++;
    }
    return -1;
  }

  /**
   * Allocate `count` units at or above `floor` (nothing below it is ever taken): one contiguous
   * extent if there is one (next-fit from the cursor, then from the `hint`, then from the floor),
   * else the first free fragments from the hint on, then from the floor up to the hint. Marks
   * them used. @throws NoSpaceError
   */
  allocate(count: number, hint = 0, floor = 0): { start: number; length: number }[] {
    if (count <= 0) return [];
    const min = Math.max(hint, floor);
    // contiguous first
    for (const from of new Set([Math.max(this.cursor, floor), min, floor])) {
      let i = this.nextFree(from);
      while (i >= 0) {
        const run = this.freeRun(i, count);
        if (run >= count) {
          this.set(i, count);
          this.cursor = i + count;
          return [{ start: i, length: count }];
        }
        i = this.nextFree(i + run);
      }
    }
    // fragments: from `min` to the end, then wrapping round to the start of the volume
    const out: { start: number; length: number }[] = [];
    let need = count;
    for (const [from, to] of [[min, this.units], [floor, Math.min(min, this.units)]] as const) {
      let i = this.nextFree(from);
      while (need > 0 && i >= 0 && i < to) {
        const run = this.freeRun(i, Math.min(need, to - i));
        out.push({ start: i, length: run });
        need -= run;
        i = this.nextFree(i + run);
      }
    }
    if (need > 0) {
      throw new NoSpaceError(NtfsCode.NoSpace, `${this.what}: ${count} free units needed, ${count - need} available`, { what: this.what, needed: count });
    }
    for (const r of out) this.set(r.start, r.length);
    this.cursor = out[out.length - 1]!.start + out[out.length - 1]!.length;
    return out;
  }

  /** Free the clusters of allocated runs. */
  freeRuns(runs: readonly Run[]): void {
    for (const r of runs) if (r.lcn >= 0) this.clear(r.lcn, r.length);
  }
}
