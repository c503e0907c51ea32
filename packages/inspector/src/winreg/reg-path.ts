/**
 * Windows registry paths (`HKLM\SOFTWARE\…`, `HKU\S-1-5-…\…`) → the hive file that holds the key
 * and the key path inside it, as virt-win-reg maps them (guestfs-tools win-reg/virt-win-reg.in,
 * map_path_to_hive; ANCHORS.md §2), plus what virt-win-reg cannot do: HKEY_CURRENT_USER for a
 * named user, the users' classes hives (UsrClass.dat), HKEY_CLASSES_ROOT, HKEY_CURRENT_CONFIG and
 * the BCD store. `CurrentControlSet` is resolved later, against the SYSTEM hive (control-set.ts).
 */
import { UsageError } from '@guestkit/disk/binary';
import { WinRegCode } from './codes.js';

/** The machine hives under `<systemroot>\System32\config`. */
export type MachineHive = 'SAM' | 'SECURITY' | 'SOFTWARE' | 'SYSTEM' | 'DEFAULT';

/** Which hive file a key lives in. */
export type HiveLocation =
  | { kind: 'machine'; hive: MachineHive }
  /** A user's NTUSER.DAT (`classes: false`) or UsrClass.dat (`classes: true`), by SID or by user name. */
  | { kind: 'user'; sid?: string; name?: string; classes: boolean }
  /** The Windows boot configuration store (`\EFI\Microsoft\Boot\BCD` or `\Boot\BCD`). */
  | { kind: 'bcd' };

export interface RegPath {
  /** The path as given. */
  input: string;
  hive: HiveLocation;
  /** Key path inside the hive, hivex style: "\\" for the hive's root, else "\\A\\B". */
  path: string;
  /** What virt-win-reg prints before the in-hive path of every exported key (e.g. "HKEY_LOCAL_MACHINE\\SOFTWARE"). */
  prefix: string;
  /** One string per hive file (cache key): "machine:SOFTWARE", "user:sid:s-1-5-…", "user:name:alice:classes", "bcd". */
  hiveId: string;
}

export interface RegPathOptions {
  /** The user HKEY_CURRENT_USER stands for (a user name or a SID); without it HKCU is refused, as virt-win-reg does. */
  user?: string;
}

/** Well-known service accounts virt-win-reg accepts by name under HKEY_USERS. */
export const SERVICE_ACCOUNT_SIDS: Readonly<Record<string, string>> = {
  localsystem: 'S-1-5-18',
  localservice: 'S-1-5-19',
  networkservice: 'S-1-5-20',
};

const SID_RE = /^S-1-5-[-\d]+$/i;
const CLASSES_SUFFIX = '_classes';

export function isSid(s: string): boolean {
  return SID_RE.test(s);
}

/** HKEY_… / short names → canonical root name. */
function rootName(s: string): 'HKEY_LOCAL_MACHINE' | 'HKEY_USERS' | 'HKEY_CURRENT_USER' | 'HKEY_CLASSES_ROOT' | 'HKEY_CURRENT_CONFIG' | undefined {
  switch (s.toUpperCase()) {
    case 'HKEY_LOCAL_MACHINE':
    case 'HKLM':
      return 'HKEY_LOCAL_MACHINE';
    case 'HKEY_USERS':
    case 'HKU':
      return 'HKEY_USERS';
    case 'HKEY_CURRENT_USER':
    case 'HKCU':
      return 'HKEY_CURRENT_USER';
    case 'HKEY_CLASSES_ROOT':
    case 'HKCR':
      return 'HKEY_CLASSES_ROOT';
    case 'HKEY_CURRENT_CONFIG':
    case 'HKCC':
      return 'HKEY_CURRENT_CONFIG';
    default:
      return undefined;
  }
}

/** True when `s` starts like a registry path (used to tell images from keys on the command line). */
export function looksLikeRegPath(s: string): boolean {
  const first = s.replace(/^\\/, '').split('\\')[0] ?? '';
  return rootName(first) !== undefined;
}

function unsupported(input: string, hint = ''): UsageError {
  return new UsageError(WinRegCode.UnsupportedPath, `${input}: not a supported Windows Registry path${hint}`, { path: input });
}

/** "\\A\\B" from the components after the hive's own ones (virt-win-reg keeps what follows the hive name as is). */
function inner(rest: string | undefined): string {
  return rest === undefined || rest === '' ? '\\' : rest;
}

/**
 * Map a registry path to its hive. The key path is kept as written (hivex resolves it
 * case-insensitively); `CurrentControlSet` is left for `resolveControlSet`.
 * @throws UsageError(WINREG_UNSUPPORTED_PATH)
 */
export function parseRegPath(input: string, opts: RegPathOptions = {}): RegPath {
  const s = input.startsWith('\\') ? input.slice(1) : input;
  const cut = s.indexOf('\\');
  const root = rootName(cut < 0 ? s : s.slice(0, cut));
  if (root === undefined) throw unsupported(input);
  // What follows the root: "SOFTWARE\\Microsoft" → first = "SOFTWARE", rest = "\\Microsoft".
  const tail = cut < 0 ? '' : s.slice(cut + 1);
  const cut2 = tail.indexOf('\\');
  const first = cut2 < 0 ? tail : tail.slice(0, cut2);
  const rest = cut2 < 0 ? undefined : tail.slice(cut2);
  const machine = (hive: MachineHive, prefix: string, path: string): RegPath => ({ input, hive: { kind: 'machine', hive }, path, prefix, hiveId: `machine:${hive}` });

  switch (root) {
    case 'HKEY_LOCAL_MACHINE': {
      const h = first.toUpperCase();
      if (h === 'SAM' || h === 'SECURITY' || h === 'SOFTWARE' || h === 'SYSTEM') return machine(h, `HKEY_LOCAL_MACHINE\\${h}`, inner(rest));
      // What virt-win-reg (and we) print for HKU\.DEFAULT, accepted back so that exports merge again.
      if (h === '.DEFAULT') return machine('DEFAULT', 'HKEY_LOCAL_MACHINE\\.DEFAULT', inner(rest));
      if (h === 'BCD00000000') return { input, hive: { kind: 'bcd' }, path: inner(rest), prefix: 'HKEY_LOCAL_MACHINE\\BCD00000000', hiveId: 'bcd' };
      throw unsupported(input);
    }
    case 'HKEY_USERS': {
      if (first === '') throw unsupported(input);
      // virt-win-reg exports HKU\.DEFAULT under HKEY_LOCAL_MACHINE\.DEFAULT (sic); kept for compatibility.
      if (first.toUpperCase() === '.DEFAULT') return machine('DEFAULT', 'HKEY_LOCAL_MACHINE\\.DEFAULT', inner(rest));
      let who = first;
      let classes = false;
      if (who.toLowerCase().endsWith(CLASSES_SUFFIX) && who.length > CLASSES_SUFFIX.length) {
        who = who.slice(0, -CLASSES_SUFFIX.length);
        classes = true;
      }
      const service = SERVICE_ACCOUNT_SIDS[who.toLowerCase()];
      const sid = service ?? (isSid(who) ? who : undefined);
      const label = service ? `${service}${classes ? '_Classes' : ''}` : first;
      const hive: HiveLocation = sid !== undefined ? { kind: 'user', sid, classes } : { kind: 'user', name: who, classes };
      const id = sid !== undefined ? `user:sid:${sid.toLowerCase()}` : `user:name:${who.toLowerCase()}`;
      return { input, hive, path: inner(rest), prefix: `HKEY_USERS\\${label}`, hiveId: classes ? `${id}:classes` : id };
    }
    case 'HKEY_CURRENT_USER': {
      if (opts.user === undefined || opts.user === '') {
        throw unsupported(input, ' (there is no current user in an offline guest: give --user NAME, or use HKEY_USERS\\NAME)');
      }
      const who = opts.user;
      const sid = SERVICE_ACCOUNT_SIDS[who.toLowerCase()] ?? (isSid(who) ? who : undefined);
      const id = sid !== undefined ? `user:sid:${sid.toLowerCase()}` : `user:name:${who.toLowerCase()}`;
      const base: HiveLocation = sid !== undefined ? { kind: 'user', sid, classes: false } : { kind: 'user', name: who, classes: false };
      // HKCU\Software\Classes is the user's classes hive (UsrClass.dat) on Windows, not a key of NTUSER.DAT.
      const parts = tail.split('\\');
      if (parts.length >= 2 && parts[0]!.toLowerCase() === 'software' && parts[1]!.toLowerCase() === 'classes') {
        const after = parts.slice(2).filter((p) => p !== '');
        return {
          input, hive: { ...base, classes: true }, path: after.length ? '\\' + after.join('\\') : '\\',
          prefix: 'HKEY_CURRENT_USER\\Software\\Classes', hiveId: `${id}:classes`,
        };
      }
      return { input, hive: base, path: tail === '' ? '\\' : '\\' + tail, prefix: 'HKEY_CURRENT_USER', hiveId: id };
    }
    case 'HKEY_CLASSES_ROOT':
      // The machine part of the merged view (keys are printed as the HKLM\SOFTWARE\Classes keys they are).
      return machine('SOFTWARE', 'HKEY_LOCAL_MACHINE\\SOFTWARE', '\\Classes' + (tail === '' ? '' : '\\' + tail));
    case 'HKEY_CURRENT_CONFIG':
      return machine('SYSTEM', 'HKEY_LOCAL_MACHINE\\SYSTEM', '\\CurrentControlSet\\Hardware Profiles\\Current' + (tail === '' ? '' : '\\' + tail));
  }
}

/** Components of an in-hive path ("\\A\\B\\" → ["A", "B"]). */
export function pathParts(path: string): string[] {
  return path.split('\\').filter((p) => p.length > 0);
}

/** A short label for messages: the hive as the user would name it. */
export function hiveLabel(h: HiveLocation): string {
  if (h.kind === 'machine') return h.hive === 'DEFAULT' ? 'HKU\\.DEFAULT' : `HKLM\\${h.hive}`;
  if (h.kind === 'bcd') return 'HKLM\\BCD00000000';
  return `HKU\\${h.sid ?? h.name}${h.classes ? '_Classes' : ''}`;
}
