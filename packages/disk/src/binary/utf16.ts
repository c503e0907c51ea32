/**
 * Lossless UTF-16LE. NTFS and registry names are sequences of UTF-16 code units, not validated
 * Unicode: `TextDecoder('utf-16le')` turns a lone surrogate into U+FFFD, while Node's
 * `Buffer#toString('utf16le')` keeps it, so round trips stay exact. An odd trailing byte is
 * ignored by decoding (callers that care check the length first).
 */
export function decodeUtf16le(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength & ~1).toString('utf16le');
}

/** Encode a JS string as UTF-16LE code units (lone surrogates kept as is). */
export function encodeUtf16le(s: string): Uint8Array {
  const b = Buffer.from(s, 'utf16le');
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** Decode UTF-16LE up to (not including) the first NUL code unit. */
export function decodeUtf16leZ(bytes: Uint8Array): string {
  let end = bytes.length & ~1;
  for (let i = 0; i + 1 < end; i += 2) {
    if (bytes[i] === 0 && bytes[i + 1] === 0) {
      end = i;
      break;
    }
  }
  return decodeUtf16le(bytes.subarray(0, end));
}

/** ISO-8859-1 decode (true Latin-1, byte n -> U+00nn). */
export function decodeLatin1(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

/** True when every code unit of `s` is <= 0xff (so it can be stored as Latin-1). */
export function isLatin1(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0xff) return false;
  return true;
}
