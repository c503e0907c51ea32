import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { IoError } from '@guestkit/disk/binary';
import type { FileSystem } from '@guestkit/disk';
import { Hive, commitHiveFile, openHiveFile, withHiveFile, withHive, writeFileAtomic, findLogFiles } from '@guestkit/hive';
import { makeDirty, makeNewLog } from './make-logs.js';
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

/** The three FileSystem calls withHive uses, over a Map (a guest volume stand-in). */
function memoryFs(files: Map<string, Uint8Array>): FileSystem {
  const fs = {
    readFile: (p: string) => {
      const b = files.get(p);
      if (!b) throw new Error(`no ${p}`);
      return b;
    },
    tryStat: (p: string) => (files.has(p) ? ({ name: p } as never) : undefined),
    writeFile: (p: string, b: Uint8Array) => void files.set(p, b),
  };
  return fs as unknown as FileSystem;
}

describe('hives inside a guest filesystem (withHive)', () => {
  it('edits through the FileSystem interface and writes back only on success', () => {
    const files = new Map([['/Windows/System32/config/SOFTWARE', Hive.create({ now: fixedNow }).serialize()]]);
    const fs = memoryFs(files);
    withHive(fs, '/Windows/System32/config/SOFTWARE', { now: fixedNow }, (h) => {
      h.setValue(h.ensurePath('Microsoft\\Windows\\CurrentVersion\\RunOnce'), { name: 'x', type: 'REG_SZ', data: 'y' });
    });
    const after = Hive.open(files.get('/Windows/System32/config/SOFTWARE')!);
    expect(after.valueString(after.value(after.path('Microsoft\\Windows\\CurrentVersion\\RunOnce')!, 'x')!)).toBe('y');
    const before = files.get('/Windows/System32/config/SOFTWARE');
    expect(() => withHive(fs, '/Windows/System32/config/SOFTWARE', {}, (h) => {
      h.addChild(h.root, 'z');
      throw new Error('abort');
    })).toThrow('abort');
    expect(files.get('/Windows/System32/config/SOFTWARE')).toBe(before);
  });

  it('replays the logs found next to a dirty hive in the guest', () => {
    let t = 133485408000000000n;
    const now = () => (t += 1n);
    const v0 = Hive.create({ now }).serialize();
    const h = Hive.open(v0, { writable: true, now });
    h.addChild(h.root, 'FromLog');
    const v1 = h.serialize();
    const seq = Hive.open(v0).sequenceNumbers[1];
    const files = new Map([['/c/SYSTEM', makeDirty(v0)], ['/c/SYSTEM.LOG1', makeNewLog(v0, [v1], seq)]]);
    const seen = withHive(memoryFs(files), '/c/SYSTEM', { writable: false }, (r) => r.path('FromLog') !== undefined);
    expect(seen).toBe(true);
  });
});
