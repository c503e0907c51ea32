/**
 * Seeded fuzzing of what the registry editor reads from hives itself (ProfileList, Select,
 * control sets, the registry diff, .reg merges through applyReg): on mutated SOFTWARE and SYSTEM
 * hives of the sample guest, only GuestErrors may escape and every call ends.
 */
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { GuestError } from '@guestkit/disk/binary';
import { Hive, applyReg, parseReg } from '@guestkit/hive';
import { Guest, controlSets, currentControlSet, diffHive, profileList, resolveControlSet } from '@guestkit/inspector';
import { Rng, mutate } from '../../../test/support/fuzz.js';
import { repoRoot } from '../../../test/support/shared.js';

const ITERS = Number(process.env.GUESTKIT_FUZZ_ITERS ?? 300);

function sampleHives(): { software: Uint8Array; system: Uint8Array } {
  const g = Guest.open([join(repoRoot, 'test/fixtures/guests/win11-uefi.qcow2')]);
  try {
    const fs = g.mount('/dev/sda3');
    return { software: fs.readFile('/Windows/System32/config/SOFTWARE'), system: fs.readFile('/Windows/System32/config/SYSTEM') };
  } finally {
    g.close();
  }
}

function onlyGuestErrors(fn: () => void): void {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof GuestError)) throw e;
  }
}

describe('registry editor on mutated hives', () => {
  const { software, system } = sampleHives();
  const ops = parseReg('[\\Microsoft\\Windows\\CurrentVersion\\RunOnce]\n"x"="y"\n\n[-\\Microsoft\\Windows NT\\CurrentVersion\\ProfileList]\n\n[\\New\\Key]\n@=dword:00000001\n');

  it(`${ITERS} mutated SOFTWARE hives: ProfileList, diff and merge throw only GuestErrors`, () => {
    const rng = new Rng(0x5eed);
    let opened = 0;
    for (let i = 0; i < ITERS; i++) {
      const bytes = mutate(software, rng);
      onlyGuestErrors(() => {
        const before = Hive.open(bytes, { unsafe: true });
        opened++;
        profileList(before);
        const after = Hive.open(bytes, { writable: true });
        onlyGuestErrors(() => applyReg(after, ops));
        diffHive(before, after, ['\\Microsoft\\Windows\\CurrentVersion\\RunOnce', '\\Microsoft\\Windows NT\\CurrentVersion', '\\New\\Key', '\\'], 'HKEY_LOCAL_MACHINE\\SOFTWARE');
      });
    }
    expect(opened).toBeGreaterThan(ITERS / 4);
  });

  it(`${ITERS} mutated SYSTEM hives: Select\\Current and control sets throw only GuestErrors`, () => {
    const rng = new Rng(0xc0ffee);
    for (let i = 0; i < ITERS; i++) {
      const bytes = mutate(system, rng);
      onlyGuestErrors(() => {
        const h = Hive.open(bytes, { unsafe: true });
        currentControlSet(h);
        controlSets(h);
        resolveControlSet(h, '\\CurrentControlSet\\Services');
      });
    }
  });
});
