import { GuestError, NotFoundError, UsageError } from '@guestkit/disk';
import { openNtfs, probeNtfs } from '@guestkit/fs-ntfs';
import { parseDevice, partitionDevice } from '@guestkit/inspector';
import type { FishCommand } from './registry.js';
import type { FishSession } from './session.js';
import { formatStructList } from './format.js';

/** Commands about drives, partitions and mounts. */
function diskOf(s: FishSession, device: string, cmd: string) {
  const p = parseDevice(device);
  const disk = p && s.guest.disks.find((d) => d.name === p.disk);
  if (!disk || p.partition !== undefined) throw new NotFoundError('NO_SUCH_DEVICE', `${cmd}: ${device}: no such disk device`);
  return disk;
}

function partitionOf(s: FishSession, device: string, num: string, cmd: string) {
  const disk = diskOf(s, device, cmd);
  const n = Number(num);
  const part = disk.table.partitions.find((p) => p.number === n);
  if (!Number.isInteger(n) || !part) throw new NotFoundError('NO_SUCH_PARTITION', `${cmd}: ${device}: no partition number ${num}`);
  return { disk, part };
}

export const guestCommands: FishCommand[] = [
  {
    name: 'list-devices',
    synopsis: 'list-devices',
    description: 'List the disk devices (/dev/sda, /dev/sdb, …), one per added image.',
    minArgs: 0, maxArgs: 0,
    run: (s) => s.out(s.guest.disks.map((d) => `/dev/${d.name}\n`).join('')),
  },
  {
    name: 'list-partitions',
    synopsis: 'list-partitions',
    description: 'List every partition on every disk (extended containers excluded).',
    minArgs: 0, maxArgs: 0,
    run: (s) => {
      let out = '';
      for (const d of s.guest.disks) for (const p of d.table.partitions) if (!p.extended) out += partitionDevice(d.name, p.number) + '\n';
      s.out(out);
    },
  },
  {
    name: 'list-filesystems',
    synopsis: 'list-filesystems',
    description: 'List filesystems and their types ("device: type"), as guestfish does: partitions and whole disks holding a filesystem; "unknown" where no NTFS/FAT was found.',
    minArgs: 0, maxArgs: 0,
    run: (s) => s.out(s.guest.filesystems().map((f) => `${f.device}: ${f.type}\n`).join('')),
  },
  {
    name: 'part-list',
    synopsis: 'part-list device',
    description: 'List the partitions of a disk with their start, end (inclusive) and size in bytes.',
    minArgs: 1, maxArgs: 1,
    run: (s, [dev]) => {
      const disk = diskOf(s, dev!, 'part-list');
      s.out(formatStructList(disk.table.partitions.map((p) => ({ part_num: p.number, part_start: p.start, part_end: p.start + p.size - 1, part_size: p.size }))));
    },
  },
  {
    name: 'part-get-parttype',
    synopsis: 'part-get-parttype device',
    description: 'Print the partition table type: "gpt", "msdos" or "unknown".',
    minArgs: 1, maxArgs: 1,
    run: (s, [dev]) => {
      const t = diskOf(s, dev!, 'part-get-parttype').table.scheme;
      s.out((t === 'gpt' ? 'gpt' : t === 'mbr' ? 'msdos' : 'unknown') + '\n');
    },
  },
  {
    name: 'part-get-disk-guid',
    synopsis: 'part-get-disk-guid device',
    description: 'Print the GPT disk GUID.',
    minArgs: 1, maxArgs: 1,
    run: (s, [dev]) => {
      const t = diskOf(s, dev!, 'part-get-disk-guid').table;
      if (!t.diskGuid) throw new UsageError('NOT_GPT', `part-get-disk-guid: ${dev}: not a GPT disk`);
      s.out(t.diskGuid + '\n');
    },
  },
  {
    name: 'part-get-gpt-guid',
    synopsis: 'part-get-gpt-guid device partnum',
    description: 'Print the unique GUID of a GPT partition.',
    minArgs: 2, maxArgs: 2,
    run: (s, [dev, n]) => {
      const { part } = partitionOf(s, dev!, n!, 'part-get-gpt-guid');
      if (!part.guid) throw new UsageError('NOT_GPT', `part-get-gpt-guid: ${dev}: not a GPT partition`);
      s.out(part.guid + '\n');
    },
  },
  {
    name: 'part-get-gpt-type',
    synopsis: 'part-get-gpt-type device partnum',
    description: 'Print the type GUID of a GPT partition.',
    minArgs: 2, maxArgs: 2,
    run: (s, [dev, n]) => {
      const { part } = partitionOf(s, dev!, n!, 'part-get-gpt-type');
      if (!part.typeGuid) throw new UsageError('NOT_GPT', `part-get-gpt-type: ${dev}: not a GPT partition`);
      s.out(part.typeGuid + '\n');
    },
  },
  {
    name: 'part-get-name',
    synopsis: 'part-get-name device partnum',
    description: 'Print the name (label) of a GPT partition.',
    minArgs: 2, maxArgs: 2,
    run: (s, [dev, n]) => s.out((partitionOf(s, dev!, n!, 'part-get-name').part.name ?? '') + '\n'),
  },
  {
    name: 'part-get-mbr-id',
    synopsis: 'part-get-mbr-id device partnum',
    description: 'Print the MBR type byte of a partition (decimal, as guestfish does).',
    minArgs: 2, maxArgs: 2,
    run: (s, [dev, n]) => {
      const { part } = partitionOf(s, dev!, n!, 'part-get-mbr-id');
      if (part.mbrType === undefined) throw new UsageError('NOT_MBR', `part-get-mbr-id: ${dev}: not an MBR partition`);
      s.out(`${part.mbrType}\n`);
    },
  },
  {
    name: 'part-get-bootable',
    synopsis: 'part-get-bootable device partnum',
    description: 'Print whether the partition is marked bootable (MBR active flag; on GPT, the EFI System Partition).',
    minArgs: 2, maxArgs: 2,
    run: (s, [dev, n]) => s.out(`${Boolean(partitionOf(s, dev!, n!, 'part-get-bootable').part.bootable)}\n`),
  },
  {
    name: 'blockdev-getsize64',
    synopsis: 'blockdev-getsize64 device',
    description: 'Print the size of a disk or partition in bytes.',
    minArgs: 1, maxArgs: 1,
    run: (s, [dev]) => s.out(`${s.guest.blockDevice(dev!).size}\n`),
  },
  {
    name: 'vfs-type',
    synopsis: 'vfs-type mountable',
    description: 'Print the filesystem type of a device (ntfs, vfat, exfat or unknown).',
    minArgs: 1, maxArgs: 1,
    run: (s, [dev]) => s.out(fsOf(s, dev!, 'vfs-type').type + '\n'),
  },
  {
    name: 'vfs-label',
    synopsis: 'vfs-label mountable',
    description: 'Print the filesystem label of a device.',
    minArgs: 1, maxArgs: 1,
    run: (s, [dev]) => s.out((fsOf(s, dev!, 'vfs-label').label ?? '') + '\n'),
  },
  {
    name: 'vfs-uuid',
    synopsis: 'vfs-uuid mountable',
    description: 'Print the filesystem UUID (NTFS: volume serial as 16 hex digits; FAT: XXXX-XXXX).',
    minArgs: 1, maxArgs: 1,
    run: (s, [dev]) => s.out((fsOf(s, dev!, 'vfs-uuid').uuid ?? '') + '\n'),
  },
  {
    name: 'ntfs-3g-probe',
    synopsis: 'ntfs-3g-probe rw device',
    description: 'Print ntfs-3g.probe\'s verdict on whether the device can be mounted (rw = true: read-write): 0 yes, 12 not NTFS, 13 corrupt, 14 hibernated or Fast Startup, 15 unclean (dirty or $LogFile not clean).',
    minArgs: 2, maxArgs: 2,
    run: (s, [rw, dev]) => {
      const wantRw = rw === 'true';
      if (!wantRw && rw !== 'false') throw new UsageError('FISH_BAD_BOOL', `ntfs-3g-probe: ${rw}: expected true or false`);
      const blk = s.guest.blockDevice(dev!);
      if (!probeNtfs(blk)) return s.out('12\n');
      let code = 0;
      try {
        const fs = openNtfs(blk);
        const safety = fs.safety();
        if (wantRw && !safety.safeToWrite) code = safety.hibernation.hibernated || safety.fastStartup ? 14 : 15;
        fs.close();
      } catch (e) {
        if (!(e instanceof GuestError)) throw e;
        code = 13;
      }
      s.out(`${code}\n`);
    },
  },
  {
    name: 'mount',
    synopsis: 'mount mountable mountpoint',
    description: 'Mount a filesystem at a mountpoint, read-write when the session is --rw (read-only otherwise).',
    minArgs: 2, maxArgs: 2,
    run: (s, [dev, mp]) => s.mount(dev!, mp!, true),
  },
  {
    name: 'mount-ro',
    synopsis: 'mount-ro mountable mountpoint',
    description: 'Mount a filesystem read-only.',
    minArgs: 2, maxArgs: 2,
    run: (s, [dev, mp]) => s.mount(dev!, mp!, false),
  },
  {
    name: 'umount',
    aliases: ['unmount'],
    synopsis: 'umount pathordevice',
    description: 'Unmount a filesystem (by mountpoint or device), writing its metadata first.',
    minArgs: 1, maxArgs: 1,
    run: (s, [t]) => s.umount(t!),
  },
  {
    name: 'umount-all',
    aliases: ['unmount-all'],
    synopsis: 'umount-all',
    description: 'Unmount every mounted filesystem.',
    minArgs: 0, maxArgs: 0,
    run: (s) => s.umountAll(),
  },
  {
    name: 'mountpoints',
    synopsis: 'mountpoints',
    description: 'Show what is mounted where ("device: mountpoint").',
    minArgs: 0, maxArgs: 0,
    run: (s) => {
      const ms = [...s.mounts].sort((a, b) => a.mountpoint.length - b.mountpoint.length || (a.mountpoint < b.mountpoint ? -1 : a.mountpoint > b.mountpoint ? 1 : 0));
      s.out(ms.map((m) => `${m.device}: ${m.mountpoint}\n`).join(''));
    },
  },
  {
    name: 'mounts',
    synopsis: 'mounts',
    description: 'List the mounted devices.',
    minArgs: 0, maxArgs: 0,
    run: (s) => s.out([...s.mounts].reverse().map((m) => `${m.device}\n`).join('')),
  },
];

function fsOf(s: FishSession, dev: string, cmd: string) {
  const f = s.guest.filesystems().find((x) => x.device === dev);
  if (!f) throw new NotFoundError('NO_SUCH_DEVICE', `${cmd}: ${dev}: no such device or no filesystem on it`);
  return f;
}
