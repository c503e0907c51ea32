/**
 * Building BCD device elements (format 1) for the editor: parse bcdedit-style device strings
 * (`boot`, `partition=C:`, `partition=/dev/sda3`, `ramdisk=[boot]\sources\boot.wim,{ramdiskoptions}`),
 * tie partitions to the guest's real partition table, and encode the element data in the exact
 * layout Windows writes (device.ts documents it; every device element of the stores in
 * ../shared/testdata/bcd re-encodes to its stored bytes, see test/bcd-edit.test.ts):
 *
 *   boot, partition:  16-byte options GUID (zeros) + a 0x48-byte descriptor (flags 0), the
 *                     unused body bytes zero
 *   RAM disk:         options GUID = the ramdisk-options object; descriptor type 0 (block I/O),
 *                     flags 1, body: u32 3 (RAM disk), 20 zero bytes (image base, size, offset),
 *                     then the file path: u32 version 1, u32 length, u32 path type 5, the parent
 *                     device's 0x48-byte descriptor, the UTF-16LE path with its NUL
 *   locate:           descriptor type 8, flags 0, body: u32 locate type, u32 element type,
 *                     u32 parent offset 0, UTF-16LE path with its NUL
 */
import { ByteWriter, UsageError, encodeUtf16le, guidFromString, isGuid } from '@guestkit/disk/binary';
import { BCD_DEVICE, BCD_DEVICE_TYPES, type BcdDevice, type BcdDeviceElement } from './device.js';
import { BcdEditCode } from './edit-errors.js';

/** Size of a boot or partition descriptor (header + body), as Windows writes it. */
export const BCD_PARTITION_DESCRIPTOR_SIZE = 0x48;
/** Block I/O type of a RAM disk; the file-path header fields Windows writes. */
const RAMDISK_BLOCK_IO = 3;
const RAMDISK_FILE_PATH_VERSION = 1;
const RAMDISK_FILE_PATH_TYPE = 5;
/** Bytes between the RAM disk block I/O type and its file path (image base u64, size u64, offset u32). */
const RAMDISK_IMAGE_FIELDS = 20;
const FILE_PATH_HEADER = 12;
/** Longest path accepted in a device string (Windows paths stop at 32767 UTF-16 units). */
const MAX_DEVICE_PATH = 32767;

function descriptorHeader(w: ByteWriter, off: number, type: number, flags: number, size: number): void {
  w.u32(off + BCD_DEVICE.type, type, 'device type');
  w.u32(off + BCD_DEVICE.flags, flags, 'device flags');
  w.u32(off + BCD_DEVICE.size, size, 'descriptor size');
  w.u32(off + 0x0c, 0, 'reserved');
}

function pathBytes(path: string): Uint8Array {
  const u = encodeUtf16le(path + '\0');
  return u;
}

/** The descriptor bytes of one device (no options GUID). */
export function encodeBcdDescriptor(d: BcdDevice): Uint8Array {
  switch (d.kind) {
    case 'boot': {
      const out = new Uint8Array(BCD_PARTITION_DESCRIPTOR_SIZE);
      descriptorHeader(new ByteWriter(out), 0, BCD_DEVICE_TYPES.boot, 0, out.length);
      return out;
    }
    case 'partition': {
      const out = new Uint8Array(BCD_PARTITION_DESCRIPTOR_SIZE);
      const w = new ByteWriter(out);
      descriptorHeader(w, 0, BCD_DEVICE_TYPES.partition, 0, out.length);
      const body = BCD_DEVICE.body;
      if (d.scheme === 'gpt') {
        w.bytesAt(body, guidFromString(d.partitionGuid), 'partition GUID');
        w.u32(body + 0x10, 0, 'disk type').u32(body + 0x14, 0, 'partition style');
        w.bytesAt(body + 0x18, guidFromString(d.diskGuid), 'disk GUID');
      } else {
        w.u64(body, BigInt(d.offset), 'partition offset');
        w.u32(body + 0x10, 0, 'disk type').u32(body + 0x14, 1, 'partition style');
        w.u32(body + 0x18, d.diskSignature >>> 0, 'disk signature');
      }
      return out;
    }
    case 'ramdisk': {
      const parent = encodeBcdDescriptor(d.parent);
      const path = pathBytes(d.path);
      const fpLen = FILE_PATH_HEADER + parent.length + path.length;
      const size = BCD_DEVICE.body + 4 + RAMDISK_IMAGE_FIELDS + fpLen;
      const out = new Uint8Array(size);
      const w = new ByteWriter(out);
      descriptorHeader(w, 0, BCD_DEVICE_TYPES.blockIo, 1, size);
      const body = BCD_DEVICE.body;
      w.u32(body, RAMDISK_BLOCK_IO, 'block I/O type');
      const fp = body + 4 + RAMDISK_IMAGE_FIELDS;
      w.u32(fp, RAMDISK_FILE_PATH_VERSION, 'file path version').u32(fp + 4, fpLen, 'file path length').u32(fp + 8, RAMDISK_FILE_PATH_TYPE, 'file path type');
      w.bytesAt(fp + FILE_PATH_HEADER, parent, 'parent device');
      w.bytesAt(fp + FILE_PATH_HEADER + parent.length, path, 'RAM disk path');
      return out;
    }
    case 'locate': {
      const path = pathBytes(d.path);
      const size = BCD_DEVICE.body + 12 + path.length;
      const out = new Uint8Array(size);
      const w = new ByteWriter(out);
      descriptorHeader(w, 0, BCD_DEVICE_TYPES.locate, 0, size);
      w.u32(BCD_DEVICE.body, d.locateType, 'locate type').u32(BCD_DEVICE.body + 4, d.elementType, 'locate element').u32(BCD_DEVICE.body + 8, 0, 'parent offset');
      w.bytesAt(BCD_DEVICE.body + 12, path, 'locate path');
      return out;
    }
    default:
      throw new UsageError(BcdEditCode.BadDevice, `cannot encode a device of unknown type ${d.deviceType}`, { deviceType: d.deviceType });
  }
}

/** The element data of a device element: options GUID + descriptor. */
export function encodeBcdDevice(el: BcdDeviceElement): Uint8Array {
  const desc = encodeBcdDescriptor(el.device);
  const out = new Uint8Array(BCD_DEVICE.descriptor + desc.length);
  if (el.options) out.set(guidFromString(el.options), BCD_DEVICE.options);
  out.set(desc, BCD_DEVICE.descriptor);
  return out;
}

// ------------------------------------------------------------------ device strings

/** A partition as the user named it. */
export type PartitionRef =
  | { kind: 'letter'; letter: string }
  | { kind: 'device'; device: string }
  | { kind: 'gpt'; diskGuid: string; partitionGuid: string }
  | { kind: 'mbr'; diskSignature: number; offset: number };

/** A parsed device string, before partitions are tied to the guest. */
export type BcdDeviceSpec =
  | { kind: 'boot' }
  | { kind: 'partition'; ref: PartitionRef }
  | { kind: 'ramdisk'; parent: { kind: 'boot' } | { kind: 'partition'; ref: PartitionRef }; path: string; options: string }
  | { kind: 'locate'; elementType: number };

const bad = (text: string, why: string): UsageError =>
  new UsageError(BcdEditCode.BadDevice, `bad device ${JSON.stringify(text)}: ${why}`, { device: text });

function braced(g: string): string {
  const s = g.trim().toLowerCase();
  return s.startsWith('{') ? s : `{${s}}`;
}

/** Parse the partition part of a device string ("C:", "/dev/sda3", "gpt disk {…} partition {…}", "mbr disk 0x… offset N"). */
export function parsePartitionRef(text: string, whole = text): PartitionRef {
  const t = text.trim();
  let m = /^([a-z]):?$/i.exec(t);
  if (m) return { kind: 'letter', letter: m[1]!.toUpperCase() };
  m = /^\/dev\/[a-z]+[0-9]+$/i.exec(t);
  if (m) return { kind: 'device', device: t };
  m = /^gpt\s+disk\s+(\S+)\s+partition\s+(\S+)$/i.exec(t);
  if (m) {
    if (!isGuid(m[1]!) || !isGuid(m[2]!)) throw bad(whole, 'the disk and partition of a GPT partition are GUIDs');
    return { kind: 'gpt', diskGuid: braced(m[1]!), partitionGuid: braced(m[2]!) };
  }
  m = /^mbr\s+disk\s+(0x[0-9a-f]{1,8}|[0-9]+)\s+offset\s+([0-9]+)$/i.exec(t);
  if (m) {
    const sig = Number(m[1]!);
    const offset = Number(m[2]!);
    if (!Number.isSafeInteger(offset)) throw bad(whole, 'partition offset too large');
    return { kind: 'mbr', diskSignature: sig >>> 0, offset };
  }
  throw bad(whole, 'a partition is a drive letter (C:), a guest device (/dev/sda3), "gpt disk {GUID} partition {GUID}" or "mbr disk 0xSIGNATURE offset BYTES"');
}

/**
 * Parse a bcdedit device string: `boot`, `partition=X`, `ramdisk=[X]\path,{options}` (X: boot or a
 * partition as above), `locate=custom:XXXXXXXX` (search every partition for the file named by
 * that element). The options id of a RAM disk is returned as written (an alias or a GUID).
 */
export function parseBcdDeviceSpec(text: string): BcdDeviceSpec {
  const t = text.trim();
  if (/^boot$/i.test(t)) return { kind: 'boot' };
  let m = /^partition=(.+)$/is.exec(t);
  if (m) return { kind: 'partition', ref: parsePartitionRef(m[1]!, text) };
  m = /^ramdisk=\[([^\]]*)\](.*),(\{[^{}]+\})$/is.exec(t);
  if (m) {
    const p = m[1]!.trim();
    const parent = /^boot$/i.test(p) ? ({ kind: 'boot' } as const) : ({ kind: 'partition', ref: parsePartitionRef(p, text) } as const);
    const path = m[2]!;
    if (!path.startsWith('\\')) throw bad(text, 'the RAM disk image path starts with a backslash (\\sources\\boot.wim)');
    if (path.length > MAX_DEVICE_PATH || path.includes('\0')) throw bad(text, 'bad RAM disk image path');
    return { kind: 'ramdisk', parent, path, options: m[3]!.toLowerCase() };
  }
  if (/^ramdisk=/i.test(t)) throw bad(text, 'a RAM disk is ramdisk=[boot|C:|/dev/sdXN]\\path\\image.wim,{options-object}');
  m = /^locate=custom:([0-9a-f]{8})$/i.exec(t);
  if (m) return { kind: 'locate', elementType: parseInt(m[1]!, 16) };
  throw bad(text, 'expected boot, partition=…, ramdisk=[…]\\path,{options} or locate=custom:XXXXXXXX');
}

// ------------------------------------------------------------------ the guest's partitions

/** A partition of the guest as a BCD device sees it. */
export interface BcdPartitionTarget {
  /** Guest device name ("/dev/sda3"). */
  device: string;
  scheme: 'gpt' | 'mbr';
  diskGuid?: string;
  partitionGuid?: string;
  diskSignature?: number;
  offset: number;
}

/** Where partition references are resolved: the guest's partitions and the drive letters to use. */
export interface BcdPartitionCatalog {
  partitions: readonly BcdPartitionTarget[];
  /** Drive letter (upper case) → guest device, for the installation being edited. */
  letters: ReadonlyMap<string, string>;
  /** Where the letters come from, for messages ("drive mappings of the Windows installation on /dev/sda3"). */
  lettersFrom?: string;
}

/** The partitions of a guest's disks (GPT and MBR, extended containers left out). */
export function catalogPartitions(disks: readonly { name: string; table: { scheme: string; diskGuid?: string; diskSignature?: number; partitions: readonly { number: number; start: number; guid?: string; extended?: boolean }[] } }[]): BcdPartitionTarget[] {
  const out: BcdPartitionTarget[] = [];
  for (const d of disks) {
    const t = d.table;
    for (const p of t.partitions) {
      if (p.extended) continue;
      const device = `/dev/${d.name}${p.number}`;
      if (t.scheme === 'gpt' && t.diskGuid && p.guid) out.push({ device, scheme: 'gpt', diskGuid: braced(t.diskGuid), partitionGuid: braced(p.guid), offset: p.start });
      else if (t.scheme === 'mbr' && t.diskSignature !== undefined) out.push({ device, scheme: 'mbr', diskSignature: t.diskSignature, offset: p.start });
    }
  }
  return out;
}

function targetDevice(t: BcdPartitionTarget): Extract<BcdDevice, { kind: 'partition' }> {
  return t.scheme === 'gpt'
    ? { kind: 'partition', scheme: 'gpt', partitionGuid: t.partitionGuid!, diskGuid: t.diskGuid! }
    : { kind: 'partition', scheme: 'mbr', diskSignature: t.diskSignature!, offset: t.offset };
}

/** Result of tying a device string to the guest. */
export interface ResolvedBcdDevice {
  element: BcdDeviceElement;
  /** The guest device each partition points at, when known. */
  targets: string[];
  warnings: string[];
}

/**
 * Turn a parsed device string into a device element. Partitions named by letter or guest
 * device need `catalog`; GPT/MBR partitions given by their identifiers are checked against it
 * when there is one (an unknown partition is refused: the guest would not boot from it) and
 * taken as given (with a warning) when there is none.
 * @param resolveObject turns the RAM disk options id (alias or GUID) into a GUID of the store.
 */
export function resolveBcdDevice(spec: BcdDeviceSpec, text: string, catalog: BcdPartitionCatalog | undefined, resolveObject: (id: string) => string): ResolvedBcdDevice {
  const warnings: string[] = [];
  const targets: string[] = [];
  const part = (ref: PartitionRef): Extract<BcdDevice, { kind: 'partition' }> => {
    if (ref.kind === 'letter' || ref.kind === 'device') {
      if (!catalog) {
        throw bad(text, `${ref.kind === 'letter' ? `${ref.letter}:` : ref.device} can only be resolved on a disk image: give the images of the guest (-a IMAGE), or name the partition as "gpt disk {GUID} partition {GUID}" / "mbr disk 0xSIGNATURE offset BYTES"`);
      }
      let device: string;
      if (ref.kind === 'letter') {
        const d = catalog.letters.get(ref.letter);
        if (!d) {
          const known = [...catalog.letters.keys()].sort().map((l) => `${l}:`).join(' ');
          throw bad(text, `no drive ${ref.letter}: in ${catalog.lettersFrom ?? 'the guest'}${known ? ` (known: ${known})` : ''}; name the partition as /dev/sdXN`);
        }
        device = d;
      } else device = ref.device;
      const t = catalog.partitions.find((p) => p.device === device);
      if (!t) throw bad(text, `${device} is not a partition of a GPT or MBR disk of the guest (partitions: ${catalog.partitions.map((p) => p.device).join(' ') || 'none'})`);
      targets.push(t.device);
      return targetDevice(t);
    }
    const dev: Extract<BcdDevice, { kind: 'partition' }> =
      ref.kind === 'gpt' ? { kind: 'partition', scheme: 'gpt', diskGuid: ref.diskGuid, partitionGuid: ref.partitionGuid } : { kind: 'partition', scheme: 'mbr', diskSignature: ref.diskSignature, offset: ref.offset };
    if (catalog) {
      const t = catalog.partitions.find((p) =>
        ref.kind === 'gpt' ? p.scheme === 'gpt' && p.diskGuid === ref.diskGuid && p.partitionGuid === ref.partitionGuid : p.scheme === 'mbr' && p.diskSignature === ref.diskSignature && p.offset === ref.offset,
      );
      if (!t) throw bad(text, 'no partition of the guest has these identifiers');
      targets.push(t.device);
    } else {
      warnings.push(`device ${text}: not checked against a partition table (no disk image given)`);
    }
    return dev;
  };
  switch (spec.kind) {
    case 'boot':
      return { element: { device: { kind: 'boot' } }, targets, warnings };
    case 'partition':
      return { element: { device: part(spec.ref) }, targets, warnings };
    case 'ramdisk': {
      const parent: BcdDevice = spec.parent.kind === 'boot' ? { kind: 'boot' } : part(spec.parent.ref);
      return { element: { options: resolveObject(spec.options), device: { kind: 'ramdisk', parent, path: spec.path } }, targets, warnings };
    }
    case 'locate':
      return { element: { device: { kind: 'locate', locateType: 0, elementType: spec.elementType, path: '' } }, targets, warnings };
  }
}
