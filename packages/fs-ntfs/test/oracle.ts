import { spawnSync, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';

/** What a volume should hold: path (no leading slash, on-disk case) -> bytes, or 'dir'. */
export type Model = Map<string, Uint8Array | 'dir'>;

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

export interface OracleReport {
  ntfsfix: string;
  ntfsresize: string;
  ntfsls: number;
  fls: number;
  catChecked: number;
  icatChecked: number;
}

/**
 * Check a volume image against a model with independent tools:
 * - `ntfsfix -n` exits 0 and reports success;
 * - `ntfsresize -i -f` completes its consistency check and cluster accounting (exit 0, no error);
 * - `ntfsls -R` lists exactly the model's names (user files; system files hidden);
 * - `fls -r -p` lists exactly the model's names and types;
 * - `ntfscat` and `icat` return exactly the model's bytes (all files, or a deterministic sample of
 *   at most `maxCat` when there are more).
 * Returns a list of mismatches (empty = pass) and what was checked.
 */
export function checkWithOracles(image: string, model: Model, opts: { maxCat?: number; ignore?: (p: string) => boolean } = {}): { problems: string[]; report: OracleReport } {
  const problems: string[] = [];
  const ignore = opts.ignore ?? (() => false);
  const fix = spawnSync('ntfsfix', ['-n', image], { encoding: 'utf8' });
  if (fix.status !== 0 || !/processed successfully/.test(fix.stdout) || /error|corrupt|inconsist/i.test(fix.stdout + fix.stderr)) {
    problems.push(`ntfsfix -n: exit ${fix.status}: ${fix.stdout}${fix.stderr}`);
  }
  const rs = spawnSync('ntfsresize', ['-i', '-f', image], { encoding: 'utf8' });
  if (rs.status !== 0 || !/Accounting clusters/.test(rs.stdout) || /ERROR|inconsisten|bad|corrupt/i.test(rs.stdout + rs.stderr)) {
    problems.push(`ntfsresize -i -f: exit ${rs.status}: ${rs.stdout.slice(-400)}${rs.stderr.slice(-400)}`);
  }
  // ntfsls -R
  const ls = execFileSync('ntfsls', ['-R', '-F', image], { maxBuffer: 1 << 28 }).toString('utf8');
  const lsNames: string[] = [];
  let cur = '';
  for (const line of ls.split('\n')) {
    const h = /^(\/.*):$/.exec(line);
    if (h) {
      cur = h[1] === '/' ? '' : h[1]!.slice(1).replace(/\/$/, '');
      continue;
    }
    if (!line || line === './' || line === '../' || line === '.' || line === '..') continue;
    const dir = line.endsWith('/');
    const name = dir ? line.slice(0, -1) : line;
    const p = cur ? `${cur}/${name}` : name;
    if (!cur && name.startsWith('$')) continue;
    if (ignore(p)) continue;
    lsNames.push(`${dir ? 'd' : 'r'} ${p}`);
  }
  const want = [...model].filter(([p]) => !ignore(p)).map(([p, v]) => `${v === 'dir' ? 'd' : 'r'} ${p}`).sort();
  const gotLs = lsNames.sort();
  if (JSON.stringify(gotLs) !== JSON.stringify(want)) problems.push(`ntfsls differs: ${diff(gotLs, want)}`);
  // fls
  const fls = execFileSync('fls', ['-r', '-p', image], { maxBuffer: 1 << 28 }).toString('utf8');
  const flsNames: string[] = [];
  const attr = new Map<string, string>();
  for (const line of fls.split('\n')) {
    const m = /^(\S)\/(\S) (\*?\s*)([0-9-]+):\t(.*)$/.exec(line);
    // "-/r" (name type unknown) without "*" is a live entry sleuthkit found in an index block it
    // could not attribute: sleuthkit 4.11 reads only the first index block of each cluster when
    // blocks are smaller than clusters (64 KiB clusters), on ntfs-3g-made volumes as well
    if (!m || m[3]!.includes('*') || m[1] === 'V') continue;
    const p = m[5]!;
    if (p.startsWith('$') || p.includes(':') || ignore(p)) continue;
    const isDir = m[1] === 'd' || (m[1] === '-' && m[2] === 'd');
    flsNames.push(`${isDir ? 'd' : 'r'} ${p}`);
    attr.set(p, m[4]!);
  }
  const gotFls = flsNames.sort();
  if (JSON.stringify(gotFls) !== JSON.stringify(want)) problems.push(`fls differs: ${diff(gotFls, want)}`);
  // bytes
  const files = [...model].filter(([p, v]) => v !== 'dir' && !ignore(p)).sort(([a], [b]) => (a < b ? -1 : 1));
  const k = Math.max(1, Math.ceil(files.length / (opts.maxCat ?? Infinity)));
  let catChecked = 0;
  let icatChecked = 0;
  for (const [i, [p, v]] of files.entries()) {
    if (i % k !== 0) continue;
    const data = v as Uint8Array;
    const cat = spawnSync('ntfscat', [image, p], { maxBuffer: 1 << 30 });
    if (cat.status !== 0 || sha(cat.stdout) !== sha(data)) problems.push(`ntfscat ${p}: exit ${cat.status}, ${cat.stdout?.length} bytes, want ${data.length}`);
    else catChecked++;
    const a = attr.get(p);
    if (a) {
      const ic = spawnSync('icat', [image, a], { maxBuffer: 1 << 30 });
      if (ic.status !== 0 || sha(ic.stdout) !== sha(data)) problems.push(`icat ${p} (${a}): exit ${ic.status}, ${ic.stdout?.length} bytes, want ${data.length}`);
      else icatChecked++;
    }
  }
  return { problems, report: { ntfsfix: 'ok', ntfsresize: 'ok', ntfsls: gotLs.length, fls: gotFls.length, catChecked, icatChecked } };
}

function diff(got: string[], want: string[]): string {
  const g = new Set(got);
  const w = new Set(want);
  const extra = got.filter((x) => !w.has(x)).slice(0, 10);
  const missing = want.filter((x) => !g.has(x)).slice(0, 10);
  return `extra ${JSON.stringify(extra)} missing ${JSON.stringify(missing)} (got ${got.length}, want ${want.length})`;
}

/** A fresh mkntfs image (sparse file). */
export function mkntfs(path: string, sizeMiB: number, clusterSize: number, sectorSize = 512): void {
  execFileSync('truncate', ['-s', `${sizeMiB}M`, path]);
  execFileSync('mkntfs', ['-q', '-F', '-f', '-s', String(sectorSize), '-c', String(clusterSize), '-L', 'guestkit-write', path], { stdio: 'ignore' });
}
