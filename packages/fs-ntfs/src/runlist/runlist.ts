import { FormatError, LimitError, hex } from '@guestkit/disk/binary';
import { NtfsCode, NtfsLimits } from '../errors.js';

/** One run: `length` clusters starting at virtual cluster `vcn`, stored at `lcn` (-1 = sparse hole). */
export interface Run {
  vcn: number;
  lcn: number;
  length: number;
}

/**
 * Decode mapping pairs (a runlist) into runs starting at `lowestVcn`. Each pair is a header byte
 * (low nibble: length-field bytes, high nibble: offset-field bytes), a length, and a signed LCN
 * delta (no offset field = sparse). Every field is bounds-checked before it is read
 * (ntfs-3g runlist.c "if (buf + b > attr_end) goto io_error").
 * @param clusterCount runs must end inside the volume.
 * @throws FormatError(NTFS_BAD_RUNLIST), LimitError(NTFS_LIMIT)
 */
export function decodeRunlist(mp: Uint8Array, lowestVcn: number, clusterCount: number, where: string): Run[] {
  const runs: Run[] = [];
  let pos = 0;
  let vcn = lowestVcn;
  let lcn = 0;
  const bad = (msg: string) => new FormatError(NtfsCode.BadRunlist, `runlist of ${where} at byte ${pos}: ${msg}`, { where, position: pos });
  while (pos < mp.length) {
    const h = mp[pos]!;
    if (h === 0) return runs;
    const lenBytes = h & 0x0f;
    const offBytes = h >> 4;
    if (lenBytes === 0 || lenBytes > 8 || offBytes > 8) throw bad(`header ${hex(h)} has field sizes ${lenBytes}/${offBytes}`);
    if (pos + 1 + lenBytes + offBytes > mp.length) throw bad(`pair of ${1 + lenBytes + offBytes} bytes runs past the attribute`);
    let length = 0;
    let mul = 1;
    for (let i = 0; i < lenBytes; i++) {
      length += mp[pos + 1 + i]! * mul;
      mul *= 256;
    }
    // the length is stored as a signed number: a top bit set means negative, i.e. corrupt
    if (mp[pos + lenBytes]! & 0x80) throw bad('run length is negative');
    if (length <= 0 || !Number.isSafeInteger(length)) throw bad(`run length ${length} is invalid`);
    let isSparse = offBytes === 0;
    if (!isSparse) {
      let delta = 0;
      mul = 1;
      const base = pos + 1 + lenBytes;
      for (let i = 0; i < offBytes; i++) {
        delta += mp[base + i]! * mul;
        mul *= 256;
      }
      if (mp[base + offBytes - 1]! & 0x80) delta -= mul;
      if (!Number.isSafeInteger(delta)) throw bad(`LCN delta overflows`);
      lcn += delta;
      if (lcn < 0) throw bad(`LCN ${lcn} is negative`);
      if (lcn + length > clusterCount) throw bad(`run ${hex(lcn)}+${length} ends past the last cluster ${clusterCount - 1}`);
    }
    runs.push({ vcn, lcn: isSparse ? -1 : lcn, length });
    vcn += length;
    if (!Number.isSafeInteger(vcn)) throw bad('VCN overflows');
    if (runs.length > NtfsLimits.maxRuns) {
      throw new LimitError(NtfsCode.Limit, `runlist of ${where} has more than ${NtfsLimits.maxRuns} runs`, { where, limit: NtfsLimits.maxRuns });
    }
    pos += 1 + lenBytes + offBytes;
  }
  // no terminator inside the attribute: tolerated only if the pairs exactly filled it
  return runs;
}

function bytesForSigned(v: number): number {
  let n = 1;
  // smallest n with -2^(8n-1) <= v < 2^(8n-1)
  while (n < 8 && !(v >= -(2 ** (8 * n - 1)) && v < 2 ** (8 * n - 1))) n++;
  return n;
}

function putLe(dst: number[], v: number, n: number): void {
  let x = v < 0 ? 2 ** (8 * n) + v : v;
  for (let i = 0; i < n; i++) {
    dst.push(x % 256);
    x = Math.floor(x / 256);
  }
}

/** Encode runs (contiguous VCNs) as mapping pairs, with the terminating zero byte. */
export function encodeRunlist(runs: readonly Run[]): Uint8Array {
  const out: number[] = [];
  let prevLcn = 0;
  for (const r of runs) {
    const lb = bytesForSigned(r.length);
    if (r.lcn < 0) {
      out.push(lb);
      putLe(out, r.length, lb);
    } else {
      const delta = r.lcn - prevLcn;
      const ob = bytesForSigned(delta);
      out.push(lb | (ob << 4));
      putLe(out, r.length, lb);
      putLe(out, delta, ob);
      prevLcn = r.lcn;
    }
  }
  out.push(0);
  return Uint8Array.from(out);
}

/** Size in bytes of the encoded runlist (with terminator). */
export function encodedRunlistSize(runs: readonly Run[]): number {
  let n = 1;
  let prevLcn = 0;
  for (const r of runs) {
    n += 1 + bytesForSigned(r.length);
    if (r.lcn >= 0) {
      n += bytesForSigned(r.lcn - prevLcn);
      prevLcn = r.lcn;
    }
  }
  return n;
}

/** Merge adjacent runs that continue each other (same kind, contiguous LCNs) — one device read each. */
export function coalesceRuns(runs: readonly Run[]): Run[] {
  const out: Run[] = [];
  for (const r of runs) {
    const last = out[out.length - 1];
    if (last && last.vcn + last.length === r.vcn && ((last.lcn < 0 && r.lcn < 0) || (last.lcn >= 0 && r.lcn >= 0 && last.lcn + last.length === r.lcn))) {
      last.length += r.length;
    } else out.push({ vcn: r.vcn, lcn: r.lcn, length: r.length });
  }
  return out;
}

/**
 * Refuse runs of one attribute that overlap each other on disk (a hostile runlist could make
 * a write to one place corrupt another, or make a read loop over the same clusters).
 */
export function assertNoOverlap(runs: readonly Run[], where: string): void {
  const real = runs.filter((r) => r.lcn >= 0).map((r) => [r.lcn, r.lcn + r.length] as const);
  if (real.length < 2) return;
  real.sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < real.length; i++) {
    if (real[i]![0] < real[i - 1]![1]) {
      throw new FormatError(NtfsCode.BadRunlist, `runlist of ${where}: runs at LCN ${hex(real[i - 1]![0])} and ${hex(real[i]![0])} overlap`, { where, lcn: real[i]![0] });
    }
  }
}

/** Index of the run containing `vcn` (binary search), or -1. */
export function findRun(runs: readonly Run[], vcn: number): number {
  let lo = 0;
  let hi = runs.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const r = runs[mid]!;
    if (vcn < r.vcn) hi = mid - 1;
    else if (vcn >= r.vcn + r.length) lo = mid + 1;
    else return mid;
  }
  return -1;
}
