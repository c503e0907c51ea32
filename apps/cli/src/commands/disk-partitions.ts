import type { CommandModule } from 'yargs';
import type { PartitionTable } from '@guestkit/disk';
import { ctx, type GlobalArgs } from '../main.js';

export interface DiskPartitionsArgs extends GlobalArgs {
  image: string;
  format?: 'raw' | 'qcow2';
  'sector-size'?: number;
}

export const diskPartitionsCommand: CommandModule<GlobalArgs, DiskPartitionsArgs> = {
  command: 'partitions <image>',
  describe: 'print the partition table (MBR or GPT), like sgdisk -p / sfdisk --json',
  builder: (y) =>
    y
      .positional('image', { type: 'string', demandOption: true, describe: 'raw or qcow2 image' })
      .option('format', { alias: 'f', choices: ['raw', 'qcow2'] as const, describe: 'image format (default: sniffed)' })
      .option('sector-size', { type: 'number', describe: 'logical sector size (default: GPT detected at 512 or 4096; MBR 512)' })
      .option('json', { type: 'boolean', describe: 'print JSON: scheme, disk id, and per partition number, start/size in bytes and sectors, type, GUID, name' })
      .example('guestkit disk partitions win.qcow2', '')
      .example('guestkit disk partitions --json disk.img | jq ".partitions[] | select(.typeName == \\"EFI System\\")"', 'find the EFI system partition')
      .example('guestkit disk partitions --sector-size 4096 4kn.img', 'an MBR disk with 4096-byte sectors')
      .epilog(
        'Numbering follows Linux and guestfish: MBR primaries 1-4 by slot, logical partitions from 5;\n' +
          'GPT by entry number. Problems that do not stop reading (backup GPT header used, damaged EBR\n' +
          'chain, a partition past the end of the disk) are printed as warnings; a table that cannot be\n' +
          'read at all exits with code 3.',
      ),
  handler: async (args) => {
    const { openImage, readPartitionTable, partitionTableToJson, partitionTypeName } = await import('@guestkit/disk');
    const { basename } = await import('node:path');
    const c = ctx();
    const dev = openImage(args.image, { ...(args.format ? { format: args.format } : {}), logger: c.log });
    try {
      const table = readPartitionTable(dev, { logger: c.log, ...(args['sector-size'] ? { sectorSize: args['sector-size'] } : {}) });
      if (args.json) c.out(JSON.stringify(partitionTableToJson(table), null, 2) + '\n');
      else c.out(partitionsText(basename(args.image), dev.size, table, { header: true, typeName: partitionTypeName }).join('\n') + '\n');
    } finally {
      dev.close();
    }
  },
};

function human(n: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} bytes` : `${v.toFixed(1)} ${units[i]}`;
}

const pad = (s: string | number, n: number): string => String(s).padStart(n);

/** The table as sgdisk -p style lines (shared with `disk info`). */
export function partitionsText(
  name: string, diskSize: number, t: PartitionTable,
  opts: { header: boolean; typeName: (p: PartitionTable['partitions'][number]) => string | undefined },
): string[] {
  const ss = t.sectorSize;
  const typeLabel = (p: PartitionTable['partitions'][number]): string => opts.typeName(p) ?? (p.scheme === 'gpt' ? p.typeGuid! : 'unknown');
  const out: string[] = [];
  if (opts.header) {
    out.push(`Disk ${name}: ${Math.floor(diskSize / ss)} sectors, ${human(diskSize)}`);
    out.push(`Sector size (logical): ${ss} bytes`);
  }
  if (t.scheme === 'none') {
    out.push('Partition table: none (no MBR or GPT found)');
    return out;
  }
  if (t.scheme === 'gpt') {
    out.push(`Partition table: GPT${opts.header ? '' : `, sector size ${ss}`}`);
    out.push(`Disk identifier (GUID): ${t.diskGuid}`);
    if (t.gpt) {
      out.push(`Partition table holds up to ${t.gpt.entryCount} entries`);
      out.push(`First usable sector is ${t.gpt.firstUsableLba}, last usable sector is ${t.gpt.lastUsableLba}`);
    }
  } else {
    out.push(`Partition table: MBR${opts.header ? '' : `, sector size ${ss}`}`);
    out.push(`Disk identifier: 0x${(t.diskSignature ?? 0).toString(16).padStart(8, '0')}`);
  }
  for (const w of t.warnings) out.push(`Warning: ${w}`);
  out.push('');
  if (t.partitions.length === 0) {
    out.push('No partitions.');
    return out;
  }
  if (t.scheme === 'gpt') {
    out.push('Number  Start (sector)    End (sector)  Size        Type                          Name');
    for (const p of t.partitions) {
      const type = typeLabel(p);
      out.push(`${pad(p.number, 6)}  ${pad(p.start / ss, 14)}  ${pad((p.start + p.size) / ss - 1, 14)}  ${human(p.size).padEnd(10)}  ${type.padEnd(28)}  ${p.name ?? ''}`);
    }
  } else {
    out.push('Number  Boot  Start (sector)    End (sector)  Size        Id  Type');
    for (const p of t.partitions) {
      out.push(`${pad(p.number, 6)}  ${(p.bootable ? '*' : '').padEnd(4)}  ${pad(p.start / ss, 14)}  ${pad((p.start + p.size) / ss - 1, 14)}  ${human(p.size).padEnd(10)}  ${p.mbrType!.toString(16).padStart(2, '0')}  ${typeLabel(p)}${p.logical ? ' (logical)' : ''}`);
    }
  }
  return out;
}
