import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { IoError } from '@guestkit/disk/binary';
import { Hive, commitHiveFile, openHiveFile, withHiveFile, writeFileAtomic, findLogFiles } from '@guestkit/hive';
import { fixedNow } from './helpers.js';

function tmp(): { dir: string; done: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'hive-file-'));
  return { dir, done: () => rmSync(dir, { recursive: true, force: true }) };
}

describe('host hive files', () => {
  it('commits atomically (temp file + rename) and leaves no temp file behind', () => {
    const { dir, done } = tmp();
    try {
      const p = join(dir, 'SOFTWARE');
      writeFileSync(p, Hive.create({ now: fixedNow }).serialize());
      withHiveFile(p, { now: fixedNow }, (h) => {
        h.addChild(h.root, 'Added');
      });
      expect(readdirSync(dir)).toEqual(['SOFTWARE']);
      const r = openHiveFile(p).hive;
      expect(r.path('added')).toBeDefined();
    } finally {
      done();
    }
  });

  it('does not write when the callback throws or changes nothing', () => {
    const { dir, done } = tmp();
    try {
      const p = join(dir, 'h');
      const orig = Hive.create({ now: fixedNow }).serialize();
      writeFileSync(p, orig);
      expect(() => withHiveFile(p, {}, (h) => {
        h.addChild(h.root, 'x');
        throw new Error('abort');
      })).toThrow('abort');
      expect(Buffer.from(readFileSync(p)).equals(Buffer.from(orig))).toBe(true);
      withHiveFile(p, {}, (h) => h.children(h.root));
      expect(Buffer.from(readFileSync(p)).equals(Buffer.from(orig))).toBe(true);
    } finally {
      done();
    }
  });

  it('keeps the old file when the new one cannot be written', () => {
    if (process.getuid?.() === 0) return; // root ignores directory permissions
    const { dir, done } = tmp();
    try {
      const p = join(dir, 'h');
      writeFileSync(p, 'old');
      chmodSync(dir, 0o500);
      expect(() => writeFileAtomic(p, new Uint8Array([1, 2, 3]))).toThrow(IoError);
      expect(readFileSync(p, 'utf8')).toBe('old');
    } finally {
      chmodSync(dir, 0o700);
      done();
    }
  });

  it('finds .LOG1/.LOG2/.LOG next to a hive whatever their case', () => {
    const { dir, done } = tmp();
    try {
      for (const f of ['SYSTEM', 'system.log1', 'SYSTEM.LOG2', 'System.LOG', 'SYSTEM.sav']) writeFileSync(join(dir, f), '');
      const logs = findLogFiles(join(dir, 'SYSTEM'));
      expect(logs.log1?.endsWith('system.log1')).toBe(true);
      expect(logs.log2?.endsWith('SYSTEM.LOG2')).toBe(true);
      expect(logs.log?.endsWith('System.LOG')).toBe(true);
    } finally {
      done();
    }
  });

  it('reports I/O errors as IoError', () => {
    expect(() => openHiveFile('/nonexistent/hive')).toThrow(IoError);
    const h = Hive.create();
    expect(() => commitHiveFile(h, '/nonexistent/dir/hive')).toThrow(IoError);
    expect(existsSync('/nonexistent/dir')).toBe(false);
  });
});
