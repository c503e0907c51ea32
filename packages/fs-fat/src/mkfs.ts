import { ReadOnlyError, UsageError, type Logger, nullLogger } from '@guestkit/disk/binary';
import type { BlockDevice } from '@guestkit/disk';
import { getCodepage } from './codepage.js';
import { FatCode } from './errors.js';
import type { FatType } from './geometry.js';
import { NO_NAME_LABEL, encodeBootSector } from './layout/boot-sector.js';
import { ATTR, DIR, encodeShortEntry } from './layout/dir-entry.js';
import { encodeFsInfo } from './layout/fsinfo.js';
import { toDos } from './time.js';

export interface MkfsOptions {
  /** FAT type; default chosen by size as mkfs.fat does (FAT32 from 512 MiB, else FAT12/16 by cluster count). */
  type?: FatType;
  /** Volume label, up to 11 OEM characters; default none ("NO NAME"). */
  label?: string;
  /** Volume serial number (32 bits); default random. */
  serial?: number;
  /** Cluster size in bytes (a power of two, sectorSize..128 sectors); default by size as mkfs.fat does. */
  clusterSize?: number;
  /** Logical sector size: 512, 1024, 2048 or 4096 (default 512). */
  sectorSize?: number;
  /** BPB_HiddSec: sectors before the volume on its disk (the partition start); default 0. */
  hiddenSectors?: number;
  /** OEM code page for the label (default cp437). */
  codepage?: string;
  /** Clock for the label entry's timestamp. */
  clock?: () => Date;
  logger?: Logger;
}

/** The layout mkfs chooses for a device size (exported so tests can compare it with mkfs.fat). */
export interface MkfsPlan {
  fatType: FatType;
  sectorSize: number;
  sectorsPerCluster: number;
  reservedSectors: number;
  numFats: number;
  rootEntries: number;
  totalSectors: number;
  fatSectors: number;
  clusterCount: number;
  media: number;
  sectorsPerTrack: number;
  heads: number;
  hiddenSectors: number;
}

const MAX_CLUST_12 = 4084;
/** mkfs.fat avoids 4085/4086 clusters, which Windows and Linux classify differently. */
const MIN_CLUST_16 = 4087;
const MAX_CLUST_16 = 65524;
const MIN_CLUST_32 = 65525;
const MAX_CLUST_32 = 268435446;
const MIB = 1024 * 1024;

/** Floppy formats mkfs.fat recognises by image size in KiB: [sectors/track, heads, media, sectors/cluster, root entries]. */
const FLOPPIES: Record<number, [number, number, number, number, number]> = {
  360: [9, 2, 0xfd, 2, 112],
  720: [9, 2, 0xf9, 2, 112],
  1200: [15, 2, 0xf9, 1, 224],
  1440: [18, 2, 0xf0, 1, 224],
  2880: [36, 2, 0xf0, 2, 224],
};

const cdiv = (a: number, b: number): number => Math.ceil(a / b);

function badOption(msg: string, details: Record<string, unknown>): UsageError {
  return new UsageError(FatCode.MkfsOption, `mkfs: ${msg}`, details);
}

/**
 * Choose the filesystem layout for `size` bytes the way dosfstools mkfs.fat 4.2 does for an
 * image file (same geometry defaults, FAT type and cluster size by size, structure alignment to
 * the cluster size above 8192 sectors). The result is checked against mkfs.fat in the tests.
 */
export function planMkfs(size: number, opts: Pick<MkfsOptions, 'type' | 'clusterSize' | 'sectorSize' | 'hiddenSectors'> = {}): MkfsPlan {
  const ss = opts.sectorSize ?? 512;
  if (![512, 1024, 2048, 4096].includes(ss)) throw badOption(`sector size ${ss} is not 512, 1024, 2048 or 4096`, { sectorSize: ss });
  let userSpc = 0;
  if (opts.clusterSize !== undefined) {
    const spc = opts.clusterSize / ss;
    if (!Number.isInteger(spc) || spc < 1 || spc > 128 || (spc & (spc - 1)) !== 0) {
      throw badOption(`cluster size ${opts.clusterSize} must be a power of two from ${ss} to ${128 * ss} bytes`, { clusterSize: opts.clusterSize });
    }
    userSpc = spc;
  }
  const hidden = opts.hiddenSectors ?? 0;
  if (!Number.isInteger(hidden) || hidden < 0 || hidden > 0xffffffff) throw badOption(`hidden sectors ${hidden} out of range`, { hiddenSectors: hidden });
  const nrFats = 2;
  const blocks = Math.floor(size / 1024);
  const orphaned = Math.floor((size % 1024) / ss);

  // establish_params: geometry (SD-card recommendation below 256 MiB, LBA-assist above)
  const geomSectors = Math.floor(size / ss);
  let heads: number;
  let spt: number;
  if (geomSectors <= 524288) {
    heads = geomSectors <= 32768 ? 2 : geomSectors <= 65536 ? 4 : geomSectors <= 262144 ? 8 : 16;
    spt = geomSectors <= 4096 ? 16 : 32;
  } else {
    heads = geomSectors <= 16 * 63 * 1024 ? 16 : geomSectors <= 32 * 63 * 1024 ? 32 : geomSectors <= 64 * 63 * 1024 ? 64 : geomSectors <= 128 * 63 * 1024 ? 128 : 255;
    spt = 63;
  }
  let media = 0xf8;
  let spc = 4;
  let rootEntries = 512;
  const floppy = FLOPPIES[Math.floor(size / 1024)];
  if (floppy && size % 1024 === 0) [spt, heads, media, spc, rootEntries] = floppy;
  let fatBits = opts.type === 'fat12' ? 12 : opts.type === 'fat16' ? 16 : opts.type === 'fat32' ? 32 : 0;
  const userFat32 = fatBits === 32;
  if (!fatBits && size >= 512 * MIB) fatBits = 32;
  if (fatBits === 32) {
    const sectors = Math.floor(size / ss);
    spc = sectors > 32 * 1024 * 1024 * 2 ? 64 : sectors > 16 * 1024 * 1024 * 2 ? 32 : sectors > 8 * 1024 * 1024 * 2 ? 16 : sectors > 260 * 1024 * 2 ? 8 : 1;
  }

  // setup_tables
  let maxSpc = 128;
  if (userSpc) spc = maxSpc = userSpc;
  let reserved = fatBits === 32 ? 32 : 1;
  let numSectors = Math.floor((blocks * 1024) / ss) + orphaned;
  if (numSectors > 0xffffffff) numSectors = 0xffffffff;
  numSectors = Math.floor(numSectors / spt) * spt;
  const rootDirSectors = cdiv(rootEntries * 32, ss);
  const align = numSectors > 8192;
  const alignTo = (n: number, c: number): number => (align ? cdiv(n, c) * c : n);

  let clust12 = 0, clust16 = 0, clust32 = 0;
  let fat12 = 0, fat16 = 0, fat32 = 0;
  let found = false;
  for (; spc <= maxSpc; spc *= 2) {
    const fatdata32 = numSectors - alignTo(reserved, spc);
    const fatdata1216 = fatdata32 - alignTo(rootDirSectors, spc);
    clust12 = Math.floor((2 * (fatdata1216 * ss + nrFats * 3)) / (2 * spc * ss + nrFats * 3));
    fat12 = alignTo(cdiv(Math.floor(((clust12 + 2) * 3 + 1) / 2), ss), spc);
    clust12 = Math.floor((fatdata1216 - nrFats * fat12) / spc);
    const max12 = Math.min(MAX_CLUST_12, Math.floor((fat12 * 2 * ss) / 3));
    if (clust12 > max12 || clust12 < 0) clust12 = 0;

    clust16 = Math.floor((fatdata1216 * ss + nrFats * 4) / (spc * ss + nrFats * 2));
    fat16 = alignTo(cdiv((clust16 + 2) * 2, ss), spc);
    clust16 = Math.floor((fatdata1216 - nrFats * fat16) / spc);
    const max16 = Math.min(MAX_CLUST_16, Math.floor((fat16 * ss) / 2));
    if (clust16 > max16 || clust16 < 0) clust16 = 0;
    if (clust16 && clust16 < MIN_CLUST_16) clust16 = 0;

    clust32 = Math.floor((fatdata32 * ss + nrFats * 8) / (spc * ss + nrFats * 4));
    fat32 = alignTo(cdiv((clust32 + 2) * 4, ss), spc);
    clust32 = Math.floor((fatdata32 - nrFats * fat32) / spc);
    const max32 = Math.min(MAX_CLUST_32, Math.floor((fat32 * ss) / 4));
    if (clust32 > max32 || clust32 < 0) clust32 = 0;
    if (clust32 && clust32 < MIN_CLUST_32 && !userFat32) clust32 = 0;

    if ((clust12 && (fatBits === 0 || fatBits === 12)) || (clust16 && (fatBits === 0 || fatBits === 16)) || (clust32 && fatBits === 32)) {
      found = true;
      break;
    }
  }
  if (!fatBits) fatBits = clust16 > clust12 ? 16 : 12;
  const clusterCount = fatBits === 12 ? clust12 : fatBits === 16 ? clust16 : clust32;
  const fatSectors = fatBits === 12 ? fat12 : fatBits === 16 ? fat16 : fat32;
  if (!found || !clusterCount) {
    throw new UsageError(FatCode.MkfsGeometry, `mkfs: ${size} bytes cannot hold a ${fatBits === 32 ? 'FAT32' : fatBits === 16 ? 'FAT16' : fatBits === 12 ? 'FAT12' : 'FAT'} filesystem${userSpc ? ` with ${userSpc * ss}-byte clusters` : ''} (too small or too large)`, {
      size, fatBits, clusterSize: userSpc * ss || undefined,
    });
  }
  reserved = alignTo(reserved, spc);
  if (fatBits === 32) rootEntries = 0;
  else if (align) rootEntries = alignTo(rootDirSectors, spc) * (ss / 32);
  const startData = (reserved + nrFats * fatSectors + cdiv(rootEntries * 32, ss)) * (ss / 512);
  if (blocks < cdiv(startData, 2) + 32) {
    throw new UsageError(FatCode.MkfsGeometry, `mkfs: ${size} bytes is too small for a FAT filesystem`, { size });
  }
  return {
    fatType: fatBits === 12 ? 'fat12' : fatBits === 16 ? 'fat16' : 'fat32',
    sectorSize: ss,
    sectorsPerCluster: spc,
    reservedSectors: reserved,
    numFats: nrFats,
    rootEntries,
    totalSectors: numSectors,
    fatSectors,
    clusterCount,
    media,
    sectorsPerTrack: spt,
    heads,
    hiddenSectors: hidden,
  };
}

/** Minimal boot code: halt forever (the disk is not bootable). */
const BOOT_CODE = Uint8Array.from([0xfa, 0xf4, 0xeb, 0xfd]);
const LABEL_FORBIDDEN = '*?.,;:/\\|+=<>[]"';

function encodeLabel(label: string | undefined, codepage: string): Uint8Array {
  if (label === undefined || label.length === 0) return Uint8Array.from(NO_NAME_LABEL, (c) => c.charCodeAt(0));
  const cp = getCodepage(codepage);
  const out: number[] = [];
  for (const ch of label) {
    const u = ch.charCodeAt(0);
    const b = ch.length === 1 ? cp.encodeChar(u) : -1;
    if (b < 0 || u < 0x20 || LABEL_FORBIDDEN.includes(ch)) {
      throw badOption(`volume label ${JSON.stringify(label)}: character ${JSON.stringify(ch)} is not allowed`, { label });
    }
    out.push(b);
  }
  if (out.length > 11) throw badOption(`volume label ${JSON.stringify(label)} is longer than 11 characters`, { label });
  if (out[0] === 0x20) throw badOption(`volume label ${JSON.stringify(label)} starts with a space`, { label });
  const raw = new Uint8Array(11).fill(0x20);
  raw.set(out);
  return raw;
}

/**
 * Create a FAT12/16/32 filesystem on the whole of `dev` (type and cluster size chosen by size
 * as mkfs.fat does unless given). Writes the reserved area, boot sector (and FAT32 FSInfo plus
 * backup boot sector), both FATs, and an empty root directory with the volume label entry.
 * @throws UsageError(FAT_MKFS_OPTION | FAT_MKFS_GEOMETRY), ReadOnlyError
 */
export function mkfs(dev: BlockDevice, opts: MkfsOptions = {}): void {
  if (dev.readOnly) throw new ReadOnlyError(FatCode.ReadOnly, `${dev.name}: device is read-only; cannot create a filesystem`, { device: dev.name });
  const p = planMkfs(dev.size, opts);
  const log = (opts.logger ?? nullLogger).child({ component: 'fs-fat', op: 'mkfs', device: dev.name });
  const label = encodeLabel(opts.label, opts.codepage ?? 'cp437');
  // Like mkfs.fat and Windows format: a serial derived from the time of creation.
  const serial = opts.serial !== undefined ? opts.serial >>> 0 : (Math.floor(Date.now() / 1000) * 0x100000 + Math.floor(Math.random() * 0x100000)) >>> 0;
  const ss = p.sectorSize;
  const fat32 = p.fatType === 'fat32';

  const boot = new Uint8Array(ss);
  encodeBootSector(boot, {
    oemName: 'MSWIN4.1',
    bytesPerSector: ss,
    sectorsPerCluster: p.sectorsPerCluster,
    reservedSectors: p.reservedSectors,
    numFats: p.numFats,
    rootEntries: p.rootEntries,
    totalSectors: p.totalSectors,
    media: p.media,
    fatSectors: p.fatSectors,
    sectorsPerTrack: p.sectorsPerTrack,
    heads: p.heads,
    hiddenSectors: p.hiddenSectors,
    fat32: fat32 ? { rootCluster: 2, fsInfoSector: 1, backupBootSector: 6 } : undefined,
    driveNumber: p.media === 0xf8 ? 0x80 : 0x00,
    volumeId: serial,
    volumeLabel: label,
    fsType: fat32 ? 'FAT32' : p.fatType === 'fat16' ? 'FAT16' : 'FAT12',
    bootCode: BOOT_CODE,
  });

  const zero = new Uint8Array(Math.min(MIB, Math.max(ss, p.fatSectors * ss)));
  const zeroRange = (off: number, len: number): void => {
    for (let k = 0; k < len; k += zero.length) dev.writeAt(off + k, zero.subarray(0, Math.min(zero.length, len - k)));
  };

  // Reserved area: zeroed, then boot sector (and on FAT32 FSInfo, backup boot sector, backup FSInfo).
  zeroRange(0, p.reservedSectors * ss);
  dev.writeAt(0, boot);
  if (fat32) {
    const info = new Uint8Array(ss);
    encodeFsInfo(info, p.clusterCount - 1, 2);
    dev.writeAt(1 * ss, info);
    dev.writeAt(6 * ss, boot);
    dev.writeAt(7 * ss, info);
  }

  // FATs: reserved entries FAT[0] = media, FAT[1] = all ones, FAT32 FAT[2] = end of the root chain.
  const head = new Uint8Array(ss);
  if (p.fatType === 'fat12') head.set([p.media, 0xff, 0xff]);
  else if (p.fatType === 'fat16') head.set([p.media, 0xff, 0xff, 0xff]);
  else head.set([p.media, 0xff, 0xff, 0x0f, 0xff, 0xff, 0xff, 0x0f, 0xff, 0xff, 0xff, 0x0f]);
  const fatStart = p.reservedSectors * ss;
  for (let k = 0; k < p.numFats; k++) {
    const off = fatStart + k * p.fatSectors * ss;
    zeroRange(off, p.fatSectors * ss);
    dev.writeAt(off, head);
  }

  // Root directory: the fixed area on FAT12/16, cluster 2 on FAT32.
  const rootOff = fatStart + p.numFats * p.fatSectors * ss;
  const rootBytes = fat32 ? p.sectorsPerCluster * ss : p.rootEntries * 32;
  const root = new Uint8Array(rootBytes);
  if (opts.label) {
    const t = toDos((opts.clock ?? (() => new Date()))());
    encodeShortEntry(root, 0, {
      name: label, attr: ATTR.VOLUME_ID, ntRes: 0, crtTimeTenth: 0, crtTime: t.time, crtDate: t.date, lstAccDate: t.date,
      firstCluster: 0, wrtTime: t.time, wrtDate: t.date, fileSize: 0,
    });
  }
  dev.writeAt(rootOff, root);
  dev.flush();
  log.debug({ ...p, serial, entrySize: DIR.SIZE }, 'created FAT filesystem');
}
