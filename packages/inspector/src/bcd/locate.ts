/**
 * Finding a guest's BCD stores and tying their devices to the guest's partitions.
 *
 * Windows keeps the store at \EFI\Microsoft\Boot\BCD on the EFI system partition (UEFI) or at
 * \Boot\BCD on the active "system" partition (BIOS; "System Reserved" since Windows 7, C: on
 * older installs). Every filesystem is looked at, in list-filesystems order.
 */
import { GuestError, type Logger, nullLogger } from '@guestkit/disk/binary';
import { openHiveFile } from '../registry/open-hive.js';
import { isEsp, type GuestFilesystemLike, type GuestLike } from '../guest-like.js';
import type { BcdDevice, PartitionResolver, ResolvedPartition } from './device.js';
import { readBcdStore, bcdElement, findBcdObject, type BcdStore } from './store.js';
import type { InspectionReport } from '../inspect.js';

export const BCD_STORE_PATHS = ['/EFI/Microsoft/Boot/BCD', '/Boot/BCD'] as const;

export interface LocatedBcdStore {
  /** Guest device holding the store ("/dev/sda1"). */
  device: string;
  /** Path of the store on that filesystem, in on-disk case. */
  path: string;
  /** True when the filesystem is an EFI system partition (or the store is \EFI\Microsoft\Boot\BCD). */
  efi: boolean;
  store: BcdStore;
}

/** Every BCD store on the guest. Unreadable stores are skipped with a warning. */
export function findBcdStores(guest: GuestLike, log: Logger = nullLogger, warn: (m: string) => void = () => {}): LocatedBcdStore[] {
  const out: LocatedBcdStore[] = [];
  for (const f of guest.filesystems()) {
    if (f.type !== 'ntfs' && f.type !== 'vfat') continue;
    let fs;
    try {
      fs = guest.mount(f.device);
    } catch (e) {
      if (e instanceof GuestError) continue;
      throw e;
    }
    for (const p of BCD_STORE_PATHS) {
      const real = fs.resolveCase(p);
      if (real === undefined || fs.tryStat(real)?.type !== 'file') continue;
      try {
        const store = readBcdStore(openHiveFile(fs, real, { logger: log }));
        out.push({ device: f.device, path: real, efi: isEsp(f.partition) || p.startsWith('/EFI'), store });
      } catch (e) {
        if (!(e instanceof GuestError)) throw e;
        warn(`BCD store ${f.device}:${real}: ${e.message}`);
      }
    }
  }
  return out;
}

/** A resolver mapping BCD partition devices to guest devices (and drive letters, when given). */
export function guestPartitionResolver(guest: GuestLike, letters: ReadonlyMap<string, string> = new Map()): PartitionResolver {
  return (d) => {
    for (const disk of guest.disks) {
      const t = disk.table;
      let hit;
      if (d.scheme === 'gpt') {
        if (t.scheme !== 'gpt' || (t.diskGuid && `{${t.diskGuid.toLowerCase()}}` !== d.diskGuid)) continue;
        hit = t.partitions.find((p) => p.guid && `{${p.guid.toLowerCase()}}` === d.partitionGuid);
      } else {
        if (t.scheme !== 'mbr' || t.diskSignature !== d.diskSignature) continue;
        hit = t.partitions.find((p) => p.start === d.offset);
      }
      if (hit) {
        const device = `/dev/${disk.name}${hit.number}`;
        const r: ResolvedPartition = { device };
        const letter = letters.get(device);
        if (letter) r.letter = letter;
        return r;
      }
    }
    return undefined;
  };
}

/** The guest device a BCD device points at (the parent partition for a RAM disk). */
export function bcdDeviceTarget(d: BcdDevice, resolve: PartitionResolver): string | undefined {
  if (d.kind === 'partition') return resolve(d)?.device;
  if (d.kind === 'ramdisk') return bcdDeviceTarget(d.parent, resolve);
  return undefined;
}

/** The filesystem entry of a device. */
export function filesystemOf(guest: GuestLike, device: string): GuestFilesystemLike | undefined {
  return guest.filesystems().find((f) => f.device === device);
}

/**
 * Drive letters to show for a store's partitions: those of the Windows installation the
 * store's default entry boots (else of the first installation any of its loaders boots).
 */
export function driveLettersForStore(guest: GuestLike, located: LocatedBcdStore, report: InspectionReport): Map<string, string> {
  const resolve = guestPartitionResolver(guest);
  const targetOf = (id: string | undefined): string | undefined => {
    const o = id ? findBcdObject(located.store, id) : undefined;
    const v = bcdElement(o, 0x21000001)?.value;
    return v?.format === 'device' ? bcdDeviceTarget(v.value.device, resolve) : undefined;
  };
  const dv = bcdElement(findBcdObject(located.store, '{9dea862c-5cdd-4e70-acc1-f32b344d4795}'), 0x23000003)?.value;
  const targets = [targetOf(dv?.format === 'object' ? dv.value : undefined), ...located.store.objects.filter((o) => o.applicationType === 3).map((o) => targetOf(o.id))];
  for (const t of targets) {
    const os = t ? report.operatingSystems.find((o) => o.root === t) : undefined;
    if (os) return new Map(os.driveMappings.map((m) => [m.device, m.letter] as const));
  }
  return new Map();
}
