import { OutOfRangeError, ReadOnlyError, CommonCode, hex } from '../binary/errors.js';

/** One run of a device's allocation map. */
export interface Extent {
  /** Byte offset in the device. */
  offset: number;
  /** Length in bytes. */
  length: number;
  /** `data`: stored bytes; `zero`: reads as zeros and is known zero; `unallocated`: a hole (reads as zeros or from a backing file). */
  kind: 'data' | 'zero' | 'unallocated';
}

/**
 * A random-access byte device: raw files, qcow2 images, partitions, overlays, caches and files
 * inside a filesystem all share it. Synchronous on purpose (metadata work is chains of small
 * dependent reads). Reads and writes are complete: a short transfer throws, never returns a count.
 * Offsets and lengths are in bytes.
 */
export interface BlockDevice {
  /** Human-readable chain used in error positions, e.g. "disk.qcow2 › p2". */
  readonly name: string;
  /** Size in bytes (always <= Number.MAX_SAFE_INTEGER). */
  readonly size: number;
  /** Logical sector size hint (512 or 4096); reads need not be aligned. */
  readonly sectorSize: number;
  readonly readOnly: boolean;
  /** Fill all of `dst` from `offset`. Throws OutOfRangeError if [offset, offset+dst.length) is not inside [0, size). */
  readAt(offset: number, dst: Uint8Array): void;
  /** Write all of `src` at `offset`. Throws ReadOnlyError / OutOfRangeError. */
  writeAt(offset: number, src: Uint8Array): void;
  /** Make previous writes durable in the layer below (fsync for files, commit for overlays). */
  flush(): void;
  close(): void;
  /** Optional allocation map for sparse-aware copies; covers [offset, offset+length) in order. */
  extents?(offset: number, length: number): Iterable<Extent>;
}

/** Throw OutOfRangeError unless `[offset, offset+length)` lies inside the device. */
export function assertDeviceRange(dev: { name: string; size: number }, offset: number, length: number, op = 'access'): void {
  if (!(Number.isInteger(offset) && Number.isInteger(length) && offset >= 0 && length >= 0 && offset <= dev.size - length)) {
    throw new OutOfRangeError(
      CommonCode.DeviceRange,
      `${dev.name}: ${op} of ${length} bytes at ${hex(offset)} is outside the device (size ${dev.size})`,
      { device: dev.name, offset, length, size: dev.size },
    );
  }
}

export function assertWritable(dev: { name: string; readOnly: boolean }): void {
  if (dev.readOnly) {
    throw new ReadOnlyError(CommonCode.ReadOnly, `${dev.name}: opened read-only (use --rw to write)`, { device: dev.name });
  }
}

/** Read `length` bytes at `offset` into a new buffer. */
export function readBytes(dev: BlockDevice, offset: number, length: number): Uint8Array {
  const b = new Uint8Array(length);
  dev.readAt(offset, b);
  return b;
}

/** The whole-device extent list when a device has no allocation map. */
export function* allData(offset: number, length: number): Iterable<Extent> {
  if (length > 0) yield { offset, length, kind: 'data' };
}
