import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

/**
 * Thin wrappers around the independent FAT implementations we check against: mtools (mdir,
 * mcopy), dosfstools (fsck.fat, mkfs.fat) and util-linux blkid. mtools runs with
 * MTOOLS_SKIP_CHECK=1 (images need not match floppy geometry), TZ=UTC (our timestamps are UTC)
 * and a UTF-8 locale (long names print as UTF-8).
 */
const rcFile = join(tmpdir(), `guestkit-mtoolsrc-${process.pid}`);
writeFileSync(rcFile, 'mtools_skip_check=1\ndefault_codepage=437\n');
/** mtools decodes short names with cp437 like our default (its own default is cp850). */
export const mtoolsEnv: NodeJS.ProcessEnv = {
  ...process.env, MTOOLSRC: rcFile, MTOOLS_SKIP_CHECK: '1', LC_ALL: 'C.UTF-8', LANG: 'C.UTF-8', TZ: 'UTC',
};

export function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = mtoolsEnv): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { env, encoding: 'utf8', maxBuffer: 1 << 28, timeout: 120_000 });
  return { status: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

export interface TreeItem {
  path: string;
  type: 'file' | 'directory';
}

/** True when mtools cannot read the volume's FAT (it prints "Bad FAT entry" and shows nothing). */
export function mtoolsCannotRead(img: string): boolean {
  const r = run('mdir', ['-i', img, '::/']);
  return /Bad FAT entry/.test(r.stderr);
}

/** `fsck.fat -n -l`: the paths dosfstools visits (the volume label entry excluded), in its order. */
export function fsckList(img: string, label?: string): string[] {
  const r = run('fsck.fat', ['-n', '-l', img]);
  const out: string[] = [];
  for (const line of r.stdout.split('\n')) {
    const m = /^Checking file (\/.*?)(?: \([^()]*\))?$/.exec(line);
    if (m && m[1] !== '/' && m[1] !== `/${label}`) out.push(m[1]!);
  }
  return out;
}

/** `mdir -/ -a -b`: every path of the volume in mdir's order ("::/a/b", directories end in "/"). */
export function mdirTree(img: string): TreeItem[] {
  const r = run('mdir', ['-/', '-a', '-b', '-i', img, '::/']);
  // mdir exits 1 on an empty root ("File not found") — that is an empty listing.
  if (r.status !== 0 && !/File "?.*"? not found|No files/i.test(r.stderr + r.stdout)) {
    throw new Error(`mdir failed (${r.status}): ${r.stderr}`);
  }
  const out: TreeItem[] = [];
  for (const line of r.stdout.split('\n')) {
    if (!line.startsWith('::/')) continue;
    const dir = line.endsWith('/');
    const p = line.slice(2, dir ? -1 : undefined);
    out.push({ path: p, type: dir ? 'directory' : 'file' });
  }
  return out;
}

/** `mcopy -s -m -n -i img ::/ outDir`: copy the whole tree out (mtimes preserved, read as UTC). */
export function mcopyAll(img: string, outDir: string): void {
  mkdirSync(outDir, { recursive: true });
  const r = run('mcopy', ['-s', '-m', '-n', '-i', img, '::/', outDir + '/']);
  if (r.status !== 0) throw new Error(`mcopy failed (${r.status}): ${r.stderr}`);
}

/** `mtype -i img ::/path` bytes (one file). */
export function mcopyFile(img: string, path: string): Buffer {
  const r = spawnSync('mcopy', ['-n', '-i', img, `::${path}`, '-'], { env: mtoolsEnv, maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`mcopy ${path} failed (${r.status}): ${r.stderr?.toString()}`);
  return r.stdout;
}

/** `fsck.fat -n`: { ok, output }. ok means exit status 0 (no problem found). */
export function fsckFat(img: string): { ok: boolean; output: string } {
  const r = run('fsck.fat', ['-n', img]);
  return { ok: r.status === 0, output: r.stdout + r.stderr };
}

/** `blkid -p -s TAG -o value img` (undefined when blkid reports no such tag). */
export function blkidTag(img: string, tag: string): string | undefined {
  const r = run('blkid', ['-p', '-s', tag, '-o', 'value', img]);
  const v = r.stdout.replace(/\n$/, '');
  return r.status === 0 && v.length > 0 ? v : undefined;
}

export function sha256(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

/** All files under `dir` (relative "/a/b" paths) with their sha256 and mtime. */
export function hostTree(dir: string): Map<string, { type: 'file' | 'directory'; sha?: string; mtimeMs: number }> {
  const out = new Map<string, { type: 'file' | 'directory'; sha?: string; mtimeMs: number }>();
  if (!existsSync(dir)) return out;
  const walk = (d: string, rel: string): void => {
    for (const e of readdirSync(d)) {
      const p = join(d, e);
      const st = statSync(p);
      const r = `${rel}/${e}`;
      if (st.isDirectory()) {
        out.set(r, { type: 'directory', mtimeMs: st.mtimeMs });
        walk(p, r);
      } else out.set(r, { type: 'file', sha: sha256(readFileSync(p)), mtimeMs: st.mtimeMs });
    }
  };
  walk(dir, '');
  return out;
}
