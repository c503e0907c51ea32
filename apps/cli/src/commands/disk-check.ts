import type { CommandModule } from 'yargs';
import { ctx, type GlobalArgs } from '../main.js';
import { Exit } from '../exit-codes.js';

export interface DiskCheckArgs extends GlobalArgs {
  image: string;
  format?: 'raw' | 'qcow2';
}

export const diskCheckCommand: CommandModule<GlobalArgs, DiskCheckArgs> = {
  command: 'check <image>',
  describe: 'check qcow2 metadata and refcounts (like qemu-img check) and the partition table',
  builder: (y) =>
    y
      .positional('image', { type: 'string', demandOption: true, describe: 'raw or qcow2 image' })
      .option('format', { alias: 'f', choices: ['raw', 'qcow2'] as const, describe: 'image format (default: sniffed)' })
      .option('json', { type: 'boolean', describe: 'print JSON (counts named as in qemu-img check --output=json)' })
      .example('guestkit disk check win.qcow2', '')
      .example('guestkit disk check --json win.qcow2 | jq .corruptions', '')
      .epilog(
        'For qcow2 the reference count of every cluster is rebuilt from the L1/L2 tables (active and\n' +
          'snapshots), the refcount structures and the bitmaps, and compared with what is stored; the\n' +
          'COPIED flags of the active tables are checked too. A stored refcount lower than the number of\n' +
          'references is corruption (exit 3); a higher one is a leak: space is wasted, no data is at risk\n' +
          '(exit 0). The partition table is read and its warnings shown. Nothing is written.',
      ),
  handler: async (args) => {
    const { openImage, Qcow2Device, checkQcow2, readPartitionTable, partitionTableToJson } = await import('@guestkit/disk');
    const c = ctx();
    const dev = openImage(args.image, { ...(args.format ? { format: args.format } : {}), logger: c.log });
    try {
      const qcow = dev instanceof Qcow2Device ? checkQcow2(dev) : undefined;
      const table = readPartitionTable(dev, { logger: c.log });
      const corrupt = (qcow?.corruptions ?? 0) + (qcow?.checkErrors ?? 0) > 0;
      if (args.json) {
        c.out(JSON.stringify({
          filename: args.image, format: dev.format,
          ...(qcow ? {
            corruptions: qcow.corruptions, leaks: qcow.leaks, checkErrors: qcow.checkErrors, totalClusters: qcow.totalClusters,
            allocatedClusters: qcow.allocatedClusters, compressedClusters: qcow.compressedClusters,
            fragmentedClusters: qcow.fragmentedClusters, imageEndOffset: qcow.imageEndOffset, messages: qcow.messages,
          } : {}),
          partitionTable: partitionTableToJson(table),
        }, null, 2) + '\n');
      } else {
        const out: string[] = [];
        if (!qcow) out.push(`${args.image}: raw image, no metadata to check.`);
        else {
          out.push(...qcow.messages);
          if (qcow.messages.length) out.push('');
          if (qcow.corruptions === 0 && qcow.leaks === 0 && qcow.checkErrors === 0) out.push('No errors were found on the image.');
          if (qcow.corruptions) out.push(`${qcow.corruptions} errors were found on the image.\nData may be corrupted, or further writes to the image may corrupt it.`);
          if (qcow.leaks) out.push(`${qcow.leaks} leaked clusters were found on the image.\nThis means waste of disk space, but no harm to data.`);
          if (qcow.checkErrors) out.push(`${qcow.checkErrors} internal errors have occurred during the check.`);
          const pct = (n: number) => (qcow.totalClusters ? (100 * n) / qcow.totalClusters : 0).toFixed(2);
          const frag = qcow.allocatedClusters ? ((100 * qcow.fragmentedClusters) / qcow.allocatedClusters).toFixed(2) : '0.00';
          const comp = qcow.allocatedClusters ? ((100 * qcow.compressedClusters) / qcow.allocatedClusters).toFixed(2) : '0.00';
          out.push(`${qcow.allocatedClusters}/${qcow.totalClusters} = ${pct(qcow.allocatedClusters)}% allocated, ${frag}% fragmented, ${comp}% compressed clusters`);
          out.push(`Image end offset: ${qcow.imageEndOffset}`);
        }
        out.push(table.scheme === 'none' ? 'Partition table: none' : `Partition table: ${table.scheme.toUpperCase()}, ${table.partitions.length} partitions${table.warnings.length ? '' : ', no problems found'}`);
        for (const w of table.warnings) out.push(`Warning: ${w}`);
        c.out(out.join('\n') + '\n');
      }
      if (corrupt) process.exitCode = Exit.Corrupt;
    } finally {
      dev.close();
    }
  },
};
