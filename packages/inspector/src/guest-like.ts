/**
 * What the inspector needs from an opened guest. The Guest class of this package
 * (src/guest/, `Guest.open(paths)`) provides it; so can anything else that lists disks,
 * probes filesystems and mounts them.
 */
import type { FileSystem } from '@guestkit/disk';

export interface PartitionLike {
  /** Linux numbering: MBR primaries 1-4, logicals from 5; GPT entry index + 1. */
  number: number;
  /** Byte offset on the disk. */
  start: number;
  /** Size in bytes. */
  size: number;
  /** GPT unique partition GUID (any case). */
  guid?: string;
  /** GPT partition type GUID (any case). */
  typeGuid?: string;
  /** MBR partition type byte. */
  mbrType?: number;
  bootable?: boolean;
  extended?: boolean;
}

export interface PartitionTableLike {
  scheme: 'mbr' | 'gpt' | 'none';
  diskSignature?: number;
  diskGuid?: string;
  partitions: readonly PartitionLike[];
}

export interface GuestDiskLike {
  /** "sda", "sdb", ... in -a order. */
  name: string;
  table: PartitionTableLike;
}

export interface GuestFilesystemLike {
  /** "/dev/sda3", or "/dev/sda" for a filesystem on the whole disk. */
  device: string;
  type: string;
  label?: string;
  uuid?: string;
  disk: { name: string };
  partition?: PartitionLike;
}

export interface GuestLike {
  readonly disks: readonly GuestDiskLike[];
  /** Every partition / bare device with its probed type, in guestfish list-filesystems order. */
  filesystems(): readonly GuestFilesystemLike[];
  /** Mount a filesystem (read-only unless the guest was opened for writing); cached. */
  mount(device: string): FileSystem;
}

/** GPT type of an EFI system partition. */
export const ESP_TYPE_GUID = 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B';
/** MBR type of an EFI system partition. */
export const ESP_MBR_TYPE = 0xef;

export function isEsp(p: PartitionLike | undefined): boolean {
  if (!p) return false;
  return p.typeGuid?.toUpperCase() === ESP_TYPE_GUID || p.mbrType === ESP_MBR_TYPE;
}
