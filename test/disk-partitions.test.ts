/**
 * Partition tables against independent tools: every file of ../shared/testdata/partitions, the
 * fixtures made with sfdisk/sgdisk, and tables guestkit creates — compared with sfdisk --json,
 * fdisk -l -b 4096 and sgdisk -p / -v.
 */
import { describe, expect, it } from 'vitest';
import { readdirSync, writeFileSync, readFileSync } from 'node:fs';
import { join, basename } from 'node:path';
import { execFileSync } from 'node:child_process';
import {
  FileDevice, openImage, readPartitionTable, writeMbr, writeGpt, GPT_TYPES, type PartitionTable,
} from '@guestkit/disk';
import { describeWithShared, tempDir, readMaybeGz, fixturePath } from './support/shared.js';
import { describeWithTools, itWithTools, runTool } from './support/tools.js';
import { fdiskTable, normalise, sfdiskTable, sgdiskTable } from './disk-oracles.js';

function read(path: string, sectorSize?: number): PartitionTable {
  const d = openImage(path, { format: 'raw' });
  try {
    return readPartitionTable(d, sectorSize ? { sectorSize } : {});
  } finally {
    d.close();
  }
}

/** Unpack a shared partition sample into `dir` (gz, or the plain tar named .tgz). */
function unpack(src: string, dir: string): string {
  const name = basename(src);
  if (name.endsWith('.tgz')) {
    execFileSync('tar', ['-xf', src, '-C', dir]);
    const inner = execFileSync('tar', ['-tf', src]).toString().trim().split('\n')[0]!;
    return join(dir, inner);
  }
  const out = join(dir, name.replace(/\.gz$/, ''));
  writeFileSync(out, readMaybeGz(src));
  return out;
}

describeWithShared('shared partition corpus', (shared) => {
  const root = join(shared, 'testdata', 'partitions');
  const files = readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name))
    .sort();
  it('has files', () => expect(files.length).toBeGreaterThan(0));
  describeWithTools(['sfdisk', 'fdisk', 'sgdisk', 'tar'], 'agrees with sfdisk --json / fdisk -b 4096 / sgdisk -p', () => {
    for (const f of files) {
      it(basename(f), () => {
        const t = tempDir();
        try {
          const img = unpack(f, t.dir);
          const ours = read(img);
          expect(normalise(ours)).toEqual(sfdiskTable(img));
          if (/4096/.test(basename(f))) {
            // The same disk read with 4096-byte sectors: the logical partitions appear.
            const ours4k = read(img, 4096);
            expect(normalise(ours4k)).toEqual(fdiskTable(img, 4096));
            expect(ours4k.partitions.some((p) => p.logical) || ours4k.partitions.every((p) => !p.logical)).toBe(true);
          }
          if (ours.scheme === 'gpt') {
            const sg = sgdiskTable(img);
            expect(ours.diskGuid).toBe(sg.guid);
            expect(ours.partitions.map((p) => ({ n: p.number, first: p.start / 512, last: (p.start + p.size) / 512 - 1, name: p.name }))).toEqual(sg.partitions);
          }
          // Every partition opens as a slice named after the disk, reading the right bytes.
          const d = openImage(img, { format: 'raw' });
          for (const p of readPartitionTable(d).partitions.filter((x) => x.start + x.size <= d.size && !x.extended)) {
            const s = p.open();
            expect(s.name).toBe(`${basename(img)} › p${p.number}`);
            const a = new Uint8Array(Math.min(4096, s.size));
            const b = new Uint8Array(a.length);
            s.readAt(0, a);
            d.readAt(p.start, b);
            expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
          }
          d.close();
        } finally {
          t.cleanup();
        }
      });
    }
  });
});

describeWithTools(['sfdisk', 'sgdisk'], 'committed partition fixtures (made with sfdisk/sgdisk)', () => {
  const dir = fixturePath('partitions');
  const names = readdirSync(dir).filter((f) => f.endsWith('.img.gz'));
  for (const n of names) {
    it(n, () => {
      const t = tempDir();
      try {
        const img = unpack(join(dir, n), t.dir);
        const ours = read(img);
        expect(ours.warnings).toEqual([]);
        expect(normalise(ours)).toEqual(sfdiskTable(img));
        // ... and equal to what sfdisk said when the fixture was made.
        const recorded = JSON.parse(readFileSync(join(dir, n.replace(/\.img\.gz$/, '.sfdisk.json')), 'utf8'));
        expect(normalise(ours).partitions.map((p) => [p.n, p.start, p.size])).toEqual(
          (recorded.partitiontable.partitions as { node: string; start: number; size: number }[]).map((p) => [Number(/(\d+)$/.exec(p.node)![1]), p.start, p.size]),
        );
        if (ours.scheme === 'gpt') expect(runTool('sgdisk', ['-v', img]).toString()).toContain('No problems found');
      } finally {
        t.cleanup();
      }
    });
  }
});

describe('tables guestkit creates', () => {
  const MiB = 1024 * 1024;

  itWithTools(['sfdisk'], 'MBR with primaries, a bootable flag and 4 logical partitions agrees with sfdisk', () => {
    const t = tempDir();
    try {
      const img = join(t.dir, 'mbr.img');
      const dev = FileDevice.create(img, 64 * MiB);
      const table = writeMbr(dev, {
        diskSignature: 0x1234abcd,
        partitions: [
          { start: 1 * MiB, size: 8 * MiB, type: 0x07, bootable: true },
          { start: 9 * MiB, size: 8 * MiB, type: 0x83 },
          { start: 20 * MiB, size: 4 * MiB, type: 0x0c, logical: true },
          { start: 26 * MiB, size: 4 * MiB, type: 0x82, logical: true },
          { start: 32 * MiB, size: 10 * MiB, type: 0x83, logical: true },
          { start: 50 * MiB, size: 14 * MiB - 512, type: 0x8e, logical: true },
        ],
      });
      dev.close();
      expect(table.partitions.map((p) => p.number)).toEqual([1, 2, 3, 5, 6, 7, 8]);
      expect(table.partitions.find((p) => p.number === 3)!.extended).toBe(true);
      expect(normalise(table)).toEqual(sfdiskTable(img));
      expect(normalise(read(img))).toEqual(normalise(table));
      expect(runTool('sfdisk', ['--verify', img]).toString()).toContain('No errors detected');
    } finally {
      t.cleanup();
    }
  });

  itWithTools(['sfdisk', 'sgdisk'], 'GPT with names, attributes and sparse numbering agrees with sfdisk and sgdisk (-v clean)', () => {
    const t = tempDir();
    try {
      const img = join(t.dir, 'gpt.img');
      const dev = FileDevice.create(img, 64 * MiB);
      const table = writeGpt(dev, {
        diskGuid: '11111111-2222-3333-4444-555555555555',
        partitions: [
          { start: 1 * MiB, size: 100 * 1024, typeGuid: GPT_TYPES.efiSystem, name: 'EFI system partition', attributes: 1n, guid: 'AAAAAAAA-0000-4000-8000-000000000001' },
          { start: 2 * MiB, size: 16 * MiB, typeGuid: GPT_TYPES.microsoftReserved, name: 'Microsoft reserved partition' },
          { start: 18 * MiB, size: 30 * MiB, typeGuid: GPT_TYPES.microsoftBasicData, name: 'Basic data partition', attributes: (1n << 63n) | (1n << 60n), number: 4 },
          { start: 48 * MiB, size: 10 * MiB, typeGuid: GPT_TYPES.windowsRecovery, name: 'Récupération ✓', attributes: 1n | 4n, number: 128 },
        ],
      });
      dev.close();
      expect(table.partitions.map((p) => p.number)).toEqual([1, 2, 4, 128]);
      expect(table.warnings).toEqual([]);
      expect(normalise(table)).toEqual(sfdiskTable(img));
      const sg = sgdiskTable(img);
      expect(sg.guid).toBe('11111111-2222-3333-4444-555555555555');
      expect(sg.partitions.map((p) => p.n)).toEqual([1, 2, 4, 128]);
      expect(runTool('sgdisk', ['-v', img]).toString()).toContain('No problems found');
    } finally {
      t.cleanup();
    }
  });

  itWithTools(['fdisk'], 'GPT and MBR with 4096-byte sectors agree with fdisk -b 4096, and GPT is detected without being told', () => {
    const t = tempDir();
    try {
      const g = join(t.dir, 'gpt4k.img');
      let dev = FileDevice.create(g, 64 * MiB);
      writeGpt(dev, {
        sectorSize: 4096,
        partitions: [
          { start: 1 * MiB, size: 20 * MiB, typeGuid: GPT_TYPES.microsoftBasicData, name: 'data' },
          { start: 21 * MiB, size: 40 * MiB, typeGuid: GPT_TYPES.linuxFilesystem, name: 'linux', number: 3 },
        ],
      });
      dev.close();
      const auto = read(g); // no sector size given: found at LBA 1 of 4096
      expect(auto.sectorSize).toBe(4096);
      expect(normalise(auto)).toEqual(fdiskTable(g, 4096));

      const m = join(t.dir, 'mbr4k.img');
      dev = FileDevice.create(m, 64 * MiB);
      writeMbr(dev, {
        sectorSize: 4096,
        partitions: [
          { start: 1 * MiB, size: 10 * MiB, type: 0x07, bootable: true },
          { start: 12 * MiB, size: 10 * MiB, type: 0x83, logical: true },
          { start: 24 * MiB, size: 10 * MiB, type: 0x83, logical: true },
        ],
      });
      dev.close();
      expect(normalise(read(m, 4096))).toEqual(fdiskTable(m, 4096));
    } finally {
      t.cleanup();
    }
  });

  itWithTools(['sgdisk', 'sfdisk'], 'a GPT with a destroyed primary header is read from the backup, as sgdisk/sfdisk do', () => {
    const t = tempDir();
    try {
      const img = join(t.dir, 'g.img');
      const dev = FileDevice.create(img, 32 * MiB);
      const before = writeGpt(dev, { partitions: [{ start: MiB, size: 8 * MiB, typeGuid: GPT_TYPES.linuxFilesystem, name: 'x' }] });
      dev.writeAt(512, new Uint8Array(512)); // wipe LBA 1
      dev.close();
      const after = read(img);
      expect(after.gpt!.usedBackup).toBe(true);
      expect(after.warnings.join('\n')).toMatch(/primary GPT header is invalid .*using the backup/);
      expect(normalise(after)).toEqual(normalise(before));
      expect(normalise(after).partitions).toEqual(sfdiskTable(img).partitions);
    } finally {
      t.cleanup();
    }
  });
});
