import * as fs from 'node:fs';
import {
  FileDevice, IoError, CommonCode, Qcow2Device, SliceDevice, assertDeviceRange, ioError, type BlockDevice,
} from '@guestkit/disk';
import type { DeviceExtras } from './connection.js';

type AsyncRead = (offset: number, dst: Uint8Array) => Promise<void>;

/**
 * Give a device asynchronous reads through libuv's thread pool where its data lives in host
 * files, so copying data does not hold up the event loop and many reads run at once:
 * - a raw image (FileDevice): reads on a second, read-only descriptor of the same file (both
 *   share the page cache, so reads see every write made through the device);
 * - a read-only qcow2 image: the cluster mapping is looked up on the main thread (`map()`), data
 *   runs are read from the host file on the pool; zero runs are filled in; compressed clusters
 *   and backing-file ranges go through the device (or, for backing ranges, its own async path);
 * - a partition (SliceDevice) of such a device.
 * Devices that already have `readAtAsync` (IsoImage) keep it; others are returned unchanged.
 * Closing the result also closes the extra descriptors.
 */
export function withThreadPoolReads<T extends BlockDevice>(dev: T): T & DeviceExtras {
  const fds: number[] = [];
  const reader = asyncReader(dev, fds);
  if (!reader || (dev as DeviceExtras).readAtAsync) return dev;
  const close = dev.close.bind(dev);
  return Object.assign(dev, {
    readAtAsync: reader,
    close(): void {
      for (const fd of fds.splice(0)) fs.closeSync(fd);
      close();
    },
  });
}

function asyncReader(dev: BlockDevice, fds: number[]): AsyncRead | undefined {
  const own = (dev as DeviceExtras).readAtAsync;
  if (own) return own.bind(dev);
  if (dev instanceof FileDevice) return fileReader(dev, fds);
  if (dev instanceof SliceDevice) {
    const parent = asyncReader(dev.parent, fds);
    if (!parent) return undefined;
    return async (offset, dst) => {
      assertDeviceRange(dev, offset, dst.length, 'read');
      await parent(dev.start + offset, dst);
    };
  }
  if (dev instanceof Qcow2Device && dev.readOnly && dev.host instanceof FileDevice) {
    // Read-only only: a writable image may move a cluster's mapping while a read is in flight.
    const host = fileReader(dev.host, fds);
    const backing = dev.backing ? asyncReader(dev.backing, fds) : undefined;
    return async (offset, dst) => {
      assertDeviceRange(dev, offset, dst.length, 'read');
      const jobs: Promise<void>[] = [];
      for (const run of dev.map(offset, dst.length)) {
        const out = dst.subarray(run.offset - offset, run.offset - offset + run.length);
        if (run.kind === 'data' && run.host !== undefined) jobs.push(host(run.host, out));
        else if (run.kind === 'zero') out.fill(0);
        else if (run.kind === 'unallocated' && backing && dev.backing) {
          const inBacking = Math.max(0, Math.min(run.length, dev.backing.size - run.offset));
          if (inBacking > 0) jobs.push(backing(run.offset, out.subarray(0, inBacking)));
          out.fill(0, inBacking);
        } else dev.readAt(run.offset, out); // compressed clusters, and backing files we cannot read asynchronously
      }
      await Promise.all(jobs);
    };
  }
  return undefined;
}

function fileReader(dev: FileDevice, fds: number[]): AsyncRead {
  let fd: number;
  try {
    fd = fs.openSync(dev.path, 'r');
  } catch (e) {
    throw ioError(`cannot open ${dev.path}`, e);
  }
  fds.push(fd);
  const readOnce = (buf: Uint8Array, off: number, len: number, pos: number) =>
    new Promise<number>((resolve, reject) => {
      if (!fds.includes(fd)) {
        reject(new IoError('CLOSED', `${dev.name}: device is closed`));
        return;
      }
      fs.read(fd, buf, off, len, pos, (err, n) => (err ? reject(ioError(`${dev.name}: read at ${pos}`, err)) : resolve(n)));
    });
  return async (offset, dst) => {
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
  };
}
