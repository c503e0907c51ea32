/**
 * Drive letters from HKLM\SYSTEM\MountedDevices, mapped to the guest's partitions the way
 * libguestfs does (daemon/inspect_fs_windows.ml get_drive_mappings):
 *
 * - values named `\DosDevices\X:` (prefix case-insensitive, X an ASCII letter kept as written,
 *   anything may follow the colon), in value order;
 * - only REG_BINARY data counts:
 *   - at least 24 bytes starting "DMIO:ID:": the next 16 bytes are a GPT partition GUID
 *     (Data1 LE32, Data2 LE16, Data3 LE16, Data4 as stored), matched against the unique GUID of
 *     every partition of every GPT disk, first match wins;
 *   - exactly 12 bytes: a u32 MBR disk signature (the first MBR-labelled disk whose bytes at
 *     0x1B8 are equal is taken) and a LE64 partition start in bytes, matched against that
 *     disk's partitions;
 *   - anything else (CD-ROM device paths, volume GUIDs) is skipped;
 * - virt-inspector prints them sorted by letter with strcasecmp, stably.
 */
import { guidToString } from '@guestkit/disk/binary';
import { asciiCaseEqual, isWellFormed } from '../registry/hivex-compat.js';
import { REG, type RegKey } from '../registry/reg-tree.js';

/** What the mapping needs to know about a disk. */
export interface MappingDisk {
  /** "sda", "sdb", ... */
  name: string;
  scheme: 'mbr' | 'gpt' | 'none';
  /** MBR signature (u32 LE at 0x1B8). */
  diskSignature?: number;
  partitions: readonly { number: number; start: number; guid?: string }[];
}

export interface DriveMapping {
  /** The drive letter as written in the value name ("C", or "x"). */
  letter: string;
  /** "/dev/sda3". */
  device: string;
}

export function mbrBlob(data: Uint8Array): { signature: number; offset: number } {
  let off = 0;
  for (let i = 11; i >= 4; i--) off = off * 256 + data[i]!;
  return { signature: (data[0]! | (data[1]! << 8) | (data[2]! << 16) | (data[3]! << 24)) >>> 0, offset: off };
}

/** Read and map the drive letters (unsorted, in value order). */
export function readDriveMappings(system: RegKey, disks: readonly MappingDisk[], warn: (m: string) => void): DriveMapping[] {
  const md = system.subkeys().find((k) => asciiCaseEqual(k.name, 'MountedDevices'));
  if (!md) return [];
  const out: DriveMapping[] = [];
  for (const v of md.values()) {
    if (!isWellFormed(v.name)) {
      warn('MountedDevices: a value name is not valid UTF-16');
      continue;
    }
    const n = v.name;
    const utf8Len = Buffer.byteLength(n, 'utf8');
    if (utf8Len < 14 || n.slice(0, 12).toLowerCase() !== '\\dosdevices\\' || !/^[A-Za-z]$/.test(n[12]!) || n[13] !== ':') continue;
    if (v.type !== REG.BINARY) continue;
    const blob = v.data;
    let device: string | undefined;
    if (blob.length >= 24 && Buffer.from(blob.subarray(0, 8)).toString('latin1') === 'DMIO:ID:') {
      const g = guidToString(blob, 8, false);
      for (const d of disks) {
        if (d.scheme !== 'gpt') continue;
        const p = d.partitions.find((x) => x.guid?.toLowerCase() === g);
        if (p) {
          device = `/dev/${d.name}${p.number}`;
          break;
        }
      }
    } else if (blob.length === 12) {
      const { signature, offset } = mbrBlob(blob);
      const d = disks.find((x) => x.scheme === 'mbr' && x.diskSignature === signature);
      const p = d?.partitions.find((x) => x.start === offset);
      if (d && p) device = `/dev/${d.name}${p.number}`;
    }
    if (device) out.push({ letter: n[12]!, device });
  }
  return out;
}

/** virt-inspector's order: strcasecmp on the letter, stable. */
export function sortDriveMappings(m: readonly DriveMapping[]): DriveMapping[] {
  return [...m].sort((a, b) => {
    const x = a.letter.toLowerCase();
    const y = b.letter.toLowerCase();
    return x < y ? -1 : x > y ? 1 : 0;
  });
}
