import { ByteView } from '@guestkit/disk/binary';
import type { Codepage } from './codepage.js';
import type { Run } from './fat-table.js';
import {
  ATTR, DIR, SLOT_END, SLOT_FREE, decodeShortEntry, encodeShortEntry, type ShortEntry,
} from './layout/dir-entry.js';
import {
  LDIR, LFN_CHARS_PER_SLOT, LFN_LAST, LFN_MAX_SLOTS, LFN_SEQ_MASK, decodeLfnChars, encodeLfnSlots, lfnChecksum,
} from './layout/lfn-entry.js';
import { decodeShortName, shortKey } from './names.js';
import { upcase } from './upcase.js';

/** One live file or directory entry of a directory. */
export interface DirRecord {
  /** The long name when a valid one precedes the short entry, else the short name (NT case applied). */
  name: string;
  longName: string | undefined;
  /** The stored 8.3 name as text ("FILE1.TXT"), without NT case bits applied. */
  shortName: string;
  /** 11-byte short-name key (see shortKey). */
  shortKey: string;
  short: ShortEntry;
  /** Slot index of the short entry. */
  slot: number;
  /** Slot index of the first long-name slot (== slot without a long name). */
  firstSlot: number;
  isDir: boolean;
}

/** The volume label entry (attribute VOLUME_ID) of a root directory, as blkid finds it. */
export interface LabelRecord {
  slot: number;
  raw: Uint8Array;
}

export interface ParsedDir {
  records: DirRecord[];
  /** Index of the first slot whose first byte is 0x00 (end of directory), or the slot count. */
  endSlot: number;
  label: LabelRecord | undefined;
  /** Slot of the ".." entry, if present. */
  dotdotSlot: number | undefined;
}

interface LfnState {
  expect: number;
  checksum: number;
  units: number[];
  start: number;
}

function unitsToName(units: number[]): string | undefined {
  let end = units.length;
  for (let i = 0; i < units.length; i++) {
    if (units[i] === 0) {
      end = i;
      break;
    }
  }
  if (end === 0) return undefined;
  let s = '';
  for (let i = 0; i < end; i += 4096) s += String.fromCharCode(...units.slice(i, Math.min(end, i + 4096)));
  return s;
}

/**
 * Parse the slots [fromSlot, toSlot) of a directory's bytes. Long-name slots are accepted only
 * as a complete, correctly numbered run whose checksum matches the short entry that follows
 * (otherwise they are orphans and ignored, as Windows and Linux do). Deleted entries, ".", "..",
 * and volume labels are not records. Parsing stops at the first 0x00 slot.
 */
export function parseSlots(
  bytes: Uint8Array, fromSlot: number, toSlot: number, fat32: boolean, cp: Codepage, where: string, base: number,
): ParsedDir {
  const v = new ByteView(bytes, base, where);
  const records: DirRecord[] = [];
  let label: LabelRecord | undefined;
  let dotdotSlot: number | undefined;
  let lfn: LfnState | undefined;
  let endSlot = toSlot;
  for (let i = fromSlot; i < toSlot; i++) {
    const off = i * DIR.SIZE;
    const b0 = v.u8(off, 'DIR_Name[0]');
    if (b0 === SLOT_END) {
      endSlot = i;
      break;
    }
    if (b0 === SLOT_FREE) {
      lfn = undefined;
      continue;
    }
    const attr = v.u8(off + DIR.attr, 'DIR_Attr');
    if ((attr & ATTR.LONG_NAME_MASK) === ATTR.LONG_NAME) {
      const seq = b0 & LFN_SEQ_MASK;
      const sum = v.u8(off + LDIR.chksum, 'LDIR_Chksum');
      if (b0 & LFN_LAST) {
        if (seq < 1 || seq > LFN_MAX_SLOTS) {
          lfn = undefined;
          continue;
        }
        lfn = { expect: seq, checksum: sum, units: new Array<number>(seq * LFN_CHARS_PER_SLOT).fill(0), start: i };
      } else if (!lfn || seq !== lfn.expect || seq < 1 || sum !== lfn.checksum) {
        lfn = undefined;
        continue;
      }
      decodeLfnChars(v, off, lfn.units, (seq - 1) * LFN_CHARS_PER_SLOT);
      lfn.expect = seq - 1;
      continue;
    }
    const short = decodeShortEntry(v, off, fat32);
    let longName: string | undefined;
    let firstSlot = i;
    if (lfn && lfn.expect === 0 && lfnChecksum(short.name) === lfn.checksum) {
      longName = unitsToName(lfn.units);
      if (longName !== undefined) firstSlot = lfn.start;
    }
    lfn = undefined;
    if (attr & ATTR.VOLUME_ID) {
      // blkid's rule: a label is VOLUME_ID without DIRECTORY and with no cluster.
      if (!label && !(attr & ATTR.DIRECTORY) && short.firstCluster === 0) label = { slot: i, raw: short.name };
      continue;
    }
    if (b0 === 0x2e) {
      const rest = short.name.subarray(1);
      if (rest.every((b) => b === 0x20)) continue; // "."
      if (rest[0] === 0x2e && rest.subarray(1).every((b) => b === 0x20)) {
        dotdotSlot ??= i;
        continue; // ".."
      }
    }
    const shortName = decodeShortName(short.name, short.ntRes, cp, false);
    records.push({
      name: longName ?? decodeShortName(short.name, short.ntRes, cp, true),
      longName,
      shortName,
      shortKey: shortKey(short.name),
      short,
      slot: i,
      firstSlot,
      isDir: (attr & ATTR.DIRECTORY) !== 0,
    });
  }
  return { records, endSlot, label, dotdotSlot };
}

/** The slots for a new entry: long-name slots (if any) followed by the short entry. */
export function buildEntrySlots(longName: string | undefined, short: ShortEntry): Uint8Array {
  const n = longName ? Math.ceil(longName.length / LFN_CHARS_PER_SLOT) : 0;
  const out = new Uint8Array((n + 1) * DIR.SIZE);
  if (longName) encodeLfnSlots(out, 0, longName, lfnChecksum(short.name));
  encodeShortEntry(out, n * DIR.SIZE, short);
  return out;
}

/**
 * A directory held in memory: its bytes, where they live, and an index of its records. All
 * changes go through this object (and are written by the filesystem right away), so the index
 * stays equal to what a fresh parse of the bytes would give.
 */
export class DirState {
  records: DirRecord[];
  endSlot: number;
  label: LabelRecord | undefined;
  dotdotSlot: number | undefined;
  private readonly byName = new Map<string, DirRecord>();
  private readonly byShort = new Map<string, DirRecord>();

  constructor(
    /** 0 for the fixed FAT12/16 root, else the first cluster. */
    readonly key: number,
    readonly isRoot: boolean,
    /** Cluster runs holding the directory; undefined for the fixed root. */
    public runs: Run[] | undefined,
    public bytes: Uint8Array,
    readonly where: string,
    private readonly fat32: boolean,
    private readonly cp: Codepage,
    private readonly base: number,
  ) {
    const p = parseSlots(bytes, 0, bytes.length / DIR.SIZE, fat32, cp, where, base);
    this.records = p.records;
    this.endSlot = p.endSlot;
    this.label = p.label;
    this.dotdotSlot = p.dotdotSlot;
    for (const r of this.records) this.indexRecord(r);
  }

  /** The value ".." entries of subdirectories store for this directory (0 for the root). */
  get dotdotValue(): number {
    return this.isRoot ? 0 : this.key;
  }

  get slotCount(): number {
    return this.bytes.length / DIR.SIZE;
  }

  private static nameKeys(r: DirRecord): string[] {
    return r.longName !== undefined ? [upcase(r.longName), upcase(r.shortName)] : [upcase(r.shortName)];
  }

  private indexRecord(r: DirRecord): void {
    for (const k of DirState.nameKeys(r)) if (!this.byName.has(k)) this.byName.set(k, r);
    if (!this.byShort.has(r.shortKey)) this.byShort.set(r.shortKey, r);
  }

  private unindexRecord(r: DirRecord): void {
    const keys = DirState.nameKeys(r);
    for (const k of keys) if (this.byName.get(k) === r) this.byName.delete(k);
    if (this.byShort.get(r.shortKey) === r) this.byShort.delete(r.shortKey);
    // A damaged directory may hold duplicates: let the next record with the same key take over.
    for (const x of this.records) {
      if (x === r) continue;
      if (x.shortKey === r.shortKey || DirState.nameKeys(x).some((k) => keys.includes(k))) this.indexRecord(x);
    }
  }

  /** Case-insensitive lookup by long or short name. */
  find(name: string): DirRecord | undefined {
    return this.byName.get(upcase(name));
  }

  /** Is this 11-byte short name (or the same text as a long name) already used here? */
  isShortTaken(key: string, except?: DirRecord): boolean {
    const r = this.byShort.get(key);
    if (r && r !== except) return true;
    if (r === except && r !== undefined) {
      // Another record with the same short name could hide behind `except`.
      return this.records.some((x) => x !== except && x.shortKey === key);
    }
    return false;
  }

  /** Is `upper` (an upper-cased name) the long or short name of a record other than `except`? */
  isNameTaken(upper: string, except?: DirRecord): boolean {
    const r = this.byName.get(upper);
    if (!r) return false;
    if (r !== except) return true;
    return this.records.some((x) => x !== except && (upcase(x.shortName) === upper || (x.longName !== undefined && upcase(x.longName) === upper)));
  }

  /**
   * Find `n` consecutive free slots (deleted, or at/after the end marker). Returns the first slot,
   * or undefined when the directory must grow. `tailFree` receives the free slots at the very end.
   */
  findFreeRun(n: number): { start: number | undefined; tailFree: number } {
    let run = 0;
    for (let i = 0; i < this.slotCount; i++) {
      const free = i >= this.endSlot || this.bytes[i * DIR.SIZE] === SLOT_FREE;
      if (free) {
        run++;
        if (run === n) return { start: i - n + 1, tailFree: 0 };
      } else run = 0;
    }
    return { start: undefined, tailFree: run };
  }

  /** Re-read the record at `slot` after its slots changed in `bytes` (placement of a new entry). */
  addParsed(firstSlot: number, nSlots: number): DirRecord {
    const p = parseSlots(this.bytes, firstSlot, firstSlot + nSlots, this.fat32, this.cp, this.where, this.base);
    const r = p.records[0]!;
    let lo = 0;
    let hi = this.records.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.records[mid]!.slot < r.slot) lo = mid + 1;
      else hi = mid;
    }
    this.records.splice(lo, 0, r);
    this.indexRecord(r);
    if (firstSlot + nSlots > this.endSlot) this.endSlot = firstSlot + nSlots;
    return r;
  }

  /** Forget a record whose slots were marked deleted in `bytes`. */
  removeRecord(r: DirRecord): void {
    const i = this.records.indexOf(r);
    if (i >= 0) this.records.splice(i, 1);
    this.unindexRecord(r);
  }

  /** Replace a record's short entry (already re-encoded into `bytes`) and return the new record. */
  replaceShort(r: DirRecord, short: ShortEntry): DirRecord {
    const nr: DirRecord = { ...r, short, isDir: (short.attr & ATTR.DIRECTORY) !== 0 };
    const i = this.records.indexOf(r);
    if (i >= 0) this.records[i] = nr;
    for (const k of DirState.nameKeys(r)) if (this.byName.get(k) === r) this.byName.set(k, nr);
    if (this.byShort.get(r.shortKey) === r) this.byShort.set(r.shortKey, nr);
    return nr;
  }
}
