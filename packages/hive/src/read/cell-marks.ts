/**
 * A set of cell offsets in a hive image as one bit per 4-byte slot (cells start on 4-byte
 * boundaries): O(1) without hashing, a 32nd of the image in memory. Bit of `off`: byte
 * `off >>> 5`, bit `(off >>> 2) & 7`. Offsets past the covered size are never members.
 */
export class CellMarks {
  private bits: Uint8Array;

  constructor(size: number) {
    this.bits = new Uint8Array((size >>> 5) + 1);
  }

  has(off: number): boolean {
    return (this.bits[off >>> 5]! & (1 << ((off >>> 2) & 7))) !== 0;
  }

  set(off: number): void {
    const i = off >>> 5;
    if (i < this.bits.length) this.bits[i] = this.bits[i]! | (1 << ((off >>> 2) & 7));
  }

  clear(off: number): void {
    const i = off >>> 5;
    if (i < this.bits.length) this.bits[i] = this.bits[i]! & ~(1 << ((off >>> 2) & 7));
  }

  /** Cover offsets below `size` too (the image grew); existing marks stay. */
  grow(size: number): void {
    const need = (size >>> 5) + 1;
    if (need <= this.bits.length) return;
    const nb = new Uint8Array(Math.max(need, this.bits.length * 2));
    nb.set(this.bits);
    this.bits = nb;
  }
}
