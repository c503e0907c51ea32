import type { CommandModule } from 'yargs';
import { ctx, type GlobalArgs } from '../main.js';
import { partitionsText } from './disk-partitions.js';

export interface DiskInfoArgs extends GlobalArgs {
  image: string;
  format?: 'raw' | 'qcow2';
  'sector-size'?: number;
}

export const diskInfoCommand: CommandModule<GlobalArgs, DiskInfoArgs> = {
  command: 'info <image>',
  describe: 'format, virtual and on-disk size, cluster size, backing chain and partitions of an image',
  builder: (y) =>
    y
      .positional('image', { type: 'string', demandOption: true, describe: 'raw or qcow2 image' })
      .option('format', { alias: 'f', choices: ['raw', 'qcow2'] as const, describe: 'image format (default: sniffed)' })
      .option('sector-size', { type: 'number', describe: 'logical sector size for the partition table (default: detected; 512 for MBR)' })
      .option('json', { type: 'boolean', describe: 'print JSON (fields as in qemu-img info --output=json where they overlap)' })
      .example('guestkit disk info win.qcow2', '')
      .example('guestkit disk info --json chain-top.qcow2 | jq .backingChain', 'the backing chain, nearest first')
      .epilog(
        'The backing chain is followed as qemu does: relative names are relative to the image that\n' +
          'names them; the format comes from the backing-format header extension or is sniffed.\n' +
          'Partition tables: MBR (with logical partitions), GPT (the backup header is used, with a\n' +
          'warning, when the primary is damaged). Numbers are the ones Linux and guestfish use.',
      ),
  handler: async (args) => {
    const { openImage, imageInfo, readPartitionTable, partitionTableToJson, formatSize, partitionTypeName } = await import('@guestkit/disk');
    const c = ctx();
    const dev = openImage(args.image, { ...(args.format ? { format: args.format } : {}), logger: c.log });
    try {
      const info = imageInfo(dev);
      const table = readPartitionTable(dev, { logger: c.log, ...(args['sector-size'] ? { sectorSize: args['sector-size'] } : {}) });
      if (args.json) {
        c.out(JSON.stringify({ ...info, partitionTable: partitionTableToJson(table) }, null, 2) + '\n');
        return;
      }
      const lines: string[] = [];
      lines.push(`image: ${info.filename}`);
      lines.push(`file format: ${info.format}`);
      lines.push(`virtual size: ${formatSize(info.virtualSize)} (${info.virtualSize} bytes)`);
      lines.push(`disk size: ${formatSize(info.actualSize ?? info.fileSize)}`);
      if (info.clusterSize !== undefined) lines.push(`cluster size: ${info.clusterSize}`);
      if (info.qcow2) {
        const q = info.qcow2;
        lines.push(`qcow2: version ${q.version} (compat ${q.compat}), refcount bits ${q.refcountBits}, compression ${q.compressionType}` +
          `${q.lazyRefcounts ? ', lazy refcounts' : ''}${q.dirty ? ', DIRTY' : ''}${q.corrupt ? ', CORRUPT' : ''}`);
        if (q.snapshots.length) lines.push(`snapshots: ${q.snapshots.map((s) => `${s.id} ${JSON.stringify(s.name)}`).join(', ')}`);
      }
      if (info.backingFile !== undefined) lines.push(`backing file: ${info.backingFile}${info.backingFormat ? ` (format ${info.backingFormat})` : ''}`);
      if (info.backingChain.length) {
        lines.push('backing chain:');
        for (const b of [{ filename: info.filename, format: info.format, virtualSize: info.virtualSize }, ...info.backingChain]) {
          lines.push(`  ${b.filename}  ${b.format}  ${formatSize(b.virtualSize)}`);
        }
      }
      lines.push(...partitionsText(info.filename, dev.size, table, { header: false, typeName: partitionTypeName }));
      c.out(lines.join('\n') + '\n');
    } finally {
      dev.close();
    }
  },
};
