/**
 * qcow2 consistency check, counting the way `qemu-img check` counts (qemu
 * block/qcow2-refcount.c: calculate_refcounts, check_refcounts_l1/l2, check_oflag_copied,
 * compare_refcounts): every cluster's expected reference count is rebuilt from the header, the
 * active and snapshot L1/L2 tables, the snapshot table, the refcount table and blocks, and the
 * bitmap directory; then compared with the stored refcounts. A stored refcount below the
 * references is corruption; above is a leak (wasted space, no harm to data).
 */
import { ByteView, FormatError, GuestError, hex } from '../../binary/index.js';
import { DiskCode } from '../../errors.js';
import { decodeCompressed, decodeSnapshots, entryOffset, AUTOCLEAR, EXT, ENTRY, HDR, INCOMPAT, LIMITS } from './layout.js';
import type { Qcow2Device } from './qcow2-device.js';

export interface Qcow2CheckResult {
  /** Clusters whose stored refcount is below their references, and other structural errors. */
  corruptions: number;
  /** Clusters whose stored refcount is above their references. */
  leaks: number;
  /** Problems that stopped part of the check (unreadable refcount block, ...). */
  checkErrors: number;
  /** First messages (capped), each prefixed "ERROR" or "Leaked" like qemu-img check. */
  messages: string[];
  /** Guest clusters, and how many are allocated / compressed / not contiguous with the previous one. */
  totalClusters: number;
  allocatedClusters: number;
  compressedClusters: number;
  fragmentedClusters: number;
  /** End of the last cluster in use (stored refcount or reference). */
  imageEndOffset: number;
}

const MAX_MESSAGES = 200;

/** Reserved bits of L1 entries (qemu L1E_RESERVED_MASK) and standard L2 entries (L2E_STD_RESERVED_MASK), as (hi, lo) masks. */
const L1_RES = { hi: 0x7f000000, lo: 0x000001ff };
const L2_RES = { hi: 0x3f000000, lo: 0x000001fe };

export function checkQcow2(dev: Qcow2Device): Qcow2CheckResult {
  return compareAndFlags(dev, buildReferences(dev));
}

interface References {
  r: Qcow2CheckResult;
  /** References per host cluster inside the file. */
  expected: Uint32Array;
  /** References to clusters past the end of the file. */
  beyond: Map<number, number>;
  say: (m: string) => void;
  corrupt: (m: string) => void;
}

/** Count every reference to every host cluster (and the structural errors found on the way). */
function buildReferences(dev: Qcow2Device): References {
  const h = dev.header;
  const cs = dev.clusterSize;
  const fileSize = dev.host.size;
  const nbFile = Math.ceil(fileSize / cs);
  const expected = new Uint32Array(nbFile);
  const beyond = new Map<number, number>();
  const r: Qcow2CheckResult = {
    corruptions: 0, leaks: 0, checkErrors: 0, messages: [], totalClusters: Math.ceil(dev.size / cs),
    allocatedClusters: 0, compressedClusters: 0, fragmentedClusters: 0, imageEndOffset: 0,
  };
  const say = (m: string): void => {
    if (r.messages.length < MAX_MESSAGES) r.messages.push(m);
  };
  const corrupt = (m: string): void => {
    r.corruptions++;
    say(`ERROR ${m}`);
  };
  /** Count one reference to every cluster of [offset, offset+size). */
  const ref = (offset: number, size: number): void => {
    if (size <= 0) return;
    const first = Math.floor(offset / cs);
    const last = Math.floor((offset + size - 1) / cs);
    for (let c = first; c <= last; c++) {
      if (c < nbFile) expected[c] = expected[c]! + 1;
      else beyond.set(c, (beyond.get(c) ?? 0) + 1);
    }
  };
  const readTable = (offset: number, bytes: number, what: string): ByteView | undefined => {
    if (offset < 0 || offset + bytes > fileSize) {
      corrupt(`${what} at ${hex(offset)} (+${bytes}) is outside the ${fileSize}-byte file`);
      return undefined;
    }
    const b = new Uint8Array(bytes);
    dev.host.readAt(offset, b);
    return new ByteView(b, offset, `${what} of ${dev.name}`);
  };

  const checkL2 = (l2off: number, active: boolean): void => {
    const t = readTable(l2off, cs, 'L2 table');
    if (!t) return;
    let next = 0;
    for (let i = 0; i < dev.l2Entries; i++) {
      const hi = t.u32be(i * 8);
      const lo = t.u32be(i * 8 + 4);
      if (hi & ENTRY.COMPRESSED_HI) {
        if (hi & ENTRY.COPIED_HI) corrupt(`compressed cluster entry ${hex(l2off + i * 8)} has the copied flag set`);
        const c = decodeCompressed(hi, lo, dev.clusterBits);
        ref(c.host, c.bytes);
        if (active) {
          r.allocatedClusters++;
          r.compressedClusters++;
          r.fragmentedClusters++;
        }
        continue;
      }
      if ((hi & L2_RES.hi) || (lo & L2_RES.lo)) corrupt(`found l2 entry with reserved bits set: ${hex((BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0))}`);
      const off = entryOffset(hi, lo);
      if (off === 0) continue; // unallocated or plain zero
      if (active) {
        r.allocatedClusters++;
        if (next && off !== next) r.fragmentedClusters++;
        next = off + cs;
      }
      ref(off, cs);
      if (off % cs !== 0) corrupt(`offset=${hex(off)}: Cluster is not properly aligned; L2 entry corrupted.`);
    }
  };

  const checkL1 = (l1off: number, l1Size: number, active: boolean): void => {
    ref(l1off, l1Size * 8);
    if (l1Size === 0) return;
    const t = readTable(l1off, l1Size * 8, 'L1 table');
    if (!t) return;
    for (let i = 0; i < l1Size; i++) {
      const hi = t.u32be(i * 8);
      const lo = t.u32be(i * 8 + 4);
      if ((hi & L1_RES.hi) || (lo & L1_RES.lo)) corrupt(`found L1 entry with reserved bits set: ${hex((BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0))}`);
      const l2 = entryOffset(hi, lo);
      if (l2 === 0) continue;
      ref(l2, cs);
      if (l2 % cs !== 0) {
        corrupt(`l2_offset=${hex(l2)}: Table is not cluster aligned; L1 entry corrupted`);
        continue;
      }
      checkL2(l2, active);
    }
  };

  // header, active L1 (+L2 and data), snapshots, refcount table
  ref(0, cs);
  checkL1(h.l1TableOffset, h.l1Size, true);
  if (h.nbSnapshots > 0) {
    try {
      const tableBytes = Math.min(LIMITS.MAX_SNAPSHOT_TABLE_BYTES, fileSize - h.snapshotsOffset);
      const raw = new Uint8Array(tableBytes);
      dev.host.readAt(h.snapshotsOffset, raw);
      const snaps = decodeSnapshots(raw, h.snapshotsOffset, h.nbSnapshots, dev.name, cs, fileSize);
      for (const s of snaps) checkL1(s.l1TableOffset, s.l1Size, false);
      ref(h.snapshotsOffset, snaps.reduce((a, s) => a + s.entryBytes, 0));
    } catch (e) {
      if (!(e instanceof GuestError)) throw e;
      corrupt(`snapshot table: ${e.message}`);
    }
  }
  ref(h.refcountTableOffset, h.refcountTableClusters * cs);
  if (h.autoclearFeatures & AUTOCLEAR.bitmaps) countBitmaps(dev, ref, corrupt);

  // refcount blocks
  const rc = dev.refcounts();
  for (let rt = 0; rt < rc.tableEntries; rt++) {
    let off: number;
    try {
      off = rc.blockOffset(rt);
    } catch (e) {
      if (!(e instanceof GuestError)) throw e;
      corrupt(`refcount block ${rt}: ${e.message}`);
      continue;
    }
    if (off === 0) continue;
    ref(off, cs);
    if (expected[off / cs] !== 1) corrupt(`refcount block ${rt} refcount=${expected[off / cs]}`);
  }

  return { r, expected, beyond, say, corrupt };
}

/** Compare stored refcounts with the references, then check the COPIED flags of the active tables. */
function compareAndFlags(dev: Qcow2Device, refs: References): Qcow2CheckResult {
  const { r, expected, beyond, say, corrupt } = refs;
  const cs = dev.clusterSize;
  const h = dev.header;
  const fileSize = dev.host.size;
  const nbFile = expected.length;
  const rc = dev.refcounts();
  // compare
  let highest = -1;
  for (let c = 0; c < nbFile; c++) {
    let stored: number;
    try {
      stored = rc.get(c);
    } catch (e) {
      if (!(e instanceof GuestError)) throw e;
      r.checkErrors++;
      say(`Can't get refcount for cluster ${c}: ${e.message}`);
      continue;
    }
    const want = expected[c]!;
    if (stored > 0 || want > 0) highest = c;
    if (stored < want) corrupt(`cluster ${c} refcount=${stored} reference=${want}`);
    else if (stored > want) {
      r.leaks++;
      say(`Leaked cluster ${c} refcount=${stored} reference=${want}`);
    }
  }
  for (const [c, want] of [...beyond].sort((a, b) => a[0] - b[0])) {
    highest = Math.max(highest, c);
    corrupt(`cluster ${c} (${hex(c * cs)}) is referenced ${want} time(s) but lies past the end of the ${fileSize}-byte file`);
  }
  r.imageEndOffset = (highest + 1) * cs;

  // OFLAG_COPIED in the active tables must say "refcount is exactly 1"
  const stored = (c: number): number | undefined => {
    try {
      return rc.get(c);
    } catch {
      return undefined;
    }
  };
  for (let i = 0; i < h.l1Size; i++) {
    const hi = dev.l1View.u32be(i * 8);
    const lo = dev.l1View.u32be(i * 8 + 4);
    const l2 = entryOffset(hi, lo);
    if (l2 === 0 || l2 % cs !== 0 || l2 + cs > fileSize) continue;
    const n = stored(l2 / cs);
    if (n !== undefined && (n === 1) !== ((hi & ENTRY.COPIED_HI) !== 0)) corrupt(`OFLAG_COPIED L2 cluster: l1_index=${i} refcount=${n}`);
    const t = new Uint8Array(cs);
    dev.host.readAt(l2, t);
    const v = new ByteView(t, l2);
    for (let j = 0; j < dev.l2Entries; j++) {
      const ehi = v.u32be(j * 8);
      const elo = v.u32be(j * 8 + 4);
      if (ehi & ENTRY.COMPRESSED_HI) continue;
      const off = entryOffset(ehi, elo);
      if (off === 0 || off % cs !== 0 || off >= fileSize) continue;
      const m = stored(off / cs);
      if (m !== undefined && (m === 1) !== ((ehi & ENTRY.COPIED_HI) !== 0)) corrupt(`OFLAG_COPIED data cluster: l2 entry ${hex(l2 + j * 8)} refcount=${m}`);
    }
  }
  return r;
}

/** References held by persistent dirty bitmaps (qcow2.txt "Bitmaps"): directory, tables, data. */
function countBitmaps(dev: Qcow2Device, ref: (o: number, s: number) => void, corrupt: (m: string) => void): void {
  const ext = dev.header.extensions.find((e) => e.type === EXT.bitmaps);
  if (!ext || ext.data.length < 24) return;
  try {
    const v = new ByteView(ext.data, 0, 'bitmaps extension');
    const nb = v.u32be(0);
    const dirSize = v.u64ben(8);
    const dirOff = v.u64ben(16);
    if (dirSize > LIMITS.MAX_SNAPSHOT_TABLE_BYTES || dirOff + dirSize > dev.host.size) {
      corrupt(`bitmap directory at ${hex(dirOff)} (+${dirSize}) is outside the file`);
      return;
    }
    ref(dirOff, dirSize);
    const dir = new Uint8Array(dirSize);
    dev.host.readAt(dirOff, dir);
    const d = new ByteView(dir, dirOff, 'bitmap directory');
    let off = 0;
    for (let i = 0; i < nb && off + 24 <= dirSize; i++) {
      const tableOff = d.u64ben(off);
      const tableSize = d.u32be(off + 8);
      const nameSize = d.u16be(off + 18);
      const extra = d.u32be(off + 20);
      if (tableSize * 8 > LIMITS.MAX_L1_BYTES || tableOff + tableSize * 8 > dev.host.size) {
        corrupt(`bitmap table ${i} at ${hex(tableOff)} is outside the file`);
      } else {
        ref(tableOff, tableSize * 8);
        const t = new Uint8Array(tableSize * 8);
        dev.host.readAt(tableOff, t);
        const tv = new ByteView(t, tableOff, 'bitmap table');
        for (let k = 0; k < tableSize; k++) {
          const data = entryOffset(tv.u32be(k * 8), tv.u32be(k * 8 + 4));
          if (data !== 0) ref(data, dev.clusterSize);
        }
      }
      off += Math.ceil((24 + extra + nameSize) / 8) * 8;
    }
  } catch (e) {
    if (!(e instanceof GuestError)) throw e;
    corrupt(`bitmaps: ${e.message}`);
  }
}

/**
 * Rebuild the refcounts of an image whose dirty bit is set (lazy refcounts left them stale), as
 * qemu does when it opens such an image read-write: every cluster inside the file gets exactly
 * the number of references it has; then the dirty bit is cleared. Refuses (FormatError) when the
 * image has structural damage beyond stale refcounts, since then the references themselves
 * cannot be trusted.
 * @returns the number of refcounts changed.
 */
export function repairDirtyRefcounts(dev: Qcow2Device): number {
  const { r, expected, beyond } = buildReferences(dev);
  if (r.corruptions > 0 || beyond.size > 0) {
    throw new FormatError(DiskCode.Qcow2Refcount, `${dev.name}: cannot rebuild refcounts: the image has structural errors (${r.messages.slice(0, 3).join('; ')})`, {
      device: dev.name, corruptions: r.corruptions,
    });
  }
  const rc = dev.refcounts();
  let changed = 0;
  for (let c = 0; c < expected.length; c++) {
    const want = expected[c]!;
    if (rc.get(c) !== want) {
      rc.set(c, want);
      changed++;
    }
  }
  const after = checkQcow2(dev);
  if (after.corruptions > 0) {
    throw new FormatError(DiskCode.Qcow2Refcount, `${dev.name}: refcounts still inconsistent after the rebuild (${after.messages.slice(0, 3).join('; ')})`, { device: dev.name });
  }
  dev.host.flush();
  const h = dev.header;
  h.incompatibleFeatures &= ~INCOMPAT.dirty;
  const v = new Uint8Array(8);
  let x = h.incompatibleFeatures;
  for (let i = 7; i >= 0; i--) {
    v[i] = Number(x & 0xffn);
    x >>= 8n;
  }
  dev.host.writeAt(HDR.incompatibleFeatures, v);
  dev.host.flush();
  return changed;
}
