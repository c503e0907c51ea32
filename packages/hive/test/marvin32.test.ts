import { describe, expect, it } from 'vitest';
import { marvin32, LOG_ENTRY_SEED } from '@guestkit/hive';

describe('Marvin32', () => {
  it('matches the reference test vectors (seed 0x004FB61A001BDBCC), including every tail length', () => {
    const seed = 0x004fb61a001bdbccn;
    const vectors: [string, string][] = [
      ['', '30ed35c100cd3c7d'],
      ['af', '48e73fc77d75ddc1'],
      ['e70f', 'b5f6e1fc485dbff8'],
      ['37f495', 'f0b07c789b8cf7e8'],
      ['153fb79826', 'e6c08c6da2afa997'],
      ['0932e6246c47', '6f04bf1a5ea24060'],
      ['ab427ea8d10fc7', 'e11847e4f0678c41'],
    ];
    for (const [input, hash] of vectors) expect(marvin32(Buffer.from(input, 'hex'), seed).toString(16).padStart(16, '0')).toBe(hash);
  });

  it('hashes a sub-range like the whole of a copy', () => {
    const data = new Uint8Array(100).map((_, i) => i);
    expect(marvin32(data, LOG_ENTRY_SEED, 10, 50)).toBe(marvin32(data.slice(10, 60), LOG_ENTRY_SEED));
  });
});
