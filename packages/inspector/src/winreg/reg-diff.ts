/**
 * The registry diff of an edit: for every key an edit touched, what was added, changed or
 * deleted, printed as a .reg-style unified diff (`+[KEY]`, `-"name"=…`, `+"name"=…`). Values
 * are written the way regedit writes them (`"text"` for clean REG_SZ, `dword:`, `hex(N):`), so
 * the `+` lines of a new key read like a .reg file.
 */
import type { HiveReader, NodeRef } from '@guestkit/hive';

/** Most keys one diff lists (a [-KEY] of a huge subtree is summarised beyond it). */
export const MAX_DIFF_KEYS = 100_000;

export interface DiffValue {
  name: string;
  type: number;
  data: Uint8Array;
}

export type KeyChange =
  | { change: 'added'; key: string; values: DiffValue[] }
  | { change: 'deleted'; key: string; values: DiffValue[] }
  | { change: 'changed'; key: string; added: DiffValue[]; deleted: DiffValue[]; modified: { before: DiffValue; after: DiffValue }[] };

export interface HiveDiff {
  /** HKLM\SOFTWARE … */
  label: string;
  /** Export prefix used for key names. */
  prefix: string;
  /** Hive file ("/dev/sda3:/Windows/System32/config/SOFTWARE"). */
  file: string;
  changes: KeyChange[];
}

function valuesOf(h: HiveReader, n: NodeRef): DiffValue[] {
  return h.values(n).map((v) => ({ name: h.valueName(v), type: h.valueType(v), data: h.valueBytes(v) }));
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const byName = (a: { name: string }, b: { name: string }) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/** Component-wise order (depth-first pre-order, like an export). */
function comparePaths(a: string, b: string): number {
  const x = a.split('\\');
  const y = b.split('\\');
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const p = x[i]!.toLowerCase();
    const q = y[i]!.toLowerCase();
    if (p !== q) return p < q ? -1 : 1;
  }
  return x.length - y.length;
}

function keyName(prefix: string, h: HiveReader, n: NodeRef): string {
  return keyFromPath(prefix, h.nodePath(n));
}

/** "HKEY_LOCAL_MACHINE\\SOFTWARE\\A\\B" from an in-hive path ("A\\B"; "" is the root, printed with a trailing backslash as hivex does). */
function keyFromPath(prefix: string, p: string): string {
  const q = p.replace(/^\\/, '');
  return q === '' ? `${prefix}\\` : `${prefix}\\${q}`;
}

/** Every key of a subtree with its values (pre-order). */
function subtree(h: HiveReader, n: NodeRef, prefix: string, change: 'added' | 'deleted', out: KeyChange[], budget: { left: number }): void {
  for (const { node, path } of h.walk(n)) {
    if (budget.left-- <= 0) return;
    out.push({ change, key: keyFromPath(prefix, path), values: valuesOf(h, node).sort(byName) });
  }
}

/**
 * Compare the keys at `paths` (in-hive paths) between `before` and `after`. For a key in both,
 * values are compared and children that appeared or vanished are listed with their whole
 * subtrees; children present in both are compared only when they are in `paths` themselves.
 */
export function diffHive(before: HiveReader, after: HiveReader, paths: Iterable<string>, prefix: string): KeyChange[] {
  const out: KeyChange[] = [];
  const budget = { left: MAX_DIFF_KEYS };
  const seen = new Set<string>();
  const sorted = [...new Set([...paths].map((p) => p.toLowerCase()))].sort(comparePaths);
  for (const lp of sorted) {
    if (seen.has(lp)) continue;
    seen.add(lp);
    const a = before.path(lp);
    const b = after.path(lp);
    if (a === undefined && b === undefined) continue;
    if (a === undefined) {
      // New key: its parent lists it as an added child (if the parent is in paths), or list it here.
      if (!coveredByParent(lp, sorted)) subtree(after, b!, prefix, 'added', out, budget);
      continue;
    }
    if (b === undefined) {
      if (!coveredByParent(lp, sorted)) subtree(before, a, prefix, 'deleted', out, budget);
      continue;
    }
    const va = new Map(valuesOf(before, a).map((v) => [v.name.toLowerCase(), v]));
    const vb = new Map(valuesOf(after, b).map((v) => [v.name.toLowerCase(), v]));
    const added: DiffValue[] = [];
    const deleted: DiffValue[] = [];
    const modified: { before: DiffValue; after: DiffValue }[] = [];
    for (const [k, v] of vb) {
      const o = va.get(k);
      if (!o) added.push(v);
      else if (o.type !== v.type || !sameBytes(o.data, v.data) || o.name !== v.name) modified.push({ before: o, after: v });
    }
    for (const [k, v] of va) if (!vb.has(k)) deleted.push(v);
    if (added.length || deleted.length || modified.length) {
      out.push({ change: 'changed', key: keyName(prefix, after, b), added: added.sort(byName), deleted: deleted.sort(byName), modified: modified.sort((x, y) => byName(x.after, y.after)) });
    }
    // Children that appeared or vanished.
    const ca = new Map(before.children(a).map((c) => [before.nodeName(c).toLowerCase(), c]));
    const cb = new Map(after.children(b).map((c) => [after.nodeName(c).toLowerCase(), c]));
    const names = [...new Set([...ca.keys(), ...cb.keys()])].sort();
    for (const name of names) {
      const x = ca.get(name);
      const y = cb.get(name);
      if (x !== undefined && y !== undefined) continue;
      const childPath = (lp === '\\' ? '' : lp) + '\\' + name;
      seen.add(childPath);
      markBelow(childPath, sorted, seen);
      if (y !== undefined) subtree(after, y, prefix, 'added', out, budget);
      else subtree(before, x!, prefix, 'deleted', out, budget);
    }
  }
  // Pre-order, as an export lists keys (a key before its subkeys, siblings by name).
  return out.sort((x, y) => comparePaths(x.key, y.key));
}

/** True when `lp`'s parent key is also compared (it then reports `lp` as an added/deleted child). */
function coveredByParent(lp: string, all: readonly string[]): boolean {
  const i = lp.lastIndexOf('\\');
  const parent = i <= 0 ? '\\' : lp.slice(0, i);
  return parent !== lp && all.includes(parent);
}

function markBelow(lp: string, all: readonly string[], seen: Set<string>): void {
  for (const p of all) if (p.startsWith(lp + '\\')) seen.add(p);
}

// ------------------------------------------------------------------------------ text

/** A value in regedit's syntax: `"name"="text"`, `@=dword:00000001`, `"name"=hex(7):…`. */
export function formatRegValue(v: DiffValue): string {
  const name = v.name === '' ? '@' : `"${escapeReg(v.name)}"`;
  return `${name}=${formatRegData(v.type, v.data)}`;
}

function escapeReg(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
}

/** REG_SZ as a quoted string when it is clean UTF-16 ending in one NUL with no other NUL; dword: for 4-byte REG_DWORD; hex otherwise. */
export function formatRegData(type: number, data: Uint8Array): string {
  if (type === 1 && data.length >= 2 && data.length % 2 === 0 && data[data.length - 1] === 0 && data[data.length - 2] === 0) {
    const s = Buffer.from(data.buffer, data.byteOffset, data.length - 2).toString('utf16le');
    if (!s.includes('\0') && !/[\uD800-\uDFFF]/.test(s.replace(/[\uD800-\uDBFF][\uDC00-\uDFFF]/g, '')) && !/[\r\n]/.test(s)) return `"${escapeReg(s)}"`;
  }
  if (type === 4 && data.length === 4) {
    const n = (data[0]! | (data[1]! << 8) | (data[2]! << 16) | (data[3]! << 24)) >>> 0;
    return `dword:${n.toString(16).padStart(8, '0')}`;
  }
  const hex = Array.from(data, (b) => b.toString(16).padStart(2, '0')).join(',');
  return type === 3 ? `hex:${hex}` : `hex(${type.toString(16)}):${hex}`;
}

/** The diff as text: a `--- / +++` header per hive, then `+[KEY]`, `-[KEY]` or ` [KEY]` blocks. */
export function formatHiveDiffs(diffs: readonly HiveDiff[]): string {
  let out = '';
  for (const d of diffs) {
    if (d.changes.length === 0) continue;
    out += `--- ${d.prefix} (${d.file}) before\n+++ ${d.prefix} (${d.file}) after\n`;
    for (const c of d.changes) {
      if (c.change === 'added') {
        out += `+[${c.key}]\n`;
        for (const v of c.values) out += `+${formatRegValue(v)}\n`;
      } else if (c.change === 'deleted') {
        out += `-[${c.key}]\n`;
        for (const v of c.values) out += `-${formatRegValue(v)}\n`;
      } else {
        out += ` [${c.key}]\n`;
        for (const v of c.deleted) out += `-${formatRegValue(v)}\n`;
        for (const m of c.modified) out += `-${formatRegValue(m.before)}\n+${formatRegValue(m.after)}\n`;
        for (const v of c.added) out += `+${formatRegValue(v)}\n`;
      }
    }
  }
  return out;
}

/** JSON form (data as hex, strings decoded when clean). */
export function hiveDiffsToJson(diffs: readonly HiveDiff[]): unknown[] {
  const val = (v: DiffValue) => ({ name: v.name, type: v.type, data: Buffer.from(v.data).toString('hex'), text: formatRegData(v.type, v.data) });
  return diffs.map((d) => ({
    hive: d.label, prefix: d.prefix, file: d.file,
    changes: d.changes.map((c) => c.change === 'changed'
      ? { change: c.change, key: c.key, added: c.added.map(val), deleted: c.deleted.map(val), modified: c.modified.map((m) => ({ before: val(m.before), after: val(m.after) })) }
      : { change: c.change, key: c.key, values: c.values.map(val) }),
  }));
}
