/**
 * A registry editing session on a guest: the images opened as one guest, its Windows root found,
 * hives opened on demand (one in-memory Hive per hive file, whichever path named it), edits
 * applied in memory, then written back through the filesystem's write path into an
 * OverlayDevice per disk, and committed to the images only at the end. An error anywhere before
 * the commit leaves the images untouched; a dry run never opens them for writing at all.
 */
import type { Extent, FileSystem } from '@guestkit/disk';
import { OverlayDevice } from '@guestkit/disk';
import { GuestError, NotFoundError, UnsafeStateError, UsageError, nullLogger, type Logger } from '@guestkit/disk/binary';
import {
  Hive, applyReg, decodeRegText, parseReg, recoverHive, type HiveReader, type NodeRef, type RegMergeReport, type RegOp,
} from '@guestkit/hive';
import { Guest } from '../guest/guest.js';
import { BCD_STORE_PATHS } from '../bcd/locate.js';
import { isEsp } from '../guest-like.js';
import { WinRegCode } from './codes.js';
import { resolveControlSet } from './control-set.js';
import { loadGuestHive, writeGuestHive, type GuestHive, type HiveWriteReport } from './guest-hive.js';
import { diffHive, type HiveDiff } from './reg-diff.js';
import { profileOfSid, profileOfUser, userHiveFile } from './profiles.js';
import { hiveLabel, parseRegPath, pathParts, type HiveLocation, type MachineHive, type RegPath } from './reg-path.js';
import { chooseWindowsRoot, findWindowsRoots, type WindowsRoot } from './roots.js';

export interface RegistrySessionOptions {
  /** Allow edits (staged in memory until `commit()`). Default read-only. */
  write?: boolean;
  /** With `write`: open the images read-only, so that `commit()` cannot happen (a dry run). */
  dryRun?: boolean;
  /** Image format (default sniffed). */
  format?: 'raw' | 'qcow2';
  /** The Windows root to use when the guest has several ("/dev/sda3"). */
  root?: string;
  /** The user HKEY_CURRENT_USER means (name or SID). */
  user?: string;
  /** Replay the transaction logs of dirty hives (default true). */
  logs?: boolean;
  /** Write to an NTFS volume even if it looks unsafe (hibernated, Fast Startup, dirty). */
  force?: boolean;
  logger?: Logger;
  /** Clock for key and header timestamps (FILETIME), for reproducible tests. */
  now?: () => bigint;
}

/** One hive file opened in the session. */
export interface SessionHive {
  /** Cache key: device + lower-cased path. */
  id: string;
  /** How the user would name it (HKLM\SOFTWARE, HKU\alice). */
  label: string;
  /** Export prefix of the path that first opened it. */
  prefix: string;
  device: string;
  gh: GuestHive;
  /** In-hive key paths an edit touched (lower-cased → as written), for the registry diff. */
  touched: Map<string, string>;
}

/** A registry path resolved to its hive and in-hive key path (CurrentControlSet resolved). */
export interface ResolvedKey {
  mapped: RegPath;
  hive: SessionHive;
  /** In-hive path, "\\" for the hive root. */
  path: string;
}

/** Merge results, per .reg input. */
export interface MergeReport extends RegMergeReport {
  hives: string[];
}

export class RegistrySession {
  readonly guest: Guest;
  readonly root: WindowsRoot;
  readonly writable: boolean;
  readonly dryRun: boolean;
  private readonly opts: RegistrySessionOptions;
  private readonly log: Logger;
  private rootFs: FileSystem | undefined;
  private readonly byFile = new Map<string, SessionHive>();
  private readonly byId = new Map<string, SessionHive>();
  private committed = false;

  private constructor(guest: Guest, root: WindowsRoot, opts: RegistrySessionOptions) {
    this.guest = guest;
    this.root = root;
    this.opts = opts;
    this.writable = Boolean(opts.write);
    this.dryRun = Boolean(opts.write && opts.dryRun);
    this.log = opts.logger ?? nullLogger;
  }

  /**
   * Open the images and find the Windows root (the only one, or `opts.root`).
   * @throws what Guest.open throws; NotFoundError(WINREG_NO_WINDOWS); UsageError(WINREG_MULTIBOOT)
   */
  static open(images: string[], opts: RegistrySessionOptions = {}): RegistrySession {
    const log = opts.logger ?? nullLogger;
    const write = Boolean(opts.write);
    const guest = Guest.open(images, {
      write: write && !opts.dryRun, overlay: write, logger: log, force: Boolean(opts.force),
      ...(opts.format ? { format: opts.format } : {}),
    });
    try {
      // Root discovery only reads; in a write session it reuses the writable mounts (one NTFS
      // instance per volume), falling back to read-only where writing is refused (hibernated).
      const mountForDiscovery = (d: string) => {
        if (!write) return guest.mount(d, { write: false });
        try {
          return guest.mount(d);
        } catch (e) {
          if (e instanceof UnsafeStateError) return guest.mount(d, { write: false });
          throw e;
        }
      };
      const roots = findWindowsRoots({ filesystems: () => guest.filesystems(), mountReadOnly: mountForDiscovery }, log);
      const root = chooseWindowsRoot(roots, opts.root);
      return new RegistrySession(guest, root, opts);
    } catch (e) {
      guest.close();
      throw e;
    }
  }

  /** The Windows root filesystem (writable in a write session; the volume's safety is checked on first use). */
  get fs(): FileSystem {
    this.rootFs ??= this.guest.mount(this.root.device, { write: this.writable });
    return this.rootFs;
  }

  get systemroot(): string {
    return this.root.systemroot;
  }

  /** Map a registry path (HKLM\…, HKU\…, HKCU\… with the session's user). */
  map(path: string): RegPath {
    return parseRegPath(path, this.opts.user !== undefined ? { user: this.opts.user } : {});
  }

  /** The machine hive file `name` (on-disk case), or undefined when missing. */
  machineHivePath(name: MachineHive): string | undefined {
    const p = this.fs.resolveCase(`${this.systemroot}/system32/config/${name.toLowerCase()}`);
    return p !== undefined && this.fs.tryStat(p)?.type === 'file' ? p : undefined;
  }

  /** The SOFTWARE or SYSTEM hive (opened on demand). */
  machine(name: MachineHive): SessionHive {
    return this.open({ kind: 'machine', hive: name }, name === 'DEFAULT' ? 'HKEY_LOCAL_MACHINE\\.DEFAULT' : `HKEY_LOCAL_MACHINE\\${name}`, `machine:${name}`);
  }

  /**
   * Resolve a registry path to its hive (opened on demand) and in-hive path. `CurrentControlSet`
   * in SYSTEM paths becomes the control set named by Select\Current.
   */
  resolve(pathOrMapped: string | RegPath): ResolvedKey {
    const mapped = typeof pathOrMapped === 'string' ? this.map(pathOrMapped) : pathOrMapped;
    const hive = this.open(mapped.hive, mapped.prefix, mapped.hiveId);
    let path = mapped.path;
    if (mapped.hive.kind === 'machine' && mapped.hive.hive === 'SYSTEM') path = resolveControlSet(hive.gh.hive, path, mapped.input);
    return { mapped, hive, path };
  }

  /** The key node of a resolved path. @throws NotFoundError(WINREG_NO_SUCH_KEY) "path not found in this hive" */
  requireKey(k: ResolvedKey): NodeRef {
    const n = k.hive.gh.hive.path(k.path);
    if (n === undefined) {
      throw new NotFoundError(WinRegCode.NoSuchKey, `${k.mapped.input}: path not found in this hive`, { path: k.mapped.input, hive: k.hive.gh.path });
    }
    return n;
  }

  private open(loc: HiveLocation, prefix: string, hiveId: string): SessionHive {
    const known = this.byId.get(hiveId);
    if (known) return known;
    const { fs, device, path } = this.locate(loc);
    const fileKey = `${device}:${path.toLowerCase()}`;
    let sh = this.byFile.get(fileKey);
    if (!sh) {
      const gh = loadGuestHive(fs, path, {
        writable: this.writable, unsafe: !this.writable, logs: this.opts.logs !== false, logger: this.log,
        name: `${device}:${path}`, ...(this.opts.now ? { now: this.opts.now } : {}),
      });
      sh = { id: fileKey, label: hiveLabel(loc), prefix, device, gh, touched: new Map() };
      this.byFile.set(fileKey, sh);
    }
    this.byId.set(hiveId, sh);
    return sh;
  }

  /** Which filesystem and file hold a hive. */
  private locate(loc: HiveLocation): { fs: FileSystem; device: string; path: string } {
    const fs = this.fs;
    const device = this.root.device;
    if (loc.kind === 'machine') {
      const path = this.machineHivePath(loc.hive);
      if (path === undefined) {
        throw new NotFoundError(WinRegCode.NoHiveFile, `${this.systemroot}/system32/config/${loc.hive.toLowerCase()}: could not find the registry file`, { hive: loc.hive });
      }
      return { fs, device, path };
    }
    if (loc.kind === 'user') {
      const label = hiveLabel(loc);
      let profile;
      if (loc.sid !== undefined) profile = profileOfSid(fs, this.machine('SOFTWARE').gh.hive, this.systemroot, loc.sid);
      else {
        let software: HiveReader | undefined;
        try {
          software = this.machine('SOFTWARE').gh.hive;
        } catch (e) {
          if (!(e instanceof GuestError)) throw e;
        }
        profile = profileOfUser(fs, software, this.systemroot, loc.name!);
      }
      return { fs, device, path: userHiveFile(fs, profile, loc.classes, label) };
    }
    return this.locateBcd();
  }

  /** The BCD store: \EFI\Microsoft\Boot\BCD on an EFI system partition first, else \Boot\BCD anywhere. */
  private locateBcd(): { fs: FileSystem; device: string; path: string } {
    const found: { fs: FileSystem; device: string; path: string; efi: boolean }[] = [];
    for (const f of this.guest.filesystems()) {
      if (f.type !== 'ntfs' && f.type !== 'vfat') continue;
      let fs: FileSystem;
      try {
        fs = f.device === this.root.device ? this.fs : this.guest.mount(f.device, { write: this.writable });
      } catch (e) {
        if (!(e instanceof GuestError)) throw e;
        continue;
      }
      for (const p of BCD_STORE_PATHS) {
        const real = fs.resolveCase(p);
        if (real !== undefined && fs.tryStat(real)?.type === 'file') found.push({ fs, device: f.device, path: real, efi: isEsp(f.partition) });
      }
    }
    const best = found.find((x) => x.efi) ?? found[0];
    if (!best) throw new NotFoundError(WinRegCode.NoHiveFile, 'HKLM\\BCD00000000: no BCD store found on the guest', {});
    return best;
  }

  /** Note that an edit touched `path` (and, for a new key, its ancestors) in `hive`. */
  touch(hive: SessionHive, path: string): void {
    const parts = pathParts(path);
    for (let i = 0; i <= parts.length; i++) {
      const p = '\\' + parts.slice(0, i).join('\\');
      hive.touched.set(p.toLowerCase(), p);
    }
  }

  /**
   * Apply .reg operations whose key paths are full registry paths ([HKLM\SOFTWARE\…]); each
   * section goes to its own hive. Missing parent keys are created (regedit) unless `strict`
   * (hivexregedit / virt-win-reg refuse them).
   */
  applyOps(ops: readonly RegOp[], opts: { source?: string; strict?: boolean } = {}): MergeReport {
    this.assertWritable();
    const total: MergeReport = { keysCreated: 0, keysDeleted: 0, valuesSet: 0, valuesDeleted: 0, missingDeletes: [], hives: [] };
    // Resolve every path first: an unsupported path fails before anything is changed.
    const resolved = ops.map((op) => ({ op, k: this.resolve(op.path) }));
    let i = 0;
    while (i < resolved.length) {
      const hive = resolved[i]!.k.hive;
      const run: RegOp[] = [];
      while (i < resolved.length && resolved[i]!.k.hive === hive) {
        const { op, k } = resolved[i]!;
        run.push({ ...op, path: k.path });
        this.touch(hive, k.path);
        if (op.op === 'deleteKey') this.touch(hive, '\\' + pathParts(k.path).slice(0, -1).join('\\'));
        i++;
      }
      const r = applyReg(hive.gh.hive, run, { source: opts.source ?? '.reg', strict: Boolean(opts.strict) });
      total.keysCreated += r.keysCreated;
      total.keysDeleted += r.keysDeleted;
      total.valuesSet += r.valuesSet;
      total.valuesDeleted += r.valuesDeleted;
      total.missingDeletes.push(...r.missingDeletes);
      if (!total.hives.includes(hive.label)) total.hives.push(hive.label);
    }
    return total;
  }

  /** Parse and apply a .reg file (any encoding decodeRegText accepts). */
  merge(bytes: Uint8Array, opts: { source?: string; strict?: boolean; encoding?: 'utf-16le' | 'ascii' } = {}): MergeReport {
    const source = opts.source ?? '.reg';
    const ops = parseReg(decodeRegText(bytes), { source, ...(opts.encoding ? { encoding: opts.encoding } : {}) });
    return this.applyOps(ops, { source, ...(opts.strict !== undefined ? { strict: opts.strict } : {}) });
  }

  private assertWritable(): void {
    if (!this.writable) throw new UsageError('READ_ONLY', 'the registry session was opened read-only', {});
  }

  /** Hives changed in memory. */
  modifiedHives(): SessionHive[] {
    return [...this.byFile.values()].filter((h) => h.gh.hive.isModified || (h.gh.recovery !== undefined && h.touched.size > 0));
  }

  /** Every hive opened so far. */
  openHives(): SessionHive[] {
    return [...this.byFile.values()];
  }

  /** The hive as it was before this session's edits (after log replay), read-only. */
  before(h: SessionHive): HiveReader {
    const gh = h.gh;
    if (gh.recovery) return recoverHive(gh.original, gh.logInputs ?? [], { name: gh.path }).hive;
    return Hive.open(gh.original, { name: gh.path });
  }

  /** What the edits changed in each modified hive (only the touched keys are compared). */
  registryDiff(): HiveDiff[] {
    return this.modifiedHives().map((h) => ({
      label: h.label, prefix: h.prefix, file: `${h.device}:${h.gh.path}`,
      changes: diffHive(this.before(h), h.gh.hive, h.touched.values(), h.prefix),
    }));
  }

  /**
   * Write every modified hive back through the filesystem (into the overlays; nothing reaches
   * the images before `commit()`).
   */
  writeHives(): HiveWriteReport[] {
    this.assertWritable();
    const out: HiveWriteReport[] = [];
    for (const h of this.modifiedHives()) out.push(writeGuestHive(h.gh, this.log));
    this.guest.flush();
    return out;
  }

  /** What the staged writes change on each disk (byte ranges; `exact` compares with the image). */
  changedExtents(exact = true): { disk: string; path: string; extents: Extent[] }[] {
    return this.guest.disks.map((d) => ({
      disk: d.name, path: d.path, extents: d.device instanceof OverlayDevice ? d.device.changedExtents({ exact }) : [],
    }));
  }

  /** Commit the staged writes to the images (refused in a dry run). */
  commit(): void {
    this.assertWritable();
    if (this.dryRun) throw new UsageError('DRY_RUN', 'dry run: nothing may be committed', {});
    for (const d of this.guest.disks) if (d.device instanceof OverlayDevice) d.device.commit();
    this.committed = true;
  }

  get isCommitted(): boolean {
    return this.committed;
  }

  /** Close the guest; uncommitted changes are discarded. */
  close(): void {
    this.guest.close();
  }
}
