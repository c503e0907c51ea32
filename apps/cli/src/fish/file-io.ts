import * as fs from 'node:fs';
import { CommonCode, IoError, ioError, type ByteSource, type FileSystem } from '@guestkit/disk';
import { Progress } from '../progress.js';

/**
 * Copies between the guest and the host go in blocks of this size: 1 MiB stays in the CPU cache
 * between the read and the write (a 50 MiB FAT upload took ~12 ms less here than with 4 MiB).
 */
export const CHUNK = 1 << 20;

/** Stream a guest file through `sink` in large blocks. */
export function readGuestFile(gfs: FileSystem, path: string, sink: (chunk: Uint8Array) => void, progress?: Progress): number {
  const h = gfs.open(path);
  try {
    const size = h.size;
    const buf = new Uint8Array(Math.min(CHUNK, Math.max(size, 1)));
    let off = 0;
    while (off < size) {
      const n = Math.min(buf.length, size - off);
      const view = buf.subarray(0, n);
      h.readAt(off, view);
      sink(view);
      off += n;
      progress?.update(off);
    }
    return size;
  } finally {
    h.close();
    progress?.done();
  }
}

/** Copy a guest file to a host file (or stdout for "-"). */
export function downloadTo(gfs: FileSystem, path: string, local: string, showProgress: boolean | (() => boolean), writeStdout: (b: Uint8Array) => void): void {
  if (local === '-') {
    readGuestFile(gfs, path, (c) => writeStdout(c.slice()));
    return;
  }
  let fd: number;
  try {
    fd = fs.openSync(local, 'w');
  } catch (e) {
    throw ioError(`download: cannot create ${local}`, e);
  }
  try {
    const size = gfs.stat(path).size;
    readGuestFile(gfs, path, (c) => fs.writeSync(fd, c), new Progress(`download ${path}`, size, showProgress));
  } finally {
    fs.closeSync(fd);
  }
}

/** Copy a host file (or stdin for "-") into the guest, creating or replacing it. */
export function uploadFrom(gfs: FileSystem, local: string, path: string, showProgress: boolean | (() => boolean)): void {
  if (local === '-') {
    gfs.writeFile(path, new Uint8Array(fs.readFileSync(0)));
    return;
  }
  let fd: number;
  let size: number;
  try {
    fd = fs.openSync(local, 'r');
    size = fs.fstatSync(fd).size;
  } catch (e) {
    throw ioError(`upload: cannot read ${local}`, e);
  }
  const progress = new Progress(`upload ${path}`, size, showProgress);
  try {
    const src = hostFileSource(fd, size, local, (end) => progress.update(end));
    if (gfs.writeFileFrom) {
      // one filesystem operation (one NTFS transaction) instead of one per block
      gfs.writeFileFrom(path, src);
      return;
    }
    const h = gfs.open(path, { create: true, truncate: true });
    try {
      if (size > 0) h.truncate(size);
      const buf = new Uint8Array(Math.min(CHUNK, Math.max(size, 1)));
      for (let off = 0; off < size; off += buf.length) {
        const view = buf.subarray(0, Math.min(buf.length, size - off));
        src.read(off, view);
        h.writeAt(off, view);
      }
    } finally {
      h.close();
    }
  } finally {
    fs.closeSync(fd);
    progress.done();
  }
}

/** A host file read by position; a file that shrinks under us is an I/O error, not a short copy. */
function hostFileSource(fd: number, size: number, name: string, onRead: (end: number) => void): ByteSource {
  return {
    size,
    read(offset: number, dst: Uint8Array): void {
      let done = 0;
      while (done < dst.length) {
        let n: number;
        try {
          n = fs.readSync(fd, dst, done, dst.length - done, offset + done);
        } catch (e) {
          throw ioError(`upload: cannot read ${name}`, e);
        }
        if (n <= 0) throw new IoError(CommonCode.ShortIo, `upload: ${name} ended at ${offset + done} bytes, ${size} expected (did it change during the copy?)`);
        done += n;
      }
      onRead(offset + dst.length);
    },
  };
}
