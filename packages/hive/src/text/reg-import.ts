import { FormatError, UsageError, encodeUtf16le } from '@guestkit/disk/binary';
import { HiveCode } from '../errors.js';
import type { Hive, NodeRef } from '../hive.js';
import { splitKeyPath } from '../read/hive-reader.js';

/**
 * .reg files: the dialect hivexregedit writes and reads (Win::Hivex::Regedit reg_import) and the
 * one regedit.exe writes: UTF-16LE with a BOM or UTF-8 (Latin-1 lines tolerated, as hivexregedit
 * prints them), CRLF or LF, "Windows Registry Editor Version 5.00" / "REGEDIT4" headers, `;`
 * comments, lines continued with a trailing backslash (regedit wraps long hex: lines), `[KEY]`
 * and `[-KEY]`, `"name"=…`, `@=…`, `"name"=-`, and the value forms `"string"`, `dword:`, `hex:`,
 * `hex(N):`, `str:"…"` and `str(N):"…"` (hivex and Wine). A section ends at the next `[…]` line
 * (regedit) or a blank line (hivex).
 */
export type RegOp =
  | { op: 'deleteKey'; path: string; line: number }
  | { op: 'key'; path: string; line: number }
  | { op: 'set'; path: string; name: string; type: number; data: Uint8Array; line: number }
  | { op: 'deleteValue'; path: string; name: string; line: number };

export interface RegParseOptions {
  /** Encoding of `"string"` values: UTF-16LE (default, what Windows uses) or single-byte ASCII/Latin-1 (hivexregedit --encoding ASCII). */
  encoding?: 'utf-16le' | 'ascii';
  /** Name for messages. */
  source?: string;
}

/** Decode a .reg file's bytes to text: UTF-16LE (BOM), UTF-8 (with or without BOM), else Latin-1 per line. */
export function decodeRegText(bytes: Uint8Array): string {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.length >= 2 && b[0] === 0xff && b[1] === 0xfe) return b.subarray(2).toString('utf16le');
  if (b.length >= 3 && b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf) return b.subarray(3).toString('utf8');
  // UTF-16LE without a BOM: "W\0i\0" or "[\0"
  if (b.length >= 4 && b[1] === 0 && b[3] === 0 && b[0] !== 0) return b.toString('utf16le');
  const text = b.toString('utf8');
  if (!text.includes('\ufffd')) return text;
  // Mixed input (hivexregedit prints names that fit in Latin-1 as Latin-1 bytes): decode per line.
  const out: string[] = [];
  let start = 0;
  for (let i = 0; i <= b.length; i++) {
    if (i === b.length || b[i] === 0x0a) {
      const line = b.subarray(start, i);
      const u = line.toString('utf8');
      out.push(u.includes('\ufffd') ? line.toString('latin1') : u);
      start = i + 1;
    }
  }
  return out.join('\n');
}

/** Parse .reg text into operations (paths as written, prefix not yet removed). */
export function parseReg(text: string, opts: RegParseOptions = {}): RegOp[] {
  const src = opts.source ?? '.reg';
  const ascii = opts.encoding === 'ascii';
  const raw = text.split('\n');
  const ops: RegOp[] = [];
  let section: string | undefined;
  const err = (line: number, msg: string, content: string) =>
    new FormatError(HiveCode.RegParse, `${src}:${line}: ${msg}: ${JSON.stringify(content.length > 80 ? content.slice(0, 80) + '…' : content)}`, { source: src, line, text: content });
  for (let i = 0; i < raw.length; i++) {
    const lineNo = i + 1;
    let line = stripCr(raw[i]!);
    // Continuation: a trailing backslash (spaces allowed after it) joins the next line.
    while (/\\\s*$/.test(line) && i + 1 < raw.length) {
      line = line.replace(/\\\s*$/, '') + stripCr(raw[++i]!).replace(/^\s+/, '');
    }
    const t = line.trim();
    if (t === '' || t.startsWith(';')) {
      continue;
    }
    if (/Windows Registry Editor Version/.test(line) || /^\s*REGEDIT/.test(line)) continue;
    if (t.startsWith('[')) {
      const m = /^\[(-?)(.*)\]\s*$/.exec(t);
      if (!m) throw err(lineNo, 'malformed key line', t);
      if (m[1] === '-') {
        ops.push({ op: 'deleteKey', path: m[2]!, line: lineNo });
        section = undefined;
      } else {
        section = m[2]!;
        ops.push({ op: 'key', path: section, line: lineNo });
      }
      continue;
    }
    if (section === undefined) throw err(lineNo, 'value outside a [key] section', t);
    let name: string;
    let rest: string;
    if (t.startsWith('@')) {
      name = '';
      rest = t.slice(1).trimStart();
    } else if (t.startsWith('"')) {
      const q = parseQuoted(t, 0);
      if (!q) throw err(lineNo, 'unterminated value name', t);
      name = q.value;
      rest = t.slice(q.end).trimStart();
    } else throw err(lineNo, 'expected "name"=value, @=value or [key]', t);
    if (!rest.startsWith('=')) throw err(lineNo, 'expected "=" after the value name', t);
    const v = rest.slice(1).trim();
    if (v === '-') {
      ops.push({ op: 'deleteValue', path: section, name, line: lineNo });
      continue;
    }
    const parsed = parseData(v, ascii);
    if (!parsed) throw err(lineNo, 'cannot parse value data', t);
    ops.push({ op: 'set', path: section, name, type: parsed.type, data: parsed.data, line: lineNo });
  }
  return ops;
}

function stripCr(s: string): string {
  return s.endsWith('\r') ? s.slice(0, -1) : s;
}

/** A double-quoted string starting at `at`: `\x` means x (regedit escapes only \\ and \"). */
function parseQuoted(s: string, at: number): { value: string; end: number } | undefined {
  if (s[at] !== '"') return undefined;
  let out = '';
  for (let i = at + 1; i < s.length; i++) {
    const c = s[i]!;
    if (c === '"') return { value: out, end: i + 1 };
    if (c === '\\' && i + 1 < s.length) {
      out += s[++i];
      continue;
    }
    out += c;
  }
  return undefined;
}

/** "01,ab, ff" → bytes; commas and whitespace between digits are ignored (undefined on anything else or an odd digit count). */
function parseHexBytes(s: string): Uint8Array | undefined {
  const out = new Uint8Array(s.length >>> 1);
  let n = 0;
  let hi = -1;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let v: number;
    if (c >= 0x30 && c <= 0x39) v = c - 0x30;
    else if (c >= 0x61 && c <= 0x66) v = c - 0x57;
    else if (c >= 0x41 && c <= 0x46) v = c - 0x37;
    else if (c === 0x2c || c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a) continue;
    else return undefined;
    if (hi < 0) hi = v;
    else {
      out[n++] = hi * 16 + v;
      hi = -1;
    }
  }
  return hi < 0 ? out.subarray(0, n) : undefined;
}

function encodeString(s: string, ascii: boolean): Uint8Array {
  if (!ascii) return encodeUtf16le(s + '\0');
  const b = Buffer.from(s + '\0', 'latin1');
  return new Uint8Array(b.buffer, b.byteOffset, b.length);
}

function parseData(v: string, ascii: boolean): { type: number; data: Uint8Array } | undefined {
  let m: RegExpExecArray | null;
  if ((m = /^dword:([0-9a-fA-F]{1,8})$/.exec(v))) {
    const n = parseInt(m[1]!, 16);
    const d = new Uint8Array(4);
    d[0] = n & 0xff;
    d[1] = (n >>> 8) & 0xff;
    d[2] = (n >>> 16) & 0xff;
    d[3] = (n >>> 24) & 0xff;
    return { type: 4, data: d };
  }
  if ((m = /^hex:(.*)$/i.exec(v))) {
    const data = parseHexBytes(m[1]!);
    return data ? { type: 3, data } : undefined;
  }
  if ((m = /^hex\(([0-9a-fA-F]+)\):(.*)$/i.exec(v))) {
    const type = parseInt(m[1]!, 16);
    const data = parseHexBytes(m[2]!);
    return data && type <= 0xffffffff ? { type, data } : undefined;
  }
  if ((m = /^str(?:\(([0-9a-fA-F]+)\))?:(".*")$/.exec(v))) {
    const q = parseQuoted(m[2]!, 0);
    if (!q || q.end !== m[2]!.length) return undefined;
    return { type: m[1] ? parseInt(m[1], 16) : 1, data: encodeString(q.value, ascii) };
  }
  if (v.startsWith('"')) {
    const q = parseQuoted(v, 0);
    if (!q || q.end !== v.length) return undefined;
    return { type: 1, data: encodeString(q.value, ascii) };
  }
  return undefined;
}

export interface RegMergeOptions extends RegParseOptions {
  /** Removed (case-insensitively) from the start of every key path, e.g. "HKEY_LOCAL_MACHINE\\SOFTWARE". */
  prefix?: string;
  /** Refuse to create a key whose parent does not exist (hivexregedit); default: create parents (regedit). */
  strict?: boolean;
}

export interface RegMergeReport {
  keysCreated: number;
  keysDeleted: number;
  valuesSet: number;
  valuesDeleted: number;
  /** Keys named in `[-KEY]` that were not there (not an error). */
  missingDeletes: string[];
}

/** Map a .reg key path to a path inside the hive (prefix removed). */
export function regPathToHivePath(path: string, prefix: string | undefined, src: string, line: number): string {
  let p = path;
  if (prefix !== undefined && prefix.length > 0) {
    const pre = prefix.endsWith('\\') ? prefix.slice(0, -1) : prefix;
    if (p.length >= pre.length && p.slice(0, pre.length).toLowerCase() === pre.toLowerCase() && (p.length === pre.length || p[pre.length] === '\\')) p = p.slice(pre.length);
  }
  if (/^HKEY_|^HK(LM|CU|U|CR|CC)(\\|$)/i.test(p)) {
    throw new UsageError(HiveCode.RegParse, `${src}:${line}: key ${JSON.stringify(path)} is not inside this hive; give the prefix to remove (e.g. --prefix 'HKEY_LOCAL_MACHINE\\SOFTWARE')`, { path, line });
  }
  return p;
}

/**
 * Apply parsed operations to a writable hive, in file order. Missing parent keys are created
 * unless `strict`; `[-KEY]` deletes a key and everything below it (a missing key is fine, the
 * root is refused); values are matched case-insensitively.
 */
export function applyReg(hive: Hive, ops: readonly RegOp[], opts: RegMergeOptions = {}): RegMergeReport {
  const src = opts.source ?? '.reg';
  const report: RegMergeReport = { keysCreated: 0, keysDeleted: 0, valuesSet: 0, valuesDeleted: 0, missingDeletes: [] };
  // Consecutive lines of one section resolve the same key: remember the last one.
  let lastPath: string | undefined;
  let lastNode: NodeRef | undefined;
  const resolve = (path: string, line: number, create: boolean): NodeRef => {
    if (path === lastPath && lastNode !== undefined) return lastNode;
    const n = resolveUncached(path, line, create);
    lastPath = path;
    lastNode = n;
    return n;
  };
  const resolveUncached = (path: string, line: number, create: boolean): NodeRef => {
    const parts = splitKeyPath(regPathToHivePath(path, opts.prefix, src, line));
    let n = hive.root;
    for (let i = 0; i < parts.length; i++) {
      const c = hive.child(n, parts[i]!);
      if (c !== undefined) {
        n = c;
        continue;
      }
      if (!create) throw new UsageError(HiveCode.NotFound, `${src}:${line}: key ${path} not found`, { path, line });
      if (opts.strict && i < parts.length - 1) {
        throw new UsageError(HiveCode.RegMissingParent, `${src}:${line}: cannot create ${path} since its parent \\${parts.slice(0, i + 1).join('\\')} does not exist (--strict)`, { path, line });
      }
      n = hive.addChild(n, parts[i]!);
      report.keysCreated++;
    }
    return n;
  };
  for (const op of ops) {
    switch (op.op) {
      case 'key':
        resolve(op.path, op.line, true);
        break;
      case 'deleteKey': {
        const parts = splitKeyPath(regPathToHivePath(op.path, opts.prefix, src, op.line));
        if (parts.length === 0) throw new UsageError(HiveCode.RegDeleteRoot, `${src}:${op.line}: the root key of a hive cannot be deleted`, { path: op.path, line: op.line });
        const n = hive.path(parts.join('\\'));
        if (n === undefined) {
          report.missingDeletes.push(op.path);
          break;
        }
        const before = [...hive.walk(n)].length;
        hive.deleteChild(n);
        lastPath = undefined;
        lastNode = undefined;
        report.keysDeleted += before;
        break;
      }
      case 'set':
        hive.setRawValue(resolve(op.path, op.line, true), op.name, op.type, op.data);
        report.valuesSet++;
        break;
      case 'deleteValue':
        if (hive.deleteValue(resolve(op.path, op.line, true), op.name)) report.valuesDeleted++;
        break;
    }
  }
  return report;
}

/** Parse and apply a .reg file (bytes in any of the supported encodings). */
export function mergeReg(hive: Hive, bytes: Uint8Array, opts: RegMergeOptions = {}): RegMergeReport {
  return applyReg(hive, parseReg(decodeRegText(bytes), opts), opts);
}
