import { assertDeviceRange, assertWritable, type BlockDevice } from './block-device.js';

/**
 * A Uint8Array-backed device (tests, small images, generated content). It can also stand in for
 * a host file under a container format: `writeGrow` and `truncate` change its size the way
 * FileDevice's do (the buffer is reallocated with spare capacity as it grows).
 */
export class MemoryDevice implements BlockDevice {
  readonly name: string;
  readonly sectorSize: number;
  readonly readOnly: boolean;
  readonly format = 'raw' as const;
  private buf: Uint8Array;
  private _size: number;

  constructor(bytes: Uint8Array | number, opts: { name?: string; readOnly?: boolean; sectorSize?: number } = {}) {
    this.buf = typeof bytes === 'number' ? new Uint8Array(bytes) : bytes;
    this._size = this.buf.length;
    this.name = opts.name ?? 'memory';
    this.readOnly = opts.readOnly ?? false;
    this.sectorSize = opts.sectorSize ?? 512;
  }

  /** The device's bytes (a view of the current contents; writes go straight into it). */
  get bytes(): Uint8Array {
    return this.buf.length === this._size ? this.buf : this.buf.subarray(0, this._size);
  }

  get size(): number {
    return this._size;
  }

  readAt(offset: number, dst: Uint8Array): void {
    assertDeviceRange(this, offset, dst.length, 'read');
    dst.set(this.buf.subarray(offset, offset + dst.length));
  }

  writeAt(offset: number, src: Uint8Array): void {
    assertWritable(this);
    assertDeviceRange(this, offset, src.length, 'write');
    this.buf.set(src, offset);
  }

  /** Write that may extend the device (container formats grow their host file). */
  writeGrow(offset: number, src: Uint8Array): void {
    assertWritable(this);
    const end = offset + src.length;
    if (end > this._size) this.truncate(end);
    this.buf.set(src, offset);
  }

  /** Set the size; new bytes read as zeros. */
  truncate(size: number): void {
    assertWritable(this);
    if (size > this.buf.length) {
      const next = new Uint8Array(Math.max(size, Math.min(this.buf.length * 2, size + (64 << 20))));
      next.set(this.buf.subarray(0, this._size));
      this.buf = next;
    } else if (size < this._size) {
      this.buf.fill(0, size, this._size);
    }
    this._size = size;
  }

  flush(): void {}
  close(): void {}
}
