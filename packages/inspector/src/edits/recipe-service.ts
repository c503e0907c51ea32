/**
 * `--install-service NAME=BINARY`: a Windows service (SERVICE_WIN32_OWN_PROCESS, LocalSystem)
 * under `SYSTEM\ControlSetNNN\Services\NAME` of **every** control set, so that it is there
 * whichever control set Windows boots (Select\Current or LastKnownGood). BINARY is a host file,
 * uploaded to `C:\Program Files\Guestkit\NAME\`, or a guest path (`C:\…`, `win:…`, `%SystemRoot%\…`)
 * that is used as it is. The binary must be a real service program (one that talks to the Service
 * Control Manager); to run an ordinary program as a service, install a wrapper such as rhsrvany.
 */
import { basename } from 'node:path';
import { UsageError } from '@guestkit/disk/binary';
import { WinRegCode } from '../winreg/codes.js';
import { windowsPath } from './guest-path.js';
import { setDword, setExpandSz, setSz, type Edit, type EditStep, type FileEdit } from './plan.js';
import type { PlanContext, Recipe } from './planner.js';

/** Start types (winnt.h SERVICE_*_START). */
export const SERVICE_START = { boot: 0, system: 1, auto: 2, demand: 3, disabled: 4 } as const;
/** SERVICE_WIN32_OWN_PROCESS. */
const SERVICE_WIN32_OWN_PROCESS = 0x10;
/** SERVICE_ERROR_NORMAL: log and continue booting. */
const SERVICE_ERROR_NORMAL = 1;
/** Service names: the SCM allows up to 256 characters; no slashes, backslashes or control characters. */
const SERVICE_NAME_RE = /^[^\\/\x00-\x1f]{1,256}$/;
/** Where uploaded service binaries go (below C:). */
export const SERVICES_DIR = '/Program Files/Guestkit';

/** Split NAME=BINARY. */
export function splitServiceArg(arg: string): { name: string; binary: string } {
  const i = arg.indexOf('=');
  if (i <= 0 || i === arg.length - 1) throw new UsageError(WinRegCode.BadRecipe, `--install-service ${arg}: expected NAME=BINARY`, { arg });
  return { name: arg.slice(0, i), binary: arg.slice(i + 1) };
}

export function isGuestPath(p: string): boolean {
  return /^([a-z]:[\\/]|win:|%systemroot%)/i.test(p);
}

/** The control sets a service or driver goes into (every ControlSetNNN; at least the current one). */
export function allControlSets(ctx: PlanContext, what: string): string[] {
  const sets = [...ctx.facts.controlSets];
  if (sets.length === 0) throw new UsageError(WinRegCode.NoCurrentControlSet, `${what}: the SYSTEM hive has no ControlSetNNN key`, {});
  return sets;
}

export function planService(ctx: PlanContext, r: Extract<Recipe, { kind: 'install-service' }>): EditStep {
  if (!SERVICE_NAME_RE.test(r.name)) throw new UsageError(WinRegCode.BadRecipe, `--install-service: bad service name ${JSON.stringify(r.name)}`, { name: r.name });
  const edits: Edit[] = [];
  let imageWin: string;
  if (isGuestPath(r.binary)) {
    const p = ctx.guestPath(r.binary);
    const real = ctx.fs.resolveCase(p);
    if (real === undefined && !ctx.exists(p)) throw new UsageError(WinRegCode.BadGuestPath, `--install-service ${r.name}: ${r.binary} does not exist in the guest`, { binary: r.binary });
    imageWin = windowsPath(real ?? p);
  } else {
    const fileEdits: FileEdit[] = [];
    const target = ctx.writeFile(`${SERVICES_DIR}/${r.name}/${basename(r.binary)}`, ctx.readHost(r.binary), r.binary, fileEdits);
    edits.push(...fileEdits);
    imageWin = windowsPath(target);
  }
  const start = SERVICE_START[r.start ?? 'auto'];
  // A path with spaces must be quoted, or Windows tries C:\Program.exe first.
  const imagePath = imageWin.includes(' ') ? `"${imageWin}"` : imageWin;
  const sets = allControlSets(ctx, `--install-service ${r.name}`);
  const warnings: string[] = [];
  for (const cs of sets) {
    const key = `HKLM\\SYSTEM\\${cs}\\Services\\${r.name}`;
    const k = ctx.session.resolve(key);
    if (k.hive.gh.hive.path(k.path) !== undefined && cs === sets[0]) warnings.push(`a service named ${r.name} exists already: its values are replaced`);
    edits.push(
      setDword(key, 'Type', SERVICE_WIN32_OWN_PROCESS),
      setDword(key, 'Start', start),
      setDword(key, 'ErrorControl', SERVICE_ERROR_NORMAL),
      setExpandSz(key, 'ImagePath', imagePath),
      setSz(key, 'DisplayName', r.displayName ?? r.name),
      setSz(key, 'ObjectName', 'LocalSystem'),
    );
  }
  return {
    recipe: `--install-service ${r.name}=${r.binary}`,
    summary: `service ${r.name} (${Object.keys(SERVICE_START).find((s) => SERVICE_START[s as keyof typeof SERVICE_START] === start)} start, LocalSystem) running ${imagePath}, in ${sets.join(', ')}`,
    edits,
    warnings,
  };
}
