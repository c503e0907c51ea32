/**
 * Sparse-aware copy of any device (a whole backing chain flattened) into a new raw or qcow2
 * image, like `qemu-img convert`. Only extents the source reports as data are read; within them,
 * all-zero 4 KiB blocks are skipped too, so the output is as sparse as qemu-img's (-S 4k).
 */
import { renameSync, rmSync, write as fsWrite } from 'node:fs';
import { FileDevice } from '../device/file-device.js';
import { allData, type BlockDevice } from '../device/block-device.js';
import { UsageError, ioError, nullLogger, type Logger } from '../binary/index.js';
import { DiskCode } from '../errors.js';
import { createQcow2 } from './qcow2/create.js';

export interface ConvertOptions {
  format: 'raw' | 'qcow2';
  /** qcow2 output: compress every cluster (zlib) where it helps. */
  compress?: boolean;
  /** qcow2 output cluster size (default 64 KiB). */
  clusterSize?: number;
  /**
   * fsync the destination before renaming it into place (default false: like qemu-img convert,
   * the data is left to the page cache; a crash may then lose the new file, never the source).
   */
  sync?: boolean;
  /** Called after each chunk with bytes done and total (of the virtual size). */
  onProgress?: (done: number, total: number) => void;
  logger?: Logger;
}

export interface ConvertResult {
  /** Bytes read from the source (data extents). */
  bytesRead: number;
  /** Bytes written as data to the destination. */
  bytesWritten: number;
}

/** Bytes per source read (large: one syscall per 8 MiB of contiguous data). */
const CHUNK = 8 * 1024 * 1024;
/** Zero-detection granularity (qemu-img convert's default -S 4k). */
const ZERO_BLOCK = 4096;
const ZEROS = new Uint8Array(CHUNK);

function isZero(b: Uint8Array): boolean {
  // memcmp against a zero buffer; quick exit on the first and last byte for data blocks.
  if (b[0] !== 0 || b[b.length - 1] !== 0) return false;
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).equals(Buffer.from(ZEROS.buffer, 0, b.byteLength));
}

/**
 * Copy `src` into a new image at `dstPath`, replacing it only when the copy is complete
 * (written to a temporary file in the same directory, then renamed).
 * @throws UsageError for bad options, IoError, and whatever reading the source throws.
 */
export async function convertImage(src: BlockDevice, dstPath: string, opts: ConvertOptions): Promise<ConvertResult> {
  const log = opts.logger ?? nullLogger;
  if (opts.format !== 'raw' && opts.format !== 'qcow2') {
    throw new UsageError(DiskCode.DeviceOption, `unknown output format ${JSON.stringify(opts.format)}; expected raw or qcow2`, { format: opts.format });
  }
  if (opts.compress && opts.format !== 'qcow2') {
    throw new UsageError(DiskCode.DeviceOption, 'compression (-c) needs qcow2 output', {});
  }
  const total = src.size;
  const res: ConvertResult = { bytesRead: 0, bytesWritten: 0 };
  // Write a temporary file beside the destination and rename it at the end: an interrupted or
  // failed convert leaves any existing destination as it was.
  const tmp = `${dstPath}.guestkit-${process.pid}.tmp`;
  const dst: BlockDevice & { writeCompressedCluster?: (ci: number, d: Uint8Array) => void; clusterSize?: number } =
    opts.format === 'raw' ? FileDevice.create(tmp, total) : createQcow2(tmp, { size: total, ...(opts.clusterSize ? { clusterSize: opts.clusterSize } : {}) });
  if (dst.size !== total) {
    dst.close();
    rmSync(tmp, { force: true });
    throw new UsageError(DiskCode.BadSize, `${src.name}: size ${total} is not a multiple of 512 bytes; qcow2 output would change it`, { size: total });
  }
  log.debug({ src: src.name, dst: dstPath, format: opts.format, size: total }, 'convert');
  // Raw output: reads stay on this thread while the previous chunks are written by the libuv
  // thread pool (fs.write), so reading and writing overlap as qemu-img's coroutines do.
  const rawOut = opts.format === 'raw' && dst instanceof FileDevice ? new PipelinedWriter(dst) : undefined;
  try {
    const cs = dst.clusterSize ?? ZERO_BLOCK;
    const buf = new Uint8Array(Math.max(Math.min(CHUNK, total), Math.min(cs, total), 1));
    const extents = src.extents ? src.extents(0, total) : allData(0, total);

    let lastCluster = -1;
    for (const e of extents) {
      if (e.kind !== 'data') {
        opts.onProgress?.(e.offset + e.length, total);
        continue;
      }
      const end = e.offset + e.length;
      if (opts.compress) {
        // Whole clusters, each compressed on its own (a cluster shared by two extents once).
        for (let ci = Math.max(Math.floor(e.offset / cs), lastCluster + 1); ci * cs < end; ci++) {
          const piece = buf.subarray(0, Math.min(cs, total - ci * cs));
          src.readAt(ci * cs, piece);
          res.bytesRead += piece.length;
          lastCluster = ci;
          if (isZero(piece)) continue;
          dst.writeCompressedCluster!(ci, piece);
          res.bytesWritten += piece.length;
          opts.onProgress?.(Math.min(total, (ci + 1) * cs), total);
        }
        continue;
      }
      if (rawOut) {
        await rawOut.copy(src, e.offset, end, res, opts.onProgress, total);
        continue;
      }
      for (let pos = e.offset; pos < end; ) {
        const chunk = buf.subarray(0, Math.min(buf.length, end - pos));
        src.readAt(pos, chunk);
        res.bytesRead += chunk.length;
        for (const [a, b] of nonZeroRuns(chunk, ZERO_BLOCK)) {
          dst.writeAt(pos + a, chunk.subarray(a, b));
          res.bytesWritten += b - a;
        }
        pos += chunk.length;
        opts.onProgress?.(pos, total);
      }
    }
    await rawOut?.drain();
    if (opts.sync) dst.flush();
    dst.close();
    try {
      renameSync(tmp, dstPath);
    } catch (e) {
      throw ioError(`cannot rename ${tmp} to ${dstPath}`, e);
    }
  } catch (e) {
    await rawOut?.settle();
    try {
      dst.close();
    } finally {
      rmSync(tmp, { force: true });
    }
    throw e;
  }
  return res;
}

/** [start, end) ranges of `chunk` that are not made of all-zero `unit` blocks, merged. */
export function nonZeroRuns(chunk: Uint8Array, unit: number): [number, number][] {
  const runs: [number, number][] = [];
  let runStart = -1;
  const n = chunk.length;
  for (let o = 0; o < n; o += unit) {
    const e = Math.min(n, o + unit);
    // Data blocks almost always have a non-zero first or last byte: decided without a memcmp
    // (and without creating a view) in that case.
    const zero = chunk[o] === 0 && chunk[e - 1] === 0 && isZero(chunk.subarray(o, e));
    if (!zero) {
      if (runStart < 0) runStart = o;
    } else if (runStart >= 0) {
      runs.push([runStart, o]);
      runStart = -1;
    }
  }
  if (runStart >= 0) runs.push([runStart, n]);
  return runs;
}

const PIPE_CHUNK = 4 * 1024 * 1024;
const PIPE_DEPTH = 4;

/** Reads chunks synchronously and writes them with asynchronous fs.write, a few chunks in flight. */
class PipelinedWriter {
  private readonly free: Uint8Array[] = [];
  private readonly waiters: (() => void)[] = [];
  private readonly inflight = new Set<Promise<void>>();
  private failure: unknown;

  constructor(private readonly dst: FileDevice) {
    for (let i = 0; i < PIPE_DEPTH; i++) this.free.push(new Uint8Array(PIPE_CHUNK));
  }

  private async acquire(): Promise<Uint8Array> {
    while (this.free.length === 0) await new Promise<void>((r) => this.waiters.push(r));
    return this.free.pop()!;
  }

  private release(b: Uint8Array): void {
    this.free.push(b);
    this.waiters.shift()?.();
  }

  async copy(src: BlockDevice, from: number, to: number, res: ConvertResult, onProgress: ConvertOptions['onProgress'], total: number): Promise<void> {
    for (let pos = from; pos < to; ) {
      const buf = await this.acquire();
      if (this.failure) {
        this.release(buf);
        break;
      }
      const chunk = buf.subarray(0, Math.min(buf.length, to - pos));
      try {
        src.readAt(pos, chunk);
      } catch (e) {
        this.release(buf);
        throw e;
      }
      res.bytesRead += chunk.length;
      const at = pos;
      const writes = nonZeroRuns(chunk, ZERO_BLOCK).map(([a, b]) => {
        res.bytesWritten += b - a;
        return writeFully(this.dst.descriptor(), chunk.subarray(a, b), at + a);
      });
      const p: Promise<void> = Promise.all(writes).then(
        () => this.release(buf),
        (err: unknown) => {
          this.failure ??= ioError(`${this.dst.name}: write`, err);
          this.release(buf);
        },
      );
      this.inflight.add(p);
      void p.finally(() => this.inflight.delete(p));
      pos += chunk.length;
      onProgress?.(pos, total);
    }
    if (this.failure) throw this.failure;
  }

  /** Wait for every write in flight, ignoring failures (before closing after an error). */
  async settle(): Promise<void> {
    await Promise.allSettled([...this.inflight]);
  }

  /** Wait for every write in flight; rethrow the first failure. */
  async drain(): Promise<void> {
    await Promise.all([...this.inflight]);
    if (this.failure) throw this.failure;
  }
}

function writeFully(fd: number, data: Uint8Array, position: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const step = (done: number): void => {
      if (done >= data.length) return resolve();
      fsWrite(fd, data, done, data.length - done, position + done, (err, n) => {
        if (err) return reject(err);
        if (n === 0) return reject(new Error('short write'));
        step(done + n);
      });
    };
    step(0);
  });
}
