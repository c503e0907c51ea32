/**
 * checkQcow2 against `qemu-img check --output=json`: the same counts on clean images made by
 * qemu and by us, and on images damaged on purpose (refcount too low / too high, reserved bits,
 * wrong COPIED flag, a cluster referenced twice).
 */
import { describe, expect } from 'vitest';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkQcow2, openImage, Qcow2Device, FileDevice, createQcow2, type Qcow2CheckResult } from '../src/index.js';
import { itWithTools, runToolStatus } from '../../../test/support/tools.js';
import { expectedQcow2, useFixtures, readBE, patch } from './helpers.js';

const p = useFixtures('qcow2');

interface QemuCheck {
  corruptions: number;
  leaks: number;
  'image-end-offset': number;
  'allocated-clusters': number;
  'compressed-clusters': number;
  'fragmented-clusters': number;
  'total-clusters': number;
}

function qemuCheck(path: string): QemuCheck {
  const r = runToolStatus('qemu-img', ['check', '--output=json', path]);
  const j = JSON.parse(r.stdout) as Partial<QemuCheck>;
  return {
    corruptions: j.corruptions ?? 0, leaks: j.leaks ?? 0, 'image-end-offset': j['image-end-offset'] ?? 0,
    'allocated-clusters': j['allocated-clusters'] ?? 0, 'compressed-clusters': j['compressed-clusters'] ?? 0,
    'fragmented-clusters': j['fragmented-clusters'] ?? 0, 'total-clusters': j['total-clusters'] ?? 0,
  };
}

function ours(path: string): Qcow2CheckResult {
  const d = openImage(path, { followBacking: false }) as Qcow2Device;
  try {
    return checkQcow2(d);
  } finally {
    d.close();
  }
}

function same(path: string): void {
  const q = qemuCheck(path);
  const o = ours(path);
  expect({
    corruptions: o.corruptions, leaks: o.leaks, 'image-end-offset': o.imageEndOffset, 'allocated-clusters': o.allocatedClusters,
    'compressed-clusters': o.compressedClusters, 'fragmented-clusters': o.fragmentedClusters, 'total-clusters': o.totalClusters,
  }).toEqual(q);
}

describe('checkQcow2 agrees with qemu-img check', () => {
  for (const n of Object.keys(expectedQcow2())) itWithTools(['qemu-img'], `as made by qemu: ${n}`, () => same(p(n)));

  itWithTools(['qemu-img'], 'clean: an image we wrote (many refcount blocks, moved refcount table)', () => {
    const img = p('ours.qcow2');
    const d = createQcow2(img, { size: 4 << 20, clusterSize: 512, refcountBits: 64 });
    for (let i = 0; i < 200; i++) d.writeAt((i * 7919 * 512) % (4 << 20), new Uint8Array(700).fill(i));
    d.close();
    same(img);
    expect(ours(img).corruptions).toBe(0);
  });

  /** Offset bits 9..55 of the 8-byte big-endian entry at `off`. */
  const entryOff = (b: Uint8Array, off: number): number => {
    let v = 0n;
    for (let i = 0; i < 8; i++) v = (v << 8n) | BigInt(b[off + i]!);
    return Number(v & 0x00fffffffffffe00n);
  };

  /** A damaged copy of v3-zero.qcow2; `at` locates its first L1 entry, first L2 entry, data cluster and refcount block. */
  function damaged(name: string, fn: (b: Uint8Array, at: { l1: number; l2e: number; data: number; rcBlock: number }) => Uint8Array): string {
    const b = new Uint8Array(readFileSync(p('v3-zero.qcow2')));
    const l1 = readBE(b, 40, 8);
    const l2e = entryOff(b, l1);
    const data = entryOff(b, l2e);
    const rcBlock = entryOff(b, readBE(b, 48, 8));
    expect(data).toBeGreaterThan(0);
    const out = p(name);
    writeFileSync(out, fn(b, { l1, l2e, data, rcBlock }));
    return out;
  }

  itWithTools(['qemu-img'], 'refcount of a data cluster too low → corruption', () => {
    const img = damaged('low.qcow2', (b, at) => patch(b, at.rcBlock + (at.data / 65536) * 2, 2, 0));
    same(img);
    expect(ours(img).corruptions).toBeGreaterThan(0);
  });

  itWithTools(['qemu-img'], 'refcount too high → leak', () => {
    const img = damaged('leak.qcow2', (b, at) => patch(b, at.rcBlock + (at.data / 65536) * 2, 2, 2));
    same(img);
    expect(ours(img).leaks).toBe(1);
  });

  itWithTools(['qemu-img'], 'reserved bits in L1 and L2 entries → corruption', () => {
    const img = damaged('reserved.qcow2', (b, at) => {
      const x = patch(b, at.l1 + 7, 1, b[at.l1 + 7]! | 1);
      return patch(x, at.l2e + 7, 1, b[at.l2e + 7]! | 2);
    });
    same(img);
    expect(ours(img).corruptions).toBe(2);
  });

  itWithTools(['qemu-img'], 'COPIED flag cleared on a refcount-1 cluster → corruption', () => {
    const img = damaged('copied.qcow2', (b, at) => patch(b, at.l2e, 1, b[at.l2e]! & 0x7f));
    same(img);
  });

  itWithTools(['qemu-img'], 'two L2 entries pointing at the same cluster → corruption', () => {
    const img = damaged('twice.qcow2', (b, at) => {
      const x = new Uint8Array(b);
      x.set(b.subarray(at.l2e, at.l2e + 8), at.l2e + 8 * 10);
      return x;
    });
    same(img);
    expect(ours(img).corruptions).toBeGreaterThan(0);
  });

  itWithTools(['qemu-img'], 'an image after crash-style partial writes (leaks only)', () => {
    const img = p('partial.qcow2');
    copyFileSync(p('chain-base.qcow2'), img);
    const host = FileDevice.open(img, { write: true });
    const d = Qcow2Device.open(host, { write: true });
    // Allocate clusters and write them, but never point an L2 entry at them: what a crash between
    // the data write and the L2 update leaves.
    const at = d.refcounts().allocate(3);
    host.writeGrow(at, new Uint8Array(3 * d.clusterSize).fill(1));
    host.close();
    same(img);
    expect(ours(img).leaks).toBe(3);
    expect(ours(img).corruptions).toBe(0);
  });
});
