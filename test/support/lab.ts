import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import { sharedDir } from './shared.js';
import { missingTools } from './tools.js';

/**
 * The ../shared/lab fake Windows 10 guests (win10-gpt.raw, win10-mbr.raw, win10-gpt.qcow2,
 * win10-gpt-compressed.qcow2) are build outputs: build them once with the lab's own script into a
 * cache directory keyed by the script's hash, and check them against the hashes the libguestfs
 * recordings were made with (expected/IMAGES.SHA256SUMS). GUESTKIT_LAB_IMAGES points at a ready set.
 */
export const LAB_TOOLS = ['faketime', 'python3', 'openssl', 'hivexregedit', 'mkntfs', 'ntfscp', 'ntfslabel', 'ntfsls', 'mkfs.fat', 'mmd', 'mcopy', 'sgdisk', 'sfdisk', 'qemu-img', 'dpkg-deb', 'sha256sum', 'apt-get'];

export function labDir(): string | undefined {
  const s = sharedDir();
  return s && existsSync(join(s, 'lab', 'make-win-image.sh')) ? join(s, 'lab') : undefined;
}

let cached: string | undefined | null = null;

/** Directory holding the lab images, building them if needed; undefined when impossible (reason in `labUnavailable`). */
export function labImages(): string | undefined {
  if (cached !== null) return cached;
  cached = build();
  return cached;
}

export let labUnavailable = '';

function build(): string | undefined {
  if (process.env.GUESTKIT_LAB_IMAGES) return process.env.GUESTKIT_LAB_IMAGES;
  const lab = labDir();
  if (!lab) {
    labUnavailable = '../shared/lab not present';
    return undefined;
  }
  const missing = missingTools(LAB_TOOLS);
  if (missing.length) {
    labUnavailable = `lab build tools missing: ${missing.join(', ')}`;
    return undefined;
  }
  const key = createHash('sha256').update(readFileSync(join(lab, 'make-win-image.sh'))).digest('hex').slice(0, 12);
  const base = process.env.GUESTKIT_CACHE ?? join(tmpdir(), 'guestkit-cache');
  const out = join(base, `lab-${key}`);
  const expected = join(lab, 'expected', 'IMAGES.SHA256SUMS');
  if (existsSync(join(out, 'done'))) return out;
  mkdirSync(base, { recursive: true });
  rmSync(out, { recursive: true, force: true });
  const r = spawnSync('bash', [join(lab, 'make-win-image.sh'), out], {
    cwd: lab,
    env: { ...process.env, DEB_CACHE: join(base, 'lab-debs') },
    encoding: 'utf8',
    maxBuffer: 1 << 28,
  });
  if (r.status !== 0) {
    labUnavailable = `lab image build failed: ${(r.stderr || r.stdout).split('\n').slice(-5).join(' | ')}`;
    return undefined;
  }
  if (existsSync(expected)) {
    const check = spawnSync('sha256sum', ['-c', '--quiet', expected], { cwd: out, encoding: 'utf8' });
    if (check.status !== 0) {
      labUnavailable = `lab images differ from the ones the recordings were made with: ${check.stdout}${check.stderr}`;
      return undefined;
    }
  }
  spawnSync('touch', [join(out, 'done')]);
  return out;
}
