/**
 * Conformance over ../shared/testdata/qcow2: every image read by guestkit must equal what
 * `qemu-img convert -O raw` produces (byte for byte), and its allocation map must agree with
 * `qemu-img map`.
 */
import { expect, it } from 'vitest';
import { readdirSync, statSync, readFileSync, openSync, readSync, closeSync } from 'node:fs';
import { join, relative } from 'node:path';
import { openImage, type BlockDevice } from '@guestkit/disk';
import { describeWithShared, tempDir } from './support/shared.js';
import { describeWithTools, runTool } from './support/tools.js';

function* files(dir: string): Generator<string> {
  for (const e of readdirSync(dir).sort()) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) yield* files(p);
    else yield p;
  }
}

/** First offset where `dev` differs from the file at `path` (-1 when equal). memcmp, no hashing. */
function firstDifference(dev: BlockDevice, path: string): number {
  const fd = openSync(path, 'r');
  try {
    const a = Buffer.alloc(1 << 22);
    const b = Buffer.alloc(1 << 22);
    for (let off = 0; off < dev.size; off += a.length) {
      const n = Math.min(a.length, dev.size - off);
      dev.readAt(off, a.subarray(0, n));
      readSync(fd, b, 0, n, off);
      if (!a.subarray(0, n).equals(b.subarray(0, n))) return off;
    }
    return -1;
  } finally {
    closeSync(fd);
  }
}

describeWithShared('shared qcow2 corpus', (shared) => {
  const root = join(shared, 'testdata', 'qcow2');
  const images = [...files(root)].filter((f) => readFileSync(f).subarray(0, 4).toString('latin1') === 'QFI\xfb');
  it('has images', () => expect(images.length).toBeGreaterThan(0));
  describeWithTools(['qemu-img'], 'content and map agree with qemu-img', () => {
    for (const f of images) {
      it(relative(root, f), () => {
        const t = tempDir();
        try {
          const out = join(t.dir, 'out.raw');
          runTool('qemu-img', ['convert', '-O', 'raw', f, out]);
          const d = openImage(f);
          try {
            expect(d.size).toBe(statSync(out).size);
            expect(firstDifference(d, out)).toBe(-1);
            const map = JSON.parse(runTool('qemu-img', ['map', '--output=json', f]).toString()) as { start: number; length: number; data: boolean }[];
            const dataBytes = (xs: { length: number }[]) => xs.reduce((a, x) => a + x.length, 0);
            const ours = [...d.extents!(0, d.size)];
            expect(dataBytes(ours.filter((e) => e.kind === 'data'))).toBe(dataBytes(map.filter((m) => m.data)));
          } finally {
            d.close();
          }
        } finally {
          t.cleanup();
        }
      });
    }
  });
});
