import type { BlockDevice } from '@guestkit/disk';
import { CommonCode, ReadOnlyError, type Logger } from '@guestkit/disk/binary';
import { NtfsFileSystem, type NtfsOpenOptions } from './ntfs-fs.js';

export { probeNtfs } from './probe.js';
export { NtfsFileSystem, type NtfsOpenOptions, type StandardInformation } from './ntfs-fs.js';
export { NtfsVolume } from './volume.js';
export { NtfsCode, NtfsLimits } from './errors.js';
export type { NtfsSafetyReport } from './safety.js';
export { serialToUuid, decodeBootSector, type BootSector } from './layout/boot-sector.js';
export { VolumeFlags, FileAttr } from './layout/mft-record.js';
export { ReparseTag } from './layout/reparse.js';
export { lznt1Compress, lznt1Decompress } from './compress/lznt1.js';
export { xpressHuffmanDecompress } from './compress/xpress-huffman.js';

/**
 * Open an NTFS volume on `dev`. Read-only unless `write`; a writable open is refused with
 * UnsafeStateError (exit 4) on a hibernated, dirty or unclean volume unless `force`.
 * @throws FormatError (not NTFS / corrupt), UnsupportedError, UnsafeStateError
 */
export function openNtfs(dev: BlockDevice, opts: { write?: boolean; force?: boolean; logger?: Logger } = {}): NtfsFileSystem {
  if (opts.write && dev.readOnly) {
    throw new ReadOnlyError(CommonCode.ReadOnly, `${dev.name}: the device is read-only; cannot open NTFS for writing`, { device: dev.name });
  }
  const fs = NtfsFileSystem.openVolume(dev, opts satisfies NtfsOpenOptions);
  if (opts.write) fs.assertSafeToWrite();
  return fs;
}
