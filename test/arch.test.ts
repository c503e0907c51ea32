import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { repoRoot } from './support/shared.js';

/** Architecture rules that keep parsers honest (STYLE.md §2.3). */
function* sources(dir: string): Generator<string> {
  for (const e of readdirSync(dir)) {
    if (e === 'node_modules' || e === 'dist') continue;
    const p = join(dir, e);
    if (statSync(p).isDirectory()) yield* sources(p);
    else if (p.endsWith('.ts')) yield p;
  }
}

const srcDirs = ['packages/disk/src', 'packages/hive/src', 'packages/fs-fat/src', 'packages/fs-ntfs/src', 'packages/inspector/src', 'packages/iso/src', 'packages/nbd/src', 'apps/cli/src'];

describe('architecture', () => {
  it('reads integers from bytes only through packages/disk/src/binary', () => {
    const offenders: string[] = [];
    for (const d of srcDirs) {
      for (const f of sources(join(repoRoot, d))) {
        const rel = relative(repoRoot, f);
        if (rel.startsWith('packages/disk/src/binary/')) continue;
        const text = readFileSync(f, 'utf8');
        if (/new DataView\(|\.readUInt(8|16|32)(LE|BE)\(|\.readBigUInt64(LE|BE)\(/.test(text)) offenders.push(rel);
      }
    }
    expect(offenders).toEqual([]);
  });

  it('libraries never import pino (only apps/cli logs)', () => {
    const offenders: string[] = [];
    for (const d of srcDirs.filter((s) => s.startsWith('packages/'))) {
      for (const f of sources(join(repoRoot, d))) {
        if (/from ['"]pino['"]/.test(readFileSync(f, 'utf8'))) offenders.push(relative(repoRoot, f));
      }
    }
    expect(offenders).toEqual([]);
  });
});
