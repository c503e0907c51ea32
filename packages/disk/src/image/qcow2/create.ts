/**
 * Create a new qcow2 image, laid out as qemu-img lays it out: header (+ extensions and backing
 * name) in cluster 0, the refcount table in cluster 1, the first refcount block in cluster 2,
 * the L1 table from cluster 3. Every one of those clusters has refcount 1; nothing else exists.
 */
import { existsSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { ByteWriter, UsageError, nullLogger, type Logger } from '../../binary/index.js';
import { FileDevice } from '../../device/file-device.js';
import { DiskCode } from '../../errors.js';
import type { HostFile, ImageDevice } from '../host.js';
import { EXT, HDR, LIMITS, QCOW2_MAGIC, l1EntriesFor } from './layout.js';
import { Qcow2Device } from './qcow2-device.js';
import { openImage } from '../open-image.js';
import { putOffset } from './refcounts.js';

export interface CreateQcow2Options {
  /** Virtual size in bytes (default: the backing file's size; required without a backing file). */
  size?: number;
  /** Cluster size, a power of two from 512 B to 2 MiB (default 64 KiB). */
  clusterSize?: number;
  /** 3 (compat 1.1, default) or 2 (compat 0.10). */
  version?: 2 | 3;
  /** Refcount width in bits, a power of two 1..64 (default 16; version 2 only allows 16). */
  refcountBits?: number;
  /** Backing file name as stored in the header (relative names are relative to the new image). */
  backingFile?: string;
  /** Backing format to record (default: probed by opening the backing file). */
  backingFormat?: 'raw' | 'qcow2';
  logger?: Logger;
}

function bad(msg: string, details: Record<string, unknown> = {}): never {
  throw new UsageError(DiskCode.BadSize, msg, details);
}

/** The bytes of a new empty qcow2 image (everything before the first data cluster). */
export function qcow2Skeleton(opts: Required<Pick<CreateQcow2Options, 'size' | 'clusterSize' | 'version' | 'refcountBits'>> & { backingFile?: string; backingFormat?: string }): Uint8Array {
  const { size, clusterSize: cs, version, refcountBits } = opts;
  if (!Number.isSafeInteger(size) || size < 0) bad(`virtual size ${size} must be a non-negative integer`);
  if (!Number.isInteger(cs) || cs < 512 || cs > 2 * 1024 * 1024 || (cs & (cs - 1)) !== 0) bad(`cluster size ${cs} must be a power of two from 512 to 2 MiB`);
  const order = Math.log2(refcountBits);
  if (!Number.isInteger(order) || order < 0 || order > 6) bad(`refcount bits ${refcountBits} must be 1, 2, 4, 8, 16, 32 or 64`);
  if (version !== 2 && version !== 3) bad(`qcow2 version ${version} must be 2 or 3`);
  if (version === 2 && refcountBits !== 16) bad('qcow2 version 2 images have 16-bit refcounts');
  const clusterBits = Math.log2(cs);
  const l1Size = l1EntriesFor(size, clusterBits);
  if (l1Size * 8 > LIMITS.MAX_L1_BYTES) bad(`virtual size ${size} needs an L1 table above 32 MiB with ${cs}-byte clusters; use larger clusters`);
  const l1Clusters = Math.max(1, Math.ceil((l1Size * 8) / cs));
  const total = 3 + l1Clusters;
  const perBlock = (cs * 8) / refcountBits;
  if (total > perBlock) bad(`${cs}-byte clusters with ${refcountBits}-bit refcounts cannot describe a ${total}-cluster skeleton in one refcount block; use larger clusters`);

  const img = ByteWriter.alloc(total * cs);
  img.u32be(HDR.magic, QCOW2_MAGIC);
  img.u32be(HDR.version, version);
  img.u32be(HDR.clusterBits, clusterBits);
  img.u64be(HDR.size, size);
  img.u32be(HDR.cryptMethod, 0);
  img.u32be(HDR.l1Size, l1Size);
  img.u64be(HDR.l1TableOffset, 3 * cs);
  img.u64be(HDR.refcountTableOffset, cs);
  img.u32be(HDR.refcountTableClusters, 1);
  img.u32be(HDR.nbSnapshots, 0);
  img.u64be(HDR.snapshotsOffset, 0);
  let off: number = HDR.V2_SIZE;
  if (version === 3) {
    img.u64be(HDR.incompatibleFeatures, 0);
    img.u64be(HDR.compatibleFeatures, 0);
    img.u64be(HDR.autoclearFeatures, 0);
    img.u32be(HDR.refcountOrder, order);
    img.u32be(HDR.headerLength, HDR.V3_WRITE_SIZE);
    off = HDR.V3_WRITE_SIZE;
  }
  if (opts.backingFile !== undefined) {
    const name = Buffer.from(opts.backingFile, 'utf8');
    if (name.length === 0 || name.length > LIMITS.MAX_BACKING_NAME) bad(`backing file name must be 1..1023 bytes`);
    if (opts.backingFormat !== undefined) {
      const fmt = Buffer.from(opts.backingFormat, 'latin1');
      img.u32be(off, EXT.backingFormat).u32be(off + 4, fmt.length).bytesAt(off + 8, fmt);
      off += 8 + Math.ceil(fmt.length / 8) * 8;
    }
    img.u32be(off, EXT.end).u32be(off + 4, 0);
    off += 8;
    if (off + name.length > cs) bad(`backing file name does not fit in the first ${cs}-byte cluster`);
    img.bytesAt(off, name);
    img.u64be(HDR.backingFileOffset, off);
    img.u32be(HDR.backingFileSize, name.length);
  } else {
    img.u32be(off, EXT.end).u32be(off + 4, 0);
  }
  // Refcount table: entry 0 -> refcount block at cluster 2.
  putOffset(img.bytes, cs, 2 * cs);
  // Refcount block: clusters 0 .. total-1 have refcount 1 (entries are refcountBits wide, bit 0 = LSB).
  const rb = img.bytes.subarray(2 * cs, 3 * cs);
  for (let c = 0; c < total; c++) {
    const bit = c * refcountBits;
    if (refcountBits < 8) rb[bit >> 3] = rb[bit >> 3]! | (1 << (bit & 7));
    else rb[bit / 8 + refcountBits / 8 - 1] = 1;
  }
  return img.bytes;
}

/**
 * Create `path` as an empty qcow2 image (truncating any file there) and open it read-write.
 * With `backingFile`, unallocated clusters read from it; its size is the default virtual size.
 *
 * @throws UsageError (bad size/cluster size/refcount width), IoError, and whatever opening the
 *   backing file throws.
 */
export function createQcow2(path: string, opts: CreateQcow2Options = {}): Qcow2Device {
  const log = opts.logger ?? nullLogger;
  let size = opts.size;
  let backingFormat = opts.backingFormat;
  let backing: ImageDevice | undefined;
  if (opts.backingFile !== undefined) {
    const bpath = isAbsolute(opts.backingFile) ? opts.backingFile : resolve(dirname(path), opts.backingFile);
    if (!existsSync(bpath)) bad(`backing file ${bpath} does not exist`, { path: bpath });
    backing = openBacking(bpath, backingFormat, log);
    backingFormat ??= backing.format;
    size ??= backing.size;
  }
  if (size === undefined) bad('a virtual size is required when there is no backing file');
  // Like qemu-img create: round up to whole 512-byte sectors.
  size = Math.ceil(size / 512) * 512;
  const bytes = qcow2Skeleton({
    size, clusterSize: opts.clusterSize ?? 65536, version: opts.version ?? 3, refcountBits: opts.refcountBits ?? 16,
    ...(opts.backingFile !== undefined ? { backingFile: opts.backingFile } : {}),
    ...(backingFormat !== undefined ? { backingFormat } : {}),
  });
  let host: FileDevice;
  try {
    host = FileDevice.create(path, bytes.length);
  } catch (e) {
    backing?.close();
    throw e;
  }
  try {
    host.writeAt(0, bytes);
    host.flush();
    log.debug({ path, size, clusterSize: opts.clusterSize ?? 65536, backing: opts.backingFile }, 'created qcow2 image');
    return Qcow2Device.open(host, { write: true, backing, logger: log, path });
  } catch (e) {
    host.close();
    backing?.close();
    throw e;
  }
}

/** Create a qcow2 image on any growable host (tests, in-memory images). */
export function createQcow2On(host: HostFile, opts: CreateQcow2Options & { size: number }): Qcow2Device {
  const bytes = qcow2Skeleton({ size: Math.ceil(opts.size / 512) * 512, clusterSize: opts.clusterSize ?? 65536, version: opts.version ?? 3, refcountBits: opts.refcountBits ?? 16 });
  if (host.truncate) host.truncate(bytes.length);
  host.writeAt(0, bytes);
  return Qcow2Device.open(host, { write: true, ...(opts.logger ? { logger: opts.logger } : {}) });
}

function openBacking(path: string, format: 'raw' | 'qcow2' | undefined, logger: Logger): ImageDevice {
  return openImage(path, { ...(format ? { format } : {}), logger });
}
