/**
 * The Windows installations of a guest, found by the inspector's own rules (inspect.ts) but
 * without reading any hive: the registry editor opens only the hives a command needs.
 */
import type { FileSystem } from '@guestkit/disk';
import { GuestError, NotFoundError, UsageError, nullLogger, type Logger } from '@guestkit/disk/binary';
import type { GuestFilesystemLike } from '../guest-like.js';
import { findSystemRoot, nonWindowsRole } from '../windows/systemroot.js';
import { WinRegCode } from './codes.js';

export interface WindowsRoot {
  /** Root device, "/dev/sda3". */
  device: string;
  /** "/Windows", as spelled on disk. */
  systemroot: string;
  filesystem: GuestFilesystemLike;
}

/** What root discovery needs: the filesystems and a read-only mount. */
export interface RootSource {
  filesystems(): readonly GuestFilesystemLike[];
  mountReadOnly(device: string): FileSystem;
}

/** Every Windows root, in list-filesystems order. Unreadable filesystems are skipped. */
export function findWindowsRoots(src: RootSource, log: Logger = nullLogger): WindowsRoot[] {
  const out: WindowsRoot[] = [];
  for (const f of src.filesystems()) {
    if (f.type !== 'ntfs' && f.type !== 'vfat') continue;
    try {
      const fs = src.mountReadOnly(f.device);
      if (nonWindowsRole(fs)) continue;
      const sr = findSystemRoot(fs);
      if (sr) out.push({ device: f.device, systemroot: sr.path, filesystem: f });
    } catch (e) {
      if (!(e instanceof GuestError)) throw e;
      log.debug({ device: f.device, code: e.code }, `${f.device}: skipped: ${e.message}`);
    }
  }
  return out;
}

/**
 * The one Windows root a command works on: the only one, or the one named by `want` (a device).
 * virt-win-reg refuses guests with several ("multiboot operating systems are not supported").
 * @throws NotFoundError(WINREG_NO_WINDOWS), UsageError(WINREG_MULTIBOOT)
 */
export function chooseWindowsRoot(roots: readonly WindowsRoot[], want?: string): WindowsRoot {
  if (want !== undefined) {
    const r = roots.find((x) => x.device === want);
    if (!r) {
      throw new NotFoundError(WinRegCode.NoWindows, `${want}: no Windows installation on this device (found: ${roots.map((x) => x.device).join(', ') || 'none'})`, { root: want });
    }
    return r;
  }
  if (roots.length === 0) {
    throw new NotFoundError(WinRegCode.NoWindows, 'No Windows operating system could be detected inside this disk image', {});
  }
  if (roots.length > 1) {
    throw new UsageError(WinRegCode.Multiboot, `multiboot operating systems are not supported without --root: Windows is installed on ${roots.map((x) => x.device).join(' and ')}`, {
      roots: roots.map((x) => x.device),
    });
  }
  return roots[0]!;
}
