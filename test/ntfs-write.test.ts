import { describe, expect, it, afterAll } from 'vitest';
import { join } from 'node:path';
import { readFileSync, writeFileSync, copyFileSync, existsSync, mkdtempSync, renameSync, rmSync, unlinkSync } from 'node:fs';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  FileDevice, MemoryDevice, ExistsError, NotFoundError, UsageError, UnsafeStateError, ReadOnlyError, NoSpaceError, GuestError, UnsupportedError,
} from '@guestkit/disk';
import { openNtfs, type NtfsFileSystem } from '@guestkit/fs-ntfs';
import { fixturePath, readMaybeGz, tempDir, sharedDir } from './support/shared.js';
import { describeWithTools, itWithTools, missingTools } from './support/tools.js';
import { Rng } from './support/fuzz.js';
import { checkWithOracles, mkntfs, type Model } from '../packages/fs-ntfs/test/oracle.js';
import { gunzipSparse, ntfsPartition, sliceSparse, recordDeviceOffset } from '../packages/fs-ntfs/test/helpers.js';
import { nullLogger } from '@guestkit/disk/binary';

/**
 * NTFS writes, checked afterwards by tools nobody here wrote: ntfs-3g (`ntfsfix -n`,
 * `ntfsresize -i -f`, `ntfsls -R`, `ntfscat`) and sleuthkit (`fls -r -p`, `icat`) must see
 * exactly the in-memory model.
 */
const ORACLES = ['mkntfs', 'ntfsfix', 'ntfsresize', 'ntfsls', 'ntfscat', 'fls', 'icat'];
const enc = (s: string) => new TextEncoder().encode(s);
const tmp = tempDir('ntfs-write-');
afterAll(() => tmp.cleanup());

function rand(rng: Rng, n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i += 4) {
    const x = rng.next();
    b[i] = x & 0xff;
    if (i + 1 < n) b[i + 1] = (x >>> 8) & 0xff;
    if (i + 2 < n) b[i + 2] = (x >>> 16) & 0xff;
    if (i + 3 < n) b[i + 3] = x >>> 24;
  }
  return b;
}

function open(path: string, opts: { force?: boolean } = {}): { fs: NtfsFileSystem; close: () => void } {
  const dev = FileDevice.open(path, { write: true });
  const fs = openNtfs(dev, { write: true, ...opts });
  return { fs, close: () => { fs.close(); dev.close(); } };
}

function expectOracles(image: string, model: Model, maxCat = 200): void {
  const { problems, report } = checkWithOracles(image, model, { maxCat });
  if (problems.length && process.env.GUESTKIT_KEEP_FAILED) copyFileSync(image, process.env.GUESTKIT_KEEP_FAILED);
  expect(problems).toEqual([]);
  expect(report.ntfsls).toBe(model.size);
  expect(report.catChecked).toBeGreaterThan(0);
}

/** Our reads agree with the model, then, with the volume closed, the independent oracles do. */
function closeAndCheck(fs: NtfsFileSystem, close: () => void, img: string, model: Model, maxCat?: number): void {
  expectOwnReads(fs, model);
  close();
  expectOracles(img, model, maxCat);
}

/**
 * Leave a volume's free space as a comb of 2-cluster holes (512 B clusters): 2000 small
 * non-resident files in /comb, `beforeFill` run, the rest of the volume filled but `slack`
 * bytes, then every other small file deleted.
 */
function combFragment(fs: NtfsFileSystem, rng: Rng, model: Model, slack: number, beforeFill: () => void): void {
  fs.mkdir('/comb');
  model.set('comb', 'dir');
  for (let i = 0; i < 2000; i++) fs.writeFile(`/comb/c${i}`, rand(rng, 1024));
  beforeFill();
  const filler = new Uint8Array(fs.statfs().freeBlocks * fs.clusterSize - slack);
  fs.writeFile('/filler', filler);
  model.set('filler', filler);
  for (let i = 0; i < 2000; i++) {
    if (i % 2 === 0) fs.unlink(`/comb/c${i}`);
    else model.set(`comb/c${i}`, fs.readFile(`/comb/c${i}`));
  }
}

/** Our own reads must agree with the model too. */
function expectOwnReads(fs: NtfsFileSystem, model: Model): void {
  for (const [p, v] of model) {
    const st = fs.stat('/' + p);
    if (v === 'dir') expect(st.type, p).toBe('directory');
    else expect(Buffer.from(fs.readFile('/' + p)).equals(Buffer.from(v)), p).toBe(true);
  }
}

/**
 * Call `create` (which makes one file) until $MFT has grown `times` times; returns how many of
 * those growths happened with $MFT:$DATA under an attribute list.
 */
function growMftBy(fs: NtfsFileSystem, times: number, create: () => void): number {
  let grown = 0;
  let underList = 0;
  for (let made = 0; grown < times; made++) {
    expect(made).toBeLessThan(4000);
    const before = fs.vol.recordCount;
    create();
    if (fs.vol.recordCount > before) {
      grown++;
      if (fs.vol.view(0).attrList) underList++;
    }
  }
  return underList;
}

/** Records holding extents of $MFT:$DATA, as the reader finds them. */
function mftDataRecords(fs: NtfsFileSystem): number[] {
  return fs.vol.view(0).attrs.filter((a) => a.type === 0x80 && a.name === '').map((a) => a.recordNumber);
}

/** The ntfs-3g FUSE driver can be used here (root, /dev/fuse), and faketime for the fixture script. */
const canMount = process.getuid?.() === 0 && existsSync('/dev/fuse') && missingTools(['ntfs-3g', 'ntfsinfo', 'faketime']).length === 0;

/** Mount `image` with ntfs-3g while `fn` runs; resolves once the driver has exited (all written). */
async function withNtfs3g(image: string, fn: (mnt: string) => void): Promise<void> {
  const mnt = mkdtempSync(join(tmp.dir, 'mnt-'));
  const driver = spawn('ntfs-3g', ['-o', 'no_detach', image, mnt], { stdio: 'ignore' });
  const exited = once(driver, 'exit');
  try {
    for (let i = 0; spawnSync('mountpoint', ['-q', mnt]).status !== 0; i++) {
      if (i > 200 || driver.exitCode !== null) throw new Error(`ntfs-3g did not mount ${image}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    fn(mnt);
  } finally {
    spawnSync('umount', [mnt]);
    await exited;
  }
}

describeWithTools(ORACLES, 'NTFS write scenarios', () => {
  for (const cluster of [512, 4096, 65536]) {
    it(`every write scenario on ${cluster}-byte clusters`, () => {
      const img = join(tmp.dir, `scen-${cluster}.img`);
      mkntfs(img, cluster === 65536 ? 256 : 64, cluster);
      const rng = new Rng(cluster);
      const model: Model = new Map();
      const { fs, close } = open(img);
      // create: resident and non-resident
      fs.writeFile('/small.txt', enc('a small resident file\n'));
      model.set('small.txt', enc('a small resident file\n'));
      expect(fs.stat('/small.txt').flags?.resident).toBe(true);
      const big = rand(rng, 200_000);
      fs.writeFile('/big.bin', big);
      model.set('big.bin', big);
      expect(fs.stat('/big.bin').flags?.resident).toBe(false);
      // overwrite in place (shrinking), then extend through a handle
      const big2 = rand(rng, 150_000);
      fs.writeFile('/big.bin', big2);
      const h = fs.open('/big.bin', { write: true });
      const tail = rand(rng, 70_000);
      h.writeAt(180_000, tail);
      const grown = new Uint8Array(250_000);
      grown.set(big2);
      grown.set(tail, 180_000);
      model.set('big.bin', grown);
      expect(h.size).toBe(250_000);
      // overwrite in the middle, no size change
      const mid = rand(rng, 5000);
      h.writeAt(1000, mid);
      grown.set(mid, 1000);
      // resident -> non-resident by writing past the end
      const hs = fs.open('/small.txt', { write: true });
      hs.writeAt(50_000, enc('far away'));
      const s2 = new Uint8Array(50_008);
      s2.set(enc('a small resident file\n'));
      s2.set(enc('far away'), 50_000);
      model.set('small.txt', s2);
      expect(fs.stat('/small.txt').flags?.resident).toBe(false);
      // non-resident -> resident by truncating
      h.truncate(300);
      model.set('big.bin', grown.slice(0, 300));
      expect(fs.stat('/big.bin').flags?.resident).toBe(true);
      // truncate up (zeros) and down
      hs.truncate(70_000);
      const s3 = new Uint8Array(70_000);
      s3.set(s2);
      model.set('small.txt', s3);
      hs.truncate(60_000);
      model.set('small.txt', s3.slice(0, 60_000));
      // a resident file grown by truncate leaves the tail uninitialized (reads as zeros, no zeros written)
      fs.writeFile('/grow.txt', enc('resident head'));
      const hg = fs.open('/grow.txt', { write: true });
      hg.truncate(300_000);
      expect(fs.stat('/grow.txt').flags?.resident).toBe(false);
      hg.writeAt(200_000, enc('tail'));
      const g = new Uint8Array(300_000);
      g.set(enc('resident head'));
      g.set(enc('tail'), 200_000);
      model.set('grow.txt', g);
      expect(Buffer.from(fs.readFile('/grow.txt')).equals(Buffer.from(g))).toBe(true);
      // directories, nested files, moves
      fs.mkdir('/d1');
      fs.mkdir('/d1/d2');
      fs.writeFile('/d1/d2/f.txt', enc('in d2\n'));
      fs.rename('/small.txt', '/d1/renamed.txt');
      fs.rename('/d1/d2', '/d3');
      model.delete('small.txt');
      model.set('d1', 'dir');
      model.set('d1/renamed.txt', s3.slice(0, 60_000));
      model.set('d3', 'dir');
      model.set('d3/f.txt', enc('in d2\n'));
      // streams
      const ads = rand(rng, 9000);
      fs.writeFile('/d3/f.txt:extra', ads);
      expect(fs.stat('/d3/f.txt').streams).toEqual(['extra']);
      const cat = spawnSync('ntfscat', ['-n', 'extra', img, 'd3/f.txt']);
      // the handle above wrote through the same device; ntfscat reads the image file
      expect(Buffer.from(cat.stdout).equals(Buffer.from(ads))).toBe(true);
      fs.unlink('/d3/f.txt:extra');
      expect(fs.stat('/d3/f.txt').streams).toBeUndefined();
      // errors leave everything as it was
      expect(() => fs.mkdir('/d1')).toThrow(ExistsError);
      expect(() => fs.rename('/d3/f.txt', '/d1/renamed.txt')).toThrow(ExistsError);
      expect(() => fs.rmdir('/d1')).toThrow(UsageError);
      expect(() => fs.rename('/d3', '/d3/inside')).toThrow(UsageError);
      expect(() => fs.unlink('/nope')).toThrow(NotFoundError);
      expect(() => fs.writeFile('/no/such/dir.txt', enc('x'))).toThrow(NotFoundError);
      expect(() => fs.writeFile('/bad:name:x', enc('x'))).toThrow(GuestError);
      // case-insensitive replace keeps the stored name
      fs.writeFile('/MixedCase.TXT', enc('one'));
      fs.writeFile('/mixedcase.txt', enc('two'));
      model.set('MixedCase.TXT', enc('two'));
      expect(fs.readdir('/').filter((e) => e.name.toLowerCase() === 'mixedcase.txt').map((e) => e.name)).toEqual(['MixedCase.TXT']);
      // delete files and an empty directory
      fs.writeFile('/d1/tmp.bin', rand(rng, 40_000));
      fs.unlink('/d1/tmp.bin');
      fs.mkdir('/gone');
      fs.rmdir('/gone');
      fs.writeFile('/Ünïcödé ☃.txt', enc('unicode'));
      model.set('Ünïcödé ☃.txt', enc('unicode'));
      // a directory whose index outgrows its root (promotion to INDEX_ALLOCATION, splits)
      fs.mkdir('/many');
      model.set('many', 'dir');
      for (let i = 0; i < 400; i++) {
        const name = `many/entry with a fairly long name ${String((i * 37) % 400).padStart(3, '0')}.txt`;
        fs.writeFile('/' + name, enc(String(i)));
        model.set(name, enc(String(i)));
      }
      for (let i = 0; i < 400; i += 3) {
        const name = `many/entry with a fairly long name ${String(i).padStart(3, '0')}.txt`;
        fs.unlink('/' + name);
        model.delete(name);
      }
      closeAndCheck(fs, close, img, model);
    }, 300_000);
  }

  it('a directory grown to 10 000 entries lists identically with ntfsls and fls', () => {
    const img = join(tmp.dir, 'dir10k.img');
    mkntfs(img, 128, 4096);
    const { fs, close } = open(img);
    fs.mkdir('/big');
    const names: string[] = [];
    const N = Number(process.env.GUESTKIT_NTFS_BIGDIR ?? 10_000);
    for (let i = 0; i < N; i++) {
      const name = `File ${String((i * 7919) % N).padStart(5, '0')}.dat`;
      fs.writeFile(`/big/${name}`, new Uint8Array(0));
      names.push(name);
    }
    const ours = fs.readdir('/big').map((e) => e.name);
    close();
    const ls = execFileSync('ntfsls', ['-p', '/big', img], { maxBuffer: 1 << 26 }).toString('utf8').split('\n').filter((l) => l && l !== '.' && l !== '..');
    const fls = execFileSync('fls', ['-r', '-p', img], { maxBuffer: 1 << 26 }).toString('utf8').split('\n')
      .map((l) => /^r\/r [0-9-]+:\tbig\/(.*)$/.exec(l)?.[1]).filter((x): x is string => !!x);
    const sorted = [...names].sort();
    expect(ours).toHaveLength(N);
    expect(ours).toEqual(sorted); // collation order (ASCII names: plain sort order)
    // ntfsls prints the root's entries, then index blocks in VCN order: compare as sets
    expect([...ls].sort()).toEqual(sorted);
    expect([...fls].sort()).toEqual(sorted);
    const fix = spawnSync('ntfsfix', ['-n', img], { encoding: 'utf8' });
    expect(fix.status).toBe(0);
    expect(spawnSync('ntfsresize', ['-i', '-f', img]).status).toBe(0);
  }, 600_000);

  it('a hive-sized file grown by several MiB reads back byte-identical with ntfscat', () => {
    const img = join(tmp.dir, 'hive.img');
    mkntfs(img, 96, 4096);
    const rng = new Rng(99);
    const { fs, close } = open(img);
    fs.mkdir('/Windows');
    fs.mkdir('/Windows/System32');
    fs.mkdir('/Windows/System32/config');
    // other files around it, so growth has to find clusters elsewhere
    for (let i = 0; i < 30; i++) fs.writeFile(`/Windows/System32/f${i}.dll`, rand(rng, 50_000));
    let hive = rand(rng, 8 * 1024 * 1024);
    fs.writeFile('/Windows/System32/config/SOFTWARE', hive);
    const h = fs.open('/Windows/System32/config/SOFTWARE', { write: true });
    // hivex-style growth: append hbins, then rewrite the header
    for (let k = 0; k < 24; k++) {
      const hbin = rand(rng, 256 * 1024);
      h.writeAt(h.size, hbin);
      const next = new Uint8Array(hive.length + hbin.length);
      next.set(hive);
      next.set(hbin, hive.length);
      hive = next;
      if (k % 6 === 0) fs.writeFile('/Windows/System32/filler' + k, rand(rng, 100_000));
    }
    const header = rand(rng, 4096);
    h.writeAt(0, header);
    hive.set(header, 0);
    expect(h.size).toBe(14 * 1024 * 1024);
    close();
    const cat = execFileSync('ntfscat', [img, 'Windows/System32/config/SOFTWARE'], { maxBuffer: 1 << 26 });
    expect(cat.length).toBe(hive.length);
    expect(Buffer.from(cat).equals(Buffer.from(hive))).toBe(true);
    const model: Model = new Map();
    expect(spawnSync('ntfsfix', ['-n', img]).status).toBe(0);
    expect(spawnSync('ntfsresize', ['-i', '-f', img]).status).toBe(0);
    void model;
  }, 300_000);

  it('grows $MFT when full and moves a fragmented runlist into an attribute list', () => {
    const img = join(tmp.dir, 'frag.img');
    mkntfs(img, 48, 512);
    const rng = new Rng(7);
    const model: Model = new Map();
    const { fs, close } = open(img);
    const before = fs.vol.recordCount;
    combFragment(fs, rng, model, 256 * 1024, () => expect(fs.vol.recordCount).toBeGreaterThan(before));
    // a file that can only be stored in hundreds of fragments
    const frag = rand(rng, 600 * 1024);
    fs.writeFile('/fragmented.bin', frag);
    model.set('fragmented.bin', frag);
    const v = fs.vol.view(fs.stat('/fragmented.bin').inode);
    expect(v.attrList).toBeDefined();
    expect(v.records.size).toBeGreaterThan(1);
    // and it still grows and shrinks
    const h = fs.open('/fragmented.bin', { write: true });
    const more = rand(rng, 50 * 1024);
    h.writeAt(frag.length, more);
    const all = new Uint8Array(frag.length + more.length);
    all.set(frag);
    all.set(more, frag.length);
    model.set('fragmented.bin', all);
    closeAndCheck(fs, close, img, model, 100);
  }, 300_000);

  it('grows $MFT past what record 0 maps: its runlist moves under an attribute list and keeps growing there', async () => {
    const img = join(tmp.dir, 'mftlist.img');
    mkntfs(img, 48, 512);
    const rng = new Rng(23);
    const model: Model = new Map();
    let { fs, close } = open(img);
    // free space as a comb of 2-cluster holes with little slack: every growth of $MFT (64 records,
    // 128 clusters) lands in some 64 new fragments
    combFragment(fs, rng, model, 16 * 1024, () => {});
    expect(fs.vol.view(0).attrList).toBeUndefined();
    const mftRuns = () => fs.vol.mft.info.runs.length;
    const extOfMft = () => mftDataRecords(fs).filter((n) => n !== 0);
    fs.mkdir('/many');
    model.set('many', 'dir');
    let made = 0;
    const create = () => {
      expect(made).toBeLessThan(4000);
      const dir = `many/d${made % 8}`;
      if (made < 8) {
        fs.mkdir('/' + dir);
        model.set(dir, 'dir');
      }
      const p = `${dir}/f${made}.txt`;
      const v = enc(`file ${made} `.repeat(1 + (made % 5)));
      fs.writeFile('/' + p, v);
      model.set(p, v);
      made++;
    };
    const growBy = (times: number) => growMftBy(fs, times, create);
    // grow until the runlist no longer fits record 0, then three times more under the list
    while (!fs.vol.view(0).attrList) growBy(1);
    const firstExt = extOfMft();
    expect(firstExt.length).toBeGreaterThan(0);
    expect(growBy(3)).toBe(3);
    expect(mftRuns()).toBeGreaterThan(200);
    for (const n of extOfMft()) expect(n >= 16 && n < 24, `extension record ${n}`).toBe(true);
    // the extents are in extension records and the list names them all, in VCN order
    const data = fs.vol.view(0).attrList!.filter((e) => e.type === 0x80);
    expect(data.length).toBeGreaterThan(1);
    expect(data[0]!.record).toBe(0);
    expect(data.map((e) => e.lowestVcn)).toEqual([...data.map((e) => e.lowestVcn)].sort((a, b) => a - b));
    // deletes and renames
    for (let i = 0; i < made; i += 7) {
      const p = `many/d${i % 8}/f${i}.txt`;
      fs.unlink('/' + p);
      model.delete(p);
    }
    for (let i = 3; i < made; i += 11) {
      const p = `many/d${i % 8}/f${i}.txt`;
      if (!model.has(p)) continue;
      const to = `many/d${(i + 1) % 8}/renamed ${i}.txt`;
      fs.rename('/' + p, '/' + to);
      model.set(to, model.get(p)!);
      model.delete(p);
    }
    expectOwnReads(fs, model);
    close();
    // reopened: $MFT is loaded through its attribute list, and grows twice more from there
    ({ fs, close } = open(img));
    expect(fs.vol.view(0).attrList).toBeDefined();
    expectOwnReads(fs, model);
    const runsBefore = mftRuns();
    expect(growBy(2)).toBe(2);
    expect(mftRuns()).toBeGreaterThan(runsBefore);
    expectOwnReads(fs, model);
    close();
    ({ fs, close } = open(img));
    closeAndCheck(fs, close, img, model, 100);
    if (!canMount) return;
    // ntfs-3g takes $MFT as laid out here and grows it itself; we read what it made
    ({ fs, close } = open(img));
    fs.unlink('/filler');
    model.delete('filler');
    const records = fs.vol.recordCount;
    close();
    await withNtfs3g(img, (mnt) => {
      for (let i = 0; i < 1500; i++) {
        const v = enc(`by ntfs-3g ${i}`);
        writeFileSync(join(mnt, 'many', `n${i}`), v);
        model.set(`many/n${i}`, v);
      }
    });
    ({ fs, close } = open(img));
    expect(fs.vol.recordCount).toBeGreaterThan(records);
    expect(fs.vol.view(0).attrList).toBeDefined();
    closeAndCheck(fs, close, img, model, 100);
  }, 300_000);

  it('refuses to grow $MFT past record 0 when records 16-23 are all taken, and writes nothing', () => {
    const img = join(tmp.dir, 'reserved.img');
    mkntfs(img, 48, 512);
    const bytes = new Uint8Array(readFileSync(img));
    // mark records 16..23 in use in $MFT:$BITMAP (its byte 2), as if all were $MFT extension records
    const probe = openNtfs(new MemoryDevice(bytes.slice()));
    const bm = probe.vol.streamInfo(probe.vol.view(0), 0xb0)!;
    expect(bm.resident).toBe(false);
    bytes[bm.runs[0]!.lcn * probe.clusterSize + 2] = 0xff;
    const dev = new MemoryDevice(bytes);
    const fs = openNtfs(dev, { write: true });
    const model: Model = new Map();
    combFragment(fs, new Rng(5), model, 16 * 1024, () => {});
    fs.mkdir('/many');
    let refused: unknown;
    let i = 0;
    for (; i < 4000 && refused === undefined; i++) {
      try {
        fs.writeFile(`/many/f${i}`, enc(`#${i}`));
      } catch (e) {
        refused = e;
      }
    }
    expect(refused).toBeInstanceOf(NoSpaceError);
    expect(String((refused as Error).message)).toMatch(/records 16-23/);
    expect(fs.vol.view(0).attrList).toBeUndefined();
    // the same operation again: refused, and not a byte of the volume changes
    const snapshot = dev.bytes.slice();
    expect(() => fs.writeFile(`/many/f${i - 1}`, enc('again'))).toThrow(NoSpaceError);
    expect(Buffer.from(dev.bytes).equals(Buffer.from(snapshot))).toBe(true);
    expect(fs.tryStat(`/many/f${i - 1}`)).toBeUndefined();
    // a freed record is reused without growing $MFT
    fs.unlink('/many/f0');
    fs.writeFile(`/many/f${i - 1}`, enc('fits'));
    expect(Buffer.from(fs.readFile(`/many/f${i - 1}`)).toString()).toBe('fits');
  }, 300_000);

  // ntfs-3g makes this layout itself (the image is built on the spot: gzipped it is too big to keep)
  (canMount ? it : it.skip)(`grows an $MFT that ntfs-3g spread over an attribute list${canMount ? '' : ' [skipped: needs root, /dev/fuse, ntfs-3g, faketime]'}`, () => {
    execFileSync('bash', [fileURLToPath(new URL('./fixtures/scripts/make-ntfs-fixtures.sh', import.meta.url))], {
      env: { ...process.env, ONLY: 'mftlist', OUT: tmp.dir }, stdio: 'ignore',
    });
    const img = join(tmp.dir, 'mftlist.img');
    writeFileSync(img, readMaybeGz(join(tmp.dir, 'mftlist.img.gz')));
    let { fs, close } = open(img);
    // ntfs-3g's layout: the list in record 0, part of $DATA in another record
    expect(fs.vol.view(0).attrList).toBeDefined();
    const ntfs3gExt = mftDataRecords(fs).filter((n) => n !== 0);
    expect(ntfs3gExt.length).toBeGreaterThan(0);
    // what ntfs-3g wrote: every other 1 KiB file of the comb, and empty files
    const model: Model = new Map([['comb', 'dir'], ['new', 'dir']]);
    const comb = fs.readdir('/comb').map((e) => e.name);
    expect(comb.length).toBeGreaterThan(500);
    for (const name of comb) {
      expect(name).toMatch(/^c\d*[13579]$/);
      model.set(`comb/${name}`, new Uint8Array(1024).fill(0x5a));
    }
    const made = fs.readdir('/new').map((e) => e.name);
    expect(made.length).toBeGreaterThan(500);
    for (const name of made) model.set(`new/${name}`, new Uint8Array(0));
    expectOwnReads(fs, model);
    const runsBefore = fs.vol.mft.info.runs.length;
    fs.mkdir('/more');
    model.set('more', 'dir');
    let n = 0;
    const create = () => {
      const v = enc(`more ${n}`);
      fs.writeFile(`/more/m${n}`, v);
      model.set(`more/m${n}`, v);
      n++;
    };
    expect(growMftBy(fs, 2, create)).toBe(2);
    expect(fs.vol.mft.info.runs.length).toBeGreaterThan(runsBefore);
    // ntfs-3g's extension records still hold their extents; new extents went to 16..23
    const now = mftDataRecords(fs);
    for (const x of ntfs3gExt) expect(now).toContain(x);
    for (const x of now) expect(x === 0 || ntfs3gExt.includes(x) || (x >= 16 && x < 24), `extension record ${x}`).toBe(true);
    for (let i = 0; i < made.length; i += 9) {
      fs.unlink(`/new/${made[i]}`);
      model.delete(`new/${made[i]}`);
    }
    for (let i = 0; i < n; i += 5) {
      fs.rename(`/more/m${i}`, `/new/renamed m${i}`);
      model.set(`new/renamed m${i}`, model.get(`more/m${i}`)!);
      model.delete(`more/m${i}`);
    }
    expectOwnReads(fs, model);
    close();
    ({ fs, close } = open(img));
    closeAndCheck(fs, close, img, model, 100);
  }, 300_000);

  // Our names are POSIX names: a Win32 name without its DOS partner made ntfs-3g's unlink fail.
  (canMount ? it : it.skip)(`ntfs-3g deletes, moves and removes what guestkit wrote${canMount ? '' : ' [skipped: needs root, /dev/fuse, ntfs-3g, faketime]'}`, async () => {
    const img = join(tmp.dir, 'handover.img');
    mkntfs(img, 32, 4096);
    const { fs, close } = open(img);
    fs.mkdir('/Dir One');
    for (let i = 0; i < 40; i++) fs.writeFile(`/Dir One/A Long File Name ${i}.txt`, enc(`file ${i}\n`));
    fs.writeFile('/README.TXT', enc('an 8.3 name\n'));
    fs.writeFile('/keep.txt', enc('kept\n'));
    fs.rename('/Dir One/A Long File Name 1.txt', '/moved by guestkit.txt');
    close();
    await withNtfs3g(img, (mnt) => {
      unlinkSync(join(mnt, 'README.TXT'));
      renameSync(join(mnt, 'moved by guestkit.txt'), join(mnt, 'Dir One', 'back.txt'));
      rmSync(join(mnt, 'Dir One'), { recursive: true });
    });
    expect(spawnSync('ntfsfix', ['-n', img]).status).toBe(0);
    expect(spawnSync('ntfsresize', ['-i', '-f', img]).status).toBe(0);
    expect(execFileSync('ntfsls', [img]).toString().split('\n').filter(Boolean)).toEqual(['keep.txt']);
    expect(execFileSync('ntfscat', [img, 'keep.txt']).toString()).toBe('kept\n');
  }, 120_000);

  it('removes and renames names that ntfs-3g put in extension records (a file with 60 hard links)', () => {
    const img = join(tmp.dir, 'hardlinks.img');
    writeFileSync(img, readMaybeGz(fixturePath('ntfs', 'hardlinks.img.gz')));
    const { fs, close } = open(img);
    const content = fs.readFile('/links/original.txt');
    const names = fs.readdir('/links').map((e) => e.name);
    expect(names.length).toBe(60);
    const n = fs.stat('/links/original.txt').inode;
    const v = fs.vol.view(n);
    const inExtension = v.attrs.filter((a) => a.type === 0x30 && a.recordNumber !== n).length;
    expect(inExtension).toBeGreaterThan(20);
    const model: Model = new Map([['links', 'dir'], ['moved', 'dir']]);
    fs.mkdir('/moved');
    const kept = new Set(names);
    // every third name goes (those in the base record and those in extension records alike)
    names.forEach((name, i) => {
      if (i % 3 !== 0) return;
      fs.unlink(`/links/${name}`);
      kept.delete(name);
    });
    // some are renamed in place, some moved to another directory
    const rest = [...kept];
    rest.slice(0, 20).forEach((name, i) => {
      const to = i % 2 ? `/moved/renamed ${i}.txt` : `/links/renamed ${i}.txt`;
      fs.rename(`/links/${name}`, to);
      kept.delete(name);
      model.set(to.slice(1), content);
    });
    for (const name of kept) model.set(`links/${name}`, content);
    expect(fs.stat('/links/' + [...kept][0]).links).toBe(model.size - 2);
    closeAndCheck(fs, close, img, model, 10);
  }, 120_000);

  it('grows a directory whose index allocation no longer fits its record, and edits it there', () => {
    const img = join(tmp.dir, 'bigdir.img');
    mkntfs(img, 48, 512);
    const rng = new Rng(11);
    const model: Model = new Map();
    let { fs, close } = open(img);
    // free space as a comb of 2-cluster holes: every 4 KiB index block of the new directory
    // takes four runs, and its runlist outgrows the directory's MFT record. Room in $MFT for
    // the directory's entries is made first, so $MFT need not grow later.
    combFragment(fs, rng, model, 64 * 1024, () => {
      fs.mkdir('/pre');
      for (let i = 0; i < 800; i++) fs.writeFile(`/pre/p${i}`, enc('x'));
      for (let i = 0; i < 800; i++) fs.unlink(`/pre/p${i}`);
      fs.rmdir('/pre');
    });
    fs.mkdir('/big');
    model.set('big', 'dir');
    // long names: few entries per index block, so few MFT records are needed to make many blocks
    const name = (i: number) => `${String(i).padStart(5, '0')} ${'a long file name '.repeat(11)}.txt`;
    for (let i = 0; i < 400; i++) {
      fs.writeFile(`/big/${name(i)}`, enc(`#${i}`));
      model.set(`big/${name(i)}`, enc(`#${i}`));
    }
    const v = fs.vol.view(fs.stat('/big').inode);
    expect(v.attrList).toBeDefined();
    expect(v.attrs.some((a) => a.type === 0xa0 && a.recordNumber !== v.base.recordNumber)).toBe(true);
    close();
    expectOracles(img, model, 50);
    // reopened: insert, delete and rename inside the directory as it now is on disk
    ({ fs, close } = open(img));
    for (let i = 0; i < 400; i += 3) {
      fs.unlink(`/big/${name(i)}`);
      model.delete(`big/${name(i)}`);
    }
    for (let i = 400; i < 460; i++) {
      fs.writeFile(`/big/${name(i)}`, enc(`#${i}`));
      model.set(`big/${name(i)}`, enc(`#${i}`));
    }
    for (let i = 1; i < 200; i += 3) {
      fs.rename(`/big/${name(i)}`, `/big/renamed ${i}`);
      model.set(`big/renamed ${i}`, model.get(`big/${name(i)}`)!);
      model.delete(`big/${name(i)}`);
    }
    closeAndCheck(fs, close, img, model, 50);
  }, 300_000);
});

/** Seeded random operations against a model. */
function randomOps(fs: NtfsFileSystem, rng: Rng, n: number, capacity: number): { model: Model; counts: Record<string, number> } {
  type Node = { path: string; data?: Uint8Array };
  const m = new Map<string, Node>(); // key: upper-case path
  const key = (p: string) => p.toUpperCase();
  const dirs = () => ['', ...[...m.values()].filter((x) => !x.data).map((x) => x.path)];
  const files = () => [...m.values()].filter((x) => x.data);
  const join2 = (d: string, name: string) => (d ? `${d}/${name}` : name);
  const names = ['alpha', 'Beta', 'gamma.txt', 'DELTA.BIN', 'épsilon', 'zeta data', 'eta-1', 'theta_2.log', 'iota', 'KAPPA', 'lambda.dat', 'mu'];
  const counts: Record<string, number> = {};
  let bytes = 0;
  const size = () => {
    const r = rng.int(10);
    return r < 4 ? rng.int(900) : r < 8 ? 1000 + rng.int(64_000) : 64_000 + rng.int(400_000);
  };
  for (let i = 0; i < n; i++) {
    const op = rng.int(100);
    const d = rng.pick(dirs());
    const name = rng.pick(names) + (rng.int(3) === 0 ? String(rng.int(20)) : '');
    const p = join2(d, name);
    const existing = m.get(key(p));
    let did = '';
    if (op < 30 && bytes < capacity) {
      if (existing && !existing.data) continue;
      const data = rand(rng, size());
      fs.writeFile('/' + p, data);
      bytes += data.length - (existing?.data?.length ?? 0);
      m.set(key(p), { path: existing?.path ?? p, data });
      did = existing ? 'overwrite' : 'create';
    } else if (op < 45 && files().length && bytes < capacity) {
      const f = rng.pick(files());
      const off = rng.int(f.data!.length + 20_000);
      const chunk = rand(rng, 1 + rng.int(30_000));
      fs.open('/' + f.path, { write: true }).writeAt(off, chunk);
      const next = new Uint8Array(Math.max(f.data!.length, off + chunk.length));
      next.set(f.data!);
      next.set(chunk, off);
      bytes += next.length - f.data!.length;
      f.data = next;
      did = 'writeAt';
    } else if (op < 55 && files().length) {
      const f = rng.pick(files());
      const ns = rng.int(f.data!.length * 2 + 1000);
      fs.open('/' + f.path, { write: true }).truncate(ns);
      const next = new Uint8Array(ns);
      next.set(f.data!.subarray(0, Math.min(ns, f.data!.length)));
      bytes += ns - f.data!.length;
      f.data = next;
      did = 'truncate';
    } else if (op < 70 && files().length) {
      const f = rng.pick(files());
      fs.unlink('/' + f.path);
      bytes -= f.data!.length;
      m.delete(key(f.path));
      did = 'unlink';
    } else if (op < 80) {
      if (existing || d.split('/').length > 4) continue;
      fs.mkdir('/' + p);
      m.set(key(p), { path: p });
      did = 'mkdir';
    } else if (op < 87) {
      const empty = dirs().filter((x) => x && ![...m.values()].some((y) => y.path.toUpperCase().startsWith(x.toUpperCase() + '/')));
      if (!empty.length) continue;
      const e = rng.pick(empty);
      fs.rmdir('/' + e);
      m.delete(key(e));
      did = 'rmdir';
    } else {
      const all = [...m.values()];
      if (!all.length) continue;
      const src = rng.pick(all);
      if (existing) continue;
      if (!src.data && (key(d) === key(src.path) || key(d).startsWith(key(src.path) + '/'))) {
        expect(() => fs.rename('/' + src.path, '/' + p)).toThrow(UsageError);
        did = 'rename-refused';
      } else {
        fs.rename('/' + src.path, '/' + p);
        const moved = [...m.values()].filter((x) => x === src || key(x.path).startsWith(key(src.path) + '/'));
        const old = src.path;
        for (const x of moved) m.delete(key(x.path));
        for (const x of moved) {
          x.path = p + x.path.slice(old.length);
          m.set(key(x.path), x);
        }
        did = 'rename';
      }
    }
    counts[did] = (counts[did] ?? 0) + 1;
    if (process.env.GUESTKIT_NTFS_VERIFY_EACH) {
      for (const x of m.values()) {
        if (!fs.tryStat('/' + x.path)) throw new Error(`after op ${i} (${did} ${p}): ${x.path} is missing; ${JSON.stringify([...m.values()].map((y) => y.path))}`);
      }
    }
  }
  const model: Model = new Map();
  for (const x of m.values()) model.set(x.path, x.data ?? 'dir');
  return { model, counts };
}

describeWithTools(ORACLES, 'NTFS seeded random operation sequences', () => {
  const N = Number(process.env.GUESTKIT_NTFS_OPS ?? 2000);
  for (const [cluster, mib] of [[512, 96], [4096, 128], [65536, 256]] as const) {
    it(`${N} operations on ${cluster}-byte clusters match the model in ntfs-3g and sleuthkit`, () => {
      const img = join(tmp.dir, `rand-${cluster}.img`);
      mkntfs(img, mib, cluster);
      const { fs, close } = open(img);
      const { model, counts } = randomOps(fs, new Rng(0xc0ffee + cluster), N, mib * 1024 * 1024 * 0.35);
      console.log(`${cluster}-byte clusters: ${JSON.stringify(counts)}; ${model.size} items in the model`);
      expect(Object.keys(counts).length).toBeGreaterThanOrEqual(8);
      closeAndCheck(fs, close, img, model, 150);
    }, 900_000);
  }
});

describe('NTFS write safety', () => {
  it('refuses a hibernated volume unless forced, and a read-only device', () => {
    const bytes = new Uint8Array(readMaybeGz(fixturePath('ntfs', 'hibernated.img.gz')));
    expect(() => openNtfs(new MemoryDevice(bytes.slice()), { write: true })).toThrow(UnsafeStateError);
    expect(() => openNtfs(new MemoryDevice(bytes.slice()), { write: true })).toThrow(/hibernated.*powercfg/s);
    const forced = openNtfs(new MemoryDevice(bytes.slice()), { write: true, force: true });
    forced.writeFile('/new.txt', enc('forced'));
    expect(Buffer.from(forced.readFile('/new.txt')).toString()).toBe('forced');
    expect(() => openNtfs(new MemoryDevice(bytes.slice(), { readOnly: true }), { write: true })).toThrow(ReadOnlyError);
    expect(() => openNtfs(new MemoryDevice(bytes.slice())).writeFile('/x', enc('x'))).toThrow(ReadOnlyError);
  });

  it('refuses a dirty volume unless forced', () => {
    const bytes = new Uint8Array(readMaybeGz(fixturePath('ntfs', 'features.img.gz')));
    const fs = openNtfs(new MemoryDevice(bytes));
    const at = recordDeviceOffset(fs, 3);
    const vi = fs.vol.view(3).attrs.find((a) => a.type === 0x70)!;
    const copy = bytes.slice();
    const flagsAt = at + vi.offset + vi.valueOffset + 0x0a;
    copy[flagsAt] = copy[flagsAt]! | 1; // VOLUME_IS_DIRTY
    expect(openNtfs(new MemoryDevice(copy.slice())).safety()).toMatchObject({ dirty: true, safeToWrite: false });
    expect(() => openNtfs(new MemoryDevice(copy.slice()), { write: true })).toThrow(/dirty/);
    expect(() => openNtfs(new MemoryDevice(copy.slice()), { write: true, force: true })).not.toThrow();
  });

  it.skipIf(!sharedDir())('refuses an unclean $LogFile (Windows volume) unless forced', () => {
    const raw = new Uint8Array(readMaybeGz(join(sharedDir()!, 'testdata/ntfs/ntfs-samples/ntfs-lastaccess.raw.gz')));
    const vol = raw.subarray(128 * 512);
    const fs = openNtfs(new MemoryDevice(vol.slice()));
    expect(fs.safety().logFile.state).toBe('clean');
    const log = fs.vol.stream(fs.vol.view(2), 0x80)!;
    const at = log.info.runs[0]!.lcn * fs.clusterSize;
    const copy = vol.slice();
    for (const page of [0, 4096]) {
      const ra = copy[at + page + 0x18]! | (copy[at + page + 0x19]! << 8);
      copy[at + page + ra + 0x0c] = 0; // client in use: 0 (a client is logging)
      copy[at + page + ra + 0x0d] = 0;
      copy[at + page + ra + 0x0e] = copy[at + page + ra + 0x0e]! & ~2; // RESTART_VOLUME_IS_CLEAN off
    }
    const s = openNtfs(new MemoryDevice(copy.slice())).safety();
    expect(s.logFile.state).toBe('unclean');
    expect(s.safeToWrite).toBe(false);
    expect(() => openNtfs(new MemoryDevice(copy.slice()), { write: true })).toThrow(UnsafeStateError);
    expect(() => openNtfs(new MemoryDevice(copy.slice()), { write: true })).toThrow(/LogFile/);
    const forced = openNtfs(new MemoryDevice(copy.slice()), { write: true, force: true });
    forced.writeFile('/forced.txt', enc('x'));
    expect(forced.safety().logFile.state).toBe('empty');
  });

  it('refuses to write into or replace an encrypted (EFS) stream, and still deletes the file', () => {
    const bytes = new Uint8Array(readMaybeGz(fixturePath('ntfs', 'features.img.gz')));
    const probe = openNtfs(new MemoryDevice(bytes));
    const n = probe.stat('/nonresident.bin').inode;
    const at = recordDeviceOffset(probe, n);
    const a = probe.vol.view(n).attrs.find((x) => x.type === 0x80 && x.name === '')!;
    // set ATTR_IS_ENCRYPTED (0x4000) in the $DATA attribute header's flags
    bytes[at + a.offset + 0x0d] = bytes[at + a.offset + 0x0d]! | 0x40;
    const dev = new MemoryDevice(bytes);
    const fs = openNtfs(dev, { write: true });
    const snapshot = dev.bytes.slice();
    expect(() => fs.writeFile('/nonresident.bin', enc('plain'))).toThrow(/encrypted \(EFS\)/);
    expect(() => fs.open('/nonresident.bin', { write: true }).writeAt(0, enc('x'))).toThrow(/encrypted \(EFS\)/);
    expect(() => fs.open('/nonresident.bin', { write: true }).truncate(10)).toThrow(/encrypted \(EFS\)/);
    expect(Buffer.from(dev.bytes).equals(Buffer.from(snapshot))).toBe(true);
    fs.unlink('/nonresident.bin');
    expect(fs.tryStat('/nonresident.bin')).toBeUndefined();
  });

  it('a failing operation writes nothing', () => {
    const bytes = new Uint8Array(readMaybeGz(fixturePath('ntfs', 'features.img.gz')));
    const dev = new MemoryDevice(bytes);
    const fs = openNtfs(dev, { write: true });
    fs.writeFile('/first.txt', enc('first write resets $LogFile'));
    const snapshot = dev.bytes.slice();
    expect(() => fs.writeFile('/huge.bin', new Uint8Array(64 * 1024 * 1024))).toThrow(NoSpaceError);
    expect(() => fs.rename('/compressed', '/compressed/sub/x')).toThrow(GuestError);
    expect(() => fs.mkdir('/many')).toThrow(ExistsError);
    expect(() => fs.rmdir('/links')).toThrow(UsageError);
    expect(Buffer.from(dev.bytes).equals(Buffer.from(snapshot))).toBe(true);
    // and the volume still works
    fs.writeFile('/after.txt', enc('ok'));
    expect(fs.readdir('/many')).toHaveLength(3000);
  });

  itWithTools(['ntfsfix', 'ntfsresize', 'fls', 'icat', 'ntfscat'], 'writes into ntfs-3g fixtures (compressed, hard links, DOS names) stay consistent', () => {
    const img = join(tmp.dir, 'features.img');
    writeFileSync(img, readMaybeGz(fixturePath('ntfs', 'features.img.gz')));
    const { fs, close } = open(img);
    fs.unlink('/links/hardlink.txt');
    expect(fs.stat('/links/original.txt').links).toBe(2);
    fs.rename('/Long File Name.txt', '/links/moved.txt');
    expect(fs.tryStat('/LONGFI~1.TXT')).toBeUndefined();
    fs.writeFile('/compressed/text.txt', enc('now plain'));
    expect(fs.stat('/compressed/text.txt').flags?.compressed).toBe(false);
    fs.unlink('/sparse.bin');
    for (let i = 0; i < 3000; i += 2) fs.unlink(`/many/entry-${String(i).padStart(5, '0')}.dat`);
    expect(fs.readdir('/many')).toHaveLength(1500);
    close();
    expect(spawnSync('ntfsfix', ['-n', img]).status).toBe(0);
    expect(spawnSync('ntfsresize', ['-i', '-f', img]).status).toBe(0);
    expect(execFileSync('ntfscat', [img, 'compressed/text.txt']).toString()).toBe('now plain');
    expect(execFileSync('ntfscat', [img, 'links/moved.txt']).toString()).toBe('long name\n');
    const fls = execFileSync('fls', ['-r', '-p', img]).toString();
    expect(fls).toMatch(/\tlinks\/moved\.txt\n/);
    expect(fls).not.toMatch(/hardlink\.txt|\tsparse\.bin|entry-00000\.dat/);
    expect((fls.match(/\tmany\/entry-/g) ?? []).length).toBe(1500);
  }, 120_000);
});

/** Entries of $Extend/$Reparse:$R as ntfs-3g's ntfsinfo dumps them: "tag:record" (sequence dropped). */
function reparseIndex(img: string): string[] {
  const out = execFileSync('ntfsinfo', ['-v', '-F', '/$Extend/$Reparse', img], { maxBuffer: 1 << 26 }).toString();
  const tags = [...out.matchAll(/Key reparse tag:\s+0x([0-9a-f]+)/g)].map((m) => m[1]!);
  const ids = [...out.matchAll(/Key file id:\s+\d+ \(0x([0-9a-f]+)\)/g)].map((m) => Number(BigInt('0x' + m[1]!) & 0xffffffffffffn));
  expect(ids).toHaveLength(tags.length);
  return tags.map((t, i) => `${t}:${ids[i]}`).sort();
}

describeWithTools(['ntfsfix', 'ntfsresize', 'ntfsinfo', 'fls', 'icat', 'ntfscat'], 'NTFS writes into packed files and reparse points', () => {
  it('rewrites WOF and LZNT1 files plain when written, and keeps $Extend/$Reparse in step', () => {
    const img = join(tmp.dir, 'packed.img');
    writeFileSync(img, readMaybeGz(fixturePath('ntfs', 'features.img.gz')));
    const before = reparseIndex(img);
    const { fs, close } = open(img);
    const rec = (p: string) => fs.stat(p).inode;
    const wofX = rec('/wof-xpress.txt');
    const wofL = rec('/wof-lzx.dll');
    const link = rec('/symlink-abs');
    expect(before).toEqual(expect.arrayContaining([`80000017:${wofX}`, `80000017:${wofL}`, `a000000c:${link}`]));
    // a WOF file written in the middle: decompressed, patched, stored plain, no longer WOF
    const wofOld = fs.readFile('/wof-xpress.txt');
    fs.open('/wof-xpress.txt', { write: true }).writeAt(3, enc('DEF'));
    const wofNew = Buffer.from(wofOld);
    wofNew.write('DEF', 3);
    expect(Buffer.from(fs.readFile('/wof-xpress.txt')).equals(wofNew)).toBe(true);
    expect(fs.stat('/wof-xpress.txt').reparseTag).toBeUndefined();
    expect(fs.stat('/wof-xpress.txt').streams ?? []).toEqual([]);
    // WOF LZX cannot be read, so it cannot be patched; replacing it whole works
    const snapshot = readFileSync(img);
    expect(() => fs.open('/wof-lzx.dll', { write: true }).writeAt(0, enc('x'))).toThrow(UnsupportedError);
    expect(readFileSync(img).equals(snapshot)).toBe(true);
    fs.writeFile('/wof-lzx.dll', enc('MZ replaced'));
    // LZNT1-compressed files: patched in the middle, cut, and grown
    const text = Buffer.from(fs.readFile('/compressed/text.txt'));
    const patch = enc('<<patched across a compression unit boundary>>');
    const at = Math.min(text.length - 10, 4096 * 4 - 20);
    fs.open('/compressed/text.txt', { write: true }).writeAt(at, patch);
    const textNew = Buffer.concat([text.subarray(0, at), Buffer.from(patch), text.subarray(Math.min(text.length, at + patch.length))]);
    const mixed = Buffer.from(fs.readFile('/compressed/mixed.bin'));
    fs.open('/compressed/mixed.bin', { write: true }).truncate(Math.floor(mixed.length / 3));
    const small = Buffer.from(fs.readFile('/compressed/small.txt'));
    fs.open('/compressed/small.txt', { write: true }).truncate(small.length + 70_000);
    expect(fs.stat('/compressed/text.txt').flags?.compressed).toBe(false);
    const textRec = rec('/compressed/text.txt');
    // a reparse point deleted: its $R entry goes with it
    fs.unlink('/symlink-abs');
    close();
    expect(spawnSync('ntfsfix', ['-n', img]).status).toBe(0);
    expect(spawnSync('ntfsresize', ['-i', '-f', img]).status).toBe(0);
    const cat = (p: string) => execFileSync('ntfscat', [img, p], { maxBuffer: 1 << 26 });
    const icat = (n: number) => execFileSync('icat', [img, String(n)], { maxBuffer: 1 << 26 });
    expect(cat('wof-xpress.txt').equals(wofNew)).toBe(true);
    expect(icat(wofX).equals(wofNew)).toBe(true);
    expect(cat('wof-lzx.dll').toString()).toBe('MZ replaced');
    expect(cat('compressed/text.txt').equals(textNew)).toBe(true);
    expect(icat(textRec).equals(textNew)).toBe(true);
    expect(cat('compressed/mixed.bin').equals(mixed.subarray(0, Math.floor(mixed.length / 3)))).toBe(true);
    expect(cat('compressed/small.txt').equals(Buffer.concat([small, Buffer.alloc(70_000)]))).toBe(true);
    // no WOF or symlink attributes left on the rewritten and deleted files
    const info = execFileSync('ntfsinfo', ['-F', '/wof-xpress.txt', img]).toString();
    expect(info).not.toMatch(/REPARSE_POINT|WofCompressedData/);
    expect(reparseIndex(img)).toEqual(before.filter((e) => ![`80000017:${wofX}`, `80000017:${wofL}`, `a000000c:${link}`].includes(e)));
    expect(execFileSync('fls', ['-r', '-p', img]).toString()).not.toMatch(/symlink-abs/);
  }, 120_000);

  it('a damaged $Extend/$Reparse does not stop a deletion: the entry is left for chkdsk, with a warning', () => {
    const bytes = new Uint8Array(readMaybeGz(fixturePath('ntfs', 'features.img.gz')));
    const probe = openNtfs(new MemoryDevice(bytes));
    const rn = probe.stat('/$Extend/$Reparse').inode;
    const at = recordDeviceOffset(probe, rn);
    // the $INDEX_ROOT "$R" value: its first entry's length becomes 0
    const rec = bytes.subarray(at, at + probe.vol.recordSize);
    const u16 = (o: number) => rec[o]! | (rec[o + 1]! << 8);
    let attrAt = u16(0x14);
    while (rec[attrAt] !== 0x90) attrAt += u16(attrAt + 4); // attribute type, length (< 64 KiB here)
    expect(Buffer.from(rec.subarray(attrAt + u16(attrAt + 0x0a), attrAt + u16(attrAt + 0x0a) + 4)).toString('utf16le')).toBe('$R');
    const valueAt = attrAt + u16(attrAt + 0x14);
    const firstEntry = valueAt + 0x10 + u16(valueAt + 0x10);
    rec[firstEntry + 0x08] = 0; // INDEX_ENTRY.length
    rec[firstEntry + 0x09] = 0;
    const warnings: string[] = [];
    const logger = { ...nullLogger, warn: (_o: unknown, msg?: string) => void warnings.push(String(msg)) };
    const fs = openNtfs(new MemoryDevice(bytes), { write: true, logger });
    fs.unlink('/symlink-abs');
    expect(fs.tryStat('/symlink-abs')).toBeUndefined();
    expect(warnings.some((w) => /Reparse is damaged/.test(w))).toBe(true);
  });

  it('deletes 267 of 400 reparse points made by ntfs-3g: $R shrinks through its index blocks', () => {
    const img = join(tmp.dir, 'reparse.img');
    writeFileSync(img, readMaybeGz(fixturePath('ntfs', 'reparse.img.gz')));
    const before = reparseIndex(img);
    expect(before).toHaveLength(400);
    const { fs, close } = open(img);
    const names = fs.readdir('/points').map((e) => e.name).sort();
    const gone = new Set<string>();
    // $R is in (tag, record) order: junctions (0xA0000003) first, then symlinks. Deleting every
    // junction empties whole leaves of $R (the tree is rebuilt, twice here); every third symlink
    // does not (entries go one by one, with predecessor replacement).
    names.forEach((name, i) => {
      if (!name.startsWith('junction') && i % 3 !== 0) return;
      const p = `/points/${name}`;
      gone.add(`${fs.stat(p).reparseTag!.toString(16)}:${fs.stat(p).inode}`);
      if (name.startsWith('junction')) fs.rmdir(p);
      else fs.unlink(p);
    });
    expect(gone.size).toBe(267);
    const left = fs.readdir('/points').map((e) => e.name).sort();
    close();
    expect(spawnSync('ntfsfix', ['-n', img]).status).toBe(0);
    expect(spawnSync('ntfsresize', ['-i', '-f', img]).status).toBe(0);
    expect(reparseIndex(img)).toEqual(before.filter((e) => !gone.has(e)));
    const fls = execFileSync('fls', ['-p', '-r', img]).toString().split('\n').filter((l) => l.includes('points/')).map((l) => l.split('points/')[1]!).sort();
    expect(fls).toEqual(left);
  }, 120_000);
});

describeWithTools(['ntfsfix', 'ntfsresize', 'fls', 'icat', 'ntfscat', 'ntfsls'], 'NTFS writes on a Windows-made volume', () => {
  const shared = sharedDir();
  it.skipIf(!shared)('writes into ntfs-lastaccess.raw (Windows 10) and empties its $LogFile like ntfs-3g', async () => {
    const raw = join(tmp.dir, 'win.raw');
    await gunzipSparse(join(shared!, 'testdata/ntfs/ntfs-samples/ntfs-lastaccess.raw.gz'), raw);
    const vol = join(tmp.dir, 'win-vol.raw');
    const part = ntfsPartition(raw);
    sliceSparse(raw, part.start, vol, part.size);
    // the untouched volume passes the checks (baseline)
    expect(spawnSync('ntfsfix', ['-n', vol]).status).toBe(0);
    expect(spawnSync('ntfsresize', ['-i', '-f', vol]).status).toBe(0);
    const before = openNtfs(new MemoryDevice(new Uint8Array(readFileSync(vol)))).safety();
    expect(before.logFile.state).toBe('clean');
    const { fs, close } = open(vol);
    fs.mkdir('/guestkit');
    fs.writeFile('/guestkit/firstboot.cmd', enc('@echo off\r\necho hello\r\n'));
    fs.writeFile('/test/1.txt', enc('rewritten by guestkit'));
    close();
    const after = openNtfs(new MemoryDevice(new Uint8Array(readFileSync(vol)))).safety();
    expect(after.logFile.state).toBe('empty');
    expect(spawnSync('ntfsfix', ['-n', vol]).status).toBe(0);
    expect(spawnSync('ntfsresize', ['-i', '-f', vol]).status).toBe(0);
    expect(execFileSync('ntfscat', [vol, 'guestkit/firstboot.cmd']).toString()).toBe('@echo off\r\necho hello\r\n');
    expect(execFileSync('ntfscat', [vol, 'test/1.txt']).toString()).toBe('rewritten by guestkit');
    expect(execFileSync('fls', ['-r', '-p', vol]).toString()).toMatch(/\tguestkit\/firstboot\.cmd\n/);
    void copyFileSync;
  }, 120_000);
});
