import { describe, expect, it } from 'vitest';
import {
  FormatError, GuestError, LoopError, MemoryDevice, SliceDevice, UnsafeStateError, UnsupportedError, collectingLogger,
} from '@guestkit/disk';
import { mkfs, openFat, probeFat, FatCode, type FatFileSystem, type MkfsOptions } from '@guestkit/fs-fat';

/**
 * Corrupt and malicious volumes: every BPB check, chains that loop, break, leave the volume or
 * cross other files, directory loops, damaged names. Each must give a typed GuestError (or read
 * around the damage), never a hang or a TypeError, and must block writes.
 */
const MIB = 1024 * 1024;

function volume(size: number, opts: MkfsOptions = {}, build?: (fs: FatFileSystem) => void): Uint8Array {
  const dev = new MemoryDevice(size);
  mkfs(dev, { serial: 0x01020304, clock: () => new Date('2024-01-01Z'), ...opts });
  if (build) {
    const fs = openFat(dev, { write: true, clock: () => new Date('2024-01-01Z') });
    build(fs);
    fs.close();
  }
  return dev.bytes;
}

const put16 = (b: Uint8Array, off: number, v: number): void => {
  b[off] = v & 0xff;
  b[off + 1] = (v >> 8) & 0xff;
};
const put32 = (b: Uint8Array, off: number, v: number): void => {
  for (let i = 0; i < 4; i++) b[off + i] = (v >>> (8 * i)) & 0xff;
};

function errorOf(fn: () => unknown): GuestError {
  try {
    fn();
  } catch (e) {
    if (e instanceof GuestError) return e;
    throw e;
  }
  throw new Error('expected an error');
}

/** Set FAT entry `c` in every FAT copy of a FAT16 or FAT32 image. */
function setFat(b: Uint8Array, fs: FatFileSystem, c: number, v: number): void {
  const g = fs.geometry;
  for (let k = 0; k < g.numFats; k++) {
    const base = g.fatOffset + k * g.fatBytes;
    if (g.fatBits === 16) put16(b, base + c * 2, v);
    else if (g.fatBits === 32) put32(b, base + c * 4, v);
    else throw new Error('use FAT16/32 images here');
  }
}

describe('BPB validation', () => {
  const base = volume(16 * MIB, { type: 'fat16' });
  const cases: [string, (b: Uint8Array) => void, string][] = [
    ['zero bytes per sector', (b) => put16(b, 0x0b, 0), FatCode.BadBpb],
    ['256 bytes per sector', (b) => put16(b, 0x0b, 256), FatCode.BadBpb],
    ['8192 bytes per sector', (b) => put16(b, 0x0b, 8192), FatCode.BadBpb],
    ['1536 bytes per sector', (b) => put16(b, 0x0b, 1536), FatCode.BadBpb],
    ['0 sectors per cluster', (b) => { b[0x0d] = 0; }, FatCode.BadBpb],
    ['3 sectors per cluster', (b) => { b[0x0d] = 3; }, FatCode.BadBpb],
    ['no reserved sectors', (b) => put16(b, 0x0e, 0), FatCode.BadBpb],
    ['no FATs', (b) => { b[0x10] = 0; }, FatCode.BadBpb],
    ['media 0x12', (b) => { b[0x15] = 0x12; }, FatCode.BadBpb],
    ['no sectors', (b) => { put16(b, 0x13, 0); put32(b, 0x20, 0); }, FatCode.BadBpb],
    ['FAT16 without root entries', (b) => put16(b, 0x11, 0), FatCode.BadBpb],
    ['root entries not filling sectors', (b) => put16(b, 0x11, 17), FatCode.BadBpb],
    ['metadata larger than the volume', (b) => put16(b, 0x16, 0xfff0), FatCode.BadBpb],
    ['FAT too small for the clusters', (b) => put16(b, 0x16, 1), FatCode.BadBpb],
    ['FAT16 with more than 65524 clusters', (b) => { b[0x0d] = 1; put16(b, 0x13, 0); put32(b, 0x20, 0x7fffffff); }, FatCode.BadBpb],
    ['not a boot sector at all', (b) => b.fill(0, 0, 512), FatCode.NotFat],
    ['an NTFS boot sector', (b) => b.set(Buffer.from('NTFS    '), 3), FatCode.NotFat],
  ];
  for (const [what, mutate, code] of cases) {
    it(`rejects ${what} (${code})`, () => {
      const b = base.slice();
      mutate(b);
      const dev = new MemoryDevice(b);
      const e = errorOf(() => openFat(dev));
      expect(e.code).toBe(code);
      expect(e).toBeInstanceOf(FormatError);
      expect(probeFat(dev)).toBeUndefined();
    });
  }

  it('rejects FAT32 fields: root cluster, active FAT', () => {
    const b32 = volume(40 * MIB, { type: 'fat32' });
    for (const [mutate, field] of [
      [(b: Uint8Array) => put32(b, 0x2c, 1), 'BPB_RootClus'],
      [(b: Uint8Array) => put32(b, 0x2c, 0x0fffffff), 'BPB_RootClus'],
      [(b: Uint8Array) => put16(b, 0x28, 0x83), 'BPB_ExtFlags'],
    ] as const) {
      const b = b32.slice();
      mutate(b);
      const e = errorOf(() => openFat(new MemoryDevice(b)));
      expect(e.code).toBe(FatCode.BadBpb);
      expect(e.details.field).toBe(field);
    }
  });

  it('recognises and refuses exFAT with "unsupported: exFAT"', () => {
    const b = base.slice();
    b.set(Buffer.from('EXFAT   '), 3);
    const dev = new MemoryDevice(b);
    expect(probeFat(dev)).toBe('exfat');
    const e = errorOf(() => openFat(dev));
    expect(e).toBeInstanceOf(UnsupportedError);
    expect(e.message).toBe('unsupported: exFAT');
  });

  it('probes without throwing on tiny or empty devices', () => {
    expect(probeFat(new MemoryDevice(0))).toBeUndefined();
    expect(probeFat(new MemoryDevice(100))).toBeUndefined();
    expect(probeFat(new MemoryDevice(4096))).toBeUndefined();
    expect(errorOf(() => openFat(new MemoryDevice(100))).code).toBe(FatCode.NotFat);
  });

  it('reads a truncated image as far as it goes but refuses to write it', () => {
    const full = volume(8 * MIB, {}, (fs) => fs.writeFile('/a.txt', new Uint8Array([1, 2, 3])));
    const sink: { level: string; obj: object; msg?: string }[] = [];
    const cut = new MemoryDevice(full.slice(0, 4 * MIB));
    const fs = openFat(cut, { logger: collectingLogger(sink) });
    expect([...fs.readFile('/a.txt')]).toEqual([1, 2, 3]);
    expect(sink.some((s) => s.level === 'warn' && /truncated/.test(s.msg ?? ''))).toBe(true);
    expect(errorOf(() => openFat(cut, { write: true })).code).toBe(FatCode.VolumeTruncated);
    expect(errorOf(() => openFat(new MemoryDevice(full.slice(0, 8192)))).code).toBe(FatCode.VolumeTruncated);
  });
});

describe('cluster chains', () => {
  const build = (fs: FatFileSystem): void => {
    fs.mkdir('/dir');
    fs.writeFile('/dir/victim.bin', new Uint8Array(5 * fs.geometry.clusterSize).fill(7));
    fs.writeFile('/other.bin', new Uint8Array(3 * fs.geometry.clusterSize).fill(9));
  };
  for (const type of ['fat16', 'fat32'] as const) {
    const base = volume(type === 'fat32' ? 40 * MIB : 16 * MIB, { type }, build);
    const info = openFat(new MemoryDevice(base.slice()));
    const first = info.stat('/dir/victim.bin').inode;
    const max = info.geometry.maxCluster;

    const damaged = (value: (c: number) => number, at = first + 2): { fs: FatFileSystem; bytes: Uint8Array } => {
      const b = base.slice();
      setFat(b, info, at, value(at));
      return { fs: openFat(new MemoryDevice(b)), bytes: b };
    };

    it(`${type}: a chain that loops ends with LoopError(FAT_CHAIN_LOOP)`, () => {
      for (const v of [(c: number) => c, () => first]) {
        const { fs } = damaged(v);
        const e = errorOf(() => fs.readFile('/dir/victim.bin'));
        expect(e).toBeInstanceOf(LoopError);
        expect(e.code).toBe(FatCode.ChainLoop);
        expect([...fs.readFile('/other.bin').subarray(0, 2)]).toEqual([9, 9]);
      }
    });

    it(`${type}: chains into free, reserved or bad clusters, or past the volume, are typed errors`, () => {
      const bad = type === 'fat16' ? 0xfff7 : 0x0ffffff7;
      for (const [v, code] of [[0, FatCode.ChainBroken], [1, FatCode.ChainBroken], [bad, FatCode.ChainBroken], [max + 1, FatCode.ChainOutOfRange]] as const) {
        const { fs } = damaged(() => v);
        expect(errorOf(() => fs.readFile('/dir/victim.bin')).code).toBe(code);
        expect(errorOf(() => fs.check()).code).toBe(code);
      }
    });

    it(`${type}: a first cluster outside the volume or a chain shorter than the size is refused`, () => {
      const b = base.slice();
      const g = info.geometry;
      // locate the short entry of victim.bin in /dir's first cluster and patch it
      const dirOff = g.dataOffset + (info.stat('/dir').inode - 2) * g.clusterSize;
      const entry = [...Array(g.clusterSize / 32).keys()].map((i) => dirOff + i * 32).find((o) => Buffer.from(b.subarray(o, o + 6)).toString('latin1') === 'VICTIM')!;
      const patched = b.slice();
      put16(patched, entry + 0x1a, 0xfff0);
      put16(patched, entry + 0x14, type === 'fat32' ? 0x0fff : 0);
      expect(errorOf(() => openFat(new MemoryDevice(patched)).readFile('/dir/victim.bin')).code).toBe(FatCode.ChainOutOfRange);
      const bigger = b.slice();
      put32(bigger, entry + 0x1c, 6 * g.clusterSize);
      const fs = openFat(new MemoryDevice(bigger), { write: true });
      expect(errorOf(() => fs.readFile('/dir/victim.bin')).code).toBe(FatCode.ChainShort);
      expect(errorOf(() => fs.writeFile('/new.txt', new Uint8Array(1))).code).toBe(FatCode.ChainShort);
    });

    it(`${type}: cross-linked files read, but check() and writes refuse the volume`, () => {
      // other.bin's last cluster now continues into victim.bin's chain
      const otherFirst = info.stat('/other.bin').inode;
      const b = base.slice();
      setFat(b, info, otherFirst + 2, first + 1);
      const dev = new MemoryDevice(b);
      const fs = openFat(dev, { write: true });
      expect(fs.readFile('/dir/victim.bin').length).toBe(5 * info.geometry.clusterSize);
      expect(fs.readFile('/other.bin').length).toBe(3 * info.geometry.clusterSize);
      expect(errorOf(() => fs.check()).code).toBe(FatCode.CrossLinked);
      const before = dev.bytes.slice();
      expect(errorOf(() => fs.unlink('/other.bin')).code).toBe(FatCode.CrossLinked);
      expect(Buffer.from(dev.bytes).equals(Buffer.from(before))).toBe(true); // nothing written
    });
  }
});

describe('directories', () => {
  const base = volume(8 * MIB, {}, (fs) => {
    fs.mkdir('/a');
    fs.mkdir('/a/b');
    fs.writeFile('/a/b/f.txt', new Uint8Array([1]));
  });
  const info = openFat(new MemoryDevice(base.slice()));
  const g = info.geometry;
  const bCluster = info.stat('/a/b').inode;
  const aCluster = info.stat('/a').inode;
  const bDirOff = g.dataOffset + (bCluster - 2) * g.clusterSize;

  it('a directory containing its ancestor: walks end, check() reports FAT_DIR_LOOP, writes are refused', () => {
    const b = base.slice();
    // Turn f.txt (slot 2 of /a/b) into a subdirectory entry pointing at /a.
    const e = bDirOff + 2 * 32;
    b[e + 0x0b] = 0x10;
    put16(b, e + 0x1a, aCluster);
    put32(b, e + 0x1c, 0);
    const fs = openFat(new MemoryDevice(b), { write: true });
    const paths = [...fs.walk('/')].map((w) => w.path);
    expect(paths.length).toBeLessThan(20);
    expect(paths).toContain('/a/b/f.txt/b');
    expect(fs.readdir('/a/b/f.txt/b/f.txt/b')).toHaveLength(1); // explicit paths still resolve
    const err = errorOf(() => fs.check());
    expect(err).toBeInstanceOf(LoopError);
    expect(err.code).toBe(FatCode.DirLoop);
    expect(errorOf(() => fs.mkdir('/new')).code).toBe(FatCode.DirLoop);
  });

  it('a subdirectory entry with cluster 0 or a directory chain over 65536 entries is refused', () => {
    const b = base.slice();
    const aEntry = (g.rootDirOffset) + [...Array(16).keys()].find((i) => b[g.rootDirOffset + i * 32] === 0x41)! * 32;
    put16(b, aEntry + 0x1a, 0);
    const fs = openFat(new MemoryDevice(b));
    expect(errorOf(() => fs.readdir('/a')).code).toBe(FatCode.BadDirCluster);
    expect(errorOf(() => fs.check()).code).toBe(FatCode.BadDirCluster);

    // /a/b's chain continues through more than 2 MiB of clusters
    const big = volume(16 * MIB, { type: 'fat16', clusterSize: 512 }, (f) => f.mkdir('/d'));
    const f2 = openFat(new MemoryDevice(big));
    const d = f2.stat('/d').inode;
    const n = (2 * MIB) / 512 + 2;
    for (let k = 0; k < n; k++) setFat(big, f2, d + k, k === n - 1 ? 0xffff : d + k + 1);
    const e = errorOf(() => openFat(new MemoryDevice(big)).readdir('/d'));
    expect(e.code).toBe(FatCode.DirTooLarge);
  });

  it('ignores orphaned or mismatched long-name slots and everything after the end marker', () => {
    const b = volume(8 * MIB, {}, (fs) => {
      fs.writeFile('/A Long Name.txt', new Uint8Array(1));
      fs.writeFile('/second long name.txt', new Uint8Array(2));
    });
    const root = openFat(new MemoryDevice(b.slice())).geometry.rootDirOffset;
    const bad = b.slice();
    bad[root + 0x0d] = bad[root + 0x0d]! ^ 0xff; // checksum of the first LFN slot of "A Long Name.txt"
    const fs = openFat(new MemoryDevice(bad));
    expect(fs.readdir('/').map((e) => e.name)).toEqual(['ALONGN~1.TXT', 'second long name.txt']);
    expect(fs.stat('/alongn~1.txt').size).toBe(1);
    const ended = b.slice();
    ended.fill(0, root, root + 32); // 0x00 in the first slot ends the directory
    expect(openFat(new MemoryDevice(ended)).readdir('/')).toEqual([]);
  });
});

describe('volume state', () => {
  it('refuses to write a dirty volume unless forced, and then leaves the flag set', () => {
    const b = volume(8 * MIB);
    b[0x25] = b[0x25]! | 1;
    const dev = new MemoryDevice(b);
    const e = errorOf(() => openFat(dev, { write: true }));
    expect(e).toBeInstanceOf(UnsafeStateError);
    expect(e.code).toBe(FatCode.Dirty);
    expect(openFat(dev).readdir('/')).toEqual([]);
    const fs = openFat(dev, { write: true, force: true });
    expect(fs.wasDirty).toBe(true);
    fs.writeFile('/x', new Uint8Array(1));
    fs.close();
    expect(dev.bytes[0x25]! & 1).toBe(1);
  });

  it('opens a volume inside a partition slice and refuses read-only devices for writing', () => {
    const disk = new MemoryDevice(9 * MIB);
    const part = new SliceDevice(disk, MIB, 8 * MIB, { name: 'p1' });
    mkfs(part, { hiddenSectors: 2048 });
    expect(probeFat(part)).toBe('fat12');
    expect(probeFat(disk)).toBeUndefined();
    const ro = new MemoryDevice(disk.bytes.slice(MIB), { readOnly: true });
    expect(errorOf(() => openFat(ro, { write: true })).code).toBe(FatCode.ReadOnly);
    expect(errorOf(() => openFat(ro).writeFile('/x', new Uint8Array(1))).code).toBe(FatCode.ReadOnly);
  });
});
