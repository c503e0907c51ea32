import { ByteWriter, ExistsError, FormatError, LimitError, LoopError, hex } from '@guestkit/disk/binary';
import { NtfsCode, NtfsLimits } from '../errors.js';
import { INDEX_BLOCK, INDEX_ENTRY, INDEX_HEADER, INDEX_ROOT, IndexEntryFlags, IndexHeaderFlags, COLLATION_FILE_NAME } from '../layout/index.js';
import { AttrType } from '../layout/mft-record.js';
import { compareKey, DirectoryIndex } from '../index/directory.js';
import { decodeFileName, parseIndexEntries } from '../index/index-node.js';
import type { UpCase } from '../index/upcase.js';

const align8 = (n: number) => (n + 7) & ~7;

/**
 * An index entry being edited. `key` is the $FILE_NAME value in $I30, the raw key in a view index;
 * END entries have no key. `ref` is the entry header's first 8 bytes: the file reference in $I30,
 * data offset/length in a view index (whose entries here carry no data).
 */
export interface EditEntry {
  ref: bigint;
  key: Uint8Array;
  end: boolean;
  /** Sub-node VCN, or -1. */
  sub: number;
}

/** A node being edited: the root (vcn -1) or an index block. */
export interface EditNode {
  vcn: number;
  entries: EditEntry[];
  dirty: boolean;
}

export function entrySize(e: EditEntry): number {
  return INDEX_ENTRY.HEADER + (e.end ? 0 : align8(e.key.length)) + (e.sub >= 0 ? 8 : 0);
}

function encodeEntries(w: ByteWriter, off: number, entries: EditEntry[]): number {
  for (const e of entries) {
    const len = entrySize(e);
    w.u64(off + INDEX_ENTRY.fileRef, e.end ? 0n : e.ref).u16(off + INDEX_ENTRY.length, len).u16(off + INDEX_ENTRY.keyLength, e.end ? 0 : e.key.length)
      .u16(off + INDEX_ENTRY.flags, (e.end ? IndexEntryFlags.End : 0) | (e.sub >= 0 ? IndexEntryFlags.Node : 0)).u16(off + 0x0e, 0);
    if (!e.end) w.bytesAt(off + INDEX_ENTRY.HEADER, e.key);
    if (e.sub >= 0) w.u64(off + len - 8, e.sub);
    off += len;
  }
  return off;
}

/** Bytes the entries of a node take. */
export function entriesSize(entries: EditEntry[]): number {
  let n = 0;
  for (const e of entries) n += entrySize(e);
  return n;
}

/** Layout constants of an index block of `blockSize` bytes. */
export function blockLayout(blockSize: number): { usaCount: number; entriesOffset: number; capacity: number } {
  const usaCount = blockSize / 512 + 1;
  const first = align8(INDEX_BLOCK.usa + usaCount * 2);
  return { usaCount, entriesOffset: first - INDEX_BLOCK.header, capacity: blockSize - first };
}

/** Encode an index block (unprotected). `usn` continues the old block's sequence number. */
export function encodeBlock(node: EditNode, blockSize: number, usn: number): Uint8Array {
  const { usaCount, entriesOffset } = blockLayout(blockSize);
  const w = ByteWriter.alloc(blockSize);
  w.ascii(0, 'INDX').u16(4, INDEX_BLOCK.usa).u16(6, usaCount).u64(INDEX_BLOCK.lsn, 0n).u64(INDEX_BLOCK.vcn, node.vcn).u16(INDEX_BLOCK.usa, usn);
  const h = INDEX_BLOCK.header;
  const end = encodeEntries(w, h + entriesOffset, node.entries);
  w.u32(h + INDEX_HEADER.entriesOffset, entriesOffset).u32(h + INDEX_HEADER.indexLength, end - h).u32(h + INDEX_HEADER.allocatedSize, blockSize - h)
    .u8(h + INDEX_HEADER.flags, node.entries.some((e) => e.sub >= 0) ? IndexHeaderFlags.LargeIndex : 0);
  return w.bytes;
}

/** What an $INDEX_ROOT says about its index besides the entries. */
export interface RootFormat {
  /** Indexed attribute type: $FILE_NAME (0x30) for $I30, 0 for a view index. */
  attrType: number;
  collationRule: number;
}

/** $I30's root format. */
export const I30_ROOT: RootFormat = { attrType: AttrType.FileName, collationRule: COLLATION_FILE_NAME };

/** Encode an $INDEX_ROOT value ($I30 unless another format is given). */
export function encodeRoot(node: EditNode, blockSize: number, clusterSize: number, format: RootFormat = I30_ROOT): Uint8Array {
  const size = INDEX_ROOT.SIZE + entriesSize(node.entries);
  const w = ByteWriter.alloc(size);
  const perBlock = blockSize >= clusterSize ? blockSize / clusterSize : blockSize / 512;
  w.u32(INDEX_ROOT.attrType, format.attrType).u32(INDEX_ROOT.collationRule, format.collationRule).u32(INDEX_ROOT.indexBlockSize, blockSize)
    .u8(INDEX_ROOT.clustersPerIndexBlock, perBlock);
  const h = INDEX_ROOT.header;
  encodeEntries(w, INDEX_ROOT.SIZE, node.entries);
  w.u32(h + INDEX_HEADER.entriesOffset, INDEX_HEADER.SIZE).u32(h + INDEX_HEADER.indexLength, INDEX_HEADER.SIZE + entriesSize(node.entries))
    .u32(h + INDEX_HEADER.allocatedSize, INDEX_HEADER.SIZE + entriesSize(node.entries))
    .u8(h + INDEX_HEADER.flags, node.entries.some((e) => e.sub >= 0) ? IndexHeaderFlags.LargeIndex : 0);
  return w.bytes;
}

/** Decode the entries of a parsed node into edit entries (copies). */
export function toEdit(buf: Uint8Array, headerOffset: number, where: string, vcn: number): EditNode {
  const parsed = parseIndexEntries(buf, headerOffset, where, 0);
  return {
    vcn,
    dirty: false,
    entries: parsed.entries.map((e) => ({
      ref: (BigInt(e.sequence) << 48n) | BigInt(e.record),
      key: e.key.slice(),
      end: (e.flags & IndexEntryFlags.End) !== 0,
      sub: e.subVcn,
    })),
  };
}

/** Where the index editor gets and puts nodes, and how it allocates blocks. */
export interface IndexStore {
  readonly blockSize: number;
  /** Free bytes the root may grow by inside its record. */
  rootRoom(root: EditNode): number;
  load(vcn: number): EditNode;
  /** A new, empty block (marked in $BITMAP, backed by allocation). */
  allocBlock(): EditNode;
  freeBlock(vcn: number): void;
}

/**
 * How an index orders its keys. `seek(k)` gives a comparator of entry keys against the sought
 * key `k` (negative: `k` sorts before the entry's key); `keyOf` is the sought key an entry key
 * stands for (to insert it); `show` names a key in messages.
 */
export interface IndexCollation<K> {
  seek(k: K): (entryKey: Uint8Array) => number;
  keyOf(entryKey: Uint8Array): K;
  show(k: K): string;
}

/** $I30: $FILE_NAME keys sought by name, in $UpCase order (upper-cased code units, then length). */
export function fileNameCollation(upcase: UpCase): IndexCollation<string> {
  return {
    seek(name: string) {
      const t = upcase.table;
      const want = new Uint16Array(name.length);
      for (let i = 0; i < name.length; i++) want[i] = t[name.charCodeAt(i)]!;
      return (key) => compareKey(want, key, t);
    },
    keyOf: (key) => decodeFileName(key, 'index entry').name,
    show: (name) => `"${name}"`,
  };
}

/** COLLATION_NTOFS_ULONGS: raw keys compared as sequences of little-endian u32, then by length. */
export const ulongsCollation: IndexCollation<Uint8Array> = {
  seek(k: Uint8Array) {
    return (key) => {
      const n = Math.min(k.length, key.length) >> 2;
      for (let i = 0; i < n; i++) {
        const o = i * 4;
        const x = (k[o]! | (k[o + 1]! << 8) | (k[o + 2]! << 16)) + k[o + 3]! * 16777216;
        const y = (key[o]! | (key[o + 1]! << 8) | (key[o + 2]! << 16)) + key[o + 3]! * 16777216;
        if (x !== y) return x < y ? -1 : 1;
      }
      return k.length === key.length ? 0 : k.length < key.length ? -1 : 1;
    };
  },
  keyOf: (key) => key,
  show: (k) => Buffer.from(k).toString('hex'),
};

/**
 * B-tree edits of one index: insert with node splits and root push-down, removal with predecessor
 * replacement, in the order of the index's collation. The editor keeps the nodes it touched; the
 * caller encodes and writes the dirty ones.
 */
export class IndexEditor<K = string> {
  readonly nodes = new Map<number, EditNode>();

  constructor(readonly root: EditNode, readonly store: IndexStore, readonly collation: IndexCollation<K>, readonly where: string) {}

  node(vcn: number): EditNode {
    if (vcn < 0) return this.root;
    let n = this.nodes.get(vcn);
    if (!n) {
      n = this.store.load(vcn);
      this.nodes.set(vcn, n);
    }
    return n;
  }

  /** Path from the root to the node where `k` is or would be inserted, with positions. */
  private search(k: K): { path: { node: EditNode; i: number }[]; found: boolean } {
    const cmp = this.collation.seek(k);
    const path: { node: EditNode; i: number }[] = [];
    const seen = new Set<number>();
    let node = this.root;
    for (let depth = 0; depth <= NtfsLimits.maxIndexDepth; depth++) {
      let i = 0;
      let found = false;
      for (; i < node.entries.length; i++) {
        const e = node.entries[i]!;
        if (e.end) break;
        const c = cmp(e.key);
        if (c === 0) {
          found = true;
          break;
        }
        if (c < 0) break;
      }
      path.push({ node, i });
      if (found) return { path, found: true };
      const e = node.entries[i]!;
      if (e.sub < 0) return { path, found: false };
      if (seen.has(e.sub)) throw new LoopError(NtfsCode.Loop, `${this.where}: index block ${e.sub} reached twice`, { vcn: e.sub });
      seen.add(e.sub);
      node = this.node(e.sub);
    }
    throw new FormatError(NtfsCode.BadIndex, `${this.where}: index deeper than ${NtfsLimits.maxIndexDepth}`, {});
  }

  /** Insert `key` with header bytes `ref`. @throws ExistsError when the key is there already */
  insert(key: Uint8Array, ref: bigint): void {
    const k = this.collation.keyOf(key);
    const { path, found } = this.search(k);
    if (found) throw new ExistsError(NtfsCode.Exists, `${this.where}: ${this.collation.show(k)} exists`, { key: this.collation.show(k) });
    const leaf = path[path.length - 1]!;
    leaf.node.entries.splice(leaf.i, 0, { ref, key: key.slice(), end: false, sub: -1 });
    leaf.node.dirty = true;
    this.fix(path.map((p) => p.node));
  }

  /** Replace the key of the entry sought by `k` in place, when `accept(ref)` (same key, new duplicated info). */
  update(k: K, accept: (ref: bigint) => boolean, key: Uint8Array): boolean {
    const { path, found } = this.search(k);
    if (!found) return false;
    const p = path[path.length - 1]!;
    const e = p.node.entries[p.i]!;
    if (!accept(e.ref)) return false;
    e.key = key.slice();
    p.node.dirty = true;
    this.fix(path.map((x) => x.node));
    return true;
  }

  /** Remove the entry sought by `k`, when `accept(ref)`. Returns false when absent. */
  remove(k: K, accept: (ref: bigint) => boolean): boolean {
    const { path, found } = this.search(k);
    if (!found) return false;
    const at = path[path.length - 1]!;
    const e = at.node.entries[at.i]!;
    if (!accept(e.ref)) return false;
    if (e.sub < 0) {
      at.node.entries.splice(at.i, 1);
      at.node.dirty = true;
      this.afterRemove(path.map((p) => p.node));
      return true;
    }
    // internal entry: replace it with its predecessor (the last entry of the rightmost leaf of its left sub-tree)
    const chain: EditNode[] = path.map((p) => p.node);
    let n = this.node(e.sub);
    chain.push(n);
    const seen = new Set<number>([e.sub]);
    while (n.entries[n.entries.length - 1]!.sub >= 0) {
      const s = n.entries[n.entries.length - 1]!.sub;
      if (seen.has(s) || seen.size > NtfsLimits.maxIndexDepth) throw new LoopError(NtfsCode.Loop, `${this.where}: index loop at ${s}`, { vcn: s });
      seen.add(s);
      n = this.node(s);
      chain.push(n);
    }
    const predIdx = n.entries.length - 2;
    if (predIdx < 0) {
      // the left sub-tree's rightmost leaf is empty: nothing can take the entry's place, so the
      // caller rebuilds the tree without it
      this.needsRebuild = true;
      return true;
    }
    const pred = n.entries[predIdx]!;
    n.entries.splice(predIdx, 1);
    n.dirty = true;
    at.node.entries[at.i] = { ref: pred.ref, key: pred.key, end: false, sub: e.sub };
    at.node.dirty = true;
    this.afterRemove(chain);
    return true;
  }

  /**
   * Every entry of the tree as this operation has it (staged nodes included), in collation order,
   * and the blocks it uses: what `rebuild` starts from. @throws LoopError, LimitError
   */
  walk(): { entries: { ref: bigint; key: Uint8Array }[]; blocks: number[] } {
    const entries: { ref: bigint; key: Uint8Array }[] = [];
    const blocks: number[] = [];
    const seen = new Set<number>();
    const visit = (node: EditNode, depth: number): void => {
      if (depth > NtfsLimits.maxIndexDepth) throw new LimitError(NtfsCode.Limit, `${this.where}: index deeper than ${NtfsLimits.maxIndexDepth}`, {});
      for (const e of node.entries) {
        if (e.sub >= 0) {
          if (seen.has(e.sub)) throw new LoopError(NtfsCode.Loop, `${this.where}: index block ${e.sub} reached twice`, { vcn: e.sub });
          seen.add(e.sub);
          blocks.push(e.sub);
          visit(this.node(e.sub), depth + 1);
        }
        if (e.end) break;
        if (entries.length >= NtfsLimits.maxDirEntries) throw new LimitError(NtfsCode.Limit, `${this.where}: more than ${NtfsLimits.maxDirEntries} entries`, {});
        entries.push({ ref: e.ref, key: e.key });
      }
    };
    visit(this.root, 0);
    return { entries, blocks };
  }

  /** True when some non-root node on the chain ended up with no entries but END. */
  needsRebuild = false;

  private afterRemove(chain: EditNode[]): void {
    for (const n of chain) if (n.vcn >= 0 && n.entries.length === 1 && n.entries[0]!.sub < 0) this.needsRebuild = true;
    this.fix(chain);
  }

  private fits(n: EditNode): boolean {
    if (n.vcn >= 0) return entriesSize(n.entries) <= blockLayout(this.store.blockSize).capacity;
    return this.store.rootRoom(n) >= 0;
  }

  /** Split overfull nodes bottom-up; push the root down into a block when it outgrows its record. */
  private fix(path: EditNode[]): void {
    for (let k = path.length - 1; k >= 0; k--) {
      const node = path[k]!;
      if (this.fits(node)) continue;
      if (node.vcn < 0) {
        const b = this.store.allocBlock();
        this.nodes.set(b.vcn, b);
        b.entries = node.entries;
        b.dirty = true;
        node.entries = [{ ref: 0n, key: new Uint8Array(0), end: true, sub: b.vcn }];
        node.dirty = true;
        if (!this.fits(b)) this.split(b, node);
        if (!this.fits(node)) throw new FormatError(NtfsCode.BadIndex, `${this.where}: the index root does not fit its record`, {});
        return;
      }
      this.split(node, path[k - 1]!);
    }
  }

  /** Split `node` in two around a median that moves up into `parent`. */
  private split(node: EditNode, parent: EditNode): void {
    const real = node.entries.slice(0, -1);
    const endE = node.entries[node.entries.length - 1]!;
    if (real.length < 3) throw new FormatError(NtfsCode.BadIndex, `${this.where}: cannot split a node of ${real.length} entries`, {});
    const half = entriesSize(node.entries) / 2;
    let acc = 0;
    let m = 0;
    for (; m < real.length - 1; m++) {
      acc += entrySize(real[m]!);
      if (acc >= half) break;
    }
    m = Math.max(1, Math.min(m, real.length - 2));
    const median = real[m]!;
    const right = this.store.allocBlock();
    this.nodes.set(right.vcn, right);
    right.entries = [...real.slice(m + 1), endE];
    right.dirty = true;
    node.entries = [...real.slice(0, m), { ref: 0n, key: new Uint8Array(0), end: true, sub: median.sub }];
    node.dirty = true;
    const pi = parent.entries.findIndex((e) => e.sub === node.vcn);
    if (pi < 0) throw new FormatError(NtfsCode.BadIndex, `${this.where}: parent of block ${hex(node.vcn)} does not point to it`, {});
    parent.entries[pi] = { ...parent.entries[pi]!, sub: right.vcn };
    parent.entries.splice(pi, 0, { ref: median.ref, key: median.key, end: false, sub: node.vcn });
    parent.dirty = true;
    if (!this.fits(node)) this.split(node, parent);
    if (!this.fits(right)) this.split(right, parent);
  }

  /**
   * Rebuild the whole tree from its entries in order (bulk load, leaves about 3/4 full): used when
   * removals leave an empty leaf. Frees every old block first.
   */
  rebuild(all: { ref: bigint; key: Uint8Array }[], oldBlocks: number[]): void {
    for (const v of oldBlocks) this.store.freeBlock(v);
    this.nodes.clear();
    const rootTry: EditNode = { vcn: -1, dirty: true, entries: [...all.map((e) => ({ ref: e.ref, key: e.key, end: false, sub: -1 })), { ref: 0n, key: new Uint8Array(0), end: true, sub: -1 }] };
    if (this.store.rootRoom(rootTry) >= 0) {
      this.root.entries = rootTry.entries;
      this.root.dirty = true;
      return;
    }
    const target = Math.floor(blockLayout(this.store.blockSize).capacity * 0.75);
    let level: EditEntry[] = all.map((e) => ({ ref: e.ref, key: e.key, end: false, sub: -1 }));
    let lastSub = -1;
    for (let guard = 0; guard < NtfsLimits.maxIndexDepth; guard++) {
      const up: EditEntry[] = [];
      let cur: EditEntry[] = [];
      let size = INDEX_ENTRY.HEADER + 8;
      const flush = (endSub: number): EditNode => {
        const b = this.store.allocBlock();
        b.entries = [...cur, { ref: 0n, key: new Uint8Array(0), end: true, sub: endSub }];
        b.dirty = true;
        this.nodes.set(b.vcn, b);
        return b;
      };
      for (let i = 0; i < level.length; i++) {
        const e = level[i]!;
        const s = entrySize(e);
        if (size + s > target && cur.length > 0 && i < level.length - 1) {
          // e becomes the separator pointing at the block just filled
          const b = flush(e.sub);
          up.push({ ref: e.ref, key: e.key, end: false, sub: b.vcn });
          cur = [];
          size = INDEX_ENTRY.HEADER + 8;
          continue;
        }
        cur.push(e);
        size += s;
      }
      const last = flush(lastSub);
      lastSub = last.vcn;
      const rootNode: EditNode = { vcn: -1, dirty: true, entries: [...up, { ref: 0n, key: new Uint8Array(0), end: true, sub: lastSub }] };
      if (this.store.rootRoom(rootNode) >= 0 && up.length <= 8) {
        this.root.entries = rootNode.entries;
        this.root.dirty = true;
        return;
      }
      level = up;
      // the END of the next level points at this level's last block
    }
    throw new FormatError(NtfsCode.BadIndex, `${this.where}: rebuild did not converge`, {});
  }
}

export { DirectoryIndex };
