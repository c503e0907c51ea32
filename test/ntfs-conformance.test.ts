import { expect, it, afterAll } from 'vitest';
import { readdirSync, statSync } from 'node:fs';
import { join, basename } from 'node:path';
import { describeWithShared, tempDir } from './support/shared.js';
import { describeWithTools, runTool, runToolStatus } from './support/tools.js';
import { openNtfs } from '@guestkit/fs-ntfs';
import { postReadFixup } from '../packages/fs-ntfs/src/record/fixup.js';
import { gunzipSparse, untar, ntfsStart, ntfsPartition, volumeDevice, sliceSparse, sha256, walkTree, parseFls, type TreeItem } from '../packages/fs-ntfs/test/helpers.js';

/**
 * Conformance over every NTFS image in ../shared/testdata/ntfs: the whole tree walked by
 * guestkit equals sleuthkit's `fls -r -p -l` (names, types, sizes), and the SHA-256 of every
 * file and named stream equals `icat`. Where TSK cannot read the volume (2 MiB clusters) the
 * oracle is ntfs-3g: `ntfsls -R` for the listing and `ntfscat` for the bytes.
 *
 * Runtime: one oracle process per file. Streams larger than HASH_LIMIT (the 64 GiB sparse
 * $BadClus:$Bad, a 64 MiB $LogFile) are listed and sized but not hashed; $BadClus:$Bad is a
 * sparse stream as large as the volume, for which icat prints nothing.
 */
const HASH_LIMIT = 48 * 1024 * 1024;

function fixupAll(b: Uint8Array, recordSize: number): Uint8Array {
  const out = b.slice();
  for (let o = 0; o + recordSize <= out.length; o += recordSize) {
    const rec = out.subarray(o, o + recordSize);
    if (rec[0] !== 0x46 || rec[1] !== 0x49 || rec[2] !== 0x4c || rec[3] !== 0x45) continue;
    try {
      postReadFixup(rec, 'record', o);
    } catch {
      // a torn record stays as it is
    }
  }
  return out;
}

function* images(root: string): Generator<string> {
  for (const e of readdirSync(root)) {
    const p = join(root, e);
    if (statSync(p).isDirectory()) yield* images(p);
    else if (/\.(gz|tgz)$/.test(e)) yield p;
  }
}


describeWithShared('NTFS conformance over ../shared/testdata/ntfs', (shared) => {
  describeWithTools(['fls', 'icat', 'ntfsls', 'ntfscat', 'tar'], 'every image', () => {
    const tmp = tempDir('ntfs-conf-');
    afterAll(() => tmp.cleanup());
    const list = [...images(join(shared, 'testdata', 'ntfs'))].sort();
    it('finds the corpus', () => {
      expect(list.length).toBeGreaterThanOrEqual(10);
    });
    for (const img of list) {
      it(`${basename(img)}: tree and bytes equal the oracle`, async () => {
        const work = join(tmp.dir, basename(img).replace(/\W/g, '_'));
        runTool('mkdir', ['-p', work]);
        let raw: string;
        if (img.endsWith('.tgz')) raw = untar(img, work)[0]!;
        else {
          raw = join(work, 'image.raw');
          await gunzipSparse(img, raw);
        }
        const start = ntfsStart(raw);
        const { dev, close } = volumeDevice(raw);
        try {
          const fs = openNtfs(dev);
          const ours: TreeItem[] = walkTree(fs);
          const fls = runToolStatus('fls', ['-r', '-p', '-l', '-o', String(start / 512), raw]);
          let hashed = 0;
          let skipped = 0;
          if (fls.status === 0) {
            const theirs = parseFls(fls.stdout);
            const key = (t: TreeItem) => `${t.dir ? 'd' : 'r'} ${t.path} ${t.size}`;
            expect(ours.map(key).sort()).toEqual(theirs.map(key).sort());
            // bytes: one icat per file and named stream
            const byPath = new Map(theirs.map((t) => [t.path, t]));
            for (const t of ours) {
              if (t.dir) continue;
              const o = byPath.get(t.path)!;
              if (t.size > HASH_LIMIT || t.path === '$BadClus:$Bad') {
                skipped++;
                continue;
              }
              const mine = sha256(fs.readFile('/' + t.path));
              const icat = runTool('icat', ['-o', String(start / 512), raw, o.attr]);
              expect({ path: t.path, sha: mine }).toEqual({ path: t.path, sha: sha256(icat) });
              hashed++;
            }
          } else {
            // sleuthkit cannot read it (2 MiB clusters): ntfs-3g is the oracle
            expect(fls.stderr).toMatch(/Cannot determine file system type|Error/);
            const vol = join(work, 'volume.raw');
            if (start) sliceSparse(raw, start, vol, ntfsPartition(raw).size);
            const volPath = start ? vol : raw;
            const ls = runTool('ntfsls', ['-R', '-a', '-s', '-l', '-i', '-F', volPath]).toString('utf8');
            const theirs: string[] = [];
            let cur = '';
            for (const line of ls.split('\n')) {
              const h = /^(\/.*):$/.exec(line);
              if (h) {
                cur = h[1] === '/' ? '' : h[1]!.slice(1).replace(/\/$/, '');
                continue;
              }
              const m = /^\s*([0-9]+)\s+([0-9]+) +\S+ +[0-9]+ +[0-9:]+ +[0-9]+ (.*)$/.exec(line);
              if (!m || m[3] === './' || m[3] === '../') continue;
              const name = m[3]!;
              const dir = name.endsWith('/');
              theirs.push(`${dir ? 'd' : 'r'} ${cur ? cur + '/' : ''}${dir ? name.slice(0, -1) : name}${dir ? '' : ' ' + m[2]}`);
            }
            // ntfsls prints every entry (also metadata files without unnamed data) and no streams
            const mineAll: string[] = [];
            const walkAll = (d: string) => {
              for (const e of fs.readdir(d)) {
                const full = (d === '/' ? '' : d) + '/' + e.name;
                const st = fs.stat(full);
                const dir = (st.attributes & 0x10) !== 0;
                mineAll.push(`${dir ? 'd' : 'r'} ${full.slice(1)}${dir ? '' : ' ' + st.size}`);
                if (dir) walkAll(full);
              }
            };
            walkAll('/');
            expect(mineAll.sort()).toEqual(theirs.sort());
            for (const t of ours) {
              if (t.dir) continue;
              if (t.size > HASH_LIMIT || t.path === '$BadClus:$Bad') {
                skipped++;
                continue;
              }
              const args = ['-i', String(t.inode), ...(t.stream ? ['-n', t.stream] : []), volPath];
              const cat = runTool('ntfscat', args);
              let mine = fs.readFile('/' + t.path);
              // ntfs-3g hands out $MFT/$MFTMirr with every record's fixup applied; do the same
              if (t.path === '$MFT' || t.path === '$MFTMirr') mine = fixupAll(mine, fs.vol.recordSize);
              expect({ path: t.path, sha: sha256(mine) }).toEqual({ path: t.path, sha: sha256(cat) });
              hashed++;
            }
          }
          expect(hashed).toBeGreaterThan(5);
          console.log(`${basename(img)}: ${ours.length} items, ${hashed} hashed against the oracle, ${skipped} larger than ${HASH_LIMIT} bytes not hashed`);
        } finally {
          close();
          runTool('rm', ['-rf', work]);
        }
      }, 300_000);
    }
  });
});
