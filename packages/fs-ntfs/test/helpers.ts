import { createReadStream, openSync, writeSync, closeSync, ftruncateSync, readSync, fstatSync, readdirSync, statSync } from 'node:fs';
import { createGunzip } from 'node:zlib';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { FileDevice, readPartitionTable, type BlockDevice } from '@guestkit/disk';
import type { NtfsFileSystem } from '../src/index.js';

/** Write a gzip file out as a sparse file (runs of zeros become holes). */
export async function gunzipSparse(src: string, dst: string): Promise<void> {
  const fd = openSync(dst, 'w');
  let pos = 0;
  const zero = new Uint8Array(65536);
  await new Promise<void>((resolve, reject) => {
    const s = createReadStream(src).pipe(createGunzip({ chunkSize: 1 << 20 }));
    s.on('data', (chunk: Buffer) => {
      for (let o = 0; o < chunk.length; o += 65536) {
        const part = chunk.subarray(o, Math.min(o + 65536, chunk.length));
        if (!(part.length === 65536 && Buffer.compare(part, zero) === 0)) writeSync(fd, part, 0, part.length, pos + o);
      }
      pos += chunk.length;
    });
    s.on('end', () => resolve());
    s.on('error', reject);
  });
  ftruncateSync(fd, pos);
  closeSync(fd);
}

/** Extract a (sparse) tar into `dir` with GNU tar; returns the extracted files. */
export function untar(src: string, dir: string): string[] {
  execFileSync('tar', ['-xf', src, '-C', dir, '--sparse']);
  return readdirSync(dir).map((f) => join(dir, f)).filter((f) => statSync(f).isFile());
}

/** Start (bytes) of the NTFS volume: 0 for a bare volume, else the first MBR partition of type 7. */
export function ntfsStart(path: string): number {
  return ntfsPartition(path).start;
}

/** Start and size (bytes; size undefined for a bare volume) of the NTFS volume in an image. */
export function ntfsPartition(path: string): { start: number; size: number | undefined } {
  const fd = openSync(path, 'r');
  const b = Buffer.alloc(512);
  readSync(fd, b, 0, 512, 0);
  closeSync(fd);
  if (b.toString('latin1', 3, 11) === 'NTFS    ') return { start: 0, size: undefined };
  if (b[510] !== 0x55 || b[511] !== 0xaa) throw new Error(`${path}: neither NTFS nor MBR`);
  for (let i = 0; i < 4; i++) {
    const e = 446 + i * 16;
    if (b[e + 4] === 0x07) return { start: b.readUInt32LE(e + 8) * 512, size: b.readUInt32LE(e + 12) * 512 };
  }
  throw new Error(`${path}: no NTFS (type 7) partition`);
}

/**
 * A device for the volume inside `path`: the disk itself for a bare volume, else the NTFS
 * partition opened through packages/disk's partition-table reader (checked against the MBR
 * entry read independently by ntfsPartition).
 */
export function volumeDevice(path: string, opts: { write?: boolean } = {}): { dev: BlockDevice; start: number; close: () => void } {
  const f = FileDevice.open(path, opts);
  const { start, size } = ntfsPartition(path);
  if (!start) return { dev: f, start, close: () => f.close() };
  const table = readPartitionTable(f);
  const part = table.partitions.find((p) => p.start === start && p.mbrType === 0x07);
  if (!part || part.size !== size) throw new Error(`${path}: partition table reader disagrees about the NTFS partition at ${start}`);
  return { dev: part.open(), start, close: () => f.close() };
}

/** Copy [start, end) of a file into a new sparse file (ntfs-3g tools take no offset). */
export function sliceSparse(src: string, start: number, dst: string, length?: number): void {
  const a = openSync(src, 'r');
  const b = openSync(dst, 'w');
  const size = length ?? fstatSync(a).size - start;
  const buf = Buffer.alloc(1 << 20);
  const zero = Buffer.alloc(1 << 20);
  for (let o = 0; o < size; o += buf.length) {
    const n = readSync(a, buf, 0, Math.min(buf.length, size - o), start + o);
    if (n === buf.length && buf.equals(zero)) continue;
    writeSync(b, buf, 0, n, o);
  }
  ftruncateSync(b, size);
  closeSync(a);
  closeSync(b);
}

export function sha256(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

/** One line of a tree listing: path (fls -p style, no leading slash), kind, size of files. */
export interface TreeItem {
  path: string;
  dir: boolean;
  size: number;
  inode: number;
  /** Named stream, when the item is "file:stream". */
  stream: string;
}

/**
 * Walk the whole tree as sleuthkit lists it: directories, files with an unnamed $DATA, and
 * every named $DATA stream as "path:stream".
 */
export function walkTree(fs: NtfsFileSystem, onFile?: (p: string, item: TreeItem) => void): TreeItem[] {
  const out: TreeItem[] = [];
  const visit = (dir: string, depth: number) => {
    if (depth > 64) throw new Error('too deep');
    for (const e of fs.readdir(dir)) {
      const full = (dir === '/' ? '' : dir) + '/' + e.name;
      const st = fs.stat(full);
      const isDir = (st.attributes & 0x10) !== 0;
      const rel = full.slice(1);
      if (isDir) out.push({ path: rel, dir: true, size: 0, inode: st.inode, stream: '' });
      else {
        if (fs.dataStreams(full).some((d) => d.name === '')) {
          const item = { path: rel, dir: false, size: st.size, inode: st.inode, stream: '' };
          out.push(item);
          onFile?.(full, item);
        }
      }
      for (const s of st.streams ?? []) {
        const sst = fs.stat(`${full}:${s}`);
        const item = { path: `${rel}:${s}`, dir: false, size: sst.size, inode: st.inode, stream: s };
        out.push(item);
        onFile?.(`${full}:${s}`, item);
      }
      if (isDir && st.type !== 'symlink') visit(full, depth + 1);
    }
  };
  visit('/', 0);
  return out;
}

/** Parse `fls -r -p -l` output into comparable items (live entries, $DATA streams and directories). */
export function parseFls(text: string): (TreeItem & { attr: string })[] {
  const out: (TreeItem & { attr: string })[] = [];
  for (const line of text.split('\n')) {
    const m = /^(\S)\/(\S) (\*?\s*)([0-9]+)(?:-([0-9]+)-([0-9]+))?:\t([^\t]*)\t(?:[^\t]*\t){4}([0-9]+)/.exec(line);
    if (!m) continue;
    if (m[3]!.includes('*')) continue; // deleted
    // "-/r": sleuthkit recovered the name from unallocated index space (ntfs3.raw test/1.txt is
    // an allocated file no live $I30 entry names; ntfsls does not list it either)
    if (m[1] === '-') continue;
    const [, t1, , , inode, atype, aid, path, size] = m;
    if (path === '$OrphanFiles' || path!.startsWith('$OrphanFiles/')) continue;
    if (atype === '144' && path!.includes(':')) continue; // named index streams ($SDH, $O, ...)
    const dir = t1 === 'd';
    const colon = path!.lastIndexOf(':');
    const base = path!.slice(path!.lastIndexOf('/') + 1);
    const stream = !dir && base.includes(':') ? path!.slice(colon + 1) : '';
    out.push({ path: path!, dir, size: dir ? 0 : Number(size), inode: Number(inode), stream, attr: `${inode}-${atype}-${aid}` });
  }
  return out;
}

/**
 * Compare a volume with sleuthkit: `fls -r -p -l` names/types/sizes, and `icat` bytes of every
 * file and named stream up to `hashLimit` bytes. Returns counts. Throws (via expect) on mismatch.
 */
export function compareWithTsk(
  fs: NtfsFileSystem, image: string, startSector: number, expectEqual: (a: unknown, b: unknown) => void,
  opts: { hashLimit?: number; maxHashed?: number; unsupported?: string[] } = {},
): { items: number; hashed: number; skipped: number } {
  const hashLimit = opts.hashLimit ?? 48 * 1024 * 1024;
  const ours = walkTree(fs);
  const out = execFileSync('fls', ['-r', '-p', '-l', '-o', String(startSector), image], { maxBuffer: 1 << 30 }).toString('utf8');
  const theirs = parseFls(out);
  const key = (t: TreeItem) => `${t.dir ? 'd' : 'r'} ${t.path} ${t.size}`;
  expectEqual(ours.map(key).sort(), theirs.map(key).sort());
  const byPath = new Map(theirs.map((t) => [t.path, t]));
  let hashed = 0;
  let skipped = 0;
  // one icat process per stream; above maxHashed streams, a deterministic every-k-th sample
  const files = ours.filter((t) => !t.dir).sort((a, b) => (a.path < b.path ? -1 : 1));
  const k = Math.max(1, Math.ceil(files.length / (opts.maxHashed ?? Infinity)));
  for (const [i, t] of files.entries()) {
    if (i % k !== 0 || t.size > hashLimit || t.path === '$BadClus:$Bad' || opts.unsupported?.includes(t.path)) {
      skipped++;
      continue;
    }
    const o = byPath.get(t.path)!;
    const icat = execFileSync('icat', ['-o', String(startSector), image, o.attr], { maxBuffer: 1 << 30 });
    expectEqual({ path: t.path, sha: sha256(fs.readFile('/' + t.path)) }, { path: t.path, sha: sha256(icat) });
    hashed++;
  }
  return { items: ours.length, hashed, skipped };
}

/** Byte offset on the device of MFT record `n` (through $MFT's runs). */
export function recordDeviceOffset(fs: NtfsFileSystem, n: number): number {
  const vol = fs.vol;
  const off = n * vol.recordSize;
  const cs = vol.clusterSize;
  for (const r of vol.mft.info.runs) {
    if (off >= r.vcn * cs && off < (r.vcn + r.length) * cs) return r.lcn * cs + (off - r.vcn * cs);
  }
  throw new Error(`record ${n} not mapped`);
}
