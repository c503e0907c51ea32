import { ByteView, FormatError, hex } from '@guestkit/disk/binary';
import { NtfsCode } from '../errors.js';
import { ATTR, AttrType, FILE_REC, RecordFlags, splitRef } from '../layout/mft-record.js';
import { postReadFixup } from './fixup.js';

/** One attribute as found in a record (header decoded; value/mapping pairs addressed by offset). */
export interface AttrRecord {
  readonly type: number;
  /** Offset of the attribute in the record. */
  readonly offset: number;
  readonly length: number;
  readonly nonResident: boolean;
  readonly name: string;
  readonly flags: number;
  readonly instance: number;
  /** Record that holds this attribute. */
  readonly recordNumber: number;
  // resident
  readonly valueOffset: number;
  readonly valueLength: number;
  // non-resident
  readonly lowestVcn: number;
  readonly highestVcn: number;
  readonly mappingPairsOffset: number;
  readonly compressionUnit: number;
  readonly allocatedSize: number;
  readonly dataSize: number;
  readonly initializedSize: number;
  readonly compressedSize: number;
}

/**
 * A validated MFT record (after the fixup). Checks follow ntfs-3g ntfs_mft_record_check: magic,
 * allocated size, bytes in use, 8-aligned attribute offsets, attribute lengths that fit, and an
 * AT_END marker. Objects that exist are valid.
 */
export class MftRecord {
  readonly bytes: Uint8Array;
  readonly recordNumber: number;
  readonly sequence: number;
  readonly linkCount: number;
  readonly flags: number;
  readonly baseRecord: number;
  readonly baseSequence: number;
  readonly bytesInUse: number;
  readonly attrsOffset: number;
  readonly attributes: readonly AttrRecord[];
  readonly where: string;

  private constructor(bytes: Uint8Array, recordNumber: number, where: string, absOffset: number) {
    this.bytes = bytes;
    this.recordNumber = recordNumber;
    this.where = where;
    const v = new ByteView(bytes, absOffset, where);
    this.sequence = v.u16(FILE_REC.sequence);
    this.linkCount = v.u16(FILE_REC.linkCount);
    this.flags = v.u16(FILE_REC.flags);
    const base = splitRef(v.u64(FILE_REC.baseRecord));
    this.baseRecord = base.record;
    this.baseSequence = base.sequence;
    this.bytesInUse = v.u32(FILE_REC.bytesInUse);
    this.attrsOffset = v.u16(FILE_REC.attrsOffset);
    const allocated = v.u32(FILE_REC.bytesAllocated);
    const bad = (msg: string, d: Record<string, unknown> = {}) =>
      new FormatError(NtfsCode.BadRecord, `MFT record ${recordNumber} (${where} @ ${hex(absOffset)}): ${msg}`, { record: recordNumber, offset: absOffset, ...d });
    if (allocated !== bytes.length) throw bad(`bytes allocated = ${allocated}, expected the record size ${bytes.length}`, { field: 'bytesAllocated' });
    if (this.bytesInUse > bytes.length || this.bytesInUse < FILE_REC.usaV30) throw bad(`bytes in use = ${this.bytesInUse} does not fit the ${bytes.length}-byte record`, { field: 'bytesInUse' });
    if (this.attrsOffset & 7 || this.attrsOffset < FILE_REC.usaV30 || this.attrsOffset >= this.bytesInUse) {
      throw bad(`first attribute offset ${hex(this.attrsOffset)} is not 8-aligned inside the used bytes`, { field: 'attrsOffset' });
    }
    this.attributes = parseAttributes(v, this.attrsOffset, this.bytesInUse, recordNumber, bad);
  }

  /**
   * Fix up and validate a raw record. `raw` is modified in place (the fixup).
   * @throws FormatError(NTFS_BAD_MFT_RECORD | NTFS_FIXUP_MISMATCH)
   */
  static parse(raw: Uint8Array, recordNumber: number, where: string, absOffset: number): MftRecord {
    const magic = String.fromCharCode(raw[0]!, raw[1]!, raw[2]!, raw[3]!);
    if (magic !== 'FILE') {
      throw new FormatError(NtfsCode.BadRecord, `MFT record ${recordNumber} (${where} @ ${hex(absOffset)}): signature is ${JSON.stringify(magic)}, expected "FILE"`, {
        record: recordNumber, offset: absOffset, expected: 'FILE', actual: magic,
      });
    }
    postReadFixup(raw, `MFT record ${recordNumber} (${where})`, absOffset);
    return new MftRecord(raw, recordNumber, where, absOffset);
  }

  /** Parse bytes that are already fixed up (records the writer keeps in memory). */
  static fromFixedUp(bytes: Uint8Array, recordNumber: number, where: string): MftRecord {
    return new MftRecord(bytes, recordNumber, where, 0);
  }

  get inUse(): boolean {
    return (this.flags & RecordFlags.InUse) !== 0;
  }
  get isDirectory(): boolean {
    return (this.flags & RecordFlags.Directory) !== 0;
  }
  get isBase(): boolean {
    return this.baseRecord === 0;
  }

  /** Resident value bytes (a view). */
  value(a: AttrRecord): Uint8Array {
    return this.bytes.subarray(a.offset + a.valueOffset, a.offset + a.valueOffset + a.valueLength);
  }

  /** Mapping-pairs bytes of a non-resident attribute (a view up to the attribute end). */
  mappingPairs(a: AttrRecord): Uint8Array {
    return this.bytes.subarray(a.offset + a.mappingPairsOffset, a.offset + a.length);
  }

  find(type: number, name = ''): AttrRecord | undefined {
    return this.attributes.find((a) => a.type === type && a.name === name);
  }
}

function parseAttributes(
  v: ByteView, start: number, end: number, recordNumber: number,
  bad: (msg: string, d?: Record<string, unknown>) => FormatError,
): AttrRecord[] {
  const out: AttrRecord[] = [];
  let off = start;
  for (;;) {
    if (off + 4 > end) throw bad(`attribute chain runs past the used bytes at ${hex(off)} without an end marker`, { field: 'attributes' });
    const type = v.u32(off + ATTR.type, 'attribute type');
    if (type === AttrType.End) break;
    if (off + ATTR.RESIDENT_HEADER > end) throw bad(`attribute at ${hex(off)} header runs past the used bytes`, { field: 'attribute' });
    const length = v.u32(off + ATTR.length, 'attribute length');
    if (length < ATTR.RESIDENT_HEADER || length & 7 || length > end - off) {
      throw bad(`attribute ${hex(type)} at ${hex(off)} has length ${length}, expected a multiple of 8 within ${end - off} bytes`, { field: 'attribute length', attrOffset: off });
    }
    const nonResident = v.u8(off + ATTR.nonResident) !== 0;
    const nameLength = v.u8(off + ATTR.nameLength);
    const nameOffset = v.u16(off + ATTR.nameOffset);
    if (nameLength > 0 && (nameOffset + nameLength * 2 > length)) {
      throw bad(`attribute ${hex(type)} at ${hex(off)}: name (${nameLength} chars at ${hex(nameOffset)}) runs past the attribute`, { field: 'name' });
    }
    const name = nameLength ? v.utf16(off + nameOffset, nameLength * 2, 'attribute name') : '';
    const flags = v.u16(off + ATTR.flags);
    const instance = v.u16(off + ATTR.instance);
    if (!nonResident) {
      const valueLength = v.u32(off + ATTR.valueLength);
      const valueOffset = v.u16(off + ATTR.valueOffset);
      if (valueOffset > length || valueLength > length - valueOffset) {
        throw bad(`resident attribute ${hex(type)} at ${hex(off)}: value (${valueLength} bytes at ${hex(valueOffset)}) runs past the ${length}-byte attribute`, { field: 'value' });
      }
      out.push({
        type, offset: off, length, nonResident, name, flags, instance, recordNumber, valueOffset, valueLength,
        lowestVcn: 0, highestVcn: -1, mappingPairsOffset: 0, compressionUnit: 0, allocatedSize: valueLength, dataSize: valueLength,
        initializedSize: valueLength, compressedSize: valueLength,
      });
    } else {
      if (length < ATTR.NONRESIDENT_HEADER) throw bad(`non-resident attribute ${hex(type)} at ${hex(off)} is only ${length} bytes`, { field: 'attribute length' });
      const i64n = (rel: number, field: string): number => {
        const x = v.i64(off + rel, field);
        if (x < -1n || x > BigInt(Number.MAX_SAFE_INTEGER)) throw bad(`attribute ${hex(type)} at ${hex(off)}: ${field} = ${x} is out of range`, { field });
        return Number(x);
      };
      const lowestVcn = i64n(ATTR.lowestVcn, 'lowest VCN');
      const highestVcn = i64n(ATTR.highestVcn, 'highest VCN');
      const mappingPairsOffset = v.u16(off + ATTR.mappingPairsOffset);
      const compressionUnit = v.u8(off + ATTR.compressionUnit);
      const allocatedSize = i64n(ATTR.allocatedSize, 'allocated size');
      const dataSize = i64n(ATTR.dataSize, 'data size');
      const initializedSize = i64n(ATTR.initializedSize, 'initialized size');
      const hasCompressed = compressionUnit !== 0 && length >= ATTR.NONRESIDENT_COMPRESSED_HEADER;
      const compressedSize = hasCompressed ? i64n(ATTR.compressedSize, 'compressed size') : allocatedSize;
      if (lowestVcn < 0 || highestVcn < lowestVcn - 1) throw bad(`attribute ${hex(type)} at ${hex(off)}: VCN range ${lowestVcn}..${highestVcn} is invalid`, { field: 'vcn' });
      if (mappingPairsOffset < ATTR.NONRESIDENT_HEADER || mappingPairsOffset > length) {
        throw bad(`attribute ${hex(type)} at ${hex(off)}: mapping pairs offset ${hex(mappingPairsOffset)} is outside the attribute`, { field: 'mappingPairsOffset' });
      }
      if (lowestVcn === 0 && (dataSize < 0 || allocatedSize < 0 || initializedSize < 0 || initializedSize > dataSize)) {
        throw bad(`attribute ${hex(type)} at ${hex(off)}: sizes allocated=${allocatedSize} data=${dataSize} initialized=${initializedSize} are inconsistent`, { field: 'sizes' });
      }
      out.push({
        type, offset: off, length, nonResident, name, flags, instance, recordNumber, valueOffset: 0, valueLength: 0,
        lowestVcn, highestVcn, mappingPairsOffset, compressionUnit, allocatedSize, dataSize, initializedSize, compressedSize,
      });
    }
    off += length;
    if (out.length > 4096) throw bad('more than 4096 attributes', { field: 'attributes' });
  }
  return out;
}
