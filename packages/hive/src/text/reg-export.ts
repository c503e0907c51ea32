import { GuestError, LimitError, LoopError, UsageError, hex } from '@guestkit/disk/binary';
import { HiveCode } from '../errors.js';
import { NK } from '../layout/cells.js';
import { CELL_HEADER } from '../layout/hbin.js';
import { HBIN_BASE } from '../layout/base-block.js';
import type { HiveReader, NodeRef, ValueRef, ValueRead } from '../read/hive-reader.js';
import { compareCodePoints, type NameSpan } from '../read/names.js';
import { ByteSink } from './byte-sink.js';
import { allLatin1, sortLatin1Spans, sortPrefix, spanName } from './name-spans.js';
import { KeyPaths } from './key-paths.js';
import { CellMarks } from '../read/cell-marks.js';

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

const SURROGATE = /[\uD800-\uDFFF]/;

/** Stable sort of `items[0, n)` by name in code-point order (Perl cmp), with a fast path for names without surrogates. */
function sortByName<T extends { name: string }>(items: T[], n: number): void {
  let surrogates = false;
  for (let i = 0; i < n && !surrogates; i++) surrogates = SURROGATE.test(items[i]!.name);
  if (!surrogates) sortPrefix(items, n, (a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  else sortPrefix(items, n, (a, b) => compareCodePoints(a.name, b.name));
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

/** A key to export: its depth, the key it was reached from, and where its name lies. */
interface Frame extends NameSpan {
  node: NodeRef;
  depth: number;
  /** The key it was reached from; undefined for the start key. */
  parent: NodeRef | undefined;
  /** The decoded name, when it was needed for sorting. */
  name: string | undefined;
}

/** A value as readValue locates it; `name` is decoded only when the bytes cannot be printed as they are. */
interface ValueRec extends ValueRead {
  name: string | undefined;
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
  private readonly paths = new KeyPaths();
  private readonly ancestors: number[] = [];
  /** The keys in `ancestors`, by cell offset. */
  private readonly onPath: CellMarks;
  private count = 0;
  // Reused records and lists: no allocation per key or value once warmed up.
  private readonly vals: ValueRec[] = [];
  private readonly refs: ValueRef[] = [];
  private readonly kids: Frame[] = [];
  /** Frames done with, for reuse. */
  private readonly free: Frame[] = [];

  constructor(private readonly hive: HiveReader, private readonly sink: ByteSink, opts: RegExportOptions) {
    this.perl = opts.encoding !== 'utf8';
    let prefix = opts.prefix;
    if (prefix !== undefined && prefix.endsWith('\\')) prefix = prefix.slice(0, -1);
    this.prefix = prefix;
    this.maxDepth = opts.maxDepth !== undefined && opts.maxDepth >= 0 ? opts.maxDepth : Infinity;
    this.unsafe = hive.unsafe;
    this.printable = Boolean(opts.unsafePrintableStrings);
    this.onPath = new CellMarks(hive.image.size);
  }

  private warn(obj: Record<string, unknown>, msg: string): void {
    this.hive.image.log.warn({ hive: this.hive.image.name, ...obj }, msg);
  }

  run(start: NodeRef): void {
    const stack = this.stack;
    stack.push({ node: start, depth: 0, parent: undefined, name: undefined, nameOff: 0, nameLen: 0, nameCompressed: true });
    while (stack.length > 0) {
      const f = stack.pop()!;
      if (f.depth < this.maxDepth && this.enter(f)) {
        this.emitKey(f);
        this.emitValues(f);
        this.pushChildren(f);
      }
      this.free.push(f);
    }
  }

  /** The path of the key at depth d (for messages). */
  private path(f: Frame): string {
    return this.paths.text(f.depth);
  }

  /** Cycle, count and depth checks; false when the key is skipped (unsafe). */
  private enter(f: Frame): boolean {
    const hive = this.hive;
    const anc = this.ancestors;
    while (anc.length > f.depth) this.onPath.clear(anc.pop()!);
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
    this.onPath.set(f.node);
    return true;
  }

  /**
   * "[PREFIX\\path]" — the path as hivex's canonical path: the parent's path plus the name
   * when the key's parent pointer agrees with the key it was reached from (the normal case),
   * else the parent pointer chain, as hivexregedit does. Perl prints the path as Latin-1 unless
   * a character is wider.
   */
  private emitKey(f: Frame): void {
    const sink = this.sink;
    const hive = this.hive;
    if (canonicalFromTraversal(hive, f)) this.paths.child(f.depth, hive.image.buf, f.nameOff, f.nameLen, f.nameCompressed);
    else this.paths.absolute(f.depth, f.node === hive.root ? '\\' : '\\' + hive.nodePath(f.node));
    sink.byte(0x5b); // [
    if (this.prefix !== undefined) sink.utf8(this.prefix);
    this.paths.write(f.depth, sink, this.perl);
    sink.latin1(']\n');
  }

  private text(s: string): void {
    if (this.perl) this.sink.perl(s);
    else this.sink.utf8(s);
  }

  private emitValues(f: Frame): void {
    const hive = this.hive;
    const refs = this.refs;
    let nrefs: number;
    try {
      nrefs = hive.valueList(f.node, refs);
    } catch (e) {
      if (!this.unsafe || !(e instanceof GuestError)) throw e;
      this.warn({ path: this.path(f), error: e.message }, 'failed to read node values');
      nrefs = 0;
    }
    const vals = this.vals;
    let n = 0;
    for (let i = 0; i < nrefs; i++) {
      let rec = vals[n];
      if (rec === undefined) {
        rec = { name: undefined, nameOff: 0, nameLen: 0, nameCompressed: true, type: 0, buf: hive.image.buf, off: 0, len: 0 };
        vals.push(rec);
      }
      try {
        hive.readValue(refs[i]!, rec);
      } catch (e) {
        if (!this.unsafe || !(e instanceof GuestError)) throw e;
        this.warn({ path: this.path(f), value: refs[i], error: e.message }, 'skipping unreadable value');
        continue;
      }
      rec.name = undefined;
      n++;
    }
    if (n > 1) sortNames(hive.image.buf, vals, n);
    for (let i = 0; i < n; i++) this.emitValue(vals[i]!);
    this.sink.byte(0x0a);
  }

  private emitValue(v: ValueRec): void {
    const sink = this.sink;
    const img = this.hive.image.buf;
    if (v.nameLen === 0 || (!v.nameCompressed && v.nameLen < 2)) sink.latin1('@=');
    else if (v.nameCompressed && v.name === undefined && (this.perl || isAscii(img, v.nameOff, v.nameLen))) {
      // Latin-1 bytes print as they are (Perl prints a string of characters ≤ U+00FF as Latin-1).
      sink.byte(0x22);
      sink.copyEscaped(img, v.nameOff, v.nameLen);
      sink.latin1('"=');
    } else {
      const name = v.name ?? spanName(img, v);
      sink.byte(0x22);
      this.text(name.indexOf('\\') < 0 && name.indexOf('"') < 0 ? name : name.replace(/\\/g, '\\\\').replace(/"/g, '\\"'));
      sink.latin1('"=');
    }
    const b = v.buf;
    const o = v.off;
    if (v.type === 4 && v.len === 4) {
      sink.latin1('dword:');
      sink.hexNumberLE(b, o, 4);
      sink.byte(0x0a);
    } else if (this.printable && (v.type === 1 || v.type === 2)) {
      let s = perlDecodeUtf16le(b.subarray(o, o + v.len));
      if (s.endsWith('\0')) s = s.slice(0, -1);
      else if (s.endsWith('\0\n')) s = s.slice(0, -2) + '\n';
      s = s.replace(/"/g, '\\"');
      this.text(`str(${v.type.toString(16)}):"${s}"\n`);
    } else {
      sink.latin1(v.type < 16 ? HEX_TYPE[v.type]! : `hex(${v.type.toString(16)}):`);
      sink.hexRange(b, o, v.len);
      sink.byte(0x0a);
    }
  }

  /** Subkeys sorted by name, pushed in reverse so the smallest is visited first. */
  private pushChildren(f: Frame): void {
    const hive = this.hive;
    let kids: NodeRef[];
    try {
      kids = hive.children(f.node);
    } catch (e) {
      if (!this.unsafe || !(e instanceof GuestError)) throw e;
      this.warn({ path: this.path(f), error: e.message }, 'could not get children');
      return;
    }
    if (kids.length === 0 || f.depth + 1 >= this.maxDepth) return;
    const depth = f.depth + 1;
    const named = this.kids;
    let n = 0;
    for (let i = 0; i < kids.length; i++) {
      const k = this.free.pop() ?? { node: kids[i]!, depth, parent: f.node, name: undefined, nameOff: 0, nameLen: 0, nameCompressed: true };
      k.node = kids[i]!;
      k.depth = depth;
      k.parent = f.node;
      k.name = undefined;
      try {
        hive.readNodeName(k.node, k);
      } catch (e) {
        this.free.push(k);
        if (!this.unsafe || !(e instanceof GuestError)) throw e;
        this.warn({ path: this.path(f), child: kids[i], error: e.message }, 'skipping child with unreadable name');
        continue;
      }
      named[n++] = k;
    }
    if (n > 1) sortNames(hive.image.buf, named, n);
    for (let i = n - 1; i >= 0; i--) this.stack.push(named[i]!);
  }
}

/** No byte above 0x7F (the same bytes in Latin-1 and UTF-8). */
function isAscii(buf: Uint8Array, off: number, len: number): boolean {
  for (let i = off, end = off + len; i < end; i++) if (buf[i]! > 0x7f) return false;
  return true;
}

/** `items[0, n)` by name in code-point order: Latin-1 names by their bytes, else as decoded strings. */
function sortNames<T extends NameSpan & { name: string | undefined }>(buf: Uint8Array, items: T[], n: number): void {
  if (allLatin1(items, n)) {
    sortLatin1Spans(buf, items, n);
    return;
  }
  for (let i = 0; i < n; i++) items[i]!.name = spanName(buf, items[i]!);
  sortByName(items as (T & { name: string })[], n);
}

/** The nk parent pointer agrees with the key we came from. */
function canonicalFromTraversal(hive: HiveReader, f: Frame): boolean {
  if (f.parent === undefined) return false;
  return hive.image.view.u32(f.node + CELL_HEADER + NK.parent, 'nk parent') + HBIN_BASE === f.parent;
}


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
