import type { ByteSink } from './byte-sink.js';

const BACKSLASH = 0x5c;

/**
 * The paths of the key being exported and of its ancestors, kept as UTF-16 code units in one
 * buffer so that a key's path is its parent's plus one name, without building JS strings.
 * The path at depth d is `units[begin[base[d]], end[d])`: each depth appends one segment
 * ("\\" + name, or just the name below the root "\\"), and a depth whose path does not extend
 * its parent's (the start key; a key whose parent pointer disagrees with the traversal)
 * holds its whole path as one segment and becomes the base of its descendants.
 */
export class KeyPaths {
  private units = new Uint16Array(1024);
  /** The same code units as bytes (their low bytes): the output itself when the path is not wide. */
  private bytes = new Uint8Array(1024);
  private readonly end: number[] = [];
  private readonly base: number[] = [];
  /** Some code unit of the path is above U+00FF (Perl then prints the whole path as UTF-8). */
  private readonly wide: boolean[] = [];

  private begin(d: number): number {
    return d === 0 ? 0 : this.end[d - 1]!;
  }

  private reserve(at: number, n: number): void {
    if (at + n <= this.units.length) return;
    const size = Math.max(this.units.length * 2, at + n + 256);
    const u = new Uint16Array(size);
    u.set(this.units.subarray(0, at));
    this.units = u;
    const b = new Uint8Array(size);
    b.set(this.bytes.subarray(0, at));
    this.bytes = b;
  }

  /** Depth d is a child of depth d-1 named by `buf[off, off + len)` (Latin-1, or UTF-16LE with an odd byte dropped). */
  child(d: number, buf: Uint8Array, off: number, len: number, compressed: boolean): void {
    let p = this.begin(d);
    const from = this.begin(this.base[d - 1]!);
    const parentIsRoot = p - from === 1 && this.units[from] === BACKSLASH;
    this.reserve(p, len + 1);
    const u = this.units;
    const b = this.bytes;
    let wide = this.wide[d - 1]!;
    if (!parentIsRoot) {
      u[p] = BACKSLASH;
      b[p++] = BACKSLASH;
    }
    if (compressed) {
      for (let i = off, e = off + len; i < e; i++) {
        const c = buf[i]!;
        u[p] = c;
        b[p++] = c;
      }
    } else {
      for (let i = off, e = off + len - 1; i < e; i += 2) {
        const c = buf[i]! | (buf[i + 1]! << 8);
        if (c > 0xff) wide = true;
        u[p] = c;
        b[p++] = c;
      }
    }
    this.end[d] = p;
    this.base[d] = this.base[d - 1]!;
    this.wide[d] = wide;
  }

  /** Depth d has this whole path. */
  absolute(d: number, path: string): void {
    let p = this.begin(d);
    this.reserve(p, path.length);
    const u = this.units;
    const b = this.bytes;
    let wide = false;
    for (let i = 0; i < path.length; i++) {
      const c = path.charCodeAt(i);
      if (c > 0xff) wide = true;
      u[p] = c;
      b[p++] = c;
    }
    this.end[d] = p;
    this.base[d] = d;
    this.wide[d] = wide;
  }

  /** The path at depth d as a string. */
  text(d: number): string {
    const u = this.units.subarray(this.begin(this.base[d]!), this.end[d]!);
    let s = '';
    for (let i = 0; i < u.length; i += 4096) s += String.fromCharCode(...u.subarray(i, i + 4096));
    return s;
  }

  /** Print the path at depth d: Latin-1 bytes when `latin1` allows and it fits, else UTF-8. */
  write(d: number, sink: ByteSink, latin1: boolean): void {
    if (latin1 && !this.wide[d]) sink.bytesRange(this.bytes, this.begin(this.base[d]!), this.end[d]!);
    else sink.utf8(this.text(d));
  }
}
