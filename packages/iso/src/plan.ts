import * as fs from 'node:fs';
import { LimitError, NotFoundError, UsageError, ioError, nullLogger, type Logger } from '@guestkit/disk/binary';
import { IsoCode } from './errors.js';
import { BLOCK, FIRST_DESCRIPTOR_LBA, U32_MAX, blocksFor, encodeUcs2be } from './layout/common.js';
import { pathTableRecordLength, MAX_PATH_TABLE_PARENT } from './layout/path-table.js';
import { BOOT_INFO_TABLE, PLATFORM, encodeBootInfoTable, type BootEntry } from './layout/el-torito.js';
import { MAX_SECTION_BYTES, measureIsoDir, measureJolietDir, type Addresses } from './directory-builder.js';
import {
  JOLIET_MAX_PATH_BYTES, compareIdentifiers, isoBaseName, jolietBaseName, uniqueIsoName, uniqueJolietName, type IsoLevel,
} from './names.js';
import { hostPath, treePath, type IsoDir, type IsoEntry, type IsoTree } from './tree.js';

/** What an image looks like, chosen by the caller. */
export interface IsoOptions {
  /** Volume label (PVD: up to 32 characters; Joliet: up to 16). Default "ISOIMAGE". */
  volumeId?: string;
  /** ISO 9660 interchange level for names and extents (default 3: 31-character names, files >= 4 GiB in several extents). */
  isoLevel?: IsoLevel;
  /** Add a Joliet tree (default true). */
  joliet?: boolean;
  /** Add Rock Ridge entries (default true). */
  rockRidge?: boolean;
  /** El Torito boot images, as paths inside the tree (mkisofs `-b` / `-e`). */
  boot?: IsoBootOptions;
  /** Volume creation/modification time in ms since the epoch (default: $SOURCE_DATE_EPOCH, else now). */
  timestampMs?: number;
  systemId?: string;
  publisherId?: string;
  dataPreparerId?: string;
  applicationId?: string;
  logger?: Logger;
}

export interface IsoBootOptions {
  /** No-emulation BIOS boot image (x86 platform entry). */
  bios?: string;
  /** UEFI boot image, usually a FAT filesystem image (platform 0xEF entry). */
  uefi?: string;
  /** 512-byte sectors the BIOS loads (default: the whole image rounded up to a multiple of 4, at most 65535). */
  biosLoadSectors?: number;
  /** Patch a boot info table into the BIOS image (mkisofs `-boot-info-table`, for ISOLINUX/GRUB). */
  bootInfoTable?: boolean;
}

export interface PathTablePlan {
  size: number;
  lLba: number;
  mLba: number;
}

export interface Plan {
  readonly level: IsoLevel;
  readonly rockRidge: boolean;
  readonly joliet: boolean;
  readonly volumeId: string;
  readonly timestampMs: number;
  readonly volumeBlocks: number;
  readonly bootRecordLba: number | undefined;
  readonly svdLba: number | undefined;
  readonly terminatorLba: number;
  readonly catalogLba: number | undefined;
  readonly bootEntries: BootEntry[];
  readonly isoPathTable: PathTablePlan;
  readonly jolietPathTable: PathTablePlan | undefined;
  /** Directories in path-table order (breadth first, sorted), primary and Joliet. */
  readonly isoDirs: IsoDir[];
  readonly jolietDirs: IsoDir[];
  readonly addresses: Addresses;
  /** First block of file data. */
  readonly dataLba: number;
  /** Regular files that own an extent, in block order. */
  readonly files: IsoEntry[];
  readonly warnings: string[];
}

const PVD_LBA = FIRST_DESCRIPTOR_LBA;
const MAX_BLOCKS = U32_MAX;
const DEFAULT_VOLUME_ID = 'ISOIMAGE';

/** Volume time: the explicit option, else $SOURCE_DATE_EPOCH (reproducible builds), else now. */
function volumeTime(opt: number | undefined): number {
  if (opt !== undefined) return opt;
  const env = process.env.SOURCE_DATE_EPOCH;
  if (env && /^\d+$/.test(env)) return Number(env) * 1000;
  return Date.now();
}

function ascii(s: string): Uint8Array {
  return Buffer.from(s, 'latin1');
}

/**
 * Decide names, order and block addresses for everything in the image. Cost: a pass over the
 * index; memory: the index plus a few numbers per entry.
 */
export function planImage(tree: IsoTree, opts: IsoOptions = {}): Plan {
  const log = opts.logger ?? nullLogger;
  const level: IsoLevel = opts.isoLevel ?? 3;
  if (![1, 2, 3].includes(level)) throw new UsageError(IsoCode.BadOption, `ISO level must be 1, 2 or 3 (got ${String(level)})`);
  const rockRidge = opts.rockRidge ?? true;
  const joliet = opts.joliet ?? true;
  const warnings: string[] = [];
  const warn = (msg: string, obj: object = {}) => {
    warnings.push(msg);
    log.warn(obj, msg);
  };

  // 1. Names and order, breadth first (this is also path-table order).
  const isoDirs: IsoDir[] = [];
  const jolietDirs: IsoDir[] = [];
  const jolietPathBytes = new Map<IsoDir, number>([[tree.root, 0]]);
  let jolietOnlyRr = 0;
  const jolietTooLong: string[] = [];
  const queue: IsoDir[] = [tree.root];
  for (let qi = 0; qi < queue.length; qi++) {
    const dir = queue[qi]!;
    isoDirs.push(dir);
    dir.isoNumber = isoDirs.length;
    const taken = new Set<string>();
    const keyed: { key: string; e: IsoEntry }[] = [];
    for (const c of dir.children) {
      const isDir = c.kind === 'dir';
      const name = uniqueIsoName(isoBaseName(c.displayName, isDir, level), isDir, level, taken);
      c.isoId = ascii(isDir ? name : `${name};1`);
      keyed.push({ key: name, e: c });
      if (c.kind === 'file') {
        if (c.size > U32_MAX) {
          if (level < 3) {
            throw new LimitError(IsoCode.FileTooLarge, `${treePath(c)} is ${c.size} bytes; ISO level ${level} records files below 4 GiB only (use level 3)`, {
              path: treePath(c), size: c.size,
            });
          }
          c.sections = Math.ceil(c.size / MAX_SECTION_BYTES);
        }
      }
    }
    keyed.sort((a, b) => compareIdentifiers(a.key, b.key));
    dir.isoChildren = keyed.map((k) => k.e);
    for (const c of dir.isoChildren) if (c.kind === 'dir') queue.push(c as IsoDir);

    if (joliet && jolietPathBytes.has(dir)) {
      const base = jolietPathBytes.get(dir)!;
      const jt = new Set<string>();
      const jk: { key: string; e: IsoEntry }[] = [];
      for (const c of dir.children) {
        if (c.kind !== 'file' && c.kind !== 'dir') {
          jolietOnlyRr++;
          continue;
        }
        const name = uniqueJolietName(jolietBaseName(c.displayName), jt);
        const pathBytes = base + 2 * (name.length + 1);
        if (pathBytes > JOLIET_MAX_PATH_BYTES) {
          jolietTooLong.push(treePath(c));
          continue;
        }
        // No ";1" version suffix: xorriso and genisoimage omit it in Joliet, and readers show it verbatim.
        c.jolietId = encodeUcs2be(name);
        jk.push({ key: name, e: c });
        if (c.kind === 'dir') jolietPathBytes.set(c as IsoDir, pathBytes);
      }
      jk.sort((a, b) => compareIdentifiers(a.key, b.key));
      dir.jolietChildren = jk.map((k) => k.e);
    }
  }
  // Joliet directories are numbered breadth first over the Joliet tree.
  if (joliet) {
    const jq: IsoDir[] = [tree.root];
    for (let i = 0; i < jq.length; i++) {
      const d = jq[i]!;
      jolietDirs.push(d);
      d.jolietNumber = jolietDirs.length;
      for (const c of d.jolietChildren) if (c.kind === 'dir') jq.push(c as IsoDir);
    }
  }
  if (jolietOnlyRr > 0) {
    // Expected, not a problem (xorriso does the same): logged, not a warning.
    log.info({ count: jolietOnlyRr }, `${jolietOnlyRr} symlink(s) or special file(s) are recorded in the Rock Ridge tree only (Joliet cannot represent them)`);
  }
  if (jolietTooLong.length > 0) {
    warn(
      `${jolietTooLong.length} entr${jolietTooLong.length === 1 ? 'y is' : 'ies are'} left out of the Joliet tree because the Joliet path would exceed ${JOLIET_MAX_PATH_BYTES} bytes ` +
        `(they are in the Rock Ridge tree): ${jolietTooLong.slice(0, 5).join(', ')}${jolietTooLong.length > 5 ? ', ...' : ''}`,
      { count: jolietTooLong.length },
    );
  }
  checkParents(isoDirs, (d) => d.isoNumber, 'ISO 9660');
  if (joliet) checkParents(jolietDirs, (d) => d.jolietNumber, 'Joliet');

  // 2. Block addresses of the fixed structures.
  let lba = PVD_LBA + 1;
  const boot = opts.boot && (opts.boot.bios || opts.boot.uefi) ? opts.boot : undefined;
  let bootRecordLba: number | undefined;
  if (boot) bootRecordLba = lba++; // El Torito requires block 17 (BOOT_RECORD_LBA): the one right after the PVD
  const svdLba = joliet ? lba++ : undefined;
  const terminatorLba = lba++;
  const catalogLba = boot ? lba++ : undefined;

  const isoPtSize = pathTableSize(isoDirs, (d) => d.isoId.length);
  const isoPathTable = { size: isoPtSize, lLba: lba, mLba: lba + blocksFor(isoPtSize) };
  lba += 2 * blocksFor(isoPtSize);
  let jolietPathTable: PathTablePlan | undefined;
  if (joliet) {
    const size = pathTableSize(jolietDirs, (d) => d.jolietId?.length ?? 1);
    jolietPathTable = { size, lLba: lba, mLba: lba + blocksFor(size) };
    lba += 2 * blocksFor(size);
  }

  // 3. Directories (sizes do not depend on addresses, so they can be measured before any are known).
  const addresses: Addresses = { emptyLba: 0 };
  for (const d of isoDirs) {
    const u = measureIsoDir(d, rockRidge, addresses);
    d.isoLba = lba;
    d.isoBytes = u.recordBytes;
    d.ceLba = lba + u.recordBytes / BLOCK;
    d.ceBlocks = u.ceBlocks;
    lba += u.recordBytes / BLOCK + u.ceBlocks;
  }
  for (const d of jolietDirs) {
    d.jolietBytes = measureJolietDir(d, addresses);
    d.jolietLba = lba;
    lba += d.jolietBytes / BLOCK;
  }
  addresses.emptyLba = lba++;

  // 4. File data, depth first in primary-tree order so a directory's files are contiguous.
  const dataLba = lba;
  const files: IsoEntry[] = [];
  const stack: IsoDir[] = [tree.root];
  while (stack.length > 0) {
    const d = stack.pop()!;
    const sub: IsoDir[] = [];
    for (const c of d.isoChildren) {
      if (c.kind === 'dir') sub.push(c as IsoDir);
      else if (c.kind === 'file' && !c.hardlinkOf && c.size > 0) {
        c.lba = lba;
        lba += blocksFor(c.size);
        files.push(c);
        if (lba > MAX_BLOCKS) {
          throw new LimitError(IsoCode.ImageTooLarge, `the image would exceed ${MAX_BLOCKS} blocks of ${BLOCK} bytes (8 TiB)`, { blocks: lba });
        }
      }
    }
    for (let i = sub.length - 1; i >= 0; i--) stack.push(sub[i]!);
  }
  for (const d of isoDirs) {
    for (const c of d.children) {
      if (c.kind === 'file' && c.size === 0) c.lba = addresses.emptyLba;
      if (c.hardlinkOf) c.lba = c.hardlinkOf.lba;
    }
  }

  // 5. El Torito.
  const bootEntries: BootEntry[] = [];
  if (boot) {
    if (boot.bios) {
      const e = findBootFile(tree, boot.bios);
      const src = e.hardlinkOf ?? e;
      let sectors = boot.biosLoadSectors ?? Math.ceil(Math.ceil(e.size / 512) / 4) * 4;
      if (!Number.isInteger(sectors) || sectors < 1) throw new UsageError(IsoCode.BadOption, `boot load size must be a positive number of 512-byte sectors (got ${sectors})`);
      sectors = Math.min(sectors, 0xffff);
      bootEntries.push({ platform: PLATFORM.x86, lba: src.lba, sectorCount: sectors });
      if (boot.bootInfoTable) src.patch = bootInfoTable(tree, src);
    }
    if (boot.uefi) {
      const e = findBootFile(tree, boot.uefi);
      const src = e.hardlinkOf ?? e;
      bootEntries.push({ platform: PLATFORM.efi, lba: src.lba, sectorCount: Math.min(Math.ceil(e.size / 512), 0xffff) });
    }
  }

  const volumeId = opts.volumeId ?? DEFAULT_VOLUME_ID;
  return {
    level, rockRidge, joliet, volumeId, timestampMs: volumeTime(opts.timestampMs), volumeBlocks: lba,
    bootRecordLba, svdLba, terminatorLba, catalogLba, bootEntries, isoPathTable, jolietPathTable,
    isoDirs, jolietDirs, addresses, dataLba, files, warnings,
  };
}

function pathTableSize(dirs: IsoDir[], idLength: (d: IsoDir) => number): number {
  let n = 0;
  for (const d of dirs) n += pathTableRecordLength(d.parent ? idLength(d) : 1);
  return n;
}

function checkParents(dirs: IsoDir[], num: (d: IsoDir) => number, what: string): void {
  for (const d of dirs) {
    if (d.parent && num(d.parent) > MAX_PATH_TABLE_PARENT) {
      throw new LimitError(
        IsoCode.TooManyDirectories,
        `${what} path table: ${treePath(d.parent)} would be directory number ${num(d.parent)}, but parent numbers are 16-bit (at most ${MAX_PATH_TABLE_PARENT})`,
        { path: treePath(d.parent), number: num(d.parent) },
      );
    }
  }
}

/** Resolve a boot image path inside the tree ("boot/x.bin" or "/boot/x.bin"). */
function findBootFile(tree: IsoTree, p: string): IsoEntry {
  const parts = p.split('/').filter((s) => s.length > 0 && s !== '.');
  let cur: IsoEntry = tree.root;
  for (const part of parts) {
    const want = Buffer.from(part);
    const next: IsoEntry | undefined = cur.kind === 'dir' ? (cur as IsoDir).children.find((c) => Buffer.compare(Buffer.from(c.name), want) === 0) : undefined;
    if (!next) throw new NotFoundError(IsoCode.BootImageNotFound, `boot image ${p} is not in the tree`, { path: p });
    cur = next;
  }
  if (cur.kind !== 'file' || cur.size === 0) {
    throw new NotFoundError(IsoCode.BootImageNotFound, `boot image ${p} is not a non-empty regular file in the tree`, { path: p });
  }
  return cur;
}

/** Compute the boot info table patch of `e` (read once at plan time; boot images are small). */
function bootInfoTable(tree: IsoTree, e: IsoEntry): { offset: number; bytes: Uint8Array } {
  if (e.size < BOOT_INFO_TABLE.checksumFrom) {
    throw new UsageError(IsoCode.BadOption, `boot image ${treePath(e)} is ${e.size} bytes; a boot info table needs at least ${BOOT_INFO_TABLE.checksumFrom}`);
  }
  if (e.size > 64 * 1024 * 1024) {
    throw new UsageError(IsoCode.BadOption, `boot image ${treePath(e)} is larger than 64 MiB; refusing to checksum it for a boot info table`);
  }
  let data: Buffer;
  try {
    data = fs.readFileSync(hostPath(tree, e));
  } catch (err) {
    throw ioError(`cannot read boot image ${treePath(e)}`, err);
  }
  let sum = 0;
  for (let i = BOOT_INFO_TABLE.checksumFrom; i < e.size; i += 4) {
    const w = (data[i] ?? 0) + (data[i + 1] ?? 0) * 0x100 + (data[i + 2] ?? 0) * 0x10000 + (data[i + 3] ?? 0) * 0x1000000;
    sum = (sum + w) % 0x1_0000_0000;
  }
  return { offset: BOOT_INFO_TABLE.offset, bytes: encodeBootInfoTable(PVD_LBA, e.lba, e.size, sum) };
}

export { PVD_LBA };
