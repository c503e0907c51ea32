/**
 * qcow2 writes. Clusters whose L2 entry is a standard cluster with the COPIED flag (refcount
 * exactly 1) are written in place, one host write per contiguous run. Everything else —
 * unallocated (backing file or zeros), zero clusters, compressed clusters, clusters shared with a
 * snapshot — is copied on write into freshly allocated clusters:
 *
 *   1. allocate n contiguous clusters (their refcounts reach 1 on disk first),
 *   2. write the merged data (current guest content + the new bytes) with one host write,
 *   3. point the L2 entries at it (COPIED set), allocating or un-sharing the L2 table first,
 *   4. drop one reference from what the entries pointed to before.
 *
 * A crash between any two steps leaves leaked clusters at worst, which `qemu-img check` reports
 * as leaks, not errors. Refcounts stay exact (no lazy refcounts, no dirty bit needed).
 */
import { zlib } from './zlib.js';
import { LimitError } from '../../binary/index.js';
import { DiskCode } from '../../errors.js';
import { ENTRY, HDR, encodeCompressed, offsetWords } from './layout.js';
import { RefcountTable, putU32be } from './refcounts.js';
import type { Qcow2Device } from './qcow2-device.js';

/** Most bytes one copy-on-write run allocates and buffers at once. */
const MAX_RUN_BYTES = 32 * 1024 * 1024;

type Old = ReturnType<Qcow2Device['entry']>;

export class Qcow2Writer {
  readonly refcounts: RefcountTable;
  private prepared = false;
  /** Current host cluster being filled with compressed data, and the next free byte in it. */
  private compCluster = -1;
  private compNext = 0;

  constructor(private readonly dev: Qcow2Device) {
    this.refcounts = new RefcountTable(dev.host, dev.header, dev.name);
  }

  /** Once per session: clear autoclear feature bits (bitmaps are not kept in sync by us). */
  private prepare(): void {
    if (this.prepared) return;
    this.prepared = true;
    const h = this.dev.header;
    if (h.version === 3 && h.autoclearFeatures !== 0n) {
      this.dev.log.debug({ autoclear: h.autoclearFeatures.toString() }, 'clearing autoclear feature bits before writing');
      this.dev.host.writeAt(HDR.autoclearFeatures, new Uint8Array(8));
      h.autoclearFeatures = 0n;
    }
  }

  private hostWrite(off: number, data: Uint8Array): void {
    const host = this.dev.host;
    if (off + data.length <= host.size) host.writeAt(off, data);
    else if (host.writeGrow) host.writeGrow(off, data);
    else throw new LimitError(DiskCode.Qcow2WriteLimit, `${this.dev.name}: the host file cannot grow`, { device: this.dev.name });
  }

  write(offset: number, src: Uint8Array): void {
    this.prepare();
    const dev = this.dev;
    const cs = dev.clusterSize;
    const end = offset + src.length;
    const maxRun = Math.max(1, Math.floor(MAX_RUN_BYTES / cs));
    let pos = offset;
    while (pos < end) {
      const ci = Math.floor(pos / cs);
      const e = dev.entry(ci);
      if (e.kind === 'data' && e.copied) {
        // In place: extend over following clusters that are also COPIED and host-contiguous.
        let c = ci + 1;
        let expect = e.host + cs;
        while (c * cs < end) {
          const n = dev.entry(c);
          if (!(n.kind === 'data' && n.copied && n.host === expect)) break;
          expect += cs;
          c++;
        }
        const runEnd = Math.min(c * cs, end);
        this.hostWrite(e.host + (pos - ci * cs), src.subarray(pos - offset, runEnd - offset));
        pos = runEnd;
        continue;
      }
      // Copy-on-write run: consecutive clusters that cannot be written in place.
      const olds: Old[] = [e];
      let c = ci + 1;
      while (c * cs < end && olds.length < maxRun) {
        const n = dev.entry(c);
        if (n.kind === 'data' && n.copied) break;
        olds.push(n);
        c++;
      }
      const count = olds.length;
      const runStart = ci * cs;
      const runEnd = Math.min(c * cs, end);
      const buf = new Uint8Array(count * cs);
      // Current content of partially written first/last clusters (backing, zeros, inflated, old data).
      if (pos > runStart) dev.readAt(runStart, buf.subarray(0, Math.min(cs, dev.size - runStart)));
      const lastStart = (c - 1) * cs;
      if (runEnd < Math.min(c * cs, dev.size) && !(count === 1 && pos > runStart)) {
        dev.readAt(lastStart, buf.subarray((count - 1) * cs, (count - 1) * cs + Math.min(cs, dev.size - lastStart)));
      }
      buf.set(src.subarray(pos - offset, runEnd - offset), pos - runStart);
      const host0 = this.refcounts.allocate(count);
      this.hostWrite(host0, buf);
      this.setEntries(ci, count, (k) => offsetWords(host0 + k * cs, ENTRY.COPIED_HI));
      for (const old of olds) this.release(old);
      pos = runEnd;
    }
  }

  /** Drop the reference an L2 entry held (the entry now points elsewhere). */
  private release(old: Old): void {
    const cs = this.dev.clusterSize;
    switch (old.kind) {
      case 'data':
        this.refcounts.adjust(old.host / cs, -1);
        break;
      case 'zero':
        if (old.host !== 0) this.refcounts.adjust(Math.floor(old.host / cs), -1);
        break;
      case 'compressed': {
        this.dev.dropCompressedCache();
        const first = Math.floor(old.host / cs);
        const last = Math.floor((old.host + old.bytes - 1) / cs);
        for (let c = first; c <= last; c++) this.refcounts.adjust(c, -1);
        break;
      }
      default:
    }
  }

  /**
   * Set the L2 entries of guest clusters ci..ci+count-1 (words from `entry(k)`), one host write
   * per L2 table touched.
   */
  private setEntries(ci: number, count: number, entry: (k: number) => { hi: number; lo: number }): void {
    const dev = this.dev;
    const n = dev.l2Entries;
    let k = 0;
    while (k < count) {
      const c = ci + k;
      const l1i = Math.floor(c / n);
      const first = c - l1i * n;
      const take = Math.min(count - k, n - first);
      const l2 = this.ensureL2(l1i);
      const table = dev.l2Table(l2);
      for (let j = 0; j < take; j++) {
        const { hi, lo } = entry(k + j);
        putU32be(table, (first + j) * 8, hi);
        putU32be(table, (first + j) * 8 + 4, lo);
      }
      this.dev.host.writeAt(l2 + first * 8, table.subarray(first * 8, (first + take) * 8));
      k += take;
    }
  }

  /** The host offset of a writable (refcount 1) L2 table for L1 index `l1i`, creating or un-sharing it. */
  private ensureL2(l1i: number): number {
    const dev = this.dev;
    const cs = dev.clusterSize;
    const off = dev.l2OffsetAt(l1i);
    const hi = dev.l1View.u32be(l1i * 8, 'L1 entry');
    if (off !== 0 && (hi & ENTRY.COPIED_HI) !== 0) return off;
    const content = off === 0 ? new Uint8Array(cs) : dev.l2Table(off).slice();
    const fresh = this.refcounts.allocate(1);
    this.hostWrite(fresh, content);
    const w = offsetWords(fresh, ENTRY.COPIED_HI);
    putU32be(dev.l1, l1i * 8, w.hi);
    putU32be(dev.l1, l1i * 8 + 4, w.lo);
    dev.host.writeAt(dev.header.l1TableOffset + l1i * 8, dev.l1.subarray(l1i * 8, l1i * 8 + 8));
    dev.cacheL2(fresh, content);
    dev.invalidateMapping();
    // The old table was shared with a snapshot: one reference fewer now.
    if (off !== 0) this.refcounts.adjust(off / cs, -1);
    return fresh;
  }

  /**
   * Store guest cluster `ci` compressed (raw deflate), packing compressed clusters byte by byte
   * into host clusters as qemu does; each compressed cluster holds one reference to every host
   * cluster it touches. Only for clusters unallocated in this image; otherwise (or when the data
   * does not shrink) a normal write.
   */
  writeCompressed(ci: number, data: Uint8Array): void {
    this.prepare();
    const dev = this.dev;
    const cs = dev.clusterSize;
    if (ci < 0 || ci * cs >= dev.size || data.length !== Math.min(cs, dev.size - ci * cs)) {
      throw new LimitError(DiskCode.Qcow2WriteLimit, `${dev.name}: compressed write of guest cluster ${ci} needs exactly one cluster of data`, { device: dev.name });
    }
    const full = data.length === cs ? data : (() => {
      const b = new Uint8Array(cs);
      b.set(data);
      return b;
    })();
    // qemu inflates with a 4 KiB window (windowBits -12): compress with the same window.
    const comp = zlib().deflateRawSync(full, { level: 6, windowBits: 12, memLevel: 9 });
    if (dev.entry(ci).kind !== 'unallocated' || comp.length > cs - 512) {
      this.write(ci * cs, data);
      return;
    }
    let at: number;
    const fits = this.compCluster >= 0 && this.compNext + comp.length <= (this.compCluster + 1) * cs
      && this.refcounts.get(this.compCluster) < this.refcounts.max;
    if (fits) {
      at = this.compNext;
      this.refcounts.adjust(this.compCluster, +1);
    } else {
      const host = this.refcounts.allocate(1);
      this.compCluster = host / cs;
      at = host;
      // Give the whole cluster to the file now, so the final sector of the data is never past EOF.
      this.hostWrite(host, new Uint8Array(cs));
    }
    this.hostWrite(at, comp);
    this.compNext = at + comp.length;
    const w = encodeCompressed(at, comp.length, dev.clusterBits);
    this.setEntries(ci, 1, () => w);
  }
}

