import { describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  openImage, Qcow2Device, FileDevice, MemoryDevice, UnsupportedError, FormatError, LoopError, LimitError,
  NotFoundError, UnsafeStateError, GuestError, backingChain, readBytes, type Extent,
} from '../src/index.js';
import { itWithTools, runTool } from '../../../test/support/tools.js';
import { CountingHost, sameBytes, deviceSha256, expectedQcow2, patch, readBE, useFixtures } from './helpers.js';

const p = useFixtures('qcow2');

/** Run `fn` and return the GuestError it throws (fails the test otherwise). */
function guestError(fn: () => unknown): GuestError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(GuestError);
    return e as GuestError;
  }
  throw new Error('expected a GuestError, got success');
}

describe('qcow2 read: content equals qemu-img convert -O raw (SHA-256 recorded by the fixture script)', () => {
  for (const [name, exp] of Object.entries(expectedQcow2())) {
    it(name, () => {
      const d = openImage(p(name));
      try {
        expect(d.format).toBe('qcow2');
        expect(d.size).toBe(exp.virtualSize);
        expect(deviceSha256(d)).toBe(exp.rawSha256);
        // Odd-sized, unaligned reads must agree with the aligned whole-device read.
        const whole = readBytes(d, 0, d.size);
        for (const [off, len] of [[1, 7], [65535, 3], [65530, 70000], [d.size - 513, 513], [4095, 131073]] as const) {
          if (off + len <= d.size) expect(sameBytes(readBytes(d, off, len), whole.subarray(off, off + len))).toBe(true);
        }
      } finally {
        d.close();
      }
    });
  }
});

describe('qcow2 header and chain', () => {
  it('reads versions, cluster sizes, refcount widths', () => {
    const cases: [string, number, number, number][] = [
      ['v2.qcow2', 2, 65536, 4],
      ['v3-zero.qcow2', 3, 65536, 4],
      ['small-clusters.qcow2', 3, 512, 4],
      ['big-clusters.qcow2', 3, 2 * 1024 * 1024, 4],
      ['compressed-v2-4k.qcow2', 2, 4096, 4],
      ['refcount1.qcow2', 3, 65536, 0],
      ['refcount64.qcow2', 3, 65536, 6],
    ];
    for (const [n, version, cs, order] of cases) {
      const d = openImage(p(n)) as Qcow2Device;
      expect([n, d.header.version, d.clusterSize, d.header.refcountOrder]).toEqual([n, version, cs, order]);
      d.close();
    }
  });

  it('follows a backing chain of 3, relative to the image directory, and names devices by file', () => {
    const d = openImage(p('chain-top.qcow2'));
    const chain = backingChain(d);
    expect(chain.map((x) => [x.name, x.format])).toEqual([
      ['chain-top.qcow2', 'qcow2'], ['chain-mid.qcow2', 'qcow2'], ['chain-base.qcow2', 'qcow2'],
    ]);
    expect((d as Qcow2Device).header.backingFile).toBe('chain-mid.qcow2');
    expect((d as Qcow2Device).header.backingFormat).toBe('qcow2');
    d.close();
  });

  it('follows a raw backing file smaller than the overlay (zeros past its end)', () => {
    const d = openImage(p('over-raw.qcow2'));
    expect(d.backing?.format).toBe('raw');
    expect(d.backing?.size).toBe(2 * 1024 * 1024);
    expect(readBytes(d, 3 * 1024 * 1024, 4096).every((b) => b === 0)).toBe(true);
    d.close();
  });

  it('reads as zeros where the backing file is not followed', () => {
    const d = openImage(p('chain-top.qcow2'), { followBacking: false });
    expect(d.backing).toBeUndefined();
    expect(readBytes(d, 3 * 1024 * 1024, 4096).every((b) => b === 0)).toBe(true);
    d.close();
  });

  it('opens raw files as raw, and honours a forced format', () => {
    const d = openImage(p('raw-base.img'));
    expect(d.format).toBe('raw');
    d.close();
    const q = openImage(p('v2.qcow2'), { format: 'raw' });
    expect(q.format).toBe('raw');
    expect(q.size).toBe(readFileSync(p('v2.qcow2')).length);
    q.close();
    const e = guestError(() => openImage(p('raw-base.img'), { format: 'qcow2' }));
    expect(e).toBeInstanceOf(FormatError);
    expect(e.code).toBe('QCOW2_BAD_MAGIC');
  });

  it('is read-only unless asked', () => {
    const d = openImage(p('v2.qcow2'));
    expect(d.readOnly).toBe(true);
    expect(() => d.writeAt(0, new Uint8Array(1))).toThrow(/read-only/);
    d.close();
  });
});

describe('qcow2 refuses what it must not read', () => {
  const cases: [string, string][] = [
    ['extended-l2.qcow2', 'QCOW2_EXTENDED_L2'],
    ['zstd.qcow2', 'QCOW2_COMPRESSION_TYPE'],
    ['datafile.qcow2', 'QCOW2_EXTERNAL_DATA_FILE'],
    ['aes.qcow2', 'QCOW2_ENCRYPTED'],
  ];
  for (const [n, code] of cases) {
    it(`${n} → UnsupportedError ${code}`, () => {
      const e = guestError(() => openImage(p(n)));
      expect(e).toBeInstanceOf(UnsupportedError);
      expect(e.code).toBe(code);
      expect(e.message).toContain(n);
    });
  }

  it('unknown incompatible feature bits (named from the feature table when present)', () => {
    const b = patch(readFileSync(p('lazy.qcow2')), 72, 8, 1n << 9n);
    const e = guestError(() => Qcow2Device.open(new MemoryDevice(b, { name: 'x.qcow2' })));
    expect(e).toBeInstanceOf(UnsupportedError);
    expect(e.code).toBe('QCOW2_UNKNOWN_INCOMPATIBLE_FEATURE');
    expect(e.message).toMatch(/x\.qcow2.*bit 9/);
  });

  it('corrupt bit: reads allowed, writes refused (UnsafeStateError); dirty bit: refused only with repairDirty false', () => {
    const b = patch(readFileSync(p('lazy.qcow2')), 72, 8, 2n);
    const ro = Qcow2Device.open(new MemoryDevice(b.slice(), { name: 'f.qcow2' }));
    expect(readBytes(ro, 0, 16).length).toBe(16);
    const e = guestError(() => Qcow2Device.open(new MemoryDevice(b, { name: 'f.qcow2' }), { write: true }));
    expect(e).toBeInstanceOf(UnsafeStateError);
    expect(e.code).toBe('QCOW2_CORRUPT_BIT');
    const dirty = patch(readFileSync(p('lazy.qcow2')), 72, 8, 1n);
    const e2 = guestError(() => Qcow2Device.open(new MemoryDevice(dirty, { name: 'f.qcow2' }), { write: true, repairDirty: false }));
    expect(e2).toBeInstanceOf(UnsafeStateError);
    expect(e2.code).toBe('QCOW2_DIRTY');
  });
});

describe('qcow2 hostile headers → typed errors', () => {
  const base = () => readFileSync(p('v3-zero.qcow2'));
  const open = (b: Uint8Array) => Qcow2Device.open(new MemoryDevice(b, { name: 'h.qcow2' }));
  const cases: [string, (b: Uint8Array) => Uint8Array, string][] = [
    ['cluster_bits 8', (b) => patch(b, 20, 4, 8), 'QCOW2_BAD_CLUSTER_BITS'],
    ['cluster_bits 22', (b) => patch(b, 20, 4, 22), 'QCOW2_BAD_CLUSTER_BITS'],
    ['cluster_bits 0xffffffff', (b) => patch(b, 20, 4, 0xffffffff), 'QCOW2_BAD_CLUSTER_BITS'],
    ['version 1', (b) => patch(b, 4, 4, 1), 'QCOW2_UNSUPPORTED_VERSION'],
    ['version 4', (b) => patch(b, 4, 4, 4), 'QCOW2_UNSUPPORTED_VERSION'],
    ['size 2^60 (L1 too small)', (b) => patch(b, 24, 8, 1n << 60n), 'INTEGER_OVERFLOW'],
    ['size 2^50 (L1 too small)', (b) => patch(b, 24, 8, 1n << 50n), 'QCOW2_BAD_L1_SIZE'],
    ['l1_size huge', (b) => patch(patch(b, 36, 4, 0x10000000), 24, 8, 1n << 50n), 'QCOW2_BAD_L1_SIZE'],
    ['L1 table outside the file', (b) => patch(b, 40, 8, 1n << 40n), 'QCOW2_BAD_TABLE_OFFSET'],
    ['L1 table misaligned', (b) => patch(b, 40, 8, readBE(b, 40, 8) + 8), 'QCOW2_BAD_TABLE_OFFSET'],
    ['L1 offset 2^63', (b) => patch(b, 40, 8, 1n << 63n), 'INTEGER_OVERFLOW'],
    ['refcount table outside the file', (b) => patch(b, 48, 8, 0x7fff0000n), 'QCOW2_BAD_TABLE_OFFSET'],
    ['refcount table clusters 0', (b) => patch(b, 56, 4, 0), 'QCOW2_BAD_TABLE_OFFSET'],
    ['refcount table clusters huge', (b) => patch(b, 56, 4, 0xffffffff), 'QCOW2_BAD_TABLE_OFFSET'],
    ['snapshot table outside the file', (b) => patch(patch(b, 60, 4, 1), 64, 8, 1n << 40n), 'QCOW2_BAD_TABLE_OFFSET'],
    ['too many snapshots', (b) => patch(b, 60, 4, 0x7fffffff), 'QCOW2_BAD_HEADER_FIELD'],
    ['header_length 0', (b) => patch(b, 100, 4, 0), 'QCOW2_BAD_HEADER_FIELD'],
    ['header_length odd', (b) => patch(b, 100, 4, 105), 'QCOW2_BAD_HEADER_FIELD'],
    ['header_length > cluster', (b) => patch(b, 100, 4, 0x20000), 'QCOW2_BAD_HEADER_FIELD'],
    ['refcount_order 7', (b) => patch(b, 96, 4, 7), 'QCOW2_BAD_HEADER_FIELD'],
    ['compression type without the bit', (b) => patch(b, 104, 1, 1), 'QCOW2_BAD_HEADER_FIELD'],
    ['backing name too long', (b) => patch(patch(b, 8, 8, 0x1000), 16, 4, 5000), 'BACKING_BAD_NAME'],
    ['backing name outside the first cluster', (b) => patch(patch(b, 8, 8, 0xfff0), 16, 4, 100), 'BACKING_BAD_NAME'],
    ['header extension too long', (b) => patch(b, 112 + 4, 4, 0x7fffffff), 'QCOW2_BAD_HEADER_EXTENSION'],
    ['truncated to 50 bytes', (b) => b.subarray(0, 50), 'IMAGE_TOO_SMALL'],
  ];
  for (const [what, mutate, code] of cases) {
    it(what, () => {
      const e = guestError(() => open(mutate(base())));
      expect(e.code).toBe(code);
      expect(e.message).toContain('h.qcow2');
    });
  }

  it('L1 entry pointing outside the file or misaligned → FormatError on read', () => {
    const b = base();
    const l1 = readBE(b, 40, 8);
    for (const [v, code] of [[0x8000_0000_0000_0000n | (1n << 40n), 'QCOW2_BAD_L2_OFFSET'], [0x8000_0000_0000_0000n | BigInt(l1 + 512), 'QCOW2_BAD_L2_OFFSET']] as const) {
      const d = open(patch(b, l1, 8, v));
      const e = guestError(() => readBytes(d, 0, 512));
      expect(e).toBeInstanceOf(FormatError);
      expect(e.code).toBe(code);
    }
  });

  it('L2 entry pointing outside the file, misaligned, or at garbage compressed data → FormatError', () => {
    const b = base();
    const l2 = readBE(b, readBE(b, 40, 8), 8) % 2 ** 56;
    for (const v of [0x8000_0000_0000_0000n | (1n << 45n), 0x8000_0000_0000_0000n | 0x10200n, (1n << 62n) | (1n << 50n), (1n << 62n) | 0x200n]) {
      const d = open(patch(b, l2, 8, v));
      const e = guestError(() => readBytes(d, 0, 512));
      expect(e).toBeInstanceOf(FormatError);
      expect(['QCOW2_BAD_DATA_OFFSET', 'QCOW2_BAD_COMPRESSED_CLUSTER']).toContain(e.code);
    }
  });
});

describe('qcow2 backing chains: loops, depth, missing files', () => {
  /** Copy of lazy.qcow2 whose header names `backing` (format qcow2 via probing). */
  function withBacking(src: Uint8Array, backing: string): Uint8Array {
    const nameOff = 0x8000;
    const out = patch(patch(src, 8, 8, nameOff), 16, 4, Buffer.byteLength(backing));
    out.set(Buffer.from(backing), nameOff);
    return out;
  }

  it('an image that is its own backing file → LoopError', () => {
    const src = readFileSync(p('lazy.qcow2'));
    writeFileSync(p('self.qcow2'), withBacking(src, 'self.qcow2'));
    const e = guestError(() => openImage(p('self.qcow2')));
    expect(e).toBeInstanceOf(LoopError);
    expect(e.code).toBe('BACKING_LOOP');
  });

  it('a loop of two images → LoopError', () => {
    const src = readFileSync(p('lazy.qcow2'));
    writeFileSync(p('loop-a.qcow2'), withBacking(src, 'loop-b.qcow2'));
    writeFileSync(p('loop-b.qcow2'), withBacking(src, './loop-a.qcow2'));
    expect(guestError(() => openImage(p('loop-a.qcow2')))).toBeInstanceOf(LoopError);
  });

  it('a chain deeper than the limit → LimitError', () => {
    const src = readFileSync(p('lazy.qcow2'));
    for (let i = 0; i < 40; i++) writeFileSync(p(`deep-${i}.qcow2`), withBacking(src, `deep-${i + 1}.qcow2`));
    writeFileSync(p('deep-40.qcow2'), src);
    const e = guestError(() => openImage(p('deep-0.qcow2')));
    expect(e).toBeInstanceOf(LimitError);
    expect(e.code).toBe('BACKING_TOO_DEEP');
    // ... while a chain of 30 opens fine.
    const d = openImage(p('deep-10.qcow2'));
    expect(backingChain(d).length).toBe(31);
    d.close();
  });

  it('missing backing file → NotFoundError; protocol names refused', () => {
    const src = readFileSync(p('lazy.qcow2'));
    writeFileSync(p('missing.qcow2'), withBacking(src, 'nowhere.qcow2'));
    expect(guestError(() => openImage(p('missing.qcow2')))).toBeInstanceOf(NotFoundError);
    writeFileSync(p('proto.qcow2'), withBacking(src, 'nbd://example.com/x'));
    expect(guestError(() => openImage(p('proto.qcow2'))).code).toBe('BACKING_BAD_NAME');
  });
});

describe('qcow2 read path efficiency', () => {
  it('issues one host read per contiguous data run', () => {
    const host = new CountingHost(FileDevice.open(p('v3-zero.qcow2')));
    const d = Qcow2Device.open(host);
    const runs = [...d.map()].filter((r) => r.kind === 'data'); // also warms the L2 cache
    expect(runs.length).toBeGreaterThan(1);
    host.reads = [];
    readBytes(d, 0, d.size);
    expect(host.reads).toEqual(runs.map((r) => ({ offset: r.host, length: r.length })));
    d.close();
  });

  it('map() stays right when the device is read between iterations', () => {
    const d = openImage(p('chain-top.qcow2')) as Qcow2Device;
    const plain = [...d.map()];
    const interleaved: typeof plain = [];
    for (const r of d.map()) {
      interleaved.push(r);
      readBytes(d, 3 * 1024 * 1024 + 17, 70000); // a read that makes runs of its own
    }
    expect(interleaved).toEqual(plain);
    d.close();
  });

  it('a large contiguous area costs one read', () => {
    const host = new CountingHost(FileDevice.open(p('chain-base.qcow2')));
    const d = Qcow2Device.open(host);
    readBytes(d, 0, 4096); // warm the L2 cache
    host.reads = [];
    readBytes(d, 0, 256 * 1024);
    expect(host.reads.length).toBe(1);
    expect(host.reads[0]!.length).toBe(256 * 1024);
    d.close();
  });
});

/** Sorted, merged [start, end) intervals of one class. */
function intervals(list: { start: number; end: number }[]): { start: number; end: number }[] {
  const s = [...list].sort((a, b) => a.start - b.start);
  const out: { start: number; end: number }[] = [];
  for (const x of s) {
    const last = out[out.length - 1];
    if (last && last.end >= x.start) last.end = Math.max(last.end, x.end);
    else out.push({ ...x });
  }
  return out;
}

describe('qcow2 extents agree with qemu-img map', () => {
  for (const name of Object.keys(expectedQcow2())) {
    itWithTools(['qemu-img'], name, () => {
      const d = openImage(p(name));
      const ours: Extent[] = [...d.extents!(0, d.size)];
      // Covers the device in order, without gaps.
      let pos = 0;
      for (const e of ours) {
        expect(e.offset).toBe(pos);
        pos += e.length;
      }
      expect(pos).toBe(d.size);
      const map = JSON.parse(runTool('qemu-img', ['map', '--output=json', p(name)]).toString()) as { start: number; length: number; data: boolean }[];
      const theirData = intervals(map.filter((m) => m.data).map((m) => ({ start: m.start, end: m.start + m.length })));
      const ourData = intervals(ours.filter((e) => e.kind === 'data').map((e) => ({ start: e.offset, end: e.offset + e.length })));
      if (d.backing?.format === 'raw') {
        // qemu sees holes in the raw backing file (SEEK_HOLE); we report the raw file as data.
        for (const t of theirData) expect(ourData.some((o) => o.start <= t.start && o.end >= t.end)).toBe(true);
      } else {
        expect(ourData).toEqual(theirData);
      }
      d.close();
    });
  }
});
