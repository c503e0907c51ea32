/**
 * Where a user's hives are: NTUSER.DAT in the profile directory, UsrClass.dat below it. The
 * profile of a SID comes from `HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion\ProfileList\<SID>`
 * `ProfileImagePath`, mapped to the Windows root filesystem the way virt-win-reg does
 * (lookup_pip_of_user_sid: `%SystemRoot%` expanded, `%SystemDrive%` and `C:` dropped, `\` → `/`);
 * a user name is looked up as `/Users/NAME`, then `/Documents and Settings/NAME` (virt-win-reg's
 * order), then by the last component of every ProfileList path.
 */
import type { FileSystem } from '@guestkit/disk';
import { NotFoundError, UnsupportedError } from '@guestkit/disk/binary';
import type { HiveReader, NodeRef } from '@guestkit/hive';
import { WinRegCode } from './codes.js';

const PROFILE_LIST = '\\Microsoft\\Windows NT\\CurrentVersion\\ProfileList';
/** UsrClass.dat below the profile: Vista and later, then XP/2003. */
const CLASSES_HIVES = ['AppData/Local/Microsoft/Windows/UsrClass.dat', 'Local Settings/Application Data/Microsoft/Windows/UsrClass.dat'] as const;
const USER_DIRS = ['/Users', '/Documents and Settings'] as const;

export interface Profile {
  sid?: string;
  /** ProfileImagePath as stored. */
  imagePath?: string;
  /** The profile directory on the Windows root filesystem, on-disk case. */
  dir: string;
}

/** Decode a REG_SZ/REG_EXPAND_SZ up to its first NUL (hivex value_string). */
function stringValue(h: HiveReader, key: NodeRef, name: string): string | undefined {
  const v = h.value(key, name);
  if (v === undefined) return undefined;
  const t = h.valueType(v);
  if (t !== 1 && t !== 2) return undefined;
  const d = h.valueBytes(v);
  let e = 0;
  while (e + 1 < d.length && (d[e] !== 0 || d[e + 1] !== 0)) e += 2;
  return Buffer.from(d.buffer, d.byteOffset, e).toString('utf16le');
}

/**
 * A ProfileImagePath as a path on the root filesystem ("%SystemRoot%\…", "C:\Users\x",
 * "%SystemDrive%\Documents and Settings\x"); undefined when it points elsewhere (another drive,
 * an unknown variable).
 */
export function profilePathOnRoot(imagePath: string, systemroot: string): string | undefined {
  let p = imagePath.replace(/%systemroot%/i, systemroot.replace(/\//g, '\\')).replace(/%systemdrive%/i, '');
  if (/^[a-z]:/i.test(p)) {
    if (!/^c:/i.test(p)) return undefined;
    p = p.slice(2);
  }
  if (p.includes('%')) return undefined;
  p = p.replace(/\\/g, '/');
  if (!p.startsWith('/')) p = '/' + p;
  return p.replace(/\/+$/, '') || '/';
}

/** Every ProfileList entry (SID → ProfileImagePath). */
export function profileList(software: HiveReader): { sid: string; imagePath: string }[] {
  const list = software.path(PROFILE_LIST);
  if (list === undefined) return [];
  const out: { sid: string; imagePath: string }[] = [];
  for (const c of software.children(list)) {
    const p = stringValue(software, c, 'ProfileImagePath');
    if (p !== undefined) out.push({ sid: software.nodeName(c), imagePath: p });
  }
  return out;
}

/**
 * The profile of a SID through ProfileList.
 * @throws NotFoundError(WINREG_NO_HIVE_FILE) no ProfileList entry or directory; UnsupportedError(WINREG_PROFILE_ELSEWHERE)
 */
export function profileOfSid(fs: FileSystem, software: HiveReader, systemroot: string, sid: string): Profile {
  const key = software.path(`${PROFILE_LIST}\\${sid}`);
  const imagePath = key === undefined ? undefined : stringValue(software, key, 'ProfileImagePath');
  if (imagePath === undefined) {
    throw new NotFoundError(WinRegCode.NoHiveFile, `HKEY_USERS\\${sid}: no profile for this SID in HKLM\\SOFTWARE${PROFILE_LIST}`, { sid });
  }
  const onRoot = profilePathOnRoot(imagePath, systemroot);
  if (onRoot === undefined) {
    throw new UnsupportedError(WinRegCode.ProfileElsewhere, `HKEY_USERS\\${sid}: the profile ${imagePath} is not on the Windows system drive`, { sid, imagePath });
  }
  const dir = fs.resolveCase(onRoot);
  if (dir === undefined || fs.tryStat(dir)?.type !== 'directory') {
    throw new NotFoundError(WinRegCode.NoHiveFile, `HKEY_USERS\\${sid}: profile directory ${onRoot} not found`, { sid, imagePath });
  }
  return { sid, imagePath, dir };
}

/**
 * The profile of a user name: /Users/NAME, /Documents and Settings/NAME, else the ProfileList
 * entry whose path ends in NAME (case-insensitively).
 * @throws NotFoundError(WINREG_NO_HIVE_FILE) "cannot find user directory" (virt-win-reg's words)
 */
export function profileOfUser(fs: FileSystem, software: HiveReader | undefined, systemroot: string, name: string): Profile {
  if (name.includes('/') || name === '.' || name === '..') {
    throw new NotFoundError(WinRegCode.NoHiveFile, `${name}: cannot find user directory`, { user: name });
  }
  for (const d of USER_DIRS) {
    const dir = fs.resolveCase(`${d}/${name}`);
    if (dir !== undefined && fs.tryStat(dir)?.type === 'directory') return { dir };
  }
  if (software) {
    for (const e of profileList(software)) {
      const onRoot = profilePathOnRoot(e.imagePath, systemroot);
      if (onRoot === undefined) continue;
      const last = onRoot.split('/').pop() ?? '';
      if (last.toLowerCase() !== name.toLowerCase()) continue;
      const dir = fs.resolveCase(onRoot);
      if (dir !== undefined && fs.tryStat(dir)?.type === 'directory') return { sid: e.sid, imagePath: e.imagePath, dir };
    }
  }
  throw new NotFoundError(WinRegCode.NoHiveFile, `${name}: cannot find user directory`, { user: name });
}

/** The hive file of a profile (NTUSER.DAT, or UsrClass.dat with `classes`), on-disk case. */
export function userHiveFile(fs: FileSystem, profile: Profile, classes: boolean, label: string): string {
  const candidates = classes ? CLASSES_HIVES.map((c) => `${profile.dir}/${c}`) : [`${profile.dir}/ntuser.dat`];
  for (const c of candidates) {
    const p = fs.resolveCase(c);
    if (p !== undefined && fs.tryStat(p)?.type === 'file') return p;
  }
  throw new NotFoundError(WinRegCode.NoHiveFile, `${label}: could not find the registry file ${candidates[0]}`, { dir: profile.dir, classes });
}
