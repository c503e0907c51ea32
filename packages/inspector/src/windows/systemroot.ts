/**
 * Finding a Windows %SystemRoot% on a filesystem exactly as libguestfs 1.48 does
 * (daemon/inspect_fs_windows.ml, daemon/inspect_fs.ml):
 *
 * 1. the candidates /windows, /winnt, /win32, /win, /reactos, each resolved case-insensitively
 *    (case_sensitive_path), in that order;
 * 2. a candidate is a systemroot when <root>/system32 and <root>/system32/config are
 *    directories and <root>/system32/cmd.exe is a regular file (not a symlink; RHBZ#674130:
 *    a data disk with "Program Files" must not look like a system disk);
 * 3. otherwise /boot.ini: after a line starting "[operating systems]", the following lines that
 *    start "multi(" or "scsi(" and match `^(multi|scsi)\(N\)disk\(N\)rdisk\(N\)partition\(N\)PATH=`
 *    give PATH (backslashes turned into slashes, kept as written); the first PATH that is a
 *    systemroot on the same filesystem wins (disk and partition numbers are ignored).
 *
 * Before the Windows test libguestfs tries the Unix-like layouts; a filesystem that matches
 * one of them is never a Windows root (`nonWindowsRole`).
 */
import type { FileSystem } from '@guestkit/disk';

export const SYSTEMROOT_CANDIDATES = ['/windows', '/winnt', '/win32', '/win', '/reactos'] as const;

/** boot.ini is read only when smaller than this (libguestfs read_small_file reads whole files). */
export const MAX_BOOT_INI_BYTES = 1024 * 1024;

const BOOT_INI_OS = /^(multi|scsi)\((\d+)\)disk\((\d+)\)rdisk\((\d+)\)partition\((\d+)\)([^=]+)=/;

export interface SystemRoot {
  /** As libguestfs reports windows_systemroot: on-disk case for candidates, boot.ini's spelling otherwise. */
  path: string;
  source: 'candidate' | 'boot.ini';
}

function statType(fs: FileSystem, path: string): string | undefined {
  const real = fs.resolveCase(path);
  if (real === undefined) return undefined;
  return fs.tryStat(real)?.type;
}

/** is_dir_nocase (lstat semantics: a symlink or junction to a directory is not a directory). */
export function isDirNocase(fs: FileSystem, path: string): boolean {
  return statType(fs, path) === 'directory';
}

/** is_file_nocase (a regular file). */
export function isFileNocase(fs: FileSystem, path: string): boolean {
  return statType(fs, path) === 'file';
}

/** The system32 + config + cmd.exe rule. */
export function isSystemRoot(fs: FileSystem, root: string): boolean {
  return isDirNocase(fs, `${root}/system32`) && isDirNocase(fs, `${root}/system32/config`) && isFileNocase(fs, `${root}/system32/cmd.exe`);
}

/** PATHs named by boot.ini's [operating systems] section, in file order. */
export function bootIniSystemRoots(text: string): string[] {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.startsWith('[operating systems]'));
  if (start < 0) return [];
  const out: string[] = [];
  for (const l of lines.slice(start + 1)) {
    if (!l.startsWith('multi(') && !l.startsWith('scsi(')) break;
    const m = BOOT_INI_OS.exec(l);
    if (m) out.push(m[6]!.replace(/\\/g, '/'));
  }
  return out;
}

/** Find the Windows systemroot of `fs`, or undefined. */
export function findSystemRoot(fs: FileSystem): SystemRoot | undefined {
  for (const c of SYSTEMROOT_CANDIDATES) {
    const real = fs.resolveCase(c);
    if (real !== undefined && isSystemRoot(fs, real)) return { path: real, source: 'candidate' };
  }
  const ini = fs.resolveCase('/boot.ini');
  if (ini === undefined) return undefined;
  const st = fs.tryStat(ini);
  if (!st || st.type !== 'file' || st.size > MAX_BOOT_INI_BYTES) return undefined;
  const text = Buffer.from(fs.readFile(ini, { maxBytes: MAX_BOOT_INI_BYTES })).toString('latin1');
  for (const p of bootIniSystemRoots(text)) {
    if (isSystemRoot(fs, p)) return { path: p, source: 'boot.ini' };
  }
  return undefined;
}

function exact(fs: FileSystem, path: string, type: 'file' | 'directory'): boolean {
  // libguestfs's Is.is_file / Is.is_dir on the mounted filesystem: exact names.
  return fs.resolveCase(path) === path && fs.tryStat(path)?.type === type;
}

/**
 * The role libguestfs gives a filesystem before it considers Windows (check_filesystem):
 * Grub /boot, the BSDs, Hurd, Minix, Linux (root, /usr/local, /usr, /var), CoreOS. Such a
 * filesystem is never inspected as Windows. Returns a label, or undefined.
 */
export function nonWindowsRole(fs: FileSystem): string | undefined {
  const f = (p: string): boolean => exact(fs, p, 'file');
  const d = (p: string): boolean => exact(fs, p, 'directory');
  if (f('/grub/menu.lst') || f('/grub/grub.conf') || f('/grub2/grub.cfg')) return 'Grub /boot';
  if (d('/etc') && d('/bin') && f('/etc/freebsd-update.conf') && f('/etc/fstab')) return 'FreeBSD root';
  if (d('/etc') && d('/bin') && f('/netbsd') && f('/etc/fstab') && f('/etc/release')) return 'NetBSD root';
  if (d('/etc') && d('/bin') && f('/bsd') && f('/etc/fstab') && f('/etc/motd')) return 'OpenBSD root';
  if (f('/hurd/console') && f('/hurd/hello') && f('/hurd/null')) return 'Hurd root';
  if (d('/etc') && d('/bin') && f('/service/vm') && f('/etc/fstab') && f('/etc/version')) return 'Minix root';
  const binOk = d('/bin') || (fs.tryStat('/bin')?.type === 'symlink' && fs.tryStat('/bin')?.target === 'usr/bin');
  if (d('/etc') && binOk && (f('/etc/fstab') || f('/etc/hosts'))) return 'Linux root';
  if (d('/etc') && d('/root') && d('/home') && d('/usr') && f('/etc/coreos/update.conf')) return 'CoreOS root';
  if (d('/etc') && d('/bin') && d('/share') && !d('/local') && !f('/etc/fstab')) return 'Linux /usr/local';
  if (d('/bin') && d('/local') && d('/share') && d('/src') && !f('/etc/fstab')) return 'Linux /usr';
  if (d('/bin') && d('/share') && d('/local') && d('/share/coreos')) return 'CoreOS /usr';
  if (d('/log') && d('/run') && d('/spool')) return 'Linux /var';
  return undefined;
}

/** The DOS roots libguestfs recognises after Windows: FreeDOS and MS-DOS. */
export function dosRoot(fs: FileSystem): 'freedos' | 'msdos' | undefined {
  if (isDirNocase(fs, '/FDOS') && isFileNocase(fs, '/FDOS/FREEDOS.BSS')) return 'freedos';
  if (isDirNocase(fs, '/DOS') && isFileNocase(fs, '/DOS/COMMAND.COM')) return 'msdos';
  return undefined;
}

/** The other Windows volume kinds libguestfs names (only logged; they are not roots). */
export function windowsVolumeKind(fs: FileSystem): string | undefined {
  if (!isDirNocase(fs, '/System Volume Information')) return undefined;
  return isDirNocase(fs, '/Program Files') ? 'Windows volume with installed applications' : 'Windows volume';
}
