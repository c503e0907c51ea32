import { ByteView, ByteWriter, FormatError, UnsupportedError, hex, nullLogger, type Logger } from '@guestkit/disk/binary';
import { HiveCode } from '../errors.js';
import { CellMarks } from './cell-marks.js';
import { BASE, HBIN_BASE, FileType, decodeBaseBlock, type BaseBlock } from '../layout/base-block.js';
import { HBIN, HBIN_ALIGN, CELL_HEADER } from '../layout/hbin.js';
import { SIG } from '../layout/cells.js';

/** What the hbin scan found (for `hive check` and debugging). */
export interface CellStats {
  hbins: number;
  /** hbins skipped because their header was bad (unsafe mode only). */
  badHbins: number;
  allocatedCells: number;
  allocatedBytes: number;
  freeCells: number;
  freeBytes: number;
  /** File offset just past the last hbin that was read. */
  hbinsEnd: number;
}

export interface ImageOptions {
  unsafe: boolean;
  log: Logger;
  /** Name for messages ("SYSTEM", a path). */
  name: string;
}

/**
 * The bytes of a hive plus an index of every allocated cell, built by one pass over the hbins
 * (hivex handle.c does the same). Every pointer read from the hive is checked against this
 * index before it is followed, so a pointer can only ever land on the start of a real cell.
 *
 * The index is a CellMarks set (one bit per 4-byte slot). Offsets are file offsets (relative cell
 * offset + 0x1000), exactly what hivex uses as node handles. The buffer may grow when writing
 * (append-only allocation); handles stay valid because they are offsets, not views.
 */
export class HiveImage {
  /** Backing store; `capacity >= size`. Views into it go stale when it grows. */
  buf: Uint8Array;
  /** Logical file size in bytes. */
  size: number;
  /** Bounds-checked reader over `[0, size)`. Recreated whenever `size` changes. */
  view: ByteView;
  /**
   * `view.unchecked`, kept as a field for the hot paths: plain little-endian access to `[0, size)`
   * for fields inside a cell whose size was checked (out-of-range reads still throw).
   */
  dv: DataView;
  readonly base: BaseBlock;
  readonly name: string;
  readonly unsafe: boolean;
  readonly log: Logger;
  /** Root nk file offset. */
  readonly root: number;
  readonly stats: CellStats;
  /** Start offsets of every hbin that was read, ascending. */
  readonly hbinStarts: number[] = [];
  /** Every allocated cell's start. */
  private readonly cells: CellMarks;

  constructor(bytes: Uint8Array, opts: ImageOptions, allowBadChecksum = false) {
    this.buf = bytes;
    this.size = bytes.length;
    this.name = opts.name;
    this.unsafe = opts.unsafe;
    this.log = opts.log ?? nullLogger;
    this.view = new ByteView(bytes, 0, opts.name);
    this.dv = this.view.unchecked;
    if (bytes.length < BASE.LOG_COPY_SIZE || this.view.ascii(0, 4) !== 'regf') {
      const got = bytes.length >= 4 ? this.view.ascii(0, 4) : '';
      throw new FormatError(HiveCode.BadSignature, `${opts.name}: not a Windows registry hive (signature ${JSON.stringify(got)}, expected "regf")`, {
        where: opts.name, offset: 0, expected: 'regf', actual: got,
      });
    }
    if (bytes.length < BASE.SIZE + HBIN_ALIGN) {
      throw new FormatError(HiveCode.TooSmall, `${opts.name}: ${bytes.length} bytes is too small for a hive (base block + one 4096-byte hbin)`, {
        where: opts.name, size: bytes.length, minimum: BASE.SIZE + HBIN_ALIGN,
      });
    }
    const base = decodeBaseBlock(this.view.sub(0, BASE.SIZE, `${opts.name} base block`));
    this.base = base;
    if (!base.checksumOk && !allowBadChecksum) {
      if (!opts.unsafe) {
        throw new FormatError(HiveCode.BadChecksum, `${opts.name}: base block checksum is ${hex(base.checksum)}, computed ${hex(base.computedChecksum)} (the hive is dirty or damaged; give its .LOG1/.LOG2 to recover, or open with unsafe)`, {
          where: opts.name, offset: BASE.checksum, expected: base.computedChecksum, actual: base.checksum,
        });
      }
      this.log.warn({ hive: opts.name, stored: base.checksum, computed: base.computedChecksum }, 'base block checksum mismatch: reading anyway (unsafe)');
    }
    if (base.majorVersion !== 1) {
      throw new UnsupportedError(HiveCode.UnsupportedVersion, `${opts.name}: hive format version ${base.majorVersion}.${base.minorVersion} is not supported (major version must be 1)`, {
        where: opts.name, offset: BASE.majorVersion, major: base.majorVersion, minor: base.minorVersion,
      });
    }
    if (base.minorVersion < 2) {
      // NT 3.1 hives (1.1, and pre-release 1.0) use another cell layout: an 8-byte cell header
      // with a back pointer, 16-byte alignment, UTF-16-only names (Suhanov "Very old versions").
      throw new UnsupportedError(HiveCode.UnsupportedVersion, `${opts.name}: hive format version 1.${base.minorVersion} (Windows NT 3.1 cell layout) is not supported`, {
        where: opts.name, offset: BASE.minorVersion, major: base.majorVersion, minor: base.minorVersion,
      });
    }
    if (base.fileType !== FileType.Primary) {
      throw new FormatError(HiveCode.NotPrimary, `${opts.name}: file type ${base.fileType} is a transaction log, not a primary hive`, {
        where: opts.name, offset: BASE.fileType, expected: 0, actual: base.fileType,
      });
    }
    this.cells = new CellMarks(bytes.length);
    this.stats = this.scan(allowBadChecksum || !base.checksumOk);
    this.root = HBIN_BASE + base.rootCell;
    if (!this.isCell(this.root) || this.sig(this.root) !== SIG.nk) {
      throw new FormatError(HiveCode.BadRoot, `${opts.name}: root cell at ${hex(this.root)} is not an allocated nk cell`, {
        where: opts.name, offset: this.root, field: 'root cell',
      });
    }
  }

  /**
   * One pass over the hbins: record every allocated cell in the index. The hbins data ends at
   * the base block's "hive bins data size" (hivex `endpages`) or at end of file. Strict mode
   * refuses anything odd, like hivex; unsafe mode skips a bad hbin by looking for the next
   * "hbin" signature on a 4 KiB boundary (hivex HIVEX_OPEN_UNSAFE), and keeps reading hbins
   * past a declared size that is too small when the base block is not trustworthy.
   */
  private scan(baseUntrusted: boolean): CellStats {
    const v = this.view;
    const size = this.size;
    const declaredEnd = HBIN_BASE + this.base.hiveBinsSize;
    const end = baseUntrusted ? size : Math.min(size, declaredEnd);
    // Cell sizes are read inside hbins already checked to lie in the file: no per-field check.
    const dv = this.dv;
    const cells = this.cells;
    const st: CellStats = { hbins: 0, badHbins: 0, allocatedCells: 0, allocatedBytes: 0, freeCells: 0, freeBytes: 0, hbinsEnd: HBIN_BASE };
    let allocatedCells = 0;
    let allocatedBytes = 0;
    let freeCells = 0;
    let freeBytes = 0;
    let off = HBIN_BASE;
    while (off + HBIN.SIZE <= end) {
      if (v.u32(off, 'hbin signature') !== 0x6e696268 /* "hbin" */) {
        if (off === HBIN_BASE || !this.unsafe) {
          if (baseUntrusted && off > HBIN_BASE) break; // effective end of the hbins data
          throw new FormatError(HiveCode.BadHbin, `${this.name}: no hbin at ${hex(off)} (after ${st.hbins} hbins; the hive bins data should run to ${hex(declaredEnd)})`, {
            where: this.name, offset: off, structure: 'hbin', expected: 'hbin',
          });
        }
        this.log.warn({ hive: this.name, offset: off }, 'hbin signature missing: searching for the next hbin (unsafe)');
        st.badHbins++;
        let next = off + HBIN_ALIGN;
        while (next + HBIN.SIZE <= end && v.u32(next) !== 0x6e696268) next += HBIN_ALIGN;
        off = next;
        continue;
      }
      const binSize = v.u32(off + HBIN.size, 'hbin size');
      const binOffset = v.u32(off + HBIN.offset, 'hbin offset');
      const problem =
        binSize <= HBIN.SIZE || binSize % HBIN_ALIGN !== 0 ? `size ${binSize} is not a positive multiple of 4096`
          : off + binSize > size ? `size ${binSize} runs past the end of the file (${size} bytes)`
            : binOffset + HBIN_BASE !== off ? `declares offset ${hex(binOffset + HBIN_BASE)}`
              : undefined;
      if (problem) {
        if (!this.unsafe) {
          throw new FormatError(HiveCode.BadHbin, `${this.name}: hbin at ${hex(off)} ${problem}`, {
            where: this.name, offset: off, structure: 'hbin', size: binSize, declaredOffset: binOffset,
          });
        }
        this.log.warn({ hive: this.name, offset: off, problem }, 'bad hbin header: skipped (unsafe)');
        st.badHbins++;
        let next = off + HBIN_ALIGN;
        while (next + HBIN.SIZE <= end && v.u32(next) !== 0x6e696268) next += HBIN_ALIGN;
        off = next;
        continue;
      }
      this.hbinStarts.push(off);
      st.hbins++;
      const binEnd = off + binSize; // ≤ size, checked above
      let c = off + HBIN.SIZE;
      while (c < binEnd) {
        if (c + CELL_HEADER > binEnd) break;
        const raw = dv.getInt32(c, true);
        const len = raw < 0 ? -raw : raw;
        if (len <= CELL_HEADER || len % 4 !== 0 || c + len > binEnd) {
          if (!this.unsafe) {
            throw new FormatError(HiveCode.BadCell, `${this.name}: cell at ${hex(c)} has size ${raw} (${len <= CELL_HEADER || len % 4 !== 0 ? 'must be a multiple of 4 above 4' : `runs past its hbin ending at ${hex(binEnd)}`})`, {
              where: this.name, offset: c, structure: 'cell', size: raw, hbin: off,
            });
          }
          this.log.warn({ hive: this.name, offset: c, size: raw }, 'bad cell size: rest of the hbin skipped (unsafe)');
          break;
        }
        if (raw < 0) {
          cells.set(c);
          allocatedCells++;
          allocatedBytes += len;
        } else {
          freeCells++;
          freeBytes += len;
        }
        c += len;
      }
      off = binEnd;
      st.hbinsEnd = off;
    }
    st.allocatedCells = allocatedCells;
    st.allocatedBytes = allocatedBytes;
    st.freeCells = freeCells;
    st.freeBytes = freeBytes;
    return st;
  }

  /** True when `off` is the start of an allocated cell (hivex IS_VALID_BLOCK). */
  isCell(off: number): boolean {
    if (!(off >= HBIN_BASE && off < this.size && off % 4 === 0)) return false;
    return this.cells.has(off);
  }

  /** Absolute size of the cell at `off`, including its 4-byte header. Caller checked isCell. */
  cellSize(off: number): number {
    const raw = this.dv.getInt32(off, true);
    return raw < 0 ? -raw : raw;
  }

  /** Bytes of cell data (cell size minus the header). */
  dataLen(off: number): number {
    return this.cellSize(off) - CELL_HEADER;
  }

  /** The two-byte signature at the start of the cell data, as a little-endian u16. */
  sig(off: number): number {
    return this.view.u16(off + CELL_HEADER, 'cell signature');
  }

  /** Resolve a relative cell offset from a field (undefined for 0xffffffff). */
  static abs(rel: number): number {
    return rel + HBIN_BASE;
  }

  // --- growth and allocation bookkeeping (used by the writer) ---

  /** Make room for `newSize` bytes (zero-filled) and move the logical end there. */
  grow(newSize: number): void {
    if (newSize <= this.size) return;
    if (newSize > this.buf.length) {
      const cap = Math.max(newSize, Math.min(this.buf.length * 2, this.buf.length + 256 * 1024 * 1024));
      const nb = new Uint8Array(cap);
      nb.set(this.buf.subarray(0, this.size));
      this.buf = nb;
    }
    this.size = newSize;
    this.view = new ByteView(this.buf.subarray(0, newSize), 0, this.name);
    this.dv = this.view.unchecked;
    this.cells.grow(newSize);
  }

  private cachedWriter?: ByteWriter;

  /** A bounds-checked writer over the current buffer (replaced when the buffer grows). */
  get writer(): ByteWriter {
    const w = this.cachedWriter;
    if (w && w.bytes === this.buf) return w;
    return (this.cachedWriter = new ByteWriter(this.buf));
  }

  /** Record a newly allocated cell. */
  markAllocated(off: number): void {
    this.cells.set(off);
  }

  /** Forget a freed cell (it can no longer be referenced). */
  markFree(off: number): void {
    this.cells.clear(off);
  }

  /** The hive bytes `[0, size)` as a view (not a copy). */
  bytes(): Uint8Array {
    return this.buf.subarray(0, this.size);
  }
}
