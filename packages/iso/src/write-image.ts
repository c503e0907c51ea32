import * as fs from 'node:fs';
import * as path from 'node:path';
import { GuestError, ioError, type BlockDevice } from '@guestkit/disk';

export interface WriteImageOptions {
  /** Called after each chunk with bytes done so far and the total. */
  onProgress?: (done: number, total: number) => void;
  /** Bytes per read/write (default 4 MiB). */
  chunkBytes?: number;
  /** Leave all-zero runs as holes in the output (default true). */
  sparse?: boolean;
  /** fsync the output before renaming it into place (default false, like xorriso and cp). */
  sync?: boolean;
}

/**
 * Copy a device to a new host file, atomically: the bytes go to a temporary file next to `out`
 * that is renamed over `out` only when complete, so a failure leaves any previous `out` as it was.
 * Zero extents reported by the device (and all-zero chunks) become holes when `sparse` is on.
 */
export function writeImageFile(dev: BlockDevice, out: string, opts: WriteImageOptions = {}): { bytes: number; dataBytes: number } {
  const chunk = opts.chunkBytes ?? 4 * 1024 * 1024;
  const sparse = opts.sparse ?? true;
  const tmp = tempPathFor(out);
  let fd: number;
  try {
    fd = fs.openSync(tmp, 'w', 0o644);
  } catch (e) {
    throw ioError(`cannot create ${tmp}`, e);
  }
  let ok = false;
  let dataBytes = 0;
  try {
    fs.ftruncateSync(fd, dev.size);
    const buf = Buffer.allocUnsafe(chunk);
    const zero = Buffer.alloc(chunk);
    const runs = dev.extents ? dev.extents(0, dev.size) : [{ offset: 0, length: dev.size, kind: 'data' as const }];
    let done = 0;
    for (const r of runs) {
      if (sparse && r.kind !== 'data') {
        done += r.length;
        opts.onProgress?.(done, dev.size);
        continue;
      }
      let pos = r.offset;
      const end = r.offset + r.length;
      while (pos < end) {
        const n = Math.min(chunk, end - pos);
        const view = buf.subarray(0, n);
        dev.readAt(pos, view);
        if (!(sparse && view.equals(zero.subarray(0, n)))) {
          let w = 0;
          while (w < n) w += fs.writeSync(fd, view, w, n - w, pos + w);
          dataBytes += n;
        }
        pos += n;
        done += n;
        opts.onProgress?.(done, dev.size);
      }
    }
    if (opts.sync) fs.fsyncSync(fd);
    fs.closeSync(fd);
    fs.renameSync(tmp, out);
    ok = true;
  } catch (e) {
    if (!ok) {
      try {
        fs.closeSync(fd);
      } catch {
        // already closed
      }
      try {
        fs.unlinkSync(tmp);
      } catch {
        // nothing to clean up
      }
    }
    if (e instanceof GuestError) throw e;
    throw ioError(`writing ${out}`, e);
  }
  return { bytes: dev.size, dataBytes };
}

/** Temporary path `writeImageFile` uses for `out` (callers exclude it from a tree scan). */
export function tempPathFor(out: string): string {
  return path.join(path.dirname(path.resolve(out)), `.${path.basename(out)}.tmp-${process.pid}`);
}
