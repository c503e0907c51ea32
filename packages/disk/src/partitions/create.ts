/**
 * Create MBR and GPT partition tables. Specifications are checked first (alignment, bounds,
 * overlap, field widths); only then is anything written. The result is read back with
 * readPartitionTable and returned, so the caller sees exactly what a reader will see.
 */
import {
  ByteView, ByteWriter, UsageError, crc32, randomGuid, isGuid, nullLogger, type Logger,
} from '../binary/index.js';
import { assertWritable, type BlockDevice } from '../device/block-device.js';
import { DiskCode } from '../errors.js';
import { MBR, EXTENDED_TYPES, PROTECTIVE_TYPE, encodeEntry as encodeMbrEntry } from './mbr/layout.js';
import { GPT_ENTRY, GPT_SIGNATURE, encodeEntry as encodeGptEntry, encodeHeader as encodeGptHeader } from './gpt/layout.js';
import { readPartitionTable, type PartitionTable } from './partition-table.js';

export interface MbrPartitionSpec {
  /** Byte offset (a multiple of the sector size). */
  start: number;
  /** Size in bytes (a multiple of the sector size). */
  size: number;
  /** Partition type (0x07 NTFS, 0x0c FAT32 LBA, 0x83 Linux, ...). */
  type: number;
  bootable?: boolean;
  /** Put this partition in the extended partition (numbered from 5, in the order given). */
  logical?: boolean;
}

export interface MbrSpec {
  partitions: MbrPartitionSpec[];
  /** Disk signature (default: keep the existing non-zero one, else random). */
  diskSignature?: number;
  /** Logical sector size (default dev.sectorSize). */
  sectorSize?: number;
  /** Type of the extended container (default 0x05). */
  extendedType?: number;
  logger?: Logger;
}

export interface GptPartitionSpec {
  start: number;
  size: number;
  /** Partition type GUID. */
  typeGuid: string;
  /** Unique GUID (default random). */
  guid?: string;
  /** Up to 36 UTF-16 code units. */
  name?: string;
  attributes?: bigint;
  /** Entry number (index + 1); default: the next free entry. */
  number?: number;
}

export interface GptSpec {
  partitions: GptPartitionSpec[];
  /** Disk GUID (default random). */
  diskGuid?: string;
  /** Entries in the array (default 128, the UEFI minimum of 16 KiB). */
  entryCount?: number;
  sectorSize?: number;
  logger?: Logger;
}

/** Well-known GPT type GUIDs. */
export const GPT_TYPES = {
  efiSystem: 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B',
  microsoftReserved: 'E3C9E316-0B5C-4DB8-817D-F92DF00215AE',
  microsoftBasicData: 'EBD0A0A2-B9E5-4433-87C0-68B6B72699C7',
  windowsRecovery: 'DE94BBA4-06D1-4D40-A16A-BFD50179D6AC',
  linuxFilesystem: '0FC63DAF-8483-4772-8E79-3D69D8477DE4',
  linuxSwap: '0657FD6D-A4AB-43C4-84E5-0933C84B4F4F',
  biosBoot: '21686148-6449-6E6F-744E-656564454649',
} as const;

function bad(msg: string, details: Record<string, unknown> = {}): never {
  throw new UsageError(DiskCode.TableSpec, msg, details);
}

function checkRange(dev: BlockDevice, what: string, start: number, size: number, ss: number, minLba: number, maxLba: number): void {
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(size) || start < 0 || size <= 0) bad(`${what}: start ${start} / size ${size} must be positive integers`);
  if (start % ss !== 0 || size % ss !== 0) bad(`${what}: start ${start} and size ${size} must be multiples of the ${ss}-byte sector`);
  const first = start / ss;
  const last = first + size / ss - 1;
  if (first < minLba || last > maxLba) bad(`${what}: sectors ${first}..${last} are outside the allowed range ${minLba}..${maxLba} of ${dev.name}`);
}

function checkOverlaps(list: { what: string; first: number; last: number }[]): void {
  const s = [...list].sort((a, b) => a.first - b.first);
  for (let i = 1; i < s.length; i++) {
    if (s[i]!.first <= s[i - 1]!.last) bad(`${s[i - 1]!.what} (sectors ${s[i - 1]!.first}..${s[i - 1]!.last}) overlaps ${s[i]!.what} (sectors ${s[i]!.first}..${s[i]!.last})`);
  }
}

/** Zero the GPT headers if present, so an MBR written over a GPT disk is not shadowed by it. */
function zapGpt(dev: BlockDevice, ss: number): void {
  const zero = new Uint8Array(ss);
  for (const lba of [1, Math.floor(dev.size / ss) - 1]) {
    const off = lba * ss;
    if (lba < 1 || off + ss > dev.size) continue;
    const b = new Uint8Array(8);
    dev.readAt(off, b);
    if (Buffer.from(b).toString('latin1') === GPT_SIGNATURE) dev.writeAt(off, zero);
  }
}

/**
 * Write an MBR (and EBRs for logical partitions) to `dev`. Boot code in sector 0 is kept.
 * Logical partitions each get an EBR in the sector just before them; the extended container
 * spans from the first EBR to the end of the last logical partition. GPT headers found on the
 * disk are zeroed. Returns the table as read back.
 *
 * @throws UsageError(PARTITION_SPEC_INVALID) for a bad specification (nothing written),
 *   ReadOnlyError when `dev` is read-only.
 */
export function writeMbr(dev: BlockDevice, spec: MbrSpec): PartitionTable {
  assertWritable(dev);
  const ss = spec.sectorSize ?? dev.sectorSize ?? 512;
  const diskSectors = Math.floor(dev.size / ss);
  const maxLba = Math.min(diskSectors - 1, 0xffffffff);
  const primaries = spec.partitions.filter((p) => !p.logical);
  const logicals = spec.partitions.filter((p) => p.logical);
  const slots = primaries.length + (logicals.length > 0 ? 1 : 0);
  if (slots > 4) bad(`an MBR holds 4 primary entries; ${primaries.length} primaries${logicals.length ? ' + the extended container' : ''} requested`);
  const ranges: { what: string; first: number; last: number }[] = [];
  for (const [i, p] of spec.partitions.entries()) {
    const what = `partition ${i + 1} of the spec`;
    if (!Number.isInteger(p.type) || p.type < 1 || p.type > 0xff) bad(`${what}: type ${p.type} must be 0x01..0xff`);
    if (EXTENDED_TYPES.has(p.type) || p.type === PROTECTIVE_TYPE) bad(`${what}: type 0x${p.type.toString(16)} is reserved (extended containers are made from logical partitions; 0xEE is GPT)`);
    checkRange(dev, what, p.start, p.size, ss, p.logical ? 2 : 1, maxLba);
    const first = p.start / ss;
    ranges.push({ what, first: p.logical ? first - 1 : first, last: first + p.size / ss - 1 });
  }
  checkOverlaps(ranges);
  let extFirst = 0;
  let extLast = 0;
  const ordered = [...logicals].sort((a, b) => a.start - b.start);
  if (ordered.length > 0) {
    extFirst = ordered[0]!.start / ss - 1;
    const lastL = ordered[ordered.length - 1]!;
    extLast = lastL.start / ss + lastL.size / ss - 1;
    for (const p of primaries) {
      const f = p.start / ss;
      const l = f + p.size / ss - 1;
      if (f <= extLast && l >= extFirst) bad(`primary partition at sectors ${f}..${l} lies inside the extended partition ${extFirst}..${extLast}`);
    }
  }
  if (spec.diskSignature !== undefined && !(Number.isInteger(spec.diskSignature) && spec.diskSignature >= 0 && spec.diskSignature <= 0xffffffff)) {
    bad(`disk signature ${spec.diskSignature} must be a u32`);
  }

  // ---- build sector 0 ----
  const s0 = new Uint8Array(MBR.SIZE);
  dev.readAt(0, s0);
  const w = new ByteWriter(s0);
  const oldSig = new ByteView(s0).u32(MBR.diskSignature);
  const sig = spec.diskSignature ?? (oldSig !== 0 ? oldSig : randomNonZeroU32());
  w.u32(MBR.diskSignature, sig);
  w.u16(MBR.reserved, 0);
  w.fill(MBR.entries, 64, 0);
  let slot = 0;
  for (const p of primaries) {
    encodeMbrEntry(w, slot++, { status: p.bootable ? 0x80 : 0, type: p.type, lbaStart: p.start / ss, sectors: p.size / ss });
  }
  if (ordered.length > 0) {
    encodeMbrEntry(w, slot++, { status: 0, type: spec.extendedType ?? 0x05, lbaStart: extFirst, sectors: extLast - extFirst + 1 });
  }
  w.u8(MBR.signature, 0x55).u8(MBR.signature + 1, 0xaa);

  // ---- EBRs ----
  const ebrs: { lba: number; bytes: Uint8Array }[] = [];
  for (let i = 0; i < ordered.length; i++) {
    const p = ordered[i]!;
    const ebrLba = p.start / ss - 1;
    const e = ByteWriter.alloc(MBR.SIZE);
    encodeMbrEntry(e, 0, { status: p.bootable ? 0x80 : 0, type: p.type, lbaStart: 1, sectors: p.size / ss, lbaAbsForChs: p.start / ss });
    const next = ordered[i + 1];
    if (next) {
      const nextEbr = next.start / ss - 1;
      encodeMbrEntry(e, 1, {
        status: 0, type: 0x05, lbaStart: nextEbr - extFirst, sectors: next.start / ss + next.size / ss - nextEbr, lbaAbsForChs: nextEbr,
      });
    }
    e.u8(MBR.signature, 0x55).u8(MBR.signature + 1, 0xaa);
    ebrs.push({ lba: ebrLba, bytes: e.bytes });
  }

  (spec.logger ?? nullLogger).debug({ device: dev.name, primaries: primaries.length, logicals: logicals.length }, 'writing MBR');
  zapGpt(dev, ss);
  // EBRs first, then sector 0: until sector 0 is written, the old table still describes the disk.
  for (const e of ebrs) dev.writeAt(e.lba * ss, e.bytes);
  dev.writeAt(0, s0);
  dev.flush();
  return readPartitionTable(dev, { sectorSize: ss });
}

/**
 * Write a protective MBR, the primary GPT (header at LBA 1, entries from LBA 2) and the backup
 * GPT (entries before the last LBA, header at the last LBA). Returns the table as read back.
 *
 * @throws UsageError(PARTITION_SPEC_INVALID) for a bad specification (nothing written).
 */
export function writeGpt(dev: BlockDevice, spec: GptSpec): PartitionTable {
  assertWritable(dev);
  const ss = spec.sectorSize ?? dev.sectorSize ?? 512;
  const entryCount = spec.entryCount ?? 128;
  if (!Number.isInteger(entryCount) || entryCount < 1 || entryCount > 65536) bad(`entry count ${entryCount} must be 1..65536`);
  const arrayBytes = entryCount * GPT_ENTRY.SIZE;
  const arraySectors = Math.ceil(arrayBytes / ss);
  const lastLba = Math.floor(dev.size / ss) - 1;
  const firstUsable = 2 + arraySectors;
  const lastUsable = lastLba - 1 - arraySectors;
  if (lastUsable < firstUsable) bad(`${dev.name} (${dev.size} bytes) is too small for a GPT with ${entryCount} entries`);
  const diskGuid = (spec.diskGuid ?? randomGuid()).toUpperCase();
  if (!isGuid(diskGuid)) bad(`disk GUID ${JSON.stringify(spec.diskGuid)} is not a GUID`);

  const used = new Set<number>();
  for (const p of spec.partitions) if (p.number !== undefined) used.add(p.number);
  let nextFree = 1;
  const placed: { index: number; p: GptPartitionSpec }[] = [];
  const ranges: { what: string; first: number; last: number }[] = [];
  for (const [i, p] of spec.partitions.entries()) {
    let n = p.number;
    if (n === undefined) {
      while (used.has(nextFree)) nextFree++;
      n = nextFree++;
      used.add(n);
    }
    const what = `partition ${n}`;
    if (!Number.isInteger(n) || n < 1 || n > entryCount) bad(`${what}: number must be 1..${entryCount}`);
    if (placed.some((x) => x.index === n - 1)) bad(`${what}: number used twice`);
    if (!isGuid(p.typeGuid) || /^[0-]+$/.test(p.typeGuid)) bad(`${what}: type GUID ${JSON.stringify(p.typeGuid)} is not a non-zero GUID`);
    if (p.guid !== undefined && !isGuid(p.guid)) bad(`${what}: GUID ${JSON.stringify(p.guid)} is not a GUID`);
    if (p.name !== undefined && p.name.length > 36) bad(`${what}: name is longer than 36 UTF-16 code units`);
    if (p.attributes !== undefined && (p.attributes < 0n || p.attributes > 0xffffffffffffffffn)) bad(`${what}: attributes must be a u64`);
    checkRange(dev, what, p.start, p.size, ss, firstUsable, lastUsable);
    ranges.push({ what, first: p.start / ss, last: p.start / ss + p.size / ss - 1 });
    placed.push({ index: n - 1, p });
    void i;
  }
  checkOverlaps(ranges);

  const array = ByteWriter.alloc(arraySectors * ss);
  for (const { index, p } of placed) {
    encodeGptEntry(array, index * GPT_ENTRY.SIZE, {
      typeGuid: p.typeGuid.toUpperCase(), uniqueGuid: (p.guid ?? randomGuid()).toUpperCase(),
      firstLba: BigInt(p.start / ss), lastLba: BigInt(p.start / ss + p.size / ss - 1),
      attributes: p.attributes ?? 0n, name: p.name ?? '',
    });
  }
  const entriesCrc32 = crc32(array.bytes.subarray(0, arrayBytes));
  const common = { firstUsableLba: BigInt(firstUsable), lastUsableLba: BigInt(lastUsable), diskGuid, entryCount, entrySize: GPT_ENTRY.SIZE, entriesCrc32 };
  const primary = encodeGptHeader(ss, { ...common, myLba: 1n, alternateLba: BigInt(lastLba), entriesLba: 2n });
  const backup = encodeGptHeader(ss, { ...common, myLba: BigInt(lastLba), alternateLba: 1n, entriesLba: BigInt(lastLba - arraySectors) });

  // Protective MBR: one 0xEE entry from LBA 1 to the end (capped at 2^32-1 sectors); boot code kept.
  const s0 = new Uint8Array(MBR.SIZE);
  dev.readAt(0, s0);
  const w = new ByteWriter(s0);
  w.fill(MBR.entries, 64, 0);
  encodeMbrEntry(w, 0, { status: 0, type: PROTECTIVE_TYPE, lbaStart: 1, sectors: Math.min(lastLba, 0xffffffff) });
  w.u8(MBR.signature, 0x55).u8(MBR.signature + 1, 0xaa);
  // With 4096-byte sectors the rest of LBA 0 is unused: zero it, so no stale 512-byte GPT header
  // at offset 512 can be found by a reader probing sector sizes.
  const sector0 = new Uint8Array(ss);
  sector0.set(s0);

  (spec.logger ?? nullLogger).debug({ device: dev.name, partitions: placed.length, sectorSize: ss }, 'writing GPT');
  dev.writeAt((lastLba - arraySectors) * ss, array.bytes);
  dev.writeAt(lastLba * ss, backup);
  dev.writeAt(2 * ss, array.bytes);
  dev.writeAt(1 * ss, primary);
  dev.writeAt(0, sector0);
  dev.flush();
  return readPartitionTable(dev, { sectorSize: ss });
}

/** A random non-zero 32-bit MBR disk signature (Web Crypto: no node:crypto load at start-up). */
function randomNonZeroU32(): number {
  const a = new Uint32Array(1);
  do globalThis.crypto.getRandomValues(a);
  while (a[0] === 0);
  return a[0]!;
}
