/**
 * The committed test guests (test/fixtures/guests), uncompressed once per test process into a
 * temporary directory, side by side (the qcow2 overlay finds its backing file by name), and the
 * libguestfs recordings made from them (test/fixtures/recordings).
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { fixturePath } from '../../../../test/support/shared.js';

export const GUESTS_DIR = fixturePath('guests');
export const RECORDINGS_DIR = fixturePath('recordings');

/** The recorded virt-inspector cases: name → images (in -a order). */
export const INSPECT_CASES: Readonly<Record<string, readonly string[]>> = {
  'win11-uefi': ['win11-uefi.qcow2'],
  'win11-uefi-overlay': ['win11-uefi-overlay.qcow2'],
  'win7-bios': ['win7-bios.raw'],
  'dual-boot': ['dual-boot.raw'],
  'data-xp': ['data-xp.raw'],
  'dual-boot+data-xp': ['dual-boot.raw', 'data-xp.raw'],
  'win-damaged': ['win-damaged.raw'],
};

let dir: string | undefined;

/** Directory holding every guest image uncompressed (created once, reused across test files). */
export function guestsDir(): string {
  if (dir) return dir;
  const h = createHash('sha256');
  const files = readdirSync(GUESTS_DIR).filter((f) => f.endsWith('.gz') || f.endsWith('.qcow2')).sort();
  for (const f of files) h.update(f).update(readFileSync(join(GUESTS_DIR, f)));
  const d = join(process.env.GUESTKIT_TMP ?? tmpdir(), `guestkit-inspector-guests-${h.digest('hex').slice(0, 16)}`);
  if (!existsSync(join(d, '.complete'))) {
    mkdirSync(d, { recursive: true });
    for (const f of files) {
      if (f.endsWith('.gz')) writeFileSync(join(d, f.slice(0, -3)), gunzipSync(readFileSync(join(GUESTS_DIR, f))));
      else copyFileSync(join(GUESTS_DIR, f), join(d, f));
    }
    writeFileSync(join(d, '.complete'), '');
  }
  dir = d;
  return d;
}

export function guestPaths(images: readonly string[]): string[] {
  const d = guestsDir();
  return images.map((i) => join(d, i));
}

/** A recording's text, or undefined when it was not recorded. */
export function recording(rel: string): string | undefined {
  const p = join(RECORDINGS_DIR, rel);
  return existsSync(p) ? readFileSync(p, 'utf8') : undefined;
}

/** The exit code libguestfs gave for a recorded case (INDEX.tsv), or undefined. */
export function recordedExit(caseName: string): number | undefined {
  const idx = recording('INDEX.tsv');
  const line = idx?.split('\n').find((l) => l.split('\t')[0] === caseName);
  return line ? Number(line.split('\t')[2]) : undefined;
}
