/**
 * guestkit inspect over every disk and filesystem image in ../shared/testdata (none holds a
 * Windows installation): each gives a report or a GuestError (a typed, clean failure), never
 * anything else, and none is mistaken for an operating system.
 */
import { expect, it } from 'vitest';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { GuestError } from '@guestkit/disk/binary';
import { inspectImages, inspectionToJson, inspectionToXml } from '@guestkit/inspector';
import { describeWithShared } from './support/shared.js';

/** Images larger than this once decompressed are skipped (keeps the test to seconds). */
const MAX_IMAGE = 300 * 1024 * 1024;

function* images(dir: string): Generator<string> {
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) yield* images(p);
    else if (/\.(raw|img|bin|qcow2)(\.gz)?$/.test(e) || e === 'testfs1.gz') yield p;
  }
}

describeWithShared('inspect over ../shared/testdata images', (shared) => {
  it('every image: a report without operating systems, or a GuestError', () => {
    const tmp = mkdtempSync(join(tmpdir(), 'gk-conf-'));
    const outcomes: string[] = [];
    try {
      let n = 0;
      for (const dir of ['ntfs', 'fat', 'partitions', 'qcow2']) {
        for (const src of images(join(shared, 'testdata', dir))) {
          const dst = join(tmp, `${n++}-${src.split('/').pop()!.replace(/\.gz$/, '')}`);
          if (src.endsWith('.gz')) {
            let data: Buffer;
            try {
              data = gunzipSync(readFileSync(src), { maxOutputLength: MAX_IMAGE });
            } catch {
              continue; // the 1 GiB NTFS samples: other packages' tests cover them
            }
            writeFileSync(dst, data);
          } else copyFileSync(src, dst);
        }
      }
      // qcow2 overlays name their backing file relative to themselves
      for (const f of readdirSync(join(shared, 'testdata/qcow2/derived'))) copyFileSync(join(shared, 'testdata/qcow2/derived', f), join(tmp, f));
      for (const f of readdirSync(tmp)) {
        try {
          const r = inspectImages([join(tmp, f)]);
          inspectionToXml(r);
          inspectionToJson(r);
          expect(r.operatingSystems, f).toEqual([]);
          outcomes.push(`${f}: no OS`);
        } catch (e) {
          if (!(e instanceof GuestError)) throw e;
          outcomes.push(`${f}: ${e.code}`);
        }
      }
      expect(outcomes.length).toBeGreaterThan(30);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }, 300_000);
});
