import { OutOfRangeError, CommonCode } from '../binary/errors.js';
import { assertDeviceRange, assertWritable, type BlockDevice, type Extent } from './block-device.js';

/** A bounds-checked window `[start, start+length)` onto a parent device (a partition). */
export class SliceDevice implements BlockDevice {
  readonly name: string;
  readonly size: number;
  readonly sectorSize: number;
  readonly readOnly: boolean;

  constructor(
    readonly parent: BlockDevice,
    readonly start: number,
    length: number,
    opts: { name?: string; readOnly?: boolean } = {},
  ) {
    if (!(Number.isSafeInteger(start) && Number.isSafeInteger(length) && start >= 0 && length >= 0 && start <= parent.size - length)) {
      throw new OutOfRangeError(CommonCode.DeviceRange, `${parent.name}: slice [${start}, +${length}) is outside the device (size ${parent.size})`, {
        device: parent.name, start, length, size: parent.size,
      });
    }
    this.size = length;
    this.name = opts.name ?? `${parent.name} › @${start}`;
    this.readOnly = parent.readOnly || (opts.readOnly ?? false);
    this.sectorSize = parent.sectorSize;
  }

  readAt(offset: number, dst: Uint8Array): void {
    assertDeviceRange(this, offset, dst.length, 'read');
    this.parent.readAt(this.start + offset, dst);
  }

  writeAt(offset: number, src: Uint8Array): void {
    assertWritable(this);
    assertDeviceRange(this, offset, src.length, 'write');
    this.parent.writeAt(this.start + offset, src);
  }

  flush(): void {
    this.parent.flush();
  }

  /** Closing a slice does not close its parent (the parent owns the file). */
  close(): void {}

  *extents(offset: number, length: number): Iterable<Extent> {
    assertDeviceRange(this, offset, length, 'extents');
    if (!this.parent.extents) {
      if (length > 0) yield { offset, length, kind: 'data' };
      return;
    }
    for (const e of this.parent.extents(this.start + offset, length)) {
      yield { offset: e.offset - this.start, length: e.length, kind: e.kind };
    }
  }
}
