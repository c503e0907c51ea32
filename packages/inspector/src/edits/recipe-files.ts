/** `--upload SRC:DST`: copy a host file into the guest. */
import { basename } from 'node:path';
import { UsageError } from '@guestkit/disk/binary';
import { WinRegCode } from '../winreg/codes.js';
import { resolveOnFs, windowsPath } from './guest-path.js';
import type { EditStep, FileEdit } from './plan.js';
import type { PlanContext, Recipe } from './planner.js';

/**
 * Split an --upload argument at its first colon, as virt-customize does: `./a.bat:C:\a.bat`
 * → source `./a.bat`, destination `C:\a.bat`.
 */
export function splitUploadArg(arg: string): { source: string; dest: string } {
  const i = arg.indexOf(':');
  if (i <= 0 || i === arg.length - 1) {
    throw new UsageError(WinRegCode.BadRecipe, `--upload ${arg}: expected SOURCE:DESTINATION (e.g. ./setup.bat:C:\\setup.bat)`, { arg });
  }
  return { source: arg.slice(0, i), dest: arg.slice(i + 1) };
}

export function planUpload(ctx: PlanContext, r: Extract<Recipe, { kind: 'upload' }>): EditStep {
  const data = ctx.readHost(r.source);
  let dest = ctx.guestPath(r.dest);
  const intoDir = /[\\/]$/.test(r.dest) || dest === '/' || resolveOnFs(ctx.fs, dest, ctx.dirs).existing === 'directory' || ctx.dirs.has(dest.toLowerCase());
  if (intoDir) dest = (dest === '/' ? '' : dest) + '/' + basename(r.source);
  const edits: FileEdit[] = [];
  const target = ctx.writeFile(dest, data, r.source, edits);
  return { recipe: `--upload ${r.source}:${r.dest}`, summary: `copy ${r.source} (${data.length} bytes) to ${windowsPath(target)}`, edits, warnings: [] };
}
