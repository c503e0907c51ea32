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
 * Pair tables for hexJoined: two input bytes a,b become the six output bytes "aa,bb," written
 * as three 16-bit stores (little-endian hosts only; see LE).
 */
const LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const PAIR_A = new Uint16Array(256); // "aa"
const PAIR_B = new Uint16Array(256); // ",b" (comma, high nibble of b)
const PAIR_C = new Uint16Array(256); // "b," (low nibble of b, comma)
for (let i = 0; i < 256; i++) {
  PAIR_A[i] = HEX[i * 2]! | (HEX[i * 2 + 1]! << 8);
  PAIR_B[i] = 0x2c | (HEX[i * 2]! << 8);
  PAIR_C[i] = HEX[i * 2 + 1]! | (0x2c << 8);
}

export class ByteSink {
  private buf: Uint8Array;
  private buf16: Uint16Array;
  private pos = 0;
  private readonly flushAt: number;
  private readonly out: ((chunk: Uint8Array) => void) | undefined;
  private total = 0;

  /** With `out`, full chunks are passed to it (and may be reused after it returns); without, kept in memory. */
  constructor(out?: (chunk: Uint8Array) => void, chunkSize = 1 << 20, sizeHint = 0) {
    this.out = out;
    this.flushAt = chunkSize;
    this.buf = rawBytes(out ? chunkSize + 4096 : Math.max(1 << 16, sizeHint));
    this.buf16 = new Uint16Array(this.buf.buffer, 0, this.buf.length >>> 1);
    this.native = Buffer.from(this.buf.buffer, this.buf.byteOffset, this.buf.length);
  }

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    if (!this.out) {
      // In memory: one growing buffer, so result() needs no concatenation.
      const nb = rawBytes(Math.max(this.buf.length * 2, this.pos + n + 4096));
      nb.set(this.buf.subarray(0, this.pos));
      this.setBuf(nb);
      return;
    }
    this.flush();
    if (n > this.buf.length) this.setBuf(rawBytes(n + 4096));
  }

  private setBuf(b: Uint8Array): void {
    this.buf = b;
    this.buf16 = new Uint16Array(b.buffer, 0, b.length >>> 1);
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

  private maybeFlush(): void {
    if (this.out && this.pos >= this.flushAt) this.flush();
  }

  /** Write a string whose code units are all ≤ 0xFF, one byte each. */
  latin1(s: string): void {
    const n = s.length;
    this.room(n);
    if (n >= NATIVE_LATIN1) {
      this.pos += this.native.write(s, this.pos, n, 'latin1');
      this.maybeFlush();
      return;
    }
    const b = this.buf;
    let p = this.pos;
    for (let i = 0; i < n; i++) b[p++] = s.charCodeAt(i);
    this.pos = p;
    this.maybeFlush();
  }

  /** UTF-8 (lone surrogates become U+FFFD, as Node encodes them). */
  utf8(s: string): void {
    this.room(s.length * 3);
    this.pos += this.native.write(s, this.pos, this.buf.length - this.pos, 'utf8');
    this.maybeFlush();
  }

  /**
   * How Perl prints one string to a handle without an encoding layer: Latin-1 bytes when every
   * character is ≤ U+00FF, else the whole string as UTF-8 ("Wide character" case).
   */
  perl(s: string): void {
    if (WIDE.test(s)) this.utf8(s);
    else this.latin1(s);
  }

  bytes(src: Uint8Array): void {
    this.room(src.length);
    this.buf.set(src, this.pos);
    this.pos += src.length;
    this.maybeFlush();
  }

  /** Lower-case hex pairs joined by commas ("01,ff,20"): the hivexregedit `hex(N):` body. */
  hexJoined(data: Uint8Array): void {
    this.hexRange(data, 0, data.length);
  }

  /** hexJoined over `src[off, off + n)`. */
  hexRange(src: Uint8Array, off: number, n: number): void {
    if (n === 0) return;
    const data = off === 0 && n === src.length ? src : src.subarray(off, off + n);
    this.room(n * 3 + 2);
    const b = this.buf;
    let p = this.pos;
    let i = 0;
    if (p % 2 === 1) {
      // Get to an even position so that pairs can be written as 16-bit stores.
      const x = data[0]! * 2;
      b[p++] = HEX[x]!;
      b[p++] = HEX[x + 1]!;
      b[p++] = 0x2c;
      i = 1;
    }
    if (LE) {
      const w = this.buf16;
      let q = p >>> 1;
      for (; i + 1 < n; i += 2) {
        const y = data[i + 1]!;
        w[q] = PAIR_A[data[i]!]!;
        w[q + 1] = PAIR_B[y]!;
        w[q + 2] = PAIR_C[y]!;
        q += 3;
      }
      p = q * 2;
    }
    for (; i < n; i++) {
      const x = data[i]! * 2;
      b[p++] = HEX[x]!;
      b[p++] = HEX[x + 1]!;
      b[p++] = 0x2c;
    }
    this.pos = p - 1; // drop the comma after the last byte
    this.maybeFlush();
  }

  /** Everything written, when no `out` was given (a view of the internal buffer). */
  result(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }

  get length(): number {
    return this.total + this.pos;
  }
}
