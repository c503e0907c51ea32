import { ByteWriter, FormatError, hex } from '@guestkit/disk/binary';
import { HiveCode } from '../errors.js';
import { HBIN_BASE, CELL_NIL } from '../layout/base-block.js';
import { LIST, SIG, NK } from '../layout/cells.js';
import { CELL_HEADER } from '../layout/hbin.js';
import type { HiveImage } from '../read/hive-image.js';
import { compareNames, lfHint, lhHash } from '../read/names.js';
import type { Allocator } from './allocator.js';

/**
 * Leaves are split when they would hold more than this many entries, and an index root (ri)
 * then points at the leaves. Windows keeps a leaf within one 4 KiB bin (≈ 500 8-byte entries);
 * hivex never splits and grows one leaf up to 65535 entries.
 */
export const MAX_LEAF_ENTRIES = 500;

/** Context the list editor needs: the image, the allocator and a way to read a child's name. */
export interface ListContext {
  img: HiveImage;
  alloc: Allocator;
  nameOf(nk: number): string;
  /** "lh" for hives ≥ 1.5, "lf" for 1.3/1.4 (Suhanov "Hash leaf"). */
  leafSig: number;
}

/** One leaf element: the child's file offset and the lh hash / lf hint stored with it. */
interface Element {
  nk: number;
  hash: number;
}

interface Leaf {
  cell: number;
  sig: number;
  elements: Element[];
}

const w = (ctx: ListContext): ByteWriter => ctx.img.writer;
const step = (sig: number) => (sig === SIG.li ? 4 : 8);

function readLeaf(ctx: ListContext, cell: number): Leaf {
  const v = ctx.img.view;
  const d = cell + CELL_HEADER;
  const sig = v.u16(d, 'list signature');
  const cnt = v.u16(d + LIST.count, 'list count');
  const s = step(sig);
  const elements: Element[] = [];
  for (let i = 0; i < cnt; i++) {
    const at = d + LIST.SIZE + i * s;
    elements.push({ nk: v.u32(at, 'list entry') + HBIN_BASE, hash: s === 8 ? v.u32(at + 4, 'list hash') : 0 });
  }
  return { cell, sig, elements };
}

/** The leaves under a key's subkey list, and the ri cell if there is one. */
function readStructure(ctx: ListContext, list: number): { ri?: number; leaves: Leaf[] } {
  const img = ctx.img;
  if (img.sig(list) !== SIG.ri) return { leaves: [readLeaf(ctx, list)] };
  const v = img.view;
  const d = list + CELL_HEADER;
  const cnt = v.u16(d + LIST.count, 'ri count');
  const leaves: Leaf[] = [];
  for (let i = 0; i < cnt; i++) {
    const leaf = v.u32(d + LIST.SIZE + i * 4, 'ri entry') + HBIN_BASE;
    const ls = img.sig(leaf);
    if (ls !== SIG.lf && ls !== SIG.lh && ls !== SIG.li) {
      throw new FormatError(HiveCode.BadSubkeyList, `${img.name}: index root at ${hex(list)} points to a cell that is not a leaf (nested index roots are not edited)`, { where: img.name, offset: list });
    }
    leaves.push(readLeaf(ctx, leaf));
  }
  return { ri: list, leaves };
}

function capacity(ctx: ListContext, cell: number, sig: number): number {
  return Math.floor((ctx.img.dataLen(cell) - LIST.SIZE) / step(sig));
}

/** Write a leaf's elements into a cell that has room. */
function writeLeaf(ctx: ListContext, cell: number, sig: number, elements: readonly Element[]): void {
  const wr = w(ctx);
  const d = cell + CELL_HEADER;
  const s = step(sig);
  wr.u16(d, sig, 'list signature');
  wr.u16(d + LIST.count, elements.length, 'list count');
  for (let i = 0; i < elements.length; i++) {
    const at = d + LIST.SIZE + i * s;
    wr.u32(at, elements[i]!.nk - HBIN_BASE, 'list entry');
    if (s === 8) wr.u32(at + 4, elements[i]!.hash >>> 0, 'list hash');
  }
}

/** Allocate a new leaf holding `elements`, with headroom so that later inserts are in place. */
function newLeaf(ctx: ListContext, sig: number, elements: readonly Element[]): number {
  const cap = Math.min(MAX_LEAF_ENTRIES, Math.max(elements.length + 3, Math.ceil(elements.length * 1.25)));
  const cell = ctx.alloc.alloc(LIST.SIZE + cap * step(sig), sig);
  writeLeaf(ctx, cell, sig, elements);
  return cell;
}

function writeRi(ctx: ListContext, cell: number, leaves: readonly number[]): void {
  const wr = w(ctx);
  const d = cell + CELL_HEADER;
  wr.u16(d + LIST.count, leaves.length, 'ri count');
  for (let i = 0; i < leaves.length; i++) wr.u32(d + LIST.SIZE + i * 4, leaves[i]! - HBIN_BASE, 'ri entry');
}

function newRi(ctx: ListContext, leaves: readonly number[]): number {
  const cell = ctx.alloc.alloc(LIST.SIZE + (leaves.length + 4) * 4, SIG.ri);
  writeRi(ctx, cell, leaves);
  return cell;
}

/** The hash stored with a new element in a leaf of this type. */
function hashFor(sig: number, name: string): number {
  return sig === SIG.lh ? lhHash(name) : sig === SIG.lf ? lfHint(name) : 0;
}

/** Count and last element of a leaf, without reading the rest. */
function leafTail(ctx: ListContext, cell: number): { count: number; last?: number } {
  const v = ctx.img.view;
  const d = cell + CELL_HEADER;
  const count = v.u16(d + LIST.count, 'list count');
  if (count === 0) return { count };
  const s = step(v.u16(d, 'list signature'));
  return { count, last: v.u32(d + LIST.SIZE + (count - 1) * s, 'list entry') + HBIN_BASE };
}

/**
 * Insert child `nk` (named `name`) into a key's subkey list, keeping Windows order; the new
 * element gets its lh hash / lf hint, the others keep theirs. In place (one memmove) when the
 * leaf cell has room; a full leaf (MAX_LEAF_ENTRIES) is split in two under an index root.
 * Returns the list cell to store in the parent's nk.
 */
export function insertSubkey(ctx: ListContext, list: number | undefined, nk: number, name: string): number {
  if (list === undefined) return newLeaf(ctx, ctx.leafSig, [{ nk, hash: hashFor(ctx.leafSig, name) }]);
  const img = ctx.img;
  const v = img.view;
  let ri: number | undefined;
  let leaves: number[];
  if (img.sig(list) === SIG.ri) {
    ri = list;
    const n = v.u16(list + CELL_HEADER + LIST.count, 'ri count');
    leaves = [];
    for (let i = 0; i < n; i++) {
      const leaf = v.u32(list + CELL_HEADER + LIST.SIZE + i * 4, 'ri entry') + HBIN_BASE;
      const ls = img.sig(leaf);
      if (ls !== SIG.lf && ls !== SIG.lh && ls !== SIG.li) {
        throw new FormatError(HiveCode.BadSubkeyList, `${img.name}: index root at ${hex(list)} points to a cell that is not a leaf (nested index roots are not edited)`, { where: img.name, offset: list });
      }
      leaves.push(leaf);
    }
  } else leaves = [list];
  // The first leaf whose last entry sorts at or after the name, else the last leaf.
  let li = leaves.length - 1;
  for (let i = 0; i < leaves.length - 1; i++) {
    const t = leafTail(ctx, leaves[i]!);
    if (t.last !== undefined && compareNames(ctx.nameOf(t.last), name) >= 0) {
      li = i;
      break;
    }
  }
  const cell = leaves[li]!;
  const sig = v.u16(cell + CELL_HEADER, 'list signature');
  const s = step(sig);
  const d = cell + CELL_HEADER + LIST.SIZE;
  const n = v.u16(cell + CELL_HEADER + LIST.count, 'list count');
  // Binary search on Windows name order, reading entries straight from the cell.
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareNames(ctx.nameOf(v.u32(d + mid * s, 'list entry') + HBIN_BASE), name) < 0) lo = mid + 1;
    else hi = mid;
  }
  const pos = lo;
  const element = { nk, hash: hashFor(sig, name) };
  const count = n + 1;
  if (count <= MAX_LEAF_ENTRIES && count <= capacity(ctx, cell, sig)) {
    // In place: shift the tail one element to the right, write the new element.
    img.buf.copyWithin(d + (pos + 1) * s, d + pos * s, d + (count - 1) * s);
    const wr = w(ctx);
    wr.u32(d + pos * s, nk - HBIN_BASE, 'list entry');
    if (s === 8) wr.u32(d + pos * s + 4, element.hash >>> 0, 'list hash');
    wr.u16(cell + CELL_HEADER + LIST.count, count, 'list count');
    return list;
  }
  const leaf = readLeaf(ctx, cell);
  const elements = leaf.elements.slice();
  elements.splice(pos, 0, element);
  if (count <= MAX_LEAF_ENTRIES) {
    const nl = newLeaf(ctx, leaf.sig, elements);
    ctx.alloc.free(leaf.cell);
    if (ri === undefined) return nl;
    w(ctx).u32(ri + CELL_HEADER + LIST.SIZE + li * 4, nl - HBIN_BASE, 'ri entry');
    return ri;
  }
  const half = Math.ceil(elements.length / 2);
  const a = newLeaf(ctx, leaf.sig, elements.slice(0, half));
  const b = newLeaf(ctx, leaf.sig, elements.slice(half));
  ctx.alloc.free(leaf.cell);
  leaves.splice(li, 1, a, b);
  if (ri !== undefined) {
    if (leaves.length <= Math.floor((img.dataLen(ri) - LIST.SIZE) / 4)) {
      writeRi(ctx, ri, leaves);
      return ri;
    }
    ctx.alloc.free(ri);
  }
  return newRi(ctx, leaves);
}

/**
 * Remove child `nk` from a subkey list (in place); returns the list cell for the parent, or
 * undefined when no subkeys are left. Cells that become empty are freed.
 */
export function removeSubkey(ctx: ListContext, list: number, nk: number): number | undefined {
  const img = ctx.img;
  const v = img.view;
  const isRi = img.sig(list) === SIG.ri;
  const leaves: number[] = [];
  if (isRi) {
    const n = v.u16(list + CELL_HEADER + LIST.count, 'ri count');
    for (let i = 0; i < n; i++) leaves.push(v.u32(list + CELL_HEADER + LIST.SIZE + i * 4, 'ri entry') + HBIN_BASE);
  } else leaves.push(list);
  const target = nk - HBIN_BASE;
  for (let li = 0; li < leaves.length; li++) {
    const cell = leaves[li]!;
    const s = step(v.u16(cell + CELL_HEADER, 'list signature'));
    const d = cell + CELL_HEADER + LIST.SIZE;
    const n = v.u16(cell + CELL_HEADER + LIST.count, 'list count');
    let at = -1;
    for (let i = 0; i < n; i++) {
      if (v.u32(d + i * s, 'list entry') === target) {
        at = i;
        break;
      }
    }
    if (at < 0) continue;
    if (n > 1) {
      // In place: shift the tail one element to the left.
      img.buf.copyWithin(d + at * s, d + (at + 1) * s, d + n * s);
      w(ctx).u16(cell + CELL_HEADER + LIST.count, n - 1, 'list count');
      return list;
    }
    ctx.alloc.free(cell);
    if (!isRi) return undefined;
    leaves.splice(li, 1);
    if (leaves.length === 0) {
      ctx.alloc.free(list);
      return undefined;
    }
    writeRi(ctx, list, leaves);
    return list;
  }
  throw new FormatError(HiveCode.BadSubkeyList, `${img.name}: key at ${hex(nk)} is not in its parent's subkey list at ${hex(list)}`, { where: img.name, offset: list, child: nk });
}

/** All list cells (ri and leaves) of a subkey list, for freeing a deleted key. */
export function listCells(ctx: ListContext, list: number): number[] {
  const st = readStructure(ctx, list);
  const out = st.leaves.map((l) => l.cell);
  if (st.ri !== undefined) out.push(st.ri);
  return out;
}

/** Store `list` (or nil) into the nk subkeyList field. */
export function setSubkeyListField(ctx: ListContext, nk: number, list: number | undefined): void {
  w(ctx).u32(nk + CELL_HEADER + NK.subkeyList, list === undefined ? CELL_NIL : list - HBIN_BASE, 'nk subkey list');
}
