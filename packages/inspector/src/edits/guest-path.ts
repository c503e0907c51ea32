/**
 * Guest paths in recipes: `/Windows/Temp/x.bat` (a path on the Windows root filesystem),
 * `C:\Windows\Temp\x.bat`, `win:C:\…` (guestfish's spelling) or `%SystemRoot%\Temp\x.bat`.
 * Drive letters are checked against the guest's drive mappings: only the letter of the Windows
 * root filesystem can be written (C: when the guest has no MountedDevices).
 */
import type { FileSystem } from '@guestkit/disk';
import { UsageError } from '@guestkit/disk/binary';
import type { DriveMapping } from '../windows/drive-mappings.js';
import { WinRegCode } from '../winreg/codes.js';

export interface GuestPathContext {
  root: string;
  systemroot: string;
  driveMappings: readonly DriveMapping[];
}

function bad(p: string, why: string): UsageError {
  return new UsageError(WinRegCode.BadGuestPath, `${p}: ${why}`, { path: p });
}

/** A recipe's guest path as an absolute `/`-separated path on the Windows root filesystem. */
export function guestPathOnRoot(input: string, ctx: GuestPathContext): string {
  let p = input.startsWith('win:') ? input.slice(4) : input;
  p = p.replace(/^%systemroot%/i, ctx.systemroot);
  const m = /^([a-z]):(.*)$/i.exec(p);
  if (m) {
    const letter = m[1]!.toUpperCase();
    const mapped = ctx.driveMappings.find((d) => d.letter.toUpperCase() === letter);
    const isRoot = mapped ? mapped.device === ctx.root : letter === 'C';
    if (!isRoot) {
      throw bad(input, mapped
        ? `drive ${letter}: is ${mapped.device}; only the Windows system drive (${ctx.root}) can be written`
        : `drive ${letter}: is not mapped in this guest`);
    }
    p = m[2]!;
  }
  p = p.replace(/\\/g, '/');
  if (!p.startsWith('/')) throw bad(input, 'not an absolute guest path (use C:\\… or /…)');
  const parts = p.split('/').filter((x) => x !== '' && x !== '.');
  if (parts.includes('..')) throw bad(input, '".." is not allowed in guest paths');
  if (parts.some((x) => /[<>:"|?*\x00-\x1f]/.test(x))) throw bad(input, 'a name contains a character Windows does not allow');
  return '/' + parts.join('/');
}

/** The Windows form of a root-filesystem path ("C:\\Program Files\\…"). */
export function windowsPath(path: string): string {
  return 'C:' + (path === '/' ? '\\' : path.replace(/\//g, '\\'));
}

/**
 * Resolve a path against the filesystem: existing components take their on-disk case, the rest
 * are kept as given. Returns the path, the directories that must be created (outermost first),
 * and what exists at the path.
 */
export function resolveOnFs(fs: FileSystem, path: string, planned: ReadonlyMap<string, string> = new Map()): { path: string; missingDirs: string[]; existing?: 'file' | 'directory' | 'other' } {
  const parts = path.split('/').filter((x) => x !== '');
  let cur = '';
  const missing: string[] = [];
  let gone = false;
  for (let i = 0; i < parts.length; i++) {
    const next = `${cur}/${parts[i]}`;
    if (!gone) {
      // (planned: directories created by earlier edits of the same plan, lower-cased → as created)
      const real = fs.resolveCase(next);
      if (real !== undefined) {
        const t = fs.tryStat(real)?.type;
        if (i < parts.length - 1 && t !== 'directory') throw bad(path, `${real} is not a directory`);
        cur = real;
        if (i === parts.length - 1) return { path: cur, missingDirs: missing, existing: t === 'file' || t === 'directory' ? t : 'other' };
        continue;
      }
      gone = true;
    }
    const plannedAs = planned.get(next.toLowerCase());
    cur = plannedAs ?? next;
    if (i < parts.length - 1 && plannedAs === undefined) missing.push(cur);
  }
  return { path: cur || '/', missingDirs: missing };
}
