import { FormatError } from '@guestkit/disk/binary';
import { NtfsCode } from '../errors.js';

/** LZNT1 works in chunks that each stand for 4096 bytes of output. Ref: MS-XCA §2.5 (LZNT1). */
export const LZNT1_CHUNK = 4096;

function fail(where: string, pos: number, msg: string): FormatError {
  return new FormatError(NtfsCode.BadCompressedData, `LZNT1 data of ${where} at input byte ${pos}: ${msg}`, { where, position: pos });
}

/**
 * Decompress one NTFS compression unit. `src` holds the stored clusters, `dst` is filled
 * completely (chunks that decode short, and everything after the end marker, read as zeros,
 * as Windows and ntfs-3g do).
 * @throws FormatError(NTFS_BAD_COMPRESSED_DATA) on a chunk that runs past the input or a back
 * reference before the start of its chunk.
 */
export function lznt1Decompress(src: Uint8Array, dst: Uint8Array, where: string): void {
  let ip = 0;
  let op = 0;
  const inEnd = src.length;
  const outEnd = dst.length;
  while (op < outEnd) {
    if (ip + 2 > inEnd) break;
    const h = src[ip]! | (src[ip + 1]! << 8);
    if (h === 0) break;
    const chunkLen = (h & 0x0fff) + 1;
    const chunkStart = ip + 2;
    const chunkEnd = chunkStart + chunkLen;
    if (chunkEnd > inEnd) throw fail(where, ip, `chunk of ${chunkLen} bytes runs past the ${inEnd}-byte unit`);
    const outChunkEnd = Math.min(op + LZNT1_CHUNK, outEnd);
    if ((h & 0x8000) === 0) {
      // stored chunk: 4096 raw bytes (fewer only at the end of the data)
      const n = Math.min(chunkLen, outChunkEnd - op);
      dst.set(src.subarray(chunkStart, chunkStart + n), op);
      if (op + n < outChunkEnd) dst.fill(0, op + n, outChunkEnd);
      op = outChunkEnd;
      ip = chunkEnd;
      continue;
    }
    const outChunkStart = op;
    let p = chunkStart;
    while (p < chunkEnd && op < outChunkEnd) {
      const flags = src[p++]!;
      for (let bit = 0; bit < 8 && p < chunkEnd && op < outChunkEnd; bit++) {
        if ((flags & (1 << bit)) === 0) {
          dst[op++] = src[p++]!;
          continue;
        }
        if (p + 2 > chunkEnd) throw fail(where, p, 'back reference cut off by the chunk end');
        const t = src[p]! | (src[p + 1]! << 8);
        p += 2;
        // split between displacement and length depends on the position in the chunk
        let lenBits = 12;
        for (let i = op - outChunkStart - 1; i >= 0x10; i >>= 1) lenBits--;
        const disp = (t >>> lenBits) + 1;
        let len = (t & ((1 << lenBits) - 1)) + 3;
        let from = op - disp;
        if (from < outChunkStart) throw fail(where, p - 2, `back reference ${disp} bytes before the start of the chunk`);
        if (op + len > outChunkEnd) len = outChunkEnd - op;
        if (disp >= len) {
          dst.copyWithin(op, from, from + len);
          op += len;
        } else {
          // overlapping copy (run-length style) byte by byte
          const e = op + len;
          while (op < e) dst[op++] = dst[from++]!;
        }
      }
    }
    if (op < outChunkEnd) {
      dst.fill(0, op, outChunkEnd);
      op = outChunkEnd;
    }
    ip = chunkEnd;
  }
  if (op < outEnd) dst.fill(0, op, outEnd);
}

/**
 * Compress with LZNT1 (used by tests to make compressed units and by nothing on the write path:
 * the writer stores data uncompressed). Greedy matching with a small hash chain.
 */
export function lznt1Compress(src: Uint8Array): Uint8Array {
  const out: number[] = [];
  for (let cs = 0; cs < src.length; cs += LZNT1_CHUNK) {
    const chunk = src.subarray(cs, Math.min(cs + LZNT1_CHUNK, src.length));
    const body: number[] = [];
    let i = 0;
    while (i < chunk.length) {
      const flagPos = body.length;
      body.push(0);
      let flags = 0;
      for (let bit = 0; bit < 8 && i < chunk.length; bit++) {
        let lenBits = 12;
        for (let k = i - 1; k >= 0x10; k >>= 1) lenBits--;
        const maxLen = (1 << lenBits) - 1 + 3;
        const maxDisp = 1 << (16 - lenBits);
        let bestLen = 0;
        let bestDisp = 0;
        for (let d = 1; d <= Math.min(i, maxDisp); d++) {
          let l = 0;
          while (l < maxLen && i + l < chunk.length && chunk[i + l] === chunk[i + l - d]) l++;
          if (l > bestLen) {
            bestLen = l;
            bestDisp = d;
            if (l === maxLen) break;
          }
        }
        if (bestLen >= 3) {
          flags |= 1 << bit;
          const t = ((bestDisp - 1) << lenBits) | (bestLen - 3);
          body.push(t & 0xff, t >>> 8);
          i += bestLen;
        } else body.push(chunk[i++]!);
      }
      body[flagPos] = flags;
    }
    if (body.length >= chunk.length) {
      const h = (chunk.length - 1) | 0x3000;
      out.push(h & 0xff, h >>> 8, ...chunk);
    } else {
      const h = (body.length - 1) | 0xb000;
      out.push(h & 0xff, h >>> 8, ...body);
    }
  }
  out.push(0, 0);
  return Uint8Array.from(out);
}
