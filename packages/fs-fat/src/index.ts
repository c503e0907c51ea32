/**
 * @guestkit/fs-fat — FAT12/16/32 with VFAT long names, read and write, over any BlockDevice.
 *
 *   const fs = openFat(dev, { write: true });
 *   fs.writeFile('/EFI/BOOT/readme.txt', bytes);
 *   fs.close();
 */
export { openFat, FatFileSystem, FatFileHandle, MAX_DIR_BYTES, MAX_FILE_SIZE, MAX_WALK_DEPTH } from './fat-fs.js';
export type { OpenFatOptions, CheckReport, WalkItem } from './fat-fs.js';
export { probeFat } from './probe.js';
export { mkfs, planMkfs } from './mkfs.js';
export type { MkfsOptions, MkfsPlan } from './mkfs.js';
export { parseBootSector, isExfatBootSector } from './geometry.js';
export type { FatType, Geometry } from './geometry.js';
export { FatCode } from './errors.js';
export { getCodepage } from './codepage.js';
export type { Codepage } from './codepage.js';
export { generateShortName, planShortName, normalizeLongName, windowsShortNameChecksum, decodeShortName, shortKey } from './names.js';
export { lfnChecksum } from './layout/lfn-entry.js';
export { toDos, fromDos } from './time.js';
