import { NotFoundError, UsageError, ReadOnlyError, type FileSystem } from '@guestkit/disk';
import { inspectGuest, type Guest, type InspectedOs } from '@guestkit/inspector';

export interface Mount {
  mountpoint: string;
  device: string;
  fs: FileSystem;
}

/** A path inside one mounted filesystem. */
export interface Resolved {
  mount: Mount;
  fs: FileSystem;
  /** Absolute path inside the filesystem ("/" for its root). */
  path: string;
}

/**
 * The state of a guestfish-style session: the guest (drives), what is mounted where, and where
 * output goes. Guest paths are absolute; each resolves to the filesystem mounted at the longest
 * matching mountpoint.
 */
export class FishSession {
  readonly mounts: Mount[] = [];
  /** Set when a write command changed something that must be flushed at the end. */
  dirty = false;
  /** The operating system found by -i (or by the first `win:` path), for drive letters. */
  private os: InspectedOs | undefined;

  constructor(
    readonly guest: Guest,
    readonly writable: boolean,
    readonly out: (text: string) => void,
    readonly outBytes: (bytes: Uint8Array) => void,
    /** Progress bars on long copies: a flag, or asked when a bar is first due. */
    readonly progress: boolean | (() => boolean),
  ) {}

  mount(device: string, mountpoint: string, write: boolean): void {
    const mp = normalizeMountpoint(mountpoint);
    if (this.mounts.some((m) => m.mountpoint === mp)) {
      throw new UsageError('FISH_MOUNTPOINT_BUSY', `mount: ${mp}: something is already mounted there`);
    }
    if (mp !== '/' && !this.mounts.some((m) => mp.startsWith(m.mountpoint === '/' ? '/' : m.mountpoint + '/'))) {
      throw new UsageError('FISH_NO_MOUNTPOINT', `mount: ${mp}: mount the root filesystem (/) first`);
    }
    const fs = this.guest.mount(device, { write: write && this.writable });
    this.mounts.push({ mountpoint: mp, device, fs });
    this.mounts.sort((a, b) => b.mountpoint.length - a.mountpoint.length);
  }

  umount(target: string): void {
    const i = this.mounts.findIndex((m) => m.mountpoint === normalizeMountpoint(target) || m.device === target);
    if (i < 0) throw new NotFoundError('FISH_NOT_MOUNTED', `umount: ${target}: not mounted`);
    const [m] = this.mounts.splice(i, 1);
    if (m && !m.fs.readOnly) m.fs.flush();
  }

  umountAll(): void {
    for (const m of this.mounts) if (!m.fs.readOnly) m.fs.flush();
    this.mounts.length = 0;
  }

  /**
   * Inspect the guest for its one operating system (guestfish -i): none or several is an error,
   * as in guestfish.
   */
  inspectOs(): InspectedOs {
    if (this.os) return this.os;
    const report = inspectGuest(this.guest, { applications: false, extras: false });
    const roots = report.operatingSystems;
    if (roots.length === 0) {
      throw new NotFoundError('FISH_NO_OS', 'no operating system was found on this disk (mount filesystems with -m DEVICE instead)');
    }
    if (roots.length > 1) {
      throw new UsageError('FISH_MULTIBOOT', `multi-boot operating systems are not supported (roots: ${roots.map((r) => r.root).join(', ')}); mount with -m DEVICE`);
    }
    this.os = roots[0]!;
    return this.os;
  }

  /** Mount the inspected operating system's filesystems at their mountpoints, shortest first. */
  mountInspected(): InspectedOs {
    const os = this.inspectOs();
    const mps = [...os.mountpoints].sort((a, b) => a.mountpoint.length - b.mountpoint.length);
    for (const m of mps) this.mount(m.device, m.mountpoint, true);
    return os;
  }

  /**
   * guestfish's Windows paths: "win:C:\Windows\System32" → the filesystem the drive letter maps
   * to (through the guest's MountedDevices), backslashes as separators; without a letter, the
   * system drive.
   */
  private winPath(spec: string, cmd: string): string {
    const m = /^win:(?:([A-Za-z]):)?(.*)$/s.exec(spec)!;
    const rest = '/' + m[2]!.replace(/\\/g, '/').replace(/^\/+/, '');
    if (!m[1]) return rest;
    const os = this.inspectOs();
    const letter = m[1].toUpperCase();
    const map = os.driveMappings.find((d) => d.letter.toUpperCase() === letter);
    if (!map) throw new NotFoundError('FISH_NO_DRIVE', `${cmd}: drive '${m[1].toLowerCase()}:' not found`);
    const mount = this.mounts.find((x) => x.device === map.device);
    if (!mount) throw new UsageError('FISH_DRIVE_NOT_MOUNTED', `${cmd}: drive ${letter}: is ${map.device}, which is not mounted`);
    return collapse((mount.mountpoint === '/' ? '' : mount.mountpoint) + rest);
  }

  /** Resolve an absolute guest path (or a win: path) to (filesystem, path inside it). */
  resolve(guestPath: string, cmd: string): Resolved {
    if (/^win:/i.test(guestPath)) guestPath = this.winPath('win:' + guestPath.slice(4), cmd);
    if (!guestPath.startsWith('/')) {
      throw new UsageError('FISH_RELATIVE_PATH', `${cmd}: ${guestPath}: path must start with a / character`);
    }
    const p = collapse(guestPath);
    for (const m of this.mounts) {
      if (m.mountpoint === '/') return { mount: m, fs: m.fs, path: p };
      if (p === m.mountpoint || p.startsWith(m.mountpoint + '/')) {
        return { mount: m, fs: m.fs, path: p.slice(m.mountpoint.length) || '/' };
      }
    }
    throw new UsageError('FISH_NOT_MOUNTED', `${cmd}: ${guestPath}: no filesystem is mounted there (use -m DEVICE or -i)`);
  }

  /** Resolve for writing: the filesystem must be mounted read-write. */
  resolveWrite(guestPath: string, cmd: string): Resolved {
    const r = this.resolve(guestPath, cmd);
    if (r.fs.readOnly) {
      throw new ReadOnlyError('READ_ONLY', `${cmd}: ${guestPath}: the filesystem is mounted read-only (add --rw)`);
    }
    this.dirty = true;
    return r;
  }

  flush(): void {
    for (const m of this.mounts) if (!m.fs.readOnly) m.fs.flush();
    if (this.writable) this.guest.flush();
  }
}

function normalizeMountpoint(mp: string): string {
  if (!mp.startsWith('/')) throw new UsageError('FISH_BAD_MOUNTPOINT', `mountpoint ${mp} must be an absolute path`);
  return collapse(mp);
}

/** Collapse "//", "/./" and a trailing "/" ("/a//b/" → "/a/b"); ".." is resolved lexically. */
export function collapse(p: string): string {
  const parts: string[] = [];
  for (const c of p.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') parts.pop();
    else parts.push(c);
  }
  return '/' + parts.join('/');
}
