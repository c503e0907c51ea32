import { expect } from 'vitest';
import { join } from 'node:path';
import { rmSync } from 'node:fs';
import { FileDevice } from '@guestkit/disk';
import { openFat, type FatFileSystem } from '@guestkit/fs-fat';
import { fsckFat, hostTree, mcopyAll, mdirTree, run, sha256 } from './oracles.js';

/**
 * The expected state of a volume: path (as created, original case) -> file bytes or directory.
 * Checked against the image by independent tools (fsck.fat, mdir, mcopy) and by a fresh open.
 */
export type Model = Map<string, { type: 'file'; data: Uint8Array } | { type: 'directory' }>;

export function mkfsFat(img: string, args: string[], sizeKiB: number): void {
  const r = run('mkfs.fat', ['-C', ...args, img, String(sizeKiB)]);
  if (r.status !== 0) throw new Error(`mkfs.fat failed: ${r.stderr}`);
}

/** Free clusters as fsck.fat counts them ("img: N files, used/total clusters"). */
export function fsckFree(output: string): number | undefined {
  const m = / (\d+)\/(\d+) clusters/.exec(output);
  return m ? Number(m[2]) - Number(m[1]) : undefined;
}

const upper = (s: string): string => s.toUpperCase();

/**
 * Full oracle check of `img` against `model`: fsck.fat -n finds nothing, mdir lists exactly the
 * model's paths, mcopy extracts exactly the model's bytes, and a fresh read-only open sees the
 * same tree and contents (and a consistent check()).
 */
export function verifyImage(img: string, model: Model, tmp: string, label = ''): void {
  const fsck = fsckFat(img);
  expect(fsck.ok, `${label} fsck.fat -n:\n${fsck.output}`).toBe(true);

  const want = [...model.entries()].map(([p, e]) => `${upper(p)} ${e.type}`).sort();
  const listed = mdirTree(img).map((t) => `${upper(t.path)} ${t.type}`).sort();
  expect(listed, `${label} mdir listing`).toEqual(want);

  const out = join(tmp, `mcopy-${Date.now()}-${Math.random().toString(36).slice(2)}`);
  if (model.size > 0) mcopyAll(img, out);
  const host = hostTree(out);
  const hostByUpper = new Map([...host].map(([p, v]) => [upper(p), { p, v }]));
  for (const [p, e] of model) {
    const h = hostByUpper.get(upper(p));
    expect(h, `${label} mcopy extracted ${p}`).toBeDefined();
    expect(h!.v.type, `${label} ${p}`).toBe(e.type);
    // mcopy writes the stored (long) name: the case we created it with.
    expect(h!.p, `${label} name case`).toBe(p);
    if (e.type === 'file') expect(h!.v.sha, `${label} mcopy content of ${p}`).toBe(sha256(e.data));
  }
  expect(host.size, `${label} mcopy file count`).toBe(model.size);
  rmSync(out, { recursive: true, force: true });

  const dev = FileDevice.open(img);
  try {
    const fs = openFat(dev);
    verifyFs(fs, model, label);
    const free = fsckFree(fsck.output);
    expect(fs.statfs().freeBlocks, `${label} free clusters vs fsck.fat`).toBe(free);
    fs.check();
    fs.close();
  } finally {
    dev.close();
  }
}

/** Compare a FatFileSystem's tree and contents with the model (no external tools). */
export function verifyFs(fs: FatFileSystem, model: Model, label = ''): void {
  const seen = new Map<string, string>();
  for (const w of fs.walk('/')) seen.set(upper(w.path), `${w.path} ${w.entry.type}`);
  const want = new Map([...model].map(([p, e]) => [upper(p), `${p} ${e.type}`]));
  expect([...seen.values()].sort(), `${label} walk`).toEqual([...want.values()].sort());
  for (const [p, e] of model) {
    if (e.type !== 'file') continue;
    const got = fs.readFile(p);
    if (got.length !== e.data.length || sha256(got) !== sha256(e.data)) {
      expect(`${p}: ${got.length} bytes ${sha256(got)}`, label).toBe(`${p}: ${e.data.length} bytes ${sha256(e.data)}`);
    }
  }
}

/** Deterministic pseudo-random bytes. */
export function bytes(n: number, seed: number): Uint8Array {
  const words = new Uint32Array(Math.ceil(n / 4));
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    words[i] = x;
  }
  return new Uint8Array(words.buffer, 0, n);
}

/** Open an image file read-write and return the fs with a close that also closes the device. */
export function openRw(img: string, opts: Parameters<typeof openFat>[1] = {}): { fs: FatFileSystem; done: () => void } {
  const dev = FileDevice.open(img, { write: true });
  const fs = openFat(dev, { write: true, ...opts });
  return {
    fs,
    done: () => {
      fs.close();
      dev.close();
    },
  };
}
