import { GuestError, LimitError, LoopError, UsageError, hex } from '@guestkit/disk/binary';
import { HiveCode } from '../errors.js';
import { NK } from '../layout/cells.js';
import { CELL_HEADER } from '../layout/hbin.js';
import { HBIN_BASE } from '../layout/base-block.js';
import type { HiveReader, NodeRef, ValueRef, DataSpan } from '../read/hive-reader.js';
import { compareCodePoints } from '../read/names.js';
import { ByteSink } from './byte-sink.js';

export interface RegExportOptions {
  /** Printed before every key path, trailing backslash removed (e.g. "HKEY_LOCAL_MACHINE\\SOFTWARE"). */
  prefix?: string;
  /** Print REG_SZ/REG_EXPAND_SZ as `str(N):"…"` decoded from UTF-16LE (lossy; hivexregedit --unsafe-printable-strings). */
  unsafePrintableStrings?: boolean;
  /** Print "Windows Registry Editor Version 5.00" and a blank line first, as hivexregedit does (virt-win-reg does not). Default true. */
  header?: boolean;
  /** 0 prints nothing, 1 only the named key, N keys down to depth N-1; negative/undefined: everything (hivexregedit --max-depth). */
  maxDepth?: number;
  /**
   * 'hivex' (default): byte-identical to hivexregedit — Perl prints a name whose characters all
   * fit in Latin-1 as Latin-1 bytes and any other as UTF-8. 'utf8': always UTF-8.
   */
  encoding?: 'hivex' | 'utf8';
}

const HEADER = 'Windows Registry Editor Version 5.00\n\n';
const HEX_TYPE = Array.from({ length: 16 }, (_, t) => `hex(${t.toString(16)}):`);
/** "dword:" followed by k zeros, for left-padding to 8 hex digits. */
const DWORD_PREFIX = Array.from({ length: 8 }, (_, k) => 'dword:' + '0'.repeat(k));

const SURROGATE = /[\uD800-\uDFFF]/;

/** Stable sort by name in code-point order (Perl cmp), with a fast path for names without surrogates. */
function sortByName<T extends { name: string }>(items: T[]): T[] {
  if (!items.some((x) => SURROGATE.test(x.name))) return items.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return items.sort((a, b) => compareCodePoints(a.name, b.name));
}

/**
 * Export a key and everything below it in the regedit format written by hivexregedit
 * (Win::Hivex::Regedit reg_export): keys depth-first, pre-order; subkeys and values sorted by
 * name in code-point order (Perl `cmp`); key paths built from parent pointers like hivex's
 * canonical path; every value as `hex(T):` bytes except 4-byte REG_DWORD as `dword:`; a blank
 * line after each key. Writes chunks to `out`.
 */
export function exportReg(hive: HiveReader, key: string | NodeRef, out: (chunk: Uint8Array) => void, opts: RegExportOptions = {}): void {
  const sink = new ByteSink(out);
  writeReg(hive, key, sink, opts);
  sink.flush();
}

/** Export to one byte array in memory. */
export function exportRegToBytes(hive: HiveReader, key: string | NodeRef = '\\', opts: RegExportOptions = {}): Uint8Array {
  const sink = new ByteSink(undefined, 0, Math.min(1 << 30, hive.image.size * 2));
  writeReg(hive, key, sink, opts);
  return sink.result();
}

/** Export to a JS string (decoding the bytes as UTF-8 when `encoding: 'utf8'`, else Latin-1 for pure-Latin-1 output). */
export function exportRegToString(hive: HiveReader, key: string | NodeRef = '\\', opts: RegExportOptions = {}): string {
  return Buffer.from(exportRegToBytes(hive, key, { ...opts, encoding: 'utf8' })).toString('utf8');
}

interface Frame {
  node: NodeRef;
  depth: number;
  /** Canonical path of the node's traversal parent ("\\" for the root's children), or undefined for the start key. */
  parentPath: string | undefined;
  parent: NodeRef | undefined;
  /** The node's name (already decoded when it was sorted). */
  name: string | undefined;
  /** Some character of the parent path is above U+00FF (Perl then prints it as UTF-8). */
  parentWide: boolean;
}

interface ValueRec {
  name: string;
  type: number;
  buf: Uint8Array;
  off: number;
  len: number;
}

function writeReg(hive: HiveReader, key: string | NodeRef, sink: ByteSink, opts: RegExportOptions): void {
  const start = typeof key === 'number' ? key : hive.path(key);
  if (start === undefined) {
    throw new UsageError(HiveCode.NotFound, `${hive.image.name}: ${key}: path not found in this hive`, { path: key });
  }
  if (opts.header !== false) sink.latin1(HEADER);
  new RegWriter(hive, sink, opts).run(start);
}

/**
 * The export loop, split into small methods: V8 optimizes small hot functions quickly, which
 * matters for a CLI that runs once (a single huge loop stays interpreted for a long time).
 */
class RegWriter {
  private readonly perl: boolean;
  private readonly prefix: string | undefined;
  private readonly maxDepth: number;
  private readonly unsafe: boolean;
  private readonly printable: boolean;
  private readonly stack: Frame[] = [];
  private readonly ancestors: number[] = [];
  private readonly onPath = new Set<number>();
  private count = 0;
  /** Reused value records (no allocation per value once warmed up). */
  private readonly pool: ValueRec[] = [];
  private readonly vals: ValueRec[] = [];

  constructor(private readonly hive: HiveReader, private readonly sink: ByteSink, opts: RegExportOptions) {
    this.perl = opts.encoding !== 'utf8';
    let prefix = opts.prefix;
    if (prefix !== undefined && prefix.endsWith('\\')) prefix = prefix.slice(0, -1);
    this.prefix = prefix;
    this.maxDepth = opts.maxDepth !== undefined && opts.maxDepth >= 0 ? opts.maxDepth : Infinity;
    this.unsafe = hive.unsafe;
    this.printable = Boolean(opts.unsafePrintableStrings);
  }

  private warn(obj: Record<string, unknown>, msg: string): void {
    this.hive.image.log.warn({ hive: this.hive.image.name, ...obj }, msg);
  }

  run(start: NodeRef): void {
    const stack = this.stack;
    stack.push({ node: start, depth: 0, parentPath: undefined, parent: undefined, name: undefined, parentWide: false });
    while (stack.length > 0) {
      const f = stack.pop()!;
      if (f.depth >= this.maxDepth || !this.enter(f)) continue;
      const { path, wide } = this.emitKey(f);
      this.emitValues(f.node, path);
      this.pushChildren(f, path, wide);
    }
  }

  /** Cycle, count and depth checks; false when the key is skipped (unsafe). */
  private enter(f: Frame): boolean {
    const hive = this.hive;
    const anc = this.ancestors;
    while (anc.length > f.depth) this.onPath.delete(anc.pop()!);
    if (this.onPath.has(f.node)) {
      if (!this.unsafe) throw new LoopError(HiveCode.Cycle, `${hive.image.name}: key at ${hex(f.node)} is its own ancestor`, { where: hive.image.name, offset: f.node });
      this.warn({ offset: f.node }, 'key is its own ancestor: skipped (unsafe)');
      return false;
    }
    const limits = hive.limits;
    if (++this.count > limits.maxWalkNodes) {
      throw new LimitError(HiveCode.Limit, `${hive.image.name}: more than ${limits.maxWalkNodes} keys exported`, { where: hive.image.name, limit: 'maxWalkNodes' });
    }
    if (f.depth > limits.maxDepth) {
      throw new LimitError(HiveCode.Limit, `${hive.image.name}: keys nested deeper than ${limits.maxDepth} levels`, { where: hive.image.name, limit: 'maxDepth', offset: f.node });
    }
    anc.push(f.node);
    this.onPath.add(f.node);
    return true;
  }

  /** "[PREFIX\\path]" — Perl prints the path as Latin-1 unless a character is wider. */
  private emitKey(f: Frame): { path: string; wide: boolean } {
    const sink = this.sink;
    const fromTraversal = canonicalFromTraversal(this.hive, f);
    let path: string;
    let wide: boolean;
    if (fromTraversal && f.name !== undefined) {
      path = f.parentPath === '\\' ? `\\${f.name}` : `${f.parentPath}\\${f.name}`;
      wide = f.parentWide || WIDE.test(f.name);
    } else {
      path = canonicalPath(this.hive, f);
      wide = WIDE.test(path);
    }
    sink.latin1('[');
    if (this.prefix !== undefined) sink.utf8(this.prefix);
    if (wide || !this.perl) sink.utf8(path);
    else sink.latin1(path);
    sink.latin1(']\n');
    return { path, wide };
  }

  private text(s: string): void {
    if (this.perl) this.sink.perl(s);
    else this.sink.utf8(s);
  }

  private emitValues(node: NodeRef, path: string): void {
    const hive = this.hive;
    let refs: ValueRef[];
    try {
      refs = hive.values(node);
    } catch (e) {
      if (!this.unsafe || !(e instanceof GuestError)) throw e;
      this.warn({ path, error: e.message }, 'failed to read node values');
      refs = [];
    }
    const vals = this.vals;
    vals.length = 0;
    const pool = this.pool;
    for (let i = 0; i < refs.length; i++) {
      let rec = pool[vals.length];
      if (rec === undefined) {
        rec = { name: '', type: 0, buf: hive.image.buf, off: 0, len: 0 };
        pool.push(rec);
      }
      try {
        hive.readValue(refs[i]!, rec);
      } catch (e) {
        if (!this.unsafe || !(e instanceof GuestError)) throw e;
        this.warn({ path, value: refs[i], error: e.message }, 'skipping unreadable value');
        continue;
      }
      vals.push(rec);
    }
    if (vals.length > 1) sortByName(vals);
    for (let i = 0; i < vals.length; i++) this.emitValue(vals[i]!);
    this.sink.latin1('\n');
  }

  private emitValue(v: ValueRec): void {
    const sink = this.sink;
    const name = v.name;
    if (name === '') sink.latin1('@=');
    else {
      sink.latin1('"');
      this.text(name.indexOf('\\') < 0 && name.indexOf('"') < 0 ? name : name.replace(/\\/g, '\\\\').replace(/"/g, '\\"'));
      sink.latin1('"=');
    }
    const b = v.buf;
    const o = v.off;
    if (v.type === 4 && v.len === 4) {
      const n = b[o]! + b[o + 1]! * 0x100 + b[o + 2]! * 0x10000 + b[o + 3]! * 0x1000000;
      const h = n.toString(16);
      sink.latin1(DWORD_PREFIX[8 - h.length]! + h + '\n');
    } else if (this.printable && (v.type === 1 || v.type === 2)) {
      let s = perlDecodeUtf16le(b.subarray(o, o + v.len));
      if (s.endsWith('\0')) s = s.slice(0, -1);
      else if (s.endsWith('\0\n')) s = s.slice(0, -2) + '\n';
      s = s.replace(/"/g, '\\"');
      this.text(`str(${v.type.toString(16)}):"${s}"\n`);
    } else {
      sink.latin1(v.type < 16 ? HEX_TYPE[v.type]! : `hex(${v.type.toString(16)}):`);
      sink.hexRange(b, o, v.len);
      sink.latin1('\n');
    }
  }

  /** Subkeys sorted by name, pushed in reverse so the smallest is visited first. */
  private pushChildren(f: Frame, path: string, wide: boolean): void {
    const hive = this.hive;
    let kids: NodeRef[];
    try {
      kids = hive.children(f.node);
    } catch (e) {
      if (!this.unsafe || !(e instanceof GuestError)) throw e;
      this.warn({ path, error: e.message }, 'could not get children');
      return;
    }
    if (kids.length === 0 || f.depth + 1 >= this.maxDepth) return;
    const named: { node: NodeRef; name: string }[] = [];
    for (let i = 0; i < kids.length; i++) {
      try {
        named.push({ node: kids[i]!, name: hive.nodeName(kids[i]!) });
      } catch (e) {
        if (!this.unsafe || !(e instanceof GuestError)) throw e;
        this.warn({ path, child: kids[i], error: e.message }, 'skipping child with unreadable name');
      }
    }
    if (named.length > 1) sortByName(named);
    const depth = f.depth + 1;
    for (let i = named.length - 1; i >= 0; i--) {
      this.stack.push({ node: named[i]!.node, depth, parentPath: path, parent: f.node, name: named[i]!.name, parentWide: wide });
    }
  }
}

/**
 * hivex's canonical path: "\\" for the root, else the parent's path (by the nk parent pointer)
 * plus "\\" plus the name. The traversal parent is used when the pointer agrees with it (the
 * normal case); otherwise the pointer chain is followed, as hivexregedit does.
 */
function canonicalPath(hive: HiveReader, f: Frame): string {
  if (f.node === hive.root) return '\\';
  if (canonicalFromTraversal(hive, f)) {
    const name = f.name ?? hive.nodeName(f.node);
    return f.parentPath === '\\' ? `\\${name}` : `${f.parentPath}\\${name}`;
  }
  return '\\' + hive.nodePath(f.node);
}

/** The nk parent pointer agrees with the key we came from. */
function canonicalFromTraversal(hive: HiveReader, f: Frame): boolean {
  if (f.parent === undefined || f.parentPath === undefined) return false;
  return hive.image.view.u32(f.node + CELL_HEADER + NK.parent, 'nk parent') + HBIN_BASE === f.parent;
}

const WIDE = /[^\x00-\xff]/;

/**
 * Decode UTF-16LE the way Perl's Encode does with default checks: an odd trailing byte is
 * dropped; lone surrogates and noncharacters (U+FDD0..U+FDEF, U+xxFFFE/U+xxFFFF) become U+FFFD.
 */
export function perlDecodeUtf16le(data: Uint8Array): string {
  const n = data.length - (data.length % 2);
  const parts: number[] = [];
  let out = '';
  for (let i = 0; i < n; i += 2) {
    const c = data[i]! + data[i + 1]! * 256;
    let cp = c;
    if (c >= 0xd800 && c <= 0xdbff) {
      if (i + 3 < n + 1 && i + 2 < n) {
        const d = data[i + 2]! + data[i + 3]! * 256;
        if (d >= 0xdc00 && d <= 0xdfff) {
          cp = 0x10000 + (c - 0xd800) * 0x400 + (d - 0xdc00);
          i += 2;
        } else cp = 0xfffd;
      } else cp = 0xfffd;
    } else if (c >= 0xdc00 && c <= 0xdfff) cp = 0xfffd;
    if ((cp >= 0xfdd0 && cp <= 0xfdef) || cp % 0x10000 === 0xfffe || cp % 0x10000 === 0xffff) cp = 0xfffd;
    parts.push(cp);
    if (parts.length >= 4096) {
      out += String.fromCodePoint(...parts);
      parts.length = 0;
    }
  }
  if (parts.length) out += String.fromCodePoint(...parts);
  return out;
}
