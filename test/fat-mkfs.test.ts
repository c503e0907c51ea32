import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { closeSync, openSync, readSync } from 'node:fs';
import { FileDevice, MemoryDevice, UsageError } from '@guestkit/disk';
import { mkfs, openFat, parseBootSector, planMkfs, FatCode, type MkfsOptions } from '@guestkit/fs-fat';
import { tempDir } from './support/shared.js';
import { itWithTools } from './support/tools.js';
import { bytes, verifyImage, type Model } from '../packages/fs-fat/test/support/model.js';
import { blkidTag, fsckFat, run } from '../packages/fs-fat/test/support/oracles.js';

/**
 * Our mkfs against dosfstools mkfs.fat 4.2 on the same device sizes and options: the same FAT
 * type, cluster size and layout (planMkfs), and volumes that fsck.fat, blkid and mtools accept.
 */
const TOOLS = ['mkfs.fat', 'fsck.fat', 'mdir', 'mcopy', 'blkid'];
const KIB = 1024;

interface Case {
  kib: number;
  opts: Pick<MkfsOptions, 'type' | 'sectorSize' | 'clusterSize'>;
}

const CASES: Case[] = [
  ...[160, 360, 720, 1200, 1440, 2880, 4096, 8 * KIB, 16 * KIB, 32 * KIB, 64 * KIB, 100 * KIB, 200 * KIB, 261 * KIB, 300 * KIB, 511 * KIB, 512 * KIB, 1024 * KIB, 3 * 1024 * KIB]
    .map((kib) => ({ kib, opts: {} })),
  { kib: 2 * KIB, opts: { type: 'fat12' } },
  { kib: 16 * KIB, opts: { type: 'fat12' } },
  { kib: 8 * KIB, opts: { type: 'fat16' } },
  { kib: 40 * KIB, opts: { type: 'fat32' } },
  { kib: 2 * KIB, opts: { type: 'fat32' } },
  { kib: 600 * KIB, opts: { type: 'fat16' } },
  { kib: 4 * KIB, opts: { sectorSize: 4096 } },
  { kib: 64 * KIB, opts: { sectorSize: 2048 } },
  { kib: 300 * KIB, opts: { type: 'fat32', sectorSize: 4096 } },
  { kib: 48 * KIB, opts: { type: 'fat16', sectorSize: 1024, clusterSize: 4096 } },
  { kib: 100 * KIB, opts: { type: 'fat32', clusterSize: 1024 } },
  { kib: 20 * KIB, opts: { clusterSize: 16384 } },
];

function mkfsFatArgs(c: Case): string[] {
  const a: string[] = [];
  if (c.opts.type) a.push('-F', c.opts.type.slice(3));
  if (c.opts.sectorSize) a.push('-S', String(c.opts.sectorSize));
  if (c.opts.clusterSize) a.push('-s', String(c.opts.clusterSize / (c.opts.sectorSize ?? 512)));
  return a;
}

/** The first 4 KiB of a (possibly huge, sparse) image. */
function head(path: string): Uint8Array {
  const b = new Uint8Array(4096);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, b, 0, b.length, 0);
  } finally {
    closeSync(fd);
  }
  return b;
}

let tmp: string;
let cleanup: () => void;
beforeAll(() => {
  ({ dir: tmp, cleanup } = tempDir('gk-fat-mkfs-'));
});
afterAll(() => cleanup?.());

describe('fs-fat mkfs', () => {
  for (const c of CASES) {
    const title = `${c.kib} KiB ${JSON.stringify(c.opts)}: same layout as mkfs.fat, accepted by fsck.fat, blkid and mtools`;
    itWithTools(TOOLS, title, () => {
      const ref = join(tmp, `ref-${c.kib}-${mkfsFatArgs(c).join('')}.img`);
      const made = run('mkfs.fat', ['-C', '-i', 'ABCD1234', ...mkfsFatArgs(c), ref, String(c.kib)]);
      if (made.status !== 0) {
        // mkfs.fat refuses (e.g. too few clusters for FAT16): so must we.
        expect(made.stderr).toMatch(/too small or a too large|Too few blocks|not enough/i);
        expect(() => planMkfs(c.kib * KIB, c.opts)).toThrowError(expect.objectContaining({ code: FatCode.MkfsGeometry }));
        return;
      }
      const g = parseBootSector(head(ref), 'mkfs.fat');
      const p = planMkfs(c.kib * KIB, c.opts);
      expect({
        fatType: p.fatType, sectorSize: p.sectorSize, spc: p.sectorsPerCluster, reserved: p.reservedSectors, fats: p.numFats, root: p.rootEntries,
        total: p.totalSectors, fatSectors: p.fatSectors, clusters: p.clusterCount, media: p.media, spt: p.sectorsPerTrack, heads: p.heads,
      }).toEqual({
        fatType: g.fatType, sectorSize: g.bytesPerSector, spc: g.sectorsPerCluster, reserved: g.reservedSectors, fats: g.numFats, root: g.rootEntries,
        total: g.totalSectors, fatSectors: g.fatSectors, clusters: g.clusterCount, media: g.media, spt: g.sectorsPerTrack, heads: g.heads,
      });

      const ours = join(tmp, `ours-${c.kib}-${mkfsFatArgs(c).join('')}.img`);
      const dev = FileDevice.create(ours, c.kib * KIB);
      mkfs(dev, { ...c.opts, label: 'GUESTKIT', serial: 0x1234abcd, clock: () => new Date('2024-05-06T07:08:10Z') });
      dev.close();
      const fsck = fsckFat(ours);
      expect(fsck.ok, fsck.output).toBe(true);
      expect(blkidTag(ours, 'UUID')).toBe('1234-ABCD');
      expect(blkidTag(ours, 'LABEL')).toBe('GUESTKIT');
      expect(blkidTag(ours, 'TYPE')).toBe('vfat');
      if (g.fatType !== 'fat32' || g.clusterCount >= 65525) {
        // (mtools cannot read FAT32 volumes below the 65525-cluster minimum.)
        const r = run('mdir', ['-i', ours, '::/']);
        expect(r.stdout).toContain('Volume in drive : is GUESTKIT');
      }
      const og = parseBootSector(head(ours), 'ours');
      expect({ ...og, ebpb: undefined }).toEqual({ ...g, ebpb: undefined });
    });
  }

  itWithTools(TOOLS, 'volumes from our mkfs take writes that fsck.fat, mdir and mcopy accept (FAT12, FAT16, FAT32, 4K sectors)', () => {
    for (const [kib, opts] of [[1440, {}], [20 * KIB, {}], [100 * KIB, { type: 'fat32' }], [300 * KIB, { type: 'fat32', sectorSize: 4096 }]] as const) {
      const img = join(tmp, `w-${kib}.img`);
      const dev = FileDevice.create(img, kib * KIB);
      mkfs(dev, { ...opts, label: 'W' });
      const fs = openFat(dev, { write: true });
      const model: Model = new Map();
      fs.mkdir('/A Directory');
      model.set('/A Directory', { type: 'directory' });
      for (let i = 0; i < 30; i++) {
        const p = `/A Directory/file number ${i}.bin`;
        const d = bytes(i * 997, i);
        fs.writeFile(p, d);
        model.set(p, { type: 'file', data: d });
      }
      fs.close();
      dev.close();
      verifyImage(img, model, tmp, `mkfs ${kib} KiB`);
    }
  });

  it('refuses impossible options and devices with typed errors', () => {
    const small = new MemoryDevice(32 * KIB);
    expect(() => mkfs(small)).toThrowError(expect.objectContaining({ code: FatCode.MkfsGeometry }));
    const dev = new MemoryDevice(8 * 1024 * KIB);
    expect(() => mkfs(dev, { sectorSize: 8192 })).toThrowError(UsageError);
    expect(() => mkfs(dev, { clusterSize: 3000 })).toThrowError(expect.objectContaining({ code: FatCode.MkfsOption }));
    expect(() => mkfs(dev, { label: 'this label is too long' })).toThrowError(expect.objectContaining({ code: FatCode.MkfsOption }));
    expect(() => mkfs(dev, { label: 'A*B' })).toThrowError(expect.objectContaining({ code: FatCode.MkfsOption }));
    expect(() => mkfs(new MemoryDevice(64 * 1024 * KIB), { type: 'fat12', clusterSize: 512 })).toThrowError(expect.objectContaining({ code: FatCode.MkfsGeometry }));
    expect(() => mkfs(new MemoryDevice(8 * 1024 * KIB, { readOnly: true }))).toThrowError(expect.objectContaining({ code: FatCode.ReadOnly }));
  });

  it('writes the label entry and serial our own reader reports', () => {
    const dev = new MemoryDevice(10 * 1024 * KIB);
    mkfs(dev, { label: 'Ünï Label', serial: 0xdeadbeef, codepage: 'cp850' });
    const fs = openFat(dev, { codepage: 'cp850' });
    expect(fs.label).toBe('Ünï Label');
    expect(fs.uuid).toBe('DEAD-BEEF');
    expect(fs.readdir('/')).toEqual([]);
    expect(fs.statfs().freeBlocks).toBe(fs.geometry.clusterCount);
  });
});
