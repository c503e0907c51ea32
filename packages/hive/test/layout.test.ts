import { describe, expect, it } from 'vitest';
import { ByteView } from '@guestkit/disk/binary';
import { BASE, NK, VK, SK, LIST, DB, HBIN, SIG, baseBlockChecksum, writeBaseBlockChecksum, decodeBaseBlock, sigText } from '@guestkit/hive';
import { hiveFixture } from './helpers.js';

describe('layout tables', () => {
  it('have the sizes of the on-disk records (libyal / Suhanov tables)', () => {
    expect(BASE.SIZE).toBe(4096);
    expect(BASE.checksum).toBe(508);
    expect(HBIN.SIZE).toBe(32);
    expect(NK.SIZE).toBe(76);
    expect(NK.name).toBe(0x4c);
    expect(VK.SIZE).toBe(20);
    expect(SK.SIZE).toBe(20);
    expect(LIST.SIZE).toBe(4);
    expect(DB.SIZE).toBe(8);
  });

  it('spell the two-letter signatures as little-endian u16 values', () => {
    for (const [name, v] of Object.entries(SIG)) expect(sigText(v)).toBe(name);
  });
});

describe('base block checksum', () => {
  it('matches the stored checksum of a hive written by hivex', () => {
    const b = hiveFixture('types.hive.gz');
    const bb = decodeBaseBlock(new ByteView(b.subarray(0, 4096)));
    expect(bb.signature).toBe('regf');
    expect(bb.checksumOk).toBe(true);
    expect(bb.checksum).toBe(bb.computedChecksum);
  });

  it('maps an XOR of 0 to 1 and of 0xffffffff to 0xfffffffe (Windows rule)', () => {
    const zero = new Uint8Array(512);
    expect(baseBlockChecksum(new ByteView(zero))).toEqual({ windows: 1, rawXor: 0 });
    const ones = new Uint8Array(512);
    ones.fill(0xff, 0, 4);
    expect(baseBlockChecksum(new ByteView(ones))).toEqual({ windows: 0xfffffffe, rawXor: 0xffffffff });
  });

  it('writes a checksum both Windows and hivex accept, even when the raw XOR is 0', () => {
    const b = new Uint8Array(512);
    const sum = writeBaseBlockChecksum(b);
    const after = baseBlockChecksum(new ByteView(b));
    expect(after.rawXor).not.toBe(0);
    expect(after.rawXor).not.toBe(0xffffffff);
    expect(sum).toBe(after.windows);
    expect(new ByteView(b).u32(508)).toBe(after.rawXor);
  });
});
