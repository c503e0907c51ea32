import * as fs from 'node:fs';
import { IoError, CommonCode, ioError } from '../binary/errors.js';
import { assertDeviceRange, assertWritable, type BlockDevice } from './block-device.js';
import { EarlyWriteback } from './early-writeback.js';

/**
 * A host file or block device through node:fs positional synchronous I/O. Opens read-only unless
 * `write: true`. Short reads loop; a read that returns 0 bytes inside the file throws SHORT_IO.
 */
export class FileDevice implements BlockDevice {
  readonly name: string;
  readonly readOnly: boolean;
  readonly sectorSize = 512;
  /** As an image, a plain file is a raw disk. */
  readonly format = 'raw' as const;
  private fd: number | undefined;
  private _size: number;
  /** Written (or resized) since the last fdatasync: flush() has work to do. */
  private unsynced = false;
  /** The descriptor was handed out (descriptor()): writes may bypass this object. */
  private lent = false;
  private readonly writeback: EarlyWriteback | undefined;

  private constructor(readonly path: string, fd: number, size: number, readOnly: boolean, name: string) {
    this.fd = fd;
    this._size = size;
    this.readOnly = readOnly;
    this.name = name;
    if (!readOnly) this.writeback = new EarlyWriteback(path, name);
  }

  /** Open `path`; `write` opens it read-write. Throws IoError (code IO_ENOENT, ...) on failure. */
  static open(path: string, opts: { write?: boolean; name?: string } = {}): FileDevice {
    let fd: number;
    try {
      fd = fs.openSync(path, opts.write ? 'r+' : 'r');
    } catch (e) {
      throw ioError(`cannot open ${path}`, e);
    }
    let size: number;
    try {
      const st = fs.fstatSync(fd);
      size = st.isBlockDevice() ? blockDeviceSize(fd) : st.size;
      if (st.isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
    } catch (e) {
      fs.closeSync(fd);
      throw ioError(`cannot open ${path}`, e);
    }
    return new FileDevice(path, fd, size, !opts.write, opts.name ?? path.split('/').pop() ?? path);
  }

  /** Create (or truncate) a file of `size` bytes (sparse) and open it read-write. */
  static create(path: string, size: number, opts: { name?: string } = {}): FileDevice {
    let fd: number;
    try {
      fd = fs.openSync(path, 'w+');
      fs.ftruncateSync(fd, size);
    } catch (e) {
      throw ioError(`cannot create ${path}`, e);
    }
    return new FileDevice(path, fd, size, false, opts.name ?? path.split('/').pop() ?? path);
  }

  get size(): number {
    return this._size;
  }

  /** The open file descriptor, for asynchronous I/O by copy helpers (throws when closed). */
  descriptor(): number {
    // whoever holds the descriptor may write through it at any time: every flush syncs from now on
    this.lent = true;
    return this.handle();
  }

  private handle(): number {
    if (this.fd === undefined) throw new IoError('CLOSED', `${this.name}: device is closed`);
    return this.fd;
  }

  readAt(offset: number, dst: Uint8Array): void {
    assertDeviceRange(this, offset, dst.length, 'read');
    const fd = this.handle();
    let done = 0;
    while (done < dst.length) {
      let n: number;
      try {
        n = fs.readSync(fd, dst, done, dst.length - done, offset + done);
      } catch (e) {
        throw ioError(`${this.name}: read at ${offset + done}`, e);
      }
      if (n === 0) {
        throw new IoError(CommonCode.ShortIo, `${this.name}: unexpected end of file at ${offset + done} (size ${this._size})`, {
          device: this.name, offset: offset + done,
        });
      }
      done += n;
    }
  }

  writeAt(offset: number, src: Uint8Array): void {
    assertWritable(this);
    assertDeviceRange(this, offset, src.length, 'write');
    this.writeRaw(offset, src);
  }

  /** Write that may extend the file (container formats such as qcow2 grow their file). */
  writeGrow(offset: number, src: Uint8Array): void {
    assertWritable(this);
    this.writeRaw(offset, src);
    if (offset + src.length > this._size) this._size = offset + src.length;
  }

  /** Set the file length (container formats). */
  truncate(size: number): void {
    assertWritable(this);
    try {
      fs.ftruncateSync(this.handle(), size);
    } catch (e) {
      throw ioError(`${this.name}: truncate`, e);
    }
    this.unsynced = true;
    this._size = size;
  }

  private writeRaw(offset: number, src: Uint8Array): void {
    const fd = this.handle();
    this.unsynced = true;
    let done = 0;
    while (done < src.length) {
      let n: number;
      try {
        n = fs.writeSync(fd, src, done, src.length - done, offset + done);
      } catch (e) {
        throw ioError(`${this.name}: write at ${offset + done}`, e);
      }
      if (n === 0) throw new IoError(CommonCode.ShortIo, `${this.name}: short write at ${offset + done}`);
      done += n;
    }
    this.writeback?.wrote(src.length);
  }

  /**
   * Make written data durable: fdatasync (the data and the file size; not the timestamps), as qemu
   * does on close. Layers above flush in turn (filesystem, partition, image), so a flush with
   * nothing written since the last one is skipped.
   */
  flush(): void {
    if (this.readOnly || this.fd === undefined || !(this.unsynced || this.lent)) return;
    try {
      fs.fdatasyncSync(this.fd);
    } catch (e) {
      throw ioError(`${this.name}: fdatasync`, e);
    }
    this.writeback?.check();
    this.unsynced = false;
  }

  close(): void {
    if (this.fd !== undefined) {
      const fd = this.fd;
      this.fd = undefined;
      fs.closeSync(fd);
    }
  }
}

/** Size of a block device: seek to the end (fstat reports 0 for block devices). */
function blockDeviceSize(fd: number): number {
  // node:fs has no lseek; read the size from /sys via the device numbers.
  const st = fs.fstatSync(fd);
  const major = Math.floor(st.rdev / 256);
  const minor = st.rdev % 256;
  try {
    const sectors = Number(fs.readFileSync(`/sys/dev/block/${major}:${minor}/size`, 'utf8').trim());
    return sectors * 512;
  } catch {
    return 0;
  }
}
