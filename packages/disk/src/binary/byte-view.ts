import { FormatError, CommonCode, hex } from './errors.js';
import { decodeUtf16le } from './utf16.js';

/**
 * A bounds-checked little-endian reader over a Uint8Array — the one place parsers read
 * integers from untrusted bytes. Every access checks `[off, off+n)` against the view and
 * throws FormatError(OUT_OF_BOUNDS) naming the field and the absolute offset (`base + off`),
 * so an error deep inside a hive inside NTFS inside qcow2 still says where it happened.
 */
export class ByteView {
  readonly bytes: Uint8Array;
  /** Absolute position of `bytes[0]` in the enclosing object (file, device), for messages. */
  readonly base: number;
  /** What this view is ("hive SYSTEM", "MFT record 42"), for messages. */
  readonly where: string;
  /**
   * The plain DataView under this view, for hot loops that read fields inside a structure whose
   * bounds were already checked through this view (a cell of checked size, a record of checked
   * length). No per-field check or message: an out-of-range read throws RangeError.
   */
  readonly unchecked: DataView;

  constructor(bytes: Uint8Array, base = 0, where = '') {
    this.bytes = bytes;
    this.base = base;
    this.where = where;
    this.unchecked = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get length(): number {
    return this.bytes.length;
  }

  /** Throw unless `[off, off + n)` is inside the view. */
  need(off: number, n: number, field: string): void {
    if (!(off >= 0 && n >= 0 && off <= this.bytes.length - n) || !Number.isInteger(off)) {
      throw new FormatError(
        CommonCode.OutOfBounds,
        `${this.where || 'buffer'}: field ${field} at ${hex(this.base + off)} (+${n} bytes) is outside the ${this.bytes.length}-byte structure`,
        { where: this.where, field, offset: this.base + off, length: n, size: this.bytes.length },
      );
    }
  }

  has(off: number, n: number): boolean {
    return off >= 0 && n >= 0 && off <= this.bytes.length - n;
  }

  u8(off: number, field = 'u8'): number {
    this.need(off, 1, field);
    return this.bytes[off]!;
  }
  u16(off: number, field = 'u16'): number {
    this.need(off, 2, field);
    return this.unchecked.getUint16(off, true);
  }
  u16be(off: number, field = 'u16be'): number {
    this.need(off, 2, field);
    return this.unchecked.getUint16(off, false);
  }
  i16(off: number, field = 'i16'): number {
    this.need(off, 2, field);
    return this.unchecked.getInt16(off, true);
  }
  u32(off: number, field = 'u32'): number {
    this.need(off, 4, field);
    return this.unchecked.getUint32(off, true);
  }
  u32be(off: number, field = 'u32be'): number {
    this.need(off, 4, field);
    return this.unchecked.getUint32(off, false);
  }
  i32(off: number, field = 'i32'): number {
    this.need(off, 4, field);
    return this.unchecked.getInt32(off, true);
  }
  u64(off: number, field = 'u64'): bigint {
    this.need(off, 8, field);
    return this.unchecked.getBigUint64(off, true);
  }
  u64be(off: number, field = 'u64be'): bigint {
    this.need(off, 8, field);
    return this.unchecked.getBigUint64(off, false);
  }
  i64(off: number, field = 'i64'): bigint {
    this.need(off, 8, field);
    return this.unchecked.getBigInt64(off, true);
  }
  /** A u64 that must fit a JS number exactly (offsets, sizes); throws otherwise. */
  u64n(off: number, field = 'u64'): number {
    const v = this.u64(off, field);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new FormatError(CommonCode.Overflow, `${this.where || 'buffer'}: field ${field} at ${hex(this.base + off)} = ${v} is larger than 2^53`, {
        where: this.where, field, offset: this.base + off, value: v.toString(),
      });
    }
    return Number(v);
  }
  /** A u64 big-endian that must fit a JS number exactly. */
  u64ben(off: number, field = 'u64be'): number {
    const v = this.u64be(off, field);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new FormatError(CommonCode.Overflow, `${this.where || 'buffer'}: field ${field} at ${hex(this.base + off)} = ${v} is larger than 2^53`, {
        where: this.where, field, offset: this.base + off, value: v.toString(),
      });
    }
    return Number(v);
  }
  /** A bounds-checked subarray *view* (not a copy). */
  bytesAt(off: number, len: number, field = 'bytes'): Uint8Array {
    this.need(off, len, field);
    return this.bytes.subarray(off, off + len);
  }
  /** A bounds-checked copy. */
  copyAt(off: number, len: number, field = 'bytes'): Uint8Array {
    this.need(off, len, field);
    return this.bytes.slice(off, off + len);
  }
  /** A child view of `[off, off+len)` keeping absolute positions for messages. */
  sub(off: number, len: number, where = this.where): ByteView {
    this.need(off, len, where);
    return new ByteView(this.bytes.subarray(off, off + len), this.base + off, where);
  }
  /** Lossless UTF-16LE decode of `byteLen` bytes (lone surrogates kept). */
  utf16(off: number, byteLen: number, field = 'utf16'): string {
    return decodeUtf16le(this.bytesAt(off, byteLen, field));
  }
  /** ISO-8859-1 decode (registry "compressed" names). */
  latin1(off: number, len: number, field = 'latin1'): string {
    return Buffer.from(this.bytesAt(off, len, field)).toString('latin1');
  }
  /** ASCII/latin1 text for magic comparisons. */
  ascii(off: number, len: number, field = 'ascii'): string {
    return this.latin1(off, len, field);
  }
  /** Throw FormatError(BAD_MAGIC) unless the bytes at `off` spell `magic`. */
  expectMagic(off: number, magic: string, structure: string, code: string = CommonCode.BadMagic): void {
    const got = this.has(off, magic.length) ? this.ascii(off, magic.length) : '';
    if (got !== magic) {
      throw new FormatError(code, `${structure} at ${this.where ? this.where + ' @ ' : ''}${hex(this.base + off)}: signature is ${JSON.stringify(got)}, expected ${JSON.stringify(magic)}`, {
        where: this.where, structure, offset: this.base + off, expected: magic, actual: got,
      });
    }
  }
}
