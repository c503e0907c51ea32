/**
 * CRC-32 (IEEE 802.3, the one GPT and gzip use); `previous` continues a running checksum.
 * Table-driven in JavaScript rather than node:zlib's crc32: loading node:zlib pulls in node's
 * stream code (~5 ms of every start), and the only users are GPT headers and partition arrays
 * (at most a few tens of KiB, ~50 µs).
 */
let table: Int32Array | undefined;

function crcTable(): Int32Array {
  const t = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  return t;
}

export function crc32(data: Uint8Array, previous = 0): number {
  const t = (table ??= crcTable());
  let c = ~previous;
  for (let i = 0; i < data.length; i++) c = t[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}
