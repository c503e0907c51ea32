import { Hive, compareNames, upcaseName, sameBytes, type NodeRef } from '@guestkit/hive';
import { Rng } from '../../../test/support/fuzz.js';

/**
 * An in-memory model of a registry tree and a seeded generator of edit operations, used to
 * check the writer: apply the same random operations to a Hive and to the model, then compare.
 */
export interface MValue {
  name: string;
  type: number;
  data: Uint8Array;
}

export class MKey {
  readonly children = new Map<string, MKey>();
  readonly values = new Map<string, MValue>();
  constructor(public name: string) {}
}

const ALPHABET = ['a', 'b', 'C', 'D', 'e', 'x', 'Y', 'z', '0', '1', '_', ' ', '-', 'ä', 'Ö', 'ß', 'é', 'К', 'л', 'ю', '☃', '™', '𐐐', 'ı', 'I'];
const SIZES = [0, 0, 1, 2, 3, 4, 4, 5, 8, 12, 31, 100, 1000, 4000, 16344, 16345, 40000];
const TYPES = [0, 1, 2, 3, 3, 4, 4, 5, 6, 7, 8, 9, 10, 11, 0x12345, 0xffffffff];

export function randomName(rng: Rng, maxLen = 12): string {
  if (rng.int(50) === 0) return 'L'.repeat(200 + rng.int(56)); // long names
  const n = 1 + rng.int(maxLen);
  let s = '';
  for (let i = 0; i < n; i++) s += rng.pick(ALPHABET);
  return s;
}

export function randomData(rng: Rng): Uint8Array {
  const n = rng.pick(SIZES);
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = rng.int(256);
  return b;
}

export type Op =
  | { kind: 'add'; path: string[]; name: string }
  | { kind: 'delete'; path: string[] }
  | { kind: 'set'; path: string[]; value: MValue }
  | { kind: 'unset'; path: string[]; name: string }
  | { kind: 'replace'; path: string[]; values: MValue[] }
  | { kind: 'reopen' };

/** All key paths of the model (root = []). */
export function modelPaths(root: MKey): string[][] {
  const out: string[][] = [];
  const stack: { k: MKey; p: string[] }[] = [{ k: root, p: [] }];
  while (stack.length) {
    const { k, p } = stack.pop()!;
    out.push(p);
    for (const c of k.children.values()) stack.push({ k: c, p: [...p, c.name] });
  }
  return out;
}

export function modelFind(root: MKey, path: string[]): MKey | undefined {
  let k: MKey | undefined = root;
  for (const part of path) {
    k = k.children.get(upcaseName(part));
    if (!k) return undefined;
  }
  return k;
}

/** Pick a random operation valid for the current model. */
export function randomOp(rng: Rng, root: MKey): Op {
  const paths = modelPaths(root);
  const path = rng.pick(paths);
  const k = modelFind(root, path)!;
  const r = rng.int(100);
  if (r < 2) return { kind: 'reopen' };
  if (r < 35) {
    let name = randomName(rng);
    // Sometimes reuse an existing name with another case (must fail as "exists" → skipped by caller).
    if (k.children.size > 0 && rng.int(10) === 0) name = [...k.children.values()][0]!.name.toUpperCase();
    return { kind: 'add', path, name };
  }
  if (r < 45 && path.length > 0) return { kind: 'delete', path };
  if (r < 85) {
    const existing = [...k.values.values()];
    const name = existing.length > 0 && rng.int(3) === 0 ? rng.pick(existing).name : rng.int(8) === 0 ? '' : randomName(rng, 8);
    return { kind: 'set', path, value: { name, type: rng.pick(TYPES), data: randomData(rng) } };
  }
  if (r < 93 && k.values.size > 0) return { kind: 'unset', path, name: rng.pick([...k.values.values()]).name };
  const values: MValue[] = [];
  const seen = new Set<string>();
  for (let i = rng.int(4); i > 0; i--) {
    const name = randomName(rng, 6);
    if (seen.has(upcaseName(name))) continue;
    seen.add(upcaseName(name));
    values.push({ name, type: rng.pick(TYPES), data: randomData(rng) });
  }
  return { kind: 'replace', path, values };
}

/** Apply an operation to the model; false when it is not applicable (name exists, ...). */
export function applyToModel(root: MKey, op: Op): boolean {
  if (op.kind === 'reopen') return true;
  const k = modelFind(root, op.path)!;
  switch (op.kind) {
    case 'add': {
      const key = upcaseName(op.name);
      if (k.children.has(key)) return false;
      k.children.set(key, new MKey(op.name));
      return true;
    }
    case 'delete': {
      const parent = modelFind(root, op.path.slice(0, -1))!;
      parent.children.delete(upcaseName(op.path[op.path.length - 1]!));
      return true;
    }
    case 'set':
      k.values.set(upcaseName(op.value.name), op.value);
      return true;
    case 'unset':
      return k.values.delete(upcaseName(op.name));
    case 'replace':
      k.values.clear();
      for (const v of op.values) k.values.set(upcaseName(v.name), v);
      return true;
  }
}

/** Apply the same operation to a hive (returns the possibly reopened hive). */
export function applyToHive(h: Hive, op: Op, now: () => bigint): Hive {
  if (op.kind === 'reopen') return Hive.open(h.serialize(), { writable: true, now });
  const node = h.path(op.path.join('\\'))!;
  switch (op.kind) {
    case 'add':
      h.addChild(node, op.name);
      break;
    case 'delete':
      h.deleteChild(node);
      break;
    case 'set':
      h.setRawValue(node, op.value.name, op.value.type, op.value.data);
      break;
    case 'unset':
      h.deleteValue(node, op.name);
      break;
    case 'replace':
      h.setValues(node, op.values);
      break;
  }
  return h;
}

/** Differences between a hive and the model (empty when they agree). */
export function compareWithModel(h: Hive, root: MKey, limit = 20): string[] {
  const diffs: string[] = [];
  const visit = (n: NodeRef, k: MKey, path: string) => {
    if (diffs.length >= limit) return;
    const kids = h.children(n);
    const names = kids.map((c) => h.nodeName(c));
    for (let i = 1; i < names.length; i++) if (compareNames(names[i - 1]!, names[i]!) >= 0) diffs.push(`${path}: subkeys out of order at ${names[i]}`);
    const expected = [...k.children.values()].map((c) => c.name).sort(compareNames);
    if (JSON.stringify(names) !== JSON.stringify(expected)) diffs.push(`${path}: subkeys ${JSON.stringify(names)} != ${JSON.stringify(expected)}`);
    const vals = h.values(n);
    if (vals.length !== k.values.size) diffs.push(`${path}: ${vals.length} values, model has ${k.values.size}`);
    for (const v of vals) {
      const name = h.valueName(v);
      const m = k.values.get(upcaseName(name));
      if (!m) diffs.push(`${path}: unexpected value ${JSON.stringify(name)}`);
      else if (m.name !== name || m.type !== h.valueType(v) || !sameBytes(m.data, h.valueBytes(v))) diffs.push(`${path}: value ${JSON.stringify(name)} differs`);
    }
    kids.forEach((c, i) => {
      const mk = k.children.get(upcaseName(names[i]!));
      if (mk) visit(c, mk, `${path}\\${names[i]}`);
    });
  };
  visit(h.root, root, '');
  return diffs;
}

/** Run `count` seeded random operations on a new hive and its model. */
export function runRandomEdits(seed: number, count: number, now: () => bigint, onCheckpoint?: (h: Hive, root: MKey, step: number) => void, every = 0): { hive: Hive; model: MKey; applied: number } {
  const rng = new Rng(seed);
  let h = Hive.create({ now, minorVersion: seed % 2 === 0 ? 5 : 3 });
  const root = new MKey('ROOT');
  let applied = 0;
  for (let i = 1; i <= count; i++) {
    const op = randomOp(rng, root);
    if (!applyToModel(root, op)) continue;
    h = applyToHive(h, op, now);
    applied++;
    if (every > 0 && i % every === 0 && onCheckpoint) onCheckpoint(h, root, i);
  }
  return { hive: h, model: root, applied };
}
