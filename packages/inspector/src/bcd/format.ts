/**
 * Show a decoded BCD store the way `bcdedit /store X /enum` does (a heading per object, then
 * "name  value" lines with the value column at 24), and as JSON.
 */
import { formatBcdDevice, type BcdDevice, type PartitionResolver } from './device.js';
import { elementInfo } from './element-types.js';
import { BOOTMGR_ID, FWBOOTMGR_ID, guidOfAlias } from './object-types.js';
import { bcdElement, findBcdObject, type BcdElement, type BcdObject, type BcdStore } from './store.js';

export interface BcdFormatOptions {
  /** Map partition devices to guest devices and drive letters. */
  resolve?: PartitionResolver;
  /** Show GUIDs instead of {aliases} (bcdedit /v). */
  guids?: boolean;
}

/** Element types used below. */
export const BCDE = {
  device: 0x11000001,
  path: 0x12000002,
  description: 0x12000004,
  locale: 0x12000005,
  recoverySequence: 0x14000008,
  displayOrder: 0x24000001,
  bootSequence: 0x24000002,
  defaultObject: 0x23000003,
  timeout: 0x25000004,
  resumeObject: 0x23000006,
  toolsDisplayOrder: 0x24000010,
  osDevice: 0x21000001,
  systemRoot: 0x22000002,
  loaderResumeObject: 0x23000003,
} as const;

const VALUE_COLUMN = 24;

/** The object bcdedit calls {default}: the boot manager's default element. */
export function defaultObjectId(store: BcdStore): string | undefined {
  const v = bcdElement(findBcdObject(store, BOOTMGR_ID), BCDE.defaultObject)?.value;
  return v?.format === 'object' ? v.value : undefined;
}

/** The name bcdedit shows for an object id. */
export function objectLabel(store: BcdStore, id: string, opts: BcdFormatOptions = {}): string {
  if (opts.guids) return id;
  const o = findBcdObject(store, id);
  if (o?.alias) return o.alias;
  if (id === defaultObjectId(store)) return '{default}';
  return id;
}

function objectList(el: BcdElement | undefined): string[] {
  const v = el?.value;
  if (v?.format === 'objectlist') return v.value;
  if (v?.format === 'object') return [v.value];
  return [];
}

/**
 * Which objects `bcdedit /enum SELECTION` shows: 'active' (the default: boot manager and the
 * entries in its display order), 'all', or one object by GUID or alias ("{bootmgr}", "{default}").
 * For 'all': firmware boot manager, boot manager, the firmware display order, the boot manager's
 * display order and tools display order, then the remaining applications (by type, then id),
 * inheritable settings and device options (by id).
 */
export function selectBcdObjects(store: BcdStore, selection = 'active'): BcdObject[] {
  const out: BcdObject[] = [];
  const seen = new Set<string>();
  const add = (id: string | undefined): void => {
    if (!id || seen.has(id)) return;
    const o = findBcdObject(store, id);
    if (o) {
      seen.add(o.id);
      out.push(o);
    }
  };
  const bootmgr = findBcdObject(store, BOOTMGR_ID);
  const sel = selection.toLowerCase();
  if (sel === 'active') {
    add(BOOTMGR_ID);
    for (const id of objectList(bcdElement(bootmgr, BCDE.displayOrder))) add(id);
    return out;
  }
  if (sel === 'all') {
    add(FWBOOTMGR_ID);
    add(BOOTMGR_ID);
    for (const id of objectList(bcdElement(findBcdObject(store, FWBOOTMGR_ID), BCDE.displayOrder))) add(id);
    for (const id of objectList(bcdElement(bootmgr, BCDE.displayOrder))) add(id);
    for (const id of objectList(bcdElement(bootmgr, BCDE.toolsDisplayOrder))) add(id);
    const rank = { application: 0, inherit: 1, device: 2, unknown: 3 } as const;
    const rest = store.objects
      .filter((o) => !seen.has(o.id))
      .sort((a, b) => rank[a.kind] - rank[b.kind] || (a.kind === 'application' ? (a.type ?? 0) - (b.type ?? 0) : 0) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    for (const o of rest) add(o.id);
    return out;
  }
  const id = sel === '{default}' || sel === 'default' ? defaultObjectId(store) : guidOfAlias(sel) ?? (sel.startsWith('{') ? sel : `{${sel}}`);
  add(id);
  return out;
}

/** The text lines of one element's value (object lists give one line per GUID). */
export function elementValueLines(store: BcdStore, obj: BcdObject, el: BcdElement, opts: BcdFormatOptions = {}): string[] {
  const v = el.value;
  switch (v.format) {
    case 'string':
      return [v.value];
    case 'object':
      return [objectLabel(store, v.value, opts)];
    case 'objectlist':
      return v.value.length ? v.value.map((id) => objectLabel(store, id, opts)) : [''];
    case 'boolean':
      return [v.value ? 'Yes' : 'No'];
    case 'integer': {
      const names = elementInfo(el.type, obj.scope)?.values;
      const n = v.value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v.value) : undefined;
      return [n !== undefined && names?.[n] !== undefined ? names[n]! : v.value.toString()];
    }
    case 'integerlist':
      return v.value.length ? v.value.map((n) => `0x${n.toString(16)}`) : [''];
    case 'device':
      return [formatBcdDevice(v.value, opts.resolve, (id) => objectLabel(store, id, opts))];
    case 'raw':
      return [Buffer.from(v.value).toString('hex') || '(empty)'];
  }
}

function line(name: string, value: string): string {
  return name.length >= VALUE_COLUMN ? `${name} ${value}` : name.padEnd(VALUE_COLUMN) + value;
}

/** bcdedit-style text for the given objects (blank line between objects). */
export function formatBcdText(store: BcdStore, objects: readonly BcdObject[], opts: BcdFormatOptions = {}): string {
  const blocks: string[] = [];
  for (const o of objects) {
    const lines = [o.heading, '-'.repeat(o.heading.length), line('identifier', objectLabel(store, o.id, opts))];
    for (const el of o.elements) {
      const vals = elementValueLines(store, o, el, opts);
      lines.push(line(el.name, vals[0] ?? ''));
      for (const extra of vals.slice(1)) lines.push(' '.repeat(VALUE_COLUMN) + extra);
    }
    blocks.push(lines.join('\n') + '\n');
  }
  return blocks.join('\n');
}

/** JSON form of a device (GUIDs lower case; the guest device and letter when resolvable). */
export function deviceJson(d: BcdDevice, resolve?: PartitionResolver): Record<string, unknown> {
  switch (d.kind) {
    case 'boot':
      return { kind: 'boot' };
    case 'partition': {
      const r = resolve?.(d);
      const base: Record<string, unknown> =
        d.scheme === 'gpt'
          ? { kind: 'partition', scheme: 'gpt', disk_guid: d.diskGuid, partition_guid: d.partitionGuid }
          : { kind: 'partition', scheme: 'mbr', disk_signature: `0x${d.diskSignature.toString(16).padStart(8, '0')}`, offset: d.offset };
      if (r?.device) base.guest_device = r.device;
      if (r?.letter) base.drive_letter = r.letter;
      return base;
    }
    case 'ramdisk':
      return { kind: 'ramdisk', parent: deviceJson(d.parent, resolve), path: d.path };
    case 'locate':
      return { kind: 'locate', locate_type: d.locateType, element_type: `0x${d.elementType.toString(16).padStart(8, '0')}`, path: d.path };
    default:
      return d.blockIoType === undefined ? { kind: 'unknown', device_type: d.deviceType } : { kind: 'unknown', device_type: d.deviceType, block_io_type: d.blockIoType };
  }
}

function elementJson(store: BcdStore, obj: BcdObject, el: BcdElement, opts: BcdFormatOptions): Record<string, unknown> {
  const base: Record<string, unknown> = { type: `0x${el.type.toString(16).padStart(8, '0')}`, name: el.name, known: el.known };
  const v = el.value;
  switch (v.format) {
    case 'integer':
      base.format = 'integer';
      base.value = v.value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v.value) : v.value.toString();
      break;
    case 'integerlist':
      base.format = 'integerlist';
      base.value = v.value.map((n) => (n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n.toString()));
      break;
    case 'device':
      base.format = 'device';
      base.value = deviceJson(v.value.device, opts.resolve);
      if (v.value.options) base.options = v.value.options;
      break;
    case 'raw':
      base.format = 'raw';
      base.value = Buffer.from(v.value).toString('hex');
      base.registry_type = el.registryType;
      base.reason = v.reason;
      break;
    default:
      base.format = v.format;
      base.value = v.value;
  }
  base.display = elementValueLines(store, obj, el, opts).join('\n');
  return base;
}

/** JSON document for the given objects. */
export function bcdObjectsJson(store: BcdStore, objects: readonly BcdObject[], opts: BcdFormatOptions = {}): Record<string, unknown>[] {
  return objects.map((o) => {
    const j: Record<string, unknown> = { id: o.id, heading: o.heading, kind: o.kind };
    if (o.alias) j.alias = o.alias;
    if (o.type !== undefined) j.type = `0x${o.type.toString(16).padStart(8, '0')}`;
    j.elements = o.elements.map((e) => elementJson(store, o, e, opts));
    return j;
  });
}
