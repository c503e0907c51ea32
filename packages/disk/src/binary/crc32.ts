import { crc32 as zlibCrc32 } from 'node:zlib';

/**
 * CRC-32 (IEEE 802.3, the one GPT and gzip use). Node 20.15+ ships it natively in zlib.
 * `previous` continues a running checksum.
 */
export function crc32(data: Uint8Array, previous = 0): number {
  return zlibCrc32(data, previous) >>> 0;
}
