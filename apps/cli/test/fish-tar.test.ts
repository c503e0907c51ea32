import { describe, expect, it } from 'vitest';
import { TarParser, TarWriter, type TarEntry } from '../src/fish/tar.js';
import { Rng, mutate, classify, fuzzIterations } from '../../../test/support/fuzz.js';

/** Round trips through our own writer and parser, and seeded fuzzing of the parser (tar-in input is untrusted). */
function build(): Uint8Array {
  const parts: Uint8Array[] = [];
  const w = new TarWriter((b) => parts.push(b.slice()));
  const t = new Date('2024-01-15T10:00:00Z');
  w.dir('./', t);
  w.dir('./d', t);
  const data = new TextEncoder().encode('hello tar\n');
  w.file('./d/a.txt', data.length, t);
  w.data(data);
  w.endFile(data.length);
  const long = './d/' + 'ünïcode-'.repeat(20) + '.bin';
  const big = new Uint8Array(3000).map((_, i) => i & 0xff);
  w.file(long, big.length, t);
  w.data(big);
  w.endFile(big.length);
  w.symlink('./d/link', 'a.txt', t);
  w.end();
  return Buffer.concat(parts);
}

function parse(bytes: Uint8Array, chunk = 777): { entries: TarEntry[]; sizes: number[] } {
  const entries: TarEntry[] = [];
  const sizes: number[] = [];
  const p = new TarParser({
    entry: (e) => {
      entries.push(e);
      sizes.push(0);
    },
    data: (c) => {
      sizes[sizes.length - 1]! += c.length;
    },
    endEntry: () => {},
  });
  for (let i = 0; i < bytes.length && !p.done; i += chunk) p.push(bytes.subarray(i, i + chunk));
  p.end();
  return { entries, sizes };
}

describe('fish tar', () => {
  it('reads back what it writes, in any chunking', () => {
    const tar = build();
    for (const chunk of [1, 100, 512, 4096, tar.length]) {
      const { entries, sizes } = parse(tar, chunk);
      expect(entries.map((e) => [e.name, e.type])).toEqual([
        ['', 'directory'], ['d', 'directory'], ['d/a.txt', 'file'], ['d/' + 'ünïcode-'.repeat(20) + '.bin', 'file'], ['d/link', 'symlink'],
      ]);
      expect(sizes).toEqual([0, 0, 10, 3000, 0]);
      expect(entries[4]!.linkname).toBe('a.txt');
    }
  });

  it('refuses a truncated archive', () => {
    const tar = build();
    expect(() => parse(tar.subarray(0, 2000))).toThrow(/truncated/);
  });

  it('seeded mutations give only GuestErrors', () => {
    const tar = build();
    const rng = new Rng(0x7a12);
    const n = fuzzIterations(3000);
    const bugs: unknown[] = [];
    for (let i = 0; i < n; i++) {
      const m = mutate(tar, rng, [{ offset: 0, length: 512 }, { offset: 1024, length: 2048 }]);
      const r = classify(() => parse(m, 1 + rng.int(2000)));
      if (!r.ok && !r.guest) bugs.push(r.error);
    }
    expect(bugs).toEqual([]);
  });
});
