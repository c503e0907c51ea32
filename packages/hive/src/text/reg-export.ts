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
  const perl = opts.encoding !== 'utf8';
  const text = (s: string) => (perl ? sink.perl(s) : sink.utf8(s));
  let prefix = opts.prefix;
  if (prefix !== undefined && prefix.endsWith('\\')) prefix = prefix.slice(0, -1);
  const maxDepth = opts.maxDepth !== undefined && opts.maxDepth >= 0 ? opts.maxDepth : Infinity;
  const unsafe = hive.unsafe;
  const limits = hive.limits;
  const warn = (obj: Record<string, unknown>, msg: string) => hive.image.log.warn({ hive: hive.image.name, ...obj }, msg);

  const stack: Frame[] = [{ node: start, depth: 0, parentPath: undefined, parent: undefined, name: undefined, parentWide: false }];
  const span: DataSpan = { buf: hive.image.buf, off: 0, len: 0 };
  const put = (s: string, wide: boolean) => (wide && perl ? sink.utf8(s) : perl ? sink.latin1(s) : sink.utf8(s));
  const ancestors: number[] = [];
  const onPath = new Set<number>();
  let count = 0;
  while (stack.length > 0) {
    const f = stack.pop()!;
    if (f.depth >= maxDepth) continue;
    while (ancestors.length > f.depth) onPath.delete(ancestors.pop()!);
    if (onPath.has(f.node)) {
      if (!unsafe) throw new LoopError(HiveCode.Cycle, `${hive.image.name}: key at ${hex(f.node)} is its own ancestor`, { where: hive.image.name, offset: f.node });
      warn({ offset: f.node }, 'key is its own ancestor: skipped (unsafe)');
      continue;
    }
    if (++count > limits.maxWalkNodes) {
      throw new LimitError(HiveCode.Limit, `${hive.image.name}: more than ${limits.maxWalkNodes} keys exported`, { where: hive.image.name, limit: 'maxWalkNodes' });
    }
    if (f.depth > limits.maxDepth) {
      throw new LimitError(HiveCode.Limit, `${hive.image.name}: keys nested deeper than ${limits.maxDepth} levels`, { where: hive.image.name, limit: 'maxDepth', offset: f.node });
    }
    ancestors.push(f.node);
    onPath.add(f.node);

    const path = canonicalPath(hive, f);
    const pathWide = f.parentPath !== undefined && f.name !== undefined && canonicalFromTraversal(hive, f)
      ? f.parentWide || WIDE.test(f.name)
      : WIDE.test(path);
    sink.latin1('[');
    if (prefix !== undefined) sink.utf8(prefix);
    put(path, pathWide);
    sink.latin1(']\n');

    // Values, sorted by name.
    let vals: ValueRec[] = [];
    let refs: ValueRef[] = [];
    try {
      refs = hive.values(f.node);
    } catch (e) {
      if (!unsafe || !(e instanceof GuestError)) throw e;
      warn({ path, error: e.message }, 'failed to read node values');
    }
    for (const v of refs) {
      try {
        vals.push(hive.readValue(v, { name: '', type: 0, buf: span.buf, off: 0, len: 0 }));
      } catch (e) {
        if (!unsafe || !(e instanceof GuestError)) throw e;
        warn({ path, value: v, error: e.message }, 'skipping unreadable value');
      }
    }
    if (vals.length > 1) vals = sortByName(vals);
    for (const v of vals) {
      const name = v.name;
      if (name === '') sink.latin1('@=');
      else {
        sink.latin1('"');
        text(name.indexOf('\\') < 0 && name.indexOf('"') < 0 ? name : name.replace(/\\/g, '\\\\').replace(/"/g, '\\"'));
        sink.latin1('"=');
      }
      const b = v.buf;
      const o = v.off;
      if (v.type === 4 && v.len === 4) {
        const n = b[o]! + b[o + 1]! * 0x100 + b[o + 2]! * 0x10000 + b[o + 3]! * 0x1000000;
        const h = n.toString(16);
        sink.latin1(DWORD_PREFIX[8 - h.length]! + h + '\n');
      } else if (opts.unsafePrintableStrings && (v.type === 1 || v.type === 2)) {
        let s = perlDecodeUtf16le(b.subarray(o, o + v.len));
        if (s.endsWith('\0')) s = s.slice(0, -1);
        else if (s.endsWith('\0\n')) s = s.slice(0, -2) + '\n';
        s = s.replace(/"/g, '\\"');
        text(`str(${v.type.toString(16)}):"${s}"\n`);
      } else {
        sink.latin1(v.type < 16 ? HEX_TYPE[v.type]! : `hex(${v.type.toString(16)}):`);
        sink.hexRange(b, o, v.len);
        sink.latin1('\n');
      }
    }
    sink.latin1('\n');

    // Children, sorted by name, pushed in reverse so the smallest is visited first.
    let kids: NodeRef[] = [];
    try {
      kids = hive.children(f.node);
    } catch (e) {
      if (!unsafe || !(e instanceof GuestError)) throw e;
      warn({ path, error: e.message }, 'could not get children');
    }
    if (kids.length === 0 || f.depth + 1 >= maxDepth) continue;
    const named: { node: NodeRef; name: string }[] = [];
    for (const k of kids) {
      try {
        named.push({ node: k, name: hive.nodeName(k) });
      } catch (e) {
        if (!unsafe || !(e instanceof GuestError)) throw e;
        warn({ path, child: k, error: e.message }, 'skipping child with unreadable name');
      }
    }
    const sorted = named.length > 1 ? sortByName(named) : named;
    for (let i = sorted.length - 1; i >= 0; i--) {
      stack.push({ node: sorted[i]!.node, depth: f.depth + 1, parentPath: path, parent: f.node, name: sorted[i]!.name, parentWide: pathWide });
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
