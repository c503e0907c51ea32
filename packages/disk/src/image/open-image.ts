/**
 * openImage: open a disk image file, sniff its format, follow its qcow2 backing chain.
 *
 * Backing files are resolved the way qemu does: a relative name is relative to the directory of
 * the image that names it; the format comes from the backing-format header extension, else it is
 * sniffed. The chain is bounded (MAX_BACKING_DEPTH) and loop-checked by real path. Backing
 * images are always opened read-only. Protocol names ("nbd://…", "json:{…}") are refused.
 */
import { realpathSync, existsSync } from 'node:fs';
import { basename, dirname, isAbsolute, resolve } from 'node:path';
import {
  LimitError, LoopError, NotFoundError, UnsupportedError, UsageError, nullLogger, type Logger,
} from '../binary/index.js';
import { FileDevice } from '../device/file-device.js';
import { DiskCode } from '../errors.js';
import type { ImageDevice } from './host.js';
import { probeFormat, type ImageFormat } from './probe.js';
import { Qcow2Device } from './qcow2/qcow2-device.js';

/** Deepest backing chain we follow (qemu has no fixed limit; real chains are a handful deep). */
export const MAX_BACKING_DEPTH = 32;

export interface OpenImageOptions {
  /** Open read-write (default read-only). The backing chain is always read-only. */
  write?: boolean;
  /** Skip sniffing. */
  format?: ImageFormat;
  logger?: Logger;
  /** Follow qcow2 backing files (default true). When false, unallocated clusters read as zeros. */
  followBacking?: boolean;
  /** Bytes of qcow2 L2 tables to cache per image (default 32 MiB). */
  l2CacheBytes?: number;
}

/**
 * Open the image at `path`. Returns a FileDevice for raw images and a Qcow2Device for qcow2
 * (with `backing` set to the next image of its chain). Devices are named by the file's base
 * name ("win.qcow2"), which prefixes every error message about them.
 *
 * @throws IoError (file missing or unreadable), FormatError / UnsupportedError / LimitError
 *   (corrupt or unsupported image), LoopError (backing loop), NotFoundError (missing backing
 *   file), UnsafeStateError (write to a qcow2 with the corrupt or dirty bit).
 */
export function openImage(path: string, opts: OpenImageOptions = {}): ImageDevice {
  if (opts.format !== undefined && opts.format !== 'raw' && opts.format !== 'qcow2') {
    throw new UsageError('BAD_FORMAT', `unknown image format ${JSON.stringify(opts.format)}; expected raw or qcow2`, { format: opts.format });
  }
  return openChain(path, opts, opts.format, 0, new Map(), opts.logger ?? nullLogger);
}

function openChain(path: string, opts: OpenImageOptions, format: ImageFormat | undefined, depth: number, visited: Map<string, string>, log: Logger): ImageDevice {
  const write = depth === 0 && Boolean(opts.write);
  const host = FileDevice.open(path, { write, name: basename(path) });
  try {
    let real = path;
    try {
      real = realpathSync(path);
    } catch {
      /* opened fine, so keep the given path */
    }
    const prev = visited.get(real);
    if (prev !== undefined) {
      throw new LoopError(DiskCode.BackingLoop, `backing chain loops: ${prev} names ${basename(path)}, which is already in the chain`, {
        device: basename(path), path: real, chain: [...visited.keys()],
      });
    }
    visited.set(real, basename(path));
    const fmt = format ?? probeFormat(host);
    if (fmt === 'raw') {
      log.debug({ image: host.name, format: 'raw', size: host.size, depth }, 'opened image');
      return host;
    }
    const header = Qcow2Device.readHeader(host);
    let backing: ImageDevice | undefined;
    if (header.backingFile !== undefined && opts.followBacking !== false) {
      if (depth + 1 > MAX_BACKING_DEPTH) {
        throw new LimitError(DiskCode.BackingDepth, `${host.name}: backing chain is deeper than ${MAX_BACKING_DEPTH} images`, { device: host.name, depth });
      }
      const name = header.backingFile;
      if (name.startsWith('json:') || /^[a-z][a-z0-9+.-]*:\/\//i.test(name) || name.includes('\0')) {
        throw new UnsupportedError(DiskCode.BackingName, `${host.name}: backing file ${JSON.stringify(name)} is a protocol or json: name; only local files are followed`, { device: host.name, backing: name });
      }
      const bpath = isAbsolute(name) ? name : resolve(dirname(path), name);
      if (!existsSync(bpath)) {
        throw new NotFoundError(DiskCode.BackingMissing, `${host.name}: backing file ${JSON.stringify(name)} not found (looked for ${bpath})`, { device: host.name, backing: name, path: bpath });
      }
      let bfmt: ImageFormat | undefined;
      if (header.backingFormat !== undefined) {
        if (header.backingFormat !== 'raw' && header.backingFormat !== 'qcow2') {
          throw new UnsupportedError(DiskCode.BackingFormat, `${host.name}: backing file ${JSON.stringify(name)} has format ${JSON.stringify(header.backingFormat)}; only raw and qcow2 backing files are supported`, {
            device: host.name, backing: name, format: header.backingFormat,
          });
        }
        bfmt = header.backingFormat;
      }
      log.debug({ image: host.name, backing: name, path: bpath, format: bfmt ?? 'probe', depth: depth + 1 }, 'opening backing file');
      backing = openChain(bpath, opts, bfmt, depth + 1, visited, log);
    }
    try {
      const dev = Qcow2Device.open(host, {
        write, backing, logger: log, path,
        ...(opts.l2CacheBytes !== undefined ? { l2CacheBytes: opts.l2CacheBytes } : {}),
      });
      log.debug({ image: host.name, format: 'qcow2', size: dev.size, depth, backing: header.backingFile }, 'opened image');
      return dev;
    } catch (e) {
      backing?.close();
      throw e;
    }
  } catch (e) {
    host.close();
    throw e;
  }
}

/** The chain from `dev` down: [dev, its backing, its backing's backing, ...]. */
export function backingChain(dev: ImageDevice): ImageDevice[] {
  const out: ImageDevice[] = [];
  let d: ImageDevice | undefined = dev;
  while (d && out.length <= MAX_BACKING_DEPTH) {
    out.push(d);
    d = d.backing;
  }
  return out;
}
