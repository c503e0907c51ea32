/**
 * Element values for the BCD editor: parse what the user typed according to the element's
 * format, and encode typed values the way Windows stores them (store.ts documents the
 * storage; checked against every element of the stores in ../shared/testdata/bcd):
 *
 *   string       REG_SZ, UTF-16LE with one NUL
 *   object       REG_SZ, "{guid}" lower case with one NUL
 *   objectlist   REG_MULTI_SZ, each "{guid}" with its NUL, then a final NUL
 *   integer      REG_BINARY, 8 bytes little-endian
 *   boolean      REG_BINARY, 1 byte (0 or 1)
 *   integerlist  REG_BINARY, 8 bytes little-endian per item
 *   device       REG_BINARY, see edit-device.ts
 */
import { UsageError, encodeUtf16le } from '@guestkit/disk/binary';
import { REG } from '../registry/reg-tree.js';
import { encodeBcdDevice } from './edit-device.js';
import { BcdEditCode } from './edit-errors.js';
import type { BcdElementInfo, BcdFormat } from './element-types.js';
import type { BcdValue } from './store.js';

/** A typed value that can be written (everything but raw). */
export type BcdWritableValue = Exclude<BcdValue, { format: 'raw' }>;

export interface EncodedBcdValue {
  registryType: number;
  data: Uint8Array;
}

const U64_MAX = (1n << 64n) - 1n;

function u64le(n: bigint, out: Uint8Array, off: number): void {
  let v = n;
  for (let i = 0; i < 8; i++) {
    out[off + i] = Number(v & 0xffn);
    v >>= 8n;
  }
}

function sz(s: string): Uint8Array {
  return encodeUtf16le(s + '\0');
}

/** Registry type and bytes of a typed value. */
export function encodeBcdValue(v: BcdWritableValue): EncodedBcdValue {
  switch (v.format) {
    case 'string':
      return { registryType: REG.SZ, data: sz(v.value) };
    case 'object':
      return { registryType: REG.SZ, data: sz(v.value.toLowerCase()) };
    case 'objectlist':
      return { registryType: REG.MULTI_SZ, data: encodeUtf16le(v.value.map((x) => x.toLowerCase() + '\0').join('') + '\0') };
    case 'integer': {
      const out = new Uint8Array(8);
      u64le(v.value, out, 0);
      return { registryType: REG.BINARY, data: out };
    }
    case 'boolean':
      return { registryType: REG.BINARY, data: Uint8Array.of(v.value ? 1 : 0) };
    case 'integerlist': {
      const out = new Uint8Array(8 * v.value.length);
      v.value.forEach((n, i) => u64le(n, out, i * 8));
      return { registryType: REG.BINARY, data: out };
    }
    case 'device':
      return { registryType: REG.BINARY, data: encodeBcdDevice(v.value) };
  }
}

const TRUE_WORDS = new Set(['yes', 'on', 'true', '1']);
const FALSE_WORDS = new Set(['no', 'off', 'false', '0']);

const badValue = (element: string, text: string, why: string): UsageError =>
  new UsageError(BcdEditCode.BadValue, `${element}: bad value ${JSON.stringify(text)}: ${why}`, { element, value: text });

/** yes/no, on/off, true/false, 1/0 (bcdedit accepts the first three pairs). */
export function parseBcdBoolean(text: string, element = 'value'): boolean {
  const t = text.trim().toLowerCase();
  if (TRUE_WORDS.has(t)) return true;
  if (FALSE_WORDS.has(t)) return false;
  throw badValue(element, text, 'expected yes or no (on/off, true/false, 1/0)');
}

/** A u64 in decimal or 0x hex. */
export function parseBcdInteger(text: string, element = 'value'): bigint {
  const t = text.trim();
  if (!/^(0x[0-9a-f]+|[0-9]+)$/i.test(t)) throw badValue(element, text, 'expected a number (decimal or 0x hex)');
  const n = BigInt(t);
  if (n > U64_MAX) throw badValue(element, text, 'larger than 64 bits');
  return n;
}

/**
 * Parse the words the user gave for an element of `format` (all formats but device and the
 * object ones, which need the store: the editor resolves those). Integers also accept the names
 * bcdedit shows for them (`safeboot Minimal`, `bootmenupolicy legacy`), case-insensitively.
 */
export function parseBcdScalar(format: Exclude<BcdFormat, 'device' | 'object' | 'objectlist'>, words: readonly string[], element: string, info?: BcdElementInfo): BcdWritableValue {
  const one = (): string => {
    if (words.length !== 1) throw badValue(element, words.join(' '), `expects one value, got ${words.length}`);
    return words[0]!;
  };
  switch (format) {
    case 'string':
      // bcdedit takes one argument; several words are joined back as the shell split them.
      if (words.length === 0) throw badValue(element, '', 'expects a value');
      return { format: 'string', value: words.join(' ') };
    case 'boolean':
      return { format: 'boolean', value: parseBcdBoolean(one(), element) };
    case 'integer': {
      const w = one();
      if (info?.values) {
        const hit = Object.entries(info.values).find(([, name]) => name.toLowerCase() === w.trim().toLowerCase());
        if (hit) return { format: 'integer', value: BigInt(hit[0]) };
        if (!/^(0x[0-9a-f]+|[0-9]+)$/i.test(w.trim())) {
          throw badValue(element, w, `expected a number or one of ${Object.values(info.values).join(', ')}`);
        }
      }
      return { format: 'integer', value: parseBcdInteger(w, element) };
    }
    case 'integerlist': {
      const items = words.flatMap((w) => w.split(/[\s,]+/)).filter((w) => w.length > 0);
      return { format: 'integerlist', value: items.map((w) => parseBcdInteger(w, element)) };
    }
  }
}
