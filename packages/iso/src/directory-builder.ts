import { ByteWriter } from '@guestkit/disk/binary';
import { BLOCK } from './layout/common.js';
import {
  DR_FLAG, ID_PARENT, ID_SELF, MAX_RECORD_LENGTH, recordBaseLength, recordLength, writeDirectoryRecord,
} from './layout/directory-record.js';
import {
  CE_LENGTH, RRIP_ER_DESCRIPTOR, RRIP_ER_ID, RRIP_ER_SOURCE, encodeCE, encodeER, encodeNM, encodePN, encodePX,
  encodeSL, encodeSP, encodeTF,
} from './layout/susp.js';
import type { IsoDir, IsoEntry } from './tree.js';

/**
 * Directory extents, built the same way twice: once by the planner to learn their sizes (no
 * bytes kept), once on demand when a reader touches them. Sizes depend only on names and
 * metadata, never on block addresses, so both passes agree.
 *
 * A primary-tree directory is one "unit": its records (whole blocks), followed by the blocks
 * of Rock Ridge continuation areas its records point to (SUSP §5.1). Each continuation area
 * lies inside one block; a chain of areas continues through CE entries.
 */

/** Largest extent of one section of a multi-extent file: 4 GiB minus one block (xorriso, libisofs). */
export const MAX_SECTION_BYTES = 0xffff_f800;

export interface Addresses {
  /** Block shared by empty files, symlinks and device nodes (their records need some extent). */
  emptyLba: number;
}

interface RecordSpec {
  id: Uint8Array;
  extent: number;
  dataLength: number;
  flags: number;
  mtimeMs: number;
  susp: Uint8Array[];
}

export interface UnitLayout {
  /** Bytes of directory records (a multiple of BLOCK). */
  recordBytes: number;
  /** Blocks of continuation areas that follow the records. */
  ceBlocks: number;
}

/** Rock Ridge link count of an entry (directories: ".", "..", and each subdirectory's ".."). */
function nlinkOf(e: IsoEntry): number {
  return e.kind === 'dir' ? 2 + (e as IsoDir).subdirs : 1;
}

function majorMinor(rdev: number): [number, number] {
  // glibc's dev_t encoding (gnu_dev_major / gnu_dev_minor), with arithmetic instead of 64-bit shifts.
  const lo = rdev % 0x1_0000_0000;
  const hi = Math.floor(rdev / 0x1_0000_0000);
  const major = (Math.floor(lo / 256) % 4096) + (hi - (hi % 4096));
  const shifted = Math.floor(rdev / 4096) % 0x1_0000_0000;
  const minor = (lo % 256) + (shifted - (shifted % 256));
  return [major, minor];
}

/** Rock Ridge entries (in record order) describing `e`; `name` adds NM (not for "." and ".."). */
function rockRidgeEntries(e: IsoEntry, withName: boolean): Uint8Array[] {
  const out: Uint8Array[] = [encodePX(e.mode, nlinkOf(e), e.uid, e.gid)];
  if (e.kind === 'chr' || e.kind === 'blk') {
    const [maj, min] = majorMinor(e.rdev);
    out.push(encodePN(maj, min));
  }
  out.push(encodeTF(e.mtimeMs, e.ctimeMs));
  if (withName) out.push(...encodeNM(e.name));
  if (e.kind === 'symlink' && e.target) out.push(...encodeSL(e.target));
  return out;
}

/** Data extent and length of section `s` of a non-directory entry. */
function fileSection(e: IsoEntry, s: number, a: Addresses): { extent: number; length: number; last: boolean } {
  const src = e.hardlinkOf ?? e;
  if (e.kind !== 'file' || e.size === 0) return { extent: a.emptyLba, length: 0, last: true };
  const last = s === e.sections - 1;
  const length = last ? e.size - s * MAX_SECTION_BYTES : MAX_SECTION_BYTES;
  return { extent: src.lba + s * (MAX_SECTION_BYTES / BLOCK), length, last };
}

function* isoRecords(dir: IsoDir, rockRidge: boolean, a: Addresses): Generator<RecordSpec> {
  const isRoot = dir.parent === undefined;
  const parent = dir.parent ?? dir;
  const self: Uint8Array[] = [];
  if (rockRidge) {
    if (isRoot) self.push(encodeSP());
    self.push(...rockRidgeEntries(dir, false));
    if (isRoot) self.push(encodeER(RRIP_ER_ID, RRIP_ER_DESCRIPTOR, RRIP_ER_SOURCE));
  }
  yield { id: ID_SELF, extent: dir.isoLba, dataLength: dir.isoBytes, flags: DR_FLAG.directory, mtimeMs: dir.mtimeMs, susp: self };
  yield {
    id: ID_PARENT, extent: parent.isoLba, dataLength: parent.isoBytes, flags: DR_FLAG.directory, mtimeMs: parent.mtimeMs,
    susp: rockRidge ? rockRidgeEntries(parent, false) : [],
  };
  for (const c of dir.isoChildren) {
    const susp = rockRidge ? rockRidgeEntries(c, true) : [];
    if (c.kind === 'dir') {
      const d = c as IsoDir;
      yield { id: c.isoId, extent: d.isoLba, dataLength: d.isoBytes, flags: DR_FLAG.directory, mtimeMs: c.mtimeMs, susp };
      continue;
    }
    for (let s = 0; s < c.sections; s++) {
      const sec = fileSection(c, s, a);
      yield {
        id: c.isoId, extent: sec.extent, dataLength: sec.length, flags: sec.last ? 0 : DR_FLAG.multiExtent, mtimeMs: c.mtimeMs, susp,
      };
    }
  }
}

function* jolietRecords(dir: IsoDir, a: Addresses): Generator<RecordSpec> {
  const parent = dir.parent ?? dir;
  yield { id: ID_SELF, extent: dir.jolietLba, dataLength: dir.jolietBytes, flags: DR_FLAG.directory, mtimeMs: dir.mtimeMs, susp: [] };
  yield { id: ID_PARENT, extent: parent.jolietLba, dataLength: parent.jolietBytes, flags: DR_FLAG.directory, mtimeMs: parent.mtimeMs, susp: [] };
  for (const c of dir.jolietChildren) {
    const id = c.jolietId!;
    if (c.kind === 'dir') {
      const d = c as IsoDir;
      yield { id, extent: d.jolietLba, dataLength: d.jolietBytes, flags: DR_FLAG.directory, mtimeMs: c.mtimeMs, susp: [] };
      continue;
    }
    for (let s = 0; s < c.sections; s++) {
      const sec = fileSection(c, s, a);
      yield { id, extent: sec.extent, dataLength: sec.length, flags: sec.last ? 0 : DR_FLAG.multiExtent, mtimeMs: c.mtimeMs, susp: [] };
    }
  }
}

/** Split a record's SUSP entries into what fits in the record and a chain of continuation areas. */
function splitSusp(entries: Uint8Array[], avail: number): { inRecord: Uint8Array[]; areas: Uint8Array[][] } {
  let total = 0;
  for (const e of entries) total += e.length;
  if (total <= avail) return { inRecord: entries, areas: [] };
  const inRecord: Uint8Array[] = [];
  let used = 0;
  let i = 0;
  while (i < entries.length && used + entries[i]!.length + CE_LENGTH <= avail) {
    used += entries[i]!.length;
    inRecord.push(entries[i++]!);
  }
  const areas: Uint8Array[][] = [];
  let cur: Uint8Array[] = [];
  let curLen = 0;
  for (; i < entries.length; i++) {
    const e = entries[i]!;
    const isLast = i === entries.length - 1;
    if (curLen + e.length + (isLast ? 0 : CE_LENGTH) > BLOCK && cur.length > 0) {
      areas.push(cur);
      cur = [];
      curLen = 0;
    }
    cur.push(e);
    curLen += e.length;
  }
  if (cur.length > 0) areas.push(cur);
  return { inRecord, areas };
}

function areaLength(area: Uint8Array[], hasNext: boolean): number {
  let n = hasNext ? CE_LENGTH : 0;
  for (const e of area) n += e.length;
  return n;
}

/**
 * Lay out the records of a directory. Without `out`, only sizes are computed; with `out`
 * (records then continuation blocks, already zeroed, of the planned size), bytes are written and
 * continuation entries point at `ceLba`.
 */
function layout(records: Iterable<RecordSpec>, ceLba: number, out?: ByteWriter, recordBytes = 0): UnitLayout {
  let pos = 0;
  let ceBlock = 0;
  let ceOff = 0;
  for (const r of records) {
    const base = recordBaseLength(r.id.length);
    // LEN_DR is padded to an even length and must stay <= 255.
    const avail = MAX_RECORD_LENGTH - 1 - base;
    const { inRecord, areas } = splitSusp(r.susp, avail);
    // Allocate the continuation areas of this record (in chain order).
    const places: { block: number; off: number; len: number }[] = [];
    for (let k = 0; k < areas.length; k++) {
      const len = areaLength(areas[k]!, k < areas.length - 1);
      if (ceOff + len > BLOCK) {
        ceBlock++;
        ceOff = 0;
      }
      places.push({ block: ceBlock, off: ceOff, len });
      ceOff += len;
    }
    let su = inRecord;
    if (places.length > 0) su = [...inRecord, encodeCE(ceLba + places[0]!.block, places[0]!.off, places[0]!.len)];
    let suLen = 0;
    for (const e of su) suLen += e.length;
    const len = recordLength(r.id.length, suLen);
    if ((pos % BLOCK) + len > BLOCK) pos += BLOCK - (pos % BLOCK);
    if (out) {
      writeDirectoryRecord(out, pos, { extent: r.extent, dataLength: r.dataLength, mtimeMs: r.mtimeMs, flags: r.flags, id: r.id }, su);
      for (let k = 0; k < areas.length; k++) {
        let p = recordBytes + places[k]!.block * BLOCK + places[k]!.off;
        for (const e of areas[k]!) {
          out.bytesAt(p, e, 'continuation area');
          p += e.length;
        }
        const next = places[k + 1];
        if (next) out.bytesAt(p, encodeCE(ceLba + next.block, next.off, next.len), 'continuation pointer');
      }
    }
    pos += len;
  }
  const bytes = Math.max(BLOCK, Math.ceil(pos / BLOCK) * BLOCK);
  const ceBlocks = ceBlock > 0 || ceOff > 0 ? ceBlock + 1 : 0;
  return { recordBytes: bytes, ceBlocks };
}

/** Sizes of a primary-tree directory unit (block addresses need not be assigned yet). */
export function measureIsoDir(dir: IsoDir, rockRidge: boolean, a: Addresses): UnitLayout {
  return layout(isoRecords(dir, rockRidge, a), 0);
}

/** Bytes of a primary-tree directory unit: records (dir.isoBytes) then continuation blocks. */
export function buildIsoDir(dir: IsoDir, rockRidge: boolean, a: Addresses): Uint8Array {
  const w = ByteWriter.alloc(dir.isoBytes + dir.ceBlocks * BLOCK);
  layout(isoRecords(dir, rockRidge, a), dir.ceLba, w, dir.isoBytes);
  return w.bytes;
}

export function measureJolietDir(dir: IsoDir, a: Addresses): number {
  return layout(jolietRecords(dir, a), 0).recordBytes;
}

export function buildJolietDir(dir: IsoDir, a: Addresses): Uint8Array {
  const w = ByteWriter.alloc(dir.jolietBytes);
  layout(jolietRecords(dir, a), 0, w, dir.jolietBytes);
  return w.bytes;
}
