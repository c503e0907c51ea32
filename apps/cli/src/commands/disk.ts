import type { Argv, CommandModule } from 'yargs';
import type { GlobalArgs } from '../main.js';
import { diskInfoCommand } from './disk-info.js';
import { diskPartitionsCommand } from './disk-partitions.js';
import { diskConvertCommand } from './disk-convert.js';
import { diskCreateCommand } from './disk-create.js';
import { diskCheckCommand } from './disk-check.js';

/** `guestkit disk <info|partitions|convert|create|check>` — qemu-img and sgdisk -p, without qemu. */
export const diskCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'disk <command>',
  describe: 'disk images: info, partitions, convert, create, check (like qemu-img and sgdisk -p)',
  builder: (y: Argv<GlobalArgs>) =>
    y
      .command(diskInfoCommand as unknown as CommandModule<GlobalArgs, GlobalArgs>)
      .command(diskPartitionsCommand as unknown as CommandModule<GlobalArgs, GlobalArgs>)
      .command(diskConvertCommand as unknown as CommandModule<GlobalArgs, GlobalArgs>)
      .command(diskCreateCommand as unknown as CommandModule<GlobalArgs, GlobalArgs>)
      .command(diskCheckCommand as unknown as CommandModule<GlobalArgs, GlobalArgs>)
      .demandCommand(1, 'Give a disk command: info, partitions, convert, create or check.')
      .example('guestkit disk info win.qcow2', 'format, sizes, backing chain and partitions')
      .example('guestkit disk partitions disk.img --json', 'the partition table as JSON')
      .example('guestkit disk convert win.qcow2 win.raw', 'flatten a qcow2 chain into a sparse raw image')
      .example('guestkit disk create overlay.qcow2 -b win.qcow2', 'a copy-on-write overlay over an image')
      .example('guestkit disk check win.qcow2', 'verify qcow2 metadata and refcounts')
      .epilog(
        'Images are raw files or qcow2 (v2 and v3, compressed clusters, backing chains followed relative\n' +
          'to the image). Formats are sniffed from the qcow2 magic unless -f says otherwise. Nothing is\n' +
          'written except by convert (the destination) and create. Corrupt or unsupported images fail\n' +
          'with one line naming the structure and offset, and exit code 3.',
      ),
  handler: () => {},
};
