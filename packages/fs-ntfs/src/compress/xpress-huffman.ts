import { FormatError } from '@guestkit/disk/binary';
import { NtfsCode } from '../errors.js';

/**
 * LZ77 + Huffman ("XPRESS Huffman", MS-XCA §2.1-2.2), the codec of WOF XPRESS4K/8K/16K.
 * Input is a sequence of blocks, each covering up to 65536 output bytes and starting with a
 * 256-byte table of 512 four-bit code lengths (256 literals + 256 match symbols).
 */
const TABLE_BITS = 15;
const BLOCK_OUT = 65536;

function fail(where: string, pos: number, msg: string): FormatError {
  return new FormatError(NtfsCode.BadCompressedData, `XPRESS Huffman data of ${where} at input byte ${pos}: ${msg}`, { where, position: pos });
}

/** Build a 2^15-entry decode table: entry = symbol << 4 | length, 0xffffffff for unused codes. */
function buildTable(src: Uint8Array, at: number, table: Uint32Array, where: string): void {
  const lens = new Uint8Array(512);
  const count = new Uint16Array(16);
  for (let i = 0; i < 256; i++) {
    const b = src[at + i]!;
    lens[2 * i] = b & 15;
    lens[2 * i + 1] = b >> 4;
  }
  for (let i = 0; i < 512; i++) count[lens[i]!]!++;
  count[0] = 0;
  // Kraft check: an over-subscribed code cannot be decoded
  let left = 1;
  for (let l = 1; l <= 15; l++) {
    left = left * 2 - count[l]!;
    if (left < 0) throw fail(where, at, 'Huffman code lengths are over-subscribed');
  }
  table.fill(0xffffffff);
  let code = 0;
  for (let l = 1; l <= 15; l++) {
    for (let s = 0; s < 512; s++) {
      if (lens[s] !== l) continue;
      const span = 1 << (TABLE_BITS - l);
      const start = code << (TABLE_BITS - l);
      table.fill((s << 4) | l, start, start + span);
      code++;
    }
    code <<= 1;
  }
}

/**
 * Decompress `src` into exactly `dst.length` bytes.
 * @throws FormatError(NTFS_BAD_COMPRESSED_DATA) on truncated input, bad tables or bad references.
 */
export function xpressHuffmanDecompress(src: Uint8Array, dst: Uint8Array, where: string): void {
  const table = new Uint32Array(1 << TABLE_BITS);
  let ip = 0;
  let op = 0;
  const inLen = src.length;
  const rd16 = (p: number): number => (p + 1 < inLen ? src[p]! | (src[p + 1]! << 8) : p < inLen ? src[p]! : 0);
  while (op < dst.length) {
    if (ip + 256 > inLen) throw fail(where, ip, 'Huffman table runs past the input');
    buildTable(src, ip, table, where);
    ip += 256;
    let bits = ((rd16(ip) << 16) | rd16(ip + 2)) >>> 0;
    ip += 4;
    let extra = 16;
    const blockEnd = Math.min(dst.length, op + BLOCK_OUT);
    while (op < blockEnd) {
      if (ip > inLen + 4) throw fail(where, ip, 'bit stream runs past the input');
      const e = table[bits >>> (32 - TABLE_BITS)]!;
      if (e === 0xffffffff) throw fail(where, ip, 'invalid Huffman code');
      const len = e & 15;
      const sym = e >>> 4;
      bits = (bits << len) >>> 0;
      extra -= len;
      if (extra < 0) {
        bits = (bits | (rd16(ip) << -extra)) >>> 0;
        extra += 16;
        ip += 2;
      }
      if (sym < 256) {
        dst[op++] = sym;
        continue;
      }
      const m = sym - 256;
      let mlen = m & 15;
      const offBits = m >>> 4;
      if (mlen === 15) {
        if (ip >= inLen) throw fail(where, ip, 'match length byte runs past the input');
        mlen = src[ip++]!;
        if (mlen === 255) {
          if (ip + 2 > inLen) throw fail(where, ip, 'match length word runs past the input');
          mlen = src[ip]! | (src[ip + 1]! << 8);
          ip += 2;
          if (mlen < 15) throw fail(where, ip, `extended match length ${mlen} is below 15`);
          mlen -= 15;
        }
        mlen += 15;
      }
      mlen += 3;
      let moff = offBits === 0 ? 0 : bits >>> (32 - offBits);
      moff += 1 << offBits;
      bits = offBits === 0 ? bits : (bits << offBits) >>> 0;
      extra -= offBits;
      if (extra < 0) {
        bits = (bits | (rd16(ip) << -extra)) >>> 0;
        extra += 16;
        ip += 2;
      }
      let from = op - moff;
      if (from < 0) throw fail(where, ip, `match offset ${moff} reaches before the start of the output`);
      const end = Math.min(op + mlen, dst.length);
      if (moff >= mlen) {
        dst.copyWithin(op, from, from + (end - op));
        op = end;
      } else while (op < end) dst[op++] = dst[from++]!;
    }
  }
}
