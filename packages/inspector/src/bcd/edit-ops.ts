/**
 * Editing operations as data (what `guestkit bcd` parses its command line into) and the common
 * switches users reach for, each a short form of `set`/`deletevalue` on an entry ({default}
 * unless another is named).
 */
import { UsageError } from '@guestkit/disk/binary';
import { BcdEditCode } from './edit-errors.js';
import type { BcdChange, BcdEditor, BcdListMode } from './edit-store.js';

export type BcdEditOp =
  | { op: 'set'; id: string; element: string; value: string[]; mode?: BcdListMode }
  | { op: 'deletevalue'; id: string; element: string }
  | { op: 'create'; copy: string; description?: string; newId?: string }
  | { op: 'delete'; id: string }
  | { op: 'default'; id: string }
  | { op: 'displayorder' | 'bootsequence' | 'toolsdisplayorder'; ids: string[]; mode: BcdListMode }
  | { op: 'timeout'; seconds: string }
  | { op: 'switch'; name: BcdSwitchName; id?: string; value: string[] };

/** The switches with their own verb. */
export const BCD_SWITCHES = [
  'safeboot', 'bootstatuspolicy', 'recoveryenabled', 'testsigning', 'nointegritychecks', 'bootmenupolicy', 'hypervisorlaunchtype',
  'device', 'osdevice', 'description', 'bootlog', 'sos', 'debug', 'nx', 'quietboot',
] as const;
export type BcdSwitchName = (typeof BCD_SWITCHES)[number];

export function isBcdSwitch(name: string): name is BcdSwitchName {
  return (BCD_SWITCHES as readonly string[]).includes(name);
}

const SAFEBOOT_OFF = new Set(['off', 'none', 'remove', 'no', 'normal']);

/** What one operation did. */
export interface BcdEditResult {
  op: BcdEditOp['op'];
  changes: BcdChange[];
  /** The GUID of an object `create` made. */
  created?: string;
}

/** Apply one operation. Changes are appended to `editor.changes` as well. */
export function applyBcdEdit(editor: BcdEditor, op: BcdEditOp): BcdEditResult {
  const start = editor.changes.length;
  let created: string | undefined;
  switch (op.op) {
    case 'set':
      editor.set(op.id, op.element, op.value, op.mode ?? 'set');
      break;
    case 'deletevalue':
      editor.deleteValue(op.id, op.element);
      break;
    case 'create':
      created = editor.copy(op.copy, op.description, op.newId);
      break;
    case 'delete':
      editor.delete(op.id);
      break;
    case 'default':
      editor.setDefault(op.id);
      break;
    case 'displayorder':
    case 'bootsequence':
    case 'toolsdisplayorder':
      editor.set('{bootmgr}', op.op, op.ids, op.mode);
      break;
    case 'timeout':
      editor.setTimeout(op.seconds);
      break;
    case 'switch':
      applySwitch(editor, op.name, op.id ?? '{default}', op.value);
      break;
  }
  const r: BcdEditResult = { op: op.op, changes: editor.changes.slice(start) };
  if (created !== undefined) r.created = created;
  return r;
}

function applySwitch(editor: BcdEditor, name: BcdSwitchName, id: string, value: string[]): void {
  if (value.length === 0) throw new UsageError(BcdEditCode.BadValue, `${name}: give a value`, { switch: name });
  if (name !== 'safeboot') {
    editor.set(id, name, value);
    return;
  }
  const v = value.join(' ').trim().toLowerCase();
  const obj = editor.object(id);
  const safeboot = editor.elementType(obj, 'safeboot');
  const alternate = editor.elementType(obj, 'safebootalternateshell');
  if (SAFEBOOT_OFF.has(v)) {
    const a = editor.removeElement(obj.id, safeboot);
    const b = editor.removeElement(obj.id, alternate);
    if (!a && !b) editor.warnings.push(`${id} does not boot in safe mode: nothing to remove`);
    return;
  }
  if (v === 'alternateshell') {
    editor.set(obj.id, 'safeboot', ['minimal']);
    editor.set(obj.id, 'safebootalternateshell', ['yes']);
    return;
  }
  if (!['minimal', 'network', 'dsrepair'].includes(v)) {
    throw new UsageError(BcdEditCode.BadValue, `safeboot: ${JSON.stringify(value.join(' '))} is not minimal, network, dsrepair, alternateshell or off`, { value: v });
  }
  editor.set(obj.id, 'safeboot', [v]);
  editor.removeElement(obj.id, alternate);
}
