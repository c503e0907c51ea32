import { FormatError, ByteWriter, hex } from '@guestkit/disk/binary';
import { HiveCode } from '../errors.js';
import { HBIN_BASE } from '../layout/base-block.js';
import { HBIN, HBIN_ALIGN, CELL_HEADER, CELL_ALIGN } from '../layout/hbin.js';
import type { HiveImage } from '../read/hive-image.js';

/** Cell offsets are 32-bit and relative to 0x1000; stay well clear of the top (Windows caps hives at 2 GiB of stable storage). */
const MAX_HBINS_END = HBIN_BASE + 0x7fff_f000;

/**
 * Append-only cell allocation, the hivex policy ("to ensure robustness in the face of the
 * partially understood on-disk format, hivex only allocates new blocks after the end of the
 * file"): free cells already in the hive are never reused, so a half-understood structure is
 * never overwritten. New cells go into hbins appended after the last hbin; the unused tail of
 * our newest hbin is kept as one free cell. Freed cells are marked free (positive size) and
 * dropped from the valid-cell index; they are not reused either (by us — Windows will).
 */
export class Allocator {
  private readonly img: HiveImage;
  /** File offset just past the last hbin. */
  hbinsEnd: number;
  /** Next free byte in the hbin we own at the end, and that hbin's end (0 = none yet). */
  private next = 0;
  private binEnd = 0;
  /** Bytes of cells allocated since open (for statistics). */
  allocatedBytes = 0;
  freedBytes = 0;

  /** `resume`: continue in the free tail of a bin we created ourselves (a new hive). */
  constructor(img: HiveImage, resume?: { next: number; binEnd: number }) {
    this.img = img;
    this.hbinsEnd = img.stats.hbinsEnd;
    if (resume) {
      this.next = resume.next;
      this.binEnd = resume.binEnd;
    }
  }

  /**
   * Allocate a cell with room for `dataLen` bytes of data (the cell is rounded up to a multiple
   * of 8), zero-filled, marked allocated, with the 2-byte signature written when given.
   * Returns the cell's file offset.
   */
  alloc(dataLen: number, sig?: number): number {
    const size = alignCell(dataLen + CELL_HEADER);
    if (this.next === 0 || this.next + size > this.binEnd) this.newBin(size);
    const off = this.next;
    this.next += size;
    const w = this.img.writer;
    w.fill(off, size, 0, 'new cell');
    w.i32(off, -size, 'cell size');
    if (sig !== undefined) w.u16(off + CELL_HEADER, sig, 'cell signature');
    const rem = this.binEnd - this.next;
    if (rem > 0) w.i32(this.next, rem, 'free tail cell');
    this.img.markAllocated(off);
    this.allocatedBytes += size;
    return off;
  }

  /** Mark an allocated cell free (positive size) and drop it from the valid-cell index. */
  free(off: number): void {
    if (!this.img.isCell(off)) return;
    const size = this.img.cellSize(off);
    this.img.writer.i32(off, size, 'cell size');
    this.img.markFree(off);
    this.freedBytes += size;
  }

  private newBin(cellSize: number): void {
    const binSize = Math.ceil((cellSize + HBIN.SIZE) / HBIN_ALIGN) * HBIN_ALIGN;
    const at = this.hbinsEnd;
    if (at + binSize > MAX_HBINS_END) {
      throw new FormatError(HiveCode.TooLarge, `${this.img.name}: growing the hive to ${hex(at + binSize)} bytes would exceed what 32-bit cell offsets address`, {
        where: this.img.name, size: at + binSize,
      });
    }
    this.img.grow(Math.max(this.img.size, at + binSize));
    const w = this.img.writer;
    w.fill(at, binSize, 0, 'new hbin');
    w.u32(at + HBIN.signature, 0x6e696268, 'hbin signature');
    w.u32(at + HBIN.offset, at - HBIN_BASE, 'hbin offset');
    w.u32(at + HBIN.size, binSize, 'hbin size');
    this.img.hbinStarts.push(at);
    this.hbinsEnd = at + binSize;
    this.next = at + HBIN.SIZE;
    this.binEnd = at + binSize;
    w.i32(this.next, binSize - HBIN.SIZE, 'free cell');
  }
}

export function alignCell(n: number): number {
  return Math.ceil(n / CELL_ALIGN) * CELL_ALIGN;
}
