/**
 * BCD device elements (format 1): where a boot application, an OS or a RAM disk image lives.
 *
 * Element data layout (ReactOS boot/environ/include/bl.h BL_DEVICE_DESCRIPTOR and
 * bcd.h BCD_DEVICE_OPTION; mistyprojects.co.uk "BCDEdit - Devices Partition - Data"; checked
 * against every device element of the stores in ../shared/testdata/bcd):
 *
 *   0x00  16  GUID of an additional-options object (ramdisk options), or zeros
 *   0x10      device descriptor:
 *             +0x00 u32 device type  (0 block I/O, 2 legacy partition, 3 serial, 4 UDP,
 *                                     5 boot, 6 partition, 8 locate)
 *             +0x04 u32 flags
 *             +0x08 u32 size of the descriptor in bytes (from +0x00; 0x48 for a partition)
 *             +0x0C u32 reserved
 *             +0x10     body
 *
 *   partition (6) body:
 *             +0x00 16  GPT: the partition's unique GUID; MBR: u64 byte offset of the partition
 *             +0x10 u32 block I/O type of the disk (0 = hard disk)
 *             +0x14 u32 partition style (0 GPT, 1 MBR, 2 raw)
 *             +0x18 16  GPT: the disk GUID; MBR: u32 disk signature (0x1B8 in the MBR)
 *   block I/O (0) body:
 *             +0x00 u32 block I/O type (0 hard disk, 1 floppy, 2 CD-ROM, 3 RAM disk, 5 file, 6 VHD)
 *             RAM disk: +0x04 u64 image base, +0x0C u64 image size, +0x14 u32 image offset,
 *                       +0x18 a file path: u32 version (1), u32 length (from the version field,
 *                       including the nested device and the path), u32 path type, then a nested
 *                       device descriptor (same layout as at 0x10), then the UTF-16LE path
 *   boot (5): no meaningful body.
 *   locate (8) body: u32 locate type (0: the file named by another element of the object,
 *             1: a path), u32 that element's type, u32 parent device offset (0 = none),
 *             then a UTF-16LE path (empty for type 0).
 */
import { ByteView, FormatError, LimitError, decodeUtf16leZ, guidToString } from '@guestkit/disk/binary';
import { InspectCode } from '../errors.js';

export const BCD_DEVICE = {
  options: 0x00, // GUID
  descriptor: 0x10,
  // descriptor-relative:
  type: 0x00,
  flags: 0x04,
  size: 0x08,
  body: 0x10,
} as const;

/** Descriptor types (ReactOS BL_DEVICE_TYPE). */
export const BCD_DEVICE_TYPES = {
  blockIo: 0,
  legacyPartition: 2,
  serial: 3,
  udp: 4,
  boot: 5,
  partition: 6,
  locate: 8,
} as const;

/** How deep nested descriptors (a RAM disk image file on a partition, ...) may go. Real stores use 2. */
export const MAX_DEVICE_NESTING = 8;

export type BcdDevice =
  | { kind: 'boot' }
  | { kind: 'partition'; scheme: 'gpt'; partitionGuid: string; diskGuid: string }
  | { kind: 'partition'; scheme: 'mbr'; diskSignature: number; offset: number }
  | { kind: 'ramdisk'; parent: BcdDevice; path: string }
  /** Search every partition for a file: by the path in another element (`locate=custom:12000002`) or by a path. */
  | { kind: 'locate'; locateType: number; elementType: number; path: string }
  | { kind: 'unknown'; deviceType: number; blockIoType?: number };

export interface BcdDeviceElement {
  /** The additional-options object ("{7619dcc8-…}" for a ramdisk), lower case with braces. */
  options?: string;
  device: BcdDevice;
}

const ZERO_GUID = '{00000000-0000-0000-0000-000000000000}';

function guid(v: ByteView, off: number, field: string): string {
  return `{${guidToString(v.bytesAt(off, 16, field), 0, false)}}`;
}

/**
 * Decode a device element's data.
 * @throws FormatError (BCD_BAD_ELEMENT) when sizes or offsets do not fit; LimitError when
 *   descriptors nest deeper than MAX_DEVICE_NESTING.
 */
export function decodeBcdDevice(data: Uint8Array, where = 'BCD device element'): BcdDeviceElement {
  const v = new ByteView(data, 0, where);
  if (data.length < BCD_DEVICE.descriptor + BCD_DEVICE.body) {
    throw new FormatError(InspectCode.BcdBadElement, `${where}: ${data.length} bytes, a device element needs at least ${BCD_DEVICE.descriptor + BCD_DEVICE.body}`, { where, size: data.length });
  }
  const opts = guid(v, BCD_DEVICE.options, 'options GUID');
  const device = decodeDescriptor(v, BCD_DEVICE.descriptor, data.length - BCD_DEVICE.descriptor, 0, where);
  return opts === ZERO_GUID ? { device } : { options: opts, device };
}

function decodeDescriptor(v: ByteView, off: number, room: number, depth: number, where: string): BcdDevice {
  if (depth > MAX_DEVICE_NESTING) {
    throw new LimitError(InspectCode.Limit, `${where}: device descriptors nested deeper than ${MAX_DEVICE_NESTING}`, { where, depth });
  }
  const type = v.u32(off + BCD_DEVICE.type, 'device type');
  const size = v.u32(off + BCD_DEVICE.size, 'descriptor size');
  if (size < BCD_DEVICE.body || size > room) {
    throw new FormatError(InspectCode.BcdBadElement, `${where}: device descriptor at ${off} has size ${size}, expected ${BCD_DEVICE.body}..${room}`, { where, offset: off, size, room });
  }
  const body = off + BCD_DEVICE.body;
  const bodyLen = size - BCD_DEVICE.body;
  switch (type) {
    case BCD_DEVICE_TYPES.boot:
      return { kind: 'boot' };
    case BCD_DEVICE_TYPES.partition: {
      if (bodyLen < 0x28) return { kind: 'unknown', deviceType: type };
      const blockIo = v.u32(body + 0x10, 'partition disk type');
      const style = v.u32(body + 0x14, 'partition style');
      if (blockIo !== 0) return { kind: 'unknown', deviceType: type, blockIoType: blockIo };
      if (style === 0) return { kind: 'partition', scheme: 'gpt', partitionGuid: guid(v, body, 'partition GUID'), diskGuid: guid(v, body + 0x18, 'disk GUID') };
      if (style === 1) return { kind: 'partition', scheme: 'mbr', offset: v.u64n(body, 'partition offset'), diskSignature: v.u32(body + 0x18, 'disk signature') };
      return { kind: 'unknown', deviceType: type };
    }
    case BCD_DEVICE_TYPES.blockIo: {
      if (bodyLen < 4) return { kind: 'unknown', deviceType: type };
      const blockIo = v.u32(body, 'block I/O type');
      if (blockIo === 3 && bodyLen >= 0x18 + 12 + BCD_DEVICE.body) {
        const fp = body + 0x18;
        const fpLen = v.u32(fp + 4, 'file path length');
        if (fpLen < 12 + BCD_DEVICE.body || fpLen > bodyLen - 0x18) {
          throw new FormatError(InspectCode.BcdBadElement, `${where}: RAM disk file path of ${fpLen} bytes does not fit in ${bodyLen - 0x18}`, { where, length: fpLen });
        }
        const nested = fp + 12;
        const parent = decodeDescriptor(v, nested, fpLen - 12, depth + 1, where);
        const nestedSize = v.u32(nested + BCD_DEVICE.size, 'nested descriptor size');
        const pathOff = nested + nestedSize;
        const pathLen = fp + fpLen - pathOff;
        const path = pathLen > 0 ? decodeUtf16leZ(v.bytesAt(pathOff, pathLen, 'RAM disk path')) : '';
        return { kind: 'ramdisk', parent, path };
      }
      return { kind: 'unknown', deviceType: type, blockIoType: blockIo };
    }
    case BCD_DEVICE_TYPES.locate: {
      if (bodyLen < 12) return { kind: 'unknown', deviceType: type };
      const locateType = v.u32(body, 'locate type');
      const elementType = v.u32(body + 4, 'locate element type');
      const path = bodyLen > 12 ? decodeUtf16leZ(v.bytesAt(body + 12, bodyLen - 12, 'locate path')) : '';
      return { kind: 'locate', locateType, elementType, path };
    }
    default:
      return { kind: 'unknown', deviceType: type };
  }
}

/** What a partition device resolves to on a guest (device name, drive letter). */
export interface ResolvedPartition {
  device?: string;
  letter?: string;
}

export type PartitionResolver = (d: Extract<BcdDevice, { kind: 'partition' }>) => ResolvedPartition | undefined;

/** bcdedit-style text for a device: `boot`, `partition=C:`, `ramdisk=[boot]\x.wim,{…}`. */
export function formatBcdDevice(el: BcdDeviceElement, resolve?: PartitionResolver, alias?: (id: string) => string): string {
  const text = inner(el.device, resolve);
  if (el.device.kind === 'ramdisk' && el.options) return `${text},${alias ? alias(el.options) : el.options}`;
  return text;
}

function partitionText(d: Extract<BcdDevice, { kind: 'partition' }>, resolve?: PartitionResolver): string {
  const r = resolve?.(d);
  if (r?.letter && r.device) return `${r.letter}: (${r.device})`;
  if (r?.device) return r.device;
  if (d.scheme === 'gpt') return `gpt disk ${d.diskGuid} partition ${d.partitionGuid}`;
  return `mbr disk 0x${d.diskSignature.toString(16).padStart(8, '0')} offset ${d.offset}`;
}

function inner(d: BcdDevice, resolve?: PartitionResolver): string {
  switch (d.kind) {
    case 'boot':
      return 'boot';
    case 'partition':
      return `partition=${partitionText(d, resolve)}`;
    case 'ramdisk': {
      const p = d.parent.kind === 'boot' ? 'boot' : d.parent.kind === 'partition' ? partitionText(d.parent, resolve) : 'unknown';
      return `ramdisk=[${p}]${d.path}`;
    }
    case 'locate':
      return d.locateType === 0 ? `locate=custom:${d.elementType.toString(16).padStart(8, '0')}` : `locate=${d.path}`;
    default:
      return 'unknown';
  }
}
