import {
  ByteWriter, ExistsError, FormatError, ReadOnlyError, UnsafeStateError, UsageError, hex, nowFiletime, nullLogger, type Logger,
} from '@guestkit/disk/binary';
import { HiveCode } from './errors.js';
import { BASE, CELL_NIL, HBIN_BASE, writeBaseBlockChecksum } from './layout/base-block.js';
import { NK, VK, SK, DB, SIG, KeyFlag, ValueFlag, VK_DATA_INLINE, BIG_DATA_SEGMENT } from './layout/cells.js';
import { HBIN, HBIN_ALIGN, CELL_HEADER } from './layout/hbin.js';
import type { HiveLimits } from './limits.js';
import { HiveImage } from './read/hive-image.js';
import { HiveReader, splitKeyPath, type NodeRef, type ValueRef } from './read/hive-reader.js';
import { encodeName, namesEqual, utf16Size } from './read/names.js';
import { encodeRegValue, type RegValue } from './read/value-decode.js';
import { absRef } from './read/cell-ref.js';
import { Allocator, alignCell } from './write/allocator.js';
import { defaultRootSecurityDescriptor } from './write/security.js';
import { insertSubkey, removeSubkey, listCells, setSubkeyListField, type ListContext } from './write/subkey-lists.js';

export interface HiveOpenOptions {
  /** Allow edits (hivex HIVEX_OPEN_WRITE). Default false: every write throws ReadOnlyError. */
  writable?: boolean;
  /** Read damaged hives as far as possible, skipping bad parts with warnings (hivex HIVEX_OPEN_UNSAFE). */
  unsafe?: boolean;
  /** Permit writes to a dirty hive (sequence numbers differ) that was not recovered from its logs. */
  allowDirty?: boolean;
  /** Override walking limits. */
  limits?: Partial<HiveLimits>;
  logger?: Logger;
  /** Name used in messages (file name, "SYSTEM", ...). */
  name?: string;
  /** Clock for key and header timestamps (FILETIME); default the current time. */
  now?: () => bigint;
}

/** What changed since open (for dry runs and reports). */
export interface HiveCreateOptions {
  /** Name of the root key (Windows uses names like "ROOT", "$$$PROTO.HIV", "CsiTool-CreateHive-{GUID}"). Default "ROOT". */
  rootName?: string;
  /** 3 (standard format) or 5 (latest format, default). */
  minorVersion?: number;
  /** UTF-16 file name stored in the base block (≤ 31 characters; debugging aid). */
  fileName?: string;
  /** Self-relative security descriptor for the root key; default O:BAG:SYD:(A;CI;KA;;;SY)(A;CI;KA;;;BA)(A;CI;KR;;;BU). */
  securityDescriptor?: Uint8Array;
  now?: () => bigint;
  logger?: Logger;
  name?: string;
  limits?: Partial<HiveLimits>;
}

export interface HiveChangeStats {
  keysAdded: number;
  keysDeleted: number;
  valuesSet: number;
  valuesDeleted: number;
  bytesAllocated: number;
  bytesFreed: number;
}

/** A value to store: name + type number + bytes (what hivex_node_set_value takes). */
export interface RawValue {
  name: string;
  type: number;
  data: Uint8Array;
}

/** Windows: key names up to 255 characters; value names up to 16383. */
const MAX_KEY_NAME = 255;
const MAX_VALUE_NAME = 16383;

/**
 * A Windows registry hive: hivex's model (offset handles, case-insensitive lookups, typed
 * values), checked against hostile input, with safe in-memory writes. Open one with
 * `Hive.open(bytes)` or `Hive.create()`; write changes back with `serialize()` (or
 * `commitHiveFile` in file.ts, which also replays transaction logs and writes atomically).
 */
export class Hive extends HiveReader {
  readonly writable: boolean;
  private readonly allowDirty: boolean;
  private readonly now: () => bigint;
  private alloc?: Allocator;
  private modified = false;
  /** True when the in-memory image came from transaction-log recovery (so it is current). */
  recovered = false;
  readonly changes: HiveChangeStats = { keysAdded: 0, keysDeleted: 0, valuesSet: 0, valuesDeleted: 0, bytesAllocated: 0, bytesFreed: 0 };

  private constructor(image: HiveImage, opts: HiveOpenOptions) {
    super(image, opts.limits);
    this.writable = Boolean(opts.writable);
    this.allowDirty = Boolean(opts.allowDirty);
    this.now = opts.now ?? nowFiletime;
  }

  /**
   * Open a hive from its bytes. Validates the base block (signature, version, type, checksum),
   * scans every hbin into the valid-cell index, and checks the root. When writable, the bytes
   * are copied (the caller's buffer is never modified).
   * @throws FormatError (corrupt), UnsupportedError (NT 3.1 hive), LimitError
   */
  static open(bytes: Uint8Array, opts: HiveOpenOptions = {}): Hive {
    // A plain Uint8Array view (Buffer#subarray is much slower) or a private copy for writing.
    const data = opts.writable ? copyBytes(bytes) : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const img = new HiveImage(data, { unsafe: Boolean(opts.unsafe), log: opts.logger ?? nullLogger, name: opts.name ?? 'hive' });
    return new Hive(img, opts);
  }

  /**
   * A new, empty hive (hivex cannot do this): base block + one hbin holding the root key and
   * its security descriptor. Version 1.5 by default ("latest format": lh leaves, big data);
   * 1.3 is the "standard format" (lf leaves, no big data). Writable.
   */
  static create(opts: HiveCreateOptions = {}): Hive {
    const now = opts.now ?? nowFiletime;
    const ts = now();
    const minor = opts.minorVersion ?? 5;
    if (minor < 3 || minor > 6) throw new UsageError(HiveCode.UnsupportedVersion, `cannot create a hive of version 1.${minor} (3..6)`, { minor });
    const rootName = opts.rootName ?? 'ROOT';
    checkKeyName(rootName);
    const bytes = new Uint8Array(BASE.SIZE + HBIN_ALIGN);
    const w = new ByteWriter(bytes);
    // Base block.
    w.ascii(BASE.signature, 'regf');
    w.u32(BASE.sequence1, 1).u32(BASE.sequence2, 1).u64(BASE.lastWritten, ts);
    w.u32(BASE.majorVersion, 1).u32(BASE.minorVersion, minor).u32(BASE.fileType, 0).u32(BASE.fileFormat, 1);
    w.u32(BASE.rootCell, HBIN.SIZE).u32(BASE.hiveBinsSize, HBIN_ALIGN).u32(BASE.clustering, 1);
    const fileName = (opts.fileName ?? '').slice(0, 31);
    w.utf16(BASE.fileName, fileName);
    // First hbin.
    const hb = BASE.SIZE;
    w.u32(hb + HBIN.signature, 0x6e696268).u32(hb + HBIN.offset, 0).u32(hb + HBIN.size, HBIN_ALIGN).u64(hb + HBIN.timestamp, ts);
    // Root nk.
    const enc = encodeName(rootName);
    const nk = hb + HBIN.SIZE;
    const nkSize = alignCell(CELL_HEADER + NK.SIZE + enc.bytes.length);
    const sd = opts.securityDescriptor ?? defaultRootSecurityDescriptor();
    const sk = nk + nkSize;
    const skSize = alignCell(CELL_HEADER + SK.SIZE + sd.length);
    if (sk + skSize + 8 > hb + HBIN_ALIGN) throw new UsageError(HiveCode.BadValue, 'security descriptor too large for a new hive', { size: sd.length });
    w.i32(nk, -nkSize);
    const d = nk + CELL_HEADER;
    w.u16(d + NK.signature, SIG.nk);
    w.u16(d + NK.flags, KeyFlag.HiveEntry | KeyFlag.NoDelete | (enc.compressed ? KeyFlag.CompName : 0));
    w.u64(d + NK.lastWritten, ts);
    w.u32(d + NK.parent, CELL_NIL);
    w.u32(d + NK.subkeyList, CELL_NIL).u32(d + NK.volatileSubkeyList, CELL_NIL);
    w.u32(d + NK.valueList, CELL_NIL).u32(d + NK.security, sk - HBIN_BASE).u32(d + NK.className, CELL_NIL);
    w.u16(d + NK.nameLength, enc.bytes.length).bytesAt(d + NK.name, enc.bytes);
    // Root sk: the only entry of the hive's sk list (flink = blink = itself).
    w.i32(sk, -skSize);
    const e = sk + CELL_HEADER;
    w.u16(e + SK.signature, SIG.sk).u32(e + SK.flink, sk - HBIN_BASE).u32(e + SK.blink, sk - HBIN_BASE);
    w.u32(e + SK.refCount, 1).u32(e + SK.descriptorSize, sd.length).bytesAt(e + SK.descriptor, sd);
    // The rest of the bin is one free cell.
    const free = sk + skSize;
    w.i32(free, hb + HBIN_ALIGN - free);
    writeBaseBlockChecksum(bytes.subarray(0, 0x200));
    const img = new HiveImage(bytes, { unsafe: false, log: opts.logger ?? nullLogger, name: opts.name ?? 'new hive' });
    const h = new Hive(img, { writable: true, now, ...(opts.limits ? { limits: opts.limits } : {}) });
    // We own the first bin: keep allocating in its free tail.
    h.alloc = new Allocator(img, { next: free, binEnd: hb + HBIN_ALIGN });
    h.modified = true;
    return h;
  }

  /** @internal Wrap an image built elsewhere (log recovery). */
  static fromImage(img: HiveImage, opts: HiveOpenOptions, recovered: boolean): Hive {
    const h = new Hive(img, opts);
    h.recovered = recovered;
    return h;
  }

  /** Base-block sequence numbers differ, or the checksum was bad: the primary file alone may be stale. */
  get dirty(): boolean {
    if (this.recovered) return false;
    const b = this.image.base;
    return b.sequence1 !== b.sequence2 || !b.checksumOk;
  }

  /** Last-written FILETIME from the base block. */
  get lastModified(): bigint {
    return this.image.view.u64(BASE.lastWritten, 'last written');
  }

  get sequenceNumbers(): [number, number] {
    const v = this.image.view;
    return [v.u32(BASE.sequence1), v.u32(BASE.sequence2)];
  }

  /** True when something was changed since open. */
  get isModified(): boolean {
    return this.modified;
  }

  // ---------------------------------------------------------------- writes

  private beginWrite(): { alloc: Allocator } {
    if (!this.writable) {
      throw new ReadOnlyError(HiveCode.ReadOnly, `${this.image.name}: hive opened read-only (open it writable to edit)`, { where: this.image.name });
    }
    if (this.unsafe) {
      // unsafe reading skips what it cannot parse; writing on top of a half-understood image could
      // destroy data (STYLE.md: unsafe is for reading only).
      throw new UsageError(HiveCode.ReadOnly, `${this.image.name}: a hive opened with unsafe is read-only`, { where: this.image.name });
    }
    if (this.dirty && !this.allowDirty) {
      throw new UnsafeStateError(HiveCode.Dirty, `${this.image.name}: the hive is dirty (sequence numbers ${this.image.base.sequence1}/${this.image.base.sequence2}${this.image.base.checksumOk ? '' : ', bad checksum'}); replay its transaction logs first (open it with its .LOG1/.LOG2), or allow writing a dirty hive explicitly`, {
        where: this.image.name, sequence1: this.image.base.sequence1, sequence2: this.image.base.sequence2,
      });
    }
    if (!this.alloc) this.alloc = new Allocator(this.image);
    this.modified = true;
    return { alloc: this.alloc };
  }

  /** A writer over the current buffer (allocation may replace the buffer: never keep one across an alloc). */
  private get wr(): ByteWriter {
    return this.image.writer;
  }

  private w(): ByteWriter {
    return this.wr;
  }

  private listCtx(alloc: Allocator): ListContext {
    return {
      img: this.image,
      alloc,
      nameOf: (n) => this.nodeName(n as NodeRef),
      leafSig: this.image.base.minorVersion >= 5 ? SIG.lh : SIG.lf,
    };
  }

  private touch(n: NodeRef, ts: bigint): void {
    this.w().u64(n + CELL_HEADER + NK.lastWritten, ts, 'nk last written');
  }

  private nkField(n: number, field: number): number {
    return this.image.view.u32(n + CELL_HEADER + field, 'nk field');
  }

  private setNkField(n: number, field: number, v: number): void {
    this.w().u32(n + CELL_HEADER + field, v >>> 0, 'nk field');
  }

  /**
   * Add a subkey named `name` (hivex node_add_child): sorted into the parent's subkey list with
   * correct lh hashes, sharing the parent's security descriptor (its sk reference count goes
   * up), timestamped now; the parent's timestamp and largest-name field are updated.
   * @throws ExistsError when a subkey of that name exists (case-insensitively)
   */
  addChild(parent: NodeRef, name: string): NodeRef {
    checkKeyName(name);
    this.nk(parent);
    if (this.child(parent, name) !== undefined) {
      throw new ExistsError(HiveCode.Exists, `${this.image.name}: key ${JSON.stringify(name)} already exists under ${this.pathLabel(parent)}`, { where: this.image.name, parent, name });
    }
    const { alloc } = this.beginWrite();
    const ts = this.now();
    const enc = encodeName(name);
    const nk = alloc.alloc(NK.SIZE + enc.bytes.length, SIG.nk);
    const d = nk + CELL_HEADER;
    this.wr.u16(d + NK.flags, enc.compressed ? KeyFlag.CompName : 0, 'nk flags');
    this.wr.u64(d + NK.lastWritten, ts, 'nk last written');
    this.wr.u32(d + NK.parent, parent - HBIN_BASE, 'nk parent');
    this.wr.u32(d + NK.subkeyList, CELL_NIL, 'nk subkey list');
    this.wr.u32(d + NK.volatileSubkeyList, CELL_NIL, 'nk volatile subkey list');
    this.wr.u32(d + NK.valueList, CELL_NIL, 'nk value list');
    this.wr.u32(d + NK.className, CELL_NIL, 'nk class name');
    this.wr.u16(d + NK.nameLength, enc.bytes.length, 'nk name length');
    this.wr.bytesAt(d + NK.name, enc.bytes, 'nk name');
    // Security: share the parent's sk (hivex does the same).
    const sk = this.nodeSecurityCell(parent);
    if (sk !== undefined) {
      this.wr.u32(d + NK.security, sk - HBIN_BASE, 'nk security');
      const rc = this.image.view.u32(sk + CELL_HEADER + SK.refCount, 'sk refcount');
      this.wr.u32(sk + CELL_HEADER + SK.refCount, rc + 1, 'sk refcount');
    } else {
      this.wr.u32(d + NK.security, CELL_NIL, 'nk security');
    }
    // Link into the parent.
    const ctx = this.listCtx(alloc);
    const count = this.nkField(parent, NK.subkeyCount);
    const oldList = count === 0 ? undefined : absRef(this.nkField(parent, NK.subkeyList));
    const list = insertSubkey(ctx, oldList, nk, name);
    setSubkeyListField(ctx, parent, list);
    this.setNkField(parent, NK.subkeyCount, count + 1);
    const maxRaw = this.nkField(parent, NK.maxSubkeyNameLen);
    const low = maxRaw % 0x10000;
    const nameSize = utf16Size(name);
    if (nameSize > low) this.setNkField(parent, NK.maxSubkeyNameLen, maxRaw - low + Math.min(nameSize, 0xffff));
    this.touch(parent, ts);
    this.noteChildAdded(parent, name, nk as NodeRef);
    this.changes.keysAdded++;
    this.syncStats();
    return nk as NodeRef;
  }

  /** Add every missing key along `path` below `from`; returns the last key. */
  ensurePath(path: string, from: NodeRef = this.root): NodeRef {
    let n = from;
    for (const part of splitKeyPath(path)) n = this.child(n, part) ?? this.addChild(n, part);
    return n;
  }

  /**
   * Delete a key and everything below it (hivex node_delete_child). All cells of the subtree
   * are collected first — a corrupt subtree throws before anything is changed — then freed;
   * security descriptors lose one reference per key and are freed at zero.
   */
  deleteChild(node: NodeRef): void {
    if (node === this.root) {
      throw new UsageError(HiveCode.RootKey, `${this.image.name}: the root key cannot be deleted`, { where: this.image.name });
    }
    const parent = this.parent(node);
    if (parent === undefined) throw new UsageError(HiveCode.RootKey, `${this.image.name}: the root key cannot be deleted`, {});
    // Plan: every key in the subtree (post-order) and its cells.
    const plan: { nk: number; cells: number[]; sk?: number }[] = [];
    let keys = 0;
    let valuesRemoved = 0;
    for (const { node: k } of this.walk(node)) {
      keys++;
      const cells: number[] = [];
      for (const v of this.values(k)) {
        cells.push(...this.valueCells(v));
        valuesRemoved++;
      }
      const vl = this.nodeValueCount(k) > 0 ? absRef(this.nkField(k, NK.valueList)) : undefined;
      if (vl !== undefined && this.image.isCell(vl)) cells.push(vl);
      const cnLen = this.image.view.u16(k + CELL_HEADER + NK.classNameLength, 'nk class name length');
      const cn = absRef(this.nkField(k, NK.className));
      if (cn !== undefined && cnLen > 0 && this.image.isCell(cn)) cells.push(cn);
      if (this.nodeSubkeyCount(k) > 0) {
        const sl = absRef(this.nkField(k, NK.subkeyList));
        if (sl !== undefined && this.image.isCell(sl)) cells.push(...listCells(this.listCtx(this.alloc ?? new Allocator(this.image)), sl));
      }
      const sk = this.nodeSecurityCell(k);
      plan.push(sk === undefined ? { nk: k, cells } : { nk: k, cells, sk });
    }
    const { alloc } = this.beginWrite();
    const ctx = this.listCtx(alloc);
    // Unlink from the parent first (it reads the child's name for nothing; no names needed).
    const count = this.nkField(parent, NK.subkeyCount);
    const list = absRef(this.nkField(parent, NK.subkeyList));
    if (list === undefined) throw new FormatError(HiveCode.BadSubkeyList, `${this.image.name}: parent of ${hex(node)} has no subkey list`, { offset: parent });
    const nl = removeSubkey(ctx, list, node);
    setSubkeyListField(ctx, parent, nl);
    this.setNkField(parent, NK.subkeyCount, count - 1);
    this.dropSubkeyIndex(parent);
    this.touch(parent, this.now());
    const freedSk = new Set<number>();
    for (const p of plan) {
      for (const c of p.cells) alloc.free(c);
      if (p.sk !== undefined && !freedSk.has(p.sk)) {
        const rcAt = p.sk + CELL_HEADER + SK.refCount;
        const rc = this.image.view.u32(rcAt, 'sk refcount');
        if (rc <= 1) {
          this.unlinkSk(p.sk);
          alloc.free(p.sk);
          freedSk.add(p.sk);
        } else {
          this.w().u32(rcAt, rc - 1, 'sk refcount');
        }
      }
      alloc.free(p.nk);
      this.dropSubkeyIndex(p.nk);
      this.dropValueIndex(p.nk);
    }
    this.changes.keysDeleted += keys;
    this.changes.valuesDeleted += valuesRemoved;
    this.syncStats();
  }

  /** Remove an sk cell from the hive's doubly linked sk list before freeing it. */
  private unlinkSk(sk: number): void {
    const v = this.image.view;
    const flink = v.u32(sk + CELL_HEADER + SK.flink, 'sk flink') + HBIN_BASE;
    const blink = v.u32(sk + CELL_HEADER + SK.blink, 'sk blink') + HBIN_BASE;
    if (flink === sk || blink === sk) return;
    const w = this.w();
    if (this.image.isCell(blink) && this.image.sig(blink) === SIG.sk) w.u32(blink + CELL_HEADER + SK.flink, flink - HBIN_BASE, 'sk flink');
    if (this.image.isCell(flink) && this.image.sig(flink) === SIG.sk) w.u32(flink + CELL_HEADER + SK.blink, blink - HBIN_BASE, 'sk blink');
  }

  /** Cells owned by a value: the vk, its data cell, or db + segment list + segments. */
  private valueCells(v: ValueRef): number[] {
    const cells = [v as number];
    const loc = this.valueLocation(v);
    if (loc.inline || loc.cell === undefined || !this.image.isCell(loc.cell) || loc.length === 0) return cells;
    cells.push(loc.cell);
    if (loc.bigData) {
      const view = this.image.view;
      const d = loc.cell + CELL_HEADER;
      const count = view.u16(d + DB.segmentCount, 'db count');
      const list = view.u32(d + DB.segmentList, 'db list') + HBIN_BASE;
      if (this.image.isCell(list)) {
        cells.push(list);
        const n = Math.min(count, Math.floor(this.image.dataLen(list) / 4));
        for (let i = 0; i < n; i++) {
          const seg = view.u32(list + CELL_HEADER + i * 4, 'db segment') + HBIN_BASE;
          if (this.image.isCell(seg)) cells.push(seg);
        }
      }
    }
    return cells;
  }

  /** Store one value's data; returns the vk cell. */
  private writeValue(alloc: Allocator, name: string, type: number, data: Uint8Array): number {
    checkValueName(name);
    // Readers (hivex, and us by default) refuse values over 8 MB; Windows' standard format (1.3)
    // allows 1 MB in one cell.
    const max = this.image.base.minorVersion >= 4 ? this.limits.maxValueBytes : Math.min(this.limits.maxValueBytes, 1024 * 1024);
    if (data.length > max) throw new UsageError(HiveCode.BadValue, `value ${JSON.stringify(name)}: ${data.length} bytes is more than the ${max} a hive of version ${this.version} can hold readably`, { name, size: data.length, limit: max });
    const enc = encodeName(name);
    const vk = alloc.alloc(VK.SIZE + enc.bytes.length, SIG.vk);
    const d = vk + CELL_HEADER;
    this.wr.u16(d + VK.nameLength, enc.bytes.length, 'vk name length');
    this.wr.u32(d + VK.type, type >>> 0, 'vk type');
    this.wr.u16(d + VK.flags, enc.compressed && enc.bytes.length > 0 ? ValueFlag.CompName : 0, 'vk flags');
    this.wr.bytesAt(d + VK.name, enc.bytes, 'vk name');
    if (data.length <= 4) {
      this.wr.u32(d + VK.dataSize, VK_DATA_INLINE + data.length, 'vk data size');
      this.wr.bytesAt(d + VK.dataOffset, data, 'vk inline data');
      return vk;
    }
    this.wr.u32(d + VK.dataSize, data.length, 'vk data size');
    if (data.length > BIG_DATA_SEGMENT && this.image.base.minorVersion >= 4) {
      const nseg = Math.ceil(data.length / BIG_DATA_SEGMENT);
      if (nseg > 0xffff) throw new UsageError(HiveCode.BadValue, `value ${JSON.stringify(name)}: too large for big data (${data.length} bytes)`, { name });
      const db = alloc.alloc(DB.SIZE + 4, SIG.db);
      const list = alloc.alloc(nseg * 4);
      this.wr.u16(db + CELL_HEADER + DB.segmentCount, nseg, 'db count');
      this.wr.u32(db + CELL_HEADER + DB.segmentList, list - HBIN_BASE, 'db list');
      for (let i = 0; i < nseg; i++) {
        const part = data.subarray(i * BIG_DATA_SEGMENT, Math.min(data.length, (i + 1) * BIG_DATA_SEGMENT));
        // Windows allocates every segment at full size, the last one zero-padded (and hivex
        // reads a segment as its cell size minus 8, so a tight last cell would lose bytes).
        const seg = alloc.alloc(BIG_DATA_SEGMENT);
        this.wr.bytesAt(seg + CELL_HEADER, part, 'db segment');
        this.wr.u32(list + CELL_HEADER + i * 4, seg - HBIN_BASE, 'db segment entry');
      }
      this.wr.u32(d + VK.dataOffset, db - HBIN_BASE, 'vk data offset');
      return vk;
    }
    const cell = alloc.alloc(data.length);
    this.wr.bytesAt(cell + CELL_HEADER, data, 'value data');
    this.wr.u32(d + VK.dataOffset, cell - HBIN_BASE, 'vk data offset');
    return vk;
  }

  private writeValueList(alloc: Allocator, node: NodeRef, vks: number[]): void {
    const d = node + CELL_HEADER;
    const old = this.nodeValueCount(node) > 0 ? absRef(this.nkField(node, NK.valueList)) : undefined;
    if (vks.length === 0) {
      if (old !== undefined) alloc.free(old);
      this.wr.u32(d + NK.valueList, CELL_NIL, 'nk value list');
      this.wr.u32(d + NK.valueCount, 0, 'nk value count');
      return;
    }
    let list: number;
    if (old !== undefined && this.image.isCell(old) && this.image.dataLen(old) >= vks.length * 4) list = old;
    else {
      if (old !== undefined) alloc.free(old);
      list = alloc.alloc(Math.max(vks.length + 2, Math.ceil(vks.length * 1.25)) * 4);
    }
    for (let i = 0; i < vks.length; i++) this.wr.u32(list + CELL_HEADER + i * 4, vks[i]! - HBIN_BASE, 'value list entry');
    this.wr.u32(d + NK.valueList, list - HBIN_BASE, 'nk value list');
    this.wr.u32(d + NK.valueCount, vks.length, 'nk value count');
  }

  private updateValueMaxima(node: NodeRef, name: string, len: number): void {
    const d = node + CELL_HEADER;
    const v = this.image.view;
    if (utf16Size(name) > v.u32(d + NK.maxValueNameLen)) this.wr.u32(d + NK.maxValueNameLen, utf16Size(name), 'nk max value name');
    if (len > v.u32(d + NK.maxValueDataLen)) this.wr.u32(d + NK.maxValueDataLen, len, 'nk max value data');
  }

  /**
   * Set (add or replace, matched case-insensitively) one value of a key. Accepts a typed
   * RegValue or raw {name, type: number, data}. Data ≤ 4 bytes is stored inline; data over
   * 16344 bytes is stored as big data (db + segments) in hives of version ≥ 1.4.
   */
  setValue(node: NodeRef, value: RegValue | RawValue): void {
    const enc = encodeRegValue(value as RegValue);
    this.setRawValue(node, value.name, enc.type, enc.data);
  }

  /** Set one value from its type number and bytes. */
  setRawValue(node: NodeRef, name: string, type: number, data: Uint8Array): void {
    checkValueName(name);
    const count = this.nodeValueCount(node);
    const idx = this.valueIndexOf(node, name);
    const existing = idx >= 0 ? this.values(node)[idx]! : undefined;
    const freeing = existing !== undefined ? this.valueCells(existing) : [];
    const { alloc } = this.beginWrite();
    const vk = this.writeValue(alloc, name, type, data);
    const list = count > 0 ? absRef(this.nkField(node, NK.valueList)) : undefined;
    if (existing !== undefined && list !== undefined) {
      // Replace in place: the list slot now points at the new vk.
      this.wr.u32(list + CELL_HEADER + idx * 4, vk - HBIN_BASE, 'value list entry');
    } else if (list !== undefined && this.image.isCell(list) && this.image.dataLen(list) >= (count + 1) * 4) {
      // Append in place: the list cell has room.
      this.wr.u32(list + CELL_HEADER + count * 4, vk - HBIN_BASE, 'value list entry');
      this.setNkField(node, NK.valueCount, count + 1);
      this.noteValueAdded(node, name, count);
    } else {
      const vks = this.values(node).map((x) => x as number);
      vks.push(vk);
      this.writeValueList(alloc, node, vks);
      this.noteValueAdded(node, name, count);
    }
    for (const c of freeing) alloc.free(c);
    this.updateValueMaxima(node, name, data.length);
    this.touch(node, this.now());
    this.changes.valuesSet++;
    this.syncStats();
  }

  /** Replace all values of a key (hivex node_set_values). */
  setValues(node: NodeRef, values: readonly (RegValue | RawValue)[]): void {
    const encoded = values.map((v) => ({ name: v.name, ...encodeRegValue(v as RegValue) }));
    for (let i = 0; i < encoded.length; i++) {
      checkValueName(encoded[i]!.name);
      for (let j = 0; j < i; j++) {
        if (namesEqual(encoded[i]!.name, encoded[j]!.name)) {
          throw new UsageError(HiveCode.BadValue, `value ${JSON.stringify(encoded[i]!.name)} given twice`, { name: encoded[i]!.name });
        }
      }
    }
    const old = this.values(node);
    const freeing = old.flatMap((v) => this.valueCells(v));
    const { alloc } = this.beginWrite();
    const vks = encoded.map((e) => this.writeValue(alloc, e.name, e.type, e.data));
    this.writeValueList(alloc, node, vks);
    this.dropValueIndex(node);
    for (const c of freeing) alloc.free(c);
    for (const e of encoded) this.updateValueMaxima(node, e.name, e.data.length);
    this.touch(node, this.now());
    this.changes.valuesDeleted += old.length;
    this.changes.valuesSet += encoded.length;
    this.syncStats();
  }

  /** Delete one value (case-insensitive name; "" = default). Returns false if it was absent. */
  deleteValue(node: NodeRef, name: string): boolean {
    const idx = this.valueIndexOf(node, name);
    if (idx < 0) return false;
    const existing = this.values(node);
    const freeing = this.valueCells(existing[idx]!);
    const { alloc } = this.beginWrite();
    const vks = existing.map((x) => x as number);
    vks.splice(idx, 1);
    this.writeValueList(alloc, node, vks);
    this.dropValueIndex(node);
    for (const c of freeing) alloc.free(c);
    this.touch(node, this.now());
    this.changes.valuesDeleted++;
    this.syncStats();
    return true;
  }

  /** Set the last-written time of a key explicitly. */
  setNodeTimestamp(node: NodeRef, ts: bigint): void {
    this.nk(node);
    this.beginWrite();
    this.touch(node, ts);
  }

  private syncStats(): void {
    if (!this.alloc) return;
    this.changes.bytesAllocated = this.alloc.allocatedBytes;
    this.changes.bytesFreed = this.alloc.freedBytes;
  }

  private pathLabel(n: NodeRef): string {
    try {
      return '\\' + this.nodePath(n);
    } catch {
      return hex(n);
    }
  }

  // ---------------------------------------------------------------- output

  /**
   * The hive file bytes with all changes: hive bins size updated, both sequence numbers set to
   * one more than the larger, the last-written timestamp set (also in the first hbin, its
   * backup copy), and the checksum recomputed. Unmodified hives come back byte for byte (a
   * recovered hive gets a fresh, clean base block). Returns a new array.
   */
  serialize(): Uint8Array {
    const img = this.image;
    if (!this.modified && !this.recovered) return copyBytes(img.bytes());
    const end = this.alloc ? this.alloc.hbinsEnd : img.stats.hbinsEnd;
    const size = Math.max(end, this.recovered ? end : img.size);
    const out = new Uint8Array(size);
    out.set(img.buf.subarray(0, Math.min(size, img.size)));
    const w = new ByteWriter(out);
    const v = img.view;
    const seq = (Math.max(v.u32(BASE.sequence1), v.u32(BASE.sequence2)) + 1) >>> 0;
    w.u32(BASE.sequence1, seq, 'sequence1');
    w.u32(BASE.sequence2, seq, 'sequence2');
    w.u32(BASE.fileType, 0, 'file type');
    w.u32(BASE.hiveBinsSize, end - HBIN_BASE, 'hive bins size');
    if (this.modified) {
      const ts = this.now();
      w.u64(BASE.lastWritten, ts, 'last written');
      w.u64(HBIN_BASE + HBIN.timestamp, ts, 'first hbin timestamp');
    }
    writeBaseBlockChecksum(out.subarray(0, 0x200));
    return out;
  }
}

function copyBytes(b: Uint8Array): Uint8Array {
  const c = new Uint8Array(b.length);
  c.set(b);
  return c;
}

function checkKeyName(name: string): void {
  if (typeof name !== 'string' || name.length === 0 || name.length > MAX_KEY_NAME || name.includes('\\')) {
    throw new UsageError(HiveCode.InvalidName, `invalid key name ${JSON.stringify(name)}: must be 1-${MAX_KEY_NAME} characters without a backslash`, { name });
  }
}

function checkValueName(name: string): void {
  if (typeof name !== 'string' || name.length > MAX_VALUE_NAME) {
    throw new UsageError(HiveCode.InvalidName, `invalid value name (at most ${MAX_VALUE_NAME} characters)`, { length: name?.length });
  }
}

export type { NodeRef, ValueRef };
