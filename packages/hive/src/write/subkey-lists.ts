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

interface Leaf {
  cell: number;
  sig: number;
  entries: number[];
}

function w(ctx: ListContext): ByteWriter {
  return new ByteWriter(ctx.img.buf);
}

function readLeaf(ctx: ListContext, cell: number): Leaf {
  const v = ctx.img.view;
  const d = cell + CELL_HEADER;
  const sig = v.u16(d, 'list signature');
  const cnt = v.u16(d + LIST.count, 'list count');
  const step = sig === SIG.li ? 4 : 8;
  const entries: number[] = [];
  for (let i = 0; i < cnt; i++) entries.push(v.u32(d + LIST.SIZE + i * step, 'list entry') + HBIN_BASE);
  return { cell, sig, entries };
}

/** The leaves under a key's subkey list, and the ri cell if there is one. */
function readStructure(ctx: ListContext, list: number): { ri?: number; leaves: Leaf[] } {
  const img = ctx.img;
  const sig = img.sig(list);
  if (sig === SIG.ri) {
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
  return { leaves: [readLeaf(ctx, list)] };
}

function leafCapacity(ctx: ListContext, leaf: Leaf): number {
  const step = leaf.sig === SIG.li ? 4 : 8;
  return Math.floor((ctx.img.dataLen(leaf.cell) - LIST.SIZE) / step);
}

/** Write entries into a leaf cell that has room (in place). */
function writeLeafEntries(ctx: ListContext, cell: number, sig: number, entries: number[]): void {
  const wr = w(ctx);
  const d = cell + CELL_HEADER;
  wr.u16(d, sig, 'list signature');
  wr.u16(d + LIST.count, entries.length, 'list count');
  const step = sig === SIG.li ? 4 : 8;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    const at = d + LIST.SIZE + i * step;
    wr.u32(at, e - HBIN_BASE, 'list entry');
    if (sig === SIG.lh) wr.u32(at + 4, lhHash(ctx.nameOf(e)), 'lh hash');
    else if (sig === SIG.lf) wr.u32(at + 4, lfHint(ctx.nameOf(e)), 'lf hint');
  }
}

/** Allocate a new leaf holding `entries`, with some headroom so later inserts are in place. */
function newLeaf(ctx: ListContext, sig: number, entries: number[]): number {
  const step = sig === SIG.li ? 4 : 8;
  const cap = Math.min(MAX_LEAF_ENTRIES, Math.max(entries.length + 3, Math.ceil(entries.length * 1.25)));
  const cell = ctx.alloc.alloc(LIST.SIZE + cap * step, sig);
  writeLeafEntries(ctx, cell, sig, entries);
  return cell;
}

function newRi(ctx: ListContext, leaves: number[]): number {
  const cell = ctx.alloc.alloc(LIST.SIZE + (leaves.length + 2) * 4, SIG.ri);
  writeRi(ctx, cell, leaves);
  return cell;
}

function writeRi(ctx: ListContext, cell: number, leaves: number[]): void {
  const wr = w(ctx);
  const d = cell + CELL_HEADER;
  wr.u16(d + LIST.count, leaves.length, 'ri count');
  for (let i = 0; i < leaves.length; i++) wr.u32(d + LIST.SIZE + i * 4, leaves[i]! - HBIN_BASE, 'ri entry');
}

/** Position where `name` goes in sorted `entries` (binary search on Windows name order). */
function insertPos(ctx: ListContext, entries: number[], name: string): number {
  let lo = 0;
  let hi = entries.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareNames(ctx.nameOf(entries[mid]!), name) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Insert child `nk` (named `name`) into the subkey list of `parent`, keeping Windows order and
 * correct lh hashes / lf hints. Returns the new list cell for the nk's subkeyList field.
 */
export function insertSubkey(ctx: ListContext, list: number | undefined, nk: number, name: string): number {
  if (list === undefined) return newLeaf(ctx, ctx.leafSig, [nk]);
  const st = readStructure(ctx, list);
  // Choose the leaf: the first whose last entry sorts at or after the name, else the last.
  let li = st.leaves.length - 1;
  for (let i = 0; i < st.leaves.length; i++) {
    const e = st.leaves[i]!.entries;
    if (e.length > 0 && compareNames(ctx.nameOf(e[e.length - 1]!), name) >= 0) {
      li = i;
      break;
    }
  }
  const leaf = st.leaves[li]!;
  const entries = leaf.entries.slice();
  entries.splice(insertPos(ctx, entries, name), 0, nk);
  if (entries.length <= MAX_LEAF_ENTRIES) {
    if (entries.length <= leafCapacity(ctx, leaf)) {
      writeLeafEntries(ctx, leaf.cell, leaf.sig, entries);
      return list;
    }
    const nl = newLeaf(ctx, leaf.sig, entries);
    ctx.alloc.free(leaf.cell);
    if (st.ri === undefined) return nl;
    w(ctx).u32(st.ri + CELL_HEADER + LIST.SIZE + li * 4, nl - HBIN_BASE, 'ri entry');
    return st.ri;
  }
  // Split the full leaf in two halves.
  const half = Math.ceil(entries.length / 2);
  const a = newLeaf(ctx, leaf.sig, entries.slice(0, half));
  const b = newLeaf(ctx, leaf.sig, entries.slice(half));
  ctx.alloc.free(leaf.cell);
  const leaves = st.leaves.map((l) => l.cell);
  leaves.splice(li, 1, a, b);
  if (st.ri !== undefined) {
    const cap = Math.floor((ctx.img.dataLen(st.ri) - LIST.SIZE) / 4);
    if (leaves.length <= cap) {
      writeRi(ctx, st.ri, leaves);
      return st.ri;
    }
    ctx.alloc.free(st.ri);
  }
  return newRi(ctx, leaves);
}

/**
 * Remove child `nk` from the subkey list; returns the list cell to store in the parent
 * (undefined when the parent has no subkeys left). Cells that become empty are freed.
 */
export function removeSubkey(ctx: ListContext, list: number, nk: number): number | undefined {
  const st = readStructure(ctx, list);
  for (let li = 0; li < st.leaves.length; li++) {
    const leaf = st.leaves[li]!;
    const at = leaf.entries.indexOf(nk);
    if (at < 0) continue;
    const entries = leaf.entries.slice();
    entries.splice(at, 1);
    if (entries.length > 0) {
      writeLeafEntries(ctx, leaf.cell, leaf.sig, entries);
      return list;
    }
    ctx.alloc.free(leaf.cell);
    if (st.ri === undefined) return undefined;
    const leaves = st.leaves.map((l) => l.cell);
    leaves.splice(li, 1);
    if (leaves.length === 0) {
      ctx.alloc.free(st.ri);
      return undefined;
    }
    writeRi(ctx, st.ri, leaves);
    return st.ri;
  }
  throw new FormatError(HiveCode.BadSubkeyList, `${ctx.img.name}: key at ${hex(nk)} is not in its parent's subkey list at ${hex(list)}`, { where: ctx.img.name, offset: list, child: nk });
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
