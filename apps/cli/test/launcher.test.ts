import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { guestkitBin } from '../../../test/support/cli.js';

/** bin/guestkit's V8 code cache: the one trained at build time is kept whatever flags a run has. */
describe('launcher code cache', () => {
  const dist = join(guestkitBin, '..', '..', 'dist');
  const trained = join(dist, 'guestkit.cjs.cache');

  it('a run with node flags keeps a cache of its own and leaves the trained one as it was', () => {
    const before = readFileSync(trained);
    const flags = '--max-old-space-size=3071';
    const run = () => spawnSync(guestkitBin, ['--version'], { env: { ...process.env, NODE_OPTIONS: flags }, encoding: 'utf8' });
    const first = run();
    expect(first.status).toBe(0);
    expect(first.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    const own = readdirSync(dist).filter((f) => /^guestkit\.cjs\.[0-9a-f]+\.cache$/.test(f));
    expect(own.length).toBeGreaterThan(0);
    const newest = own.map((f) => join(dist, f)).sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0]!;
    expect(run().status).toBe(0);
    // the trained cache is untouched: same bytes (a flagged run used to overwrite it)
    expect(readFileSync(trained).equals(before)).toBe(true);
    rmSync(newest, { force: true });
  });
});
