import { GuestError } from '@guestkit/disk/binary';
import type { BlockDevice } from '@guestkit/disk';
import { isExfatBootSector, parseBootSector, type FatType } from './geometry.js';

/**
 * Cheap identification from the boot sector alone: 'fat12' | 'fat16' | 'fat32' | 'exfat', or
 * undefined when sector 0 is not a plausible FAT/exFAT boot sector. Never throws for bad bytes
 * or a device too small to hold a boot sector.
 */
export function probeFat(dev: BlockDevice): FatType | 'exfat' | undefined {
  if (dev.size < 512) return undefined;
  const sector = new Uint8Array(512);
  try {
    dev.readAt(0, sector);
    if (isExfatBootSector(sector)) return 'exfat';
    return parseBootSector(sector, dev.name).fatType;
  } catch (e) {
    if (e instanceof GuestError) return undefined;
    throw e;
  }
}
