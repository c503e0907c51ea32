import { describe, expect, it } from 'vitest';
import { UnsafeStateError } from '@guestkit/disk/binary';
import { Hive, recoverHive, exportRegToBytes, parseLog, HVLE } from '@guestkit/hive';
import { makeDirty, makeNewLog, makeOldLog } from './make-logs.js';

/** Three states of one hive: v0 on disk, v1 and v2 only in the logs. */
function states(): { v0: Uint8Array; v1: Uint8Array; v2: Uint8Array } {
  let t = 133485408000000000n;
  const now = () => (t += 10_000_000n);
  const h = Hive.create({ now });
  const a = h.addChild(h.root, 'A');
  h.setValue(a, { name: 'x', type: 'REG_DWORD', data: 1 });
  const v0 = h.serialize();
  const h1 = Hive.open(v0, { writable: true, now });
  h1.addChild(h1.path('A')!, 'B');
  h1.setValue(h1.path('A')!, { name: 'x', type: 'REG_DWORD', data: 2 });
  h1.setRawValue(h1.root, 'big', 3, new Uint8Array(30000).fill(7)); // grows the hive
  const v1 = h1.serialize();
  const h2 = Hive.open(v1, { writable: true, now });
  h2.deleteChild(h2.path('A\\B')!);
  h2.setValue(h2.root, { name: 'y', type: 'REG_SZ', data: 'v2' });
  const v2 = h2.serialize();
  return { v0, v1, v2 };
}

const reg = (b: Uint8Array | Hive) => Buffer.from(exportRegToBytes(b instanceof Uint8Array ? Hive.open(b) : b)).toString('latin1');

describe('transaction log replay (logs built here in the Windows layout)', () => {
  const { v0, v1, v2 } = states();
  const seq = Hive.open(v0).sequenceNumbers[1];

  it('new format: two entries over a dirty primary give the newest state', () => {
    const log = makeNewLog(v0, [v1, v2], seq);
    const { hive, report } = recoverHive(makeDirty(v0), [{ name: 'LOG1', bytes: log }]);
    expect(report).toMatchObject({ format: 'new', entriesApplied: 2, toSequence: seq + 1, baseBlockFromLog: false });
    expect(reg(hive)).toBe(reg(v2));
    expect(hive.dirty).toBe(false);
    expect(Hive.open(hive.serialize()).dirty).toBe(false);
  });

  it('new format split over .LOG1 and .LOG2 continues with the next sequence number', () => {
    const log1 = makeNewLog(v0, [v1], seq);
    const log2 = makeNewLog(v1, [v2], seq + 1);
    const { hive, report } = recoverHive(makeDirty(v0), [{ name: 'LOG2', bytes: log2 }, { name: 'LOG1', bytes: log1 }]);
    expect(report.logsUsed).toEqual(['LOG1', 'LOG2']);
    expect(reg(hive)).toBe(reg(v2));
    // A gap (entry seq+2 after seq) stops the replay after the first log.
    const gap = makeNewLog(v1, [v2], seq + 2);
    const r2 = recoverHive(makeDirty(v0), [{ name: 'LOG1', bytes: log1 }, { name: 'LOG2', bytes: gap }]);
    expect(r2.report.logsUsed).toEqual(['LOG1']);
    expect(reg(r2.hive)).toBe(reg(v1));
  });

  it('a damaged entry (hash) ends the replay before it', () => {
    const log = makeNewLog(v0, [v1, v2], seq);
    const p = parseLog('L', log);
    if (!('entries' in p) || !p.entries) throw new Error('new log expected');
    const at = p.entries[1]!.at + HVLE.SIZE + 20;
    log[at] = log[at]! ^ 0x55;
    expect(parseLog('L', log)).toMatchObject({ stopReason: expect.stringMatching(/Marvin32/) });
    const { hive, report } = recoverHive(makeDirty(v0), [{ name: 'LOG1', bytes: log }]);
    expect(report.entriesApplied).toBe(1);
    expect(reg(hive)).toBe(reg(v1));
  });

  it('new format with an invalid primary base block: the base block comes from the latest log', () => {
    const bad = makeDirty(v0);
    bad[508] = bad[508]! ^ 0xff; // checksum
    const { hive, report } = recoverHive(bad, [{ name: 'LOG1', bytes: makeNewLog(v0, [v1, v2], seq) }]);
    expect(report.baseBlockFromLog).toBe(true);
    expect(reg(hive)).toBe(reg(v2));
  });

  it('old format: the dirty pages of the log are written over the primary', () => {
    const log = makeOldLog(v0, v1, seq + 1);
    const { hive, report } = recoverHive(makeDirty(v0), [{ name: 'LOG1', bytes: log }, { name: 'LOG2', bytes: new Uint8Array(0) }]);
    expect(report).toMatchObject({ format: 'old', logsUsed: ['LOG1'] });
    expect(report.logsRejected.map((r) => r.name)).toEqual(['LOG2']);
    expect(reg(hive)).toBe(reg(v1));
  });

  it('refuses logs that cannot apply, naming the reason', () => {
    const stale = makeNewLog(v0, [v1], seq - 1); // older than the primary
    expect(() => recoverHive(makeDirty(v0), [{ name: 'LOG1', bytes: stale }])).toThrow(UnsafeStateError);
    const bad = makeNewLog(v0, [v1], seq);
    bad[508] = bad[508]! ^ 1; // the log's base block checksum
    expect(() => recoverHive(makeDirty(v0), [{ name: 'LOG1', bytes: bad }])).toThrow(/checksum/);
  });
});
