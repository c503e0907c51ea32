import { ByteWriter } from '@guestkit/disk/binary';
import { BASE, HVLE, HBIN_BASE, writeBaseBlockChecksum, marvin32 } from '@guestkit/hive';

/**
 * Build transaction logs the way Windows lays them out (Suhanov's format description), from a
 * primary image before and after a change: used to test replay without the shared corpus and
 * as fuzz seeds. `after` must be at least as large as `before` is meaningful to compare.
 */
function dirtyPages(before: Uint8Array, after: Uint8Array, page: number): number[] {
  const out: number[] = [];
  const end = after.length;
  for (let off = HBIN_BASE; off < end; off += page) {
    const a = after.subarray(off, off + page);
    const b = off < before.length ? before.subarray(off, off + page) : new Uint8Array(0);
    if (!Buffer.from(a).equals(Buffer.from(b))) out.push(off - HBIN_BASE);
  }
  return out;
}

function logBase(after: Uint8Array, fileType: number, seq: number): Uint8Array {
  const b = after.slice(0, 512);
  const w = new ByteWriter(b);
  w.u32(BASE.sequence1, seq).u32(BASE.sequence2, seq).u32(BASE.fileType, fileType);
  writeBaseBlockChecksum(b);
  return b;
}

/** A new-format (HvLE) log holding one entry per `after` image, sequence numbers from `firstSeq`. */
export function makeNewLog(before: Uint8Array, afters: Uint8Array[], firstSeq: number): Uint8Array {
  const parts: Uint8Array[] = [logBase(afters[afters.length - 1]!, 6, firstSeq)];
  let prev = before;
  let seq = firstSeq;
  for (const after of afters) {
    const pages = dirtyPages(prev, after, 4096);
    const header = HVLE.SIZE + pages.length * 8;
    const size = Math.ceil((header + pages.length * 4096) / 512) * 512;
    const e = new Uint8Array(size);
    const w = new ByteWriter(e);
    w.ascii(0, 'HvLE').u32(HVLE.size, size).u32(HVLE.flags, 0).u32(HVLE.sequence, seq);
    w.u32(HVLE.hiveBinsSize, after.length - HBIN_BASE).u32(HVLE.dirtyPageCount, pages.length);
    pages.forEach((p, i) => {
      w.u32(HVLE.pageRefs + i * 8, p).u32(HVLE.pageRefs + i * 8 + 4, 4096);
      w.bytesAt(header + i * 4096, after.subarray(HBIN_BASE + p, HBIN_BASE + p + 4096));
    });
    w.u64(HVLE.hash1, marvin32(e, undefined, HVLE.SIZE, size - HVLE.SIZE));
    w.u64(HVLE.hash2, marvin32(e, undefined, 0, 32));
    parts.push(e);
    prev = after;
    seq++;
  }
  return new Uint8Array(Buffer.concat(parts));
}

/** An old-format log: base block copy, "DIRT" + bitmap of 512-byte pages, the dirty pages. */
export function makeOldLog(before: Uint8Array, after: Uint8Array, seq: number): Uint8Array {
  const hbins = after.length - HBIN_BASE;
  const pages = dirtyPages(before, after, 512);
  const bitmap = new Uint8Array(hbins / 4096);
  for (const p of pages) {
    const bit = p / 512;
    const i = Math.floor(bit / 8);
    bitmap[i] = bitmap[i]! | (1 << (bit % 8));
  }
  const start = Math.ceil((512 + 4 + bitmap.length) / 512) * 512;
  const out = new Uint8Array(start + pages.length * 512);
  out.set(logBase(after, 1, seq));
  new ByteWriter(out).ascii(512, 'DIRT').bytesAt(516, bitmap);
  pages.forEach((p, i) => out.set(after.subarray(HBIN_BASE + p, HBIN_BASE + p + 512), start + i * 512));
  return out;
}

/** Mark a primary image dirty the way an interrupted write leaves it: sequence1 = sequence2 + 1. */
export function makeDirty(primary: Uint8Array): Uint8Array {
  const p = primary.slice();
  const w = new ByteWriter(p);
  const s2 = p[8]! | (p[9]! << 8) | (p[10]! << 16) | (p[11]! << 24);
  w.u32(BASE.sequence1, (s2 + 1) >>> 0);
  writeBaseBlockChecksum(p.subarray(0, 512));
  return p;
}
