/**
 * Sparse-aware copy of any device (a whole backing chain flattened) into a new raw or qcow2
 * image, like `qemu-img convert`. Only extents the source reports as data are read; within them,
 * all-zero 4 KiB blocks are skipped too, so the output is as sparse as qemu-img's (-S 4k).
 */
import { renameSync, rmSync } from 'node:fs';
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
export function convertImage(src: BlockDevice, dstPath: string, opts: ConvertOptions): ConvertResult {
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
      for (let pos = e.offset; pos < end; ) {
        const chunk = buf.subarray(0, Math.min(buf.length, end - pos));
        src.readAt(pos, chunk);
        res.bytesRead += chunk.length;
        writeNonZeroRuns(dst, pos, chunk, ZERO_BLOCK, res);
        pos += chunk.length;
        opts.onProgress?.(pos, total);
      }
    }
    dst.flush();
    dst.close();
    try {
      renameSync(tmp, dstPath);
    } catch (e) {
      throw ioError(`cannot rename ${tmp} to ${dstPath}`, e);
    }
  } catch (e) {
    try {
      dst.close();
    } finally {
      rmSync(tmp, { force: true });
    }
    throw e;
  }
  return res;
}

/** Write the parts of `chunk` (at device offset `at`) that are not all-zero `unit` blocks, one write per run. */
function writeNonZeroRuns(dst: BlockDevice, at: number, chunk: Uint8Array, unit: number, res: ConvertResult): void {
  if (!isZero(chunk.subarray(0, Math.min(unit, chunk.length))) && !isZero(chunk.subarray(Math.max(0, chunk.length - unit)))) {
    // Fast path for dense data: check the interior only if the ends are data.
    let allData = true;
    for (let o = unit; o + unit <= chunk.length - unit; o += unit) {
      const b = chunk.subarray(o, o + unit);
      if (b[0] === 0 && b[unit - 1] === 0 && isZero(b)) {
        allData = false;
        break;
      }
    }
    if (allData) {
      dst.writeAt(at, chunk);
      res.bytesWritten += chunk.length;
      return;
    }
  }
  let runStart = -1;
  for (let o = 0; o <= chunk.length; o += unit) {
    const zero = o >= chunk.length || isZero(chunk.subarray(o, Math.min(chunk.length, o + unit)));
    if (!zero && runStart < 0) runStart = o;
    if (zero && runStart >= 0) {
      const stop = Math.min(o, chunk.length);
      dst.writeAt(at + runStart, chunk.subarray(runStart, stop));
      res.bytesWritten += stop - runStart;
      runStart = -1;
    }
  }
}
