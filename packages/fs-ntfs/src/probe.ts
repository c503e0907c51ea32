import type { BlockDevice } from '@guestkit/disk';
import { decodeBootSector } from './layout/boot-sector.js';

/**
 * Cheap NTFS detection from the boot sector alone: OEM id "NTFS    " and a sane geometry.
 * Never throws (a device that cannot be read is "not NTFS").
 */
export function probeNtfs(dev: BlockDevice): boolean {
  try {
    if (dev.size < 512) return false;
    const b = new Uint8Array(512);
    dev.readAt(0, b);
    if (b[3] !== 0x4e || b[4] !== 0x54 || b[5] !== 0x46 || b[6] !== 0x53) return false;
    decodeBootSector(b, dev.size, dev.name);
    return true;
  } catch {
    return false;
  }
}
