/**
 * Build RegKey trees from `hivexregedit --export` output, so inspector code can be checked
 * against what hivex (an independent reader) sees in a hive. Handles the dialect hivexregedit
 * writes: `[\path]` key lines (every key listed, parents first), `"name"=` / `@=` values as
 * `hex(N):..`, `hex:..` (REG_BINARY), `dword:XXXXXXXX`, and `"string"`.
 */
import type { RegKey, RegValue } from '../../src/registry/reg-tree.js';

interface Node {
  name: string;
  children: Node[];
  values: RegValue[];
}

function unescapeName(s: string): string {
  return s.replace(/\\(.)/g, '$1');
}

function parseData(spec: string): { type: number; data: Uint8Array } {
  let m = /^hex(?:\(([0-9a-f]+)\))?:(.*)$/i.exec(spec);
  if (m) {
    const type = m[1] === undefined ? 3 : parseInt(m[1], 16);
    const body = m[2]!.trim();
    const bytes = body === '' ? [] : body.split(',').map((h) => parseInt(h, 16));
    return { type, data: Uint8Array.from(bytes) };
  }
  m = /^dword:([0-9a-f]{8})$/i.exec(spec);
  if (m) {
    const n = parseInt(m[1]!, 16);
    return { type: 4, data: Uint8Array.from([n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24]) };
  }
  m = /^"(.*)"$/.exec(spec);
  if (m) {
    const s = unescapeName(m[1]!) + '\0';
    return { type: 1, data: new Uint8Array(Buffer.from(s, 'utf16le')) };
  }
  throw new Error(`unparsed .reg value data: ${spec.slice(0, 80)}`);
}

function toKey(n: Node): RegKey {
  return { name: n.name, subkeys: () => n.children.map(toKey), values: () => n.values };
}

/** Parse an export of the whole hive (`hivexregedit --export HIVE '\'`) into its root key. */
export function regExportTree(text: string): RegKey {
  const root: Node = { name: '', children: [], values: [] };
  const byPath = new Map<string, Node>([['', root]]);
  let cur: Node | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trimEnd();
    if (line === '' || line.startsWith(';') || line.startsWith('Windows Registry Editor')) continue;
    const k = /^\[(.*)\]$/.exec(line);
    if (k) {
      const path = k[1]!.replace(/^\\/, '');
      if (path === '') {
        cur = root;
        continue;
      }
      const parts = path.split('\\');
      const parentPath = parts.slice(0, -1).join('\\').toLowerCase();
      const parent = byPath.get(parentPath);
      if (!parent) throw new Error(`key before its parent: ${path}`);
      const node: Node = { name: parts[parts.length - 1]!, children: [], values: [] };
      parent.children.push(node);
      byPath.set(path.toLowerCase(), node);
      cur = node;
      continue;
    }
    const v = /^(@|"((?:[^"\\]|\\.)*)")=(.*)$/.exec(line);
    if (!v || !cur) throw new Error(`unparsed .reg line: ${line.slice(0, 80)}`);
    const name = v[1] === '@' ? '' : unescapeName(v[2]!);
    cur.values.push({ name, ...parseData(v[3]!) });
  }
  return toKey(root);
}
