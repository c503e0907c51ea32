import { OutOfRangeError, CommonCode, hex } from './errors.js';
import { encodeUtf16le } from './utf16.js';

/**
 * The bounds-checked little-endian writer paired with ByteView. Writing past the end is a
 * programming error in a serializer, reported as OutOfRangeError with the field name.
 */
export class ByteWriter {
  readonly bytes: Uint8Array;
  private readonly dv: DataView;

  constructor(bytes: Uint8Array) {
    this.bytes = bytes;
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  static alloc(size: number): ByteWriter {
    return new ByteWriter(new Uint8Array(size));
  }

  private need(off: number, n: number, field: string): void {
    if (!(Number.isInteger(off) && off >= 0 && n >= 0 && off <= this.bytes.length - n)) {
      throw new OutOfRangeError(CommonCode.OutOfBounds, `write of ${field} at ${hex(off)} (+${n}) is outside the ${this.bytes.length}-byte buffer`, {
        field, offset: off, length: n, size: this.bytes.length,
      });
    }
  }

  u8(off: number, v: number, field = 'u8'): this {
    this.need(off, 1, field);
    this.bytes[off] = v & 0xff;
    return this;
  }
  u16(off: number, v: number, field = 'u16'): this {
    this.need(off, 2, field);
    this.dv.setUint16(off, v, true);
    return this;
  }
  u16be(off: number, v: number, field = 'u16be'): this {
    this.need(off, 2, field);
    this.dv.setUint16(off, v, false);
    return this;
  }
  u32(off: number, v: number, field = 'u32'): this {
    this.need(off, 4, field);
    this.dv.setUint32(off, v >>> 0, true);
    return this;
  }
  u32be(off: number, v: number, field = 'u32be'): this {
    this.need(off, 4, field);
    this.dv.setUint32(off, v >>> 0, false);
    return this;
  }
  i32(off: number, v: number, field = 'i32'): this {
    this.need(off, 4, field);
    this.dv.setInt32(off, v, true);
    return this;
  }
  u64(off: number, v: bigint | number, field = 'u64'): this {
    this.need(off, 8, field);
    this.dv.setBigUint64(off, BigInt(v), true);
    return this;
  }
  u64be(off: number, v: bigint | number, field = 'u64be'): this {
    this.need(off, 8, field);
    this.dv.setBigUint64(off, BigInt(v), false);
    return this;
  }
  i64(off: number, v: bigint | number, field = 'i64'): this {
    this.need(off, 8, field);
    this.dv.setBigInt64(off, BigInt(v), true);
    return this;
  }
  bytesAt(off: number, src: Uint8Array, field = 'bytes'): this {
    this.need(off, src.length, field);
    this.bytes.set(src, off);
    return this;
  }
  fill(off: number, len: number, value = 0, field = 'fill'): this {
    this.need(off, len, field);
    this.bytes.fill(value, off, off + len);
    return this;
  }
  /** Write a string as UTF-16LE code units (no terminator); returns bytes written. */
  utf16(off: number, s: string, field = 'utf16'): number {
    const enc = encodeUtf16le(s);
    this.bytesAt(off, enc, field);
    return enc.length;
  }
  ascii(off: number, s: string, field = 'ascii'): this {
    return this.bytesAt(off, Buffer.from(s, 'latin1'), field);
  }
}
