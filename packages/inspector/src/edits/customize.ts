/**
 * `guestkit customize` as a library call: open the guest for writing through overlays, read the
 * facts, build the plan from the recipes (in order), apply it, and commit — or, for a dry run,
 * only report what would change. Any failure before the commit leaves the images unchanged.
 */
import type { Logger } from '@guestkit/disk/binary';
import { RegistrySession } from '../winreg/session.js';
import { applyPlan, type ApplyReport } from './apply.js';
import { gatherFacts, type GuestFacts } from './facts.js';
import type { EditPlan } from './plan.js';
import { buildPlan, type PlanOptions, type Recipe, type RecipeBuilder } from './planner.js';
import { planDriver } from './recipe-driver.js';
import { planUpload } from './recipe-files.js';
import { planFirstboot } from './recipe-firstboot.js';
import { planRunOnce } from './recipe-run-once.js';
import { planService } from './recipe-service.js';

/** Every recipe kind and the function that plans it. */
export const RECIPE_BUILDERS: Readonly<Record<Recipe['kind'], RecipeBuilder>> = {
  upload: (c, r) => planUpload(c, r as Extract<Recipe, { kind: 'upload' }>),
  firstboot: (c, r) => planFirstboot(c, r as Extract<Recipe, { kind: 'firstboot' }>),
  'firstboot-command': (c, r) => planFirstboot(c, r as Extract<Recipe, { kind: 'firstboot-command' }>),
  'run-once': (c, r) => planRunOnce(c, r as Extract<Recipe, { kind: 'run-once' }>),
  'install-service': (c, r) => planService(c, r as Extract<Recipe, { kind: 'install-service' }>),
  'inject-driver': (c, r) => planDriver(c, r as Extract<Recipe, { kind: 'inject-driver' }>),
};

export interface CustomizeOptions extends PlanOptions {
  /** Apply in memory and report; never open the images for writing. */
  dryRun?: boolean;
  /** Only build the plan (the images are opened read-only; nothing is applied). */
  planOnly?: boolean;
  format?: 'raw' | 'qcow2';
  root?: string;
  force?: boolean;
  logger?: Logger;
  now?: () => bigint;
}

export interface CustomizeResult {
  facts: GuestFacts;
  plan: EditPlan;
  /** Absent with planOnly. */
  report?: ApplyReport;
  committed: boolean;
}

export function customizeImages(images: string[], recipes: readonly Recipe[], opts: CustomizeOptions = {}): CustomizeResult {
  const session = RegistrySession.open(images, {
    write: !opts.planOnly, dryRun: Boolean(opts.dryRun), force: Boolean(opts.force),
    ...(opts.format ? { format: opts.format } : {}), ...(opts.root ? { root: opts.root } : {}),
    ...(opts.logger ? { logger: opts.logger } : {}), ...(opts.now ? { now: opts.now } : {}),
  });
  try {
    const facts = gatherFacts(session);
    const plan = buildPlan(session, facts, recipes, RECIPE_BUILDERS, opts);
    if (opts.planOnly) return { facts, plan, committed: false };
    const report = applyPlan(session, plan);
    if (!opts.dryRun) session.commit();
    return { facts, plan, report, committed: !opts.dryRun };
  } finally {
    session.close();
  }
}
