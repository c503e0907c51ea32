import { ByteWriter } from '@guestkit/disk/binary';
import { both32 } from './common.js';
import { writeDate7, DATE7_SIZE } from './dates.js';

/**
 * System Use Sharing Protocol (SUSP, IEEE P1281 draft 1.12) entries and the Rock Ridge
 * Interchange Protocol (RRIP, IEEE P1282 draft 1.12) entries built on it.
 * Every entry: 2 signature bytes, u8 length (whole entry), u8 version (1), then data.
 */
export const SUSP_HEADER = 4;
/** The length byte limits one entry to 255 bytes. */
export const MAX_ENTRY = 255;

/** SUSP §5.3 "SP": marks SUSP use; first entry of the root's "." record. */
export const SP_LENGTH = 7;
/** SUSP §5.1 "CE": continuation area pointer. */
export const CE_LENGTH = 28;
/** RRIP §4.1.1 "PX" in its 1.10 form (mode, links, uid, gid), as xorriso writes it by default. */
export const PX_LENGTH = 36;
/** RRIP §4.1.2 "PN": device numbers. */
export const PN_LENGTH = 20;

/** RRIP §4.1.4 NM flags. */
export const NM_FLAG = { continue: 0x01, current: 0x02, parent: 0x04 } as const;
/** RRIP §4.1.3 SL entry flag and component record flags. */
export const SL_FLAG = { continue: 0x01 } as const;
export const SL_COMPONENT = { continue: 0x01, current: 0x02, parent: 0x04, root: 0x08 } as const;
/** RRIP §4.1.6 TF flags. */
export const TF_FLAG = { creation: 0x01, modify: 0x02, access: 0x04, attributes: 0x08, longForm: 0x80 } as const;

/** The extension identifier Linux, xorriso and mkisofs use for RRIP ("RRIP_1991A", RRIP §5.5). */
export const RRIP_ER_ID = 'RRIP_1991A';
export const RRIP_ER_DESCRIPTOR = 'THE ROCK RIDGE INTERCHANGE PROTOCOL PROVIDES SUPPORT FOR POSIX FILE SYSTEM SEMANTICS';
export const RRIP_ER_SOURCE =
  'PLEASE CONTACT DISC PUBLISHER FOR SPECIFICATION SOURCE.  SEE PUBLISHER IDENTIFIER IN PRIMARY VOLUME DESCRIPTOR FOR CONTACT INFORMATION.';

function entry(sig: string, len: number): ByteWriter {
  const w = ByteWriter.alloc(len);
  w.ascii(0, sig, 'signature');
  w.u8(2, len, 'entry length');
  w.u8(3, 1, 'entry version');
  return w;
}

export function encodeSP(): Uint8Array {
  const w = entry('SP', SP_LENGTH);
  w.u8(4, 0xbe, 'check byte');
  w.u8(5, 0xef, 'check byte');
  w.u8(6, 0, 'LEN_SKP');
  return w.bytes;
}

export function encodeCE(block: number, offset: number, length: number): Uint8Array {
  const w = entry('CE', CE_LENGTH);
  both32(w, 4, block, 'CE block');
  both32(w, 12, offset, 'CE offset');
  both32(w, 20, length, 'CE length');
  return w.bytes;
}

/** SUSP §5.5 "ER": extensions reference (one per extension, in the root's "." record). */
export function encodeER(id: string, descriptor: string, source: string, version = 1): Uint8Array {
  const len = 8 + id.length + descriptor.length + source.length;
  const w = entry('ER', len);
  w.u8(4, id.length, 'LEN_ID');
  w.u8(5, descriptor.length, 'LEN_DES');
  w.u8(6, source.length, 'LEN_SRC');
  w.u8(7, version, 'EXT_VER');
  w.ascii(8, id + descriptor + source, 'ER text');
  return w.bytes;
}

export function encodePX(mode: number, nlink: number, uid: number, gid: number): Uint8Array {
  const w = entry('PX', PX_LENGTH);
  both32(w, 4, mode >>> 0, 'st_mode');
  both32(w, 12, nlink >>> 0, 'st_nlink');
  both32(w, 20, uid >>> 0, 'st_uid');
  both32(w, 28, gid >>> 0, 'st_gid');
  return w.bytes;
}

export function encodePN(major: number, minor: number): Uint8Array {
  const w = entry('PN', PN_LENGTH);
  both32(w, 4, major >>> 0, 'dev_t high');
  both32(w, 12, minor >>> 0, 'dev_t low');
  return w.bytes;
}

/**
 * TF with modification and attribute-change times (short 7-byte form), in that order (RRIP §4.1.6).
 * The access time is left out on purpose: reading the source files (to build or serve the image)
 * changes it, and an image must not change while it is being read.
 */
export function encodeTF(mtimeMs: number, ctimeMs: number): Uint8Array {
  const w = entry('TF', TF_LENGTH);
  w.u8(4, TF_FLAG.modify | TF_FLAG.attributes, 'TF flags');
  writeDate7(w, 5, mtimeMs, 'TF modify');
  writeDate7(w, 5 + DATE7_SIZE, ctimeMs, 'TF attributes');
  return w.bytes;
}

/** TF length (constant: two short-form dates). */
export const TF_LENGTH = 5 + 2 * DATE7_SIZE;

/** NM entries for `name` (raw bytes), split into pieces of at most MAX_ENTRY bytes with the CONTINUE flag. */
export function encodeNM(name: Uint8Array): Uint8Array[] {
  const max = MAX_ENTRY - 5;
  const out: Uint8Array[] = [];
  let p = 0;
  do {
    const n = Math.min(max, name.length - p);
    const w = entry('NM', 5 + n);
    w.u8(4, p + n < name.length ? NM_FLAG.continue : 0, 'NM flags');
    w.bytesAt(5, name.subarray(p, p + n), 'NM name');
    out.push(w.bytes);
    p += n;
  } while (p < name.length);
  return out;
}

/** Length of the NM entries `encodeNM` produces for a name of `n` bytes. */
export function nmLength(n: number): number {
  const max = MAX_ENTRY - 5;
  const pieces = Math.max(1, Math.ceil(n / max));
  return pieces * 5 + n;
}

/**
 * SL entries for a symlink target (raw bytes). The target is split on '/' into component records
 * (ROOT for a leading '/', CURRENT for '.', PARENT for '..'); a component longer than fits in one
 * record is split with the component CONTINUE flag, and the records are spread over as many SL
 * entries as needed, all but the last with the SL CONTINUE flag.
 */
export function encodeSL(target: Uint8Array): Uint8Array[] {
  const comps: { flags: number; bytes: Uint8Array }[] = [];
  let start = 0;
  if (target[0] === 0x2f) {
    comps.push({ flags: SL_COMPONENT.root, bytes: new Uint8Array(0) });
    start = 1;
  }
  for (let i = start; i <= target.length; i++) {
    if (i === target.length || target[i] === 0x2f) {
      const c = target.subarray(start, i);
      start = i + 1;
      if (c.length === 0) continue; // "a//b" and a trailing '/'
      if (c.length === 1 && c[0] === 0x2e) comps.push({ flags: SL_COMPONENT.current, bytes: new Uint8Array(0) });
      else if (c.length === 2 && c[0] === 0x2e && c[1] === 0x2e) comps.push({ flags: SL_COMPONENT.parent, bytes: new Uint8Array(0) });
      else comps.push({ flags: 0, bytes: c });
    }
  }
  const maxBody = MAX_ENTRY - 5;
  const entries: Uint8Array[][] = [[]];
  let used = 0;
  const put = (rec: Uint8Array) => {
    if (used + rec.length > maxBody) {
      entries.push([]);
      used = 0;
    }
    entries[entries.length - 1]!.push(rec);
    used += rec.length;
  };
  for (const c of comps) {
    let p = 0;
    do {
      const room = maxBody - used - 2;
      if (room < 1 && c.bytes.length - p > 0) {
        entries.push([]);
        used = 0;
        continue;
      }
      const n = Math.min(c.bytes.length - p, Math.max(0, room));
      const more = p + n < c.bytes.length;
      const rec = new Uint8Array(2 + n);
      rec[0] = c.flags | (more ? SL_COMPONENT.continue : 0);
      rec[1] = n;
      rec.set(c.bytes.subarray(p, p + n), 2);
      put(rec);
      p += n;
    } while (p < c.bytes.length);
  }
  return entries.map((recs, i) => {
    let body = 0;
    for (const r of recs) body += r.length;
    const w = entry('SL', 5 + body);
    w.u8(4, i < entries.length - 1 ? SL_FLAG.continue : 0, 'SL flags');
    let p = 5;
    for (const r of recs) {
      w.bytesAt(p, r, 'SL component');
      p += r.length;
    }
    return w.bytes;
  });
}
