import { describe, expect, it } from 'vitest';
import { ByteSink } from '@guestkit/hive';

const hexList = (d: Uint8Array) => Array.from(d, (b) => b.toString(16).padStart(2, '0')).join(',');

describe('ByteSink', () => {
  it('writes comma-separated hex at every output alignment and length', () => {
    const data = Uint8Array.from({ length: 40 }, (_, i) => (i * 97 + 13) & 0xff);
    for (let pre = 0; pre < 8; pre++) {
      for (let n = 0; n <= 19; n++) {
        const s = new ByteSink(undefined, 0, 16);
        s.latin1('x'.repeat(pre));
        s.hexRange(data, 3, n);
        s.latin1('|');
        expect(Buffer.from(s.result()).toString('latin1')).toBe('x'.repeat(pre) + hexList(data.subarray(3, 3 + n)) + '|');
      }
    }
  });

  it('writes little-endian numbers as fixed-width hex, most significant digit first', () => {
    const s = new ByteSink();
    s.hexNumberLE(Uint8Array.of(0xff, 0x2a, 0x00, 0x00, 0x01, 0x02, 0x00, 0x80), 1, 4);
    s.byte(0x20);
    s.hexNumberLE(Uint8Array.of(0x01, 0x02, 0x00, 0x80), 0, 4);
    expect(Buffer.from(s.result()).toString('latin1')).toBe('0100002a 80000201');
  });

  it('hands chunks to `out` in order, whatever their size, with the same bytes as in memory', () => {
    const chunks: Buffer[] = [];
    const streamed = new ByteSink((c) => chunks.push(Buffer.from(c)), 64 << 10);
    const inMemory = new ByteSink();
    const big = Uint8Array.from({ length: 300_000 }, (_, i) => (i * 31) & 0xff);
    for (const s of [streamed, inMemory]) {
      for (let i = 0; i < 5000; i++) {
        s.latin1(`[key ${i}]\n`);
        s.copy(big, i, 11);
        s.hexRange(big, i, i % 50);
        s.bytesRange(Uint8Array.of(0x41, 0xe9, 0x42, 0x43), 1, 3);
        s.utf8('ключ\n');
      }
      s.hexRange(big, 0, big.length); // larger than a chunk
      s.perl('é€\n');
      s.flush();
    }
    expect(chunks.length).toBeGreaterThan(2);
    expect(chunks.every((c) => c.length <= Math.max(64 << 10, big.length * 3))).toBe(true);
    expect(Buffer.concat(chunks).equals(Buffer.from(inMemory.result()))).toBe(true);
    expect(streamed.length).toBe(inMemory.length);
  });
});
