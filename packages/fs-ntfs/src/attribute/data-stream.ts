import { FormatError, OutOfRangeError, UnsupportedError, CommonCode, hex } from '@guestkit/disk/binary';
import type { BlockDevice } from '@guestkit/disk';
import { NtfsCode } from '../errors.js';
import { AttrFlags } from '../layout/mft-record.js';
import { findRun, type Run } from '../runlist/runlist.js';
import { lznt1Decompress } from '../compress/lznt1.js';

/** What a reader needs to know about one attribute value (all extents merged). */
export interface StreamInfo {
  readonly type: number;
  readonly name: string;
  readonly resident: boolean;
  /** Resident value (a copy). */
  readonly residentData?: Uint8Array;
  /** Non-resident runs (coalesced, VCN-contiguous from 0). */
  readonly runs: Run[];
  readonly dataSize: number;
  readonly initializedSize: number;
  readonly allocatedSize: number;
  /** log2 of clusters per compression unit (0 = none). */
  readonly compressionUnit: number;
  /** Attribute flags (compressed / encrypted / sparse). */
  readonly flags: number;
  /** Record holding the first extent, for messages. */
  readonly recordNumber: number;
}

interface VolumeGeometry {
  readonly device: BlockDevice;
  readonly clusterSize: number;
}

/**
 * Positional reads of one attribute value: resident bytes, or runs read straight from the device
 * (contiguous runs are coalesced so a contiguous file costs one device read), sparse runs and the
 * part past the initialized size read as zeros, LZNT1 compression units decompressed (the last
 * unit is cached for sequential reads).
 */
export class AttrStream {
  private unitIndex = -1;
  private unitBuf: Uint8Array | undefined;

  constructor(
    private readonly vol: VolumeGeometry,
    readonly info: StreamInfo,
    readonly where: string,
  ) {
    if (info.flags & AttrFlags.Encrypted) {
      // nothing to do here: read() refuses; stat and listing still work
    }
  }

  get size(): number {
    return this.info.dataSize;
  }

  get compressed(): boolean {
    return !this.info.resident && (this.info.flags & AttrFlags.CompressionMask) !== 0 && this.info.compressionUnit > 0;
  }

  /**
   * Fill `dst` from byte `offset` of the value.
   * @throws OutOfRangeError past the end, UnsupportedError(NTFS_ENCRYPTED), FormatError on a runlist gap or bad compressed data.
   */
  read(offset: number, dst: Uint8Array): void {
    const len = dst.length;
    if (!(Number.isInteger(offset) && offset >= 0 && offset <= this.info.dataSize - len)) {
      throw new OutOfRangeError(CommonCode.DeviceRange, `${this.where}: read of ${len} bytes at ${offset} is past the end (size ${this.info.dataSize})`, {
        where: this.where, offset, length: len, size: this.info.dataSize,
      });
    }
    if (len === 0) return;
    if (this.info.flags & AttrFlags.Encrypted) {
      throw new UnsupportedError(NtfsCode.Encrypted, `${this.where} is encrypted (EFS); guestkit cannot decrypt it`, { where: this.where });
    }
    if (this.info.resident) {
      dst.set(this.info.residentData!.subarray(offset, offset + len));
      return;
    }
    if (this.compressed) {
      this.readCompressed(offset, dst);
      return;
    }
    const cs = this.vol.clusterSize;
    const end = offset + len;
    const initEnd = Math.min(end, this.info.initializedSize);
    let pos = offset;
    const runs = this.info.runs;
    let idx = pos < initEnd ? findRun(runs, Math.floor(pos / cs)) : -1;
    while (pos < initEnd) {
      const run = idx >= 0 && idx < runs.length ? runs[idx] : undefined;
      if (!run || Math.floor(pos / cs) < run.vcn || Math.floor(pos / cs) >= run.vcn + run.length) {
        throw new FormatError(NtfsCode.BadRunlist, `${this.where}: no run maps byte ${pos} (VCN ${Math.floor(pos / cs)}) though the size is ${this.info.dataSize}`, {
          where: this.where, offset: pos,
        });
      }
      const runEnd = (run.vcn + run.length) * cs;
      const n = Math.min(initEnd, runEnd) - pos;
      const d = dst.subarray(pos - offset, pos - offset + n);
      if (run.lcn < 0) d.fill(0);
      else this.vol.device.readAt(run.lcn * cs + (pos - run.vcn * cs), d);
      pos += n;
      idx++;
    }
    if (initEnd < end) dst.fill(0, Math.max(0, initEnd - offset));
  }

  private readCompressed(offset: number, dst: Uint8Array): void {
    const cs = this.vol.clusterSize;
    const unitClusters = 2 ** this.info.compressionUnit;
    const unitBytes = unitClusters * cs;
    const end = offset + dst.length;
    let pos = offset;
    while (pos < end) {
      const u = Math.floor(pos / unitBytes);
      const buf = this.unit(u, unitClusters, unitBytes);
      const inUnit = pos - u * unitBytes;
      const n = Math.min(end - pos, unitBytes - inUnit);
      dst.set(buf.subarray(inUnit, inUnit + n), pos - offset);
      pos += n;
    }
    // bytes past the initialized size read as zeros
    if (this.info.initializedSize < end) dst.fill(0, Math.max(0, this.info.initializedSize - offset));
  }

  private unit(u: number, unitClusters: number, unitBytes: number): Uint8Array {
    if (this.unitIndex === u && this.unitBuf) return this.unitBuf;
    const cs = this.vol.clusterSize;
    const runs = this.info.runs;
    const vcn0 = u * unitClusters;
    const vcnEnd = vcn0 + unitClusters;
    // collect the unit's pieces
    const pieces: { lcn: number; vcn: number; length: number }[] = [];
    let allocated = 0;
    let idx = findRun(runs, vcn0);
    let v = vcn0;
    while (v < vcnEnd && idx >= 0 && idx < runs.length) {
      const r = runs[idx]!;
      if (v < r.vcn || v >= r.vcn + r.length) break;
      const n = Math.min(vcnEnd, r.vcn + r.length) - v;
      pieces.push({ lcn: r.lcn < 0 ? -1 : r.lcn + (v - r.vcn), vcn: v, length: n });
      if (r.lcn >= 0) allocated += n;
      v += n;
      idx++;
    }
    const out = this.unitBuf && this.unitBuf.length === unitBytes ? this.unitBuf : new Uint8Array(unitBytes);
    if (v < vcnEnd && v * cs < this.info.dataSize) {
      // the runlist must cover every unit that holds data
      throw new FormatError(NtfsCode.BadRunlist, `${this.where}: compression unit ${u} (VCN ${vcn0}) is not fully mapped`, { where: this.where, unit: u });
    }
    if (allocated === 0) out.fill(0);
    else if (allocated === unitClusters) {
      for (const p of pieces) this.vol.device.readAt(p.lcn * cs, out.subarray((p.vcn - vcn0) * cs, (p.vcn - vcn0 + p.length) * cs));
    } else {
      // compressed: the stored clusters come first, the rest of the unit is a sparse tail
      const src = new Uint8Array(allocated * cs);
      let at = 0;
      for (const p of pieces) {
        if (p.lcn < 0) continue;
        this.vol.device.readAt(p.lcn * cs, src.subarray(at, at + p.length * cs));
        at += p.length * cs;
      }
      lznt1Decompress(src, out, `${this.where} unit ${u} (@${hex(vcn0 * cs)})`);
    }
    this.unitIndex = u;
    this.unitBuf = out;
    return out;
  }
}
