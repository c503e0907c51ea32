import { FormatError, CommonCode } from './errors.js';

/**
 * GUIDs in the Microsoft mixed-endian layout used by GPT, MountedDevices and BCD:
 * Data1 (LE32), Data2 (LE16), Data3 (LE16), Data4 (8 bytes as stored).
 */
export function guidToString(b: Uint8Array, off = 0, upper = true): string {
  if (off < 0 || off + 16 > b.length) {
    throw new FormatError(CommonCode.OutOfBounds, `GUID at ${off} is outside the ${b.length}-byte buffer`, { offset: off });
  }
  const h = (i: number) => b[off + i]!.toString(16).padStart(2, '0');
  const s =
    h(3) + h(2) + h(1) + h(0) + '-' + h(5) + h(4) + '-' + h(7) + h(6) + '-' + h(8) + h(9) + '-' + h(10) + h(11) + h(12) + h(13) + h(14) + h(15);
  return upper ? s.toUpperCase() : s;
}

const GUID_RE = /^\{?([0-9a-f]{8})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{12})\}?$/i;

export function isGuid(s: string): boolean {
  return GUID_RE.test(s);
}

/** Parse "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" (braces optional) into 16 mixed-endian bytes. */
export function guidFromString(s: string): Uint8Array {
  const m = GUID_RE.exec(s.trim());
  if (!m) throw new FormatError('BAD_GUID', `not a GUID: ${JSON.stringify(s)}`, { value: s });
  const out = new Uint8Array(16);
  const d1 = parseInt(m[1]!, 16);
  out[0] = d1 & 0xff;
  out[1] = (d1 >>> 8) & 0xff;
  out[2] = (d1 >>> 16) & 0xff;
  out[3] = (d1 >>> 24) & 0xff;
  const d2 = parseInt(m[2]!, 16);
  out[4] = d2 & 0xff;
  out[5] = d2 >>> 8;
  const d3 = parseInt(m[3]!, 16);
  out[6] = d3 & 0xff;
  out[7] = d3 >>> 8;
  const tail = m[4]! + m[5]!;
  for (let i = 0; i < 8; i++) out[8 + i] = parseInt(tail.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** A fresh random (version 4) GUID string, upper case. */
export function randomGuid(): string {
  return crypto.randomUUID().toUpperCase();
}
