/**
 * Decode a BCD store: a registry hive whose root holds `Description` (store facts) and
 * `Objects\{GUID}` keys; each object has `Description\Type` (REG_DWORD, see object-types.ts)
 * and `Elements\XXXXXXXX` keys (the element type in 8 hex digits) holding one value named
 * `Element`, stored by format: string and object as REG_SZ, object list as REG_MULTI_SZ,
 * integer, boolean, integer list and device as REG_BINARY (integers little-endian u64,
 * booleans one byte).
 */
import { FormatError, LimitError, decodeUtf16le, decodeUtf16leZ } from '@guestkit/disk/binary';
import { InspectCode } from '../errors.js';
import { asciiCaseEqual } from '../registry/hivex-compat.js';
import { REG, type RegKey, type RegValue } from '../registry/reg-tree.js';
import { decodeBcdDevice, type BcdDeviceElement } from './device.js';
import { elementFormat, elementInfo, elementName, type BcdFormat } from './element-types.js';
import { objectTypeInfo, WELL_KNOWN_OBJECTS, type BcdObjectKind } from './object-types.js';
import type { BcdElementScope } from './element-types.js';

/** Upper bound on objects in a store (real stores hold tens). */
export const MAX_BCD_OBJECTS = 4096;
/** Upper bound on elements in one object (bcdedit knows a few hundred types in all). */
export const MAX_BCD_ELEMENTS = 1024;

export type BcdValue =
  | { format: 'string'; value: string }
  | { format: 'object'; value: string }
  | { format: 'objectlist'; value: string[] }
  | { format: 'integer'; value: bigint }
  | { format: 'boolean'; value: boolean }
  | { format: 'integerlist'; value: bigint[] }
  | { format: 'device'; value: BcdDeviceElement }
  /** Data that does not fit its format, or an element of unknown format: kept as bytes. */
  | { format: 'raw'; value: Uint8Array; reason: string };

export interface BcdElement {
  /** The element type number. */
  type: number;
  /** bcdedit's name, or custom:XXXXXXXX. */
  name: string;
  /** True when the name comes from the element table. */
  known: boolean;
  value: BcdValue;
  /** Registry type of the Element value. */
  registryType: number;
  /** The Element value's data as stored. */
  data: Uint8Array;
}

export interface BcdObject {
  /** The object GUID as stored in the key name (braces included), lower-cased. */
  id: string;
  /** bcdedit's alias ("{bootmgr}") for well-known objects. */
  alias?: string;
  /** Description\Type, undefined when missing or not a DWORD. */
  type?: number;
  kind: BcdObjectKind;
  applicationType?: number;
  scope: BcdElementScope | undefined;
  heading: string;
  /** Sorted by element type, as bcdedit lists them. */
  elements: BcdElement[];
}

export interface BcdStore {
  /** Description\KeyName ("BCD00000000") when present. */
  keyName?: string;
  objects: BcdObject[];
  /** Things skipped while decoding (bad key names, missing Element values). */
  warnings: string[];
}

function findChild(key: RegKey, name: string): RegKey | undefined {
  return key.subkeys().find((k) => asciiCaseEqual(k.name, name));
}

function findValue(key: RegKey, name: string): RegValue | undefined {
  return key.values().find((v) => asciiCaseEqual(v.name, name));
}

function u64le(d: Uint8Array, off: number, len: number): bigint {
  let n = 0n;
  for (let i = len - 1; i >= 0; i--) n = (n << 8n) | BigInt(d[off + i]!);
  return n;
}

function regString(v: RegValue): string | undefined {
  if (v.type !== REG.SZ && v.type !== REG.EXPAND_SZ) return undefined;
  return decodeUtf16leZ(v.data);
}

function regMultiString(v: RegValue): string[] | undefined {
  if (v.type !== REG.MULTI_SZ) return undefined;
  const s = decodeUtf16le(v.data);
  const parts = s.split('\0');
  while (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
  return parts.filter((p) => p.length > 0);
}

function decodeValue(format: BcdFormat | undefined, v: RegValue, where: string): BcdValue {
  const raw = (reason: string): BcdValue => ({ format: 'raw', value: v.data, reason });
  const d = v.data;
  switch (format) {
    case 'string': {
      const s = regString(v);
      return s === undefined ? raw(`string element stored as registry type ${v.type}`) : { format: 'string', value: s };
    }
    case 'object': {
      const s = regString(v);
      return s === undefined ? raw(`object element stored as registry type ${v.type}`) : { format: 'object', value: s.toLowerCase() };
    }
    case 'objectlist': {
      const l = regMultiString(v);
      return l === undefined ? raw(`object list stored as registry type ${v.type}`) : { format: 'objectlist', value: l.map((x) => x.toLowerCase()) };
    }
    case 'integer':
      if ((v.type === REG.BINARY || v.type === REG.QWORD || v.type === REG.DWORD) && d.length >= 1 && d.length <= 8) {
        return { format: 'integer', value: u64le(d, 0, d.length) };
      }
      return raw(`integer of ${d.length} bytes, registry type ${v.type}`);
    case 'boolean':
      if ((v.type === REG.BINARY || v.type === REG.DWORD) && d.length >= 1 && d.length <= 8) {
        return { format: 'boolean', value: d.some((b) => b !== 0) };
      }
      return raw(`boolean of ${d.length} bytes, registry type ${v.type}`);
    case 'integerlist':
      if (v.type === REG.BINARY && d.length % 8 === 0) {
        const out: bigint[] = [];
        for (let i = 0; i < d.length; i += 8) out.push(u64le(d, i, 8));
        return { format: 'integerlist', value: out };
      }
      return raw(`integer list of ${d.length} bytes, registry type ${v.type}`);
    case 'device':
      if (v.type !== REG.BINARY) return raw(`device stored as registry type ${v.type}`);
      try {
        return { format: 'device', value: decodeBcdDevice(d, where) };
      } catch (e) {
        if (e instanceof FormatError || e instanceof LimitError) return raw(e.message);
        throw e;
      }
    default:
      return raw('unknown element format');
  }
}

/**
 * Decode the store rooted at `root` (the hive's root key).
 * @throws FormatError (BCD_NOT_A_STORE) when there is no Objects key; LimitError when the
 *   store has more than MAX_BCD_OBJECTS objects or an object more than MAX_BCD_ELEMENTS elements.
 */
export function readBcdStore(root: RegKey): BcdStore {
  const objectsKey = findChild(root, 'Objects');
  if (!objectsKey) throw new FormatError(InspectCode.BcdNotAStore, `not a BCD store: the hive has no Objects key`, {});
  const warnings: string[] = [];
  const store: BcdStore = { objects: [], warnings };
  const desc = findChild(root, 'Description');
  const kn = desc ? findValue(desc, 'KeyName') : undefined;
  const keyName = kn ? regString(kn) : undefined;
  if (keyName !== undefined) store.keyName = keyName;

  const objectKeys = objectsKey.subkeys();
  if (objectKeys.length > MAX_BCD_OBJECTS) {
    throw new LimitError(InspectCode.Limit, `BCD store has ${objectKeys.length} objects, more than ${MAX_BCD_OBJECTS}`, { count: objectKeys.length });
  }
  for (const ok of objectKeys) {
    const id = ok.name.toLowerCase();
    const d = findChild(ok, 'Description');
    const tv = d ? findValue(d, 'Type') : undefined;
    let type: number | undefined;
    if (tv && tv.type === REG.DWORD && tv.data.length >= 4) type = Number(u64le(tv.data, 0, 4));
    else warnings.push(`object ${id}: no Description\\Type DWORD`);
    const info = objectTypeInfo(type, id);
    const obj: BcdObject = { id, kind: info.kind, scope: info.scope, heading: info.heading, elements: [] };
    if (type !== undefined) obj.type = type;
    if (info.applicationType !== undefined) obj.applicationType = info.applicationType;
    const alias = WELL_KNOWN_OBJECTS[id];
    if (alias) obj.alias = alias;
    const ek = findChild(ok, 'Elements');
    const elementKeys = ek ? ek.subkeys() : [];
    if (elementKeys.length > MAX_BCD_ELEMENTS) {
      throw new LimitError(InspectCode.Limit, `BCD object ${id} has ${elementKeys.length} elements, more than ${MAX_BCD_ELEMENTS}`, { id, count: elementKeys.length });
    }
    for (const e of elementKeys) {
      if (!/^[0-9a-fA-F]{8}$/.test(e.name)) {
        warnings.push(`object ${id}: element key ${JSON.stringify(e.name)} is not 8 hex digits`);
        continue;
      }
      const etype = parseInt(e.name, 16);
      const v = findValue(e, 'Element');
      if (!v) {
        warnings.push(`object ${id}: element ${e.name} has no Element value`);
        continue;
      }
      const where = `BCD object ${id} element ${e.name}`;
      obj.elements.push({
        type: etype,
        name: elementName(etype, info.scope),
        known: elementInfo(etype, info.scope) !== undefined,
        value: decodeValue(elementFormat(etype), v, where),
        registryType: v.type,
        data: v.data,
      });
    }
    obj.elements.sort((a, b) => a.type - b.type);
    store.objects.push(obj);
  }
  return store;
}

/** The object with this id (GUID in any case, with braces) or alias ("{bootmgr}"). */
export function findBcdObject(store: BcdStore, idOrAlias: string): BcdObject | undefined {
  const k = idOrAlias.toLowerCase();
  return store.objects.find((o) => o.id === k || o.alias === k);
}

/** An element of an object by type. */
export function bcdElement(obj: BcdObject | undefined, type: number): BcdElement | undefined {
  return obj?.elements.find((e) => e.type === type);
}
