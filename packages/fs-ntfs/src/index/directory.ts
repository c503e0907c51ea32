import { ByteView, FormatError, LimitError, LoopError, hex } from '@guestkit/disk/binary';
import { NtfsCode, NtfsLimits } from '../errors.js';
import { AttrType } from '../layout/mft-record.js';
import { INDEX_BLOCK, INDEX_ROOT, IndexEntryFlags } from '../layout/index.js';
import { postReadFixup } from '../record/fixup.js';
import type { AttrStream } from '../attribute/data-stream.js';
import type { FileView } from '../attribute/file-attrs.js';
import type { NtfsVolume } from '../volume.js';
import { decodeFileName, parseIndexEntries, type FileNameKey, type IndexEntry } from './index-node.js';

export const I30 = '$I30';

/** A node of the B-tree: the root (vcn -1) or an index block. */
export interface IndexNode {
  vcn: number;
  entries: IndexEntry[];
  /** The buffer the entries point into (root value copy, or the fixed-up block). */
  buf: Uint8Array;
  headerOffset: number;
  flags: number;
  indexLength: number;
  allocatedSize: number;
}

/** A directory entry found in $I30, with its decoded key. */
export interface FoundEntry {
  entry: IndexEntry;
  key: FileNameKey & { readonly mtimeMs: number };
}

const BLOCK_CACHE = 2048;

/**
 * The $I30 index of one directory: the root in $INDEX_ROOT, blocks in $INDEX_ALLOCATION
 * (allocation tracked by $BITMAP). Walks are in-order (collation order), bounded in depth and
 * guarded against cycles; blocks are cached.
 */
/**
 * The checked header of an $INDEX_ROOT value (reader and writer both go through it): indexed
 * attribute type, collation rule, index block size (a power of two from 512 to 64 KiB) and the
 * unit VCNs of the allocation count in. @throws FormatError
 */
export function indexRootFormat(value: Uint8Array, clusterSize: number, where: string): { attrType: number; collationRule: number; blockSize: number; vcnUnit: number } {
  if (value.length < INDEX_ROOT.SIZE) throw new FormatError(NtfsCode.BadIndex, `${where}: $INDEX_ROOT is ${value.length} bytes`, { where });
  const v = new ByteView(value, 0, where);
  const blockSize = v.u32(INDEX_ROOT.indexBlockSize, 'index block size');
  if (blockSize < 512 || blockSize > 65536 || (blockSize & (blockSize - 1)) !== 0) {
    throw new FormatError(NtfsCode.BadIndex, `${where}: index block size ${blockSize} is invalid`, { where });
  }
  return {
    attrType: v.u32(INDEX_ROOT.attrType, 'indexed attribute type'),
    collationRule: v.u32(INDEX_ROOT.collationRule, 'collation rule'),
    blockSize,
    vcnUnit: blockSize >= clusterSize ? clusterSize : 512,
  };
}

export class DirectoryIndex {
  readonly blockSize: number;
  /** Bytes per VCN unit of the allocation (cluster, or 512 when blocks are smaller than a cluster). */
  readonly vcnUnit: number;
  readonly root: IndexNode;
  readonly alloc: AttrStream | undefined;
  readonly bitmap: Uint8Array | undefined;
  private static cache = new WeakMap<NtfsVolume, Map<string, IndexNode>>();

  constructor(readonly vol: NtfsVolume, readonly view: FileView, readonly name = I30) {
    const n = view.base.recordNumber;
    const rootAttr = view.attrs.find((a) => a.type === AttrType.IndexRoot && a.name === name);
    if (!rootAttr || rootAttr.nonResident) {
      throw new FormatError(NtfsCode.BadIndex, `record ${n}: no resident $INDEX_ROOT ${name}`, { record: n });
    }
    const rec = view.records.get(rootAttr.recordNumber)!;
    const value = rec.value(rootAttr).slice();
    ({ blockSize: this.blockSize, vcnUnit: this.vcnUnit } = indexRootFormat(value, vol.clusterSize, `record ${n}`));
    const parsed = parseIndexEntries(value, INDEX_ROOT.header, `record ${n} $INDEX_ROOT`, 0);
    this.root = { vcn: -1, buf: value, headerOffset: INDEX_ROOT.header, ...parsed };
    this.alloc = vol.stream(view, AttrType.IndexAllocation, name);
    this.bitmap = this.alloc ? vol.readAll(view, AttrType.Bitmap, name, 1 << 24) : undefined;
  }

  private blockCache(): Map<string, IndexNode> {
    let m = DirectoryIndex.cache.get(this.vol);
    if (!m) {
      m = new Map();
      DirectoryIndex.cache.set(this.vol, m);
    }
    return m;
  }

  /** Drop cached blocks of a directory (after writes). */
  static forget(vol: NtfsVolume, record?: number): void {
    const m = DirectoryIndex.cache.get(vol);
    if (!m) return;
    if (record === undefined) m.clear();
    else for (const k of [...m.keys()]) if (k.startsWith(`${record}/`)) m.delete(k);
  }

  /** Read, fix up and parse the index block at `vcn`. @throws FormatError */
  node(vcn: number): IndexNode {
    const rn = this.view.base.recordNumber;
    const key = `${rn}/${this.name}/${vcn}`;
    const cache = this.blockCache();
    const hit = cache.get(key);
    if (hit) return hit;
    const where = `record ${rn} ${this.name} index block VCN ${vcn}`;
    if (!this.alloc) throw new FormatError(NtfsCode.BadIndex, `${where}: the root points to a sub-node but there is no $INDEX_ALLOCATION`, { record: rn, vcn });
    const off = vcn * this.vcnUnit;
    if (!Number.isSafeInteger(off) || off + this.blockSize > this.alloc.size) {
      throw new FormatError(NtfsCode.BadIndex, `${where}: block at ${hex(off)} is past the end of the allocation (${this.alloc.size} bytes)`, { record: rn, vcn });
    }
    const bit = Math.floor(off / this.blockSize);
    if (this.bitmap && (bit >>> 3 >= this.bitmap.length || (this.bitmap[bit >>> 3]! & (1 << (bit & 7))) === 0)) {
      throw new FormatError(NtfsCode.BadIndex, `${where}: block ${bit} is not allocated in $BITMAP`, { record: rn, vcn });
    }
    const buf = new Uint8Array(this.blockSize);
    this.alloc.read(off, buf);
    const magic = String.fromCharCode(buf[0]!, buf[1]!, buf[2]!, buf[3]!);
    if (magic !== 'INDX') throw new FormatError(NtfsCode.BadIndex, `${where}: signature is ${JSON.stringify(magic)}, expected "INDX"`, { record: rn, vcn, actual: magic });
    postReadFixup(buf, where, off);
    const lo = buf[INDEX_BLOCK.vcn]! + buf[INDEX_BLOCK.vcn + 1]! * 256 + buf[INDEX_BLOCK.vcn + 2]! * 65536 + buf[INDEX_BLOCK.vcn + 3]! * 16777216;
    const hi = buf[INDEX_BLOCK.vcn + 4]! + buf[INDEX_BLOCK.vcn + 5]! * 256;
    const selfVcn = lo + hi * 4294967296;
    if (selfVcn !== vcn) throw new FormatError(NtfsCode.BadIndex, `${where}: block says it is VCN ${selfVcn}`, { record: rn, vcn, actual: selfVcn });
    const parsed = parseIndexEntries(buf, INDEX_BLOCK.header, where, off);
    const node: IndexNode = { vcn, buf, headerOffset: INDEX_BLOCK.header, ...parsed };
    cache.set(key, node);
    if (cache.size > BLOCK_CACHE) cache.delete(cache.keys().next().value as string);
    return node;
  }

  /**
   * Every entry in collation order (in-order walk). `visited` guards against cycles.
   * @throws LoopError, LimitError, FormatError
   */
  *entries(): Generator<FoundEntry> {
    yield* this.list();
  }

  /**
   * Every entry in collation order (in-order walk), as an array. `visited` guards against
   * cycles, the depth and the entry count are bounded.
   * @throws LoopError, LimitError, FormatError
   */
  list(): FoundEntry[] {
    const where = `record ${this.view.base.recordNumber} index entry`;
    return this.rawEntries().map((entry) => ({ entry, key: decodeFileName(entry.key, where) }));
  }

  /** Every entry in collation order, keys undecoded (any index: $I30 or a view index such as $R). */
  rawEntries(): IndexEntry[] {
    const visited = new Set<number>();
    const out: IndexEntry[] = [];
    const rn = this.view.base.recordNumber;
    const walk = (node: IndexNode, depth: number): void => {
      if (depth > NtfsLimits.maxIndexDepth) {
        throw new LimitError(NtfsCode.Limit, `record ${rn}: index deeper than ${NtfsLimits.maxIndexDepth}`, { record: rn });
      }
      for (const e of node.entries) {
        if (e.flags & IndexEntryFlags.Node) {
          if (visited.has(e.subVcn)) throw new LoopError(NtfsCode.Loop, `record ${rn}: index block VCN ${e.subVcn} is reached twice (loop)`, { record: rn, vcn: e.subVcn });
          visited.add(e.subVcn);
          walk(this.node(e.subVcn), depth + 1);
        }
        if (e.flags & IndexEntryFlags.End) break;
        if (out.length >= NtfsLimits.maxDirEntries) throw new LimitError(NtfsCode.Limit, `record ${rn}: more than ${NtfsLimits.maxDirEntries} entries`, { record: rn });
        out.push(e);
      }
    };
    walk(this.root, 0);
    return out;
  }

  /**
   * B-tree search for `name` (case-insensitive through $UpCase). Returns every entry whose name
   * matches case-insensitively along the search path (an exact-case match first).
   */
  find(name: string): FoundEntry[] {
    const table = this.vol.upcase.table;
    const want = new Uint16Array(name.length);
    for (let i = 0; i < name.length; i++) want[i] = table[name.charCodeAt(i)]!;
    const rn = this.view.base.recordNumber;
    const visited = new Set<number>();
    const found: FoundEntry[] = [];
    let node = this.root;
    for (let depth = 0; ; depth++) {
      if (depth > NtfsLimits.maxIndexDepth) throw new LimitError(NtfsCode.Limit, `record ${rn}: index deeper than ${NtfsLimits.maxIndexDepth}`, { record: rn });
      let next: IndexEntry | undefined;
      for (const e of node.entries) {
        if (e.flags & IndexEntryFlags.End) {
          next = e;
          break;
        }
        const c = compareKey(want, e.key, table);
        if (c === 0) {
          found.push({ entry: e, key: decodeFileName(e.key, `record ${rn} index entry`) });
          continue;
        }
        if (c < 0) {
          next = e;
          break;
        }
      }
      if (found.length > 0 || !next || !(next.flags & IndexEntryFlags.Node)) break;
      if (visited.has(next.subVcn)) throw new LoopError(NtfsCode.Loop, `record ${rn}: index block VCN ${next.subVcn} is reached twice (loop)`, { record: rn, vcn: next.subVcn });
      visited.add(next.subVcn);
      node = this.node(next.subVcn);
    }
    found.sort((a, b) => (a.key.name === name ? -1 : 0) - (b.key.name === name ? -1 : 0));
    return found;
  }
}

/**
 * Collate an upper-cased name against a $FILE_NAME key's name without decoding it
 * (COLLATION_FILE_NAME: upper-cased code units, then length).
 */
export function compareKey(want: Uint16Array, key: Uint8Array, table: Uint16Array): number {
  const len = key.length > 0x40 ? key[0x40]! : 0;
  const avail = Math.min(len, (key.length - 0x42) >> 1);
  const n = Math.min(want.length, avail);
  for (let i = 0; i < n; i++) {
    const y = table[key[0x42 + 2 * i]! | (key[0x43 + 2 * i]! << 8)]!;
    const x = want[i]!;
    if (x !== y) return x < y ? -1 : 1;
  }
  return want.length === len ? 0 : want.length < len ? -1 : 1;
}
