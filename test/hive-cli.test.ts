import { describe, expect, it } from 'vitest';
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Hive, exportRegToBytes } from '@guestkit/hive';
import { runCli } from './support/cli.js';
import { fixturePath, readMaybeGz, sharedDir, tempDir } from './support/shared.js';
import { describeWithTools, runTool, runToolStatus } from './support/tools.js';

/** `guestkit hive …` end to end (the built CLI), checked against the hivex tools where they exist. */
function withFixture(fn: (hive: string, dir: string) => void): void {
  const { dir, cleanup } = tempDir('hive-cli-');
  try {
    const p = join(dir, 'types.hive');
    writeFileSync(p, readMaybeGz(fixturePath('hive', 'types.hive.gz')));
    fn(p, dir);
  } finally {
    cleanup();
  }
}

describeWithTools(['hivexregedit', 'hivexget', 'hivexml', 'hivexsh'], 'guestkit hive against the hivex tools', () => {
  it('export prints exactly what hivexregedit --export prints (with --prefix and a key)', () => {
    withFixture((hive) => {
      for (const [extra, key] of [[[], '\\'], [['--prefix', 'HKEY_LOCAL_MACHINE\\SOFTWARE'], '\\Types'], [['--unsafe-printable-strings'], '\\Names'], [[], '\\deep\\l00\\L01']] as [string[], string][]) {
        {
          const ours = runCli(['hive', 'export', ...extra, hive, key]);
          expect(ours.status, ours.stderr).toBe(0);
          expect(ours.stdout.equals(runTool('hivexregedit', ['--export', ...extra, hive, key])), `${extra.join(' ')} ${key}`).toBe(true);
        }
      }
    });
  });

  it('get prints what hivexget prints, for a key and for single values', () => {
    withFixture((hive) => {
      const cases: string[][] = [['\\Types'], ['\\Types', 'dword_be'], ['\\Types', 'multi'], ['\\Types', 'qword'], ['\\Types', '@']];
      for (const c of cases) {
        const ours = runCli(['hive', 'get', hive, ...c]);
        expect(ours.status, `${c.join(' ')}: ${ours.stderr}`).toBe(0);
        expect(ours.stdout.equals(runTool('hivexget', [hive, ...c])), c.join(' ')).toBe(true);
      }
    });
  });

  it('xml prints what hivexml prints', () => {
    withFixture((hive, dir) => {
      const ours = runCli(['hive', 'xml', hive]);
      expect(ours.status).toBe(0);
      runTool('sh', ['-c', 'hivexml "$1" > "$2"', 'sh', hive, join(dir, 'x.xml')]);
      expect(ours.stdout.equals(readFileSync(join(dir, 'x.xml')))).toBe(true);
    });
  });

  it('shell runs a hivexsh script with the same output', () => {
    withFixture((hive, dir) => {
      const script = ['cd \\Types', 'lsval', 'lsval dword', 'lsval multi', 'lsval @', 'cd ..', 'ls', 'cd \\Deep\\L00\\L01', 'cd', 'cd ..\\..', 'cd', '# comment', 'cd \\Names', 'ls'].join('\n') + '\n';
      writeFileSync(join(dir, 's'), script);
      const ours = runCli(['hive', 'shell', '-f', join(dir, 's'), hive]);
      expect(ours.status, ours.stderr).toBe(0);
      const theirs = runTool('hivexsh', ['-f', join(dir, 's'), hive]);
      expect(ours.stdout.equals(theirs)).toBe(true);
    });
  });

  it('shell edits (add, setval, del, commit) are read back by hivexregedit', () => {
    withFixture((hive) => {
      const script = ['cd \\Types', 'add New Key', 'cd New Key', 'setval 3', 'a', 'string:hello', '@', 'dword:0x10', 'q', 'qword:1234567890123', 'cd \\Deep', 'del', 'commit', ''].join('\n');
      const r = runCli(['hive', 'shell', '-w', hive], { input: script });
      expect(r.status, r.stderr).toBe(0);
      const reg = runTool('hivexregedit', ['--export', hive, '\\Types\\New Key']).toString('latin1');
      expect(reg).toContain('"a"=hex(1):68,00,65,00,6c,00,6c,00,6f,00,00,00');
      expect(reg).toContain('@=dword:00000010');
      expect(reg).toContain('"q"=hex(b):cb,04,fb,71,1f,01,00,00'); // all 8 bytes (hivexsh itself copies only 4)
      expect(runToolStatus('hivexregedit', ['--export', hive, '\\Deep']).status).not.toBe(0);
    });
  });

  it('merge and set change the hive as hivexregedit then sees it; --dry-run writes nothing', () => {
    withFixture((hive, dir) => {
      const before = readFileSync(hive);
      const reg = join(dir, 'a.reg');
      writeFileSync(reg, 'Windows Registry Editor Version 5.00\r\n\r\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\New\\Deeper]\r\n"x"=dword:00000007\r\n\r\n[-HKEY_LOCAL_MACHINE\\SOFTWARE\\Deep]\r\n');
      const dry = runCli(['hive', 'merge', '--dry-run', '--prefix', 'HKEY_LOCAL_MACHINE\\SOFTWARE', hive, reg]);
      expect(dry.status, dry.stderr).toBe(0);
      expect(dry.stderr).toMatch(/dry run.*created 2 keys, deleted 41/);
      expect(readFileSync(hive).equals(before)).toBe(true);
      const strict = runCli(['hive', 'merge', '--strict', '--prefix', 'HKEY_LOCAL_MACHINE\\SOFTWARE', hive, reg]);
      expect(strict.status).toBe(2);
      expect(strict.stderr).toMatch(/parent/);
      const m = runCli(['hive', 'merge', '--json', '--prefix', 'HKEY_LOCAL_MACHINE\\SOFTWARE', hive, reg]);
      expect(m.status, m.stderr).toBe(0);
      expect(JSON.parse(m.out)).toMatchObject({ keysCreated: 2, keysDeleted: 41, valuesSet: 1 });
      expect(runTool('hivexregedit', ['--export', hive, '\\New\\Deeper']).toString()).toContain('"x"=dword:00000007');
      const s = runCli(['hive', 'set', hive, '\\New', 'Path', 'expand:%SystemRoot%\\x']);
      expect(s.status, s.stderr).toBe(0);
      expect(runTool('hivexget', [hive, '\\New', 'Path']).toString()).toBe('%SystemRoot%\\x\n');
      const bad = runCli(['hive', 'set', hive, '\\Absent', 'v', 'dword:1']);
      expect(bad.status).toBe(2);
      const created = runCli(['hive', 'set', '--create', hive, '\\A\\B', 'v', 'multi:a,b\\,c']);
      expect(created.status).toBe(0);
      expect(runTool('hivexget', [hive, '\\A\\B', 'v']).toString()).toBe('a\nb,c\n\n'); // hivex lists the terminating empty string too
    });
  });
});

describe('guestkit hive (no oracle needed)', () => {
  it('json, create, check and errors', () => {
    const { dir, cleanup } = tempDir('hive-cli-');
    try {
      const p = join(dir, 'new.hive');
      expect(runCli(['hive', 'create', p]).status).toBe(0);
      expect(runCli(['hive', 'create', p]).status).toBe(1); // exists
      expect(runCli(['hive', 'set', p, '\\', 'v', 'sz:x']).status).toBe(0);
      const j = runCli(['hive', 'json', p]);
      expect(JSON.parse(j.out).root.values).toEqual([{ name: 'v', type: 'REG_SZ', data: 'x' }]);
      const c = runCli(['hive', 'check', '--json', p]);
      expect(c.status).toBe(0);
      expect(JSON.parse(c.out)).toMatchObject({ version: '1.5', dirty: false, keys: 1, values: 1, ok: true });
      writeFileSync(join(dir, 'junk'), Buffer.alloc(9000, 1));
      const e = runCli(['hive', 'export', join(dir, 'junk')]);
      expect(e.status).toBe(3);
      expect(e.stderr).toMatch(/HIVE_BAD_SIGNATURE/);
      expect(runCli(['hive', 'check', join(dir, 'junk')]).status).toBe(3);
      const help = runCli(['hive', 'merge', '--help']);
      expect(help.out).toMatch(/Examples:/);
    } finally {
      cleanup();
    }
  });

  it('replays the logs of a dirty hive on open and says so; refuses to edit a dirty hive without them', () => {
    const shared = sharedDir();
    if (!shared) return;
    const src = join(shared, 'testdata', 'hives', 'yarp', 'NewDirtyHive1');
    const { dir, cleanup } = tempDir('hive-cli-');
    try {
      for (const f of ['NewDirtyHive', 'NewDirtyHive.LOG1', 'NewDirtyHive.LOG2']) copyFileSync(join(src, f), join(dir, f));
      const p = join(dir, 'NewDirtyHive');
      const r = runCli(['hive', 'export', p]);
      expect(r.status).toBe(0);
      expect(r.stderr).toMatch(/dirty hive \(sequence 3\/2\): replayed NewDirtyHive.LOG1 \+ NewDirtyHive.LOG2 \(4 log entries\) → sequence 5/);
      const noLogs = runCli(['hive', 'set', '--no-logs', p, '\\', 'v', 'dword:1']);
      expect(noLogs.status).toBe(4);
      expect(noLogs.stderr).toMatch(/dirty/);
      const ok = runCli(['hive', 'set', p, '\\', 'v', 'dword:1']);
      expect(ok.status, ok.stderr).toBe(0);
      const after = Hive.open(readFileSync(p));
      expect(after.dirty).toBe(false);
      expect(Buffer.from(exportRegToBytes(after)).toString()).toContain('"v"=dword:00000001');
      expect(existsSync(p)).toBe(true);
    } finally {
      cleanup();
    }
  });
});
