import { ByteView, FormatError, LimitError, LoopError, hex } from '@guestkit/disk/binary';
import { NtfsCode, NtfsLimits } from '../errors.js';
import { ATTR_LIST, AttrType, splitRef } from '../layout/mft-record.js';
import type { AttrRecord, MftRecord } from '../record/mft-record.js';
import { assertNoOverlap, coalesceRuns, decodeRunlist, type Run } from '../runlist/runlist.js';
import type { StreamInfo } from './data-stream.js';

/** One attribute-list entry. */
export interface AttrListEntry {
  type: number;
  name: string;
  lowestVcn: number;
  record: number;
  sequence: number;
  instance: number;
  /** Offset of the entry in the list value. */
  offset: number;
  length: number;
}

/**
 * Decode an $ATTRIBUTE_LIST value. @throws FormatError(NTFS_BAD_ATTRIBUTE_LIST), LimitError
 */
export function decodeAttrList(b: Uint8Array, where: string): AttrListEntry[] {
  const v = new ByteView(b, 0, where);
  const out: AttrListEntry[] = [];
  let off = 0;
  while (off + ATTR_LIST.HEADER <= b.length) {
    const type = v.u32(off + ATTR_LIST.type);
    const length = v.u16(off + ATTR_LIST.length);
    if (length < ATTR_LIST.HEADER || length & 7 || off + length > b.length) {
      if (type === 0 || type === AttrType.End) break;
      throw new FormatError(NtfsCode.BadAttributeList, `${where}: entry at ${hex(off)} has length ${length} (expected a multiple of 8 within ${b.length - off} bytes)`, { where, offset: off });
    }
    const nameLength = v.u8(off + ATTR_LIST.nameLength);
    const nameOffset = v.u8(off + ATTR_LIST.nameOffset);
    if (nameLength && nameOffset + nameLength * 2 > length) {
      throw new FormatError(NtfsCode.BadAttributeList, `${where}: entry at ${hex(off)} has a name past its end`, { where, offset: off });
    }
    const lv = v.i64(off + ATTR_LIST.lowestVcn);
    if (lv < 0n || lv > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new FormatError(NtfsCode.BadAttributeList, `${where}: entry at ${hex(off)} has lowest VCN ${lv}`, { where, offset: off });
    }
    const ref = splitRef(v.u64(off + ATTR_LIST.mftRef));
    out.push({
      type, name: nameLength ? v.utf16(off + nameOffset, nameLength * 2) : '', lowestVcn: Number(lv),
      record: ref.record, sequence: ref.sequence, instance: v.u16(off + ATTR_LIST.instance), offset: off, length,
    });
    if (out.length > NtfsLimits.maxAttrListEntries) {
      throw new LimitError(NtfsCode.Limit, `${where}: more than ${NtfsLimits.maxAttrListEntries} entries`, { where });
    }
    off += length;
  }
  return out;
}

/** A base record with every attribute it owns, wherever the attribute list put it. */
export interface FileView {
  readonly base: MftRecord;
  readonly attrs: readonly AttrRecord[];
  /** Records by number (the base and its extension records). */
  readonly records: ReadonlyMap<number, MftRecord>;
  readonly attrList?: readonly AttrListEntry[];
}

/**
 * Merge the extents of one attribute (same type and name) into a StreamInfo: extents sorted by
 * lowest VCN must continue each other; runs are checked against the volume and for overlap.
 * @throws FormatError(NTFS_BAD_ATTRIBUTE | NTFS_BAD_RUNLIST)
 */
export function buildStreamInfo(view: FileView, type: number, name: string, clusterCount: number, where: string): StreamInfo | undefined {
  const extents = view.attrs.filter((a) => a.type === type && a.name === name);
  if (extents.length === 0) return undefined;
  const first = extents.find((a) => !a.nonResident || a.lowestVcn === 0) ?? extents[0]!;
  if (!first.nonResident) {
    if (extents.length > 1) {
      throw new FormatError(NtfsCode.BadAttribute, `${where}: resident attribute appears ${extents.length} times`, { where });
    }
    const rec = view.records.get(first.recordNumber)!;
    return {
      type, name, resident: true, residentData: rec.value(first).slice(), runs: [], dataSize: first.valueLength,
      initializedSize: first.valueLength, allocatedSize: first.valueLength, compressionUnit: 0, flags: first.flags, recordNumber: first.recordNumber,
    };
  }
  const sorted = [...extents].sort((a, b) => a.lowestVcn - b.lowestVcn);
  if (sorted[0]!.lowestVcn !== 0 || sorted.some((a) => !a.nonResident)) {
    throw new FormatError(NtfsCode.BadAttribute, `${where}: extents do not start at VCN 0 or mix resident and non-resident`, { where });
  }
  let runs: Run[] = [];
  let nextVcn = 0;
  for (const a of sorted) {
    if (a.lowestVcn !== nextVcn) {
      throw new FormatError(NtfsCode.BadRunlist, `${where}: extent in record ${a.recordNumber} starts at VCN ${a.lowestVcn}, expected ${nextVcn}`, { where, record: a.recordNumber });
    }
    const rec = view.records.get(a.recordNumber)!;
    const r = decodeRunlist(rec.mappingPairs(a), a.lowestVcn, clusterCount, `${where} (record ${a.recordNumber})`);
    const end = r.length ? r[r.length - 1]!.vcn + r[r.length - 1]!.length : a.lowestVcn;
    if (end !== a.highestVcn + 1 && !(r.length === 0 && a.highestVcn === -1)) {
      throw new FormatError(NtfsCode.BadRunlist, `${where}: runs of record ${a.recordNumber} end at VCN ${end}, header says ${a.highestVcn + 1}`, { where, record: a.recordNumber });
    }
    runs = runs.concat(r);
    nextVcn = end;
  }
  runs = coalesceRuns(runs);
  assertNoOverlap(runs, where);
  const head = sorted[0]!;
  return {
    type, name, resident: false, runs, dataSize: head.dataSize, initializedSize: Math.min(head.initializedSize, head.dataSize),
    allocatedSize: head.allocatedSize, compressionUnit: head.compressionUnit, flags: head.flags, recordNumber: head.recordNumber,
  };
}

/** Cycle/limit guard for attribute-list extension records. */
export function checkExtension(base: MftRecord, ext: MftRecord, seen: Set<number>): void {
  if (seen.has(ext.recordNumber)) {
    throw new LoopError(NtfsCode.Loop, `attribute list of record ${base.recordNumber} names record ${ext.recordNumber} twice in a cycle`, { record: base.recordNumber });
  }
  if (ext.recordNumber !== base.recordNumber && ext.baseRecord !== base.recordNumber) {
    throw new FormatError(NtfsCode.BadAttributeList, `attribute list of record ${base.recordNumber} names record ${ext.recordNumber}, whose base is ${ext.baseRecord}`, {
      record: base.recordNumber, extension: ext.recordNumber,
    });
  }
}
