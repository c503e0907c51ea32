import { existsSync, readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { dirname, join, resolve } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { describe } from 'vitest';

/** Repository root. */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * ../shared (real test data and the libguestfs lab recordings) sits beside the repository on
 * developer machines and in CI. GUESTKIT_SHARED overrides the location. Conformance tests over it
 * are skipped visibly when it is absent.
 */
export function sharedDir(): string | undefined {
  const d = process.env.GUESTKIT_SHARED ?? resolve(repoRoot, '../shared');
  return existsSync(join(d, 'testdata')) ? d : undefined;
}

export function describeWithShared(name: string, fn: (shared: string) => void): void {
  const d = sharedDir();
  if (d) describe(name, () => fn(d));
  else describe.skip(`${name} [skipped: ../shared not present]`, () => {});
}

/** Read a file, gunzipping `.gz` names. */
export function readMaybeGz(path: string): Buffer {
  const b = readFileSync(path);
  return path.endsWith('.gz') ? gunzipSync(b) : b;
}

/** A fresh temporary directory; call the returned cleanup when done. */
export function tempDir(prefix = 'guestkit-test-'): { dir: string; cleanup: () => void } {
  const base = process.env.GUESTKIT_TMP ?? tmpdir();
  const dir = mkdtempSync(join(base, prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Path of a committed fixture under test/fixtures. */
export function fixturePath(...parts: string[]): string {
  return join(repoRoot, 'test', 'fixtures', ...parts);
}
