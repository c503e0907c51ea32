import { ByteWriter } from '@guestkit/disk/binary';
import { BLOCK, both16, both32, padAscii, padUcs2 } from './common.js';
import { writeDate17 } from './dates.js';
import { writeDirectoryRecord, DR_FLAG, ID_SELF } from './directory-record.js';

/**
 * Volume descriptors (ECMA-119 §8). Each occupies one 2048-byte block starting at block 16.
 * Offsets below are from the start of the descriptor.
 */
export const VD = {
  /** u8 volume descriptor type (VD_TYPE). */
  type: 0,
  /** 5 bytes "CD001". */
  standardId: 1,
  /** u8 version (1). */
  version: 6,
  /** u8 unused in the PVD; volume flags in an SVD (§8.5.3). */
  flags: 7,
  /** 32 a-characters (SVD: UCS-2 for Joliet). */
  systemId: 8,
  /** 32 d-characters (SVD: UCS-2 for Joliet). */
  volumeId: 40,
  /** both-endian u32: volume space size in blocks. */
  volumeSpaceSize: 80,
  /** 32 bytes: escape sequences in an SVD ("%/E" = Joliet UCS-2 level 3); zero in the PVD. */
  escapeSequences: 88,
  /** both-endian u16 volume set size (1). */
  volumeSetSize: 120,
  /** both-endian u16 volume sequence number (1). */
  volumeSequenceNumber: 124,
  /** both-endian u16 logical block size (2048). */
  logicalBlockSize: 128,
  /** both-endian u32 path table size in bytes. */
  pathTableSize: 132,
  /** u32 LE: location of the Type L path table. */
  lPathTable: 140,
  /** u32 LE: optional Type L path table (0 = none). */
  lPathTableOptional: 144,
  /** u32 BE: location of the Type M path table. */
  mPathTable: 148,
  /** u32 BE: optional Type M path table. */
  mPathTableOptional: 152,
  /** 34 bytes: directory record of the root directory. */
  rootRecord: 156,
  /** 128 bytes each. */
  volumeSetId: 190,
  publisherId: 318,
  dataPreparerId: 446,
  applicationId: 574,
  /** 37 bytes each. */
  copyrightFileId: 702,
  abstractFileId: 739,
  bibliographicFileId: 776,
  /** 17-byte dates (§8.4.26.1). */
  creationDate: 813,
  modificationDate: 830,
  expirationDate: 847,
  effectiveDate: 864,
  /** u8 file structure version (1). */
  fileStructureVersion: 881,
  /** 512 bytes application use. */
  applicationUse: 883,
} as const;

export const VD_TYPE = { bootRecord: 0, primary: 1, supplementary: 2, partition: 3, terminator: 255 } as const;

export const STANDARD_ID = 'CD001';

/** Joliet escape sequence for UCS-2 Level 3 (Joliet specification, "%/E"). */
export const JOLIET_ESCAPE_LEVEL3 = new Uint8Array([0x25, 0x2f, 0x45]);

export interface VolumeDescriptorFields {
  /** true: a Joliet Supplementary Volume Descriptor with UCS-2 identifiers. */
  joliet: boolean;
  volumeId: string;
  systemId: string;
  volumeSetId: string;
  publisherId: string;
  dataPreparerId: string;
  applicationId: string;
  volumeSpaceBlocks: number;
  pathTableSize: number;
  lPathTableLba: number;
  mPathTableLba: number;
  rootLba: number;
  rootBytes: number;
  rootMtimeMs: number;
  createdMs: number;
  modifiedMs: number;
}

/** Encode a Primary (ECMA-119 §8.4) or Joliet Supplementary (§8.5) Volume Descriptor. */
export function encodeVolumeDescriptor(f: VolumeDescriptorFields): Uint8Array {
  const w = ByteWriter.alloc(BLOCK);
  w.u8(VD.type, f.joliet ? VD_TYPE.supplementary : VD_TYPE.primary, 'descriptor type');
  w.ascii(VD.standardId, STANDARD_ID, 'standard identifier');
  w.u8(VD.version, 1, 'descriptor version');
  const text = (off: number, len: number, s: string, field: string) =>
    f.joliet ? padUcs2(w, off, len, s, field) : padAscii(w, off, len, s, field);
  text(VD.systemId, 32, f.systemId, 'system identifier');
  text(VD.volumeId, 32, f.volumeId, 'volume identifier');
  both32(w, VD.volumeSpaceSize, f.volumeSpaceBlocks, 'volume space size');
  if (f.joliet) w.bytesAt(VD.escapeSequences, JOLIET_ESCAPE_LEVEL3, 'escape sequences');
  both16(w, VD.volumeSetSize, 1, 'volume set size');
  both16(w, VD.volumeSequenceNumber, 1, 'volume sequence number');
  both16(w, VD.logicalBlockSize, BLOCK, 'logical block size');
  both32(w, VD.pathTableSize, f.pathTableSize, 'path table size');
  w.u32(VD.lPathTable, f.lPathTableLba, 'L path table');
  w.u32(VD.lPathTableOptional, 0, 'optional L path table');
  w.u32be(VD.mPathTable, f.mPathTableLba, 'M path table');
  w.u32be(VD.mPathTableOptional, 0, 'optional M path table');
  writeDirectoryRecord(w, VD.rootRecord, {
    extent: f.rootLba, dataLength: f.rootBytes, mtimeMs: f.rootMtimeMs, flags: DR_FLAG.directory, id: ID_SELF,
  }, []);
  text(VD.volumeSetId, 128, f.volumeSetId, 'volume set identifier');
  text(VD.publisherId, 128, f.publisherId, 'publisher identifier');
  text(VD.dataPreparerId, 128, f.dataPreparerId, 'data preparer identifier');
  text(VD.applicationId, 128, f.applicationId, 'application identifier');
  text(VD.copyrightFileId, 37, '', 'copyright file identifier');
  text(VD.abstractFileId, 37, '', 'abstract file identifier');
  text(VD.bibliographicFileId, 37, '', 'bibliographic file identifier');
  writeDate17(w, VD.creationDate, f.createdMs, 'creation date');
  writeDate17(w, VD.modificationDate, f.modifiedMs, 'modification date');
  writeDate17(w, VD.expirationDate, undefined, 'expiration date');
  writeDate17(w, VD.effectiveDate, undefined, 'effective date');
  w.u8(VD.fileStructureVersion, 1, 'file structure version');
  return w.bytes;
}

/** Volume Descriptor Set Terminator (ECMA-119 §8.3). */
export function encodeTerminator(): Uint8Array {
  const w = ByteWriter.alloc(BLOCK);
  w.u8(VD.type, VD_TYPE.terminator, 'descriptor type');
  w.ascii(VD.standardId, STANDARD_ID, 'standard identifier');
  w.u8(VD.version, 1, 'descriptor version');
  return w.bytes;
}
