import { ByteWriter } from '@guestkit/disk/binary';
import { BLOCK } from './layout/common.js';
import {
  DR_FLAG, ID_PARENT, ID_SELF, MAX_RECORD_LENGTH, recordBaseLength, recordLength, writeDirectoryRecord,
} from './layout/directory-record.js';
import {
  CE_LENGTH, MAX_ENTRY, PN_LENGTH, PX_LENGTH, RRIP_ER_DESCRIPTOR, RRIP_ER_ID, RRIP_ER_SOURCE, SP_LENGTH, TF_LENGTH,
  encodeCE, encodeER, encodeNM, encodePN, encodePX, encodeSL, encodeSP, encodeTF,
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

/** A record's SUSP entries: their lengths (enough to measure), and the bytes on demand. */
interface SuspSource {
  lens: number[];
  bytes: () => Uint8Array[];
}

interface RecordSpec {
  id: Uint8Array;
  extent: number;
  dataLength: number;
  flags: number;
  mtimeMs: number;
  susp: SuspSource;
}

const NO_SUSP: SuspSource = { lens: [], bytes: () => [] };
const ER_LENGTH = 8 + RRIP_ER_ID.length + RRIP_ER_DESCRIPTOR.length + RRIP_ER_SOURCE.length;

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

/** Lengths of the entries `rockRidgeEntries` returns, computed without encoding them. */
function rockRidgeLengths(e: IsoEntry, withName: boolean): number[] {
  const out = [PX_LENGTH];
  if (e.kind === 'chr' || e.kind === 'blk') out.push(PN_LENGTH);
  out.push(TF_LENGTH);
  if (withName) {
    const max = MAX_ENTRY - 5;
    let n = e.name.length;
    do {
      out.push(5 + Math.min(max, n));
      n -= max;
    } while (n > 0);
  }
  if (e.kind === 'symlink' && e.target) for (const x of encodeSL(e.target)) out.push(x.length);
  return out;
}

function rrSource(e: IsoEntry, withName: boolean): SuspSource {
  return { lens: rockRidgeLengths(e, withName), bytes: () => rockRidgeEntries(e, withName) };
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
  let self = NO_SUSP;
  if (rockRidge) {
    const rr = rrSource(dir, false);
    self = isRoot
      ? {
          lens: [SP_LENGTH, ...rr.lens, ER_LENGTH],
          bytes: () => [encodeSP(), ...rr.bytes(), encodeER(RRIP_ER_ID, RRIP_ER_DESCRIPTOR, RRIP_ER_SOURCE)],
        }
      : rr;
  }
  yield { id: ID_SELF, extent: dir.isoLba, dataLength: dir.isoBytes, flags: DR_FLAG.directory, mtimeMs: dir.mtimeMs, susp: self };
  yield {
    id: ID_PARENT, extent: parent.isoLba, dataLength: parent.isoBytes, flags: DR_FLAG.directory, mtimeMs: parent.mtimeMs,
    susp: rockRidge ? rrSource(parent, false) : NO_SUSP,
  };
  for (const c of dir.isoChildren) {
    const susp = rockRidge ? rrSource(c, true) : NO_SUSP;
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
  yield { id: ID_SELF, extent: dir.jolietLba, dataLength: dir.jolietBytes, flags: DR_FLAG.directory, mtimeMs: dir.mtimeMs, susp: NO_SUSP };
  yield { id: ID_PARENT, extent: parent.jolietLba, dataLength: parent.jolietBytes, flags: DR_FLAG.directory, mtimeMs: parent.mtimeMs, susp: NO_SUSP };
  for (const c of dir.jolietChildren) {
    const id = c.jolietId!;
    if (c.kind === 'dir') {
      const d = c as IsoDir;
      yield { id, extent: d.jolietLba, dataLength: d.jolietBytes, flags: DR_FLAG.directory, mtimeMs: c.mtimeMs, susp: NO_SUSP };
      continue;
    }
    for (let s = 0; s < c.sections; s++) {
      const sec = fileSection(c, s, a);
      yield { id, extent: sec.extent, dataLength: sec.length, flags: sec.last ? 0 : DR_FLAG.multiExtent, mtimeMs: c.mtimeMs, susp: NO_SUSP };
    }
  }
}

/**
 * Split a record's SUSP entries (by length) into what fits in the record and a chain of
 * continuation areas: returns how many entries stay in the record and how many go to each area.
 */
const NO_AREAS: number[] = [];

function splitSusp(lens: number[], avail: number): { inRecord: number; areas: number[] } {
  if (lens.length === 0) return { inRecord: 0, areas: NO_AREAS };
  let total = 0;
  for (const n of lens) total += n;
  if (total <= avail) return { inRecord: lens.length, areas: [] };
  let used = 0;
  let i = 0;
  while (i < lens.length && used + lens[i]! + CE_LENGTH <= avail) used += lens[i++]!;
  const inRecord = i;
  const areas: number[] = [];
  let cur = 0;
  let curLen = 0;
  for (; i < lens.length; i++) {
    const isLast = i === lens.length - 1;
    if (curLen + lens[i]! + (isLast ? 0 : CE_LENGTH) > BLOCK && cur > 0) {
      areas.push(cur);
      cur = 0;
      curLen = 0;
    }
    cur++;
    curLen += lens[i]!;
  }
  if (cur > 0) areas.push(cur);
  return { inRecord, areas };
}

/**
 * Lay out the records of a directory. Without `out`, only sizes are computed; with `out`
 * (records then continuation blocks, already zeroed, of the planned size), bytes are written and
 * continuation entries point at `ceLba`.
 */
const NO_PLACES: never[] = [];

function layout(records: Iterable<RecordSpec>, ceLba: number, out?: ByteWriter, recordBytes = 0): UnitLayout {
  let pos = 0;
  let ceBlock = 0;
  let ceOff = 0;
  for (const r of records) {
    const base = recordBaseLength(r.id.length);
    // LEN_DR is padded to an even length and must stay <= 255.
    const avail = MAX_RECORD_LENGTH - 1 - base;
    const lens = r.susp.lens;
    const { inRecord, areas } = splitSusp(lens, avail);
    // Allocate the continuation areas of this record (in chain order).
    const places: { block: number; off: number; len: number; from: number; to: number }[] = areas.length === 0 ? NO_PLACES : [];
    let k0 = inRecord;
    for (let k = 0; k < areas.length; k++) {
      let len = k < areas.length - 1 ? CE_LENGTH : 0;
      for (let j = k0; j < k0 + areas[k]!; j++) len += lens[j]!;
      if (ceOff + len > BLOCK) {
        ceBlock++;
        ceOff = 0;
      }
      places.push({ block: ceBlock, off: ceOff, len, from: k0, to: k0 + areas[k]! });
      ceOff += len;
      k0 += areas[k]!;
    }
    let suLen = places.length > 0 ? CE_LENGTH : 0;
    for (let j = 0; j < inRecord; j++) suLen += lens[j]!;
    const len = recordLength(r.id.length, suLen);
    if ((pos % BLOCK) + len > BLOCK) pos += BLOCK - (pos % BLOCK);
    if (out) {
      const entries = r.susp.bytes();
      let su = entries.slice(0, inRecord);
      if (places.length > 0) su = [...su, encodeCE(ceLba + places[0]!.block, places[0]!.off, places[0]!.len)];
      writeDirectoryRecord(out, pos, { extent: r.extent, dataLength: r.dataLength, mtimeMs: r.mtimeMs, flags: r.flags, id: r.id }, su);
      for (let k = 0; k < places.length; k++) {
        const pl = places[k]!;
        let p = recordBytes + pl.block * BLOCK + pl.off;
        for (let j = pl.from; j < pl.to; j++) {
          out.bytesAt(p, entries[j]!, 'continuation area');
          p += entries[j]!.length;
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
