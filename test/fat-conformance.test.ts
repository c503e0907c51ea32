import { describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';
import { FileDevice, SliceDevice, UnsupportedError, type BlockDevice } from '@guestkit/disk';
import { openFat, probeFat, FatCode, type FatFileSystem } from '@guestkit/fs-fat';
import { describeWithShared, readMaybeGz, tempDir } from './support/shared.js';
import { itWithTools } from './support/tools.js';
import { blkidTag, fsckList, hostTree, mcopyAll, mdirTree, mtoolsCannotRead, sha256 } from '../packages/fs-fat/test/support/oracles.js';

/**
 * Every image in ../shared/testdata/fat: FAT volumes must list exactly what the upstream expected
 * listing (*_full_test.txt) or mdir says, with file contents and timestamps equal to what mcopy
 * extracts, and label/UUID equal to blkid's; exFAT volumes are recognised and refused.
 */
const ORACLES = ['mdir', 'mcopy', 'blkid', 'tar', 'fsck.fat'];

function images(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.(raw|bin|img)(\.gz)?$|\.tgz$/.test(e.name)) out.push(p);
    }
  };
  walk(dir);
  return out.sort();
}

/** Materialise an image as a plain file (gunzip, or untar the sparse raw inside a .tgz). */
function materialise(path: string, tmp: string): string {
  if (path.endsWith('.tgz')) {
    const r = spawnSync('tar', ['-xzf', path, '-C', tmp], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`tar failed: ${r.stderr}`);
    const raw = readdirSync(tmp).find((f) => f.endsWith('.raw'));
    if (!raw) throw new Error(`no .raw inside ${path}`);
    return join(tmp, raw);
  }
  const out = join(tmp, 'image.raw');
  writeFileSync(out, readMaybeGz(path));
  return out;
}

/** The first MBR partition of a partitioned image, else the whole device. */
function volumeOf(dev: BlockDevice): BlockDevice {
  const s = new Uint8Array(512);
  dev.readAt(0, s);
  const type = s[0x1c2]!;
  const lba = s[0x1c6]! | (s[0x1c7]! << 8) | (s[0x1c8]! << 16) | (s[0x1c9]! * 0x1000000);
  const count = s[0x1ca]! | (s[0x1cb]! << 8) | (s[0x1cc]! << 16) | (s[0x1cd]! * 0x1000000);
  const partitioned = s[510] === 0x55 && s[511] === 0xaa && type !== 0 && lba > 0 && probeFat(dev) === undefined;
  return partitioned ? new SliceDevice(dev, lba * 512, count * 512, { name: `${dev.name} › p1` }) : dev;
}

/** "/a\t2021-12-26+15:15:02.0000000000" lines of the dfir_ntfs expected listings (made in UTC+3). */
function expectedListing(txt: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of readFileSync(txt, 'utf8').split('\n')) {
    const match = /^(.*)[\t ](\d{4}-\d\d-\d\d\+\d\d:\d\d:\d\d)\.\d+$/.exec(line);
    if (match) m.set(match[1]!, match[2]!);
  }
  return m;
}

function walkAll(fs: FatFileSystem): { path: string; type: string; mtime: Date; size: number }[] {
  return [...fs.walk('/')].map((w) => ({ path: w.path, type: w.entry.type, mtime: w.entry.mtime!, size: w.entry.size }));
}

describeWithShared('fs-fat conformance: ../shared/testdata/fat', (shared) => {
  const root = join(shared, 'testdata', 'fat');
  const list = existsSync(root) ? images(root) : [];

  it('finds the FAT corpus', () => {
    expect(list.length).toBeGreaterThanOrEqual(15);
  });

  for (const img of list) {
    const name = relative(root, img);
    itWithTools(ORACLES, name, () => {
      const { dir: tmp, cleanup } = tempDir('gk-fat-conf-');
      try {
        const file = materialise(img, tmp);
        const whole = FileDevice.open(file);
        try {
          const dev = volumeOf(whole);
          const kind = probeFat(dev);
          expect(kind).toBeDefined();
          if (kind === 'exfat') {
            let err: unknown;
            try {
              openFat(dev);
            } catch (e) {
              err = e;
            }
            expect(err).toBeInstanceOf(UnsupportedError);
            expect((err as UnsupportedError).code).toBe(FatCode.Exfat);
            expect((err as Error).message).toBe('unsupported: exFAT');
            return;
          }
          const fs = openFat(dev);
          expect(fs.fatType).toBe(kind);
          // Label and serial as blkid (and so libguestfs vfs-label/vfs-uuid) report them.
          expect(fs.uuid).toBe(blkidTag(file, 'UUID'));
          expect(fs.label).toBe(blkidTag(file, 'LABEL'));

          const ours = walkAll(fs);
          const txt = img.replace(/(\.raw\.gz|\.tgz)$/, '_full_test.txt');
          if (existsSync(txt) && txt !== img) {
            // Upstream listing: same paths; times are local time in UTC+3 (MSK) where it was made.
            const exp = expectedListing(txt);
            expect(ours.map((o) => o.path).sort()).toEqual([...exp.keys()].sort());
            for (const o of ours) {
              const shifted = new Date(o.mtime.getTime() + 3 * 3600_000).toISOString().slice(0, 19).replace('T', '+');
              expect(`${o.path} ${shifted}`).toBe(`${o.path} ${exp.get(o.path)}`);
            }
          }
          if (mtoolsCannotRead(file)) {
            // mtools 4.0.32 misreads this volume ("Bad FAT entry": FAT32 with 2048-byte sectors and
            // 254 clusters; sleuthkit cannot open it either). dosfstools walks it: same paths.
            expect(ours.map((o) => o.path).sort()).toEqual(fsckList(file, fs.label).sort());
            for (const o of ours.filter((x) => x.type === 'file')) expect(fs.readFile(o.path).length).toBe(o.size);
            expect(fs.check().files).toBe(ours.filter((x) => x.type === 'file').length);
            return;
          }
          // mdir -/ lists the same tree in the same order.
          expect(ours.map((o) => ({ path: o.path, type: o.type }))).toEqual(mdirTree(file));

          // Contents and mtimes equal what mcopy extracts.
          const out = join(tmp, 'mcopy');
          if (ours.length > 0) mcopyAll(file, out);
          const host = hostTree(out);
          for (const o of ours) {
            const h = host.get(o.path);
            expect(h?.type, o.path).toBe(o.type);
            if (o.type === 'file') {
              const data = fs.readFile(o.path);
              expect(data.length, o.path).toBe(o.size);
              expect(sha256(data), o.path).toBe(h!.sha);
              expect(o.mtime.getTime(), o.path).toBe(h!.mtimeMs);
            }
          }
          expect(host.size).toBe(ours.length);
          // The whole-volume consistency walk accepts every real image.
          expect(fs.check().directories).toBeGreaterThanOrEqual(1);
          fs.close();
        } finally {
          whole.close();
        }
      } finally {
        cleanup();
      }
    });
  }
});

describe('fs-fat conformance corpus helper', () => {
  it('parses the expected-listing format', () => {
    const { dir, cleanup } = tempDir('gk-fat-');
    try {
      const p = join(dir, 'x.txt');
      writeFileSync(p, '/a b\t2021-12-26+15:15:02.0000000000\n/c 2021-01-02+03:04:06.0000000000\n');
      expect([...expectedListing(p)]).toEqual([['/a b', '2021-12-26+15:15:02'], ['/c', '2021-01-02+03:04:06']]);
    } finally {
      cleanup();
    }
  });
});
