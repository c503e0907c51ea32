import { ByteView, FormatError, LimitError, LoopError, UsageError, hex, type Logger } from '@guestkit/disk/binary';
import { HiveCode } from '../errors.js';
import { HBIN_BASE } from '../layout/base-block.js';
import { NK, VK, SK, LIST, DB, SIG, KeyFlag, ValueFlag, VK_DATA_INLINE, BIG_DATA_SEGMENT, sigText } from '../layout/cells.js';
import { CELL_HEADER } from '../layout/hbin.js';
import { RegType } from '../layout/value-types.js';
import { DEFAULT_LIMITS, type HiveLimits } from '../limits.js';
import type { HiveImage } from './hive-image.js';
import { absRef, badRef, badType, needCell, overflow } from './cell-ref.js';
import { decodeName, decodeNameRange, upcaseName, type NameSpan } from './names.js';
import { decodeRegValue, decodeRegString, decodeMultiSz, type RegValue } from './value-decode.js';

/** Subkey indexes kept at once (a bound on memory for long-running readers). */
const MAX_CACHED_INDEXES = 50_000;

/** A key (nk cell), as its file offset — the same number hivex uses as a node handle. */
export type NodeRef = number & { readonly __brand: 'HiveNode' };
/** A value (vk cell), as its file offset. */
export type ValueRef = number & { readonly __brand: 'HiveValue' };

/** Where a value's data lives (hivex value_data_cell_offset; hivexml byte runs). */
export interface ValueDataLocation {
  inline: boolean;
  /** Declared data size in bytes. */
  length: number;
  /** File offset of the data cell (or db cell), when not inline. */
  cell?: number;
  /** True when the data is stored as big data (db + segments). */
  bigData: boolean;
}

/**
 * Read access to a hive image: keys, values, security descriptors, class names. Every method
 * checks the cell it is given and every pointer it follows; absent things are `undefined`,
 * corrupt things throw FormatError (or, with `unsafe`, are skipped with a warning where hivex
 * HIVEX_OPEN_UNSAFE would skip them).
 */
export class HiveReader {
  /** Low-level image (bytes + valid-cell index). Handles stay valid across growth. */
  readonly image: HiveImage;
  readonly limits: Readonly<HiveLimits>;
  protected readonly log: Logger;

  constructor(image: HiveImage, limits?: Partial<HiveLimits>) {
    this.image = image;
    this.limits = Object.freeze({ ...DEFAULT_LIMITS, ...limits });
    this.log = image.log;
  }

  /** The root key. */
  get root(): NodeRef {
    return this.image.root as NodeRef;
  }

  get unsafe(): boolean {
    return this.image.unsafe;
  }

  /** Hive format version, e.g. "1.5". */
  get version(): string {
    return `${this.image.base.majorVersion}.${this.image.base.minorVersion}`;
  }

  get minorVersion(): number {
    return this.image.base.minorVersion;
  }

  protected warn(obj: Record<string, unknown>, msg: string): void {
    this.log.warn({ hive: this.image.name, ...obj }, msg);
  }

  // ------------------------------------------------------------------ keys

  /** Throw unless `n` is an allocated nk cell; returns its data length. */
  protected nk(n: number, from?: number, field = 'key'): number {
    return needCell(this.image, n, SIG.nk, 'nk', from, field);
  }

  private nkU32(n: number, field: number, name: string): number {
    return this.image.view.u32(n + CELL_HEADER + field, name);
  }

  /** True when `n` is an allocated nk cell. */
  isNode(n: number): n is NodeRef {
    return this.image.isCell(n) && this.image.dataLen(n) >= NK.SIZE && this.image.sig(n) === SIG.nk;
  }

  /** nk flags (KEY_*). */
  nodeFlags(n: NodeRef): number {
    this.nk(n);
    return this.image.view.u16(n + CELL_HEADER + NK.flags, 'nk flags');
  }

  /**
   * Where the name of a key ("nk") or value ("vk") cell lies: its absolute start, byte length and
   * encoding, checked against the cell. Both cells keep name length, flags and name at their own
   * layout offsets, with the same "compressed name" (Latin-1) flag bit.
   */
  private nameRange(ref: number, kind: 'nk' | 'vk'): { start: number; len: number; compressed: boolean } {
    const L = kind === 'nk' ? NK : VK;
    const dl = kind === 'nk' ? this.nk(ref as NodeRef) : this.vk(ref as ValueRef);
    if (dl < L.SIZE) throw overflow(this.image, ref, kind, L.SIZE, dl);
    const view = this.image.view;
    const d = ref + CELL_HEADER;
    const len = view.u16(d + L.nameLength, `${kind} name length`);
    if (L.name + len > dl) throw overflow(this.image, ref, `${kind} name`, L.name + len, dl);
    const flag = kind === 'nk' ? KeyFlag.CompName : ValueFlag.CompName;
    const compressed = (view.u16(d + L.flags, `${kind} flags`) & flag) !== 0;
    return { start: d + L.name, len, compressed };
  }

  /** Decode a name range; an odd-length UTF-16 name is corrupt (unsafe mode drops the last byte). */
  private decodeName(ref: number, what: 'key' | 'value', r: { start: number; len: number; compressed: boolean }): string {
    if (!r.compressed && r.len % 2 !== 0) {
      if (!this.unsafe) {
        throw new FormatError(HiveCode.BadName, `${this.image.name}: UTF-16 name of the ${what} at ${hex(ref)} has an odd length (${r.len} bytes)`, { where: this.image.name, offset: ref });
      }
      this.warn({ offset: ref }, `odd-length UTF-16 ${what} name: last byte dropped (unsafe)`);
    }
    return decodeNameRange(this.image.buf, r.start, r.len, r.compressed);
  }

  /** Raw name bytes and encoding of a key. */
  nodeNameBytes(n: NodeRef): { bytes: Uint8Array; compressed: boolean } {
    const r = this.nameRange(n, 'nk');
    return { bytes: this.image.view.bytesAt(r.start, r.len, 'nk name'), compressed: r.compressed };
  }

  /** Key name (Latin-1 or lossless UTF-16). */
  nodeName(n: NodeRef): string {
    return this.decodeName(n, 'key', this.nameRange(n, 'nk'));
  }

  /**
   * Where the name of a key lies, checked like nodeName (an odd-length UTF-16 name throws, or
   * in unsafe mode warns and its last byte is ignored); nothing is decoded.
   */
  readNodeName(n: NodeRef, out: NameSpan): NameSpan {
    const dl = this.nk(n);
    if (dl < NK.SIZE) throw overflow(this.image, n, 'nk', NK.SIZE, dl);
    const dv = this.image.dv; // fields inside the checked cell
    const d = n + CELL_HEADER;
    const len = dv.getUint16(d + NK.nameLength, true);
    if (NK.name + len > dl) throw overflow(this.image, n, 'nk name', NK.name + len, dl);
    const compressed = (dv.getUint16(d + NK.flags, true) & KeyFlag.CompName) !== 0;
    if (!compressed && len % 2 !== 0) this.nodeName(n); // throws, or warns (unsafe: the last byte is ignored)
    out.nameOff = d + NK.name;
    out.nameLen = len;
    out.nameCompressed = compressed;
    return out;
  }


  /** Last-written time of a key (FILETIME). */
  nodeTimestamp(n: NodeRef): bigint {
    this.nk(n);
    return this.image.view.u64(n + CELL_HEADER + NK.lastWritten, 'nk last written');
  }

  /** Declared number of subkeys. */
  nodeSubkeyCount(n: NodeRef): number {
    this.nk(n);
    return this.nkU32(n, NK.subkeyCount, 'nk subkey count');
  }

  /** Declared number of values. */
  nodeValueCount(n: NodeRef): number {
    this.nk(n);
    return this.nkU32(n, NK.valueCount, 'nk value count');
  }

  /** Size of the nk record with its name (hivex node_struct_length). */
  nodeStructLength(n: NodeRef): number {
    const { bytes } = this.nodeNameBytes(n);
    return CELL_HEADER + NK.SIZE + bytes.length;
  }

  /** Parent key, or undefined for the root. Throws if the parent pointer is not an nk. */
  parent(n: NodeRef): NodeRef | undefined {
    if (n === this.root) return undefined;
    this.nk(n);
    const p = this.nkU32(n, NK.parent, 'nk parent') + HBIN_BASE;
    if (!this.isNode(p)) {
      throw new FormatError(HiveCode.BadParent, `${this.image.name}: parent of the key at ${hex(n)} points to ${hex(p)}, which is not a key`, {
        where: this.image.name, offset: n, field: 'parent', target: p,
      });
    }
    return p as NodeRef;
  }

  /**
   * Subkeys in on-disk order (sorted the Windows way in a healthy hive). Follows lf/lh/li
   * leaves and ri index roots (nesting bounded by maxRiDepth); every entry must be an nk cell
   * and their number must equal the key's subkey count (unsafe: skip bad entries, warn).
   */
  children(n: NodeRef): NodeRef[] {
    this.nk(n);
    const count = this.nkU32(n, NK.subkeyCount, 'nk subkey count');
    if (count === 0) return [];
    if (count > this.limits.maxSubkeys) {
      throw new LimitError(HiveCode.Limit, `${this.image.name}: key at ${hex(n)} declares ${count} subkeys (limit ${this.limits.maxSubkeys})`, {
        where: this.image.name, offset: n, limit: 'maxSubkeys', actual: count,
      });
    }
    const rel = this.nkU32(n, NK.subkeyList, 'nk subkey list');
    const list = rel + HBIN_BASE;
    if (!this.image.isCell(list)) {
      if (!this.unsafe) throw badRef(this.image, list, n, 'subkey list');
      this.warn({ offset: n, list }, 'subkey list is not a cell: no subkeys read (unsafe)');
      return [];
    }
    const out: NodeRef[] = [];
    const state: { blocks: number; seen: Set<number> | undefined } = { blocks: 0, seen: undefined };
    this.collect(n, list, out, count, 0, state);
    if (out.length !== count) {
      if (!this.unsafe) {
        throw new FormatError(HiveCode.SubkeyCountMismatch, `${this.image.name}: key at ${hex(n)} declares ${count} subkeys but its lists hold ${out.length}`, {
          where: this.image.name, offset: n, expected: count, actual: out.length,
        });
      }
      this.warn({ offset: n, declared: count, found: out.length }, 'subkey count mismatch (unsafe)');
    }
    return out;
  }

  private collect(owner: number, list: number, out: NodeRef[], limit: number, depth: number, st: { blocks: number; seen: Set<number> | undefined }): void {
    const img = this.image;
    if (++st.blocks > this.limits.maxSubkeys) {
      throw new LimitError(HiveCode.Limit, `${img.name}: subkey lists of the key at ${hex(owner)} use more than ${this.limits.maxSubkeys} list cells`, {
        where: img.name, offset: owner, limit: 'maxSubkeys',
      });
    }
    // The visited set is only needed below an index root (a lone leaf cannot repeat itself).
    if (depth > 0 || st.seen) {
      if (!st.seen) st.seen = new Set<number>();
      if (st.seen.has(list)) {
        throw new LoopError(HiveCode.Cycle, `${img.name}: subkey list at ${hex(list)} is referenced twice below the key at ${hex(owner)}`, {
          where: img.name, offset: list, owner,
        });
      }
      st.seen.add(list);
    }
    const v = img.dv; // fields and entries inside the cell, once its size is checked
    const dl = img.dataLen(list);
    if (dl < LIST.SIZE) throw overflow(img, list, 'subkey list', LIST.SIZE, dl);
    const d = list + CELL_HEADER;
    const sig = v.getUint16(d, true);
    const cnt = v.getUint16(d + LIST.count, true);
    if (sig === SIG.lf || sig === SIG.lh || sig === SIG.li) {
      const step = sig === SIG.li ? 4 : 8;
      if (LIST.SIZE + cnt * step > dl) {
        if (!this.unsafe) throw overflow(img, list, `"${sigText(sig)}" list of ${cnt} entries`, LIST.SIZE + cnt * step, dl);
        this.warn({ offset: list, count: cnt }, 'subkey list longer than its cell: truncated (unsafe)');
      }
      const usable = Math.min(cnt, Math.floor((dl - LIST.SIZE) / step));
      for (let i = 0; i < usable; i++) {
        const child = v.getUint32(d + LIST.SIZE + i * step, true) + HBIN_BASE;
        if (!img.isCell(child) || img.dataLen(child) < 2 || img.sig(child) !== SIG.nk) {
          if (!this.unsafe) throw img.isCell(child) ? badType(img, child, '"nk"', list, `subkey list entry ${i}`) : badRef(img, child, list, `subkey list entry ${i}`);
          this.warn({ list, entry: i, target: child }, 'subkey list entry is not a key: skipped (unsafe)');
          continue;
        }
        if (out.length >= limit) {
          if (!this.unsafe) {
            throw new FormatError(HiveCode.SubkeyCountMismatch, `${img.name}: key at ${hex(owner)} declares ${limit} subkeys but its lists hold more`, {
              where: img.name, offset: owner, expected: limit,
            });
          }
          this.warn({ offset: owner, declared: limit }, 'more subkeys than declared: extra entries ignored (unsafe)');
          return;
        }
        out.push(child as NodeRef);
      }
      return;
    }
    if (sig === SIG.ri) {
      if (LIST.SIZE + cnt * 4 > dl) {
        if (!this.unsafe) throw overflow(img, list, `"ri" list of ${cnt} entries`, LIST.SIZE + cnt * 4, dl);
        this.warn({ offset: list, count: cnt }, 'index root longer than its cell: truncated (unsafe)');
      }
      const usable = Math.min(cnt, Math.floor((dl - LIST.SIZE) / 4));
      for (let i = 0; i < usable; i++) {
        const sub = v.getUint32(d + LIST.SIZE + i * 4, true) + HBIN_BASE;
        if (!img.isCell(sub)) {
          if (!this.unsafe) throw badRef(img, sub, list, `index root entry ${i}`);
          this.warn({ list, entry: i, target: sub }, 'index root entry is not a cell: skipped (unsafe)');
          continue;
        }
        if (depth + 1 > this.limits.maxRiDepth) {
          throw new FormatError(HiveCode.RiTooDeep, `${img.name}: index roots nested deeper than ${this.limits.maxRiDepth} below the key at ${hex(owner)}`, {
            where: img.name, offset: list, limit: this.limits.maxRiDepth,
          });
        }
        this.collect(owner, sub, out, limit, depth + 1, st);
      }
      return;
    }
    if (!this.unsafe) throw badType(img, list, '"lf", "lh", "li" or "ri"', owner, 'subkey list');
    this.warn({ offset: list, signature: sigText(sig) }, 'not a subkey list: skipped (unsafe)');
  }

  /** Per-key index of subkeys by upper-cased name, built on the first lookup (writers keep it current). */
  private readonly childIndex = new Map<number, Map<string, NodeRef>>();

  /**
   * The subkey with this name (Windows case-insensitive compare), or undefined. The first
   * lookup under a key reads all its subkey names once; later lookups are map hits.
   */
  child(n: NodeRef, name: string): NodeRef | undefined {
    return this.subkeyIndex(n).get(upcaseName(name));
  }

  protected subkeyIndex(n: NodeRef): Map<string, NodeRef> {
    let idx = this.childIndex.get(n);
    if (idx) return idx;
    idx = new Map();
    for (const c of this.children(n)) {
      const k = upcaseName(this.nodeName(c));
      if (!idx.has(k)) idx.set(k, c); // duplicates (corrupt hives): the first wins, like a scan
    }
    if (this.childIndex.size >= MAX_CACHED_INDEXES) this.childIndex.clear();
    this.childIndex.set(n, idx);
    return idx;
  }

  /** Forget the subkey index of a key (after its subkey list changed). */
  protected dropSubkeyIndex(n: number): void {
    this.childIndex.delete(n);
  }

  /** Update a cached subkey index after adding a child, if that index exists. */
  protected noteChildAdded(parent: number, name: string, child: NodeRef): void {
    this.childIndex.get(parent)?.set(upcaseName(name), child);
  }

  /**
   * Resolve a backslash-separated path ("ControlSet001\\Services\\Tcpip") from `from` (default
   * the root). A leading backslash is allowed; empty components are ignored. Undefined when a
   * component does not exist.
   */
  path(path: string, from: NodeRef = this.root): NodeRef | undefined {
    let n: NodeRef | undefined = from;
    for (const part of splitKeyPath(path)) {
      n = this.child(n, part);
      if (n === undefined) return undefined;
    }
    return n;
  }

  /** Like `path()` but throws NotFound-style UsageError naming the missing component. */
  requirePath(path: string, from: NodeRef = this.root): NodeRef {
    let n: NodeRef = from;
    let sofar = '';
    for (const part of splitKeyPath(path)) {
      const c = this.child(n, part);
      sofar += '\\' + part;
      if (c === undefined) {
        throw new UsageError(HiveCode.NotFound, `${this.image.name}: key ${sofar} not found`, { where: this.image.name, path, missing: sofar });
      }
      n = c;
    }
    return n;
  }

  /** Path of a key from the root, following parent pointers ("" for the root). */
  nodePath(n: NodeRef): string {
    const parts: string[] = [];
    let cur: NodeRef | undefined = n;
    const seen = new Set<number>();
    while (cur !== undefined && cur !== this.root) {
      if (seen.has(cur) || parts.length > this.limits.maxDepth) {
        throw new LoopError(HiveCode.Cycle, `${this.image.name}: parent pointers from the key at ${hex(n)} do not reach the root`, {
          where: this.image.name, offset: n,
        });
      }
      seen.add(cur);
      parts.push(this.nodeName(cur));
      cur = this.parent(cur);
    }
    return parts.reverse().join('\\');
  }

  /** Class name of a key, or undefined when it has none. */
  nodeClassName(n: NodeRef): string | undefined {
    this.nk(n);
    const v = this.image.view;
    const d = n + CELL_HEADER;
    const len = v.u16(d + NK.classNameLength, 'nk class name length');
    const at = absRef(v.u32(d + NK.className, 'nk class name'));
    if (at === undefined || len === 0) return undefined;
    if (!this.image.isCell(at)) {
      if (!this.unsafe) throw badRef(this.image, at, n, 'class name');
      this.warn({ offset: n, target: at }, 'class name is not a cell: ignored (unsafe)');
      return undefined;
    }
    const dl = this.image.dataLen(at);
    if (len > dl) throw overflow(this.image, at, 'class name', len, dl);
    return decodeName(v.bytesAt(at + CELL_HEADER, len, 'class name'), false);
  }

  /** The sk cell of a key (file offset), or undefined when the key has none. */
  nodeSecurityCell(n: NodeRef): number | undefined {
    this.nk(n);
    const at = absRef(this.nkU32(n, NK.security, 'nk security'));
    if (at === undefined) return undefined;
    needCell(this.image, at, SIG.sk, 'sk', n, 'security');
    return at;
  }

  /** The self-relative SECURITY_DESCRIPTOR bytes of a key (a copy), or undefined. */
  nodeSecurity(n: NodeRef): Uint8Array | undefined {
    const sk = this.nodeSecurityCell(n);
    if (sk === undefined) return undefined;
    const dl = this.image.dataLen(sk);
    if (dl < SK.SIZE) throw overflow(this.image, sk, 'sk', SK.SIZE, dl);
    const len = this.image.view.u32(sk + CELL_HEADER + SK.descriptorSize, 'sk descriptor size');
    if (SK.descriptor + len > dl) throw overflow(this.image, sk, 'security descriptor', SK.descriptor + len, dl);
    return this.image.view.copyAt(sk + CELL_HEADER + SK.descriptor, len, 'security descriptor');
  }

  /** Reference count of an sk cell. */
  securityRefCount(sk: number): number {
    needCell(this.image, sk, SIG.sk, 'sk', undefined, 'security');
    return this.image.view.u32(sk + CELL_HEADER + SK.refCount, 'sk refcount');
  }

  // ---------------------------------------------------------------- values

  protected vk(v: number, from?: number, field = 'value'): number {
    return needCell(this.image, v, SIG.vk, 'vk', from, field);
  }

  /** The values of a key in on-disk order (not sorted). */
  values(n: NodeRef): ValueRef[] {
    const out: ValueRef[] = [];
    this.valueList(n, out);
    return out;
  }

  /**
   * values() into `out[0, count)` (entries past the count are left as they were), for callers
   * that reuse one array; returns the count.
   */
  valueList(n: NodeRef, out: ValueRef[]): number {
    this.nk(n);
    const count = this.nkU32(n, NK.valueCount, 'nk value count');
    if (count === 0) return 0;
    if (count > this.limits.maxValues) {
      throw new LimitError(HiveCode.Limit, `${this.image.name}: key at ${hex(n)} declares ${count} values (limit ${this.limits.maxValues})`, {
        where: this.image.name, offset: n, limit: 'maxValues', actual: count,
      });
    }
    const list = this.nkU32(n, NK.valueList, 'nk value list') + HBIN_BASE;
    const img = this.image;
    if (!img.isCell(list)) {
      if (!this.unsafe) throw badRef(img, list, n, 'value list');
      this.warn({ offset: n, list }, 'value list is not a cell: no values read (unsafe)');
      return 0;
    }
    const dl = img.dataLen(list);
    let usable = count;
    if (count * 4 > dl) {
      if (!this.unsafe) throw overflow(img, list, `value list of ${count} entries`, count * 4, dl);
      usable = Math.floor(dl / 4);
      this.warn({ offset: list, count }, 'value list longer than its cell: truncated (unsafe)');
    }
    let k = 0;
    const d = list + CELL_HEADER;
    for (let i = 0; i < usable; i++) {
      const at = img.dv.getUint32(d + i * 4, true) + HBIN_BASE; // usable entries lie inside the cell
      if (!img.isCell(at)) {
        if (!this.unsafe) throw badRef(img, at, list, `value list entry ${i}`);
        this.warn({ list, entry: i, target: at }, 'value list entry is not a cell: skipped (unsafe)');
        continue;
      }
      out[k++] = at as ValueRef;
    }
    return k;
  }

  /** The value with this name (case-insensitive; "" = the default value), or undefined. */
  value(n: NodeRef, name: string): ValueRef | undefined {
    const i = this.valueIndexOf(n, name);
    return i < 0 ? undefined : this.values(n)[i];
  }

  /** Per-key index of value positions by upper-cased name (built on first use, kept by writers). */
  private readonly valueIndexes = new Map<number, Map<string, number>>();

  /** Position of the named value in the key's value list, or -1. */
  protected valueIndexOf(n: NodeRef, name: string): number {
    let idx = this.valueIndexes.get(n);
    if (!idx) {
      idx = new Map();
      const vals = this.values(n);
      for (let i = 0; i < vals.length; i++) {
        const k = upcaseName(this.valueName(vals[i]!));
        if (!idx.has(k)) idx.set(k, i);
      }
      if (this.valueIndexes.size >= MAX_CACHED_INDEXES) this.valueIndexes.clear();
      this.valueIndexes.set(n, idx);
    }
    return idx.get(upcaseName(name)) ?? -1;
  }

  /** Forget the value index of a key (after its value list changed). */
  protected dropValueIndex(n: number): void {
    this.valueIndexes.delete(n);
  }

  /** Record a value appended at position `i`, if the key's index exists. */
  protected noteValueAdded(n: number, name: string, i: number): void {
    this.valueIndexes.get(n)?.set(upcaseName(name), i);
  }

  /** Raw name bytes and encoding of a value. */
  valueNameBytes(v: ValueRef): { bytes: Uint8Array; compressed: boolean } {
    const r = this.nameRange(v, 'vk');
    return { bytes: this.image.view.bytesAt(r.start, r.len, 'vk name'), compressed: r.compressed };
  }

  /** Value name; "" for the default value. */
  valueName(v: ValueRef): string {
    return this.decodeName(v, 'value', this.nameRange(v, 'vk'));
  }

  /** REG_* type number (any 32-bit value). */
  valueType(v: ValueRef): number {
    const dl = this.vk(v);
    if (dl < VK.SIZE) throw overflow(this.image, v, 'vk', VK.SIZE, dl);
    return this.image.view.u32(v + CELL_HEADER + VK.type, 'vk type');
  }

  /** vk flags (VALUE_COMP_NAME, tombstone). */
  valueFlags(v: ValueRef): number {
    const dl = this.vk(v);
    if (dl < VK.SIZE) throw overflow(this.image, v, 'vk', VK.SIZE, dl);
    return this.image.view.u16(v + CELL_HEADER + VK.flags, 'vk flags');
  }

  /** Declared data length (bit 31 "inline" removed). */
  valueLength(v: ValueRef): number {
    return this.valueLocation(v).length;
  }

  /** Where the data of a value is stored. */
  valueLocation(v: ValueRef): ValueDataLocation {
    const dl = this.vk(v);
    if (dl < VK.SIZE) throw overflow(this.image, v, 'vk', VK.SIZE, dl);
    const view = this.image.view;
    const d = v + CELL_HEADER;
    const raw = view.u32(d + VK.dataSize, 'vk data size');
    const inline = raw >= VK_DATA_INLINE;
    const length = inline ? raw - VK_DATA_INLINE : raw;
    if (inline) return { inline, length, bigData: false };
    const cell = view.u32(d + VK.dataOffset, 'vk data offset') + HBIN_BASE;
    const img = this.image;
    const bigData = img.isCell(cell) && length > img.dataLen(cell) && img.dataLen(cell) >= DB.SIZE && img.sig(cell) === SIG.db;
    return { inline, length, cell, bigData };
  }

  /**
   * The value's data bytes (a copy). Inline data (≤ 4 bytes), a data cell, or big data (db
   * record + segments of 16344 bytes) — the way hivex value_value reads them, but an empty
   * value needs no data cell, and unsafe mode returns what fits instead of failing.
   */
  valueBytes(v: ValueRef): Uint8Array {
    const d = this.valueData(v);
    return d.buffer === this.image.buf.buffer ? d.slice() : d;
  }

  /**
   * The value's data, possibly as a view into the hive image (valid until the next write).
   * For readers that do not keep the bytes (exporters).
   */
  valueData(v: ValueRef): Uint8Array {
    const sp = this.valueDataSpan(v, { buf: this.image.buf, off: 0, len: 0 });
    return sp.buf.subarray(sp.off, sp.off + sp.len);
  }

  /**
   * Locate a value's data without allocating: fills `span` with the array, start and length
   * (the hive image itself, or a fresh array for big data). Same checks as valueBytes.
   */
  valueDataSpan(v: ValueRef, span: DataSpan): DataSpan {
    const img = this.image;
    const loc = this.valueLocation(v);
    if (loc.inline) {
      let len = loc.length;
      if (len > 4) {
        if (!this.unsafe) {
          throw new FormatError(HiveCode.BadInlineData, `${img.name}: value at ${hex(v)} declares ${len} bytes of inline data (at most 4 fit)`, { where: img.name, offset: v, actual: len });
        }
        this.warn({ offset: v, length: len }, 'inline data longer than 4 bytes: truncated (unsafe)');
        len = 4;
      }
      return setSpan(span, img.buf, v + CELL_HEADER + VK.dataOffset, len);
    }
    const len = loc.length;
    if (len > this.limits.maxValueBytes) {
      throw new LimitError(HiveCode.Limit, `${img.name}: value at ${hex(v)} declares ${len} bytes of data (limit ${this.limits.maxValueBytes})`, {
        where: img.name, offset: v, limit: 'maxValueBytes', actual: len,
      });
    }
    if (len === 0) return setSpan(span, img.buf, 0, 0);
    const cell = loc.cell!;
    // Even in unsafe mode: inventing empty data would be worse than skipping the value.
    if (!img.isCell(cell)) throw badRef(img, cell, v, 'data offset');
    const dl = img.dataLen(cell);
    if (len <= dl) return setSpan(span, img.buf, cell + CELL_HEADER, len);
    if (loc.bigData) {
      const b = this.bigData(v, cell, len);
      return setSpan(span, b, 0, b.length);
    }
    if (!this.unsafe) {
      throw new FormatError(HiveCode.BadValueData, `${img.name}: value at ${hex(v)} declares ${len} bytes of data but its data cell at ${hex(cell)} holds ${dl} and is not big data`, {
        where: img.name, offset: v, target: cell, expected: len, actual: dl,
      });
    }
    this.warn({ offset: v, declared: len, cell: dl }, 'value data longer than its cell: truncated to the cell (unsafe)');
    return setSpan(span, img.buf, cell + CELL_HEADER, dl);
  }

  /** Name, type and data (a view) of a value. */
  valueRecord(v: ValueRef): { name: string; type: number; data: Uint8Array } {
    const span = this.valueDataSpan(v, { buf: this.image.buf, off: 0, len: 0 });
    return { name: this.valueName(v), type: this.valueType(v), data: span.buf.subarray(span.off, span.off + span.len) };
  }

  /**
   * Everything an exporter needs from a vk in one pass with one validation: where the name
   * lies (not decoded: see decodeNameRange), the type and the data span (the same checks and
   * unsafe behaviour as valueName/valueType/valueDataSpan).
   */
  readValue(v: ValueRef, out: ValueRead): ValueRead {
    const img = this.image;
    if (!img.isCell(v)) throw new FormatError(HiveCode.BadCellRef, `${img.name}: ${hex(v)} is not the start of an allocated cell (value)`, { where: img.name, offset: v });
    const dl = img.dataLen(v);
    const d = v + CELL_HEADER;
    const dv = img.dv; // fields inside the cell, once its size is checked
    if (dl < VK.SIZE || dv.getUint16(d, true) !== SIG.vk) {
      if (dl < 2 || dv.getUint16(d, true) !== SIG.vk) throw badType(img, v, '"vk"', undefined, 'value');
      throw overflow(img, v, 'vk', VK.SIZE, dl);
    }
    const nlen = dv.getUint16(d + VK.nameLength, true);
    if (VK.name + nlen > dl) throw overflow(img, v, 'vk name', VK.name + nlen, dl);
    const compressed = (dv.getUint16(d + VK.flags, true) & ValueFlag.CompName) !== 0;
    if (!compressed && nlen % 2 !== 0) this.valueName(v); // throws, or warns (unsafe: the last byte is dropped)
    out.nameOff = d + VK.name;
    out.nameLen = nlen;
    out.nameCompressed = compressed;
    out.type = dv.getUint32(d + VK.type, true);
    const raw = dv.getUint32(d + VK.dataSize, true);
    out.buf = img.buf;
    if (raw < VK_DATA_INLINE) {
      const cell = dv.getUint32(d + VK.dataOffset, true) + HBIN_BASE;
      if (raw > 0 && raw <= this.limits.maxValueBytes && img.isCell(cell) && raw <= img.dataLen(cell)) {
        out.off = cell + CELL_HEADER;
        out.len = raw;
        return out;
      }
    } else if (raw - VK_DATA_INLINE <= 4) {
      // Inline data (up to 4 bytes) lives in the data offset field itself.
      out.off = d + VK.dataOffset;
      out.len = raw - VK_DATA_INLINE;
      return out;
    }
    this.valueDataSpan(v, out);
    return out;
  }

  private bigData(v: number, db: number, len: number): Uint8Array {
    const img = this.image;
    const view = img.view;
    const d = db + CELL_HEADER;
    const count = view.u16(d + DB.segmentCount, 'db segment count');
    const list = view.u32(d + DB.segmentList, 'db segment list') + HBIN_BASE;
    if (!img.isCell(list)) throw new FormatError(HiveCode.BadBigData, `${img.name}: big data record at ${hex(db)} (value ${hex(v)}) has segment list ${hex(list)}, which is not a cell`, { where: img.name, offset: db, target: list });
    const ldl = img.dataLen(list);
    if (count * 4 > ldl) throw overflow(img, list, `big data segment list of ${count} entries`, count * 4, ldl);
    const out = new Uint8Array(len);
    let got = 0;
    for (let i = 0; i < count && got < len; i++) {
      const seg = view.u32(list + CELL_HEADER + i * 4, 'db segment') + HBIN_BASE;
      if (!img.isCell(seg)) {
        throw new FormatError(HiveCode.BadBigData, `${img.name}: segment ${i} of the big data record at ${hex(db)} points to ${hex(seg)}, which is not a cell`, { where: img.name, offset: db, target: seg, segment: i });
      }
      const take = Math.min(img.dataLen(seg), BIG_DATA_SEGMENT, len - got);
      out.set(view.bytesAt(seg + CELL_HEADER, take, 'db segment data'), got);
      got += take;
    }
    if (got < len) {
      // hivex returns the shorter data too ("declared data length and amount of data found in sub-blocks differ").
      this.log.debug({ hive: img.name, value: v, declared: len, found: got }, 'big data shorter than declared');
      return out.slice(0, got);
    }
    return out;
  }

  /** Typed value: the most specific RegValue that represents the bytes exactly. */
  valueOf(v: ValueRef): RegValue {
    return decodeRegValue(this.valueName(v), this.valueType(v), this.valueBytes(v));
  }

  /** String of a REG_SZ/REG_EXPAND_SZ/REG_LINK value, up to the first NUL (hivex value_string). */
  valueString(v: ValueRef): string {
    const t = this.valueType(v);
    if (t !== RegType.REG_SZ && t !== RegType.REG_EXPAND_SZ && t !== RegType.REG_LINK) {
      throw new UsageError(HiveCode.BadValue, `${this.image.name}: value ${JSON.stringify(this.valueName(v))} has type ${t}, not a string`, { offset: v, type: t });
    }
    return decodeRegString(this.valueBytes(v));
  }

  /** Strings of a REG_MULTI_SZ value. */
  valueStrings(v: ValueRef): string[] {
    const t = this.valueType(v);
    if (t !== RegType.REG_MULTI_SZ) {
      throw new UsageError(HiveCode.BadValue, `${this.image.name}: value ${JSON.stringify(this.valueName(v))} has type ${t}, not REG_MULTI_SZ`, { offset: v, type: t });
    }
    return decodeMultiSz(this.valueBytes(v));
  }

  /** Number of a REG_DWORD / REG_DWORD_BIG_ENDIAN value (unsigned). */
  valueDword(v: ValueRef): number {
    const t = this.valueType(v);
    const b = this.valueBytes(v);
    if ((t !== RegType.REG_DWORD && t !== RegType.REG_DWORD_BIG_ENDIAN) || b.length < 4) {
      throw new UsageError(HiveCode.BadValue, `${this.image.name}: value ${JSON.stringify(this.valueName(v))} is not a 4-byte DWORD (type ${t}, ${b.length} bytes)`, { offset: v, type: t });
    }
    const x = new ByteView(b, 0, 'value');
    return t === RegType.REG_DWORD ? x.u32(0) : x.u32be(0);
  }

  /** Number of a REG_QWORD value (unsigned bigint). */
  valueQword(v: ValueRef): bigint {
    const t = this.valueType(v);
    const b = this.valueBytes(v);
    if (t !== RegType.REG_QWORD || b.length < 8) {
      throw new UsageError(HiveCode.BadValue, `${this.image.name}: value ${JSON.stringify(this.valueName(v))} is not an 8-byte QWORD (type ${t}, ${b.length} bytes)`, { offset: v, type: t });
    }
    return new ByteView(b, 0, 'value').u64(0);
  }

  /** Size of the vk record with its name (hivex value_struct_length). */
  valueStructLength(v: ValueRef): number {
    return CELL_HEADER + VK.SIZE + this.valueNameBytes(v).bytes.length;
  }

  // ------------------------------------------------------------------ walk

  /**
   * Depth-first, pre-order walk over keys, subkeys in on-disk order. Guarded by a visited set
   * (a key reached twice is a cycle or a shared subtree: LoopError, or skipped in unsafe mode,
   * like hivex_visit's ELOOP), the depth limit and the node-count limit. Explicit stack, so deep
   * hives do not overflow the JS call stack.
   */
  *walk(from: NodeRef = this.root): Generator<{ node: NodeRef; path: string; depth: number }> {
    const seen = new Set<number>();
    const stack: { node: NodeRef; path: string; depth: number }[] = [{ node: from, path: from === this.root ? '' : this.nodePath(from), depth: 0 }];
    let count = 0;
    while (stack.length > 0) {
      const top = stack.pop()!;
      if (seen.has(top.node)) {
        if (!this.unsafe) {
          throw new LoopError(HiveCode.Cycle, `${this.image.name}: key at ${hex(top.node)} (${top.path}) is reached twice while walking`, { where: this.image.name, offset: top.node });
        }
        this.warn({ offset: top.node, path: top.path }, 'key reached twice: skipped (unsafe)');
        continue;
      }
      seen.add(top.node);
      if (++count > this.limits.maxWalkNodes) {
        throw new LimitError(HiveCode.Limit, `${this.image.name}: more than ${this.limits.maxWalkNodes} keys walked`, { where: this.image.name, limit: 'maxWalkNodes' });
      }
      yield top;
      if (top.depth >= this.limits.maxDepth) {
        if (this.nodeSubkeyCount(top.node) > 0) {
          throw new LimitError(HiveCode.Limit, `${this.image.name}: key ${top.path} is deeper than ${this.limits.maxDepth} levels`, { where: this.image.name, limit: 'maxDepth', offset: top.node });
        }
        continue;
      }
      const kids = this.children(top.node);
      for (let i = kids.length - 1; i >= 0; i--) {
        const k = kids[i]!;
        const name = this.nodeName(k);
        stack.push({ node: k, path: top.path === '' ? name : `${top.path}\\${name}`, depth: top.depth + 1 });
      }
    }
  }
}

/** What readValue fills in: the name as a range of the hive image, the type, the data span. */
export interface ValueRead extends DataSpan, NameSpan {
  type: number;
}

/** A range of bytes: `buf[off, off + len)`. */
export interface DataSpan {
  buf: Uint8Array;
  off: number;
  len: number;
}

function setSpan(span: DataSpan, buf: Uint8Array, off: number, len: number): DataSpan {
  span.buf = buf;
  span.off = off;
  span.len = len;
  return span;
}

/** Split "\\A\\B" / "A\\B\\" into ["A", "B"]. */
export function splitKeyPath(path: string): string[] {
  return path.split('\\').filter((p) => p.length > 0);
}
