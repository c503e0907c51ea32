/**
 * The BCD editor: bcdedit's editing verbs over a writable hive (@guestkit/hive). Each verb
 * changes as little as it can — one `Elements\XXXXXXXX` key and its `Element` value, or one
 * object key — and leaves every other key, value and unknown element byte for byte as it was.
 * The store is re-read through the decoder (store.ts) after every change, so checks and the
 * change report always see what is really in the hive.
 *
 * Safety checks bcdedit does not make (each can be overridden with `force`): `default` and the
 * boot menu lists only take boot applications that exist; the boot managers, the default entry
 * and the well-known settings objects are not deleted; removing the default from the display
 * order, pointing at missing objects and references left behind by `delete` are warned about.
 */
import { ExistsError, NotFoundError, UsageError, isGuid } from '@guestkit/disk/binary';
import type { Hive, NodeRef } from '@guestkit/hive';
import { hiveKey } from '../registry/reg-tree.js';
import type { PartitionResolver } from './device.js';
import { parseBcdDeviceSpec, resolveBcdDevice, type BcdPartitionCatalog } from './edit-device.js';
import { BcdEditCode } from './edit-errors.js';
import { encodeBcdValue, parseBcdInteger, parseBcdScalar, type BcdWritableValue } from './edit-values.js';
import { BCD_ELEMENT_TABLES, elementFormat, elementInfo, elementName, elementTypeByName, type BcdElementScope } from './element-types.js';
import { BCDE, defaultObjectId, elementValueLines, objectLabel } from './format.js';
import { BOOTMGR_ID, FWBOOTMGR_ID, WELL_KNOWN_OBJECTS, guidOfAlias } from './object-types.js';
import { bcdElement, findBcdObject, readBcdStore, type BcdObject, type BcdStore } from './store.js';

/** How an object-list edit combines with the list already there. */
export type BcdListMode = 'set' | 'addfirst' | 'addlast' | 'remove';

/** One change made to the store, for reports and --json. */
export interface BcdChange {
  action: 'set' | 'deletevalue' | 'create' | 'delete';
  /** Object GUID (lower case, braces). */
  object: string;
  /** How bcdedit would name the object ({default}, {bootmgr} or the GUID). */
  label: string;
  /** Element name and type for element changes. */
  element?: string;
  type?: string;
  /** Display values (as `guestkit bcd enum` prints them), absent when the element did not / does not exist. */
  before?: string;
  after?: string;
}

export interface BcdEditorOptions {
  /**
   * Partitions and drive letters for device values: a catalog, or a function giving the catalog
   * for the object being edited (drive letters differ per Windows installation). None: only
   * `boot`, RAM disks on `boot` and partitions given by GPT/MBR identifiers can be written.
   */
  catalog?: BcdPartitionCatalog | ((objectId: string, store: BcdStore) => BcdPartitionCatalog | undefined);
  /** New object GUIDs (default: random version 4). */
  newGuid?: () => string;
  /** Skip the safety checks that refuse an edit. */
  force?: boolean;
  /** Show partition devices in the change report as guest devices ("partition=/dev/sda3"). */
  resolve?: PartitionResolver;
}

/** The boot manager's object lists and what they are called. */
const BOOTMGR_LISTS: Readonly<Record<string, number>> = {
  displayorder: BCDE.displayOrder,
  bootsequence: BCDE.bootSequence,
  toolsdisplayorder: BCDE.toolsDisplayOrder,
};

/** Application types `default` accepts: OS loader, legacy loader, setup loader, boot sector, startup module. */
const LOADER_APPS = new Set([3, 6, 7, 8, 9]);
/** … and the boot manager's menus: those and the memory tester. */
const MENU_APPS = new Set([...LOADER_APPS, 5]);

/** Object key values that belong to one firmware entry and are not copied. */
const NOT_COPIED_DESCRIPTION_VALUES = new Set(['firmwarevariable']);

const hex8 = (n: number): string => n.toString(16).padStart(8, '0');

export class BcdEditor {
  readonly changes: BcdChange[] = [];
  readonly warnings: string[] = [];
  private cached: BcdStore | undefined;

  constructor(readonly hive: Hive, private readonly opts: BcdEditorOptions = {}) {
    this.objectsKey(); // not a store: throw now
  }

  /** The store as it is now. */
  store(): BcdStore {
    return (this.cached ??= readBcdStore(hiveKey(this.hive)));
  }

  private changed(): void {
    this.cached = undefined;
  }

  private refuse(msg: string, details: Record<string, unknown> = {}): void {
    if (this.opts.force) {
      this.warnings.push(`${msg} (done anyway: --force)`);
      return;
    }
    throw new UsageError(BcdEditCode.Refused, `${msg} (use --force to do it anyway)`, details);
  }

  // ---------------------------------------------------------------- names

  /**
   * The GUID (lower case, braces) an id stands for: a GUID, a well-known alias ({bootmgr},
   * {memdiag}, …; braces optional), or {default}/{current}, both meaning the boot manager's
   * default entry (offline there is no "current" boot).
   */
  resolveId(text: string): string {
    const t = text.trim().toLowerCase();
    const bare = t.replace(/^\{|\}$/g, '');
    if (bare === 'default' || bare === 'current') {
      const d = defaultObjectId(this.store());
      if (!d) throw new NotFoundError(BcdEditCode.NoObject, `${text}: the store has no default entry ({bootmgr} has no default element)`, { id: text });
      return d;
    }
    if (isGuid(t)) return `{${bare}}`;
    const g = guidOfAlias(t);
    if (g) return g;
    throw new UsageError(BcdEditCode.BadId, `${text}: not an object id (a {GUID} or an alias such as {bootmgr}, {default}, {memdiag}, {globalsettings})`, { id: text });
  }

  /** The object an id names; NotFoundError when the store has none. */
  object(text: string): BcdObject {
    const id = this.resolveId(text);
    const o = findBcdObject(this.store(), id);
    if (!o) throw new NotFoundError(BcdEditCode.NoObject, `the store has no object ${text}${id !== text.toLowerCase() ? ` (${id})` : ''}`, { id });
    return o;
  }

  private label(id: string): string {
    return objectLabel(this.store(), id);
  }

  /**
   * The element type a name stands for in an object: bcdedit's name (`osdevice`), the BCD WMI
   * symbol (`BcdOSLoaderDevice_OSDevice`), `custom:XXXXXXXX`, or 8 hex digits (0x optional).
   */
  elementType(obj: BcdObject, text: string): number {
    const t = text.trim();
    const hexm = /^(?:0x|custom:)?([0-9a-f]{8})$/i.exec(t);
    if (hexm) return parseInt(hexm[1]!, 16);
    const byName = elementTypeByName(t, obj.scope);
    if (byName !== undefined) return byName;
    const lower = t.toLowerCase();
    const scopes: (BcdElementScope | undefined)[] = ['library', obj.scope, 'device'];
    for (const s of scopes) {
      if (!s) continue;
      for (const info of BCD_ELEMENT_TABLES[s].values()) if (info.symbol.toLowerCase() === lower) return info.type;
    }
    const elsewhere = (Object.keys(BCD_ELEMENT_TABLES) as BcdElementScope[]).filter((s) => [...BCD_ELEMENT_TABLES[s].values()].some((i) => i.name === lower));
    throw new UsageError(
      BcdEditCode.BadElement,
      elsewhere.length
        ? `${t} is not an element of ${obj.heading} objects (it belongs to ${elsewhere.join(', ')} objects); give its hex type to set it anyway`
        : `unknown element ${t}: give a bcdedit name (see packages/inspector/docs/bcd-elements.md) or the hex type (0x25000004)`,
      { element: t, object: obj.id },
    );
  }

  // ---------------------------------------------------------------- hive access

  private objectsKey(): NodeRef {
    const k = this.hive.child(this.hive.root, 'Objects');
    if (k === undefined) throw new NotFoundError(BcdEditCode.NoObject, 'not a BCD store: the hive has no Objects key', {});
    return k;
  }

  private objectKey(id: string): NodeRef {
    const k = this.hive.child(this.objectsKey(), id);
    if (k === undefined) throw new NotFoundError(BcdEditCode.NoObject, `the store has no object key ${id}`, { id });
    return k;
  }

  private elementKey(id: string, type: number): NodeRef | undefined {
    const els = this.hive.child(this.objectKey(id), 'Elements');
    if (els === undefined) return undefined;
    return this.hive.children(els).find((c) => {
      const n = this.hive.nodeName(c);
      return /^[0-9a-f]{8}$/i.test(n) && parseInt(n, 16) === type;
    });
  }

  private display(id: string, type: number): string | undefined {
    const st = this.store();
    const o = findBcdObject(st, id);
    const e = bcdElement(o, type);
    return o && e ? elementValueLines(st, o, e, this.opts.resolve ? { resolve: this.opts.resolve } : {}).join(', ') : undefined;
  }

  /** Write one element (creating its key when missing). Unchanged data is not rewritten. */
  writeElement(id: string, type: number, value: BcdWritableValue): BcdChange {
    const obj = findBcdObject(this.store(), id)!;
    const enc = encodeBcdValue(value);
    const change: BcdChange = { action: 'set', object: id, label: this.label(id), element: elementName(type, obj.scope), type: `0x${hex8(type)}` };
    const before = this.display(id, type);
    if (before !== undefined) change.before = before;
    let key = this.elementKey(id, type);
    if (key !== undefined) {
      // Already this value (byte for byte, or the same decoded value stored another way, e.g. a
      // 1-byte integer or a device with trailing padding): keep the stored bytes.
      const v = this.hive.value(key, 'Element');
      const cur = bcdElement(obj, type)?.value;
      const same = v !== undefined && this.hive.valueType(v) === enc.registryType && (sameBytes(this.hive.valueBytes(v), enc.data) || (cur !== undefined && sameValue(cur, value)));
      if (same) {
        change.after = before ?? '';
        this.changes.push(change);
        return change;
      }
    } else {
      const objKey = this.objectKey(id);
      const els = this.hive.child(objKey, 'Elements') ?? this.hive.addChild(objKey, 'Elements');
      key = this.hive.addChild(els, hex8(type));
    }
    this.hive.setRawValue(key, 'Element', enc.registryType, enc.data);
    this.changed();
    const after = this.display(id, type);
    if (after !== undefined) change.after = after;
    this.changes.push(change);
    return change;
  }

  /** Delete one element key; false when the object does not have it. */
  removeElement(id: string, type: number): boolean {
    const key = this.elementKey(id, type);
    if (key === undefined) return false;
    const obj = findBcdObject(this.store(), id)!;
    const change: BcdChange = { action: 'deletevalue', object: id, label: this.label(id), element: elementName(type, obj.scope), type: `0x${hex8(type)}` };
    const before = this.display(id, type);
    if (before !== undefined) change.before = before;
    this.hive.deleteChild(key);
    this.changed();
    this.changes.push(change);
    return true;
  }

  // ---------------------------------------------------------------- values

  private catalogFor(id: string): BcdPartitionCatalog | undefined {
    const c = this.opts.catalog;
    return typeof c === 'function' ? c(id, this.store()) : c;
  }

  /** An object reference inside a value: resolved, and checked to exist. */
  private objectRef(text: string, mustExist: boolean): string {
    const id = this.resolveId(text);
    if (!findBcdObject(this.store(), id)) {
      if (mustExist) this.refuse(`${text}: the store has no such object`, { id });
      else this.warnings.push(`${text}: the store has no such object (referenced anyway)`);
    }
    return id;
  }

  /** Parse the words given for an element of an object into a typed value. */
  parseValue(obj: BcdObject, type: number, words: readonly string[]): BcdWritableValue {
    const name = elementName(type, obj.scope);
    const format = elementFormat(type);
    const isBootmgrList = obj.id === BOOTMGR_ID || obj.id === FWBOOTMGR_ID ? Object.values(BOOTMGR_LISTS).includes(type) : false;
    switch (format) {
      case undefined:
        throw new UsageError(BcdEditCode.BadValue, `${name}: element type 0x${hex8(type)} has no known data format (bits 24-27 = ${Math.floor(type / 0x1000000) % 16})`, { type });
      case 'object': {
        if (words.length !== 1) throw new UsageError(BcdEditCode.BadValue, `${name} takes one object id, got ${words.length}`, { element: name });
        return { format: 'object', value: this.objectRef(words[0]!, false) };
      }
      case 'objectlist': {
        const ids = words.flatMap((w) => w.split(/[\s,]+/)).filter((w) => w.length > 0).map((w) => this.objectRef(w, isBootmgrList));
        return { format: 'objectlist', value: ids };
      }
      case 'device': {
        const text = words.join(' ');
        const r = resolveBcdDevice(parseBcdDeviceSpec(text), text, this.catalogFor(obj.id), (x) => this.objectRef(x, false));
        this.warnings.push(...r.warnings);
        return { format: 'device', value: r.element };
      }
      default:
        return parseBcdScalar(format, words, name, elementInfo(type, obj.scope));
    }
  }

  // ---------------------------------------------------------------- verbs

  /** bcdedit /set ID ELEMENT VALUE… (with a list mode for object lists: /addfirst, /addlast, /remove). */
  set(idText: string, elementText: string, words: readonly string[], mode: BcdListMode = 'set'): BcdChange {
    const obj = this.object(idText);
    const type = this.elementType(obj, elementText);
    if (obj.id === BOOTMGR_ID && type === BCDE.defaultObject) {
      if (words.length !== 1) throw new UsageError(BcdEditCode.BadValue, 'default takes one object id', {});
      return this.setDefault(words[0]!);
    }
    if (mode !== 'set') {
      if (elementFormat(type) !== 'objectlist') throw new UsageError(BcdEditCode.BadValue, `--${mode} applies to object lists only; ${elementName(type, obj.scope)} is ${elementFormat(type) ?? 'of unknown format'}`, {});
      return this.listEdit(obj.id, type, words, mode);
    }
    const value = this.parseValue(obj, type, words);
    if (value.format === 'objectlist' && Object.values(BOOTMGR_LISTS).includes(type) && (obj.id === BOOTMGR_ID || obj.id === FWBOOTMGR_ID)) {
      return this.listEdit(obj.id, type, words, 'set');
    }
    return this.writeElement(obj.id, type, value);
  }

  /** bcdedit /deletevalue ID ELEMENT. */
  deleteValue(idText: string, elementText: string): BcdChange {
    const obj = this.object(idText);
    const type = this.elementType(obj, elementText);
    if (obj.id === BOOTMGR_ID && type === BCDE.defaultObject) this.warnings.push('the boot manager has no default entry now: it boots the first entry of the display order');
    if (!this.removeElement(obj.id, type)) {
      throw new NotFoundError(BcdEditCode.NoElement, `${this.label(obj.id)} has no element ${elementName(type, obj.scope)} (0x${hex8(type)})`, { object: obj.id, type });
    }
    return this.changes[this.changes.length - 1]!;
  }

  private checkBootable(id: string, what: string, allowed: ReadonlySet<number>): void {
    const o = findBcdObject(this.store(), id);
    if (!o) return this.refuse(`${what}: the store has no object ${id}`, { id });
    if (o.kind !== 'application' || o.applicationType === undefined || !allowed.has(o.applicationType)) {
      const kinds = allowed.has(5) ? 'a boot entry (OS loader, legacy loader, boot sector, startup module, memory tester)' : 'a loader (OS loader, legacy loader, setup loader, boot sector, startup module)';
      this.refuse(`${what}: ${this.label(id)} is a ${o.heading} object, not ${kinds}`, { id });
    }
  }

  /** bcdedit /default ID: the boot manager's default entry. */
  setDefault(idText: string): BcdChange {
    this.object('{bootmgr}');
    const id = this.resolveId(idText);
    this.checkBootable(id, 'default', LOADER_APPS);
    const order = listOf(bcdElement(findBcdObject(this.store(), BOOTMGR_ID), BCDE.displayOrder));
    if (order.length > 0 && !order.includes(id)) this.warnings.push(`${this.label(id)} is not in the boot menu (displayorder); add it with: displayorder ${id} --addlast`);
    return this.writeElement(BOOTMGR_ID, BCDE.defaultObject, { format: 'object', value: id });
  }

  /** bcdedit /timeout N. */
  setTimeout(seconds: string | number): BcdChange {
    this.object('{bootmgr}');
    const v = typeof seconds === 'number' ? BigInt(seconds) : parseBcdInteger(seconds, 'timeout');
    if (v < 0n || v > 0xffffffffn) throw new UsageError(BcdEditCode.BadValue, `timeout: ${seconds} is out of range (0-4294967295 seconds)`, {});
    return this.writeElement(BOOTMGR_ID, BCDE.timeout, { format: 'integer', value: v });
  }

  /**
   * Edit an object list (displayorder, bootsequence, toolsdisplayorder, or any other): replace
   * it, add ids first or last (an id already there moves), or remove ids. An emptied list is
   * deleted.
   */
  listEdit(id: string, type: number, idTexts: readonly string[], mode: BcdListMode): BcdChange {
    const obj = findBcdObject(this.store(), id)!;
    const name = elementName(type, obj.scope);
    const managerList = (id === BOOTMGR_ID || id === FWBOOTMGR_ID) && Object.values(BOOTMGR_LISTS).includes(type);
    const ids = idTexts.flatMap((w) => w.split(/[\s,]+/)).filter((w) => w.length > 0).map((w) => this.resolveId(w));
    if (ids.length === 0) throw new UsageError(BcdEditCode.BadValue, `${name}: give at least one object id`, {});
    if (new Set(ids).size !== ids.length) throw new UsageError(BcdEditCode.BadValue, `${name}: an object is given twice`, { ids });
    if (mode !== 'remove') {
      for (const x of ids) {
        if (managerList && id === BOOTMGR_ID) this.checkBootable(x, name, MENU_APPS);
        else if (!findBcdObject(this.store(), x)) (managerList ? this.refuse.bind(this) : (m: string) => this.warnings.push(m))(`${name}: the store has no object ${x}`);
      }
    }
    const current = listOf(bcdElement(obj, type));
    let next: string[];
    switch (mode) {
      case 'set':
        next = ids;
        break;
      case 'addfirst':
        next = [...ids, ...current.filter((x) => !ids.includes(x))];
        break;
      case 'addlast':
        next = [...current.filter((x) => !ids.includes(x)), ...ids];
        break;
      case 'remove':
        for (const x of ids) if (!current.includes(x)) this.warnings.push(`${name}: ${this.label(x)} was not in the list`);
        next = current.filter((x) => !ids.includes(x));
        break;
    }
    const dflt = defaultObjectId(this.store());
    if (id === BOOTMGR_ID && type === BCDE.displayOrder && dflt && current.includes(dflt) && !next.includes(dflt)) {
      this.warnings.push(`the default entry ${dflt} is no longer in the boot menu (displayorder); it still boots when the timeout expires`);
    }
    if (next.length === 0) {
      if (this.removeElement(id, type)) return this.changes[this.changes.length - 1]!;
      return { action: 'deletevalue', object: id, label: this.label(id), element: name, type: `0x${hex8(type)}` };
    }
    return this.writeElement(id, type, { format: 'objectlist', value: next });
  }

  /**
   * bcdedit /copy ID /d DESCRIPTION: a new object with the same type and every element of the
   * source (copied byte for byte), its description replaced. A copied entry that is in the boot
   * menu is added as its last item, as bcdedit does. Returns the new GUID.
   */
  copy(sourceText: string, description: string | undefined, newId?: string): string {
    const src = this.object(sourceText);
    const id = newId !== undefined ? `{${newId.trim().toLowerCase().replace(/^\{|\}$/g, '')}}` : `{${(this.opts.newGuid ?? (() => crypto.randomUUID()))().toLowerCase().replace(/^\{|\}$/g, '')}}`;
    if (!isGuid(id)) throw new UsageError(BcdEditCode.BadId, `${newId}: not a GUID`, { id: newId });
    if (findBcdObject(this.store(), id) || WELL_KNOWN_OBJECTS[id]) throw new ExistsError(BcdEditCode.Exists, `the store already has an object ${id}`, { id });
    const h = this.hive;
    const srcKey = this.objectKey(src.id);
    const dst = h.addChild(this.objectsKey(), id);
    for (const sub of h.children(srcKey)) {
      const subName = h.nodeName(sub);
      const lower = subName.toLowerCase();
      if (lower !== 'description' && lower !== 'elements') {
        this.warnings.push(`${src.id}\\${subName}: not copied (objects hold only Description and Elements)`);
        continue;
      }
      const d = h.addChild(dst, subName);
      if (lower === 'description') {
        for (const v of h.values(sub)) {
          if (NOT_COPIED_DESCRIPTION_VALUES.has(h.valueName(v).toLowerCase())) continue;
          h.setRawValue(d, h.valueName(v), h.valueType(v), h.valueBytes(v));
        }
      } else {
        for (const el of h.children(sub)) {
          const k = h.addChild(d, h.nodeName(el));
          for (const v of h.values(el)) h.setRawValue(k, h.valueName(v), h.valueType(v), h.valueBytes(v));
        }
      }
    }
    this.changed();
    this.changes.push({ action: 'create', object: id, label: id, before: src.id });
    if (description !== undefined) this.writeElement(id, BCDE.description, { format: 'string', value: description });
    const order = listOf(bcdElement(findBcdObject(this.store(), BOOTMGR_ID), BCDE.displayOrder));
    if (order.includes(src.id)) this.writeElement(BOOTMGR_ID, BCDE.displayOrder, { format: 'objectlist', value: [...order, id] });
    return id;
  }

  /**
   * bcdedit /delete ID: remove the object and take it out of the boot managers' lists
   * (displayorder, bootsequence, toolsdisplayorder), as bcdedit does without /nocleanup.
   */
  delete(idText: string): BcdChange {
    const obj = this.object(idText);
    const id = obj.id;
    if (id === BOOTMGR_ID || id === FWBOOTMGR_ID) this.refuse(`${this.label(id)} is the boot manager: without it nothing boots`, { id });
    else if (WELL_KNOWN_OBJECTS[id]) this.refuse(`${this.label(id)} is a well-known object (bcdedit also wants /f to delete one)`, { id });
    const dflt = defaultObjectId(this.store());
    if (id === dflt) this.refuse(`${id} is the default boot entry; make another entry the default first`, { id });
    for (const mgr of [BOOTMGR_ID, FWBOOTMGR_ID]) {
      const m = findBcdObject(this.store(), mgr);
      if (!m) continue;
      for (const type of Object.values(BOOTMGR_LISTS)) {
        const l = listOf(bcdElement(m, type));
        if (l.includes(id)) this.listEdit(mgr, type, [id], 'remove');
      }
    }
    if (id === dflt) this.removeElement(BOOTMGR_ID, BCDE.defaultObject);
    const label = this.label(id);
    this.hive.deleteChild(this.objectKey(id));
    this.changed();
    const change: BcdChange = { action: 'delete', object: id, label };
    this.changes.push(change);
    for (const o of this.store().objects) {
      for (const e of o.elements) {
        const refs = e.value.format === 'object' ? [e.value.value] : e.value.format === 'objectlist' ? e.value.value : e.value.format === 'device' && e.value.value.options ? [e.value.value.options] : [];
        if (refs.includes(id)) this.warnings.push(`${objectLabel(this.store(), o.id)} ${e.name} still refers to the deleted ${id}`);
      }
    }
    return change;
  }
}

function listOf(el: { value: { format: string; value: unknown } } | undefined): string[] {
  const v = el?.value;
  if (v?.format === 'objectlist') return [...(v.value as string[])];
  if (v?.format === 'object') return [v.value as string];
  return [];
}

function sameValue(a: unknown, b: unknown): boolean {
  const j = (x: unknown): string => JSON.stringify(x, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v instanceof Uint8Array ? Array.from(v) : v));
  return j(a) === j(b);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
