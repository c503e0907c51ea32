import type { CommandModule } from 'yargs';
import { ctx, type GlobalArgs } from '../main.js';

export interface DiskConvertArgs extends GlobalArgs {
  src: string;
  dst: string;
  'output-format': 'raw' | 'qcow2';
  format?: 'raw' | 'qcow2';
  compress?: boolean;
  'cluster-size'?: string;
  progress?: boolean;
}

export const diskConvertCommand: CommandModule<GlobalArgs, DiskConvertArgs> = {
  command: 'convert <src> <dst>',
  describe: 'copy an image (its whole backing chain flattened) into a new raw or qcow2 image, like qemu-img convert',
  builder: (y) =>
    y
      .positional('src', { type: 'string', demandOption: true, describe: 'source image (raw or qcow2; backing files are followed)' })
      .positional('dst', { type: 'string', demandOption: true, describe: 'destination file (replaced if it exists)' })
      .option('output-format', { alias: 'O', choices: ['raw', 'qcow2'] as const, default: 'raw' as const, describe: 'destination format' })
      .option('format', { alias: 'f', choices: ['raw', 'qcow2'] as const, describe: 'source format (default: sniffed)' })
      .option('compress', { alias: 'c', type: 'boolean', describe: 'compress every cluster of a qcow2 destination (zlib)' })
      .option('cluster-size', { type: 'string', describe: 'qcow2 destination cluster size (default 64k)' })
      .option('progress', { alias: 'p', type: 'boolean', describe: 'progress bar on stderr (default: when stderr is a terminal)' })
      .option('json', { type: 'boolean', describe: 'print a JSON summary' })
      .example('guestkit disk convert win.qcow2 win.raw', 'flatten to a sparse raw image')
      .example('guestkit disk convert -O qcow2 -c disk.raw disk.qcow2', 'a compressed qcow2 from a raw image')
      .example('guestkit disk convert overlay.qcow2 merged.qcow2 -O qcow2', 'merge an overlay and its backing chain into one qcow2')
      .epilog(
        'Only what the source reports as allocated is read (qcow2 mapping, through every backing file),\n' +
          'and 4 KiB blocks of zeros are not written, so raw output is sparse. The source is never\n' +
          'modified. Refuses to write over the source itself.',
      ),
  handler: async (args) => {
    const { openImage, convertImage, parseSize, formatSize, UsageError } = await import('@guestkit/disk');
    const { realpathSync, existsSync } = await import('node:fs');
    const { Progress } = await import('../progress.js');
    const c = ctx();
    if (existsSync(args.dst) && realpathSync(args.dst) === realpathSync(args.src)) {
      throw new UsageError('SAME_FILE', `${args.dst} is the source image; convert writes a new file`, { path: args.dst });
    }
    const src = openImage(args.src, { ...(args.format ? { format: args.format } : {}), logger: c.log });
    try {
      const bar = new Progress('converting', src.size, args.progress ?? c.stderrIsTTY);
      const t0 = Date.now();
      const res = await convertImage(src, args.dst, {
        format: args['output-format'],
        ...(args.compress ? { compress: true } : {}),
        ...(args['cluster-size'] ? { clusterSize: parseSize(args['cluster-size']) } : {}),
        onProgress: (done) => bar.update(done),
        logger: c.log,
      });
      bar.done();
      const secs = (Date.now() - t0) / 1000;
      if (args.json) {
        c.out(JSON.stringify({ source: args.src, destination: args.dst, format: args['output-format'], virtualSize: src.size, ...res, seconds: secs }, null, 2) + '\n');
      } else {
        c.out(`${args.dst}: ${args['output-format']}, ${formatSize(src.size)} virtual, ${formatSize(res.bytesWritten)} of data written in ${secs.toFixed(2)} s\n`);
      }
    } finally {
      src.close();
    }
  },
};
