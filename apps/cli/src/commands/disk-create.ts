import type { CommandModule } from 'yargs';
import { ctx, type GlobalArgs } from '../main.js';

export interface DiskCreateArgs extends GlobalArgs {
  dst: string;
  size?: string;
  format: 'raw' | 'qcow2';
  backing?: string;
  'backing-format'?: 'raw' | 'qcow2';
  'cluster-size'?: string;
  compat: '0.10' | '1.1';
}

export const diskCreateCommand: CommandModule<GlobalArgs, DiskCreateArgs> = {
  command: 'create <dst> [size]',
  describe: 'create an empty image, or a qcow2 overlay over a backing file, like qemu-img create',
  builder: (y) =>
    y
      .positional('dst', { type: 'string', demandOption: true, describe: 'image file to create (replaced if it exists)' })
      .positional('size', { type: 'string', describe: 'virtual size: bytes, or with k/M/G/T suffix (default with -b: the backing size)' })
      .option('format', { alias: 'f', choices: ['raw', 'qcow2'] as const, default: 'qcow2' as const, describe: 'format of the new image' })
      .option('backing', { alias: 'b', type: 'string', describe: 'backing file (qcow2 only); a relative name is relative to DST' })
      .option('backing-format', { alias: 'F', choices: ['raw', 'qcow2'] as const, describe: 'format of the backing file (default: sniffed and recorded)' })
      .option('cluster-size', { type: 'string', describe: 'qcow2 cluster size, 512 to 2M (default 64k)' })
      .option('compat', { type: 'string', choices: ['0.10', '1.1'] as const, default: '1.1' as const, describe: 'qcow2 version: 0.10 = v2, 1.1 = v3' })
      .option('json', { type: 'boolean', describe: 'print a JSON summary' })
      .example('guestkit disk create disk.qcow2 20G', 'an empty 20 GiB qcow2 image')
      .example('guestkit disk create overlay.qcow2 -b win.qcow2', 'an overlay: writes go to overlay.qcow2, reads fall through to win.qcow2')
      .example('guestkit disk create -f raw disk.img 1G', 'a sparse raw image')
      .epilog(
        'The sizes of qcow2 images are rounded up to whole 512-byte sectors, as qemu-img does. Backing\n' +
          'names are stored as given (relative names keep the pair movable); the backing format is\n' +
          'recorded in the header so it is never guessed later.',
      ),
  handler: async (args) => {
    const { createQcow2, FileDevice, parseSize, formatSize, UsageError } = await import('@guestkit/disk');
    const c = ctx();
    const size = args.size !== undefined ? parseSize(args.size) : undefined;
    let summary: Record<string, unknown>;
    if (args.format === 'raw') {
      if (args.backing) throw new UsageError('BAD_OPTION', 'raw images cannot have a backing file (use -f qcow2)', {});
      if (size === undefined) throw new UsageError('BAD_SIZE', 'give a size for a raw image', {});
      FileDevice.create(args.dst, size).close();
      summary = { image: args.dst, format: 'raw', virtualSize: size };
    } else {
      if (size === undefined && !args.backing) throw new UsageError('BAD_SIZE', 'give a size (or a backing file with -b)', {});
      const dev = createQcow2(args.dst, {
        ...(size !== undefined ? { size } : {}),
        ...(args['cluster-size'] ? { clusterSize: parseSize(args['cluster-size']) } : {}),
        version: args.compat === '0.10' ? 2 : 3,
        ...(args.backing ? { backingFile: args.backing } : {}),
        ...(args['backing-format'] ? { backingFormat: args['backing-format'] } : {}),
        logger: c.log,
      });
      summary = {
        image: args.dst, format: 'qcow2', virtualSize: dev.size, clusterSize: dev.clusterSize, compat: args.compat,
        ...(args.backing ? { backingFile: args.backing, backingFormat: dev.header.backingFormat } : {}),
      };
      dev.close();
    }
    if (args.json) c.out(JSON.stringify(summary, null, 2) + '\n');
    else {
      c.out(`created ${args.dst}: ${summary.format}, ${formatSize(summary.virtualSize as number)}` +
        `${summary.clusterSize ? `, cluster size ${formatSize(summary.clusterSize as number)}` : ''}` +
        `${summary.backingFile ? `, backing ${summary.backingFile} (${summary.backingFormat})` : ''}\n`);
    }
  },
};
