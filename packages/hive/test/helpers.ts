import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root (packages/hive/test → ../../..). */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** A committed, gzip-compressed fixture from test/fixtures/hive (see its PROVENANCE.md). */
export function hiveFixture(name: string): Uint8Array {
  const b = readFileSync(join(repoRoot, 'test', 'fixtures', 'hive', name));
  return name.endsWith('.gz') ? new Uint8Array(gunzipSync(b)) : new Uint8Array(b);
}

/** A fixed clock for deterministic writes: 2024-01-01T00:00:00Z as FILETIME. */
export const FIXED_NOW = 133485408000000000n;
export const fixedNow = (): bigint => FIXED_NOW;
