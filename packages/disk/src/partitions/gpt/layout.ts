/**
 * GUID Partition Table layout (UEFI Specification 2.10, §5.3 "GUID Partition Table (GPT) Disk
 * Layout": Table 5.5 header, Table 5.6 partition entry). Little-endian; GUIDs in the mixed-endian
 * Microsoft layout. CRC-32 is the IEEE one (crc32 in binary/).
 */
import { ByteView, ByteWriter, crc32, guidToString, guidFromString, decodeUtf16leZ } from '../../binary/index.js';

export const GPT_SIGNATURE = 'EFI PART';
export const GPT_REVISION = 0x00010000;

/** Header field offsets (UEFI Table 5.5). */
export const GPT_HDR = {
  signature: 0, //        8 bytes "EFI PART"
  revision: 8, //         u32 0x00010000
  headerSize: 12, //      u32 92 <= size <= sector size
  headerCrc32: 16, //     u32 CRC32 of headerSize bytes with this field zeroed
  reserved: 20, //        u32 must be 0
  myLba: 24, //           u64 LBA of this header
  alternateLba: 32, //    u64 LBA of the other header
  firstUsableLba: 40, //  u64
  lastUsableLba: 48, //   u64
  diskGuid: 56, //        16 bytes
  entriesLba: 72, //      u64 first LBA of the entry array
  entryCount: 80, //      u32
  entrySize: 84, //       u32 128 × 2^n
  entriesCrc32: 88, //    u32 CRC32 of entryCount × entrySize bytes
  SIZE: 92,
} as const;

/** Partition entry offsets (UEFI Table 5.6). */
export const GPT_ENTRY = {
  typeGuid: 0, //    16 bytes; all zero = unused
  uniqueGuid: 16, // 16 bytes
  firstLba: 32, //   u64
  lastLba: 40, //    u64 inclusive
  attributes: 48, // u64
  name: 56, //       72 bytes UTF-16LE, NUL padded
  NAME_BYTES: 72,
  SIZE: 128,
} as const;

/** Limits for hostile headers: the array is read whole, so bound it. */
export const GPT_LIMITS = {
  /** Entries: the spec minimum is 16 KiB of array (128 entries); sgdisk allows more. Cap the count. */
  MAX_ENTRIES: 65536,
  /** Entry sizes are 128 × 2^n; anything above 4 KiB is nonsense. */
  MAX_ENTRY_SIZE: 4096,
  /** Total array bytes we are willing to read. */
  MAX_ARRAY_BYTES: 8 * 1024 * 1024,
} as const;

export interface GptHeader {
  revision: number;
  headerSize: number;
  headerCrc32: number;
  myLba: bigint;
  alternateLba: bigint;
  firstUsableLba: bigint;
  lastUsableLba: bigint;
  diskGuid: string;
  entriesLba: bigint;
  entryCount: number;
  entrySize: number;
  entriesCrc32: number;
}

/** Decode a header (no validation beyond reading). */
export function decodeHeader(v: ByteView): GptHeader {
  return {
    revision: v.u32(GPT_HDR.revision, 'gpt revision'),
    headerSize: v.u32(GPT_HDR.headerSize, 'gpt header size'),
    headerCrc32: v.u32(GPT_HDR.headerCrc32, 'gpt header crc32'),
    myLba: v.u64(GPT_HDR.myLba, 'gpt my lba'),
    alternateLba: v.u64(GPT_HDR.alternateLba, 'gpt alternate lba'),
    firstUsableLba: v.u64(GPT_HDR.firstUsableLba, 'gpt first usable lba'),
    lastUsableLba: v.u64(GPT_HDR.lastUsableLba, 'gpt last usable lba'),
    diskGuid: guidToString(v.bytesAt(GPT_HDR.diskGuid, 16, 'gpt disk guid')),
    entriesLba: v.u64(GPT_HDR.entriesLba, 'gpt entries lba'),
    entryCount: v.u32(GPT_HDR.entryCount, 'gpt entry count'),
    entrySize: v.u32(GPT_HDR.entrySize, 'gpt entry size'),
    entriesCrc32: v.u32(GPT_HDR.entriesCrc32, 'gpt entries crc32'),
  };
}

/** CRC-32 of the header's first `headerSize` bytes with the CRC field taken as zero. */
export function headerCrc(bytes: Uint8Array, headerSize: number): number {
  const copy = bytes.slice(0, headerSize);
  copy.fill(0, GPT_HDR.headerCrc32, GPT_HDR.headerCrc32 + 4);
  return crc32(copy);
}

export interface GptEntry {
  typeGuid: string;
  uniqueGuid: string;
  firstLba: bigint;
  lastLba: bigint;
  attributes: bigint;
  name: string;
}

export function isUnusedEntry(v: ByteView, off: number): boolean {
  const t = v.bytesAt(off + GPT_ENTRY.typeGuid, 16, 'gpt entry type');
  for (let i = 0; i < 16; i++) if (t[i] !== 0) return false;
  return true;
}

export function decodeEntry(v: ByteView, off: number): GptEntry {
  return {
    typeGuid: guidToString(v.bytesAt(off + GPT_ENTRY.typeGuid, 16, 'gpt entry type')),
    uniqueGuid: guidToString(v.bytesAt(off + GPT_ENTRY.uniqueGuid, 16, 'gpt entry guid')),
    firstLba: v.u64(off + GPT_ENTRY.firstLba, 'gpt entry first lba'),
    lastLba: v.u64(off + GPT_ENTRY.lastLba, 'gpt entry last lba'),
    attributes: v.u64(off + GPT_ENTRY.attributes, 'gpt entry attributes'),
    name: decodeUtf16leZ(v.bytesAt(off + GPT_ENTRY.name, GPT_ENTRY.NAME_BYTES, 'gpt entry name')),
  };
}

export function encodeEntry(w: ByteWriter, off: number, e: GptEntry): void {
  w.bytesAt(off + GPT_ENTRY.typeGuid, guidFromString(e.typeGuid), 'type guid');
  w.bytesAt(off + GPT_ENTRY.uniqueGuid, guidFromString(e.uniqueGuid), 'unique guid');
  w.u64(off + GPT_ENTRY.firstLba, e.firstLba, 'first lba');
  w.u64(off + GPT_ENTRY.lastLba, e.lastLba, 'last lba');
  w.u64(off + GPT_ENTRY.attributes, e.attributes, 'attributes');
  w.fill(off + GPT_ENTRY.name, GPT_ENTRY.NAME_BYTES, 0, 'name');
  w.utf16(off + GPT_ENTRY.name, e.name, 'name');
}

/** Encode a header into a sector-sized buffer (CRC computed here). */
export function encodeHeader(sectorSize: number, h: Omit<GptHeader, 'headerCrc32' | 'revision' | 'headerSize'>): Uint8Array {
  const w = ByteWriter.alloc(sectorSize);
  w.ascii(GPT_HDR.signature, GPT_SIGNATURE);
  w.u32(GPT_HDR.revision, GPT_REVISION);
  w.u32(GPT_HDR.headerSize, GPT_HDR.SIZE);
  w.u64(GPT_HDR.myLba, h.myLba);
  w.u64(GPT_HDR.alternateLba, h.alternateLba);
  w.u64(GPT_HDR.firstUsableLba, h.firstUsableLba);
  w.u64(GPT_HDR.lastUsableLba, h.lastUsableLba);
  w.bytesAt(GPT_HDR.diskGuid, guidFromString(h.diskGuid));
  w.u64(GPT_HDR.entriesLba, h.entriesLba);
  w.u32(GPT_HDR.entryCount, h.entryCount);
  w.u32(GPT_HDR.entrySize, h.entrySize);
  w.u32(GPT_HDR.entriesCrc32, h.entriesCrc32);
  w.u32(GPT_HDR.headerCrc32, headerCrc(w.bytes, GPT_HDR.SIZE));
  return w.bytes;
}
