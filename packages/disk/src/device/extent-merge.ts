import type { Extent } from './block-device.js';

/**
 * Lay sorted, non-overlapping `data` ranges over a base extent list covering
 * [offset, offset+length): inside the ranges the kind becomes 'data'. Adjacent runs of one kind
 * are merged. Used by CachedDevice and OverlayDevice for blocks not yet in the base.
 */
export function* overlayData(base: Iterable<Extent>, ranges: { offset: number; length: number }[], offset: number, length: number): Iterable<Extent> {
  const end = offset + length;
  let pending: Extent | undefined;
  const out: Extent[] = [];
  const push = (e: Extent): void => {
    if (e.length <= 0) return;
    if (pending && pending.kind === e.kind && pending.offset + pending.length === e.offset) {
      pending.length += e.length;
      return;
    }
    if (pending) out.push(pending);
    pending = { ...e };
  };
  let ri = 0;
  while (ri < ranges.length && ranges[ri]!.offset + ranges[ri]!.length <= offset) ri++;
  for (const b of base) {
    let pos = b.offset;
    const bEnd = b.offset + b.length;
    while (pos < bEnd) {
      while (ri < ranges.length && ranges[ri]!.offset + ranges[ri]!.length <= pos) ri++;
      const r = ranges[ri];
      if (!r || r.offset >= bEnd) {
        push({ offset: pos, length: bEnd - pos, kind: b.kind });
        pos = bEnd;
      } else if (r.offset > pos) {
        push({ offset: pos, length: r.offset - pos, kind: b.kind });
        pos = r.offset;
      } else {
        const stop = Math.min(bEnd, r.offset + r.length, end);
        push({ offset: pos, length: stop - pos, kind: 'data' });
        pos = stop;
      }
    }
    if (out.length) yield* out.splice(0);
  }
  if (pending) yield pending;
}

/** Merge sorted block indices into byte ranges clamped to `size`. */
export function blocksToRanges(indices: number[], blockSize: number, size: number): { offset: number; length: number }[] {
  const out: { offset: number; length: number }[] = [];
  for (const i of indices) {
    const off = i * blockSize;
    const len = Math.min(blockSize, size - off);
    const last = out[out.length - 1];
    if (last && last.offset + last.length === off) last.length += len;
    else out.push({ offset: off, length: len });
  }
  return out;
}
