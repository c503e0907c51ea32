import { FormatError, LimitError } from '@guestkit/disk/binary';

/**
 * POSIX tar (ustar, with pax "path"/"size" records and GNU long names on input) for guestfish's
 * tar-in/tar-out. The reader is a push parser: feed it chunks of any size; it treats the input as
 * hostile (checksums verified, sizes bounded, names checked by the caller).
 */
const BLOCK = 512;
const enc = new TextEncoder();

export interface TarEntry {
  /** Path as stored, without a leading "./" or "/". */
  name: string;
  type: 'file' | 'directory' | 'symlink' | 'other';
  size: number;
  mode: number;
  mtime: Date;
  linkname?: string;
}

function octal(b: Uint8Array, off: number, len: number): number {
  // GNU base-256 for big numbers: high bit of the first byte set.
  if (b[off]! & 0x80) {
    let v = b[off]! & 0x7f;
    for (let i = 1; i < len; i++) v = v * 256 + b[off + i]!;
    return v;
  }
  const s = Buffer.from(b.subarray(off, off + len)).toString('latin1').replace(/[\0 ]+$/g, '').trim();
  if (s === '') return 0;
  if (!/^[0-7]+$/.test(s)) throw new FormatError('TAR_BAD_NUMBER', `tar: bad numeric field ${JSON.stringify(s)}`);
  return parseInt(s, 8);
}

function cstring(b: Uint8Array, off: number, len: number): string {
  const sub = b.subarray(off, off + len);
  const z = sub.indexOf(0);
  return Buffer.from(z < 0 ? sub : sub.subarray(0, z)).toString('utf8');
}

function checksumOk(h: Uint8Array): boolean {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i]!;
  return sum === octal(h, 148, 8);
}

function parsePax(data: Uint8Array): Record<string, string> {
  const out: Record<string, string> = {};
  let i = 0;
  while (i < data.length) {
    const sp = data.indexOf(0x20, i);
    if (sp < 0) break;
    const len = Number(Buffer.from(data.subarray(i, sp)).toString('latin1'));
    if (!Number.isInteger(len) || len <= 0 || i + len > data.length) throw new FormatError('TAR_BAD_PAX', 'tar: malformed pax extended header');
    const rec = Buffer.from(data.subarray(sp + 1, i + len - 1)).toString('utf8');
    const eq = rec.indexOf('=');
    if (eq > 0) out[rec.slice(0, eq)] = rec.slice(eq + 1);
    i += len;
  }
  return out;
}

/** Largest pax/GNU long-name record we accept. */
const MAX_META = 1 << 20;

export interface TarHandlers {
  entry(e: TarEntry): void;
  data(chunk: Uint8Array): void;
  endEntry(): void;
}

/** Incremental tar parser. */
export class TarParser {
  private buf = new Uint8Array(0);
  private remaining = 0; // data bytes left in the current entry
  private padding = 0;
  private meta: { kind: 'pax' | 'global' | 'gnuname' | 'gnulink'; size: number; parts: Uint8Array[]; got: number } | undefined;
  private pending: Record<string, string> = {};
  private inEntry = false;
  done = false;

  constructor(private readonly h: TarHandlers) {}

  push(chunk: Uint8Array): void {
    let data = this.buf.length ? concat(this.buf, chunk) : chunk;
    this.buf = new Uint8Array(0);
    let i = 0;
    while (i < data.length && !this.done) {
      if (this.remaining > 0) {
        const n = Math.min(this.remaining, data.length - i);
        const piece = data.subarray(i, i + n);
        if (this.meta) {
          this.meta.parts.push(piece.slice());
          this.meta.got += n;
        } else this.h.data(piece);
        this.remaining -= n;
        i += n;
        if (this.remaining === 0) this.finishEntry();
        continue;
      }
      if (this.padding > 0) {
        const n = Math.min(this.padding, data.length - i);
        this.padding -= n;
        i += n;
        continue;
      }
      if (data.length - i < BLOCK) break;
      const h = data.subarray(i, i + BLOCK);
      i += BLOCK;
      if (h.every((b) => b === 0)) {
        this.done = true;
        break;
      }
      this.header(h);
    }
    if (i < data.length && !this.done) this.buf = data.slice(i);
    data = new Uint8Array(0);
  }

  /** Call at end of input: a truncated archive is an error. */
  end(): void {
    if (!this.done && (this.remaining > 0 || this.padding > 0 || this.meta || this.buf.some((b) => b !== 0))) {
      throw new FormatError('TAR_TRUNCATED', 'tar: archive is truncated');
    }
  }

  private header(h: Uint8Array): void {
    if (!checksumOk(h)) throw new FormatError('TAR_BAD_CHECKSUM', 'tar: header checksum mismatch (not a tar archive, or corrupt)');
    const type = String.fromCharCode(h[156]!);
    let size = octal(h, 124, 12);
    if (!Number.isSafeInteger(size)) throw new LimitError('TAR_TOO_BIG', 'tar: entry size too large');
    if (type === 'x' || type === 'g' || type === 'L' || type === 'K') {
      if (size > MAX_META) throw new LimitError('TAR_META_TOO_BIG', `tar: extended header of ${size} bytes`);
      const kind = type === 'x' ? 'pax' : type === 'g' ? 'global' : type === 'L' ? 'gnuname' : 'gnulink';
      this.meta = { kind, size, parts: [], got: 0 };
      this.startData(size);
      return;
    }
    const prefix = cstring(h, 345, 155);
    let name = cstring(h, 0, 100);
    if (prefix && cstring(h, 257, 6) === 'ustar') name = prefix + '/' + name;
    let linkname = cstring(h, 157, 100);
    if (this.pending.path !== undefined) name = this.pending.path;
    if (this.pending.linkpath !== undefined) linkname = this.pending.linkpath;
    if (this.pending.size !== undefined) {
      size = Number(this.pending.size);
      if (!Number.isSafeInteger(size) || size < 0) throw new FormatError('TAR_BAD_PAX', 'tar: bad pax size');
    }
    const mtime = this.pending.mtime !== undefined ? Number(this.pending.mtime) : octal(h, 136, 12);
    this.pending = {};
    const kind: TarEntry['type'] = type === '0' || type === '\0' || type === '7' ? 'file' : type === '5' ? 'directory' : type === '2' ? 'symlink' : 'other';
    name = name.replace(/^(\.\/)+/, '').replace(/^\/+/, '').replace(/\/+$/, '');
    const e: TarEntry = { name, type: kind, size: kind === 'directory' ? 0 : size, mode: octal(h, 100, 8) & 0o7777, mtime: new Date(mtime * 1000) };
    if (kind === 'symlink') e.linkname = linkname;
    this.inEntry = true;
    this.h.entry(e);
    this.startData(kind === 'file' || kind === 'other' ? size : 0);
  }

  private startData(size: number): void {
    this.remaining = size;
    this.padding = (BLOCK - (size % BLOCK)) % BLOCK;
    if (size === 0) this.finishEntry();
  }

  private finishEntry(): void {
    if (this.meta) {
      const m = this.meta;
      this.meta = undefined;
      const all = concat(...m.parts);
      if (m.kind === 'pax') Object.assign(this.pending, parsePax(all));
      else if (m.kind === 'global') parsePax(all); // validated, then ignored
      else if (m.kind === 'gnuname') this.pending.path = cstring(all, 0, all.length);
      else this.pending.linkpath = cstring(all, 0, all.length);
      return;
    }
    if (this.inEntry) {
      this.inEntry = false;
      this.h.endEntry();
    }
  }
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const n = parts.reduce((a, p) => a + p.length, 0);
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Writes a tar stream to `sink`; names longer than ustar allows, or not ASCII, get a pax record. */
export class TarWriter {
  constructor(private readonly sink: (b: Uint8Array) => void) {}

  private header(name: string, type: string, size: number, mode: number, mtime: Date, linkname = ''): void {
    const needPax = name.length > 99 || /[^\x20-\x7e]/.test(name) || size > 0o77777777777 || linkname.length > 99 || /[^\x20-\x7e]/.test(linkname);
    if (needPax) {
      const recs = [['path', name], ...(linkname ? [['linkpath', linkname]] : []), ...(size > 0o77777777777 ? [['size', String(size)]] : [])];
      const body = recs.map(([k, v]) => paxRecord(k!, v!)).join('');
      const bytes = enc.encode(body);
      this.sink(this.block('PaxHeaders/' + asciiName(name), 'x', bytes.length, 0o644, mtime, ''));
      this.sink(bytes);
      this.pad(bytes.length);
    }
    this.sink(this.block(asciiName(name), type, size > 0o77777777777 ? 0 : size, mode, mtime, asciiName(linkname)));
  }

  private block(name: string, type: string, size: number, mode: number, mtime: Date, linkname: string): Uint8Array {
    const h = new Uint8Array(BLOCK);
    const put = (off: number, len: number, s: string) => h.set(enc.encode(s).subarray(0, len), off);
    const num = (off: number, len: number, v: number) => put(off, len, v.toString(8).padStart(len - 1, '0') + '\0');
    put(0, 100, name);
    num(100, 8, mode);
    num(108, 8, 0);
    num(116, 8, 0);
    num(124, 12, size);
    num(136, 12, Math.max(0, Math.floor(mtime.getTime() / 1000)));
    h.fill(0x20, 148, 156);
    put(156, 1, type);
    put(157, 100, linkname);
    put(257, 6, 'ustar\0');
    put(263, 2, '00');
    put(265, 32, 'root');
    put(297, 32, 'root');
    let sum = 0;
    for (const b of h) sum += b;
    put(148, 8, sum.toString(8).padStart(6, '0') + '\0 ');
    return h;
  }

  private pad(n: number): void {
    const p = (BLOCK - (n % BLOCK)) % BLOCK;
    if (p) this.sink(new Uint8Array(p));
  }

  dir(name: string, mtime: Date, mode = 0o755): void {
    this.header(name.endsWith('/') ? name : name + '/', '5', 0, mode, mtime);
  }

  /** A file header; then write exactly `size` bytes with `data`, then call `endFile(size)`. */
  file(name: string, size: number, mtime: Date, mode = 0o644): void {
    this.header(name, '0', size, mode, mtime);
  }

  data(chunk: Uint8Array): void {
    this.sink(chunk);
  }

  endFile(size: number): void {
    this.pad(size);
  }

  symlink(name: string, target: string, mtime: Date): void {
    this.header(name, '2', 0, 0o777, mtime, target);
  }

  end(): void {
    this.sink(new Uint8Array(BLOCK * 2));
  }
}

function paxRecord(k: string, v: string): string {
  const body = ` ${k}=${v}\n`;
  let len = Buffer.byteLength(body) + 1;
  while (String(len).length + Buffer.byteLength(body) !== len) len = String(len).length + Buffer.byteLength(body);
  return `${len}${body}`;
}

function asciiName(n: string): string {
  return n.replace(/[^\x20-\x7e]/g, '_').slice(0, 99);
}
