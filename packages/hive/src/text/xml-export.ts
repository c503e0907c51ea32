import { GuestError, LoopError, hex } from '@guestkit/disk/binary';
import { HiveCode } from '../errors.js';
import type { HiveReader, NodeRef, ValueRef } from '../read/hive-reader.js';
import { ByteSink } from './byte-sink.js';

export interface XmlExportOptions {
  /** Skip keys and values that cannot be read instead of failing (hivexml -k, HIVEX_VISIT_SKIP_BAD). */
  skipBad?: boolean;
}

/**
 * The XML hivexml writes (hivex xml/hivexml.c over hivex_visit): one line after the XML
 * declaration, keys and values in on-disk order, names cut at the first NUL (C strings),
 * timestamps as ISO 8601 seconds, byte runs with hivex's struct lengths, strings decoded
 * up to the first NUL, DWORD/QWORD as signed numbers (-1 when too short, as hivex returns),
 * everything else base64. A key reached twice is a cycle (ELOOP), as in hivex_visit.
 */
export function exportXml(hive: HiveReader, out: (chunk: Uint8Array) => void, opts: XmlExportOptions = {}): void {
  const sink = new ByteSink(out);
  writeXml(hive, sink, opts);
  sink.flush();
}

export function exportXmlToBytes(hive: HiveReader, opts: XmlExportOptions = {}): Uint8Array {
  const sink = new ByteSink(undefined, 0, Math.min(1 << 30, hive.image.size * 2));
  writeXml(hive, sink, opts);
  return sink.result();
}

const TYPE_STRING: Record<number, string> = { 1: 'string', 2: 'expand', 6: 'link' };
const TYPE_BAD: Record<number, string> = { 1: 'bad-string', 2: 'bad-expand', 6: 'bad-link', 7: 'bad-string-list' };
const TYPE_OTHER: Record<number, string> = { 8: 'resource-list', 9: 'resource-description', 10: 'resource-requirements' };

function writeXml(hive: HiveReader, sink: ByteSink, opts: XmlExportOptions): void {
  const skip = Boolean(opts.skipBad);
  sink.latin1('<?xml version="1.0" encoding="UTF-8"?>\n<hive>');
  const last = hive.image.view.i64(0x0c, 'last written');
  const hm = last >= 0n ? iso8601(last) : undefined;
  if (hm) sink.latin1(`<mtime>${hm}</mtime>`);
  // Explicit stack: 'open' frames write a key and schedule its children, 'close' frames end it.
  type Frame = { node: NodeRef; close: boolean };
  const stack: Frame[] = [{ node: hive.root, close: false }];
  const visited = new Set<number>();
  while (stack.length > 0) {
    const f = stack.pop()!;
    if (f.close) {
      sink.latin1('</node>');
      continue;
    }
    if (visited.has(f.node)) {
      if (skip) continue;
      throw new LoopError(HiveCode.Cycle, `${hive.image.name}: contains a cycle: key at ${hex(f.node)} visited already`, { where: hive.image.name, offset: f.node });
    }
    visited.add(f.node);
    let kids: NodeRef[];
    try {
      const name = hive.nodeName(f.node);
      sink.latin1('<node name="');
      sink.utf8(escapeAttr(cString(name)));
      sink.latin1('"');
      if (f.node === hive.root) sink.latin1(' root="1"');
      sink.latin1('>');
      const ts = signed64(hive.nodeTimestamp(f.node));
      const t = ts >= 0n ? iso8601(ts) : undefined;
      if (t) sink.latin1(`<mtime>${t}</mtime>`);
      sink.latin1(`<byte_runs><byte_run file_offset="${f.node}" len="${hive.nodeStructLength(f.node)}"/></byte_runs>`);
      for (const v of hive.values(f.node)) writeValue(hive, sink, v);
      kids = hive.children(f.node);
    } catch (e) {
      if (!skip || !(e instanceof GuestError)) throw e;
      // hivexml -k: a key that cannot be read is dropped (its element may be half written).
      stack.push({ node: f.node, close: true });
      continue;
    }
    stack.push({ node: f.node, close: true });
    for (let i = kids.length - 1; i >= 0; i--) stack.push({ node: kids[i]!, close: false });
  }
  sink.latin1('</hive>\n');
}

function writeValue(hive: HiveReader, sink: ByteSink, v: ValueRef): void {
  const type = hive.valueType(v);
  const name = hive.valueName(v);
  const data = hive.valueData(v);
  const start = (t: string, base64: boolean) => {
    sink.latin1(`<value type="${t}"`);
    if (base64) sink.latin1(' encoding="base64"');
    const key = cString(name);
    if (key.length > 0) {
      sink.latin1(' key="');
      sink.utf8(escapeAttr(key));
      sink.latin1('"');
    } else sink.latin1(' default="1"');
  };
  const runs = () => {
    // hivex_value_struct_length counts the name as UTF-8; the data run is the declared length + 4.
    const nameUtf8 = Buffer.byteLength(name, 'utf8');
    sink.latin1(`<byte_runs><byte_run file_offset="${v}" len="${nameUtf8 + 24}"/>`);
    const loc = hive.valueLocation(v);
    if (!loc.inline && loc.length + 4 > 4) sink.latin1(`<byte_run file_offset="${loc.cell}" len="${loc.length + 4}"/>`);
    sink.latin1('</byte_runs>');
  };
  const b64 = base64Wrapped;
  switch (type) {
    case 1:
    case 2:
    case 6: {
      const s = hivexString(data);
      if (s === undefined) {
        start(TYPE_BAD[type]!, true);
        sink.latin1(` value="${b64(data)}">`);
      } else {
        start(TYPE_STRING[type]!, false);
        sink.latin1(' value="');
        sink.utf8(escapeAttr(cString(s)));
        sink.latin1('">');
      }
      runs();
      sink.latin1('</value>');
      return;
    }
    case 7: {
      const list = hivexStrings(data);
      if (list === undefined) {
        start(TYPE_BAD[7]!, true);
        sink.latin1(` value="${b64(data)}">`);
      } else {
        start('string-list', false);
        sink.latin1('>');
        for (const s of list) {
          sink.latin1('<string>');
          sink.utf8(escapeText(cString(s)));
          sink.latin1('</string>');
        }
      }
      runs();
      sink.latin1('</value>');
      return;
    }
    case 4:
    case 5: {
      let n = -1;
      if (data.length >= 4) {
        n = type === 4 ? data[0]! | (data[1]! << 8) | (data[2]! << 16) | (data[3]! << 24) : (data[0]! << 24) | (data[1]! << 16) | (data[2]! << 8) | data[3]!;
      }
      start('int32', false);
      sink.latin1(` value="${n}">`);
      runs();
      sink.latin1('</value>');
      return;
    }
    case 11: {
      let n = -1n;
      if (data.length >= 8) {
        let x = 0n;
        for (let i = 7; i >= 0; i--) x = (x << 8n) | BigInt(data[i]!);
        n = signed64(x);
      }
      start('int64', false);
      sink.latin1(` value="${n}">`);
      runs();
      sink.latin1('</value>');
      return;
    }
    case 3:
      start('binary', true);
      sink.latin1(` value="${b64(data)}">`);
      runs();
      sink.latin1('</value>');
      return;
    default: {
      // REG_NONE, resource types and unknown types: no value and no byte runs when empty.
      start(type === 0 ? 'none' : TYPE_OTHER[type] ?? 'unknown', true);
      if (data.length > 0) {
        sink.latin1(` value="${b64(data)}">`);
        runs();
        sink.latin1('</value>');
      } else sink.latin1('/>'); // libxml2 closes an empty element with "/>"

    }
  }
}

/** libxml2 xmlTextWriterWriteBase64: lines of 72 characters joined by CRLF (none at the end). */
function base64Wrapped(b: Uint8Array): string {
  const s = Buffer.from(b.buffer, b.byteOffset, b.length).toString('base64');
  if (s.length <= 72) return s;
  const parts: string[] = [];
  for (let i = 0; i < s.length; i += 72) parts.push(s.slice(i, i + 72));
  return parts.join('\r\n');
}

/** hivex_value_string: UTF-16LE up to the first aligned NUL; undefined when iconv would fail (lone surrogate). */
function hivexString(data: Uint8Array): string | undefined {
  let end = 0;
  while (end + 1 < data.length && (data[end] !== 0 || data[end + 1] !== 0)) end += 2;
  const s = Buffer.from(data.buffer, data.byteOffset, end).toString('utf16le');
  return wellFormed(s) ? s : undefined;
}

/** hivex_value_multiple_strings: every NUL-terminated string to the end of the data, the final empty one included. */
function hivexStrings(data: Uint8Array): string[] | undefined {
  const out: string[] = [];
  let p = 0;
  while (p < data.length) {
    let e = p;
    while (e + 1 < data.length && (data[e] !== 0 || data[e + 1] !== 0)) e += 2;
    const s = Buffer.from(data.buffer, data.byteOffset + p, e - p).toString('utf16le');
    if (!wellFormed(s)) return undefined;
    out.push(s);
    p = e + 2;
  }
  return out;
}

function wellFormed(s: string): boolean {
  return !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s);
}

/** hivex hands strings over as C strings: everything from the first NUL on is lost. */
function cString(s: string): string {
  const i = s.indexOf('\0');
  return i < 0 ? s : s.slice(0, i);
}

/** libxml2 attribute escaping (xmlBufAttrSerializeTxtContent). */
export function escapeAttr(s: string): string {
  if (!/[<>&"\r\n\t]/.test(s)) return s;
  return s.replace(/[<>&"\r\n\t]/g, (c) => ATTR[c]!);
}

/** libxml2 text escaping (xmlEncodeSpecialChars). */
export function escapeText(s: string): string {
  if (!/[<>&"\r]/.test(s)) return s;
  return s.replace(/[<>&"\r]/g, (c) => TEXT[c]!);
}

const ATTR: Record<string, string> = { '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', '\r': '&#13;', '\n': '&#10;', '\t': '&#9;' };
const TEXT: Record<string, string> = { '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', '\r': '&#13;' };

function signed64(x: bigint): bigint {
  return x >= 1n << 63n ? x - (1n << 64n) : x;
}

/** hivexml filetime_to_8601: whole seconds (C division truncates), gmtime, "%Y-%m-%dT%H:%M:%SZ"; nothing for 0. */
export function iso8601(ft: bigint): string | undefined {
  if (ft === 0n) return undefined;
  const secs = ft / 10_000_000n - 11_644_473_600n;
  const d = new Date(Number(secs) * 1000);
  if (Number.isNaN(d.getTime())) return undefined;
  const y = d.getUTCFullYear();
  const p2 = (n: number) => String(n).padStart(2, '0');
  return `${y}-${p2(d.getUTCMonth() + 1)}-${p2(d.getUTCDate())}T${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())}Z`;
}
