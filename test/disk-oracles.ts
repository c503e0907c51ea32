/**
 * Partition-table oracles: sfdisk --json, fdisk -l (for 4096-byte sectors, which sfdisk 2.38
 * cannot be told about), sgdisk -p. Everything is normalised to one shape so guestkit's
 * readPartitionTable output can be compared field by field.
 */
import { runTool } from './support/tools.js';
import type { PartitionTable } from '@guestkit/disk';

export interface NormPart {
  n: number;
  start: number; // sectors
  size: number; // sectors
  type: string; // MBR: hex without 0x ("83", "5"); GPT: type GUID upper case
  bootable?: boolean;
  uuid?: string;
  name?: string;
  attrs?: string;
}
export interface NormTable {
  label: 'dos' | 'gpt';
  id: string; // "0x1234abcd" or GUID
  sectorSize: number;
  partitions: NormPart[];
}

/** libfdisk's rendering of GPT attribute bits: named bits 0-2, then "GUID:" bits 48-63. */
export function fdiskAttrs(a: bigint): string | undefined {
  const names: string[] = [];
  if (a & 1n) names.push('RequiredPartition');
  if (a & 2n) names.push('NoBlockIOProtocol');
  if (a & 4n) names.push('LegacyBIOSBootable');
  const guid: number[] = [];
  for (let b = 48; b < 64; b++) if (a & (1n << BigInt(b))) guid.push(b);
  if (guid.length) names.push('GUID:' + guid.join(','));
  return names.length ? names.join(' ') : undefined;
}

/** Our table in the normalised shape (what sfdisk would print). */
export function normalise(t: PartitionTable): NormTable {
  if (t.scheme === 'none') throw new Error('no table');
  const ss = t.sectorSize;
  return {
    label: t.scheme === 'mbr' ? 'dos' : 'gpt',
    id: t.scheme === 'mbr' ? '0x' + (t.diskSignature ?? 0).toString(16).padStart(8, '0') : t.diskGuid!,
    sectorSize: ss,
    partitions: t.partitions.map((p) => {
      const o: NormPart = { n: p.number, start: p.start / ss, size: p.size / ss, type: p.scheme === 'mbr' ? p.mbrType!.toString(16) : p.typeGuid! };
      if (p.scheme === 'mbr' && p.bootable) o.bootable = true;
      if (p.scheme === 'gpt') {
        o.uuid = p.guid!;
        if (p.name) o.name = p.name;
        const a = fdiskAttrs(p.attributes ?? 0n);
        if (a) o.attrs = a;
      }
      return o;
    }),
  };
}

/** sfdisk --json (512-byte sectors). */
export function sfdiskTable(path: string): NormTable {
  const j = JSON.parse(runTool('sfdisk', ['--json', path]).toString()) as {
    partitiontable: { label: 'dos' | 'gpt'; id: string; sectorsize: number; partitions?: { node: string; start: number; size: number; type: string; bootable?: boolean; uuid?: string; name?: string; attrs?: string }[] };
  };
  const pt = j.partitiontable;
  return {
    label: pt.label,
    id: pt.id,
    sectorSize: pt.sectorsize,
    partitions: (pt.partitions ?? []).map((p) => {
      const o: NormPart = { n: Number(/(\d+)$/.exec(p.node)![1]), start: p.start, size: p.size, type: p.type };
      if (p.bootable) o.bootable = true;
      if (p.uuid !== undefined) o.uuid = p.uuid;
      if (p.name !== undefined) o.name = p.name;
      if (p.attrs !== undefined) o.attrs = p.attrs;
      return o;
    }),
  };
}

/** fdisk -l with a given sector size (-b), for 4096-byte-sector images. GPT names must not contain spaces. */
export function fdiskTable(path: string, sectorSize: number): NormTable {
  const head = runTool('fdisk', ['-b', String(sectorSize), '-l', path]).toString();
  const label = /Disklabel type: (\w+)/.exec(head)![1] as 'dos' | 'gpt';
  const id = /Disk identifier: (\S+)/.exec(head)![1]!;
  const cols = label === 'dos' ? 'Device,Boot,Start,Sectors,Id' : 'Device,Start,Sectors,Type-UUID,UUID,Name';
  const out = runTool('fdisk', ['-b', String(sectorSize), '-l', '-o', cols, path]).toString().split('\n');
  const at = out.findIndex((l) => l.startsWith('Device'));
  const partitions: NormPart[] = [];
  for (const line of at < 0 ? [] : out.slice(at + 1)) {
    if (!line.trim()) continue;
    const tok = line.trim().split(/\s+/);
    const n = Number(/(\d+)$/.exec(tok[0]!)![1]);
    if (label === 'dos') {
      const boot = tok[1] === '*';
      const [start, sectors, type] = boot ? tok.slice(2) : tok.slice(1);
      const o: NormPart = { n, start: Number(start), size: Number(sectors), type: type! };
      if (boot) o.bootable = true;
      partitions.push(o);
    } else {
      const o: NormPart = { n, start: Number(tok[1]), size: Number(tok[2]), type: tok[3]!, uuid: tok[4]! };
      if (tok[5]) o.name = tok.slice(5).join(' ');
      partitions.push(o);
    }
  }
  return { label, id, sectorSize, partitions };
}

/** sgdisk -p: disk GUID and, per partition, number / first / last sector / name. */
export function sgdiskTable(path: string): { guid: string; partitions: { n: number; first: number; last: number; name: string }[]; text: string } {
  const text = runTool('sgdisk', ['-p', path]).toString();
  const guid = /Disk identifier \(GUID\): (\S+)/.exec(text)![1]!;
  const lines = text.split('\n');
  const at = lines.findIndex((l) => l.startsWith('Number'));
  const partitions: { n: number; first: number; last: number; name: string }[] = [];
  for (const l of lines.slice(at + 1)) {
    const m = /^\s*(\d+)\s+(\d+)\s+(\d+)\s+\S+\s+\S+\s+(\S+)\s{2}(.*)$/.exec(l);
    if (m) partitions.push({ n: Number(m[1]), first: Number(m[2]), last: Number(m[3]), name: m[5]!.trimEnd() });
  }
  return { guid, partitions, text };
}
