/**
 * The ../shared/lab guests (fake Windows 10 disks that the real libguestfs 1.48 inspected, see
 * ../shared/lab/README.md): their images are build outputs, so they are built here with
 * ../shared/lab/make-win-image.sh on first use and cached under
 * $GUESTKIT_LAB_CACHE (default ~/.cache/guestkit/lab) in a directory named after a hash of the
 * lab's build inputs; the two Debian packages it downloads (apt-get download libwine,
 * systemd-boot-efi) are kept in the same cache. A build takes about a minute.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** Tools make-win-image.sh needs. */
export const LAB_TOOLS = [
  'faketime', 'python3', 'openssl', 'hivexregedit', 'mkntfs', 'ntfscp', 'ntfslabel', 'ntfsls', 'mkfs.fat', 'mmd', 'mcopy',
  'sgdisk', 'sfdisk', 'qemu-img', 'dpkg-deb', 'sha256sum', 'apt-get',
];

function inputsKey(lab: string): string {
  const h = createHash('sha256');
  const files = ['make-win-image.sh', 'data/minimal.hive', 'tools/ntfs-mkdir.py', ...readdirSync(join(lab, 'reg')).sort().map((f) => `reg/${f}`)];
  for (const f of files) h.update(f).update(readFileSync(join(lab, f)));
  return h.digest('hex').slice(0, 16);
}

/** Directory with win10-gpt.raw, win10-mbr.raw, win10-gpt.qcow2, win10-gpt-compressed.qcow2 (built if needed). */
export function labImagesDir(shared: string): string {
  const lab = join(shared, 'lab');
  const base = process.env.GUESTKIT_LAB_CACHE ?? join(homedir(), '.cache', 'guestkit', 'lab');
  const dir = join(base, `images-${inputsKey(lab)}`);
  if (existsSync(join(dir, 'SHA256SUMS'))) return dir;
  const tmp = `${dir}.building-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(join(base, 'debs'), { recursive: true });
  execFileSync(join(lab, 'make-win-image.sh'), [tmp], {
    cwd: base,
    env: { ...process.env, DEB_CACHE: join(base, 'debs') },
    stdio: ['ignore', 'ignore', 'pipe'],
    timeout: 900_000,
  });
  renameSync(tmp, dir);
  return dir;
}

/** sha256 of each image as the lab recorded it (expected/IMAGES.SHA256SUMS). */
export function labExpectedSums(shared: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of readFileSync(join(shared, 'lab/expected/IMAGES.SHA256SUMS'), 'utf8').split('\n')) {
    const [sum, name] = line.trim().split(/\s+/);
    if (sum && name) m.set(name, sum);
  }
  return m;
}
