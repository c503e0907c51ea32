import { ByteView, FormatError, OutOfRangeError, UnsupportedError, CommonCode } from '@guestkit/disk/binary';
import { NtfsCode } from '../errors.js';
import { WOF, WofAlgorithm, WofProvider } from '../layout/reparse.js';
import { xpressHuffmanDecompress } from '../compress/xpress-huffman.js';
import type { ByteSource } from '@guestkit/disk';
import type { AttrStream } from './data-stream.js';

/** Positional bytes (declared in @guestkit/disk; re-exported for this package's users). */
export type { ByteSource };

/**
 * A file compressed by Windows Overlay Filter "system compression" (compact.exe /EXE, CompactOS):
 * the unnamed $DATA is an empty sparse placeholder of the real size, the bytes live in the
 * "WofCompressedData" stream as a chunk-offset table followed by independently compressed
 * chunks (a chunk stored at full size is raw). XPRESS 4K/8K/16K are read; LZX is refused.
 */
export class WofStream implements ByteSource {
  private readonly chunkSize: number;
  private readonly chunks: number;
  private readonly tableEntry: number;
  private readonly table: Uint8Array;
  private cacheIndex = -1;
  private cacheBuf: Uint8Array | undefined;

  constructor(private readonly compressed: AttrStream, readonly size: number, reparseData: Uint8Array, readonly where: string) {
    const v = new ByteView(reparseData, 0, where);
    const provider = v.u32(WOF.provider, 'WOF provider');
    if (provider !== WofProvider.File) {
      throw new UnsupportedError(NtfsCode.Unsupported, `${where}: WOF provider ${provider} (WIM-backed file) is not supported; only per-file compression is read`, { where, provider });
    }
    const algorithm = v.u32(WOF.algorithm, 'WOF algorithm');
    if (algorithm === WofAlgorithm.Lzx) {
      throw new UnsupportedError(NtfsCode.Unsupported, `${where}: WOF LZX compression is not supported (XPRESS 4K/8K/16K are); decompress it on Windows with "compact /u"`, { where, algorithm: 'LZX' });
    }
    const sizes: Record<number, number> = { [WofAlgorithm.Xpress4K]: 4096, [WofAlgorithm.Xpress8K]: 8192, [WofAlgorithm.Xpress16K]: 16384 };
    const cs = sizes[algorithm];
    if (!cs) throw new UnsupportedError(NtfsCode.Unsupported, `${where}: unknown WOF algorithm ${algorithm}`, { where, algorithm });
    this.chunkSize = cs;
    this.chunks = Math.ceil(size / cs);
    this.tableEntry = size > 0xffffffff ? 8 : 4;
    const tableBytes = Math.max(0, this.chunks - 1) * this.tableEntry;
    if (tableBytes > compressed.size) throw new FormatError(NtfsCode.BadCompressedData, `${where}: chunk table (${tableBytes} bytes) exceeds the ${compressed.size}-byte stream`, { where });
    this.table = new Uint8Array(tableBytes);
    compressed.read(0, this.table);
  }

  private chunkBounds(i: number): [number, number] {
    const t = new ByteView(this.table, 0, this.where);
    const at = (k: number): number => (this.tableEntry === 4 ? t.u32(k * 4) : t.u64n(k * 8));
    const start = i === 0 ? 0 : at(i - 1);
    const end = i === this.chunks - 1 ? this.compressed.size - this.table.length : at(i);
    if (end < start || this.table.length + end > this.compressed.size) {
      throw new FormatError(NtfsCode.BadCompressedData, `${this.where}: chunk ${i} spans ${start}..${end}, outside the stream`, { where: this.where, chunk: i });
    }
    return [this.table.length + start, this.table.length + end];
  }

  private chunk(i: number): Uint8Array {
    if (i === this.cacheIndex && this.cacheBuf) return this.cacheBuf;
    const outLen = Math.min(this.chunkSize, this.size - i * this.chunkSize);
    const [s, e] = this.chunkBounds(i);
    const src = new Uint8Array(e - s);
    this.compressed.read(s, src);
    const out = new Uint8Array(outLen);
    if (src.length === outLen) out.set(src);
    else xpressHuffmanDecompress(src, out, `${this.where} chunk ${i}`);
    this.cacheIndex = i;
    this.cacheBuf = out;
    return out;
  }

  read(offset: number, dst: Uint8Array): void {
    if (!(Number.isInteger(offset) && offset >= 0 && offset <= this.size - dst.length)) {
      throw new OutOfRangeError(CommonCode.DeviceRange, `${this.where}: read of ${dst.length} bytes at ${offset} is past the end (size ${this.size})`, { where: this.where });
    }
    let pos = offset;
    const end = offset + dst.length;
    while (pos < end) {
      const i = Math.floor(pos / this.chunkSize);
      const c = this.chunk(i);
      const inC = pos - i * this.chunkSize;
      const n = Math.min(end - pos, c.length - inC);
      dst.set(c.subarray(inC, inC + n), pos - offset);
      pos += n;
    }
  }
}
