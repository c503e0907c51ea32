import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { MemoryDevice, UnsupportedError, UsageError, NotFoundError } from '@guestkit/disk';
import { openNtfs, probeNtfs, ReparseTag, type NtfsFileSystem } from '@guestkit/fs-ntfs';
import { fixturePath, readMaybeGz, tempDir, sharedDir } from './support/shared.js';
import { describeWithTools } from './support/tools.js';
import { gunzipSparse, compareWithTsk, recordDeviceOffset, sha256 } from '../packages/fs-ntfs/test/helpers.js';

/**
 * The committed fixtures (test/fixtures/scripts/make-ntfs-fixtures.sh: mkntfs + ntfs-3g): each
 * file exists for one reason; the whole volume is also compared with fls/icat.
 */
function load(name: string): { fs: NtfsFileSystem; bytes: Uint8Array } {
  const bytes = new Uint8Array(readMaybeGz(fixturePath('ntfs', name)));
  return { fs: openNtfs(new MemoryDevice(bytes, { name, readOnly: true })), bytes };
}

const text = () => Buffer.concat(Array.from({ length: 6000 }, (_, i) => Buffer.from(`line ${String(i).padStart(6, '0')} of a compressible text file\n`)));

describe('NTFS fixture features.img (512-byte clusters)', () => {
  const { fs, bytes } = load('features.img.gz');

  it('reports the volume facts', () => {
    expect(probeNtfs(new MemoryDevice(bytes))).toBe(true);
    expect(fs.type).toBe('ntfs');
    expect(fs.label).toBe('guestkit features');
    expect(fs.uuid).toBe('3C4A5B6D7E8F9012');
    expect(fs.version).toBe('3.1');
    expect(fs.clusterSize).toBe(512);
    const s = fs.safety();
    expect(s).toMatchObject({ safeToWrite: true, dirty: false, hibernation: { present: false } });
    expect(['clean', 'empty']).toContain(s.logFile.state);
  });

  it('reads resident and non-resident data', () => {
    expect(Buffer.from(fs.readFile('/resident.txt')).toString()).toBe('resident file\n');
    expect(fs.stat('/resident.txt').flags?.resident).toBe(true);
    const nr = fs.stat('/nonresident.bin');
    expect(nr.flags?.resident).toBe(false);
    expect(nr.size).toBe(150000);
    expect(nr.allocatedSize).toBeGreaterThanOrEqual(150000);
  });

  it('reads sparse files with holes as zeros', () => {
    const st = fs.stat('/sparse.bin');
    expect(st.flags?.sparse).toBe(true);
    expect(st.size).toBe(5 * 1024 * 1024);
    expect(st.allocatedSize).toBeLessThan(64 * 1024);
    const d = fs.readFile('/sparse.bin');
    expect(Buffer.from(d.subarray(0, 8)).toString()).toBe('headhead');
    expect(d.subarray(4096, 3 * 1024 * 1024).every((b) => b === 0)).toBe(true);
    expect(Buffer.from(d.subarray(3 * 1024 * 1024, 3 * 1024 * 1024 + 8)).toString()).toBe('tailtail');
  });

  it('decompresses LZNT1 files', () => {
    const st = fs.stat('/compressed/text.txt');
    expect(st.flags?.compressed).toBe(true);
    expect(st.allocatedSize).toBeLessThan(st.size / 2);
    expect(sha256(fs.readFile('/compressed/text.txt'))).toBe(sha256(text()));
    const mixed = fs.readFile('/compressed/mixed.bin');
    expect(mixed.length).toBe(233333);
    expect(Buffer.from(mixed.subarray(0, 40000)).equals(text().subarray(0, 40000))).toBe(true);
    expect(mixed.subarray(110000, 200000).every((b) => b === 0)).toBe(true);
    // a read that starts inside a compression unit
    const h = fs.open('/compressed/text.txt');
    const part = new Uint8Array(10000);
    h.readAt(123457, part);
    expect(Buffer.from(part).equals(text().subarray(123457, 133457))).toBe(true);
  });

  it('lists and reads alternate data streams as path:stream', () => {
    const st = fs.stat('/ads.txt');
    expect(st.streams?.sort()).toEqual(['big', 'one']);
    expect(Buffer.from(fs.readFile('/ads.txt:one')).toString()).toBe('first stream\n');
    expect(fs.stat('/ads.txt:big').size).toBe(20000);
    expect(fs.stat('/ADS.TXT:one').name).toBe('ads.txt:one');
    expect(fs.tryStat('/ads.txt:missing')).toBeUndefined();
    expect(() => fs.readFile('/ads.txt:missing')).toThrow(NotFoundError);
  });

  it('resolves hard links to one record', () => {
    const a = fs.stat('/links/original.txt');
    const b = fs.stat('/links/hardlink.txt');
    const c = fs.stat('/links/sub/other name.txt');
    expect(new Set([a.inode, b.inode, c.inode]).size).toBe(1);
    expect(a.links).toBe(3);
    expect(c.name).toBe('other name.txt');
  });

  it('resolves DOS 8.3 aliases and lists each file once under its long name', () => {
    const st = fs.stat('/Long File Name.txt');
    expect(st.shortName).toBe('LONGFI~1.TXT');
    const alias = fs.stat('/longfi~1.txt');
    expect(alias.inode).toBe(st.inode);
    expect(alias.name).toBe('Long File Name.txt');
    const names = fs.readdir('/').map((e) => e.name);
    expect(names.filter((n) => n === 'Long File Name.txt')).toHaveLength(1);
    expect(names).not.toContain('LONGFI~1.TXT');
    expect(fs.resolveCase('/LONGFI~1.TXT')).toBe('/Long File Name.txt');
  });

  it('looks names up case-insensitively through $UpCase', () => {
    expect(fs.resolveCase('/mixed case.txt')).toBe('/MiXeD CaSe.TXT');
    expect(Buffer.from(fs.readFile('/ÜNÏCÖDÉ ☃ NAME.TXT')).toString()).toBe('unicode\n');
    expect(fs.resolveCase('/DEEP/A/B/C/D/E/F/G/LEAF.TXT')).toBe('/deep/a/b/c/d/e/f/g/leaf.txt');
    expect(fs.tryStat('/no/such/file')).toBeUndefined();
    expect(fs.tryStat('/resident.txt/below')).toBeUndefined();
  });

  it('lists a directory of 3000 entries in collation order', () => {
    const e = fs.readdir('/many');
    expect(e).toHaveLength(3000);
    expect(e.map((x) => x.name)).toEqual(Array.from({ length: 3000 }, (_, i) => `entry-${String(i).padStart(5, '0')}.dat`));
    expect(fs.stat('/many/ENTRY-02999.DAT').size).toBe(0);
  });

  it('reports symlink and junction targets', () => {
    const abs = fs.stat('/symlink-abs');
    expect(abs).toMatchObject({ type: 'symlink', reparseTag: ReparseTag.Symlink, target: '\\??\\C:\\Windows\\System32' });
    expect(fs.stat('/symlink-rel').target).toBe('..\\resident.txt');
    expect(fs.stat('/junction')).toMatchObject({ type: 'symlink', reparseTag: ReparseTag.MountPoint, target: '\\??\\C:\\Users' });
    expect(fs.readdir('/').find((x) => x.name === 'junction')?.type).toBe('symlink');
  });

  it('reads a WOF XPRESS4K file (MS-XCA example data)', () => {
    expect(fs.stat('/wof-xpress.txt').reparseTag).toBe(0x80000017);
    expect(Buffer.from(fs.readFile('/wof-xpress.txt')).toString()).toBe('abcdefghijklmnopqrstuvwxyz');
  });

  it('refuses WOF LZX with a clear unsupported error', () => {
    expect(() => fs.readFile('/wof-lzx.dll')).toThrow(UnsupportedError);
    expect(() => fs.readFile('/wof-lzx.dll')).toThrow(/LZX/);
    expect(fs.readFile('/wof-lzx.dll:WofCompressedData')).toHaveLength(5000);
  });

  it('refuses encrypted data clearly', () => {
    const copy = bytes.slice();
    const rec = fs.stat('/nonresident.bin').inode;
    const at = recordDeviceOffset(fs, rec);
    const view = fs.vol.view(rec);
    const data = view.attrs.find((a) => a.type === 0x80 && a.name === '')!;
    copy[at + data.offset + 0x0d] = copy[at + data.offset + 0x0d]! | 0x40; // ATTR flags |= ENCRYPTED (0x4000)
    const enc = openNtfs(new MemoryDevice(copy));
    expect(enc.stat('/nonresident.bin').flags?.encrypted).toBe(true);
    expect(() => enc.readFile('/nonresident.bin')).toThrow(UnsupportedError);
    expect(() => enc.readFile('/nonresident.bin')).toThrow(/encrypted/);
  });

  it('gives timestamps from $STANDARD_INFORMATION', () => {
    const st = fs.stat('/resident.txt');
    // faketime started the clock at 03:04:05; ntfs-3g wrote within that second
    expect(st.mtime.toISOString().slice(0, 19)).toBe('2024-01-02T03:04:05');
    expect(st.birthtime.toISOString().slice(0, 19)).toBe('2024-01-02T03:04:05');
    expect(st.atime.getTime()).toBeGreaterThanOrEqual(st.birthtime.getTime());
  });

  it('refuses directory reads and writes on a read-only volume', () => {
    expect(() => fs.readFile('/many')).toThrow(UsageError);
    expect(() => fs.readdir('/resident.txt')).toThrow(UsageError);
    expect(() => fs.writeFile('/x', new Uint8Array(1))).toThrow(/read-only/);
  });
});

describe('NTFS fixture hibernated.img', () => {
  it('detects hibernation and still reads', () => {
    const { fs } = load('hibernated.img.gz');
    const s = fs.safety();
    expect(s.hibernation).toEqual({ present: true, magic: 'hibr', hibernated: true });
    expect(s.safeToWrite).toBe(false);
    expect(s.reasons.join()).toMatch(/hibernated/);
    expect(Buffer.from(fs.readFile('/file.txt')).toString()).toBe('data\n');
  });
});

describe('NTFS fixture sector4k.img (4Kn)', () => {
  it('reads a volume with 4096-byte sectors', () => {
    const { fs } = load('sector4k.img.gz');
    expect(fs.vol.boot.bytesPerSector).toBe(4096);
    expect(fs.uuid).toBe('0123456789ABCDEF');
    expect(fs.readdir('/dir')).toHaveLength(600);
    expect(Buffer.from(fs.readFile('/dir/f0599.txt')).toString()).toBe('file 599\n');
  });
});

describeWithTools(['fls', 'icat'], 'NTFS fixtures against sleuthkit', () => {
  const tmp = tempDir('ntfs-fix-');
  afterAll(() => tmp.cleanup());
  for (const name of ['features.img.gz', 'sector4k.img.gz', 'hibernated.img.gz']) {
    const raw = join(tmp.dir, name.replace('.gz', ''));
    beforeAll(async () => gunzipSparse(fixturePath('ntfs', name), raw));
    it(`${name}: tree and bytes equal fls/icat`, () => {
      const fs = openNtfs(new MemoryDevice(new Uint8Array(readFileSync(raw)), { readOnly: true }));
      // WOF files: sleuthkit returns the placeholder, guestkit the decompressed bytes (checked
      // above); above 150 streams every k-th is hashed
      const r = compareWithTsk(fs, raw, 0, (a, b) => expect(a).toEqual(b), { maxHashed: 150, unsupported: ['wof-lzx.dll', 'wof-xpress.txt'] });
      expect(r.hashed).toBeGreaterThan(10);
    }, 120_000);
  }
});

describe('NTFS corrupt cases built from features.img', () => {
  const bytes = new Uint8Array(readMaybeGz(fixturePath('ntfs', 'features.img.gz')));
  const fs = openNtfs(new MemoryDevice(bytes, { readOnly: true }));

  it('an index block pointing back at itself is a LoopError, not a hang', async () => {
    const { DirectoryIndex } = await import('../packages/fs-ntfs/src/index/directory.js');
    const { LoopError } = await import('@guestkit/disk');
    const idx = new DirectoryIndex(fs.vol, fs.vol.view(fs.stat('/many').inode));
    // an internal block: one whose entries have sub-nodes
    const internal = idx.root.entries.filter((e) => e.subVcn >= 0).map((e) => idx.node(e.subVcn)).find((n) => n.entries.some((e) => e.subVcn >= 0));
    expect(internal).toBeDefined();
    const cs = fs.clusterSize;
    const off = internal!.vcn * idx.vcnUnit;
    const run = idx.alloc!.info.runs.find((r) => off >= r.vcn * cs && off < (r.vcn + r.length) * cs)!;
    const blockAt = run.lcn * cs + (off - run.vcn * cs);
    const e = internal!.entries.find((x) => x.subVcn >= 0 && (x.offset + x.length - 8) % 512 < 502)!;
    const copy = bytes.slice();
    const at = blockAt + e.offset + e.length - 8;
    for (let i = 0; i < 8; i++) copy[at + i] = i < 4 ? (internal!.vcn >>> (8 * i)) & 0xff : 0;
    const bad = openNtfs(new MemoryDevice(copy));
    expect(() => bad.readdir('/many')).toThrow(LoopError);
  });

  it('a record whose update sequence does not match is a FormatError naming the torn stride', async () => {
    const { FormatError } = await import('@guestkit/disk');
    const copy = bytes.slice();
    const at = recordDeviceOffset(fs, fs.stat('/resident.txt').inode);
    copy[at + 510] = copy[at + 510]! ^ 0xff;
    expect(() => openNtfs(new MemoryDevice(copy)).readFile('/resident.txt')).toThrow(FormatError);
    expect(() => openNtfs(new MemoryDevice(copy)).readFile('/resident.txt')).toThrow(/torn/);
  });

  it('a runlist pointing past the volume is a FormatError', async () => {
    const { FormatError } = await import('@guestkit/disk');
    const copy = bytes.slice();
    const n = fs.stat('/nonresident.bin').inode;
    const a = fs.vol.view(n).attrs.find((x) => x.type === 0x80 && x.name === '')!;
    const at = recordDeviceOffset(fs, n) + a.offset + a.mappingPairsOffset;
    // one run of 1 cluster at LCN 0x7fffff, then the terminator (the volume has 49 151 clusters)
    expect(a.length - a.mappingPairsOffset).toBeGreaterThanOrEqual(6);
    expect(((at % 512) + 6) <= 510).toBe(true);
    copy.set([0x31, 0x01, 0xff, 0xff, 0x7f, 0x00], at);
    expect(() => openNtfs(new MemoryDevice(copy)).readFile('/nonresident.bin')).toThrow(FormatError);
    expect(() => openNtfs(new MemoryDevice(copy)).readFile('/nonresident.bin')).toThrow(/past the last cluster/);
  });
});

describe('NTFS attribute lists under attack (ntfs3_attrlist.raw from ../shared)', () => {
  const shared = sharedDir();
  it.skipIf(!shared)('an attribute-list entry naming a foreign record is a typed error, and the real one reads', async () => {
    const { FormatError } = await import('@guestkit/disk');
    const bytes = new Uint8Array(readMaybeGz(join(shared!, 'testdata/ntfs/dfir_ntfs/ntfs3_attrlist.raw.gz')));
    const fs = openNtfs(new MemoryDevice(bytes, { readOnly: true }));
    const v = fs.vol.view(27);
    expect(v.attrList).toBeDefined();
    expect(v.records.size).toBeGreaterThan(1);
    const list = v.base.find(0x20)!;
    const entry = v.attrList!.find((e) => e.record !== 27)!;
    let at: number;
    if (list.nonResident) {
      // the list value lives in clusters (no update sequence there)
      const { decodeRunlist } = await import('../packages/fs-ntfs/src/runlist/runlist.js');
      const runs = decodeRunlist(v.base.mappingPairs(list), 0, fs.vol.clusterCount, 'attribute list');
      const cs = fs.clusterSize;
      const r = runs.find((x) => entry.offset >= x.vcn * cs && entry.offset < (x.vcn + x.length) * cs)!;
      at = r.lcn * cs + (entry.offset - r.vcn * cs) + 0x10;
    } else {
      at = recordDeviceOffset(fs, 27) + list.offset + list.valueOffset + entry.offset + 0x10;
      expect((at % 512) + 8 <= 510).toBe(true);
    }
    for (const target of [5, 27 + 100000]) {
      const copy = bytes.slice();
      copy[at] = target & 0xff;
      copy[at + 1] = (target >>> 8) & 0xff;
      copy[at + 2] = (target >>> 16) & 0xff;
      const bad = openNtfs(new MemoryDevice(copy));
      expect(() => bad.vol.view(27)).toThrow(FormatError);
    }
  });
});
