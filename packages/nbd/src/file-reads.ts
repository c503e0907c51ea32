import * as fs from 'node:fs';
import { IoError, CommonCode, assertDeviceRange, ioError, type BlockDevice } from '@guestkit/disk';
import type { DeviceExtras } from './connection.js';

/**
 * Give a device backed by one host file (a raw image) asynchronous reads through libuv's thread
 * pool, on a second read-only descriptor of the same file. Writes still go through the device;
 * both descriptors share the page cache, so reads see every write. Closing the result closes both.
 */
export function withThreadPoolReads<T extends BlockDevice>(dev: T, path: string): T & DeviceExtras {
  let fd: number | undefined;
  try {
    fd = fs.openSync(path, 'r');
  } catch (e) {
    throw ioError(`cannot open ${path}`, e);
  }
  const readOnce = (buf: Uint8Array, off: number, len: number, pos: number) =>
    new Promise<number>((resolve, reject) => {
      if (fd === undefined) {
        reject(new IoError('CLOSED', `${dev.name}: device is closed`));
        return;
      }
      fs.read(fd, buf, off, len, pos, (err, n) => (err ? reject(ioError(`${dev.name}: read at ${pos}`, err)) : resolve(n)));
    });
  const extras: DeviceExtras = {
    async readAtAsync(offset: number, dst: Uint8Array): Promise<void> {
      assertDeviceRange(dev, offset, dst.length, 'read');
      let done = 0;
      while (done < dst.length) {
        const n = await readOnce(dst, done, dst.length - done, offset + done);
        if (n === 0) {
          throw new IoError(CommonCode.ShortIo, `${dev.name}: unexpected end of file at ${offset + done} (size ${dev.size})`, {
            device: dev.name, offset: offset + done,
          });
        }
        done += n;
      }
    },
  };
  const close = dev.close.bind(dev);
  return Object.assign(dev, extras, {
    close(): void {
      if (fd !== undefined) {
        fs.closeSync(fd);
        fd = undefined;
      }
      close();
    },
  });
}
