import iconv from 'iconv-lite';
import { UsageError } from '@guestkit/disk/binary';
import { FatCode } from './errors.js';

/**
 * The OEM code page short names are stored in (cp437 by default, like mtools and Windows in the
 * US). Decoding and encoding go through two 256-entry tables built once from iconv-lite, so the
 * per-name work is table lookups. Only single-byte code pages are supported.
 */
export interface Codepage {
  readonly name: string;
  /** Character for each byte value. */
  readonly decodeTable: readonly string[];
  /** Byte for a UTF-16 code unit, or -1 when the code page has no such character. */
  encodeChar(unit: number): number;
  decode(bytes: Uint8Array): string;
}

const cache = new Map<string, Codepage>();

/** Build (or fetch) the tables for `name`; throws UsageError(FAT_BAD_CODEPAGE) if unusable. */
export function getCodepage(name: string): Codepage {
  const key = name.toLowerCase();
  const hit = cache.get(key);
  if (hit) return hit;
  if (!iconv.encodingExists(key)) {
    throw new UsageError(FatCode.BadCodepage, `unknown OEM code page "${name}" (iconv-lite has no such encoding)`, { codepage: name });
  }
  const all = new Uint8Array(256);
  for (let i = 0; i < 256; i++) all[i] = i;
  const text = iconv.decode(Buffer.from(all), key);
  if (text.length !== 256) {
    throw new UsageError(FatCode.BadCodepage, `OEM code page "${name}" is not a single-byte code page (256 bytes decoded to ${text.length} characters)`, {
      codepage: name,
    });
  }
  const decodeTable: string[] = [];
  const encode = new Map<number, number>();
  for (let i = 0; i < 256; i++) {
    const ch = text[i]!;
    decodeTable.push(ch);
    // Control bytes are never legal in names; keep the first byte for a character.
    if (i >= 0x20 && ch !== '\ufffd' && !encode.has(ch.charCodeAt(0))) encode.set(ch.charCodeAt(0), i);
  }
  const cp: Codepage = {
    name: key,
    decodeTable,
    encodeChar: (unit) => encode.get(unit) ?? -1,
    decode(bytes) {
      let s = '';
      for (let i = 0; i < bytes.length; i++) s += decodeTable[bytes[i]!]!;
      return s;
    },
  };
  cache.set(key, cp);
  return cp;
}
