#!/usr/bin/env node
// `pnpm bench [name...]`: run bench/<name>.bench.ts (all when no name is given) with tsx,
// against the built packages (run `pnpm build` first; `pnpm install` does it).
import { readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const all = readdirSync(here).filter((f) => f.endsWith('.bench.ts')).map((f) => f.replace(/\.bench\.ts$/, '')).sort();
const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const extra = process.argv.slice(2).filter((a) => a.startsWith('-'));
const names = wanted.length ? wanted : all;
if (names.length === 0) {
  console.log('no benchmarks yet');
  process.exit(0);
}
let failed = 0;
for (const n of names) {
  if (!all.includes(n)) {
    console.error(`unknown benchmark "${n}"; available: ${all.join(', ')}`);
    process.exit(2);
  }
  console.log(`\n=== bench ${n} ===`);
  const tsx = join(here, '..', 'node_modules', '.bin', 'tsx');
  const r = spawnSync(tsx, [join(here, `${n}.bench.ts`), ...extra], { stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
