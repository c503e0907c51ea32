import type { PartitionTable } from './partition-table.js';
import { partitionTypeName } from './types.js';

/** JSON-ready form of a partition table (bigints and u32 ids as strings; sectors alongside bytes). */
export interface PartitionTableJson {
  scheme: 'mbr' | 'gpt' | 'none';
  sectorSize: number;
  diskSignature?: string;
  diskGuid?: string;
  firstUsableSector?: number;
  lastUsableSector?: number;
  entryCount?: number;
  usedBackupHeader?: boolean;
  partitions: {
    number: number;
    start: number;
    size: number;
    startSector: number;
    endSector: number;
    sectors: number;
    type: string;
    typeName?: string;
    bootable?: boolean;
    logical?: boolean;
    extended?: boolean;
    guid?: string;
    name?: string;
    attributes?: string;
  }[];
  warnings: string[];
}

export function partitionTableToJson(t: PartitionTable): PartitionTableJson {
  const ss = t.sectorSize;
  const out: PartitionTableJson = { scheme: t.scheme, sectorSize: ss, partitions: [], warnings: [...t.warnings] };
  if (t.diskSignature !== undefined) out.diskSignature = '0x' + t.diskSignature.toString(16).padStart(8, '0');
  if (t.diskGuid !== undefined) out.diskGuid = t.diskGuid;
  if (t.gpt) {
    out.firstUsableSector = t.gpt.firstUsableLba;
    out.lastUsableSector = t.gpt.lastUsableLba;
    out.entryCount = t.gpt.entryCount;
    out.usedBackupHeader = t.gpt.usedBackup;
  }
  for (const p of t.partitions) {
    const j: PartitionTableJson['partitions'][number] = {
      number: p.number, start: p.start, size: p.size, startSector: p.start / ss, endSector: (p.start + p.size) / ss - 1,
      sectors: p.size / ss, type: p.scheme === 'mbr' ? '0x' + p.mbrType!.toString(16).padStart(2, '0') : p.typeGuid!,
    };
    const name = partitionTypeName(p);
    if (name) j.typeName = name;
    if (p.scheme === 'mbr') j.bootable = Boolean(p.bootable);
    if (p.logical) j.logical = true;
    if (p.extended) j.extended = true;
    if (p.guid !== undefined) j.guid = p.guid;
    if (p.name !== undefined) j.name = p.name;
    if (p.attributes !== undefined) j.attributes = '0x' + p.attributes.toString(16).padStart(16, '0');
    out.partitions.push(j);
  }
  return out;
}
