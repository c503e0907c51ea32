import * as fs from 'node:fs';
import * as path from 'node:path';
import { GuestError, ioError, type BlockDevice } from '@guestkit/disk';

export interface WriteImageOptions {
  /** Called as chunks complete with bytes done so far and the total. */
  onProgress?: (done: number, total: number) => void;
  /** Bytes per read/write (default 8 MiB). */
  chunkBytes?: number;
  /** Chunks being read or written at once (default 4): reading one overlaps writing another. */
  depth?: number;
  /** Leave all-zero runs as holes in the output (default true). */
  sparse?: boolean;
  /** fsync the output before renaming it into place (default false, like xorriso and cp). */
  sync?: boolean;
}

/** A device that can read off the main thread (IsoImage has this). */
interface AsyncReadable {
  readAtAsync?(offset: number, dst: Uint8Array): Promise<void>;
}

/** Temporary path `writeImageFile` uses for `out` (callers exclude it from a tree scan). */
export function tempPathFor(out: string): string {
  return path.join(path.dirname(path.resolve(out)), `.${path.basename(out)}.tmp-${process.pid}`);
}

function pwrite(fd: number, b: Uint8Array, pos: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let done = 0;
    const step = () =>
      fs.write(fd, b, done, b.length - done, pos + done, (err, n) => {
        if (err) return reject(err);
        done += n;
        if (done < b.length) step();
        else resolve();
      });
    step();
  });
}

/**
 * Copy a device to a new host file, atomically: the bytes go to a temporary file next to `out`
 * that is renamed over `out` only when complete, so a failure leaves any previous `out` as it was.
 * Reads and writes are pipelined `depth` chunks deep on libuv's thread pool. Zero extents
 * reported by the device (and all-zero chunks) become holes when `sparse` is on.
 */
export async function writeImageFile(
  dev: BlockDevice & AsyncReadable,
  out: string,
  opts: WriteImageOptions = {},
): Promise<{ bytes: number; dataBytes: number }> {
  const chunk = opts.chunkBytes ?? 8 * 1024 * 1024;
  const depth = Math.max(1, opts.depth ?? 4);
  const sparse = opts.sparse ?? true;
  const tmp = tempPathFor(out);
  let fd: number;
  try {
    fd = fs.openSync(tmp, 'w', 0o644);
  } catch (e) {
    throw ioError(`cannot create ${tmp}`, e);
  }
  let dataBytes = 0;
  try {
    fs.ftruncateSync(fd, dev.size);
    const zero = Buffer.alloc(chunk);
    const free: Buffer[] = Array.from({ length: depth }, () => Buffer.allocUnsafe(chunk));
    let done = 0;
    const progress = (n: number) => {
      done += n;
      opts.onProgress?.(done, dev.size);
    };
    const running = new Set<Promise<void>>();
    let failure: unknown;
    const runs = dev.extents ? dev.extents(0, dev.size) : [{ offset: 0, length: dev.size, kind: 'data' as const }];
    for (const r of runs) {
      if (sparse && r.kind !== 'data') {
        progress(r.length);
        continue;
      }
      for (let pos = r.offset; pos < r.offset + r.length; pos += chunk) {
        while (free.length === 0) await Promise.race(running);
        if (failure) throw failure;
        const n = Math.min(chunk, r.offset + r.length - pos);
        const buf = free.pop()!;
        const view = buf.subarray(0, n);
        const at = pos;
        const job = (async () => {
          if (dev.readAtAsync) await dev.readAtAsync(at, view);
          else dev.readAt(at, view);
          if (!(sparse && view.equals(zero.subarray(0, n)))) {
            await pwrite(fd, view, at);
            dataBytes += n;
          }
          progress(n);
        })()
          .catch((e: unknown) => {
            failure ??= e;
          })
          .finally(() => {
            free.push(buf);
            running.delete(job);
          });
        running.add(job);
      }
    }
    await Promise.all(running);
    if (failure) throw failure;
    if (opts.sync) fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = -1;
    fs.renameSync(tmp, out);
  } catch (e) {
    if (fd >= 0) {
      try {
        fs.closeSync(fd);
      } catch {
        // already closed
      }
    }
    try {
      fs.unlinkSync(tmp);
    } catch {
      // nothing to clean up
    }
    if (e instanceof GuestError) throw e;
    throw ioError(`writing ${out}`, e);
  }
  return { bytes: dev.size, dataBytes };
}
