import {
  ByteView, ByteWriter, FormatError, NoSpaceError, UnsupportedError, encodeUtf16le, nowFiletime, hex,
} from '@guestkit/disk/binary';
import { NtfsCode } from '../errors.js';
import {
  ATTR, ATTR_LIST, AttrFlags, AttrType, FILE_NAME, FileAttr, Namespace, RecordFlags, STD_INFO, SystemFile, makeRef, splitRef,
} from '../layout/mft-record.js';
import { INDEX_ROOT, REPARSE_INDEX_KEY } from '../layout/index.js';
import { MftRecord } from '../record/mft-record.js';
import { protectForWrite } from '../record/fixup.js';
import { decodeRunlist, type Run } from '../runlist/runlist.js';
import { DirectoryIndex, I30, indexRootFormat } from '../index/directory.js';
import type { NtfsVolume } from '../volume.js';
import { AllocBitmap } from './bitmap.js';
import { RecordEditor, nonResidentAttr, nonResidentSize, residentAttr, type AttrBlob } from './record-edit.js';
import { IndexEditor, encodeBlock, encodeRoot, fileNameCollation, toEdit, ulongsCollation, type EditNode, type IndexCollation, type IndexStore, type RootFormat } from './index-edit.js';

/** An index entry as the rebuild sees it: the header's first 8 bytes and the key. */
interface RawIndexEntry {
  ref: bigint;
  key: Uint8Array;
}

/** The $R index of $Extend/$Reparse. */
const REPARSE_INDEX = '$R';

const FIRST_FREE_RECORD = 24; // records 16..23 are reserved for $MFT's own extension records
const MFT_GROW_RECORDS = 64;

/** Non-resident attribute header fields of a blob. */
export interface NrState {
  runs: Run[];
  allocatedSize: number;
  dataSize: number;
  initializedSize: number;
  flags: number;
  compressionUnit: number;
}

function rd(blob: AttrBlob): ByteView {
  return new ByteView(blob.bytes, 0, `attribute ${hex(blob.type)}`);
}

export function blobIsResident(b: AttrBlob): boolean {
  return b.bytes[ATTR.nonResident] === 0;
}

export function blobValue(b: AttrBlob): Uint8Array {
  const v = rd(b);
  return v.bytesAt(v.u16(ATTR.valueOffset), v.u32(ATTR.valueLength));
}

export function blobNr(b: AttrBlob, clusterCount: number): NrState & { lowestVcn: number; highestVcn: number } {
  const v = rd(b);
  const lowestVcn = v.u64n(ATTR.lowestVcn);
  const runs = decodeRunlist(b.bytes.subarray(v.u16(ATTR.mappingPairsOffset)), lowestVcn, clusterCount, `attribute ${hex(b.type)}`);
  return {
    runs, lowestVcn, highestVcn: Number(v.i64(ATTR.highestVcn)),
    allocatedSize: v.u64n(ATTR.allocatedSize), dataSize: v.u64n(ATTR.dataSize), initializedSize: v.u64n(ATTR.initializedSize),
    flags: v.u16(ATTR.flags), compressionUnit: v.u8(ATTR.compressionUnit),
  };
}

/** A non-resident attribute held in one extent: it starts at VCN 0 and maps its whole allocation. */
function isWholeExtent(b: AttrBlob, clusterSize: number): boolean {
  if (blobIsResident(b)) return false;
  const v = rd(b);
  return v.u64n(ATTR.lowestVcn) === 0 && (Number(v.i64(ATTR.highestVcn)) + 1) * clusterSize === v.u64n(ATTR.allocatedSize);
}

/** Build a $FILE_NAME value. */
export function fileNameValue(parentRef: bigint, name: string, ns: number, times: bigint, attrs: number, allocated: number, size: number, reparseTag = 0): Uint8Array {
  const nm = encodeUtf16le(name);
  const w = ByteWriter.alloc(FILE_NAME.HEADER + nm.length);
  w.u64(FILE_NAME.parentRef, parentRef).u64(FILE_NAME.creationTime, times).u64(FILE_NAME.lastDataChangeTime, times)
    .u64(FILE_NAME.lastMftChangeTime, times).u64(FILE_NAME.lastAccessTime, times).u64(FILE_NAME.allocatedSize, allocated)
    .u64(FILE_NAME.dataSize, size).u32(FILE_NAME.fileAttributes, attrs).u32(FILE_NAME.reparseTag, reparseTag)
    .u8(FILE_NAME.nameLength, name.length).u8(FILE_NAME.namespace, ns).bytesAt(FILE_NAME.name, nm);
  return w.bytes;
}

/**
 * The namespace of every name this writer creates: POSIX. A Win32 name promises a DOS (8.3)
 * partner, which this writer does not make; ntfs-3g's unlink looks for that partner and fails
 * without it. Windows itself stores POSIX names when it makes no 8.3 names (every name on the
 * Windows 7 and 10 volumes in ../shared/testdata/ntfs is POSIX), and so does ntfs-3g.
 */
export const NEW_NAME_NAMESPACE = Namespace.Posix;

interface BlockWrite {
  /** The index it belongs to: "record/name" (a record may hold two indexes, like $Secure). */
  index: string;
  vcn: number;
  bytes: Uint8Array;
}

/**
 * The write side: one transaction per FileSystem operation. Records, index blocks and bitmaps
 * are edited in memory; `commit` writes new data first, then $Bitmap, the MFT bitmap, index
 * blocks and finally MFT records (with $MFTMirr), so a failure before the commit writes nothing
 * that is referenced, and clusters freed by an operation are not reused by the same operation.
 */
export class NtfsWriter {
  private clusters!: AllocBitmap;
  private mftBmp!: AllocBitmap;
  private records = new Map<number, RecordEditor>();
  private blocks = new Map<string, BlockWrite>();
  private freeLater: Run[] = [];
  private freeRecordsLater: number[] = [];
  private touchedDirs = new Set<number>();
  private logFileReset = false;
  private mftRuns!: Run[];
  private mftRecords!: number;
  private mirrRuns!: Run[];
  private mirrCount!: number;
  private loaded = false;

  constructor(readonly vol: NtfsVolume) {}

  get recordSize(): number {
    return this.vol.recordSize;
  }
  get cs(): number {
    return this.vol.clusterSize;
  }

  private load(): void {
    if (this.loaded) return;
    const v = this.vol;
    const bm = v.readAll(v.view(SystemFile.Bitmap), AttrType.Data, '', 1 << 30)!;
    this.clusters = new AllocBitmap(bm, v.clusterCount, '$Bitmap');
    const mftView = v.view(SystemFile.Mft);
    const mb = v.readAll(mftView, AttrType.Bitmap, '', 1 << 28);
    if (!mb) throw new FormatError(NtfsCode.MissingSystemFile, '$MFT has no $BITMAP', {});
    this.mftRecords = v.recordCount;
    this.mftBmp = new AllocBitmap(mb, Math.min(this.mftRecords, mb.length * 8), '$MFT bitmap');
    this.mftRuns = v.mft.info.runs.map((r) => ({ ...r }));
    const mirr = v.streamInfo(v.view(SystemFile.MftMirr), AttrType.Data)!;
    this.mirrRuns = mirr.runs;
    this.mirrCount = Math.floor(mirr.dataSize / v.recordSize);
    this.loaded = true;
  }

  /** Forget everything staged (nothing was written); reload bitmaps next time. */
  abort(): void {
    this.records.clear();
    this.blocks.clear();
    this.freeLater = [];
    this.freeRecordsLater = [];
    this.touchedDirs.clear();
    this.dirAlloc.clear();
    this.stagedExt.clear();
    this.stagedData.clear();
    this.stagedInit = [];
    this.created.clear();
    this.loaded = false;
  }

  // ---- records -------------------------------------------------------------------------------

  rec(n: number): RecordEditor {
    this.load();
    let r = this.records.get(n);
    if (!r) {
      r = RecordEditor.from(this.vol.record(n));
      this.records.set(n, r);
    }
    return r;
  }

  /** Allocate a fresh MFT record (growing $MFT when the bitmap is full). */
  allocRecord(flags: number): RecordEditor {
    this.load();
    let n: number;
    try {
      n = this.mftBmp.allocate(1, FIRST_FREE_RECORD, FIRST_FREE_RECORD)[0]!.start;
    } catch (e) {
      if (!(e instanceof NoSpaceError)) throw e;
      this.growMft();
      n = this.mftBmp.allocate(1, FIRST_FREE_RECORD, FIRST_FREE_RECORD)[0]!.start;
    }
    return this.initRecord(n, flags);
  }

  /** Stage record `n` (already marked in the MFT bitmap) as a fresh, in-use, empty record. */
  private initRecord(n: number, flags: number): RecordEditor {
    let seq = 1;
    let usn = 1;
    if (n < this.vol.recordCount) {
      try {
        const old = this.vol.record(n);
        seq = old.sequence || 1;
        usn = old.bytes[0x30]! | (old.bytes[0x31]! << 8);
      } catch {
        // an unformatted or damaged free record is simply overwritten
      }
    }
    const r = RecordEditor.fresh(n, this.recordSize, seq, flags | RecordFlags.InUse, usn);
    this.records.set(n, r);
    this.created.add(n);
    return r;
  }

  /** Free a record at commit (sequence bumped, in-use flag cleared). */
  freeRecord(n: number): void {
    const r = this.rec(n);
    if (!(r.flags & RecordFlags.InUse)) return; // already freed in this operation
    r.flags = r.flags & ~RecordFlags.InUse;
    let seq = r.sequence + 1;
    if (seq > 0xffff) seq = 1;
    r.sequence = seq;
    this.freeRecordsLater.push(n);
  }

  /**
   * Grow $MFT by MFT_GROW_RECORDS records (at least a cluster): new clusters are appended to its
   * runlist, $MFT:$BITMAP is made to cover the new records and they are formatted as free FILE
   * records. The longer runlist is laid out by placeMftData(): in record 0 alone while it fits,
   * else spread over extension records 16..23 under an $ATTRIBUTE_LIST.
   */
  private growMft(): void {
    const exts = this.mftDataExtents();
    const first = exts[0];
    if (!first || first.recN !== 0 || first.st.lowestVcn !== 0) {
      throw new FormatError(NtfsCode.BadAttributeList, '$MFT record 0 does not hold the first extent of $MFT:$DATA', {});
    }
    const oldRuns = exts.flatMap((e) => e.st.runs);
    const vcnStart = Math.ceil(first.st.allocatedSize / this.cs);
    const mapped = oldRuns.length ? oldRuns[oldRuns.length - 1]!.vcn + oldRuns[oldRuns.length - 1]!.length : 0;
    if (mapped !== vcnStart) {
      throw new FormatError(NtfsCode.BadRunlist, `$MFT:$DATA maps ${mapped} clusters but its allocated size is ${vcnStart} clusters`, {});
    }
    const addBytes = Math.max(MFT_GROW_RECORDS * this.recordSize, this.cs);
    const addClusters = Math.ceil(addBytes / this.cs);
    const lastRun = oldRuns[oldRuns.length - 1]!;
    const newRuns = [...oldRuns, ...this.allocRuns(addClusters, vcnStart, lastRun.lcn + lastRun.length)];
    const newSize = (vcnStart + addClusters) * this.cs;
    const oldRecords = this.mftRecords;
    const newRecords = Math.floor(newSize / this.recordSize);
    // the MFT bitmap must cover the new records (its runlist may grow in record 0 first)
    const needBytes = Math.ceil(newRecords / 64) * 8;
    if (needBytes > this.mftBmp.bytes.length) {
      const nb = new Uint8Array(needBytes);
      nb.set(this.mftBmp.bytes);
      this.mftBmp.bytes = nb;
    }
    this.mftBmp.units = newRecords;
    this.mftBmp.dirtyLo = 0;
    this.mftBmp.dirtyHi = this.mftBmp.bytes.length - 1;
    this.placeMftBitmap();
    this.placeMftData({ runs: newRuns, allocatedSize: newSize, dataSize: newSize, initializedSize: newSize, flags: first.st.flags, compressionUnit: 0 });
    this.mftRuns = newRuns;
    this.mftRecords = newRecords;
    // format the new records as free (not in use) so readers and chkdsk see valid FILE records
    // (at commit, before any record is written: records allocated from them overwrite them)
    const runs = newRuns;
    this.stagedInit.push(() => {
      for (let n = oldRecords; n < newRecords; n++) {
        const r = RecordEditor.fresh(n, this.recordSize, 0, 0);
        this.writeRuns(runs, n * this.recordSize, protectForWrite(r.encode()));
      }
    });
  }

  /** Extents of $MFT:$DATA as this operation has them, in VCN order, with the record holding each. */
  private mftDataExtents(): { recN: number; blob: AttrBlob; st: ReturnType<typeof blobNr> }[] {
    const out: { recN: number; blob: AttrBlob; st: ReturnType<typeof blobNr> }[] = [];
    for (const x of this.recordsOf(SystemFile.Mft)) {
      for (const b of this.rec(x).attrs) {
        if (b.type !== AttrType.Data || b.name !== '') continue;
        if (blobIsResident(b)) throw new FormatError(NtfsCode.MissingSystemFile, '$MFT has a resident $DATA', {});
        out.push({ recN: x, blob: b, st: blobNr(b, this.vol.clusterCount) });
      }
    }
    return out.sort((a, b) => a.st.lowestVcn - b.st.lowestVcn);
  }

  /** $MFT:$BITMAP and the record holding it (record 0, or an extension record of $MFT). */
  private mftBitmapBlob(): { rec: RecordEditor; blob: AttrBlob } {
    for (const x of this.recordsOf(SystemFile.Mft)) {
      const rec = this.rec(x);
      const blob = rec.find(AttrType.Bitmap);
      if (blob) return { rec, blob };
    }
    throw new FormatError(NtfsCode.MissingSystemFile, '$MFT has no $BITMAP', {});
  }

  /**
   * Lay out $MFT:$DATA's runlist anew. The extent starting at VCN 0 stays in record 0 (a reader
   * finds $MFT through it); when the whole runlist does not fit there, record 0 keeps as many
   * runs as leave room for the $ATTRIBUTE_LIST and the rest go, in VCN order, to $MFT's own
   * extension records: those it has, then free ones among records 16..23, which lie in the part of
   * $MFT that record 0 maps. @throws NoSpaceError when 16..23 are all taken
   */
  private placeMftData(s: NrState): void {
    const base = this.rec(SystemFile.Mft);
    const ext = this.recordsOf(SystemFile.Mft).slice(1);
    const isData = (b: AttrBlob) => b.type === AttrType.Data && b.name === '';
    // instance numbers of the extents taken out, given again to the extents put back in the same
    // record (a record's next-instance counter must not run round onto its other attributes)
    const instances = new Map<number, number[]>();
    const dropAll = () => {
      for (const x of [SystemFile.Mft, ...ext]) {
        const r = this.rec(x);
        for (const b of r.attrs.filter(isData)) {
          r.remove(b);
          const q = instances.get(x) ?? [];
          q.push(new ByteView(b.bytes).u16(ATTR.instance));
          instances.set(x, q);
        }
      }
    };
    dropAll();
    if (ext.length === 0 && !base.find(AttrType.AttributeList)) {
      // no attribute list yet: one extent in record 0 while it fits
      const whole = nonResidentAttr(AttrType.Data, '', {
        runs: s.runs, lowestVcn: 0, highestVcn: Math.ceil(s.allocatedSize / this.cs) - 1,
        allocatedSize: s.allocatedSize, dataSize: s.dataSize, initializedSize: s.initializedSize, flags: s.flags,
      });
      base.add(whole, instances.get(SystemFile.Mft)?.[0]);
      if (base.fits()) return;
      base.remove(whole);
    }
    // Room record 0 gives up for the $ATTRIBUTE_LIST: raised until the list (which names every
    // extent placed) fits beside record 0's extent.
    let reserve = 0;
    for (let attempt = 0; ; attempt++) {
      const records = [base, ...ext.map((x) => this.rec(x))];
      let k = 0;
      this.fillExtents(AttrType.Data, '', s, (minimum) => {
        for (; k < records.length; k++) {
          const r = records[k]!;
          const room = r.free() - (r === base ? reserve : 0);
          if (room >= minimum) return { rec: records[k++]!, room, instance: instances.get(r.recordNumber)?.shift() };
        }
        const er = this.newMftExtension();
        ext.push(er.recordNumber);
        records.push(er);
        k = records.length;
        return { rec: er, room: er.free() };
      });
      const old = base.find(AttrType.AttributeList);
      const need = residentAttr(AttrType.AttributeList, '', this.attrListValue(SystemFile.Mft, ext)).bytes.length - (old ? old.bytes.length : 0);
      if (base.free() >= need) break;
      if (attempt > 64) throw new NoSpaceError(NtfsCode.NoSpace, '$MFT record 0 has no room for its attribute list', {});
      reserve += need - base.free();
      dropAll();
    }
    const firstExt = base.find(AttrType.Data);
    if (!firstExt) throw new NoSpaceError(NtfsCode.NoSpace, '$MFT record 0 has no room for the first extent of $MFT:$DATA', {});
    // a reader loads each extension record through the extents before it: check that order works
    let mapped = (blobNr(firstExt, this.vol.clusterCount).highestVcn + 1) * this.cs;
    const later = ext.flatMap((x) => this.rec(x).attrs.filter(isData).map((b) => ({ x, st: blobNr(b, this.vol.clusterCount) })))
      .sort((a, b) => a.st.lowestVcn - b.st.lowestVcn);
    for (const e of later) {
      if ((e.x + 1) * this.recordSize > mapped) {
        throw new UnsupportedError(NtfsCode.Unsupported, `$MFT extension record ${e.x} would lie outside the part of $MFT mapped before it`, { record: e.x });
      }
      mapped = (e.st.highestVcn + 1) * this.cs;
    }
    for (const x of ext) if (this.rec(x).attrs.length === 0) this.freeRecord(x);
    this.rebuildAttrList(SystemFile.Mft, ext);
    if (!base.fits()) throw new NoSpaceError(NtfsCode.NoSpace, '$MFT record 0: attributes do not fit', {});
  }

  /**
   * A new extension record for $MFT itself, from records 16..23: they are mapped by record 0's
   * extent, so a reader can load them before the rest of $MFT is known, and ordinary allocations
   * never take them (FIRST_FREE_RECORD). @throws NoSpaceError when all eight are in use
   */
  private newMftExtension(): RecordEditor {
    for (let n = SystemFile.FirstUser; n < FIRST_FREE_RECORD; n++) {
      if (this.mftBmp.get(n) || this.records.has(n)) continue;
      this.mftBmp.set(n, 1);
      const er = this.initRecord(n, 0);
      er.setBase(makeRef(SystemFile.Mft, this.rec(SystemFile.Mft).sequence));
      return er;
    }
    throw new NoSpaceError(NtfsCode.NoSpace, `$MFT's runlist needs another extension record and records ${SystemFile.FirstUser}-${FIRST_FREE_RECORD - 1}, reserved for them, are all in use`, {});
  }

  /** Make $MFT:$BITMAP's attribute match the in-memory bitmap's size (the caller checks its record still fits). */
  private placeMftBitmap(): void {
    const { rec, blob: b } = this.mftBitmapBlob();
    const size = this.mftBmp.bytes.length;
    if (blobIsResident(b)) {
      rec.replace(b, residentAttr(AttrType.Bitmap, '', this.mftBmp.bytes));
      return;
    }
    if (!isWholeExtent(b, this.cs)) throw new UnsupportedError(NtfsCode.Unsupported, '$MFT:$BITMAP is spread over several extents; growing it is not supported', {});
    const st = blobNr(b, this.vol.clusterCount);
    const runs = [...st.runs];
    let alloc = st.allocatedSize;
    if (size > alloc) {
      const need = Math.ceil((size - alloc) / this.cs);
      const last = runs[runs.length - 1]!;
      const got = this.allocRuns(need, alloc / this.cs, last.lcn + last.length);
      // zero the new clusters so the bitmap tail reads as free (at commit, before the bitmap)
      for (const g of got) this.stagedInit.push(() => this.writeDevice(g.lcn * this.cs, new Uint8Array(g.length * this.cs)));
      runs.push(...got);
      alloc += need * this.cs;
    }
    rec.replace(b, nonResidentAttr(AttrType.Bitmap, '', { runs, lowestVcn: 0, highestVcn: alloc / this.cs - 1, allocatedSize: alloc, dataSize: size, initializedSize: size }));
    if (rec.recordNumber !== SystemFile.Mft && !rec.fits()) throw new NoSpaceError(NtfsCode.NoSpace, `$MFT extension record ${rec.recordNumber} has no room for the bitmap's runs`, {});
  }

  // ---- clusters and raw writes ------------------------------------------------------------------

  /** Allocate `count` clusters as runs starting at `vcn`, preferring `near`. */
  allocRuns(count: number, vcn: number, near = 0): Run[] {
    this.load();
    const out: Run[] = [];
    for (const g of this.clusters.allocate(count, near)) {
      out.push({ vcn, lcn: g.start, length: g.length });
      vcn += g.length;
    }
    return out;
  }

  /** Free clusters when the operation commits (never reused by the same operation). */
  freeRuns(runs: readonly Run[]): void {
    for (const r of runs) if (r.lcn >= 0) this.freeLater.push({ ...r });
  }

  writeDevice(offset: number, bytes: Uint8Array): void {
    this.vol.device.writeAt(offset, bytes);
  }

  /** Write `bytes` at byte `offset` of a value laid out by `runs` (no sparse runs in range). */
  writeRuns(runs: readonly Run[], offset: number, bytes: Uint8Array): void {
    const cs = this.cs;
    let pos = offset;
    const end = offset + bytes.length;
    for (const r of runs) {
      const rs = r.vcn * cs;
      const re = (r.vcn + r.length) * cs;
      if (re <= pos || rs >= end) continue;
      const s = Math.max(pos, rs);
      const e = Math.min(end, re);
      if (r.lcn < 0) throw new FormatError(NtfsCode.BadRunlist, `write into a sparse run at VCN ${r.vcn}`, {});
      this.writeDevice(r.lcn * cs + (s - rs), bytes.subarray(s - offset, e - offset));
      pos = e;
    }
    if (pos < end && bytes.length) throw new FormatError(NtfsCode.BadRunlist, `write at ${offset}+${bytes.length} runs past the allocated runs`, {});
  }

  private writeMftRecord(n: number, fixedUp: Uint8Array): void {
    const prot = protectForWrite(fixedUp);
    this.writeRuns(this.mftRuns, n * this.recordSize, prot);
    if (n < this.mirrCount) this.writeRuns(this.mirrRuns, n * this.recordSize, prot);
  }

  // ---- indexes ------------------------------------------------------------------------------

  /** An index editor for a directory's $I30, staging its blocks in this transaction. */
  index(dirN: number): { ed: IndexEditor<string>; finish: () => void } {
    return this.indexOf(dirN, I30, fileNameCollation(this.vol.upcase));
  }

  /**
   * An index editor for the index `name` of record `dirN` ($I30 of a directory, or a view index
   * such as $Extend/$Reparse:$R), staging its blocks in this transaction.
   */
  private indexOf<K>(dirN: number, name: string, collation: IndexCollation<K>): { ed: IndexEditor<K>; finish: () => void } {
    const vol = this.vol;
    const dirRec = this.rec(dirN);
    // $INDEX_ROOT is in the base record, except where ntfs-3g moved it to an extension record
    const rootRecN = this.recordsOf(dirN).find((x) => this.rec(x).find(AttrType.IndexRoot, name) !== undefined);
    if (rootRecN === undefined) throw new FormatError(NtfsCode.BadIndex, `record ${dirN} has no $INDEX_ROOT ${name}`, { record: dirN });
    const rootRec = this.rec(rootRecN);
    const rootBlob = rootRec.find(AttrType.IndexRoot, name)!;
    const rootVal = blobValue(rootBlob);
    const { attrType, collationRule, blockSize, vcnUnit } = indexRootFormat(rootVal, this.cs, `record ${dirN} $INDEX_ROOT ${name}`);
    /** Staging key of this index (blocks, allocation, bitmap). */
    const ix = `${dirN}/${name}`;
    const format: RootFormat = { attrType, collationRule };
    const root = toEdit(rootVal.slice(), INDEX_ROOT.header, `record ${dirN} $INDEX_ROOT`, -1);
    const self = this;
    let dirIdxCache: DirectoryIndex | undefined;
    const dirIdx = () => (dirIdxCache ??= new DirectoryIndex(vol, vol.view(dirN), name));
    let alloc: { runs: Run[]; size: number; allocated: number } | undefined;
    let bitmap: Uint8Array | undefined;
    /** The $BITMAP:$I30 clusters when that attribute is non-resident (it is rewritten in place). */
    let bitmapNr: NrState | undefined;
    const loadAlloc = () => {
      if (alloc) return;
      const kept = this.dirAlloc.get(ix);
      if (kept) {
        // an earlier edit of this directory in the same operation
        alloc = { ...kept.alloc, runs: kept.alloc.runs.slice() };
        bitmap = kept.bitmap.slice();
        bitmapNr = kept.bitmapNr;
        return;
      }
      const a = dirRec.find(AttrType.IndexAllocation, name);
      const b = dirRec.find(AttrType.Bitmap, name);
      if (a && b && isWholeExtent(a, this.cs) && (blobIsResident(b) || isWholeExtent(b, this.cs))) {
        const st = blobNr(a, vol.clusterCount);
        alloc = { runs: st.runs, size: st.dataSize, allocated: st.allocatedSize };
        bitmap = blobIsResident(b) ? blobValue(b).slice() : vol.readAll(vol.view(dirN), AttrType.Bitmap, name)!;
        if (!blobIsResident(b)) bitmapNr = blobNr(b, vol.clusterCount);
      } else if (a || b || (!this.isNew(dirN) && vol.view(dirN).attrList)) {
        // Some extent of the index lives in an extension record (a large or fragmented directory):
        // take the whole attributes from the volume, through the attribute list.
        const view = vol.view(dirN);
        const ia = vol.streamInfo(view, AttrType.IndexAllocation, name);
        const bm = vol.streamInfo(view, AttrType.Bitmap, name);
        if (!ia && !bm) {
          alloc = { runs: [], size: 0, allocated: 0 };
          bitmap = new Uint8Array(8);
        } else if (!ia || !bm || ia.resident) {
          throw new FormatError(NtfsCode.BadIndex, `record ${dirN}: $INDEX_ALLOCATION and $BITMAP of ${name} do not come as a pair`, { record: dirN });
        } else {
          // the runs must map exactly the allocated size: blocks are placed by VCN within it
          const mapped = ia.runs.length ? (ia.runs[ia.runs.length - 1]!.vcn + ia.runs[ia.runs.length - 1]!.length) * this.cs : 0;
          if (ia.allocatedSize !== mapped || ia.dataSize > ia.allocatedSize || ia.runs.some((r) => r.lcn < 0)) {
            throw new FormatError(NtfsCode.BadIndex, `record ${dirN}: $INDEX_ALLOCATION ${name} maps ${mapped} bytes but says ${ia.allocatedSize} allocated, ${ia.dataSize} used`, { record: dirN });
          }
          alloc = { runs: ia.runs.slice(), size: ia.dataSize, allocated: ia.allocatedSize };
          bitmap = vol.readAll(view, AttrType.Bitmap, name)!;
          if (!bm.resident) bitmapNr = { runs: bm.runs, allocatedSize: bm.allocatedSize, dataSize: bm.dataSize, initializedSize: bm.initializedSize, flags: 0, compressionUnit: 0 };
        }
      } else {
        alloc = { runs: [], size: 0, allocated: 0 };
        bitmap = new Uint8Array(8);
      }
    };
    const store: IndexStore = {
      blockSize,
      rootRoom(node: EditNode): number {
        const newVal = INDEX_ROOT.SIZE + node.entries.reduce((n, e) => n + 16 + (e.end ? 0 : (e.key.length + 7) & ~7) + (e.sub >= 0 ? 8 : 0), 0);
        const cur = rootBlob.bytes.length;
        const next = (((0x18 + 8 + newVal) + 7) & ~7);
        return rootRec.free() + cur - next;
      },
      load(vcn: number): EditNode {
        const staged = self.blocks.get(`${ix}/${vcn}`);
        if (staged) return toEdit(staged.bytes, 0x18, `record ${dirN} index block ${vcn}`, vcn);
        const idx = dirIdx();
        const n = idx.node(vcn);
        return toEdit(n.buf, n.headerOffset, `record ${dirN} index block ${vcn}`, vcn);
      },
      allocBlock(): EditNode {
        loadAlloc();
        let bit = 0;
        while (bit < bitmap!.length * 8 && bitmap![bit >>> 3]! & (1 << (bit & 7))) bit++;
        const need = (bit + 1) * blockSize;
        if (need > alloc!.allocated) {
          const clusters = Math.ceil((need - alloc!.allocated) / self.cs);
          const vcn = alloc!.allocated / self.cs;
          const last = alloc!.runs[alloc!.runs.length - 1];
          const got = self.allocRuns(clusters, vcn, last ? last.lcn + last.length : 0);
          // zero the new clusters: block slots not used yet must not hold stale data
          // (sleuthkit parses every slot of the allocation)
          for (const g of got) self.stagedInit.push(() => self.writeDevice(g.lcn * self.cs, new Uint8Array(g.length * self.cs)));
          alloc!.runs.push(...got);
          alloc!.allocated = (vcn + clusters) * self.cs;
        }
        alloc!.size = Math.max(alloc!.size, need);
        if (bit >>> 3 >= bitmap!.length) {
          const nb = new Uint8Array(bitmap!.length + 8);
          nb.set(bitmap!);
          bitmap = nb;
        }
        bitmap![bit >>> 3] = bitmap![bit >>> 3]! | (1 << (bit & 7));
        return { vcn: (bit * blockSize) / vcnUnit, entries: [], dirty: true };
      },
      freeBlock(vcn: number): void {
        loadAlloc();
        const bit = (vcn * vcnUnit) / blockSize;
        if (bit >>> 3 < bitmap!.length) bitmap![bit >>> 3] = bitmap![bit >>> 3]! & ~(1 << (bit & 7));
        freed.add(vcn);
      },
    };
    const freed = new Set<number>();
    const ed = new IndexEditor(root, store, collation, `record ${dirN} index ${name}`);
    const finish = () => {
      // A freed block is written back empty: sleuthkit reads every block of the allocation
      // whatever $BITMAP says, and would list the stale names still in it.
      for (const vcn of freed) {
        const bit = (vcn * vcnUnit) / blockSize;
        const reused = bit >>> 3 < bitmap!.length && (bitmap![bit >>> 3]! & (1 << (bit & 7))) !== 0;
        if (!reused) ed.nodes.set(vcn, { vcn, entries: [{ ref: 0n, key: new Uint8Array(0), end: true, sub: -1 }], dirty: true });
      }
      if ([...ed.nodes.values()].some((nd) => nd.dirty)) loadAlloc();
      // blocks
      for (const node of ed.nodes.values()) {
        if (!node.dirty) continue;
        let usn = 1;
        try {
          const old = dirIdx().node(node.vcn);
          usn = old.buf[0x28]! | (old.buf[0x29]! << 8);
        } catch {
          // a brand-new block
        }
        this.blocks.set(`${ix}/${node.vcn}`, { index: ix, vcn: node.vcn * vcnUnit, bytes: encodeBlock(node, blockSize, usn) });
      }
      // The root first: it may have shrunk (entries pushed down into blocks), making room below.
      if (root.dirty || (alloc && alloc.runs.length)) {
        rootRec.replace(rootRec.find(AttrType.IndexRoot, name)!, residentAttr(AttrType.IndexRoot, name, encodeRoot(root, blockSize, this.cs, format)));
      }
      if (alloc && alloc.runs.length) {
        // like ntfs-3g: the whole allocation is initialized data; $BITMAP says which blocks are used.
        // place() keeps it in the base record when it fits, else moves its runlist to extension
        // records under an $ATTRIBUTE_LIST (a big directory on a fragmented volume).
        const a = alloc.allocated;
        this.place(dirN, AttrType.IndexAllocation, name, { nr: { runs: alloc.runs, allocatedSize: a, dataSize: a, initializedSize: a, flags: 0, compressionUnit: 0 } });
        if (bitmapNr) {
          if (bitmap!.length > bitmapNr.allocatedSize) throw new UnsupportedError(NtfsCode.Unsupported, `directory record ${dirN}: index bitmap outgrew its clusters`, {});
          const runs = bitmapNr.runs;
          const bytes = bitmap!.slice();
          this.stagedData.set(`${ix}/bitmap`, () => this.writeRuns(runs, 0, bytes));
          this.place(dirN, AttrType.Bitmap, name, { nr: { ...bitmapNr, dataSize: bitmap!.length, initializedSize: bitmap!.length } });
        } else {
          this.place(dirN, AttrType.Bitmap, name, { resident: bitmap! });
        }
      }
      if (!dirRec.fits() || !rootRec.fits()) throw new NoSpaceError(NtfsCode.NoSpace, `directory record ${dirN}: its index attributes no longer fit the record`, { record: dirN });
      if (alloc) this.dirAlloc.set(ix, { alloc, bitmap: bitmap!, bitmapNr });
      this.touchedDirs.add(dirN);
    };
    return { ed, finish };
  }

  /**
   * Writes that initialise clusters allocated in this operation ($MFT's new records, a grown
   * $MFT:$BITMAP, a non-resident attribute list, a directory's new index clusters), done first at
   * commit: nothing is written before the commit, even to free clusters.
   */
  private stagedInit: (() => void)[] = [];

  /** Writes into clusters a file already owns, held until commit (keyed so a later edit replaces them). */
  private stagedData = new Map<string, () => void>();

  /** Index allocation of each index edited in this operation, by "record/name" (where its blocks are written). */
  private dirAlloc = new Map<string, { alloc: { runs: Run[]; size: number; allocated: number }; bitmap: Uint8Array; bitmapNr: NrState | undefined }>();

  /** Insert a name into a directory index. */
  indexInsert(dirN: number, key: Uint8Array, ref: bigint): void {
    const { ed, finish } = this.index(dirN);
    ed.insert(key, ref);
    finish();
  }

  /** Remove a name from a directory index (rebuilding the tree when a leaf empties). */
  indexRemove(dirN: number, name: string, record: number): void {
    const collation = fileNameCollation(this.vol.upcase);
    const ofRecord = (ref: bigint) => splitRef(ref).record === record;
    const removed = this.removeIndexEntry(dirN, I30, collation, name, ofRecord, (e) => ofRecord(e.ref) && collation.keyOf(e.key) === name);
    if (!removed) throw new FormatError(NtfsCode.BadIndex, `directory ${dirN} has no entry "${name}" for record ${record}`, { record: dirN });
  }

  /**
   * Remove the entry sought by `k` (and accepted by `accept`) from index `name` of record `n`,
   * rebuilding the tree without the entries `gone` picks when a leaf empties. False when absent.
   */
  private removeIndexEntry<K>(n: number, name: string, collation: IndexCollation<K>, k: K, accept: (ref: bigint) => boolean, gone: (e: RawIndexEntry) => boolean): boolean {
    const { ed, finish } = this.indexOf(n, name, collation);
    if (!ed.remove(k, accept)) return false;
    if (ed.needsRebuild) {
      // from the tree as this operation has it (an earlier edit of the same index included)
      const { entries, blocks } = ed.walk();
      ed.rebuild(entries.filter((e) => !gone(e)), blocks);
    }
    finish();
    return true;
  }

  /** Replace a name's duplicated info (sizes, times) in its directory entry. */
  indexUpdate(dirN: number, name: string, record: number, key: Uint8Array): void {
    const { ed, finish } = this.index(dirN);
    if (ed.update(name, (ref) => splitRef(ref).record === record, key)) finish();
  }

  /**
   * Remove a reparse point's entry from $Extend/$Reparse:$R, the volume's list of reparse points
   * (keyed by tag and file reference), as Windows and ntfs-3g do when the reparse point goes.
   * A volume without $Reparse, or without the entry, has nothing to remove.
   */
  reparseIndexRemove(tag: number, ref: bigint): void {
    const rn = this.reparseIndexRecord();
    if (rn === undefined) return;
    const key = ByteWriter.alloc(REPARSE_INDEX_KEY.SIZE).u32(REPARSE_INDEX_KEY.tag, tag).u64(REPARSE_INDEX_KEY.fileRef, ref).bytes;
    const same = ulongsCollation.seek(key);
    this.removeIndexEntry(rn, REPARSE_INDEX, ulongsCollation, key, () => true, (e) => same(e.key) === 0);
  }

  /**
   * Read $Extend/$Reparse:$R through the checked reader, staging nothing: throws what a damaged
   * index would throw in the middle of an edit, before the edit starts.
   */
  checkReparseIndex(): void {
    const rn = this.reparseIndexRecord();
    if (rn !== undefined) new DirectoryIndex(this.vol, this.vol.view(rn), REPARSE_INDEX).rawEntries();
  }

  /** The record of $Extend/$Reparse, if the volume has one with its $R index. */
  private reparseIndexRecord(): number | undefined {
    const vol = this.vol;
    const extend = vol.view(SystemFile.Extend);
    if (!extend.attrs.some((a) => a.type === AttrType.IndexRoot && a.name === I30)) return undefined;
    const hit = new DirectoryIndex(vol, extend).find('$Reparse')[0];
    if (!hit) return undefined;
    const n = hit.entry.record;
    return this.recordsOf(n).some((x) => this.rec(x).find(AttrType.IndexRoot, REPARSE_INDEX)) ? n : undefined;
  }

  /** Remove every extent of the attribute (type, name) from a file, freeing its clusters. */
  dropAttribute(baseN: number, type: number, name: string): void {
    const [, ...ext] = this.recordsOf(baseN);
    let dropped = false;
    for (const recN of [baseN, ...ext]) {
      const r = this.rec(recN);
      for (const b of r.attrs.filter((a) => a.type === type && a.name === name)) {
        if (!blobIsResident(b)) this.freeRuns(blobNr(b, this.vol.clusterCount).runs);
        r.remove(b);
        dropped = true;
      }
    }
    // as removeAttr does, but the list is rebuilt once for all the extents
    if (!dropped || !this.rec(baseN).find(AttrType.AttributeList)) return;
    for (const x of ext) if (this.rec(x).attrs.length === 0) this.freeRecord(x);
    this.rebuildAttrList(baseN, ext);
  }

  // ---- commit -------------------------------------------------------------------------------

  /** Write everything staged, in a safe order. */
  commit(): { records: number[]; dirs: number[] } {
    if (!this.loaded) return { records: [], dirs: [] };
    for (const r of this.freeLater) this.clusters.clear(r.lcn, r.length);
    for (const n of this.freeRecordsLater) this.mftBmp.clear(n, 1);
    // 0. contents of clusters allocated in this operation (not referenced until the records are written)
    for (const init of this.stagedInit) init();
    // 1. $Bitmap
    if (this.clusters.dirtyHi >= 0) {
      const bmInfo = this.vol.streamInfo(this.vol.view(SystemFile.Bitmap), AttrType.Data)!;
      const lo = this.clusters.dirtyLo;
      const hi = this.clusters.dirtyHi + 1;
      if (bmInfo.resident) throw new UnsupportedError(NtfsCode.Unsupported, 'resident $Bitmap', {});
      this.writeRuns(bmInfo.runs, lo, this.clusters.bytes.subarray(lo, hi));
    }
    // 2. MFT bitmap
    if (this.mftBmp.dirtyHi >= 0) {
      const { rec, blob: b } = this.mftBitmapBlob();
      if (blobIsResident(b)) rec.replace(b, residentAttr(AttrType.Bitmap, '', this.mftBmp.bytes));
      else if (isWholeExtent(b, this.cs)) this.writeRuns(blobNr(b, this.vol.clusterCount).runs, 0, this.mftBmp.bytes);
      else this.writeRuns(this.vol.streamInfo(this.vol.view(SystemFile.Mft), AttrType.Bitmap)!.runs, 0, this.mftBmp.bytes);
    }
    // 3. index blocks
    for (const bw of this.blocks.values()) {
      const runs = this.dirAlloc.get(bw.index)!.alloc.runs;
      this.writeRuns(runs, bw.vcn, protectForWrite(bw.bytes));
    }
    // 3b. attribute values rewritten in place (a directory's non-resident $I30 bitmap)
    for (const write of this.stagedData.values()) write();
    // 4. records: extension records before bases, record 0 last
    const order = [...this.records.keys()].sort((a, b) => (a === 0 ? 1 : b === 0 ? -1 : b - a));
    for (const n of order) this.writeMftRecord(n, this.records.get(n)!.encode());
    const done = { records: order, dirs: [...this.touchedDirs] };
    this.created.clear();
    this.records.clear();
    this.blocks.clear();
    this.freeLater = [];
    this.freeRecordsLater = [];
    this.touchedDirs.clear();
    this.dirAlloc.clear();
    this.stagedExt.clear();
    this.stagedData.clear();
    this.stagedInit = [];
    this.clusters.dirtyLo = Infinity;
    this.clusters.dirtyHi = -1;
    this.mftBmp.dirtyLo = Infinity;
    this.mftBmp.dirtyHi = -1;
    return done;
  }

  /** Empty $LogFile the way ntfs-3g does before its first write (all 0xFF), so Windows replays nothing stale. */
  resetLogFile(): void {
    if (this.logFileReset) return;
    const info = this.vol.streamInfo(this.vol.view(SystemFile.LogFile), AttrType.Data);
    if (!info || info.resident) throw new FormatError(NtfsCode.MissingSystemFile, '$LogFile has no data', {});
    const head = new Uint8Array(Math.min(info.dataSize, 8192));
    this.vol.stream(this.vol.view(SystemFile.LogFile), AttrType.Data)!.read(0, head);
    if (!head.every((b) => b === 0xff)) {
      const chunk = new Uint8Array(1 << 20).fill(0xff);
      for (let off = 0; off < info.dataSize; off += chunk.length) {
        this.writeRuns(info.runs, off, chunk.subarray(0, Math.min(chunk.length, info.dataSize - off)));
      }
    }
    this.logFileReset = true;
  }

  // ---- file-level helpers ---------------------------------------------------------------------

  now(): bigint {
    return nowFiletime();
  }

  /** Set $STANDARD_INFORMATION times (and optionally attributes). */
  touch(n: number, which: { m?: boolean; c?: boolean; a?: boolean }, setAttrs?: (a: number) => number): void {
    const r = this.rec(n);
    const si = r.find(AttrType.StandardInformation);
    if (!si) return;
    const val = blobValue(si).slice();
    const w = new ByteWriter(val);
    const t = this.now();
    if (which.m) w.u64(STD_INFO.lastDataChangeTime, t);
    if (which.c) w.u64(STD_INFO.lastMftChangeTime, t);
    if (which.a) w.u64(STD_INFO.lastAccessTime, t);
    if (setAttrs) w.u32(STD_INFO.fileAttributes, setAttrs(new ByteView(val).u32(STD_INFO.fileAttributes)));
    r.replace(si, residentAttr(AttrType.StandardInformation, '', val));
  }

  /** A $STANDARD_INFORMATION value for a new file. */
  newStdInfo(attrs: number, securityId: number): Uint8Array {
    const t = this.now();
    const w = ByteWriter.alloc(STD_INFO.SIZE_V3);
    w.u64(STD_INFO.creationTime, t).u64(STD_INFO.lastDataChangeTime, t).u64(STD_INFO.lastMftChangeTime, t).u64(STD_INFO.lastAccessTime, t)
      .u32(STD_INFO.fileAttributes, attrs).u32(STD_INFO.securityId, securityId);
    return w.bytes;
  }

  /**
   * Lay out an attribute's value anew: resident when it fits, else one non-resident extent in the
   * base record, else extents in extension records under an $ATTRIBUTE_LIST. Old extents
   * (wherever they were) are dropped first; their clusters are the caller's business.
   */
  place(baseN: number, type: number, name: string, value: { resident: Uint8Array } | { nr: NrState }): void {
    const base = this.rec(baseN);
    // drop old extents
    for (const b of base.attrs.filter((a) => a.type === type && a.name === name)) base.remove(b);
    const extRecords = new Set<number>(this.recordsOf(baseN).slice(1));
    for (const x of extRecords) {
      const er = this.rec(x);
      for (const b of er.attrs.filter((a) => a.type === type && a.name === name)) er.remove(b);
    }
    if ('resident' in value) {
      base.add(residentAttr(type, name, value.resident));
    } else {
      const s = value.nr;
      const vcnEnd = Math.ceil(s.allocatedSize / this.cs);
      const whole = nonResidentAttr(type, name, { runs: s.runs, lowestVcn: 0, highestVcn: vcnEnd - 1, allocatedSize: s.allocatedSize, dataSize: s.dataSize, initializedSize: s.initializedSize, flags: s.flags & AttrFlags.Sparse });
      base.add(whole);
      if (!base.fits()) {
        base.remove(whole);
        // an attribute list entry costs ~32 bytes in the base; the list itself goes in the base as resident
        this.fillExtents(type, name, s, () => {
          const er = this.newExtension(baseN);
          extRecords.add(er.recordNumber);
          return { rec: er, room: er.free() };
        });
      }
    }
    // empty extension records go; the list is rebuilt from what is left
    for (const x of extRecords) {
      const er = this.rec(x);
      if (er.attrs.length === 0) this.freeRecord(x);
    }
    if (base.find(AttrType.AttributeList) || [...extRecords].some((x) => this.rec(x).attrs.length > 0)) this.rebuildAttrList(baseN, [...extRecords]);
    if (!base.fits()) throw new NoSpaceError(NtfsCode.NoSpace, `record ${baseN}: attributes do not fit`, { record: baseN });
  }

  /**
   * The records holding a file's attributes as this operation has them: the base record first,
   * then its extension records in use.
   */
  recordsOf(baseN: number): number[] {
    const ext = new Set<number>(this.isNew(baseN) ? [] : this.vol.view(baseN).records.keys());
    for (const x of this.stagedExt.get(baseN) ?? []) ext.add(x);
    ext.delete(baseN);
    return [baseN, ...[...ext].sort((a, b) => a - b).filter((x) => this.rec(x).flags & RecordFlags.InUse)];
  }

  /**
   * Remove `blob` from record `recN` of the file whose base record is `baseN` (the base itself or
   * an extension record): an emptied extension record is freed, and the file's $ATTRIBUTE_LIST,
   * if it has one, rebuilt.
   */
  removeAttr(baseN: number, recN: number, blob: AttrBlob): void {
    this.rec(recN).remove(blob);
    if (!this.rec(baseN).find(AttrType.AttributeList)) return;
    const ext = this.recordsOf(baseN).slice(1);
    if (recN !== baseN && this.rec(recN).attrs.length === 0) this.freeRecord(recN);
    this.rebuildAttrList(baseN, ext);
  }

  /**
   * Add a resident attribute to a file: in the base record when it fits, else in an extension
   * record with room (a new one if none has), listed in the file's $ATTRIBUTE_LIST.
   */
  addAttr(baseN: number, blob: AttrBlob): void {
    const base = this.rec(baseN);
    const ext = this.recordsOf(baseN).slice(1);
    base.add(blob);
    if (base.fits()) {
      if (base.find(AttrType.AttributeList)) this.rebuildAttrList(baseN, ext);
      if (base.fits()) return;
      // the longer list no longer fits: the new attribute goes to an extension record after all
    }
    base.remove(blob);
    let home = ext.find((x) => {
      const er = this.rec(x);
      er.add(blob);
      if (er.fits()) return true;
      er.remove(blob);
      return false;
    });
    if (home === undefined) {
      const er = this.newExtension(baseN);
      er.add(blob);
      home = er.recordNumber;
      ext.push(home);
    }
    this.rebuildAttrList(baseN, ext);
    if (!base.fits()) throw new NoSpaceError(NtfsCode.NoSpace, `record ${baseN}: attributes do not fit`, { record: baseN });
  }

  /** A new extension record of `baseN` (empty; the caller lists what it puts there). */
  private newExtension(baseN: number): RecordEditor {
    const er = this.allocRecord(0);
    er.setBase(makeRef(baseN, this.rec(baseN).sequence));
    return er;
  }

  /**
   * Extension records of each base record as this operation has laid them out so far (the volume's
   * view still shows them as they are on disk), so that a second place() on the same file keeps
   * the first one's extents in the attribute list.
   */
  private stagedExt = new Map<number, Set<number>>();

  /**
   * Spread a non-resident value over extents in VCN order: each record `next` hands out (asked for
   * at least `minimum` bytes of room, enough for one run) takes as many runs as its `room` holds.
   * The extent at VCN 0 carries the sizes, the others zero, as NTFS keeps them.
   */
  private fillExtents(type: number, name: string, s: NrState, next: (minimum: number) => { rec: RecordEditor; room: number; instance?: number }): void {
    const runs = s.runs;
    const vcnEnd = Math.ceil(s.allocatedSize / this.cs);
    const margin = 8;
    let i = 0;
    do {
      const { rec, room, instance } = next(nonResidentSize(name, runs.slice(i, i + 1)) + margin);
      let j = i + 1;
      while (j < runs.length && nonResidentSize(name, runs.slice(i, j + 1)) + margin <= room) j++;
      const part = runs.slice(i, j);
      const lowest = part[0]?.vcn ?? 0;
      const highest = j < runs.length ? runs[j]!.vcn - 1 : vcnEnd - 1;
      const first = i === 0;
      rec.add(nonResidentAttr(type, name, {
        runs: part, lowestVcn: lowest, highestVcn: highest, allocatedSize: first ? s.allocatedSize : 0, dataSize: first ? s.dataSize : 0,
        initializedSize: first ? s.initializedSize : 0, flags: s.flags & AttrFlags.Sparse,
      }), instance);
      i = j;
    } while (i < runs.length);
  }

  /** Rebuild $ATTRIBUTE_LIST from the base record and its extension records. */
  private rebuildAttrList(baseN: number, candidates: number[]): void {
    const base = this.rec(baseN);
    // the extension records still holding something; remembered for later placements in this operation
    const ext = candidates.filter((x) => this.rec(x).attrs.length > 0);
    this.stagedExt.set(baseN, new Set(ext));
    const list = this.attrListValue(baseN, ext);
    const old = base.find(AttrType.AttributeList);
    if (old && !blobIsResident(old)) this.freeRuns(blobNr(old, this.vol.clusterCount).runs);
    const blob = residentAttr(AttrType.AttributeList, '', list);
    if (old) base.replace(old, blob);
    else base.add(blob);
    if (base.fits()) return;
    // A long list (a file with many names or extents) lives in clusters of its own, as ntfs-3g
    // and Windows keep it.
    const clusters = Math.ceil(list.length / this.cs);
    const runs = this.allocRuns(clusters, 0);
    const padded = new Uint8Array(clusters * this.cs);
    padded.set(list);
    this.stagedInit.push(() => this.writeRuns(runs, 0, padded));
    const size = clusters * this.cs;
    base.replace(blob, nonResidentAttr(AttrType.AttributeList, '', { runs, lowestVcn: 0, highestVcn: clusters - 1, allocatedSize: size, dataSize: list.length, initializedSize: list.length }));
  }

  /** The $ATTRIBUTE_LIST value naming every attribute of the base record and of `ext` (its extension records). */
  private attrListValue(baseN: number, ext: readonly number[]): Uint8Array {
    const entries: { type: number; name: string; lowestVcn: number; ref: bigint; instance: number }[] = [];
    const collect = (n: number, r: RecordEditor) => {
      for (const a of r.attrs) {
        if (a.type === AttrType.AttributeList) continue;
        const v = new ByteView(a.bytes);
        entries.push({ type: a.type, name: a.name, lowestVcn: blobIsResident(a) ? 0 : v.u64n(ATTR.lowestVcn), ref: makeRef(n, r.sequence), instance: v.u16(ATTR.instance) });
      }
    };
    collect(baseN, this.rec(baseN));
    for (const x of ext) collect(x, this.rec(x));
    entries.sort((a, b) => a.type - b.type || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) || a.lowestVcn - b.lowestVcn);
    const parts: Uint8Array[] = [];
    for (const e of entries) {
      const nm = encodeUtf16le(e.name);
      const len = (ATTR_LIST.HEADER + nm.length + 7) & ~7;
      const w = ByteWriter.alloc(len);
      w.u32(ATTR_LIST.type, e.type).u16(ATTR_LIST.length, len).u8(ATTR_LIST.nameLength, e.name.length).u8(ATTR_LIST.nameOffset, ATTR_LIST.HEADER)
        .u64(ATTR_LIST.lowestVcn, e.lowestVcn).u64(ATTR_LIST.mftRef, e.ref).u16(ATTR_LIST.instance, e.instance).bytesAt(ATTR_LIST.name, nm);
      parts.push(w.bytes);
    }
    const list = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let o = 0;
    for (const p of parts) {
      list.set(p, o);
      o += p.length;
    }
    return list;
  }

  /** Free every cluster of every non-resident attribute of a file, and its extension records. */
  freeAllOf(baseN: number): void {
    const view = this.vol.view(baseN);
    for (const a of view.attrs) {
      if (!a.nonResident) continue;
      const rec = view.records.get(a.recordNumber)!;
      this.freeRuns(decodeRunlist(rec.mappingPairs(a), a.lowestVcn, this.vol.clusterCount, `record ${a.recordNumber}`));
    }
    const list = view.base.find(AttrType.AttributeList);
    if (list?.nonResident) this.freeRuns(decodeRunlist(view.base.mappingPairs(list), 0, this.vol.clusterCount, 'attribute list'));
    for (const n of view.records.keys()) if (n !== baseN) this.freeRecord(n);
  }

  /** FILE_ATTR bits of a file's $STANDARD_INFORMATION. */
  siAttrs(n: number): number {
    const si = this.rec(n).find(AttrType.StandardInformation);
    return si ? new ByteView(blobValue(si)).u32(STD_INFO.fileAttributes) : 0;
  }

  siSecurityId(n: number): number {
    const si = this.rec(n).find(AttrType.StandardInformation);
    if (!si) return 0;
    const v = blobValue(si);
    return v.length >= STD_INFO.SIZE_V3 ? new ByteView(v).u32(STD_INFO.securityId) : 0;
  }

  /** True when record `n` was created in this transaction. */
  isNew(n: number): boolean {
    return this.created.has(n);
  }
  private created = new Set<number>();
}

export { splitRef, FileAttr, MftRecord };
