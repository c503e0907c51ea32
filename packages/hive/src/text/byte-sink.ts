/**
 * An append-only byte buffer for text output: ASCII and Latin-1 are written byte by byte from
 * JS strings without an intermediate Buffer, hex dumps use a lookup table, and full chunks are
 * handed to `flush` (stdout, a file, or collected in memory).
 */
const HEX = new Uint8Array(512);
for (let i = 0; i < 256; i++) {
  const s = i.toString(16).padStart(2, '0');
  HEX[i * 2] = s.charCodeAt(0);
  HEX[i * 2 + 1] = s.charCodeAt(1);
}

const WIDE = /[^\x00-\xff]/;

/** An uninitialised buffer: every byte is written before it is read (output only). */
function rawBytes(n: number): Uint8Array {
  const b = Buffer.allocUnsafeSlow(n);
  return new Uint8Array(b.buffer, b.byteOffset, b.length);
}

/** Strings at least this long are copied by Node's native Latin-1 writer instead of a JS loop. */
const NATIVE_LATIN1 = 32;

/**
 * Quad tables for hexRange: four input bytes a,b,c,d become the twelve output bytes
 * "aa,bb,cc,dd," written as three 32-bit little-endian stores (little-endian hosts only; see LE):
 *   word 0 = "aa," + high digit of b   = QA[a] | QB_HI[b]
 *   word 1 = low digit of b + "," + "cc" = QB_LO[b] | QC[c]
 *   word 2 = "," + "dd,"                 = QD[d]
 */
const LE = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
const QA = new Int32Array(256);
const QB_HI = new Int32Array(256);
const QB_LO = new Int32Array(256);
const QC = new Int32Array(256);
const QD = new Int32Array(256);
for (let i = 0; i < 256; i++) {
  const hi = HEX[i * 2]!;
  const lo = HEX[i * 2 + 1]!;
  QA[i] = hi | (lo << 8) | (0x2c << 16);
  QB_HI[i] = hi << 24;
  QB_LO[i] = lo | (0x2c << 8);
  QC[i] = (hi << 16) | (lo << 24);
  QD[i] = 0x2c | (hi << 8) | (lo << 16) | (0x2c << 24);
}

/** "xx," for one byte at `b[p]`; returns the next position. */
function hexByte(b: Uint8Array, p: number, x: number): number {
  b[p] = HEX[x * 2]!;
  b[p + 1] = HEX[x * 2 + 1]!;
  b[p + 2] = 0x2c;
  return p + 3;
}

/**
 * Size of the first chunk handed to `out`. It is small so that the flush path has run (and
 * V8 has type feedback for it) before the writers are optimized; otherwise every optimized
 * writer that inlined it would be deoptimized at the first flush and run slowly until it is
 * recompiled.
 */
const FIRST_CHUNK = 16 << 10;

export class ByteSink {
  private buf: Uint8Array;
  /** The same memory as 32-bit words (for hexRange). */
  private buf32: Int32Array;
  private pos = 0;
  /** Writes fit while `pos + n <= limit` (≤ buf.length); past it the buffer is flushed or grown. */
  private limit: number;
  private readonly out: ((chunk: Uint8Array) => void) | undefined;
  private total = 0;

  /**
   * With `out`, chunks of up to `chunkSize` bytes (more for a single larger write) are passed
   * to it and may be reused after it returns; without, everything is kept in memory.
   */
  constructor(out?: (chunk: Uint8Array) => void, chunkSize = 4 << 20, sizeHint = 0) {
    this.out = out;
    this.buf = rawBytes(out ? chunkSize : Math.max(1 << 16, sizeHint));
    this.buf32 = new Int32Array(this.buf.buffer, this.buf.byteOffset, this.buf.length >>> 2);
    this.native = Buffer.from(this.buf.buffer, this.buf.byteOffset, this.buf.length);
    this.limit = out ? Math.min(FIRST_CHUNK, chunkSize) : this.buf.length;
  }

  /** Make sure `n` more bytes can be written at `pos`. */
  private room(n: number): void {
    if (this.pos + n > this.limit) this.makeRoom(n);
  }

  private makeRoom(n: number): void {
    if (this.out) {
      this.flush();
      if (n > this.buf.length) this.setBuf(rawBytes(n));
    } else {
      // In memory: one growing buffer, so result() needs no concatenation.
      const nb = rawBytes(Math.max(this.buf.length * 2, this.pos + n + 4096));
      nb.set(this.buf.subarray(0, this.pos));
      this.setBuf(nb);
    }
    this.limit = this.buf.length;
  }

  private setBuf(b: Uint8Array): void {
    this.buf = b;
    this.buf32 = new Int32Array(b.buffer, b.byteOffset, b.length >>> 2);
    this.native = Buffer.from(b.buffer, b.byteOffset, b.length);
  }

  /** A Buffer over the same memory, for Node's native string writers. */
  private native: Buffer;

  /** Hand the buffered bytes on (no-op when collecting in memory). */
  flush(): void {
    if (this.pos === 0 || !this.out) return;
    this.out(this.buf.subarray(0, this.pos));
    this.total += this.pos;
    this.pos = 0;
  }

  /** Write a string whose code units are all ≤ 0xFF, one byte each. */
  latin1(s: string): void {
    const n = s.length;
    this.room(n);
    if (n >= NATIVE_LATIN1) {
      this.pos += this.native.write(s, this.pos, n, 'latin1');
      return;
    }
    const b = this.buf;
    let p = this.pos;
    for (let i = 0; i < n; i++) b[p++] = s.charCodeAt(i);
    this.pos = p;
  }

  /** UTF-8 (lone surrogates become U+FFFD, as Node encodes them). */
  utf8(s: string): void {
    this.room(s.length * 3);
    this.pos += this.native.write(s, this.pos, this.buf.length - this.pos, 'utf8');
  }

  /**
   * How Perl prints one string to a handle without an encoding layer: Latin-1 bytes when every
   * character is ≤ U+00FF, else the whole string as UTF-8 ("Wide character" case).
   */
  perl(s: string): void {
    if (WIDE.test(s)) this.utf8(s);
    else this.latin1(s);
  }

  /** One byte (an ASCII character code). */
  byte(c: number): void {
    this.room(1);
    this.buf[this.pos++] = c;
  }

  /** `src[off, off + n)` as they are, for short ranges such as names (a loop: no subarray view). */
  copy(src: Uint8Array, off: number, n: number): void {
    this.room(n);
    const b = this.buf;
    let p = this.pos;
    for (let i = off, end = off + n; i < end; i++) b[p++] = src[i]!;
    this.pos = p;
  }

  /** `src[off, off + n)` with a backslash before each backslash and double quote (.reg quoting). */
  copyEscaped(src: Uint8Array, off: number, n: number): void {
    this.room(n * 2);
    const b = this.buf;
    let p = this.pos;
    for (let i = off, end = off + n; i < end; i++) {
      const c = src[i]!;
      if (c === 0x5c || c === 0x22) b[p++] = 0x5c;
      b[p++] = c;
    }
    this.pos = p;
  }

  /**
   * The little-endian number in `src[off, off + n)` as 2n lower-case hex digits, most
   * significant first ("0000002a" for the bytes 2a 00 00 00).
   */
  hexNumberLE(src: Uint8Array, off: number, n: number): void {
    this.room(n * 2);
    const b = this.buf;
    let p = this.pos;
    for (let i = off + n - 1; i >= off; i--) {
      const x = src[i]! * 2;
      b[p++] = HEX[x]!;
      b[p++] = HEX[x + 1]!;
    }
    this.pos = p;
  }

  /** `src[from, to)` by one native copy (for longer ranges, such as key paths). */
  bytesRange(src: Uint8Array, from: number, to: number): void {
    this.room(to - from);
    this.buf.set(src.subarray(from, to), this.pos);
    this.pos += to - from;
  }

  bytes(src: Uint8Array): void {
    this.room(src.length);
    this.buf.set(src, this.pos);
    this.pos += src.length;
  }

  /** Lower-case hex pairs joined by commas ("01,ff,20"): the hivexregedit `hex(N):` body. */
  hexJoined(data: Uint8Array): void {
    this.hexRange(data, 0, data.length);
  }

  /** hexJoined over `src[off, off + n)`. */
  hexRange(src: Uint8Array, off: number, n: number): void {
    if (n === 0) return;
    this.room(n * 3);
    const b = this.buf;
    let p = this.pos;
    let i = off;
    const end = off + n;
    if (LE) {
      // Each byte takes three output bytes, so after (p mod 4) single bytes p is word-aligned.
      for (let k = p & 3; k > 0 && i < end; k--, i++) p = hexByte(b, p, src[i]!);
      if (i + 3 < end) {
        const w = this.buf32;
        let q = p >>> 2;
        for (; i + 3 < end; i += 4) {
          const y = src[i + 1]!;
          w[q] = QA[src[i]!]! | QB_HI[y]!;
          w[q + 1] = QB_LO[y]! | QC[src[i + 2]!]!;
          w[q + 2] = QD[src[i + 3]!]!;
          q += 3;
        }
        p = q << 2;
      }
    }
    for (; i < end; i++) p = hexByte(b, p, src[i]!);
    this.pos = p - 1; // drop the comma after the last byte
  }

  /** Everything written, when no `out` was given (a view of the internal buffer). */
  result(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }

  get length(): number {
    return this.total + this.pos;
  }
}
