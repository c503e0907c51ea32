import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll } from 'vitest';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { fixturePath, tempDir } from '../../../test/support/shared.js';
import type { BlockDevice, HostFile } from '../src/index.js';

/** Decompress every fixture of test/fixtures/<area> into a fresh temp dir (names without .gz). */
/** Unpack a fixture area for the whole test file; returns `name → path` inside the unpacked copy. */
export function useFixtures(area: string): (name: string) => string {
  let dir = '';
  let cleanup = () => {};
  beforeAll(() => {
    ({ dir, cleanup } = unpackFixtures(area));
  });
  afterAll(() => cleanup());
  return (name) => join(dir, name);
}

export function unpackFixtures(area: string): { dir: string; cleanup: () => void } {
  const t = tempDir(`guestkit-${area}-`);
  const src = fixturePath(area);
  for (const f of readdirSync(src)) {
    if (f.endsWith('.gz')) writeFileSync(join(t.dir, f.slice(0, -3)), gunzipSync(readFileSync(join(src, f))));
    else writeFileSync(join(t.dir, f), readFileSync(join(src, f)));
  }
  return t;
}

/** One fixture, decompressed, as bytes. */
export function fixtureBytes(area: string, name: string): Uint8Array {
  const b = gunzipSync(readFileSync(fixturePath(area, name + '.gz')));
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

export const expectedQcow2 = (): Record<string, { virtualSize: number; rawSha256: string }> =>
  JSON.parse(readFileSync(fixturePath('qcow2', 'expected.json'), 'utf8'));

/** SHA-256 of a whole device, read in 1 MiB pieces. */
export function deviceSha256(dev: BlockDevice, chunk = 1 << 20): string {
  const h = createHash('sha256');
  const buf = new Uint8Array(chunk);
  for (let off = 0; off < dev.size; off += chunk) {
    const n = Math.min(chunk, dev.size - off);
    dev.readAt(off, buf.subarray(0, n));
    h.update(buf.subarray(0, n));
  }
  return h.digest('hex');
}

export function sha256(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

/** A host wrapper that counts reads (to prove one host read per contiguous run). */
export class CountingHost implements HostFile {
  reads: { offset: number; length: number }[] = [];
  constructor(readonly inner: HostFile) {}
  get name() { return this.inner.name; }
  get size() { return this.inner.size; }
  get sectorSize() { return this.inner.sectorSize; }
  get readOnly() { return this.inner.readOnly; }
  readAt(offset: number, dst: Uint8Array): void {
    this.reads.push({ offset, length: dst.length });
    this.inner.readAt(offset, dst);
  }
  writeAt(offset: number, src: Uint8Array): void { this.inner.writeAt(offset, src); }
  writeGrow(offset: number, src: Uint8Array): void { this.inner.writeGrow!(offset, src); }
  truncate(size: number): void { this.inner.truncate!(size); }
  flush(): void { this.inner.flush(); }
  close(): void { this.inner.close(); }
}

/** Big-endian field patching for hostile-header cases. */
export function patch(bytes: Uint8Array, off: number, width: 1 | 2 | 4 | 8, value: number | bigint): Uint8Array {
  const out = new Uint8Array(bytes); // a copy (Buffer#slice would be a view)
  let v = BigInt(value);
  for (let i = width - 1; i >= 0; i--) {
    out[off + i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

export function readBE(bytes: Uint8Array, off: number, width: 4 | 8): number {
  let v = 0n;
  for (let i = 0; i < width; i++) v = (v << 8n) | BigInt(bytes[off + i]!);
  return Number(v);
}

/** Byte equality without vitest's slow element-wise diff. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}
