import {
  openImage, readPartitionTable, OverlayDevice, GuestError, NotFoundError, OutOfRangeError, UsageError, UnsafeStateError, nullLogger,
  type BlockDevice, type FileSystem, type Logger, type Partition, type PartitionTable,
} from '@guestkit/disk';
import { probeNtfs, openNtfs } from '@guestkit/fs-ntfs';
import { probeFat, openFat } from '@guestkit/fs-fat';
import { diskName, parseDevice, partitionDevice } from './device-names.js';

export type FsType = 'ntfs' | 'vfat' | 'exfat' | 'unknown';

export interface GuestDisk {
  /** 'sda', 'sdb', … in the order the images were added. */
  name: string;
  path: string;
  device: BlockDevice;
  table: PartitionTable;
}

export interface GuestFilesystem {
  /** '/dev/sda3', or '/dev/sda' for a filesystem on the whole disk. */
  device: string;
  type: FsType;
  label?: string;
  uuid?: string;
  disk: GuestDisk;
  partition?: Partition;
}

export interface GuestOpenOptions {
  /** Open the images read-write (default read-only). */
  write?: boolean;
  /** Image format; sniffed when omitted. */
  format?: 'raw' | 'qcow2';
  logger?: Logger;
  /** Open NTFS for writing even if it looks unsafe (hibernated, dirty). */
  force?: boolean;
  /**
   * Stage every write in memory: each disk's `device` is an OverlayDevice over the image, and
   * nothing reaches the image until the caller commits the overlays (`disk.device.commit()`).
   * The filesystems are writable even when `write` is false: a dry run that cannot touch the image.
   */
  overlay?: boolean;
}

/** GPT type of the Microsoft Reserved Partition: libguestfs does not list it as a filesystem. */
const MSR_TYPE = 'E3C9E316-0B5C-4DB8-817D-F92DF00215AE';

/**
 * One or more disk images opened together, the way libguestfs adds drives: each image becomes a
 * disk (sda, sdb, …) with its partition table, every partition or bare device is probed for a
 * filesystem, and filesystems are mounted (opened) on demand and cached.
 */
export class Guest {
  readonly disks: GuestDisk[];
  readonly writable: boolean;
  private readonly log: Logger;
  private readonly force: boolean;
  private fsList: GuestFilesystem[] | undefined;
  private readonly mounted = new Map<string, FileSystem>();

  private constructor(disks: GuestDisk[], opts: GuestOpenOptions) {
    this.disks = disks;
    this.writable = Boolean(opts.write) || Boolean(opts.overlay);
    this.log = opts.logger ?? nullLogger;
    this.force = Boolean(opts.force);
  }

  static open(paths: string[], opts: GuestOpenOptions = {}): Guest {
    if (paths.length === 0) throw new UsageError('NO_IMAGES', 'no disk images given (use -a IMAGE)');
    const log = opts.logger ?? nullLogger;
    const disks: GuestDisk[] = [];
    try {
      paths.forEach((path, i) => {
        const name = diskName(i);
        const image = openImage(path, { write: Boolean(opts.write), ...(opts.format ? { format: opts.format } : {}), logger: log });
        const device: BlockDevice = opts.overlay ? new OverlayDevice(image) : image;
        let table: PartitionTable;
        try {
          table = readPartitionTable(device, { logger: log });
        } catch (e) {
          device.close();
          throw e;
        }
        disks.push({ name, path, device, table });
        log.debug({ disk: name, path, scheme: table.scheme, partitions: table.partitions.length }, 'added disk');
      });
    } catch (e) {
      for (const d of disks) d.device.close();
      throw e;
    }
    return new Guest(disks, opts);
  }

  /** Every partition (and bare-device filesystem) with its probed type, in device order. */
  filesystems(): GuestFilesystem[] {
    if (this.fsList) return this.fsList;
    const out: GuestFilesystem[] = [];
    for (const disk of this.disks) {
      // A bare filesystem image has no partitions (its boot sector may even look like an empty MBR).
      if (disk.table.scheme === 'none' || disk.table.partitions.length === 0) {
        const type = probeType(disk.device);
        if (type !== 'unknown') out.push(this.describe({ device: `/dev/${disk.name}`, type, disk }));
        continue;
      }
      for (const p of disk.table.partitions) {
        if (p.extended) continue;
        if (p.typeGuid?.toUpperCase() === MSR_TYPE) continue;
        const device = partitionDevice(disk.name, p.number);
        let dev: BlockDevice;
        try {
          dev = p.open();
        } catch (e) {
          // A partition running past the end of a truncated image: list it, but do not read it.
          if (!(e instanceof OutOfRangeError)) throw e;
          this.log.warn({ device, code: e.code }, `${device}: ${e.message}; skipped`);
          out.push({ device, type: 'unknown', disk, partition: p });
          continue;
        }
        out.push(this.describe({ device, type: probeType(dev), disk, partition: p }));
      }
    }
    this.fsList = out;
    return out;
  }

  /** Fill label/uuid by opening the filesystem; a damaged one keeps only its type. */
  private describe(fs: GuestFilesystem): GuestFilesystem {
    if (fs.type !== 'ntfs' && fs.type !== 'vfat') return fs;
    try {
      let opened: FileSystem;
      try {
        opened = this.mount(fs.device, { probeOnly: fs });
      } catch (e) {
        // A volume that refuses to open for writing (hibernated, dirty) can still be described.
        if (!(e instanceof UnsafeStateError) || !this.writable) throw e;
        opened = this.mount(fs.device, { write: false, probeOnly: fs });
      }
      if (opened.label !== undefined && opened.label !== '') fs.label = opened.label;
      if (opened.uuid !== undefined) fs.uuid = opened.uuid;
    } catch (e) {
      if (!(e instanceof GuestError)) throw e;
      this.log.warn({ device: fs.device, code: e.code }, `${fs.device}: ${e.message}`);
    }
    return fs;
  }

  /** The block device behind '/dev/sdX' or '/dev/sdXN'. */
  blockDevice(device: string): BlockDevice {
    const { disk, partition } = this.locate(device);
    return partition ? partition.open() : disk.device;
  }

  private locate(device: string): { disk: GuestDisk; partition?: Partition } {
    const parsed = parseDevice(device);
    const disk = parsed && this.disks.find((d) => d.name === parsed.disk);
    if (!parsed || !disk) throw new NotFoundError('NO_SUCH_DEVICE', `${device}: no such device`, { device });
    if (parsed.partition === undefined) return { disk };
    const partition = disk.table.partitions.find((p) => p.number === parsed.partition && !p.extended);
    if (!partition) throw new NotFoundError('NO_SUCH_DEVICE', `${device}: no such partition`, { device });
    return { disk, partition };
  }

  /**
   * Open the filesystem on `device` (cached). Writable only when the guest was opened for write
   * and `write` is not false.
   */
  mount(device: string, opts: { write?: boolean; probeOnly?: GuestFilesystem } = {}): FileSystem {
    const write = this.writable && opts.write !== false;
    const key = `${device}:${write ? 'rw' : 'ro'}`;
    const cached = this.mounted.get(key);
    if (cached) return cached;
    const dev = this.blockDevice(device);
    const type = opts.probeOnly?.type ?? probeType(dev);
    const log = this.log.child({ device });
    let fs: FileSystem;
    if (type === 'ntfs') fs = openNtfs(dev, { write, force: this.force, logger: log });
    else if (type === 'vfat') fs = openFat(dev, { write, logger: log, force: this.force });
    else if (type === 'exfat') fs = openFat(dev, { write, logger: log, force: this.force }); // throws "unsupported: exFAT"
    else throw new GuestError('UNKNOWN_FILESYSTEM', `${device}: no NTFS or FAT filesystem found`, { device });
    this.mounted.set(key, fs);
    return fs;
  }

  /** Write every mounted filesystem's metadata and flush the images. */
  flush(): void {
    for (const fs of this.mounted.values()) if (!fs.readOnly) fs.flush();
    for (const d of this.disks) if (!d.device.readOnly) d.device.flush();
  }

  close(): void {
    for (const fs of this.mounted.values()) fs.close();
    this.mounted.clear();
    for (const d of this.disks) d.device.close();
  }
}

/** What filesystem a device holds, from its first sectors only. */
export function probeType(dev: BlockDevice): FsType {
  if (probeNtfs(dev)) return 'ntfs';
  const fat = probeFat(dev);
  if (fat === 'exfat') return 'exfat';
  if (fat) return 'vfat';
  return 'unknown';
}
