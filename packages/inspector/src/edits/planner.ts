/**
 * Turning recipes into an EditPlan. The planner reads the guest (which directories and values
 * exist already, which control sets there are) but changes nothing; later steps see what earlier
 * steps of the same plan will create.
 */
import { readFileSync } from 'node:fs';
import type { FileSystem } from '@guestkit/disk';
import { IoError, UsageError } from '@guestkit/disk/binary';
import type { RegistrySession } from '../winreg/session.js';
import { WinRegCode } from '../winreg/codes.js';
import type { GuestFacts } from './facts.js';
import { guestPathOnRoot, resolveOnFs } from './guest-path.js';
import type { EditPlan, EditStep, FileEdit } from './plan.js';

/** One recipe, as given on the command line (in order). */
export type Recipe =
  /** Copy a host file into the guest (DEST may be a directory: the file keeps its name). */
  | { kind: 'upload'; source: string; dest: string }
  /** Run a batch script at the next boot, before any logon, through the firstboot service (libguestfs's). */
  | { kind: 'firstboot'; script: string }
  /** Run a command line at the next boot, through the firstboot service. */
  | { kind: 'firstboot-command'; command: string }
  /** Run a command line at the next logon (HKLM\…\RunOnce). */
  | { kind: 'run-once'; command: string }
  /** Install a Windows service (every control set) running BINARY (a host file to upload, or a guest path). */
  | { kind: 'install-service'; name: string; binary: string; displayName?: string; start?: 'boot' | 'system' | 'auto' | 'demand' | 'disabled' }
  /** Install a boot-critical storage driver as virt-v2v does, for the PCI ids given. */
  | { kind: 'inject-driver'; file: string; pciIds: string[]; classGuid?: string; group?: string };

export interface PlanOptions {
  /** The service wrapper for firstboot (rhsrvany.exe or pvvxsvc.exe; libguestfs looks in $VIRT_TOOLS_DATA_DIR, default /usr/share/virt-tools). */
  firstbootServiceBinary?: string;
  /** Read a host file (tests may substitute). */
  readHost?: (path: string) => Uint8Array;
}

export class PlanContext {
  readonly fs: FileSystem;
  /** Directories and files earlier steps will create (lower-cased → as created). */
  readonly dirs = new Map<string, string>();
  readonly files = new Map<string, string>();
  /** RunOnce value names taken so far (lower-cased). */
  readonly runOnceNames = new Set<string>();
  /** Set once the firstboot service is part of the plan. */
  firstboot?: { dir: string; dirWin: string };
  firstbootCount = 0;

  constructor(readonly session: RegistrySession, readonly facts: GuestFacts, readonly opts: PlanOptions) {
    this.fs = session.fs;
  }

  readHost(path: string): Uint8Array {
    if (this.opts.readHost) return this.opts.readHost(path);
    try {
      const b = readFileSync(path);
      return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
    } catch (e) {
      const sys = (e as { code?: string }).code;
      throw new IoError(WinRegCode.HostFile, `cannot read ${path}: ${(e as Error).message ?? String(e)}`, { path, syscallCode: sys }, { cause: e });
    }
  }

  /** A recipe's guest path on the root filesystem. */
  guestPath(p: string): string {
    return guestPathOnRoot(p, { root: this.facts.root, systemroot: this.facts.systemroot, driveMappings: this.facts.driveMappings });
  }

  /** mkdir edits for `dir` and its missing parents; returns the directory's path (on-disk case where it exists). */
  ensureDir(dir: string, edits: FileEdit[]): string {
    const r = resolveOnFs(this.fs, dir, this.dirs);
    for (const d of r.missingDirs) {
      edits.push({ kind: 'file', op: 'mkdir', path: d });
      this.dirs.set(d.toLowerCase(), d);
    }
    if (r.existing === undefined && !this.dirs.has(r.path.toLowerCase())) {
      edits.push({ kind: 'file', op: 'mkdir', path: r.path });
      this.dirs.set(r.path.toLowerCase(), r.path);
    } else if (r.existing !== undefined && r.existing !== 'directory') {
      throw new UsageError(WinRegCode.BadGuestPath, `${r.path}: exists and is not a directory`, { path: r.path });
    }
    return r.path;
  }

  /** Edits writing `data` to `path` (parents created). */
  writeFile(path: string, data: Uint8Array, source: string, edits: FileEdit[]): string {
    const cut = path.lastIndexOf('/');
    const parent = cut <= 0 ? '/' : path.slice(0, cut);
    const name = path.slice(cut + 1);
    const dir = parent === '/' ? '' : this.ensureDir(parent, edits);
    const full = `${dir}/${name}`;
    const r = resolveOnFs(this.fs, full, this.dirs);
    const planned = this.files.get(r.path.toLowerCase());
    const target = planned ?? r.path;
    edits.push({ kind: 'file', op: 'write', path: target, data, source, replaces: r.existing === 'file' || planned !== undefined });
    this.files.set(target.toLowerCase(), target);
    return target;
  }

  /** Does `path` exist in the guest or in the plan? */
  exists(path: string): boolean {
    if (this.files.has(path.toLowerCase()) || this.dirs.has(path.toLowerCase())) return true;
    return this.fs.resolveCase(path) !== undefined;
  }
}

export type RecipeBuilder = (ctx: PlanContext, recipe: Recipe) => EditStep;

/** Build the plan: every recipe in order, each against the guest as the earlier ones leave it. */
export function buildPlan(session: RegistrySession, facts: GuestFacts, recipes: readonly Recipe[], builders: Readonly<Record<Recipe['kind'], RecipeBuilder>>, opts: PlanOptions = {}): EditPlan {
  const ctx = new PlanContext(session, facts, opts);
  const steps = recipes.map((r) => builders[r.kind](ctx, r));
  return { root: facts.root, systemroot: facts.systemroot, steps };
}
