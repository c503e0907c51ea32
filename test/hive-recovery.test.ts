import { describe, expect, it } from 'vitest';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { UnsafeStateError, GuestError } from '@guestkit/disk/binary';
import { Hive, HiveCode, exportRegToBytes, openHiveFile, recoverHive, withHiveFile, parseLog } from '@guestkit/hive';
import { describeWithShared, tempDir } from './support/shared.js';
import { itWithTools, runTool } from './support/tools.js';

/**
 * Transaction-log replay. Oracles: yarp's hives_for_tests hold dirty hives with their logs and
 * the hives Windows itself produced after replaying them (RecoveredHive_Windows10/7); the
 * hivexregedit exports of those recovered hives are in oracles/hivexregedit.
 */
describeWithShared('transaction log replay', (shared) => {
  const yarp = join(shared, 'testdata', 'hives', 'yarp');
  const oracle = (rel: string) => gunzipSync(readFileSync(join(shared, 'testdata', 'oracles', 'hivexregedit', 'hives', 'yarp', rel)));
  const exportOf = (h: Hive) => Buffer.from(exportRegToBytes(h, '\\'));

  it('new format (HvLE, .LOG1 + .LOG2): the export equals the hive Windows 10 recovered', () => {
    const { hive, recovery, logsFound } = openHiveFile(join(yarp, 'NewDirtyHive1', 'NewDirtyHive'));
    expect(logsFound.length).toBe(2);
    expect(recovery?.format).toBe('new');
    expect(recovery?.logsUsed.map((p) => p.split('/').pop())).toEqual(['NewDirtyHive.LOG1', 'NewDirtyHive.LOG2']);
    expect(recovery?.entriesApplied).toBe(4);
    expect(recovery?.toSequence).toBe(5);
    expect(hive.dirty).toBe(false);
    expect(exportOf(hive).equals(oracle('NewDirtyHive1/RecoveredHive_Windows10.reg.gz'))).toBe(true);
  });

  it('new format: a log older than the primary is skipped (NewDirtyHive2: only .LOG2, up to sequence 5)', () => {
    const { recovery } = openHiveFile(join(yarp, 'NewDirtyHive2', 'NewDirtyHive'));
    expect(recovery?.logsUsed.map((p) => p.split('/').pop())).toEqual(['NewDirtyHive.LOG2']);
    expect(recovery?.toSequence).toBe(5);
    expect(recovery?.notes.some((n) => /older than the primary/.test(n))).toBe(true);
  });

  it('old format (dirty vector, .LOG1): the export equals the hive Windows 7 recovered', () => {
    const { hive, recovery } = openHiveFile(join(yarp, 'OldDirtyHive', 'OldDirtyHive'));
    expect(recovery?.format).toBe('old');
    expect(recovery?.logsRejected.map((r) => r.reason)).toEqual(['0 bytes: no base block']); // the empty .LOG2
    expect(exportOf(hive).equals(oracle('OldDirtyHive/RecoveredHive_Windows7.reg.gz'))).toBe(true);
  });

  it('old format with an invalid primary base block (v1.1 garbage): the base block comes from the log', () => {
    const p = join(yarp, 'BadBaseBlockHive', 'BadBaseBlockHive');
    expect(() => Hive.open(readFileSync(p))).toThrow(GuestError);
    const { hive, recovery } = openHiveFile(p);
    expect(recovery?.baseBlockFromLog).toBe(true);
    expect(hive.version).toBe('1.3');
    expect(exportOf(hive).equals(oracle('OldDirtyHive/RecoveredHive_Windows7.reg.gz'))).toBe(true);
  });

  it('refuses bad logs with a typed error naming each reason (yarp BadLogHive1..3)', () => {
    for (const d of ['BadLogHive1', 'BadLogHive2', 'BadLogHive3']) {
      let err: unknown;
      try {
        openHiveFile(join(yarp, d, 'BadLogHive'));
      } catch (e) {
        err = e;
      }
      expect(err, d).toBeInstanceOf(UnsafeStateError);
      expect((err as GuestError).code).toBe(HiveCode.RecoveryFailed);
      expect((err as GuestError).message).toMatch(/LOG1/);
    }
  });

  it('without logs a dirty hive opens as it is on disk, reports dirty, and refuses writes', () => {
    const { hive, recovery } = openHiveFile(join(yarp, 'NewDirtyHive1', 'NewDirtyHive'), { logs: 'none', writable: true });
    expect(recovery).toBeUndefined();
    expect(hive.dirty).toBe(true);
    expect(exportOf(hive).equals(oracle('NewDirtyHive1/NewDirtyHive.reg.gz'))).toBe(true);
    expect(() => hive.addChild(hive.root, 'x')).toThrow(UnsafeStateError);
  });

  it('a log entry with a wrong Marvin32 hash ends the replay at the entry before it', () => {
    const { dir, cleanup } = tempDir('hive-rec-');
    try {
      for (const f of ['NewDirtyHive', 'NewDirtyHive.LOG1', 'NewDirtyHive.LOG2']) copyFileSync(join(yarp, 'NewDirtyHive1', f), join(dir, f));
      const log2 = readFileSync(join(dir, 'NewDirtyHive.LOG2'));
      const parsed = parseLog('LOG2', log2);
      if (!('entries' in parsed) || !parsed.entries) throw new Error('expected a new-format log');
      // .LOG1 holds entry 2; .LOG2 holds entries 3, 4, 5. Damage entry 5.
      expect(parsed.entries.map((e) => e.sequence)).toEqual([3, 4, 5]);
      const last = parsed.entries[2]!;
      log2[last.at + 200] = log2[last.at + 200]! ^ 0xff;
      writeFileSync(join(dir, 'NewDirtyHive.LOG2'), log2);
      const { recovery } = openHiveFile(join(dir, 'NewDirtyHive'));
      expect(recovery?.entriesApplied).toBe(3);
      expect(recovery?.toSequence).toBe(4);
      expect(recovery?.notes.some((n) => /Marvin32/.test(n))).toBe(true);
    } finally {
      cleanup();
    }
  });

  it('replays real Windows 10/11 logs (regipy, DFIR Artifact Museum) into hives that read cleanly', () => {
    const museum = join(shared, 'testdata', 'hives', 'dfir-artifact-museum');
    const cases = [join(museum, 'Win10', 'BBI'), join(museum, 'Win11', 'BBI'), join(museum, 'Win10', 'DEFAULT'), join(museum, 'Win10', 'SECURITY')];
    for (const p of cases) {
      const { hive, recovery } = openHiveFile(p);
      expect(recovery?.format, p).toBe('new');
      expect(recovery!.entriesApplied).toBeGreaterThan(0);
      expect([...hive.walk()].length).toBeGreaterThan(10);
      expect(exportOf(hive).length).toBeGreaterThan(1000);
    }
    // Gzipped corpus files: hand the logs over explicitly.
    const rg = join(shared, 'testdata', 'hives', 'regipy');
    const g = (f: string) => new Uint8Array(gunzipSync(readFileSync(join(rg, f))));
    const { hive, report } = recoverHive(g('SYSTEM_B.gz'), [{ name: 'SYSTEM_B.LOG1', bytes: g('SYSTEM_B.LOG1.gz') }, { name: 'SYSTEM_B.LOG2', bytes: g('SYSTEM_B.LOG2.gz') }]);
    expect(report.logsUsed).toEqual(['SYSTEM_B.LOG1', 'SYSTEM_B.LOG2']);
    expect(report.fromSequence).toEqual([1622, 1621]);
    expect(report.toSequence).toBe(2130);
    expect([...hive.walk()].length).toBeGreaterThan(30000);
  });

  itWithTools(['hivexregedit', 'reglookup'], 'commits a recovered hive atomically; hivex then reads the current state plus our edit', () => {
    const { dir, cleanup } = tempDir('hive-rec-');
    try {
      for (const f of ['NewDirtyHive', 'NewDirtyHive.LOG1', 'NewDirtyHive.LOG2']) copyFileSync(join(yarp, 'NewDirtyHive1', f), join(dir, f));
      const p = join(dir, 'NewDirtyHive');
      withHiveFile(p, { now: () => 133485408000000000n }, (h) => {
        h.setValue(h.root, { name: 'added', type: 'REG_DWORD', data: 42 });
      });
      const after = Hive.open(readFileSync(p));
      expect(after.dirty).toBe(false);
      expect(after.valueDword(after.value(after.root, 'added')!)).toBe(42);
      const theirs = runTool('hivexregedit', ['--export', p, '\\']).toString('latin1');
      const recovered = oracle('NewDirtyHive1/RecoveredHive_Windows10.reg.gz').toString('latin1');
      expect(theirs.replace('"added"=dword:0000002a\n', '')).toBe(recovered);
      // The logs are still there, but the primary is clean, so they are no longer applied.
      expect(openHiveFile(p).recovery).toBeUndefined();
    } finally {
      cleanup();
    }
  });
});

describe('recoverHive without logs', () => {
  it('is refused with a typed error', () => {
    const h = Hive.create({ now: () => 1n });
    const b = h.serialize();
    b[8] = 0; // sequence2
    expect(() => recoverHive(b, [])).toThrow(UnsafeStateError);
  });
});
