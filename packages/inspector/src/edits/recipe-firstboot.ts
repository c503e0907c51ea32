/**
 * `--firstboot SCRIPT` / `--firstboot-command CMD`: run at the next boot, as a service, before
 * anyone logs on — the Windows firstboot of libguestfs (libguestfs-common mlcustomize/firstboot.ml),
 * with the same directory, service and registry values, so that guests customized by
 * virt-customize / virt-v2v and by guestkit share one firstboot service:
 *
 *  - `C:\Program Files\Guestfs\Firstboot\` holds the service wrapper (rhsrvany.exe or pvvxsvc.exe,
 *    which the user supplies: it turns a command line into a Windows service), `firstboot.bat`
 *    (CRLF), and `scripts\NNNN-NNNN-NAME.bat`;
 *  - `HKLM\SYSTEM\<current control set>\services\firstboot` runs the wrapper as LocalSystem at
 *    boot (Start=2); its `Parameters\CommandLine` runs firstboot.bat, which runs every script once
 *    (moving it to `scripts-done` first), logs to `log.txt`, then uninstalls the service.
 */
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { UsageError } from '@guestkit/disk/binary';
import { WinRegCode } from '../winreg/codes.js';
import { windowsPath } from './guest-path.js';
import { setDword, setSz, type Edit, type EditStep, type FileEdit } from './plan.js';
import type { PlanContext, Recipe } from './planner.js';

/** libguestfs's directory, relative to C:. */
export const FIRSTBOOT_DIR = '/Program Files/Guestfs/Firstboot';
/** The wrappers libguestfs accepts, in its order of preference. */
export const SERVICE_WRAPPERS = ['rhsrvany.exe', 'pvvxsvc.exe'] as const;
/** Priority libguestfs gives scripts that ask for none (they run in NNNN-NNNN name order). */
const DEFAULT_PRIORITY = 5000;

/** libguestfs sanitize_name: anything but [a-z0-9_] becomes "-", at most 60 characters. */
export function sanitizeScriptName(n: string): string {
  const s = n.replace(/[^a-z0-9_]/gi, '-');
  return s.length >= 60 ? s.slice(0, 60) : s;
}

/** LF → CRLF (lines already ending in CRLF are kept). */
export function unixToDos(s: string): string {
  return s.replace(/\r?\n/g, '\r\n');
}

/**
 * The control script (guestkit's own text; the layout and behaviour are libguestfs's): every
 * scripts\*.bat runs once, in name order, from scripts-done\ where it is moved first; output is
 * appended to log.txt; then the service wrapper uninstalls the firstboot service.
 */
export function firstbootBat(dirWin: string, wrapper: string): string {
  return unixToDos(
    [
      '@echo off',
      'rem firstboot runner written by guestkit (same layout and behaviour as libguestfs)',
      'setlocal EnableDelayedExpansion',
      `set "FB=${dirWin}"`,
      'call :run >> "%FB%\\log.txt" 2>&1',
      'exit /b',
      '',
      ':run',
      'echo firstboot: start',
      'if not exist "%FB%\\scripts-done\\" mkdir "%FB%\\scripts-done"',
      'for %%s in ("%FB%\\scripts\\*.bat") do (',
      '  echo firstboot: running %%~nxs',
      '  move /y "%%s" "%FB%\\scripts-done\\" >nul',
      '  pushd "%FB%\\scripts-done"',
      '  call "%%~nxs"',
      '  echo firstboot: %%~nxs exited with !errorlevel!',
      '  popd',
      ')',
      'echo firstboot: removing the firstboot service',
      `"%FB%\\${wrapper}" -s firstboot uninstall`,
      'exit /b',
      '',
    ].join('\n'),
  );
}

/** Where libguestfs looks for the wrappers. */
function virtToolsDataDir(): string {
  return process.env.VIRT_TOOLS_DATA_DIR ?? '/usr/share/virt-tools';
}

/** The firstboot service (once per plan): wrapper upload, firstboot.bat, registry. */
function installService(ctx: PlanContext, edits: Edit[], warnings: string[]): { dir: string; dirWin: string } {
  if (ctx.firstboot) return ctx.firstboot;
  const fileEdits: FileEdit[] = [];
  const dir = ctx.ensureDir(FIRSTBOOT_DIR, fileEdits);
  const dirWin = windowsPath(dir);
  ctx.ensureDir(`${dir}/scripts`, fileEdits);
  // The wrapper: given, else from libguestfs's data directory, else the one already in the guest.
  let wrapper: string | undefined;
  const given = ctx.opts.firstbootServiceBinary;
  if (given !== undefined) {
    wrapper = basename(given);
    ctx.writeFile(`${dir}/${wrapper}`, ctx.readHost(given), given, fileEdits);
  } else {
    const fromData = SERVICE_WRAPPERS.find((w) => existsSync(join(virtToolsDataDir(), w)));
    if (fromData) {
      wrapper = fromData;
      ctx.writeFile(`${dir}/${wrapper}`, ctx.readHost(join(virtToolsDataDir(), fromData)), join(virtToolsDataDir(), fromData), fileEdits);
    } else {
      wrapper = SERVICE_WRAPPERS.find((w) => ctx.exists(`${dir}/${w}`));
      if (wrapper) warnings.push(`using the ${wrapper} already installed in ${dirWin}`);
    }
  }
  if (wrapper === undefined) {
    throw new UsageError(WinRegCode.BadRecipe, `--firstboot needs a service wrapper: give --firstboot-service-binary rhsrvany.exe (or pvvxsvc.exe; build rhsrvany from https://github.com/rwmjones/rhsrvany), or put one in ${virtToolsDataDir()}. Use --run-once for a command that may wait for the next logon.`, {});
  }
  ctx.writeFile(`${dir}/firstboot.bat`, new Uint8Array(Buffer.from(firstbootBat(dirWin, wrapper), 'utf8')), 'generated: firstboot.bat', fileEdits);
  const ccs = ctx.facts.currentControlSet;
  if (ccs === undefined) throw new UsageError(WinRegCode.NoCurrentControlSet, '--firstboot: the SYSTEM hive has no Select\\Current, so the firstboot service cannot be installed', {});
  // libguestfs writes the current control set only, under "services" (keys match case-insensitively).
  const svc = `HKLM\\SYSTEM\\${ccs}\\services\\firstboot`;
  edits.push(
    ...fileEdits,
    setDword(svc, 'Type', 0x10),
    setDword(svc, 'Start', 2),
    setDword(svc, 'ErrorControl', 1),
    setSz(svc, 'ImagePath', `${dirWin}\\${wrapper} -s firstboot`),
    setSz(svc, 'DisplayName', 'Virt tools firstboot service'),
    setSz(svc, 'ObjectName', 'LocalSystem'),
    setSz(`${svc}\\Parameters`, 'CommandLine', `cmd /c "${dirWin}\\firstboot.bat"`),
    setSz(`${svc}\\Parameters`, 'PWD', dirWin),
  );
  ctx.firstboot = { dir, dirWin };
  return ctx.firstboot;
}

export function planFirstboot(ctx: PlanContext, r: Extract<Recipe, { kind: 'firstboot' | 'firstboot-command' }>): EditStep {
  let name: string;
  let content: string;
  if (r.kind === 'firstboot') {
    name = basename(r.script).replace(/\.(bat|cmd)$/i, '');
    content = Buffer.from(ctx.readHost(r.script)).toString('utf8');
  } else {
    if (r.command.trim() === '') throw new UsageError(WinRegCode.BadRecipe, '--firstboot-command: empty command', {});
    name = r.command;
    content = r.command + '\n';
  }
  const edits: Edit[] = [];
  const warnings: string[] = [];
  const { dir, dirWin } = installService(ctx, edits, warnings);
  ctx.firstbootCount++;
  const file = `${String(DEFAULT_PRIORITY).padStart(4, '0')}-${String(ctx.firstbootCount).padStart(4, '0')}-${sanitizeScriptName(name)}.bat`;
  const fileEdits: FileEdit[] = [];
  const target = ctx.writeFile(`${dir}/scripts/${file}`, new Uint8Array(Buffer.from(unixToDos(content), 'utf8')), r.kind === 'firstboot' ? r.script : 'generated: command', fileEdits);
  edits.push(...fileEdits);
  return {
    recipe: r.kind === 'firstboot' ? `--firstboot ${r.script}` : `--firstboot-command ${JSON.stringify(r.command)}`,
    summary: `run ${windowsPath(target)} at the next boot, before logon, through the firstboot service in ${dirWin}`,
    edits,
    warnings,
  };
}
