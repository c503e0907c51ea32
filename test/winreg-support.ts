/**
 * Helpers of the win-reg / customize oracle tests: copies of test guests, partitions cut out of
 * disk images with qemu-img and dd, files read back with ntfscat, hives exported with
 * hivexregedit, and a key-by-key diff of two exports.
 */
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import { expect } from 'vitest';
import { repoRoot } from './support/shared.js';
import { runTool, runToolStatus } from './support/tools.js';

export const GUESTS = join(repoRoot, 'test', 'fixtures', 'guests');
export const RECORDINGS = join(repoRoot, 'test', 'fixtures', 'recordings');

/** The oracle tools these tests need. */
export const ORACLE_TOOLS = ['qemu-img', 'sfdisk', 'dd', 'ntfscat', 'ntfsfix', 'ntfsresize', 'hivexregedit'];

/** Copy a test guest (gunzipping .gz) into `dir`; returns its path. */
export function copyGuest(name: string, dir: string): string {
  const src = join(GUESTS, name);
  const out = join(dir, name.replace(/\.gz$/, ''));
  if (name.endsWith('.gz')) writeFileSync(out, gunzipSync(readFileSync(src)));
  else copyFileSync(src, out);
  return out;
}

export function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** A raw copy of an image (qemu-img convert for qcow2; the raw file itself otherwise). */
export function asRaw(image: string, dir: string): string {
  if (!image.endsWith('.qcow2')) return image;
  const out = join(dir, `raw-${Math.random().toString(36).slice(2)}.img`);
  runTool('qemu-img', ['convert', '-O', 'raw', image, out]);
  return out;
}

/** Partition N of a raw disk (sfdisk -J) cut out into its own file with dd. */
export function partitionFile(raw: string, n: number, dir: string): string {
  const j = JSON.parse(runTool('sfdisk', ['-J', raw]).toString()) as { partitiontable: { partitions: { node: string; start: number; size: number }[] } };
  const p = j.partitiontable.partitions.find((x) => new RegExp(`${n}$`).test(x.node));
  if (!p) throw new Error(`${raw}: no partition ${n}`);
  const out = join(dir, `part${n}-${Math.random().toString(36).slice(2)}.img`);
  runTool('dd', [`if=${raw}`, `of=${out}`, 'bs=512', `skip=${p.start}`, `count=${p.size}`, 'status=none']);
  return out;
}

/** Put a partition file back into the raw disk (for fixture setup with ntfscp). */
export function writePartition(raw: string, n: number, part: string): void {
  const j = JSON.parse(runTool('sfdisk', ['-J', raw]).toString()) as { partitiontable: { partitions: { node: string; start: number; size: number }[] } };
  const p = j.partitiontable.partitions.find((x) => new RegExp(`${n}$`).test(x.node))!;
  runTool('dd', [`if=${part}`, `of=${raw}`, 'bs=512', `seek=${p.start}`, 'conv=notrunc', 'status=none']);
}

/** The NTFS partition `n` of an image (raw or qcow2) as a file ntfs-3g's tools can read. */
export function ntfsPartition(image: string, n: number, dir: string): string {
  return partitionFile(asRaw(image, dir), n, dir);
}

export function ntfscat(part: string, path: string): Buffer {
  return runTool('ntfscat', [part, path]);
}

/** hivexregedit --export of hive bytes. */
export function hivexExport(hive: Uint8Array, prefix: string, dir: string, key = '\\'): string {
  const f = join(dir, `hive-${Math.random().toString(36).slice(2)}`);
  writeFileSync(f, hive);
  return runTool('hivexregedit', ['--export', '--prefix', prefix, f, key]).toString('latin1');
}

/** The checks of the NTFS write issue: ntfsfix -n and ntfsresize -i -f accept the volume. */
export function expectNtfsHealthy(part: string): void {
  const fix = runToolStatus('ntfsfix', ['-n', part]);
  expect(fix.status, `ntfsfix -n: ${fix.stdout}${fix.stderr}`).toBe(0);
  const rs = runToolStatus('ntfsresize', ['-i', '-f', part]);
  expect(rs.status, `ntfsresize -i -f: ${rs.stdout}${rs.stderr}`).toBe(0);
}

/** An export as key → its value lines (the header and blank lines dropped). */
export function exportBlocks(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let cur: string[] | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('[') && line.endsWith(']')) {
      cur = [];
      out.set(line.slice(1, -1), cur);
    } else if (line !== '' && cur) cur.push(line);
  }
  return out;
}

export interface ExportDiff {
  /** Keys only in `after`, with their value lines. */
  addedKeys: Record<string, string[]>;
  /** Keys only in `before`. */
  removedKeys: Record<string, string[]>;
  /** Keys in both whose values differ: lines only in after (+) and only in before (-). */
  changedKeys: Record<string, { added: string[]; removed: string[] }>;
}

/** Key-by-key difference of two hivexregedit exports. */
export function exportDiff(before: string, after: string): ExportDiff {
  const a = exportBlocks(before);
  const b = exportBlocks(after);
  const d: ExportDiff = { addedKeys: {}, removedKeys: {}, changedKeys: {} };
  for (const [k, v] of b) {
    const o = a.get(k);
    if (!o) d.addedKeys[k] = v;
    else {
      const added = v.filter((l) => !o.includes(l));
      const removed = o.filter((l) => !v.includes(l));
      if (added.length || removed.length) d.changedKeys[k] = { added, removed };
    }
  }
  for (const [k, v] of a) if (!b.has(k)) d.removedKeys[k] = v;
  return d;
}

/** hivexregedit's rendering of a REG_SZ / REG_EXPAND_SZ value: UTF-16LE + NUL as hex(N). */
export function hexString(s: string, type = 1): string {
  const b = Buffer.from(s + '\0', 'utf16le');
  return `hex(${type}):` + [...b].map((x) => x.toString(16).padStart(2, '0')).join(',');
}

export function hexMulti(items: string[]): string {
  return hexString(items.map((s) => s + '\0').join(''), 7);
}

export function dword(n: number): string {
  return `dword:${(n >>> 0).toString(16).padStart(8, '0')}`;
}
