/**
 * A plain, JSON-ready description of an opened image and its backing chain (what
 * `guestkit disk info` prints; the fields follow `qemu-img info --output=json` where they overlap).
 */
import { statSync } from 'node:fs';
import { basename } from 'node:path';
import type { ImageDevice } from './host.js';
import { COMPAT, INCOMPAT, decodeSnapshots, LIMITS } from './qcow2/layout.js';
import { Qcow2Device } from './qcow2/qcow2-device.js';

export interface ImageInfo {
  filename: string;
  format: 'raw' | 'qcow2';
  /** Guest-visible size in bytes. */
  virtualSize: number;
  /** Size of the host file in bytes. */
  fileSize: number;
  /** Bytes the host file occupies on disk (sparse files use less), when known. */
  actualSize?: number;
  clusterSize?: number;
  qcow2?: {
    version: 2 | 3;
    compat: '0.10' | '1.1';
    refcountBits: number;
    compressionType: 'zlib';
    lazyRefcounts: boolean;
    corrupt: boolean;
    dirty: boolean;
    snapshots: { id: string; name: string }[];
  };
  backingFile?: string;
  backingFormat?: string;
  /** The images below this one, nearest first. */
  backingChain: { filename: string; format: 'raw' | 'qcow2'; virtualSize: number }[];
}

export function imageInfo(dev: ImageDevice): ImageInfo {
  const host = dev instanceof Qcow2Device ? dev.host : dev;
  const info: ImageInfo = {
    filename: dev.path !== undefined ? basename(dev.path) : dev.name,
    format: dev.format,
    virtualSize: dev.size,
    fileSize: host.size,
    backingChain: [],
  };
  if (dev.path !== undefined) {
    try {
      info.actualSize = statSync(dev.path).blocks * 512;
    } catch {
      /* not a regular file we can stat */
    }
  }
  if (dev instanceof Qcow2Device) {
    const h = dev.header;
    let snapshots: { id: string; name: string }[] = [];
    if (h.nbSnapshots > 0) {
      const raw = new Uint8Array(Math.min(LIMITS.MAX_SNAPSHOT_TABLE_BYTES, host.size - h.snapshotsOffset));
      host.readAt(h.snapshotsOffset, raw);
      snapshots = decodeSnapshots(raw, h.snapshotsOffset, h.nbSnapshots, dev.name, h.clusterSize, host.size).map((s) => ({ id: s.id, name: s.name }));
    }
    info.clusterSize = h.clusterSize;
    info.qcow2 = {
      version: h.version,
      compat: h.version === 2 ? '0.10' : '1.1',
      refcountBits: 2 ** h.refcountOrder,
      compressionType: 'zlib',
      lazyRefcounts: (h.compatibleFeatures & COMPAT.lazyRefcounts) !== 0n,
      corrupt: (h.incompatibleFeatures & INCOMPAT.corrupt) !== 0n,
      dirty: (h.incompatibleFeatures & INCOMPAT.dirty) !== 0n,
      snapshots,
    };
    if (h.backingFile !== undefined) info.backingFile = h.backingFile;
    if (h.backingFormat !== undefined) info.backingFormat = h.backingFormat;
  }
  for (let b = dev.backing; b; b = b.backing) {
    info.backingChain.push({ filename: b.path !== undefined ? basename(b.path) : b.name, format: b.format, virtualSize: b.size });
  }
  return info;
}
