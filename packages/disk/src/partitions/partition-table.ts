/**
 * readPartitionTable: MBR (with extended/logical EBR chains) or GPT (primary header, falling
 * back to the backup), numbered the way Linux and guestfish number partitions:
 *   - MBR primaries 1..4 by slot (empty slots keep their number unused), logicals from 5 in
 *     chain order, skipping EBRs without a data entry (libfdisk / kernel block/partitions/msdos.c);
 *   - GPT by entry index + 1.
 * A slot is "used" when its sector count is non-zero (the kernel's rule, also libfdisk's).
 * Each partition opens as a SliceDevice named "<disk> › p<N>".
 */
import {
  ByteView, FormatError, LimitError, LoopError, nullLogger, hex, crc32, type Logger,
} from '../binary/index.js';
import type { BlockDevice } from '../device/block-device.js';
import { SliceDevice } from '../device/slice-device.js';
import { DiskCode } from '../errors.js';
import {
  MBR, EXTENDED_TYPES, PROTECTIVE_TYPE, decodeEntry as decodeMbrEntry, hasBootSignature, type MbrEntry,
} from './mbr/layout.js';
import {
  GPT_HDR, GPT_LIMITS, GPT_SIGNATURE, decodeHeader as decodeGptHeader, decodeEntry as decodeGptEntry, headerCrc,
  isUnusedEntry, type GptHeader,
} from './gpt/layout.js';

export interface PartitionTable {
  scheme: 'mbr' | 'gpt' | 'none';
  /** Logical sector size the table was read with (512 or 4096). */
  sectorSize: number;
  /** MBR disk signature (u32 at 0x1B8). */
  diskSignature?: number;
  /** GPT disk GUID, upper case. */
  diskGuid?: string;
  partitions: Partition[];
  /** Tolerated problems (backup header used, damaged EBR chain, partition past the end, ...). */
  warnings: string[];
  /** GPT header facts (present for scheme 'gpt'). */
  gpt?: GptInfo;
}

export interface GptInfo {
  firstUsableLba: number;
  lastUsableLba: number;
  entryCount: number;
  entrySize: number;
  /** LBA of the header the table was read from (1, or the backup's LBA). */
  headerLba: number;
  alternateLba: number;
  entriesLba: number;
  /** True when the primary header was unusable and the backup was read instead. */
  usedBackup: boolean;
}

export interface PartitionOpenOptions {
  /** Name for error messages (default "<disk> › p<N>"). */
  name?: string;
  /** Open read-only even when the disk is writable. */
  readOnly?: boolean;
}

export interface Partition {
  /** As Linux/guestfish number it: MBR primaries 1-4 by slot, logicals from 5; GPT entry index + 1. */
  number: number;
  /** Byte offset on the disk. */
  start: number;
  /** Size in bytes. */
  size: number;
  scheme: 'mbr' | 'gpt';
  mbrType?: number;
  bootable?: boolean;
  logical?: boolean;
  /** The extended-partition container itself. */
  extended?: boolean;
  /** GPT partition type GUID, upper case. */
  typeGuid?: string;
  /** GPT unique partition GUID, upper case. */
  guid?: string;
  name?: string;
  attributes?: bigint;
  /** The partition as a bounds-checked SliceDevice. */
  open(opts?: PartitionOpenOptions): SliceDevice;
}

export interface ReadPartitionTableOptions {
  logger?: Logger;
  /** Force the logical sector size (default: GPT is probed at 512 and 4096; MBR uses dev.sectorSize). */
  sectorSize?: number;
  /** Stop at a looping or overlong EBR chain with a warning instead of throwing. */
  lenient?: boolean;
}

/** Linux's limit on partitions per disk (DISK_MAX_PARTS); also bounds the EBR walk. */
export const MAX_LOGICAL_PARTITIONS = 256;

type PartitionFields = Omit<Partition, 'open'>;

function makePartition(dev: BlockDevice, f: PartitionFields): Partition {
  return {
    ...f,
    open(opts: PartitionOpenOptions = {}): SliceDevice {
      return new SliceDevice(dev, f.start, f.size, { name: opts.name ?? `${dev.name} › p${f.number}`, readOnly: opts.readOnly ?? false });
    },
  };
}

function readSector(dev: BlockDevice, offset: number, length: number): Uint8Array {
  const b = new Uint8Array(length);
  dev.readAt(offset, b);
  return b;
}

/**
 * Read the partition table of `dev`. Absent table → scheme 'none'. A protective MBR leads to
 * GPT; the GPT sector size is detected by finding the header at LBA 1 for 512 or 4096 bytes.
 *
 * @throws FormatError (protective MBR but both GPT headers invalid; impossible MBR values),
 *   LoopError (EBR chain loops), LimitError (EBR chain too long, GPT array too large).
 */
export function readPartitionTable(dev: BlockDevice, opts: ReadPartitionTableOptions = {}): PartitionTable {
  const log = (opts.logger ?? nullLogger).child({ component: 'partitions', device: dev.name });
  const warnings: string[] = [];
  const warn = (msg: string): void => {
    warnings.push(msg);
    log.warn({ device: dev.name }, msg);
  };
  const ss0 = opts.sectorSize ?? dev.sectorSize ?? 512;
  if (dev.size < MBR.SIZE) return { scheme: 'none', sectorSize: ss0, partitions: [], warnings };

  const s0 = new ByteView(readSector(dev, 0, MBR.SIZE), 0, `MBR of ${dev.name}`);
  const mbrValid = hasBootSignature(s0);
  const entries = mbrValid ? [0, 1, 2, 3].map((i) => decodeMbrEntry(s0, i)) : [];
  const protective = entries.some((e) => e.type === PROTECTIVE_TYPE && e.sectors !== 0);

  if (protective || !mbrValid) {
    const gpt = detectGpt(dev, opts.sectorSize);
    if (gpt) {
      if (!mbrValid) warn(`${dev.name}: GPT found but sector 0 has no protective MBR (no 0x55AA signature)`);
      return readGpt(dev, gpt.sectorSize, gpt.backupOnly, warn, warnings);
    }
    if (protective) {
      throw new FormatError(DiskCode.GptHeader, `${dev.name}: protective MBR (type 0xEE) but no GPT header at LBA 1 or at the end of the disk`, { device: dev.name });
    }
    return { scheme: 'none', sectorSize: ss0, partitions: [], warnings };
  }

  // The kernel's test that tells a partition table from a filesystem boot sector (FAT/NTFS VBR):
  // every boot indicator must be 0x00 or 0x80.
  if (entries.some((e) => e.status !== 0 && e.status !== 0x80)) {
    log.debug({}, 'sector 0 has a boot signature but invalid boot indicators: not a partition table');
    return { scheme: 'none', sectorSize: ss0, partitions: [], warnings };
  }
  return readMbr(dev, s0, entries, ss0, warn, warnings, opts);
}

// ---------------------------------------------------------------------------------------------
// MBR
// ---------------------------------------------------------------------------------------------

function readMbr(
  dev: BlockDevice, s0: ByteView, entries: MbrEntry[], ss: number, warn: (m: string) => void, warnings: string[],
  opts: ReadPartitionTableOptions,
): PartitionTable {
  const parts: Partition[] = [];
  const diskSectors = Math.floor(dev.size / ss);
  let extendedSeen = false;
  const checkEnd = (n: number, startLba: number, sectors: number): void => {
    if (startLba + sectors > diskSectors) {
      warn(`${dev.name}: partition ${n} (sectors ${startLba}..${startLba + sectors - 1}) extends past the end of the disk (${diskSectors} sectors)`);
    }
  };
  for (let slot = 0; slot < 4; slot++) {
    const e = entries[slot]!;
    if (e.sectors === 0) continue;
    const number = slot + 1;
    const ext = EXTENDED_TYPES.has(e.type);
    checkEnd(number, e.lbaStart, e.sectors);
    const f: PartitionFields = {
      number, start: e.lbaStart * ss, size: e.sectors * ss, scheme: 'mbr', mbrType: e.type,
      bootable: e.status === 0x80,
    };
    if (ext) f.extended = true;
    parts.push(makePartition(dev, f));
    if (ext) {
      if (extendedSeen) {
        warn(`${dev.name}: ignoring extra extended partition ${number}`);
        continue;
      }
      extendedSeen = true;
      for (const l of readEbrChain(dev, e, ss, warn, opts)) {
        checkEnd(l.number, l.startLba, l.sectors);
        parts.push(makePartition(dev, {
          number: l.number, start: l.startLba * ss, size: l.sectors * ss, scheme: 'mbr', mbrType: l.type,
          bootable: l.status === 0x80, logical: true,
        }));
      }
    }
  }
  parts.sort((a, b) => a.number - b.number);
  return { scheme: 'mbr', sectorSize: ss, diskSignature: s0.u32(MBR.diskSignature, 'disk signature'), partitions: parts, warnings };
}

interface Logical {
  number: number;
  startLba: number;
  sectors: number;
  type: number;
  status: number;
}

function readEbrChain(dev: BlockDevice, ext: MbrEntry, ss: number, warn: (m: string) => void, opts: ReadPartitionTableOptions): Logical[] {
  const out: Logical[] = [];
  const extStart = ext.lbaStart;
  const visited = new Set<number>();
  let ebr = extStart;
  let number = 5;
  for (let hops = 0; ; hops++) {
    if (hops >= MAX_LOGICAL_PARTITIONS) {
      const msg = `${dev.name}: extended partition chain is longer than ${MAX_LOGICAL_PARTITIONS} EBRs`;
      if (opts.lenient) {
        warn(msg + '; stopping');
        break;
      }
      throw new LimitError(DiskCode.EbrLimit, msg, { device: dev.name, limit: MAX_LOGICAL_PARTITIONS });
    }
    if (visited.has(ebr)) {
      const msg = `${dev.name}: extended partition chain loops back to the EBR at LBA ${ebr} (${hex(ebr * ss)})`;
      if (opts.lenient) {
        warn(msg + '; stopping');
        break;
      }
      throw new LoopError(DiskCode.EbrLoop, msg, { device: dev.name, offset: ebr * ss, lba: ebr });
    }
    visited.add(ebr);
    const off = ebr * ss;
    if (off + MBR.SIZE > dev.size) {
      warn(`${dev.name}: EBR at LBA ${ebr} lies past the end of the disk; logical partitions after it are not read`);
      break;
    }
    const v = new ByteView(readSector(dev, off, MBR.SIZE), off, `EBR of ${dev.name}`);
    if (!hasBootSignature(v)) {
      // A disk with 4096-byte sectors read as 512 lands here: say so when the other reading works.
      const alt = ss === 512 ? ebr * 4096 : 0;
      let hint = '';
      if (alt > 0 && alt + MBR.SIZE <= dev.size && hasBootSignature(new ByteView(readSector(dev, alt, MBR.SIZE)))) {
        hint = ' (an EBR exists at that LBA with 4096-byte sectors: read the disk with sectorSize 4096)';
      }
      warn(`${dev.name}: EBR at LBA ${ebr} (${hex(off)}) has no 0x55AA signature; logical partitions from here on are not read${hint}`);
      break;
    }
    let data: MbrEntry | undefined;
    let link: MbrEntry | undefined;
    for (let i = 0; i < 4; i++) {
      const e = decodeMbrEntry(v, i);
      if (e.sectors === 0) continue;
      if (EXTENDED_TYPES.has(e.type)) link ??= e;
      else if (e.type !== 0) data ??= e;
    }
    if (data) {
      out.push({ number: number++, startLba: ebr + data.lbaStart, sectors: data.sectors, type: data.type, status: data.status });
    }
    if (!link) break;
    ebr = extStart + link.lbaStart;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// GPT
// ---------------------------------------------------------------------------------------------

function hasSignatureAt(dev: BlockDevice, offset: number): boolean {
  if (offset < 0 || offset + 8 > dev.size) return false;
  return Buffer.from(readSector(dev, offset, 8)).toString('latin1') === GPT_SIGNATURE;
}

/** Find the sector size at which a GPT header sits at LBA 1 (or, failing that, at the last LBA). */
function detectGpt(dev: BlockDevice, forced?: number): { sectorSize: number; backupOnly: boolean } | undefined {
  const candidates = forced ? [forced] : [...new Set([dev.sectorSize || 512, 512, 4096])];
  for (const ss of candidates) if (hasSignatureAt(dev, ss)) return { sectorSize: ss, backupOnly: false };
  for (const ss of candidates) {
    const last = Math.floor(dev.size / ss) - 1;
    if (last > 1 && hasSignatureAt(dev, last * ss)) return { sectorSize: ss, backupOnly: true };
  }
  return undefined;
}

type HeaderResult =
  | { ok: true; header: GptHeader; array: Uint8Array; lba: number }
  | { ok: false; reason: string; limit?: boolean; header?: GptHeader };

/** Read and fully validate the GPT header at `lba` and its entry array. */
function tryHeader(dev: BlockDevice, lba: number, ss: number): HeaderResult {
  const off = lba * ss;
  if (lba < 1 || off + ss > dev.size) return { ok: false, reason: `LBA ${lba} is outside the disk` };
  const bytes = readSector(dev, off, ss);
  const v = new ByteView(bytes, off, `GPT header of ${dev.name}`);
  if (v.ascii(0, 8) !== GPT_SIGNATURE) return { ok: false, reason: `no "EFI PART" signature at LBA ${lba}` };
  const h = decodeGptHeader(v);
  if (h.headerSize < GPT_HDR.SIZE || h.headerSize > ss) return { ok: false, reason: `header size ${h.headerSize} is outside 92..${ss}`, header: h };
  const crc = headerCrc(bytes, h.headerSize);
  if (crc !== h.headerCrc32) return { ok: false, reason: `header CRC32 is ${hex(h.headerCrc32)}, computed ${hex(crc)}`, header: h };
  if (h.myLba !== BigInt(lba)) return { ok: false, reason: `header says it is at LBA ${h.myLba}, but it was read at LBA ${lba}`, header: h };
  const lastLba = BigInt(Math.floor(dev.size / ss) - 1);
  if (h.firstUsableLba > h.lastUsableLba + 1n || h.lastUsableLba > lastLba || h.firstUsableLba > lastLba) {
    return { ok: false, reason: `usable area LBA ${h.firstUsableLba}..${h.lastUsableLba} does not fit the disk (last LBA ${lastLba})`, header: h };
  }
  if (h.entrySize < 128 || h.entrySize % 8 !== 0 || h.entrySize > GPT_LIMITS.MAX_ENTRY_SIZE) {
    return { ok: false, reason: `entry size ${h.entrySize} is not a multiple of 8 in 128..${GPT_LIMITS.MAX_ENTRY_SIZE}`, header: h };
  }
  // count × size can reach 2^32 × 4096 = 2^44: exact in a double, and checked before any allocation.
  const arrayBytes = h.entryCount * h.entrySize;
  if (h.entryCount > GPT_LIMITS.MAX_ENTRIES || arrayBytes > GPT_LIMITS.MAX_ARRAY_BYTES) {
    return { ok: false, reason: `entry array of ${h.entryCount} × ${h.entrySize} bytes exceeds the limit (${GPT_LIMITS.MAX_ENTRIES} entries, ${GPT_LIMITS.MAX_ARRAY_BYTES} bytes)`, limit: true, header: h };
  }
  const arraySectors = BigInt(Math.ceil(arrayBytes / ss));
  if (h.entriesLba < 1n || h.entriesLba + arraySectors - 1n > lastLba) {
    return { ok: false, reason: `entry array at LBA ${h.entriesLba} (+${arraySectors} sectors) is outside the disk`, header: h };
  }
  const array = readSector(dev, Number(h.entriesLba) * ss, arrayBytes);
  const acrc = crc32(array);
  if (acrc !== h.entriesCrc32) return { ok: false, reason: `entry array CRC32 is ${hex(h.entriesCrc32)}, computed ${hex(acrc)}`, header: h };
  return { ok: true, header: h, array, lba };
}

function readGpt(dev: BlockDevice, ss: number, backupOnly: boolean, warn: (m: string) => void, warnings: string[]): PartitionTable {
  const lastLba = Math.floor(dev.size / ss) - 1;
  let res: HeaderResult = backupOnly ? { ok: false, reason: `no "EFI PART" signature at LBA 1` } : tryHeader(dev, 1, ss);
  let usedBackup = false;
  if (res.ok) {
    // Verify the backup too, so a damaged copy is reported while it can still be repaired.
    const alt = Number(res.header.alternateLba);
    const b = Number.isSafeInteger(alt) ? tryHeader(dev, alt, ss) : ({ ok: false, reason: `alternate LBA ${res.header.alternateLba} is invalid` } as HeaderResult);
    if (!b.ok) warn(`${dev.name}: backup GPT header is missing or invalid (${b.reason})`);
    else if (alt !== lastLba) warn(`${dev.name}: backup GPT header is at LBA ${alt}, not at the end of the disk (LBA ${lastLba}); the disk was probably resized`);
  } else {
    const primaryReason = res.reason;
    const candidates = [lastLba];
    if (res.header && res.header.alternateLba !== BigInt(lastLba) && res.header.alternateLba <= BigInt(lastLba)) candidates.unshift(Number(res.header.alternateLba));
    let backup: HeaderResult = { ok: false, reason: 'not found' };
    for (const lba of candidates) {
      backup = tryHeader(dev, lba, ss);
      if (backup.ok) break;
    }
    if (!backup.ok) {
      const msg = `${dev.name}: both GPT headers are invalid — primary: ${primaryReason}; backup: ${backup.reason}`;
      const details = { device: dev.name, primary: primaryReason, backup: backup.reason, sectorSize: ss };
      if ((res as { limit?: boolean }).limit || (backup as { limit?: boolean }).limit) throw new LimitError(DiskCode.GptEntries, msg, details);
      throw new FormatError(DiskCode.GptHeader, msg, details);
    }
    warn(`${dev.name}: primary GPT header is invalid (${primaryReason}); using the backup header at LBA ${backup.lba}`);
    res = backup;
    usedBackup = true;
  }
  const { header: h, array } = res;
  const av = new ByteView(array, Number(h.entriesLba) * ss, `GPT entry array of ${dev.name}`);
  const parts: Partition[] = [];
  for (let i = 0; i < h.entryCount; i++) {
    const off = i * h.entrySize;
    if (isUnusedEntry(av, off)) continue;
    const e = decodeGptEntry(av, off);
    const n = i + 1;
    if (e.firstLba > e.lastLba || e.lastLba > BigInt(lastLba)) {
      warn(`${dev.name}: GPT entry ${n} has LBA ${e.firstLba}..${e.lastLba}, which is empty or past the end of the disk (last LBA ${lastLba}); ignored`);
      continue;
    }
    if (e.firstLba < h.firstUsableLba || e.lastLba > h.lastUsableLba) {
      warn(`${dev.name}: GPT entry ${n} (LBA ${e.firstLba}..${e.lastLba}) lies outside the usable area ${h.firstUsableLba}..${h.lastUsableLba}`);
    }
    const first = Number(e.firstLba);
    const count = Number(e.lastLba - e.firstLba) + 1;
    parts.push(makePartition(dev, {
      number: n, start: first * ss, size: count * ss, scheme: 'gpt', typeGuid: e.typeGuid, guid: e.uniqueGuid,
      name: e.name, attributes: e.attributes,
    }));
  }
  return {
    scheme: 'gpt', sectorSize: ss, diskGuid: h.diskGuid, partitions: parts, warnings,
    gpt: {
      firstUsableLba: Number(h.firstUsableLba), lastUsableLba: Number(h.lastUsableLba), entryCount: h.entryCount,
      entrySize: h.entrySize, headerLba: res.lba, alternateLba: Number(h.alternateLba), entriesLba: Number(h.entriesLba), usedBackup,
    },
  };
}
