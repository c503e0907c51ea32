import { GuestError, LoopError, filetimeToIso, hex } from '@guestkit/disk/binary';
import { HiveCode } from '../errors.js';
import { regTypeName } from '../layout/value-types.js';
import type { HiveReader, NodeRef } from '../read/hive-reader.js';
import { decodeRegValue } from '../read/value-decode.js';
import { ByteSink } from './byte-sink.js';

/**
 * JSON dump of a hive ("guestkit-hive-json", version 1). Documented in packages/hive/README.md:
 *
 *   { "format": "guestkit-hive-json", "version": 1,
 *     "hive": { "file": "\\??\\C:\\...", "version": "1.5", "lastWritten": ISO, "sequence": [s1, s2], "dirty": false },
 *     "root": KEY }
 *   KEY   = { "name": str, "lastWritten": ISO (100 ns precision), "class"?: str, "values": [VALUE], "subkeys": [KEY] }
 *   VALUE = { "name": str ("" = default), "type": "REG_SZ" | … | "0x12345", then either
 *             "data": str | str[] | number | str (REG_QWORD, decimal)   when the bytes decode exactly, or
 *             "base64": str                                              for binary and anything else }
 *
 * Keys and values appear in on-disk order (Windows keeps subkeys sorted). Nothing is lost: a
 * value that does not decode exactly (a REG_SZ without its NUL, a 3-byte REG_DWORD) is given
 * as base64. Lone UTF-16 surrogates in names survive as JSON \u escapes.
 */
export interface JsonExportOptions {
  /** Start key path (default the root). */
  key?: string | NodeRef;
  /** Indent with two spaces (default: compact, one line). */
  pretty?: boolean;
  /** Skip unreadable values and subkeys (with unsafe) instead of failing. */
  skipBad?: boolean;
}

export function exportJson(hive: HiveReader, out: (chunk: Uint8Array) => void, opts: JsonExportOptions = {}): void {
  const sink = new ByteSink(out);
  writeJson(hive, sink, opts);
  sink.flush();
}

export function exportJsonToString(hive: HiveReader, opts: JsonExportOptions = {}): string {
  const sink = new ByteSink(undefined, 0, Math.min(1 << 30, hive.image.size * 3));
  writeJson(hive, sink, opts);
  return Buffer.from(sink.result()).toString('utf8');
}

function writeJson(hive: HiveReader, sink: ByteSink, opts: JsonExportOptions): void {
  const start = opts.key === undefined ? hive.root : typeof opts.key === 'number' ? opts.key : hive.requirePath(opts.key);
  const pretty = Boolean(opts.pretty);
  const nl = (depth: number) => (pretty ? '\n' + '  '.repeat(depth) : '');
  const sep = pretty ? ': ' : ':';
  const s = (x: unknown) => sink.utf8(JSON.stringify(x));
  const b = hive.image.base;
  sink.utf8(`{${nl(1)}"format"${sep}"guestkit-hive-json",${nl(1)}"version"${sep}1,${nl(1)}"hive"${sep}`);
  s({ file: b.fileName, version: `${b.majorVersion}.${b.minorVersion}`, lastWritten: filetimeToIso(b.lastWritten), sequence: [b.sequence1, b.sequence2], dirty: b.sequence1 !== b.sequence2 || !b.checksumOk });
  sink.utf8(`,${nl(1)}"root"${sep}`);
  // Explicit stack of open keys so deep hives cannot overflow the call stack.
  type Frame = { node: NodeRef; depth: number; kids?: NodeRef[]; next: number };
  const seen = new Set<number>();
  const openKey = (node: NodeRef, depth: number): Frame => {
    if (seen.has(node)) throw new LoopError(HiveCode.Cycle, `${hive.image.name}: key at ${hex(node)} reached twice`, { offset: node });
    seen.add(node);
    const d = depth + 1;
    sink.utf8(`{${nl(d)}"name"${sep}`);
    s(hive.nodeName(node));
    sink.utf8(`,${nl(d)}"lastWritten"${sep}`);
    s(filetimeToIso(hive.nodeTimestamp(node)));
    const cls = hive.nodeClassName(node);
    if (cls !== undefined) {
      sink.utf8(`,${nl(d)}"class"${sep}`);
      s(cls);
    }
    sink.utf8(`,${nl(d)}"values"${sep}[`);
    let first = true;
    for (const v of hive.values(node)) {
      let obj: Record<string, unknown>;
      try {
        const name = hive.valueName(v);
        const type = hive.valueType(v);
        const rv = decodeRegValue(name, type, hive.valueBytes(v));
        const typeName = regTypeName(type) ?? `0x${type.toString(16)}`;
        if (typeof rv.type === 'number' || rv.type === 'REG_BINARY' || rv.type === 'REG_NONE') {
          const data = rv.data as Uint8Array;
          obj = { name, type: typeName, base64: Buffer.from(data.buffer, data.byteOffset, data.length).toString('base64') };
        } else obj = { name, type: typeName, data: typeof rv.data === 'bigint' ? rv.data.toString() : rv.data };
      } catch (e) {
        if (!opts.skipBad || !(e instanceof GuestError)) throw e;
        continue;
      }
      sink.utf8(first ? nl(d + 1) : `,${nl(d + 1)}`);
      first = false;
      s(obj);
    }
    sink.utf8(`${first ? '' : nl(d)}],${nl(d)}"subkeys"${sep}[`);
    let kids: NodeRef[] = [];
    try {
      kids = hive.children(node);
    } catch (e) {
      if (!opts.skipBad || !(e instanceof GuestError)) throw e;
    }
    return { node, depth, kids, next: 0 };
  };
  const stack: Frame[] = [openKey(start, 1)];
  while (stack.length > 0) {
    const f = stack[stack.length - 1]!;
    const d = f.depth + 1;
    if (f.next < f.kids!.length) {
      sink.utf8(f.next === 0 ? nl(d + 1) : `,${nl(d + 1)}`);
      const child = f.kids![f.next++]!;
      if (stack.length > hive.limits.maxDepth) {
        throw new LoopError(HiveCode.Limit, `${hive.image.name}: keys nested deeper than ${hive.limits.maxDepth}`, { offset: child });
      }
      stack.push(openKey(child, d + 1));
      continue;
    }
    sink.utf8(`${f.kids!.length ? nl(d) : ''}]${nl(f.depth)}}`);
    stack.pop();
  }
  sink.utf8(`${nl(0)}}\n`);
}
