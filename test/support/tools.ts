import { execFileSync, spawnSync } from 'node:child_process';
import { it, describe } from 'vitest';

/**
 * Oracle tools (hivexregedit, ntfsls, fsck.fat, qemu-img, ...) are independent implementations we
 * check against. When one is missing, its tests are skipped with a visible reason — except under
 * CI=true, where a missing tool is a failure (CI must install it; see .ci/run).
 */
const cache = new Map<string, boolean>();

export function hasTool(name: string): boolean {
  let v = cache.get(name);
  if (v === undefined) {
    const r = spawnSync('sh', ['-c', `command -v ${JSON.stringify(name)}`], { encoding: 'utf8' });
    v = r.status === 0 && r.stdout.trim().length > 0;
    cache.set(name, v);
  }
  return v;
}

export const inCI = process.env.CI === 'true' || process.env.CI === '1';

/** The tools from `names` that are not installed. */
export function missingTools(names: string[]): string[] {
  return names.filter((n) => !hasTool(n));
}

/**
 * `it` that needs oracle tools: skipped (with the reason in its title) when a tool is missing,
 * failing under CI.
 */
export function itWithTools(tools: string[], name: string, fn: () => unknown | Promise<unknown>, timeout?: number): void {
  const missing = missingTools(tools);
  if (missing.length === 0) {
    it(name, fn, timeout);
  } else if (inCI) {
    it(name, () => {
      throw new Error(`oracle tool(s) missing under CI: ${missing.join(', ')} — .ci/run must install them`);
    });
  } else {
    it.skip(`${name} [skipped: ${missing.join(', ')} not installed]`, fn);
  }
}

/** `describe` whose tests all need the given tools (same policy as itWithTools). */
export function describeWithTools(tools: string[], name: string, fn: () => void): void {
  const missing = missingTools(tools);
  if (missing.length === 0) describe(name, fn);
  else if (inCI) {
    describe(name, () => {
      it('has its oracle tools', () => {
        throw new Error(`oracle tool(s) missing under CI: ${missing.join(', ')} — .ci/run must install them`);
      });
    });
  } else describe.skip(`${name} [skipped: ${missing.join(', ')} not installed]`, fn);
}

/** Run a tool and return stdout as a Buffer; throws with stderr on a non-zero exit. */
export function runTool(cmd: string, args: string[], opts: { input?: Uint8Array | string; cwd?: string; env?: NodeJS.ProcessEnv; allowFail?: boolean } = {}): Buffer {
  try {
    return execFileSync(cmd, args, {
      input: opts.input,
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      maxBuffer: 1 << 30,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
  } catch (e) {
    const err = e as { status?: number; stderr?: Buffer; stdout?: Buffer };
    if (opts.allowFail && err.stdout) return err.stdout;
    throw new Error(`${cmd} ${args.join(' ')} failed (exit ${err.status}): ${err.stderr?.toString() ?? ''}`);
  }
}

/** Run a tool; return { status, stdout, stderr } without throwing. */
export function runToolStatus(cmd: string, args: string[], opts: { input?: Uint8Array | string; cwd?: string } = {}): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { input: opts.input, cwd: opts.cwd, encoding: 'utf8', maxBuffer: 1 << 30 });
  return { status: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}
