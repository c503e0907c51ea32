import { describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Hive, exportRegToBytes, sortLikeHivexsh, type NodeRef } from '@guestkit/hive';
import { describeWithTools, runTool, runToolStatus } from './support/tools.js';
import { tempDir } from './support/shared.js';
import { compareWithModel, runRandomEdits } from '../packages/hive/test/model.js';

/**
 * Hives written by guestkit, read back by independent tools: hivexregedit must export exactly
 * what we export (so hivex sees every key, value and byte we wrote), hivexml must walk the whole
 * tree (hivex_visit: cycles and every value checked), reglookup must read every row, and hivexsh
 * must list the same subkeys.
 */
const now = () => 133485408000000000n;

function checkWithOracles(h: Hive, dir: string, label: string): void {
  const bytes = h.serialize();
  const p = join(dir, `${label}.hive`);
  writeFileSync(p, bytes);
  const reopened = Hive.open(bytes);
  const ours = Buffer.from(exportRegToBytes(reopened, '\\'));
  const theirs = runTool('hivexregedit', ['--export', p, '\\']);
  expect(ours.equals(theirs), `${label}: hivexregedit export`).toBe(true);
  // hivexml opens /dev/stdout itself, which fails on a socket pipe: redirect to a file.
  const xml = runToolStatus('sh', ['-c', 'hivexml "$1" > "$2"', 'sh', p, p + '.xml']);
  expect(xml.status, `${label}: hivexml ${xml.stderr}`).toBe(0);
  const rl = runToolStatus('reglookup', [p]);
  expect(rl.status, `${label}: reglookup`).toBe(0);
  expect(rl.stderr).not.toMatch(/ERROR/);
  const t = ours.toString('latin1');
  const rows = (t.match(/^\[/gm) ?? []).length + (t.match(/^(@=|")/gm) ?? []).length;
  expect(rl.stdout.split('\n').filter((l) => l.length > 0).length - 1, `${label}: reglookup rows`).toBe(rows);
  // hivexsh: list the root and the key with the most subkeys.
  let busiest: NodeRef = reopened.root;
  for (const { node } of reopened.walk()) if (reopened.nodeSubkeyCount(node) > reopened.nodeSubkeyCount(busiest)) busiest = node;
  const script = join(dir, `${label}.hivexsh`);
  const path = busiest === reopened.root ? '\\' : '\\' + reopened.nodePath(busiest);
  writeFileSync(script, `cd ${path}\nls\n`);
  const sh = runToolStatus('hivexsh', ['-f', script, p]);
  expect(sh.status, `${label}: hivexsh ${sh.stderr}`).toBe(0);
  const listed = sh.stdout.split('\n').filter((l) => l.length > 0);
  // hivexsh sorts ls output with strcasecmp (C locale), not in Windows order.
  expect(listed, `${label}: hivexsh ls`).toEqual(sortLikeHivexsh(reopened.children(busiest).map((c) => reopened.nodeName(c))));
}

describeWithTools(['hivexregedit', 'hivexml', 'reglookup', 'hivexsh'], 'hives written by guestkit, read by hivex and reglookup', () => {
  for (const seed of [11, 12]) {
    it(`seed ${seed}: 2000 random edits, checked against the model every 500 and by the oracles after 1000 and at the end`, () => {
      const { dir, cleanup } = tempDir('hive-write-');
      try {
        let checkpoints = 0;
        const { hive, model } = runRandomEdits(seed, 2000, now, (h, m, step) => {
          expect(compareWithModel(h, m), `step ${step}`).toEqual([]);
          if (step % 1000 === 0) {
            checkWithOracles(h, dir, `s${seed}-${step}`);
            checkpoints++;
          }
        }, 500);
        checkWithOracles(hive, dir, `s${seed}-final`);
        expect(compareWithModel(Hive.open(hive.serialize()), model)).toEqual([]);
        expect(checkpoints).toBe(2); // 1000 and 2000 (+ the final state, the same as 2000 here)
      } finally {
        cleanup();
      }
    }, 120_000);
  }

  it('big data, index roots and deletions in a Windows-written hive are read back by hivex', () => {
    const { dir, cleanup } = tempDir('hive-write-');
    try {
      const h = Hive.create({ now });
      const k = h.addChild(h.root, 'Big');
      h.setRawValue(k, 'db', 3, new Uint8Array(70000).map((_, i) => i % 253));
      h.setRawValue(k, 'exact', 3, new Uint8Array(16344).fill(1));
      h.setRawValue(k, 'over', 3, new Uint8Array(16345).fill(2));
      const many = h.addChild(h.root, 'Many');
      for (let i = 0; i < 1500; i++) h.addChild(many, `k${String(i).padStart(4, '0')}`);
      for (let i = 0; i < 1500; i += 3) h.deleteChild(h.child(many, `k${String(i).padStart(4, '0')}`)!);
      checkWithOracles(h, dir, 'big');
    } finally {
      cleanup();
    }
  });
});

describe('model helper sanity', () => {
  it('detects a difference between hive and model', () => {
    const { hive, model } = runRandomEdits(5, 50, now);
    hive.addChild(hive.root, 'not-in-model-☃');
    expect(compareWithModel(hive, model).length).toBeGreaterThan(0);
  });
});
