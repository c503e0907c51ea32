/**
 * `pnpm bench ntfs`: guestkit's NTFS driver (node running the built dist, as a process, so start-up
 * counts as it does for the native tool) against ntfs-3g and sleuthkit in the same run:
 *   1. read a 100 MiB file            guestkit vs `ntfscat`        (target ratio ≤ 1.0)
 *   2. list a 100 000-entry tree      guestkit vs `fls -r`         (target ratio ≤ 1.0)
 *   3. write a 100 MiB file           guestkit vs `ntfscp`         (target ratio ≤ 1.0)
 * Images are built once with mkntfs + the ntfs-3g FUSE driver and kept in
 * $GUESTKIT_BENCH_DIR (default /tmp/guestkit-bench-ntfs). Medians of 5 runs after 1 warm-up; the
 * write rows take 11 rounds (BENCH_WRITE_RUNS), interleaved with ntfscp.
 */
import { spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { existsSync, mkdirSync, writeFileSync, copyFileSync, rmSync, openSync, writeSync, closeSync, fsyncSync } from 'node:fs';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { interleaved, median, printRows, runCmd, type Row } from './lib.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..');
const dist = join(root, 'packages/fs-ntfs/dist/index.js');
const diskDist = join(root, 'packages/disk/dist/index.js');
const dir = process.env.GUESTKIT_BENCH_DIR ?? '/tmp/guestkit-bench-ntfs';
const RUNS = Number(process.env.BENCH_RUNS ?? 5);

function sh(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
}

function makeImages(): { big: string; tree: string; payload: string } {
  mkdirSync(dir, { recursive: true });
  const big = join(dir, 'big.img');
  const tree = join(dir, 'tree.img');
  const payload = join(dir, 'payload.bin');
  if (!existsSync(payload)) {
    const fd = openSync(payload, 'w');
    for (let i = 0; i < 100; i++) writeSync(fd, randomBytes(1 << 20));
    closeSync(fd);
  }
  if (!existsSync(big)) {
    sh('truncate', ['-s', '400M', big + '.tmp']);
    sh('mkntfs', ['-q', '-F', '-f', '-c', '4096', big + '.tmp']);
    sh('ntfscp', ['-q', big + '.tmp', payload, 'payload.bin']);
    sh('mv', [big + '.tmp', big]);
  }
  if (!existsSync(tree)) {
    console.log('building the 100 000-entry tree once (ntfs-3g FUSE)…');
    sh('truncate', ['-s', '512M', tree + '.tmp']);
    sh('mkntfs', ['-q', '-F', '-f', '-c', '4096', tree + '.tmp']);
    const mnt = join(dir, 'mnt');
    mkdirSync(mnt, { recursive: true });
    sh('ntfs-3g', [tree + '.tmp', mnt]);
    try {
      sh('python3', ['-c', `
import os
for d in range(100):
    p = os.path.join(${JSON.stringify(mnt)}, 'dir%03d' % d)
    os.mkdir(p)
    for f in range(999):
        open(os.path.join(p, 'file-%04d.txt' % f), 'wb').close()
`]);
    } finally {
      sh('umount', [mnt]);
    }
    sh('mv', [tree + '.tmp', tree]);
  }
  return { big, tree, payload };
}

/**
 * A node script against the built packages. It reports on stderr how long it ran after node's own
 * start-up (module loading included), so the table can also show the library's share.
 */
function nodeScript(body: string): string {
  return `const __t0 = performance.now();\nconst { FileDevice } = await import(${JSON.stringify(diskDist)}); const { openNtfs } = await import(${JSON.stringify(dist)}); const nfs = await import('node:fs');\n${body}\nprocess.stderr.write('inner ' + (performance.now() - __t0) + '\\n');`;
}

const inner: Record<string, number[]> = {};
/**
 * The environment guestkit runs with: its launcher (apps/cli/bin/guestkit) drops
 * NODE_EXTRA_CA_CERTS, which node would otherwise parse at every start (~0.1-0.4 s here).
 */
const gkEnv = { ...process.env };
delete gkEnv.NODE_EXTRA_CA_CERTS;
/** Run a guestkit script as a process: wall time in ms; the script's own time goes to `inner[tag]`. */
function runNode(tag: string, script: string, args: string[]): number {
  const a = performance.now();
  const r = spawnSync('node', [script, ...args], { stdio: ['ignore', openSync('/dev/null', 'w'), 'pipe'], maxBuffer: 1 << 20, env: gkEnv });
  const ms = performance.now() - a;
  if (r.status !== 0) throw new Error(`node ${script} failed (${r.status}): ${r.stderr}`);
  const m = /inner ([0-9.]+)/.exec(r.stderr.toString());
  if (m) (inner[tag] ??= []).push(Number(m[1]));
  return ms;
}

/** The CLI as users run it (bin/guestkit: bundled, code-cached, NODE_EXTRA_CA_CERTS dropped by its shebang). */
const cli = join(root, 'apps/cli/bin/guestkit');
function runCli(args: string[]): number {
  const a = performance.now();
  const r = spawnSync(cli, args, { stdio: ['ignore', openSync('/dev/null', 'w'), 'pipe'] });
  const ms = performance.now() - a;
  if (r.status !== 0) throw new Error(`guestkit ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return ms;
}

function timeRuns(fn: () => number): number {
  fn();
  const t: number[] = [];
  for (let i = 0; i < RUNS; i++) t.push(fn());
  return median(t);
}

const { big, tree, payload } = makeImages();
const scripts = join(dir, 'scripts');
mkdirSync(scripts, { recursive: true });
const readJs = join(scripts, 'read.mjs');
writeFileSync(readJs, nodeScript(`
const fs = openNtfs(FileDevice.open(process.argv[2]));
const h = fs.open(process.argv[3]);
const buf = new Uint8Array(8 << 20);
for (let off = 0; off < h.size; off += buf.length) {
  const n = Math.min(buf.length, h.size - off);
  const v = buf.subarray(0, n);
  h.readAt(off, v);
  nfs.writeSync(1, v);
}`));
const listJs = join(scripts, 'list.mjs');
writeFileSync(listJs, nodeScript(`
const fs = openNtfs(FileDevice.open(process.argv[2]));
const out = [];
const walk = (p) => { for (const e of fs.readdir(p)) { const full = (p === '/' ? '' : p) + '/' + e.name; out.push((e.type === 'directory' ? 'd ' : 'r ') + full.slice(1)); if (e.type === 'directory') walk(full); } };
walk('/');
nfs.writeSync(1, out.join('\\n') + '\\n');`));
const writeJs = join(scripts, 'write.mjs');
writeFileSync(writeJs, nodeScript(`
const fs = openNtfs(FileDevice.open(process.argv[2], { write: true }), { write: true });
const src = FileDevice.open(process.argv[3]);
fs.writeFileFrom(process.argv[4], { size: src.size, read: (o, d) => src.readAt(o, d) });
fs.close();`));

const devnull = { stdio: ['ignore', openSync('/dev/null', 'w'), 'pipe'] as ['ignore', number, 'pipe'] };
const rows: Row[] = [];

const ntfscatMs = timeRuns(() => runCmd('ntfscat', [big, 'payload.bin'], devnull));
rows.push({
  what: 'read a 100 MiB file: guestkit fish download',
  guestkitMs: timeRuns(() => runCli(['fish', '-a', big, '-m', '/dev/sda', 'download', '/payload.bin', '/dev/null'])),
  native: 'ntfscat',
  nativeMs: ntfscatMs,
  target: 1.0,
});
rows.push({
  what: 'read a 100 MiB file: node script over the built packages (informative)',
  guestkitMs: timeRuns(() => runNode('read', readJs, [big, '/payload.bin'])),
  native: 'ntfscat',
  nativeMs: ntfscatMs,
});

// sanity: the listing is complete
const count = spawnSync('node', [listJs, tree], { maxBuffer: 1 << 28 }).stdout.toString().split('\n').filter(Boolean).length;
console.log(`tree listing: ${count} entries (100 directories × 999 files + metadata)`);
rows.push({
  what: `list a ${count}-entry tree`,
  guestkitMs: timeRuns(() => runNode('list', listJs, [tree])),
  native: 'fls -r',
  nativeMs: timeRuns(() => runCmd('fls', ['-r', tree], devnull)),
  target: 1.0,
});

// write: a fresh copy of the (small) base image per run, outside the timing
const base = join(dir, 'write-base.img');
if (!existsSync(base)) {
  sh('truncate', ['-s', '400M', base]);
  sh('mkntfs', ['-q', '-F', '-f', '-c', '4096', base]);
}
const target = join(dir, 'write.img');
/**
 * A fresh copy of the base image, synced before the clock starts: otherwise the tool's own fsync
 * would also pay for writing out the 400 MiB copy.
 */
const freshTarget = (): void => {
  copyFileSync(base, target);
  const fd = openSync(target, 'r+');
  fsyncSync(fd);
  closeSync(fd);
};
const writeRun = (fn: () => number) => () => {
  freshTarget();
  return fn();
};
// ntfscp, the CLI and the script take turns, round by round, so a change in the shared machine's
// load falls on all three alike (WRITE_RUNS rounds: writes vary more than reads).
const WRITE_RUNS = Number(process.env.BENCH_WRITE_RUNS ?? 11);
const [ntfscpRuns, cliRuns, scriptRuns] = interleaved([
  writeRun(() => runCmd('ntfscp', ['-q', target, payload, 'payload.bin'], devnull)),
  writeRun(() => runCli(['fish', '--rw', '-a', target, '-m', '/dev/sda', 'upload', payload, '/payload.bin'])),
  writeRun(() => runNode('write', writeJs, [target, payload, '/payload.bin'])),
], WRITE_RUNS);
const ntfscpMs = median(ntfscpRuns!);
rows.push({
  what: 'write a 100 MiB file: guestkit fish --rw upload',
  guestkitMs: median(cliRuns!),
  native: 'ntfscp',
  nativeMs: ntfscpMs,
  target: 1.0,
});
rows.push({
  what: 'write a 100 MiB file: node script over the built packages (informative)',
  guestkitMs: median(scriptRuns!),
  native: 'ntfscp',
  nativeMs: ntfscpMs,
});

/**
 * The library alone in this (warm) process, no process start-up: informative, to show where the
 * time of the rows above goes. The write ends with the device's fdatasync, as the CLI's does
 * (ntfscp fsyncs the image when it closes it, too).
 */
const { FileDevice } = (await import(diskDist)) as typeof import('@guestkit/disk');
const { openNtfs } = (await import(dist)) as typeof import('@guestkit/fs-ntfs');
const nullFd = openSync('/dev/null', 'w');
const chunk = new Uint8Array(8 << 20);
const timed = (fn: () => void): number => {
  const t = performance.now();
  fn();
  return performance.now() - t;
};
rows.push({
  what: 'read a 100 MiB file: the library in a warm process (informative)',
  guestkitMs: timeRuns(() => timed(() => {
    const dev = FileDevice.open(big);
    const h = openNtfs(dev).open('/payload.bin');
    for (let off = 0; off < h.size; off += chunk.length) {
      const v = chunk.subarray(0, Math.min(chunk.length, h.size - off));
      h.readAt(off, v);
      writeSync(nullFd, v);
    }
    dev.close();
  })),
  native: 'ntfscat',
  nativeMs: ntfscatMs,
});
rows.push({
  what: 'write a 100 MiB file: the library in a warm process (informative)',
  guestkitMs: timeRuns(() => {
    freshTarget();
    return timed(() => {
      const dev = FileDevice.open(target, { write: true });
      const vol = openNtfs(dev, { write: true });
      const src = FileDevice.open(payload);
      vol.writeFileFrom('/payload.bin', { size: src.size, read: (o: number, d: Uint8Array) => src.readAt(o, d) });
      vol.close();
      src.close();
      dev.close();
    });
  }),
  native: 'ntfscp',
  nativeMs: ntfscpMs,
});
closeSync(nullFd);
rmSync(target, { force: true });
printRows(rows);
const nodeAlone = timeRuns(() => runCmd('node', ['-e', '0'], { env: gkEnv }));
console.log(`\nnode start-up alone (node -e 0): ${nodeAlone.toFixed(1)} ms median`);
console.log('guestkit time after node start-up (module loading + work, reported by the script itself), median ms:');
for (const [k, v] of Object.entries(inner)) console.log(`  ${k}: ${median(v).toFixed(1)}`);
