/**
 * qcow2 writes, checked by qemu: after seeded random write sequences, `qemu-img check` must find
 * no errors and no leaks, and `qemu-img compare` against a raw model must say identical. Also on
 * images qemu made (v2, zero clusters, compressed, backing chains, snapshots, 1/64-bit refcounts)
 * and when the host fails in the middle of a write.
 */
import { describe, expect, it } from 'vitest';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  createQcow2, createQcow2On, openImage, FileDevice, MemoryDevice, Qcow2Device, IoError, readBytes, type HostFile,
} from '../src/index.js';
import { Rng } from '../../../test/support/fuzz.js';
import { itWithTools, runTool, runToolStatus } from '../../../test/support/tools.js';
import { sameBytes, useFixtures } from './helpers.js';

const p = useFixtures('qcow2');

function pattern(rng: Rng, n: number): Uint8Array {
  const b = new Uint8Array(n);
  const seed = rng.next();
  for (let i = 0; i < n; i++) b[i] = (seed + i * 13 + (i >> 9)) & 0xff;
  return b;
}

/** Random writes: mostly small, some spanning many clusters, some cluster-aligned, some at the end. */
function randomWrites(dev: { size: number; writeAt(o: number, b: Uint8Array): void }, model: Uint8Array, rng: Rng, count: number, cs: number): void {
  for (let i = 0; i < count; i++) {
    let len: number;
    let off: number;
    switch (rng.int(5)) {
      case 0:
        len = 1 + rng.int(Math.min(cs * 5, 1 << 20));
        break;
      case 1:
        len = Math.min(cs * (1 + rng.int(3)), 4 << 20);
        break;
      case 2:
        len = 1 + rng.int(700);
        break;
      default:
        len = 1 + rng.int(9000);
    }
    len = Math.min(len, dev.size);
    off = rng.int(dev.size - len + 1);
    if (rng.int(4) === 0) off -= off % cs;
    if (rng.int(10) === 0) off = dev.size - len;
    const b = pattern(rng, len);
    dev.writeAt(off, b);
    model.set(b, off);
  }
}

/** qemu-img check (no errors, no leaks) and compare against the raw model. */
function qemuAgrees(image: string, model: Uint8Array, modelPath = image + '.model.raw', allowLeaks = false): void {
  const chk = runToolStatus('qemu-img', ['check', image]);
  if (!(chk.status === 0 || (allowLeaks && chk.status === 3))) throw new Error(`qemu-img check ${image}: exit ${chk.status}\n${chk.stdout}${chk.stderr}`);
  if (!allowLeaks) expect(chk.stdout).toContain('No errors were found on the image.');
  writeFileSync(modelPath, model);
  const cmp = runToolStatus('qemu-img', ['compare', '-f', 'qcow2', '-F', 'raw', image, modelPath]);
  if (cmp.status !== 0) throw new Error(`qemu-img compare ${image}: exit ${cmp.status}\n${cmp.stdout}${cmp.stderr}`);
  expect(cmp.stdout).toContain('Images are identical.');
}

/** Raw content of an image as qemu sees it. */
function qemuRaw(image: string): Uint8Array {
  const out = image + '.qemu.raw';
  runTool('qemu-img', ['convert', '-O', 'raw', image, out]);
  return new Uint8Array(readFileSync(out));
}

describe('qcow2 write: new images, seeded random writes, checked by qemu-img', () => {
  const cases: [string, { clusterSize: number; refcountBits: number; version: 2 | 3; size: number }][] = [
    ['v3, 64 KiB clusters, 16-bit refcounts', { clusterSize: 65536, refcountBits: 16, version: 3, size: 24 * 1024 * 1024 + 4096 }],
    ['v2, 64 KiB clusters', { clusterSize: 65536, refcountBits: 16, version: 2, size: 8 * 1024 * 1024 }],
    ['512-byte clusters, 1-bit refcounts (many refcount blocks)', { clusterSize: 512, refcountBits: 1, version: 3, size: 6 * 1024 * 1024 }],
    ['512-byte clusters, 64-bit refcounts (refcount table grows and moves)', { clusterSize: 512, refcountBits: 64, version: 3, size: 6 * 1024 * 1024 }],
    ['4 KiB clusters, 8-bit refcounts', { clusterSize: 4096, refcountBits: 8, version: 3, size: 10 * 1024 * 1024 + 1536 }],
    ['2 MiB clusters', { clusterSize: 2 * 1024 * 1024, refcountBits: 16, version: 3, size: 20 * 1024 * 1024 }],
  ];
  for (const [name, o] of cases) {
    itWithTools(['qemu-img'], name, () => {
      const rng = new Rng(o.clusterSize * 7 + o.refcountBits);
      const img = p(`new-${o.clusterSize}-${o.refcountBits}-${o.version}.qcow2`);
      const d = createQcow2(img, o);
      const model = new Uint8Array(o.size);
      randomWrites(d, model, rng, 250, o.clusterSize);
      expect(sameBytes(readBytes(d, 0, d.size), model)).toBe(true);
      d.close();
      qemuAgrees(img, model);
      const info = JSON.parse(runTool('qemu-img', ['info', '--output=json', img]).toString());
      expect(info['cluster-size']).toBe(o.clusterSize);
      expect(info['format-specific'].data.compat).toBe(o.version === 2 ? '0.10' : '1.1');
    });
  }

  itWithTools(['qemu-img'], 'a new image over a qcow2 backing file: partial-cluster writes copy from the backing file', () => {
    const base = p('chain-base.qcow2');
    const img = p('new-over-base.qcow2');
    const d = createQcow2(img, { backingFile: 'chain-base.qcow2' });
    expect(d.size).toBe(4 * 1024 * 1024);
    expect(d.backing?.name).toBe('chain-base.qcow2');
    const model = qemuRaw(base);
    randomWrites(d, model, new Rng(99), 150, d.clusterSize);
    d.close();
    qemuAgrees(img, model);
    const info = JSON.parse(runTool('qemu-img', ['info', '--output=json', img]).toString());
    expect(info['backing-filename']).toBe('chain-base.qcow2');
    expect(info['backing-filename-format']).toBe('qcow2');
  });

  it('in memory too (createQcow2On a growable MemoryDevice)', () => {
    const host = new MemoryDevice(0, { name: 'mem.qcow2' });
    const d = createQcow2On(host, { size: 3 * 1024 * 1024, clusterSize: 4096 });
    const model = new Uint8Array(d.size);
    randomWrites(d, model, new Rng(5), 200, 4096);
    const again = Qcow2Device.open(host);
    expect(sameBytes(readBytes(again, 0, again.size), model)).toBe(true);
  });
});

describe('qcow2 write on images qemu made', () => {
  const fixtures = ['v2', 'v3-zero', 'small-clusters', 'big-clusters', 'compressed', 'compressed-v2-4k', 'chain-top', 'chain-mid', 'over-raw', 'refcount1', 'refcount64', 'snapshot', 'lazy'];
  for (const n of fixtures) {
    itWithTools(['qemu-img'], `${n}.qcow2`, () => {
      const img = p(`${n}.qcow2`);
      const model = qemuRaw(img);
      const d = openImage(img, { write: true });
      expect(d.readOnly).toBe(false);
      const cs = (d as Qcow2Device).clusterSize;
      randomWrites(d, model, new Rng(n.length * 1000 + 7), 120, cs);
      d.close();
      qemuAgrees(img, model);
    });
  }

  itWithTools(['qemu-img'], 'writes after a snapshot leave the snapshot intact', () => {
    const img = p('snap2.qcow2');
    copyFileSync(p('snapshot.qcow2'), img);
    const snapOut = p('snap-before.raw');
    runTool('qemu-img', ['convert', '-l', 'snap1', '-O', 'raw', img, snapOut]);
    const before = readFileSync(snapOut);
    const model = qemuRaw(img);
    const d = openImage(img, { write: true });
    randomWrites(d, model, new Rng(77), 100, 65536);
    d.close();
    qemuAgrees(img, model);
    runTool('qemu-img', ['convert', '-l', 'snap1', '-O', 'raw', img, snapOut]);
    expect(readFileSync(snapOut).equals(before)).toBe(true);
  });

  itWithTools(['qemu-img'], 'a dirty image left by a lazy-refcounts crash: refcounts rebuilt on a read-write open, as qemu does', () => {
    const img = p('dirty-copy.qcow2');
    copyFileSync(p('lazy-dirty.qcow2'), img);
    const before = runToolStatus('qemu-img', ['check', img]);
    expect(before.status).toBe(2); // stale refcounts: qemu-img check (without -r) reports errors
    const model = qemuRaw(img);
    const d = openImage(img, { write: true }) as Qcow2Device;
    expect(d.header.incompatibleFeatures & 1n).toBe(0n);
    randomWrites(d, model, new Rng(123), 60, 65536);
    d.close();
    qemuAgrees(img, model);
    const info = JSON.parse(runTool('qemu-img', ['info', '--output=json', img]).toString());
    expect(info['dirty-flag']).toBe(false);
  });

  itWithTools(['qemu-img'], 'clears autoclear bits (bitmaps) before writing', () => {
    const img = p('autoclear.qcow2');
    const b = new Uint8Array(readFileSync(p('lazy.qcow2')));
    b[95] = 0x02; // autoclear bit 1 (raw external data) — unknown to a plain image, must be cleared
    writeFileSync(img, b);
    const d = openImage(img, { write: true }) as Qcow2Device;
    d.writeAt(0, new Uint8Array([1]));
    d.close();
    expect(readFileSync(img)[95]).toBe(0);
  });
});

describe('qcow2 compressed writes', () => {
  itWithTools(['qemu-img'], 'packs compressed clusters; qemu reads them and finds no errors', () => {
    const img = p('comp-out.qcow2');
    const cs = 65536;
    const d = createQcow2(img, { size: 40 * cs + 1000 });
    const model = new Uint8Array(d.size);
    const rng = new Rng(3);
    for (let ci = 0; ci < 41; ci++) {
      if (ci % 7 === 3) continue; // leave some unallocated
      const len = Math.min(cs, d.size - ci * cs);
      const data = ci % 5 === 0 ? pattern(rng, len).map(() => rng.int(256)) : new Uint8Array(len).fill(ci & 0xff).map((x, i) => (i % 97 === 0 ? i & 0xff : x));
      d.writeCompressedCluster(ci, data);
      model.set(data, ci * cs);
    }
    // Overwrite parts of compressed clusters: decompress, copy on write, drop references.
    randomWrites(d, model, rng, 30, cs);
    d.close();
    qemuAgrees(img, model);
    const check = runTool('qemu-img', ['check', img]).toString();
    expect(check).toMatch(/[1-9][0-9.]*% compressed clusters/);
  });
});

/** A host that fails with IoError after `budget` writes (a crash in the middle of a write). */
class FailingHost implements HostFile {
  writes = 0;
  constructor(readonly inner: FileDevice, readonly budget: number) {}
  get name() { return this.inner.name; }
  get size() { return this.inner.size; }
  get sectorSize() { return this.inner.sectorSize; }
  get readOnly() { return this.inner.readOnly; }
  get path() { return this.inner.path; }
  readAt(o: number, d: Uint8Array): void { this.inner.readAt(o, d); }
  private tick(): void {
    if (++this.writes > this.budget) throw new IoError('IO_EIO', 'simulated failure');
  }
  writeAt(o: number, s: Uint8Array): void { this.tick(); this.inner.writeAt(o, s); }
  writeGrow(o: number, s: Uint8Array): void { this.tick(); this.inner.writeGrow(o, s); }
  truncate(n: number): void { this.inner.truncate(n); }
  flush(): void { this.inner.flush(); }
  close(): void { this.inner.close(); }
}

describe('qcow2 write: a failure at any point leaves a consistent image', () => {
  itWithTools(['qemu-img'], 'every prefix of the host writes of a write sequence passes qemu-img check (leaks allowed)', () => {
    // Count the host writes the sequence makes, then replay it failing after 1, 2, ... of them.
    const src = p('snapshot.qcow2');
    const run = (budget: number): { failed: boolean; img: string; writes: number } => {
      const img = p(`fail-${budget}.qcow2`);
      copyFileSync(src, img);
      const host = new FailingHost(FileDevice.open(img, { write: true }), budget);
      const d = Qcow2Device.open(host, { write: true });
      const model = new Uint8Array(d.size);
      let failed = false;
      try {
        randomWrites(d, model, new Rng(11), 40, 65536);
      } catch (e) {
        expect(e).toBeInstanceOf(IoError);
        failed = true;
      }
      host.inner.close();
      return { failed, img, writes: host.writes };
    };
    const total = run(Infinity).writes;
    expect(total).toBeGreaterThan(50);
    const step = Math.max(1, Math.floor(total / 30));
    let checked = 0;
    for (let budget = 0; budget < total; budget += step) {
      const r = run(budget);
      expect(r.failed).toBe(true);
      const chk = runToolStatus('qemu-img', ['check', r.img]);
      // 0 = clean, 3 = leaked clusters only; never 2 (corruption)
      if (chk.status !== 0 && chk.status !== 3) throw new Error(`after ${budget} host writes: qemu-img check exit ${chk.status}\n${chk.stdout}`);
      checked++;
    }
    expect(checked).toBeGreaterThan(25);
  });
});
