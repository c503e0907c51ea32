import { describe, expect, it } from 'vitest';
import { GuestError, MemoryDevice, type BlockDevice } from '@guestkit/disk';
import { openNtfs, type NtfsFileSystem } from '@guestkit/fs-ntfs';
import { fixturePath, readMaybeGz } from './support/shared.js';
import { Rng, mutate, fuzzIterations } from './support/fuzz.js';
import { recordDeviceOffset } from '../packages/fs-ntfs/test/helpers.js';
import { DirectoryIndex } from '../packages/fs-ntfs/src/index/directory.js';

/**
 * Seeded mutation fuzzing of MFT records, runlists and $I30 index blocks of a real ntfs-3g
 * volume: opening and walking the mutated volume either works or throws a GuestError — never a
 * TypeError/RangeError, a hang or a huge allocation. Mutations are overlaid on the image, so each
 * case costs no copy. GUESTKIT_FUZZ_ITERS scales the iteration count.
 */
class PatchedDevice implements BlockDevice {
  readonly name = 'fuzz';
  readonly sectorSize = 512;
  readonly readOnly = true;
  constructor(private base: MemoryDevice, private patches: { offset: number; bytes: Uint8Array }[]) {}
  get size() {
    return this.base.size;
  }
  readAt(offset: number, dst: Uint8Array): void {
    this.base.readAt(offset, dst);
    for (const p of this.patches) {
      const s = Math.max(offset, p.offset);
      const e = Math.min(offset + dst.length, p.offset + p.bytes.length);
      if (s < e) dst.set(p.bytes.subarray(s - p.offset, e - p.offset), s - offset);
    }
  }
  writeAt(): void {
    throw new Error('read-only');
  }
  flush(): void {}
  close(): void {}
}

/** Open and walk everything reachable, bounded: at most `budget` entries stat'ed and read. */
function exercise(dev: BlockDevice): void {
  const fs = openNtfs(dev);
  fs.safety();
  const seenDirs = new Set<number>();
  let budget = 300;
  const visit = (p: string, depth: number) => {
    if (depth > 20) return;
    for (const e of fs.readdir(p)) {
      if (--budget < 0) return;
      const full = (p === '/' ? '' : p) + '/' + e.name;
      const st = fs.stat(full);
      if (st.type === 'directory') {
        if (!seenDirs.has(st.inode)) {
          seenDirs.add(st.inode);
          visit(full, depth + 1);
        }
      } else {
        for (const s of fs.dataStreams(full)) {
          if (s.size <= 4 << 20) fs.readFile(s.name ? `${full}:${s.name}` : full, { maxBytes: 4 << 20 });
        }
      }
    }
  };
  visit('/', 0);
  fs.statfs();
}

function targets(fs: NtfsFileSystem) {
  const rec = (p: string) => fs.stat(p).inode;
  const records = [0, 5, rec('/many'), rec('/nonresident.bin'), rec('/ads.txt'), rec('/compressed/text.txt'), rec('/links/original.txt'), rec('/compressed'), 10, 3];
  const recRegions = records.map((n) => ({ offset: recordDeviceOffset(fs, n), length: fs.vol.recordSize }));
  // mapping pairs of non-resident attributes
  const runRegions: { offset: number; length: number }[] = [];
  for (const n of records) {
    const view = fs.vol.view(n);
    for (const a of view.attrs) {
      if (!a.nonResident || a.recordNumber !== n) continue;
      runRegions.push({ offset: recordDeviceOffset(fs, n) + a.offset + a.mappingPairsOffset, length: a.length - a.mappingPairsOffset });
    }
  }
  // index blocks of /many (device offsets through the allocation's runs)
  const idx = new DirectoryIndex(fs.vol, fs.vol.view(rec('/many')));
  const cs = fs.vol.clusterSize;
  const indexRegions = idx.alloc!.info.runs.filter((r) => r.lcn >= 0).map((r) => ({ offset: r.lcn * cs, length: r.length * cs }));
  return { recRegions, runRegions, indexRegions };
}

describe('NTFS mutation fuzzing (features.img)', () => {
  const bytes = new Uint8Array(readMaybeGz(fixturePath('ntfs', 'features.img.gz')));
  const base = new MemoryDevice(bytes, { readOnly: true });
  const t = targets(openNtfs(base));
  const n = fuzzIterations(100);

  for (const [what, regions, seed] of [
    ['MFT records', t.recRegions, 0x5eed01],
    ['runlists', t.runRegions, 0x5eed02],
    ['index blocks', t.indexRegions, 0x5eed03],
  ] as const) {
    it(`${what}: ${n} seeded mutations raise only GuestErrors`, () => {
      expect(regions.length).toBeGreaterThan(0);
      const rng = new Rng(seed);
      const codes = new Map<string, number>();
      let ok = 0;
      for (let i = 0; i < n; i++) {
        const r = rng.pick(regions);
        const orig = bytes.subarray(r.offset, r.offset + r.length);
        const patched = mutate(orig, rng);
        try {
          exercise(new PatchedDevice(base, [{ offset: r.offset, bytes: patched }]));
          ok++;
        } catch (e) {
          if (!(e instanceof GuestError)) {
            throw new Error(`${what} seed ${seed} iteration ${i}: ${(e as Error)?.stack ?? e}`);
          }
          codes.set(e.code, (codes.get(e.code) ?? 0) + 1);
        }
      }
      // the mutations must reach the parsers: most cases hit a check
      expect(codes.size).toBeGreaterThan(0);
      console.log(`${what}: ${ok} walks completed, errors ${JSON.stringify(Object.fromEntries(codes))}`);
    }, 300_000);
  }
});

/**
 * The write side on mutated metadata: a volume whose MFT records (files, directories, reparse
 * points, WOF and compressed files, $Extend/$Reparse) or /many's index blocks were mutated is
 * opened writable (forced) and edited; every operation either works or throws a GuestError, and a
 * failed operation does not break the next one.
 */
describe('NTFS write-path mutation fuzzing (features.img)', () => {
  const bytes = new Uint8Array(readMaybeGz(fixturePath('ntfs', 'features.img.gz')));
  const probe = openNtfs(new MemoryDevice(bytes, { readOnly: true }));
  const t = targets(probe);
  const rec = (p: string) => probe.stat(p).inode;
  const extra = ['/$Extend/$Reparse', '/symlink-abs', '/junction', '/wof-xpress.txt', '/wof-lzx.dll', '/compressed/mixed.bin', '/links']
    .map((p) => ({ offset: recordDeviceOffset(probe, rec(p)), length: probe.vol.recordSize }));
  const regions = [...t.recRegions, ...extra, ...t.indexRegions];
  const n = fuzzIterations(60);
  const enc = (s: string) => new TextEncoder().encode(s);
  const ops: [string, (fs: NtfsFileSystem) => void][] = [
    ['create', (fs) => fs.writeFile('/fuzz-new.txt', enc('new file'))],
    ['overwrite compressed', (fs) => fs.writeFile('/compressed/text.txt', enc('plain now'))],
    ['patch WOF', (fs) => fs.open('/wof-xpress.txt', { write: true }).writeAt(2, enc('XY'))],
    ['patch LZNT1', (fs) => fs.open('/compressed/mixed.bin', { write: true }).writeAt(5000, enc('patched'))],
    ['truncate', (fs) => fs.open('/nonresident.bin', { write: true }).truncate(1000)],
    ['unlink reparse point', (fs) => fs.unlink('/symlink-abs')],
    ['rmdir junction', (fs) => fs.rmdir('/junction')],
    ['unlink in many', (fs) => fs.unlink('/many/entry-00007.dat')],
    ['rename', (fs) => fs.rename('/links/original.txt', '/moved.txt')],
    ['mkdir', (fs) => fs.mkdir('/fuzz-dir')],
  ];

  it(`${n} mutated volumes edited: only GuestErrors`, () => {
    const rng = new Rng(0x5eed04);
    const codes = new Map<string, number>();
    let done = 0;
    for (let i = 0; i < n; i++) {
      const r = rng.pick(regions);
      const copy = bytes.slice();
      copy.set(mutate(copy.subarray(r.offset, r.offset + r.length), rng), r.offset);
      let fs: NtfsFileSystem;
      try {
        fs = openNtfs(new MemoryDevice(copy), { write: true, force: true });
      } catch (e) {
        if (!(e instanceof GuestError)) throw new Error(`iteration ${i}: open: ${(e as Error)?.stack ?? e}`);
        codes.set(e.code, (codes.get(e.code) ?? 0) + 1);
        continue;
      }
      for (const [what, op] of ops) {
        try {
          op(fs);
          done++;
        } catch (e) {
          if (!(e instanceof GuestError)) throw new Error(`iteration ${i}: ${what}: ${(e as Error)?.stack ?? e}`);
          codes.set(e.code, (codes.get(e.code) ?? 0) + 1);
        }
      }
    }
    expect(done).toBeGreaterThan(0);
    expect(codes.size).toBeGreaterThan(0);
    console.log(`write ops completed ${done}, errors ${JSON.stringify(Object.fromEntries(codes))}`);
  }, 300_000);
});
