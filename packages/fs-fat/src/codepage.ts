import { createRequire } from 'node:module';
import { UsageError } from '@guestkit/disk/binary';
import { FatCode } from './errors.js';

/**
 * The OEM code page short names are stored in (cp437 by default, like mtools and Windows in the
 * US). Decoding and encoding go through two 256-entry tables built once from iconv-lite, so the
 * per-name work is table lookups. Only single-byte code pages are supported.
 *
 * cp437, the default, is built in (the same 256 characters iconv-lite decodes; a unit test keeps
 * them equal) so that opening a volume does not load iconv-lite's encoding tables — that alone
 * costs more CPU than copying a small file. Other code pages load iconv-lite on first use.
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

/** cp437 bytes 0x80..0xFF (bytes 0x00..0x7F are ASCII), as iconv-lite decodes them. */
export const CP437_HIGH =
  'ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒáíóúñÑªº¿⌐¬½¼¡«»░▒▓│┤╡╢╖╕╣║╗╝╜╛┐└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\u00a0';

interface Iconv {
  encodingExists(name: string): boolean;
  decode(buf: Buffer, encoding: string): string;
}
let iconvLib: Iconv | undefined;
function iconv(): Iconv {
  iconvLib ??= createRequire(import.meta.url)('iconv-lite') as Iconv;
  return iconvLib;
}

function decodeAll(key: string, name: string): string {
  if (key === 'cp437' || key === 'ibm437') {
    let s = '';
    for (let i = 0; i < 128; i++) s += String.fromCharCode(i);
    return s + CP437_HIGH;
  }
  const lib = iconv();
  if (!lib.encodingExists(key)) {
    throw new UsageError(FatCode.BadCodepage, `unknown OEM code page "${name}" (iconv-lite has no such encoding)`, { codepage: name });
  }
  const all = new Uint8Array(256);
  for (let i = 0; i < 256; i++) all[i] = i;
  return lib.decode(Buffer.from(all), key);
}

/** Build (or fetch) the tables for `name`; throws UsageError(FAT_BAD_CODEPAGE) if unusable. */
export function getCodepage(name: string): Codepage {
  const key = name.toLowerCase();
  const hit = cache.get(key);
  if (hit) return hit;
  const text = decodeAll(key, name);
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
