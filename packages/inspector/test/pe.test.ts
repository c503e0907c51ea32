/**
 * PE header decoding against file(1): the PE flavour decides libguestfs's arch (it runs file on
 * cmd.exe), the machine field decides guestkit's.
 */
import { describe, expect } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { GuestError } from '@guestkit/disk/binary';
import { libguestfsPeArch, parsePeHeader } from '@guestkit/inspector';
import { fixturePath } from '../../../test/support/shared.js';
import { Rng, classify, fuzzIterations, mutate } from '../../../test/support/fuzz.js';
import { itWithTools, runTool } from '../../../test/support/tools.js';

describe('PE headers', () => {
  for (const [machine, fileSays, arch, lgArch] of [
    ['i386', /^PE32 executable \(console\) Intel 80386/, 'i386', 'i386'],
    ['x86_64', /^PE32\+ executable \(console\) x86-64/, 'x86_64', 'x86_64'],
    ['aarch64', /^PE32\+ executable \(console\) Aarch64/, 'aarch64', 'x86_64'],
  ] as const) {
    itWithTools(['python3', 'file'], `${machine}: file(1) and the parser agree`, () => {
      const d = mkdtempSync(join(tmpdir(), 'gk-pe-'));
      try {
        const p = join(d, 'cmd.exe');
        runTool('python3', [fixturePath('scripts', 'make-guests-pe.py'), machine, p]);
        expect(runTool('file', ['-b', p]).toString()).toMatch(fileSays);
        const h = parsePeHeader(readFileSync(p));
        expect(h.arch).toBe(arch);
        expect(libguestfsPeArch(h)).toBe(lgArch);
        expect(h.format).toBe(fileSays.source.includes('PE32\\+') ? 'PE32+' : 'PE32');
        // the fuzzed variants only ever throw GuestErrors
        const rng = new Rng(0x9e + machine.length);
        const good = readFileSync(p);
        for (let i = 0; i < fuzzIterations(2000); i++) {
          const r = classify(() => parsePeHeader(mutate(good, rng, [{ offset: 0, length: 0x40 }, { offset: 0x80, length: 0x20 }])));
          if (!r.ok && !r.guest) throw r.error;
        }
      } finally {
        rmSync(d, { recursive: true, force: true });
      }
    });
  }
  itWithTools(['file'], 'not a PE: a DOS MZ stub, garbage, an empty file', () => {
    const mz = new Uint8Array(0x80);
    mz[0] = 0x4d;
    mz[1] = 0x5a;
    for (const b of [mz, new Uint8Array(100).fill(0x41), new Uint8Array(0)]) expect(() => parsePeHeader(b)).toThrowError(GuestError);
  });
});
