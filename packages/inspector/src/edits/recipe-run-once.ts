/**
 * `--run-once CMD`: a value under HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\RunOnce (the
 * virt-win-reg(1) recipe). Windows runs it once, when a user next logs on (and deletes the value
 * before running it); nothing happens until someone logs on. For work that must happen at boot
 * without a logon, use --firstboot (a service).
 */
import { UsageError } from '@guestkit/disk/binary';
import { WinRegCode } from '../winreg/codes.js';
import { setSz, type EditStep } from './plan.js';
import type { PlanContext, Recipe } from './planner.js';

export const RUN_ONCE_KEY = 'HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\RunOnce';
/** Value names guestkit gives its RunOnce entries: guestkit-001, guestkit-002, … (first free numbers). */
const NAME_PREFIX = 'guestkit-';

export function planRunOnce(ctx: PlanContext, r: Extract<Recipe, { kind: 'run-once' }>): EditStep {
  if (r.command.trim() === '') throw new UsageError(WinRegCode.BadRecipe, '--run-once: empty command', {});
  const k = ctx.session.resolve(RUN_ONCE_KEY);
  const node = k.hive.gh.hive.path(k.path);
  const taken = new Set(ctx.runOnceNames);
  if (node !== undefined) for (const v of k.hive.gh.hive.values(node)) taken.add(k.hive.gh.hive.valueName(v).toLowerCase());
  let n = 1;
  while (taken.has(`${NAME_PREFIX}${String(n).padStart(3, '0')}`)) n++;
  const name = `${NAME_PREFIX}${String(n).padStart(3, '0')}`;
  ctx.runOnceNames.add(name);
  return {
    recipe: `--run-once ${JSON.stringify(r.command)}`,
    summary: `run the command once at the next logon (RunOnce value ${name})`,
    edits: [setSz(RUN_ONCE_KEY, name, r.command)],
    warnings: [],
  };
}
