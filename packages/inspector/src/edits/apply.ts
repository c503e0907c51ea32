/**
 * Applying an EditPlan in a write session: file edits through the root filesystem, registry
 * edits into the hives (in memory), then the hives written back in place — all of it into the
 * session's overlays. The caller commits (or, for a dry run, only reports) afterwards.
 */
import type { Extent } from '@guestkit/disk';
import { UsageError } from '@guestkit/disk/binary';
import { WinRegCode } from '../winreg/codes.js';
import type { HiveDiff } from '../winreg/reg-diff.js';
import type { HiveWriteReport } from '../winreg/guest-hive.js';
import type { RegistrySession } from '../winreg/session.js';
import { planRegOps, type EditPlan } from './plan.js';

export interface FileChange {
  op: 'mkdir' | 'create' | 'replace';
  path: string;
  size?: number;
  /** Size of the file that was replaced. */
  oldSize?: number;
  source?: string;
}

export interface ApplyReport {
  files: FileChange[];
  registry: HiveDiff[];
  hivesWritten: HiveWriteReport[];
  disks: { disk: string; path: string; extents: Extent[] }[];
  warnings: string[];
}

/**
 * Apply every edit of the plan (files first, in plan order, then the registry edits in plan
 * order), write the hives back, and report what changed. Throws on the first failure; the
 * session's overlays then hold a partial change that the caller discards by closing it.
 */
export function applyPlan(session: RegistrySession, plan: EditPlan): ApplyReport {
  const fs = session.fs;
  const files: FileChange[] = [];
  for (const step of plan.steps) {
    for (const e of step.edits) {
      if (e.kind !== 'file') continue;
      if (e.op === 'mkdir') {
        if (fs.resolveCase(e.path) === undefined) {
          fs.mkdir(e.path);
          files.push({ op: 'mkdir', path: e.path });
        }
        continue;
      }
      const existing = fs.tryStat(e.path);
      fs.writeFile(e.path, e.data);
      files.push({ op: existing ? 'replace' : 'create', path: e.path, size: e.data.length, source: e.source, ...(existing ? { oldSize: existing.size } : {}) });
    }
  }
  const ops = planRegOps(plan);
  if (ops.length > 0) session.applyOps(ops, { source: 'plan' });
  // A hive this run edits would be written back over an uploaded replacement of it.
  const edited = new Set(session.modifiedHives().filter((h) => h.device === session.root.device).map((h) => h.gh.path.toLowerCase()));
  const clash = files.find((f) => f.op !== 'mkdir' && edited.has(f.path.toLowerCase()));
  if (clash) throw new UsageError(WinRegCode.BadGuestPath, `${clash.path} is a registry hive that this run also edits; replace it in a separate run`, { path: clash.path });
  const registry = session.registryDiff();
  const hivesWritten = session.writeHives();
  return {
    files, registry, hivesWritten, disks: session.changedExtents(true),
    warnings: plan.steps.flatMap((s) => s.warnings),
  };
}
