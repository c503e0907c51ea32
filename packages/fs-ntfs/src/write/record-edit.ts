import { ByteWriter, FormatError, encodeUtf16le } from '@guestkit/disk/binary';
import { NtfsCode } from '../errors.js';
import { ATTR, AttrType, FILE_REC } from '../layout/mft-record.js';
import type { MftRecord } from '../record/mft-record.js';
import { coalesceRuns, encodeRunlist, type Run } from '../runlist/runlist.js';


const align8 = (n: number) => (n + 7) & ~7;

/** An attribute as raw bytes (whole ATTR_RECORD), with its sort keys. */
export interface AttrBlob {
  type: number;
  name: string;
  bytes: Uint8Array;
}

function u16(b: Uint8Array, o: number): number {
  return b[o]! | (b[o + 1]! << 8);
}

/** Build a resident attribute (value 8-aligned after the optional name). */
export function residentAttr(type: number, name: string, value: Uint8Array, opts: { indexed?: boolean; flags?: number } = {}): AttrBlob {
  const nm = encodeUtf16le(name);
  const valueOffset = align8(ATTR.RESIDENT_HEADER + nm.length);
  const len = align8(valueOffset + value.length);
  const w = ByteWriter.alloc(len);
  w.u32(ATTR.type, type).u32(ATTR.length, len).u8(ATTR.nonResident, 0).u8(ATTR.nameLength, name.length)
    .u16(ATTR.nameOffset, ATTR.RESIDENT_HEADER).u16(ATTR.flags, opts.flags ?? 0)
    .u32(ATTR.valueLength, value.length).u16(ATTR.valueOffset, valueOffset).u8(ATTR.residentFlags, opts.indexed ? 1 : 0);
  w.bytesAt(ATTR.RESIDENT_HEADER, nm).bytesAt(valueOffset, value);
  return { type, name, bytes: w.bytes };
}

export interface NonResidentSpec {
  runs: readonly Run[];
  lowestVcn: number;
  highestVcn: number;
  allocatedSize: number;
  dataSize: number;
  initializedSize: number;
  flags?: number;
}

/** Build a non-resident (uncompressed) attribute extent. */
export function nonResidentAttr(type: number, name: string, s: NonResidentSpec): AttrBlob {
  const nm = encodeUtf16le(name);
  const mp = encodeRunlist(coalesceRuns(s.runs));
  const mpOffset = align8(ATTR.NONRESIDENT_HEADER + nm.length);
  const len = align8(mpOffset + mp.length);
  const w = ByteWriter.alloc(len);
  w.u32(ATTR.type, type).u32(ATTR.length, len).u8(ATTR.nonResident, 1).u8(ATTR.nameLength, name.length)
    .u16(ATTR.nameOffset, ATTR.NONRESIDENT_HEADER).u16(ATTR.flags, s.flags ?? 0)
    .u64(ATTR.lowestVcn, s.lowestVcn).i64(ATTR.highestVcn, s.highestVcn).u16(ATTR.mappingPairsOffset, mpOffset)
    .u8(ATTR.compressionUnit, 0).u64(ATTR.allocatedSize, s.allocatedSize).u64(ATTR.dataSize, s.dataSize).u64(ATTR.initializedSize, s.initializedSize);
  w.bytesAt(ATTR.NONRESIDENT_HEADER, nm).bytesAt(mpOffset, mp);
  return { type, name, bytes: w.bytes };
}

/** Size a non-resident extent would take in a record, for fitting decisions. */
export function nonResidentSize(name: string, runs: readonly Run[]): number {
  return align8(align8(ATTR.NONRESIDENT_HEADER + name.length * 2) + encodeRunlist(coalesceRuns(runs)).length);
}

/**
 * A mutable copy of an MFT record: the header bytes plus a list of attribute blobs, encoded back
 * into a whole record (attributes ordered by type, then name; END marker; bytes in use).
 */
export class RecordEditor {
  header: Uint8Array;
  attrs: AttrBlob[];
  readonly recordSize: number;
  readonly recordNumber: number;

  private constructor(header: Uint8Array, attrs: AttrBlob[], recordSize: number, recordNumber: number) {
    this.header = header;
    this.attrs = attrs;
    this.recordSize = recordSize;
    this.recordNumber = recordNumber;
  }

  static from(rec: MftRecord): RecordEditor {
    const header = rec.bytes.slice(0, rec.attrsOffset);
    const attrs = rec.attributes.map((a) => ({ type: a.type, name: a.name, bytes: rec.bytes.slice(a.offset, a.offset + a.length) }));
    return new RecordEditor(header, attrs, rec.bytes.length, rec.recordNumber);
  }

  /** A fresh, empty record (NTFS 3.1 layout, USA at 0x30). */
  static fresh(recordNumber: number, recordSize: number, sequence: number, flags: number, usn = 1): RecordEditor {
    const usaCount = recordSize / 512 + 1;
    const attrsOffset = align8(FILE_REC.usaV31 + usaCount * 2);
    const w = ByteWriter.alloc(attrsOffset);
    w.ascii(FILE_REC.magic, 'FILE').u16(FILE_REC.usaOffset, FILE_REC.usaV31).u16(FILE_REC.usaCount, usaCount)
      .u16(FILE_REC.sequence, sequence).u16(FILE_REC.linkCount, 0).u16(FILE_REC.attrsOffset, attrsOffset)
      .u16(FILE_REC.flags, flags).u32(FILE_REC.bytesAllocated, recordSize).u64(FILE_REC.baseRecord, 0n)
      .u16(FILE_REC.nextAttrInstance, 0).u32(FILE_REC.recordNumber, recordNumber >>> 0).u16(FILE_REC.usaV31, usn);
    return new RecordEditor(w.bytes, [], recordSize, recordNumber);
  }

  get flags(): number {
    return u16(this.header, FILE_REC.flags);
  }
  set flags(v: number) {
    new ByteWriter(this.header).u16(FILE_REC.flags, v);
  }
  get sequence(): number {
    return u16(this.header, FILE_REC.sequence);
  }
  set sequence(v: number) {
    new ByteWriter(this.header).u16(FILE_REC.sequence, v);
  }
  get linkCount(): number {
    return u16(this.header, FILE_REC.linkCount);
  }
  set linkCount(v: number) {
    new ByteWriter(this.header).u16(FILE_REC.linkCount, v);
  }
  setBase(ref: bigint): void {
    new ByteWriter(this.header).u64(FILE_REC.baseRecord, ref);
  }
  private nextInstance(): number {
    const n = u16(this.header, FILE_REC.nextAttrInstance);
    new ByteWriter(this.header).u16(FILE_REC.nextAttrInstance, (n + 1) & 0xffff);
    return n;
  }

  /** Bytes the encoded record would use. */
  used(): number {
    let n = this.header.length + 8;
    for (const a of this.attrs) n += a.bytes.length;
    return n;
  }

  fits(extra = 0): boolean {
    return this.used() + extra <= this.recordSize;
  }

  free(): number {
    return this.recordSize - this.used();
  }

  /** Add an attribute (a fresh instance number is stamped in); returns the instance. */
  add(blob: AttrBlob, instance?: number): number {
    const inst = instance ?? this.nextInstance();
    new ByteWriter(blob.bytes).u16(ATTR.instance, inst);
    this.attrs.push(blob);
    this.sort();
    return inst;
  }

  /** Replace an attribute keeping its instance number. */
  replace(old: AttrBlob, blob: AttrBlob): void {
    const i = this.attrs.indexOf(old);
    if (i < 0) throw new FormatError(NtfsCode.BadAttribute, `record ${this.recordNumber}: attribute to replace is gone`, {});
    new ByteWriter(blob.bytes).u16(ATTR.instance, u16(old.bytes, ATTR.instance));
    this.attrs[i] = blob;
    this.sort();
  }

  remove(blob: AttrBlob): void {
    this.attrs = this.attrs.filter((a) => a !== blob);
  }

  find(type: number, name = ''): AttrBlob | undefined {
    return this.attrs.find((a) => a.type === type && a.name === name);
  }

  findAll(type: number): AttrBlob[] {
    return this.attrs.filter((a) => a.type === type);
  }

  private sort(): void {
    this.attrs.sort((a, b) => a.type - b.type || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) || (a.type === AttrType.FileName ? 0 : 0));
  }

  /** Encode the whole record (fixed-up form; protect it before writing). @throws FormatError if it does not fit */
  encode(): Uint8Array {
    const used = this.used();
    if (used > this.recordSize) {
      throw new FormatError(NtfsCode.BadRecord, `record ${this.recordNumber}: ${used} bytes of attributes do not fit the ${this.recordSize}-byte record`, { record: this.recordNumber });
    }
    const out = new Uint8Array(this.recordSize);
    out.set(this.header);
    let off = this.header.length;
    for (const a of this.attrs) {
      out.set(a.bytes, off);
      off += a.bytes.length;
    }
    const w = new ByteWriter(out);
    w.u32(off, AttrType.End).u32(off + 4, 0);
    w.u32(FILE_REC.bytesInUse, off + 8);
    w.u32(FILE_REC.bytesAllocated, this.recordSize);
    return out;
  }
}
