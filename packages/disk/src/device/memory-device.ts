import { assertDeviceRange, assertWritable, type BlockDevice } from './block-device.js';

/** A Uint8Array-backed device (tests, small images, generated content). */
export class MemoryDevice implements BlockDevice {
  readonly name: string;
  readonly sectorSize: number;
  readonly readOnly: boolean;
  /** The backing bytes; writes go straight into it. */
  readonly bytes: Uint8Array;

  constructor(bytes: Uint8Array | number, opts: { name?: string; readOnly?: boolean; sectorSize?: number } = {}) {
    this.bytes = typeof bytes === 'number' ? new Uint8Array(bytes) : bytes;
    this.name = opts.name ?? 'memory';
    this.readOnly = opts.readOnly ?? false;
    this.sectorSize = opts.sectorSize ?? 512;
  }

  get size(): number {
    return this.bytes.length;
  }

  readAt(offset: number, dst: Uint8Array): void {
    assertDeviceRange(this, offset, dst.length, 'read');
    dst.set(this.bytes.subarray(offset, offset + dst.length));
  }

  writeAt(offset: number, src: Uint8Array): void {
    assertWritable(this);
    assertDeviceRange(this, offset, src.length, 'write');
    this.bytes.set(src, offset);
  }

  flush(): void {}
  close(): void {}
}
