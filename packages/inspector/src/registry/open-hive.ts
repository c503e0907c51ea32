/**
 * Open a hive file from a guest filesystem as a RegKey tree (through @guestkit/hive).
 */
import type { FileSystem } from '@guestkit/disk';
import { nullLogger, type Logger } from '@guestkit/disk/binary';
import { Hive } from '@guestkit/hive';
import { hiveKey, type RegKey } from './reg-tree.js';

/** Largest hive the inspector reads (the biggest real SOFTWARE hives are a few hundred MiB). */
export const MAX_HIVE_BYTES = 512 * 1024 * 1024;

/**
 * Parse hive bytes, read-only. `unsafe` reads damaged hives as far as possible (hivex
 * HIVEX_OPEN_UNSAFE, what libguestfs uses for the application list).
 * @throws the hive package's FormatError/LimitError/LoopError for a hive it cannot open.
 */
export function openHiveBytes(bytes: Uint8Array, name: string, opts: { unsafe?: boolean; logger?: Logger } = {}): RegKey {
  const h = Hive.open(bytes, { unsafe: opts.unsafe ?? false, name, logger: opts.logger ?? nullLogger });
  return hiveKey(h);
}

/** Read `path` (already case-resolved) from `fs` and open it as a hive. */
export function openHiveFile(fs: FileSystem, path: string, opts: { unsafe?: boolean; logger?: Logger } = {}): RegKey {
  return openHiveBytes(fs.readFile(path, { maxBytes: MAX_HIVE_BYTES }), path, opts);
}
