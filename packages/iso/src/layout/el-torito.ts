import { ByteWriter } from '@guestkit/disk/binary';
import { BLOCK } from './common.js';
import { STANDARD_ID, VD, VD_TYPE } from './volume-descriptor.js';

/**
 * El Torito Bootable CD-ROM Format Specification 1.0 (Phoenix/IBM, 1995).
 * The Boot Record Volume Descriptor must be at block 17; it points at the Boot Catalog, a block of
 * 32-byte entries: a Validation Entry, the Initial/Default Entry, then optional Section Headers
 * each followed by Section Entries.
 */
export const BOOT_RECORD_LBA = 17;

/** Boot Record Volume Descriptor (El Torito §2.0). */
export const BRVD = {
  /** 32 bytes "EL TORITO SPECIFICATION" padded with zeros. */
  bootSystemId: 7,
  /** 32 unused bytes. */
  bootId: 39,
  /** u32 LE absolute block of the boot catalog. */
  catalogLba: 71,
} as const;

export const EL_TORITO_ID = 'EL TORITO SPECIFICATION';

/** Platform identifiers (El Torito §2.1; 0xEF from UEFI 2.x §13.3.2.1 "EFI"). */
export const PLATFORM = { x86: 0x00, powerPc: 0x01, mac: 0x02, efi: 0xef } as const;

/** Catalog entry size and fields. */
export const CATALOG_ENTRY = 32;
export const VALIDATION = {
  headerId: 0, // u8 = 1
  platform: 1, // u8
  idString: 4, // 24 bytes
  checksum: 28, // u16 LE: makes the sum of all 16 u16 words zero
  key55: 30, // 0x55
  keyAA: 31, // 0xAA
} as const;
export const BOOT_ENTRY = {
  indicator: 0, // 0x88 bootable
  mediaType: 1, // 0 no emulation
  loadSegment: 2, // u16 LE, 0 means 0x7C0
  systemType: 4, // u8
  sectorCount: 6, // u16 LE, virtual 512-byte sectors to load
  loadRba: 8, // u32 LE, block of the image
  selectionCriteria: 12, // u8 (section entries only)
} as const;
export const SECTION_HEADER = {
  indicator: 0, // 0x90 more headers follow, 0x91 final header
  platform: 1,
  entryCount: 2, // u16 LE
  idString: 4, // 28 bytes
} as const;

export const BOOTABLE = 0x88;
export const MEDIA_NO_EMULATION = 0;
export const HEADER_FINAL = 0x91;
export const HEADER_MORE = 0x90;

export interface BootEntry {
  platform: number;
  /** Block of the boot image. */
  lba: number;
  /** Virtual 512-byte sectors the firmware loads (u16). */
  sectorCount: number;
}

/** Boot Record Volume Descriptor pointing at `catalogLba`. */
export function encodeBootRecord(catalogLba: number): Uint8Array {
  const w = ByteWriter.alloc(BLOCK);
  w.u8(VD.type, VD_TYPE.bootRecord, 'descriptor type');
  w.ascii(VD.standardId, STANDARD_ID, 'standard identifier');
  w.u8(VD.version, 1, 'descriptor version');
  w.ascii(BRVD.bootSystemId, EL_TORITO_ID, 'boot system identifier');
  w.u32(BRVD.catalogLba, catalogLba, 'boot catalog pointer');
  return w.bytes;
}

/**
 * Boot catalog: the first entry is the default entry (validation entry carries its platform);
 * every further entry gets a section (one header per entry, the last one marked final), which is
 * how xorriso and mkisofs record a BIOS + UEFI pair.
 */
export function encodeBootCatalog(entries: readonly BootEntry[]): Uint8Array {
  const w = ByteWriter.alloc(BLOCK);
  const first = entries[0];
  if (!first) return w.bytes;
  w.u8(VALIDATION.headerId, 1, 'validation header id');
  w.u8(VALIDATION.platform, first.platform, 'platform id');
  w.u8(VALIDATION.key55, 0x55, 'key byte');
  w.u8(VALIDATION.keyAA, 0xaa, 'key byte');
  let sum = 0;
  for (let i = 0; i < CATALOG_ENTRY; i += 2) sum = (sum + (w.bytes[i]! + w.bytes[i + 1]! * 256)) % 0x10000;
  w.u16(VALIDATION.checksum, (0x10000 - sum) % 0x10000, 'validation checksum');
  writeBootEntry(w, CATALOG_ENTRY, first);
  let off = 2 * CATALOG_ENTRY;
  for (let i = 1; i < entries.length; i++) {
    const e = entries[i]!;
    w.u8(off + SECTION_HEADER.indicator, i === entries.length - 1 ? HEADER_FINAL : HEADER_MORE, 'section header indicator');
    w.u8(off + SECTION_HEADER.platform, e.platform, 'section platform');
    w.u16(off + SECTION_HEADER.entryCount, 1, 'section entry count');
    off += CATALOG_ENTRY;
    writeBootEntry(w, off, e);
    off += CATALOG_ENTRY;
  }
  return w.bytes;
}

function writeBootEntry(w: ByteWriter, off: number, e: BootEntry): void {
  w.u8(off + BOOT_ENTRY.indicator, BOOTABLE, 'boot indicator');
  w.u8(off + BOOT_ENTRY.mediaType, MEDIA_NO_EMULATION, 'boot media type');
  w.u16(off + BOOT_ENTRY.loadSegment, 0, 'load segment');
  w.u8(off + BOOT_ENTRY.systemType, 0, 'system type');
  w.u16(off + BOOT_ENTRY.sectorCount, e.sectorCount, 'sector count');
  w.u32(off + BOOT_ENTRY.loadRba, e.lba, 'load RBA');
}

/**
 * Boot info table (mkisofs `-boot-info-table`): 56 bytes written at offset 8 of a no-emulation
 * boot image: PVD block, image block, image length, and the 32-bit LE sum of the image's words
 * from offset 64 on. ISOLINUX and GRUB's eltorito.img expect it.
 */
export const BOOT_INFO_TABLE = { offset: 8, length: 56, checksumFrom: 64 } as const;

export function encodeBootInfoTable(pvdLba: number, imageLba: number, imageLength: number, checksum: number): Uint8Array {
  const w = ByteWriter.alloc(BOOT_INFO_TABLE.length);
  w.u32(0, pvdLba, 'bi_pvd');
  w.u32(4, imageLba, 'bi_file');
  w.u32(8, imageLength, 'bi_length');
  w.u32(12, checksum, 'bi_csum');
  return w.bytes;
}
