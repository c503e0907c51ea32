import { spawnSync } from 'node:child_process';
import { repoRoot } from './shared.js';

/**
 * End-to-end tests run the built CLI (apps/cli/bin/guestkit → dist). Build once before the run
 * so they never test stale JavaScript (tsc is fast). GUESTKIT_SKIP_BUILD=1 skips it.
 */
export default function setup(): void {
  if (process.env.GUESTKIT_SKIP_BUILD === '1') return;
  const r = spawnSync('pnpm', ['-s', 'build'], { cwd: repoRoot, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`pnpm build failed before the tests:\n${r.stdout}\n${r.stderr}`);
}
