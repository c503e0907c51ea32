/**
 * `CurrentControlSet` exists only in a running Windows (a link the kernel makes at boot to the
 * control set named by `HKLM\SYSTEM\Select\Current`). virt-win-reg cannot resolve it; we do, on
 * read and on write, by the same rule libguestfs uses for windows_current_control_set.
 */
import { NotFoundError } from '@guestkit/disk/binary';
import type { HiveReader } from '@guestkit/hive';
import { controlSetName } from '../windows/registry-facts.js';
import { WinRegCode } from './codes.js';
import { pathParts } from './reg-path.js';

/** ControlSet001 … ControlSet999 (the only names Windows uses). */
const CONTROL_SET_RE = /^ControlSet(\d{3})$/i;

/** Select\Current as a control set name, or undefined when there is no usable value. */
export function currentControlSet(system: HiveReader): string | undefined {
  const sel = system.child(system.root, 'Select');
  if (sel === undefined) return undefined;
  const v = system.value(sel, 'Current');
  if (v === undefined || system.valueType(v) !== 4 || system.valueLength(v) !== 4) return undefined;
  const n = system.valueDword(v);
  if (n < 1 || n > 999) return undefined;
  return controlSetName(n);
}

/** Every ControlSetNNN key under the SYSTEM root, as stored, sorted by number. */
export function controlSets(system: HiveReader): string[] {
  const out: { name: string; n: number }[] = [];
  for (const c of system.children(system.root)) {
    const name = system.nodeName(c);
    const m = CONTROL_SET_RE.exec(name);
    if (m) out.push({ name, n: Number(m[1]) });
  }
  return out.sort((a, b) => a.n - b.n).map((x) => x.name);
}

/**
 * Replace a leading `CurrentControlSet` component of an in-hive SYSTEM path by the current
 * control set. Other paths come back unchanged.
 * @throws NotFoundError(WINREG_NO_CURRENT_CONTROL_SET) when the path needs it and Select\Current is unusable
 */
export function resolveControlSet(system: HiveReader, path: string, label = path): string {
  const parts = pathParts(path);
  if (parts.length === 0 || parts[0]!.toLowerCase() !== 'currentcontrolset') return path;
  const ccs = currentControlSet(system);
  if (ccs === undefined) {
    throw new NotFoundError(WinRegCode.NoCurrentControlSet, `${label}: cannot resolve CurrentControlSet: the SYSTEM hive has no usable Select\\Current value`, { path: label });
  }
  parts[0] = ccs;
  return '\\' + parts.join('\\');
}
