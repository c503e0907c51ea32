/**
 * `pnpm bench fat`: copy a 50 MiB file into and out of a FAT32 image (512 MiB, 4 KiB clusters,
 * made by mkfs.fat), guestkit versus mtools `mcopy`, in the same run, interleaved.
 *
 * Fairness: mcopy is a separate process, so guestkit is timed as a process too, from spawn to
 * exit: the CLI as users run it (`guestkit fish --rw -a IMG -m /dev/sda upload SRC /big.bin`,
 * `guestkit fish -a IMG -m /dev/sda download /big.bin DST`; the bundled CLI with its V8 code
 * cache). The images live on /dev/shm when it exists, because the CLI fsyncs before it exits and
 * mcopy never does: on tmpfs an fsync costs nothing, so neither side pays for durability the other
 * skips. Each "into" run starts from a fresh copy of the same empty image, made before the clock
 * starts. guestkit runs without NODE_EXTRA_CA_CERTS: when set (as on the build machines) node
 * parses the whole CA bundle at startup (~100 ms of CPU) though no TLS is used; node's bare
 * start-up with and without it is printed.
 *
 * Informative rows: a small script over the unbundled dist (ES modules), and the library alone
 * inside one warm process (not a fair comparison: no process start-up at all).
 *
 * Options (env): BENCH_RUNS (default 7), BENCH_MIB (default 50), GUESTKIT_TMP (work directory).
 */
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { randomBytes, createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { median, printRows, type Row } from './lib.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..');
const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const MIB = Number(process.env.BENCH_MIB ?? 50);
// Absolute paths (valid ESM specifiers on POSIX, and resolvable by esbuild).
const diskDist = join(root, 'packages/disk/dist/index.js');
const fatDist = join(root, 'packages/fs-fat/dist/index.js');
const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;
const CLI = join(root, 'apps/cli/bin/guestkit');
const WORK = process.env.GUESTKIT_TMP ?? (existsSync('/dev/shm') ? '/dev/shm' : tmpdir());

const mtoolsEnv = { ...process.env, MTOOLS_SKIP_CHECK: '1' };
const nodeEnv: NodeJS.ProcessEnv = { ...process.env };
delete nodeEnv.NODE_EXTRA_CA_CERTS;

interface Sample {
  wall: number;
  cpu: number;
}

/** Run a command; wall time from here, CPU (user+sys) from /usr/bin/time when present. */
function run(cmd: string, args: string[], opts: SpawnSyncOptions = {}): Sample {
  const argv = TIME ? [TIME, '-f', '@@%U %S', cmd, ...args] : [cmd, ...args];
  const t = performance.now();
  const r = spawnSync(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 1 << 26, ...opts });
  const wall = performance.now() - t;
  const err = r.stderr?.toString() ?? '';
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${err}`);
  const m = /@@([\d.]+) ([\d.]+)/.exec(err);
  return { wall, cpu: m ? (Number(m[1]) + Number(m[2])) * 1000 : NaN };
}

/** Copy an image keeping its holes (a 512 MiB image is mostly holes; tmpfs keeps them). */
function copyImage(from: string, to: string): void {
  const r = spawnSync('cp', ['--sparse=always', from, to]);
  if (r.status !== 0) copyFileSync(from, to);
}

const sha = (p: string): string => createHash('sha256').update(readFileSync(p)).digest('hex');

/** The guestkit side: tiny ESM scripts over the built packages. */
const COMMON = `
import { FileDevice } from ${JSON.stringify(diskDist)};
import { openFat } from ${JSON.stringify(fatDist)};
import * as fs from 'node:fs';
// Same durability as mcopy: no fsync (FileDevice.flush would fsync).
const device = (img, write) => { const d = FileDevice.open(img, { write }); d.flush = () => {}; return d; };
const CHUNK = 1 << 20;
`;
const COPY_IN = `${COMMON}
const [src, img, dst] = process.argv.slice(2);
const dev = device(img, true);
const vol = openFat(dev, { write: true });
const h = vol.open(dst, { create: true, truncate: true, write: true });
const fd = fs.openSync(src, 'r');
const buf = Buffer.allocUnsafe(CHUNK);
for (let off = 0; ; ) {
  const n = fs.readSync(fd, buf, 0, CHUNK, off);
  if (n <= 0) break;
  h.writeAt(off, buf.subarray(0, n));
  off += n;
}
fs.closeSync(fd);
h.close();
vol.close();
dev.close();
`;
const COPY_OUT = `${COMMON}
const [img, src, out] = process.argv.slice(2);
const dev = device(img, false);
const vol = openFat(dev);
const h = vol.open(src);
const fd = fs.openSync(out, 'w');
const buf = Buffer.allocUnsafe(CHUNK);
for (let off = 0; off < h.size; off += CHUNK) {
  const n = Math.min(CHUNK, h.size - off);
  h.readAt(off, buf.subarray(0, n));
  fs.writeSync(fd, buf, 0, n);
}
fs.closeSync(fd);
h.close();
dev.close();
`;

/** Bundle a script into one file with the esbuild that tsx brings along (undefined if unavailable). */
function bundle(entry: string, out: string): string | undefined {
  try {
    // pnpm keeps esbuild next to tsx (node_modules/.pnpm/tsx@…/node_modules): resolve from tsx's real path.
    const req = createRequire(realpathSync(createRequire(join(root, 'package.json')).resolve('tsx/package.json')));
    const esbuild = req('esbuild') as { buildSync(o: object): void };
    esbuild.buildSync({ entryPoints: [entry], bundle: true, platform: 'node', format: 'esm', outfile: out, logLevel: 'silent' });
    return out;
  } catch {
    return undefined;
  }
}

async function inProcess(src: string, base: string, work: string, withFile: string, dir: string): Promise<{ into: number[]; out: number[]; intoCpu: number[]; outCpu: number[] }> {
  const { FileDevice } = (await import(diskDist)) as typeof import('@guestkit/disk');
  const { openFat } = (await import(fatDist)) as typeof import('@guestkit/fs-fat');
  const fs = await import('node:fs');
  const into: number[] = [];
  const out: number[] = [];
  const intoCpu: number[] = [];
  const outCpu: number[] = [];
  const cpuMs = (c: NodeJS.CpuUsage): number => (c.user + c.system) / 1000;
  const buf = Buffer.allocUnsafe(1 << 20);
  for (let i = 0; i <= RUNS; i++) {
    copyImage(base, work);
    let c0 = process.cpuUsage();
    let t = performance.now();
    const dev = FileDevice.open(work, { write: true });
    dev.flush = () => {};
    const vol = openFat(dev, { write: true });
    const h = vol.open('/big.bin', { create: true, truncate: true, write: true });
    const fd = fs.openSync(src, 'r');
    for (let off = 0; ; ) {
      const n = fs.readSync(fd, buf, 0, buf.length, off);
      if (n <= 0) break;
      h.writeAt(off, buf.subarray(0, n));
      off += n;
    }
    fs.closeSync(fd);
    h.close();
    vol.close();
    dev.close();
    if (i) {
      into.push(performance.now() - t);
      intoCpu.push(cpuMs(process.cpuUsage(c0)));
    }
    c0 = process.cpuUsage();
    t = performance.now();
    const rdev = FileDevice.open(withFile);
    const rvol = openFat(rdev);
    const rh = rvol.open('/big.bin');
    const ofd = fs.openSync(join(dir, 'inproc-out.bin'), 'w');
    for (let off = 0; off < rh.size; off += buf.length) {
      const n = Math.min(buf.length, rh.size - off);
      rh.readAt(off, buf.subarray(0, n));
      fs.writeSync(ofd, buf, 0, n);
    }
    fs.closeSync(ofd);
    rdev.close();
    if (i) {
      out.push(performance.now() - t);
      outCpu.push(cpuMs(process.cpuUsage(c0)));
    }
  }
  return { into, out, intoCpu, outCpu };
}

async function main(): Promise<void> {
  if (!existsSync(join(root, 'apps/cli/dist/main.js'))) throw new Error('build first: pnpm build');
  const dir = mkdtempSync(join(WORK, 'gk-bench-fat-'));
  try {
    const base = join(dir, 'base.img');
    const withFile = join(dir, 'with-file.img');
    const work = join(dir, 'work.img');
    const src = join(dir, 'big.bin');
    writeFileSync(src, randomBytes(MIB * 1024 * 1024));
    run('mkfs.fat', ['-C', '-F', '32', '-i', '12345678', base, String(512 * 1024)]);
    copyImage(base, withFile);
    run('mcopy', ['-i', withFile, src, '::/big.bin'], { env: mtoolsEnv });
    const inJs = join(dir, 'copy-in.mjs');
    const outJs = join(dir, 'copy-out.mjs');
    writeFileSync(inJs, COPY_IN);
    writeFileSync(outJs, COPY_OUT);
    const inBundle = bundle(inJs, join(dir, 'copy-in.bundle.mjs'));
    const outBundle = bundle(outJs, join(dir, 'copy-out.bundle.mjs'));
    const want = sha(src);

    const s: Record<string, Sample[]> = {};
    const add = (k: string, v: Sample, keep: boolean): void => {
      if (keep) (s[k] ??= []).push(v);
    };
    for (let i = 0; i <= RUNS; i++) {
      const keep = i > 0; // the first round warms caches up (and writes the CLI's code cache)
      copyImage(base, work);
      add('cliIn', run(CLI, ['fish', '--rw', '-a', work, '-m', '/dev/sda', 'upload', src, '/big.bin'], { env: nodeEnv }), keep);
      if (i === RUNS) {
        // the CLI's image: fsck.fat clean, mcopy reads back the same bytes
        const fsck = spawnSync('fsck.fat', ['-n', work], { encoding: 'utf8' });
        if (fsck.status !== 0) throw new Error(`fsck.fat after guestkit fish upload:\n${fsck.stdout}`);
        run('mcopy', ['-n', '-i', work, '::/big.bin', join(dir, 'check-cli.bin')], { env: mtoolsEnv });
        if (sha(join(dir, 'check-cli.bin')) !== want) throw new Error('mcopy read back different bytes from the CLI-written image');
      }
      copyImage(base, work);
      add('gkIn', run(process.execPath, [inJs, src, work, '/big.bin'], { env: nodeEnv }), keep);
      if (i === RUNS) {
        // the script's image: fsck.fat clean, mcopy reads back the same bytes
        const fsck = spawnSync('fsck.fat', ['-n', work], { encoding: 'utf8' });
        if (fsck.status !== 0) throw new Error(`fsck.fat after guestkit copy-in:\n${fsck.stdout}`);
        run('mcopy', ['-n', '-i', work, '::/big.bin', join(dir, 'check.bin')], { env: mtoolsEnv });
        if (sha(join(dir, 'check.bin')) !== want) throw new Error('mcopy read back different bytes from the guestkit-written image');
      }
      copyImage(base, work);
      add('mcIn', run('mcopy', ['-i', work, src, '::/big.bin'], { env: mtoolsEnv }), keep);
      if (inBundle) {
        copyImage(base, work);
        add('gkInB', run(process.execPath, [inBundle, src, work, '/big.bin'], { env: nodeEnv }), keep);
      }
      add('cliOut', run(CLI, ['fish', '-a', withFile, '-m', '/dev/sda', 'download', '/big.bin', join(dir, 'cli-out.bin')], { env: nodeEnv }), keep);
      add('gkOut', run(process.execPath, [outJs, withFile, '/big.bin', join(dir, 'gk-out.bin')], { env: nodeEnv }), keep);
      add('mcOut', run('mcopy', ['-n', '-i', withFile, '::/big.bin', join(dir, 'mc-out.bin')], { env: mtoolsEnv }), keep);
      if (outBundle) add('gkOutB', run(process.execPath, [outBundle, withFile, '/big.bin', join(dir, 'gk-outb.bin')], { env: nodeEnv }), keep);
      add('nodeCa', run(process.execPath, ['-e', '0'], { env: process.env }), keep);
      add('node', run(process.execPath, ['-e', '0'], { env: nodeEnv }), keep);
    }
    for (const f of ['cli-out.bin', 'gk-out.bin', 'mc-out.bin', ...(outBundle ? ['gk-outb.bin'] : [])]) {
      if (sha(join(dir, f)) !== want) throw new Error(`copy-out ${f} differs from the source`);
    }
    const lib = await inProcess(src, base, work, withFile, dir);
    if (sha(join(dir, 'inproc-out.bin')) !== want) throw new Error('in-process copy-out differs from the source');

    const wall = (k: string): number => median(s[k]!.map((x) => x.wall));
    const cpu = (k: string): number => median(s[k]!.map((x) => x.cpu));
    const rows: Row[] = [
      { what: `copy ${MIB} MiB into FAT32 image: guestkit fish upload`, guestkitMs: wall('cliIn'), nativeMs: wall('mcIn'), native: 'mcopy', target: 1.0 },
      { what: `copy ${MIB} MiB out of FAT32 image: guestkit fish download`, guestkitMs: wall('cliOut'), nativeMs: wall('mcOut'), native: 'mcopy', target: 1.0 },
    ];
    const extra: Row[] = [
      { what: `into (node script over the unbundled dist)`, guestkitMs: wall('gkIn'), nativeMs: wall('mcIn'), native: 'mcopy' },
      { what: `out of (node script over the unbundled dist)`, guestkitMs: wall('gkOut'), nativeMs: wall('mcOut'), native: 'mcopy' },
    ];
    if (s.gkInB) extra.push({ what: `into (process, one-file esbuild bundle)`, guestkitMs: wall('gkInB'), nativeMs: wall('mcIn'), native: 'mcopy' });
    if (s.gkOutB) extra.push({ what: `out of (process, one-file esbuild bundle)`, guestkitMs: wall('gkOutB'), nativeMs: wall('mcOut'), native: 'mcopy' });
    extra.push({ what: `into (library in a warm process; not a fair comparison)`, guestkitMs: median(lib.into), nativeMs: wall('mcIn'), native: 'mcopy' });
    extra.push({ what: `out of (library in a warm process; not a fair comparison)`, guestkitMs: median(lib.out), nativeMs: wall('mcOut'), native: 'mcopy' });

    console.log(`runs: ${RUNS} (+1 warm-up), interleaved; image: 512 MiB FAT32, 4 KiB clusters (mkfs.fat) in ${WORK}; node ${process.version}; load average at start ${(await import('node:os')).loadavg()[0]!.toFixed(2)} on ${(await import('node:os')).cpus().length} CPUs`);
    console.log('\nWall time (median):');
    printRows(rows);
    console.log('\nInformative:');
    printRows(extra);
    if (TIME) {
      console.log('\nCPU time, user+sys (median ms, from /usr/bin/time) — less sensitive to a busy machine:');
      console.log('| what | guestkit fish | script (dist) | script (one-file bundle) | mcopy |');
      console.log('| --- | ---: | ---: | ---: | ---: |');
      console.log(`| into | ${cpu('cliIn').toFixed(0)} | ${cpu('gkIn').toFixed(0)} | ${s.gkInB ? cpu('gkInB').toFixed(0) : '-'} | ${cpu('mcIn').toFixed(0)} |`);
      console.log(`| out of | ${cpu('cliOut').toFixed(0)} | ${cpu('gkOut').toFixed(0)} | ${s.gkOutB ? cpu('gkOutB').toFixed(0) : '-'} | ${cpu('mcOut').toFixed(0)} |`);
      console.log(`| node -e 0 (start-up alone) | ${cpu('node').toFixed(0)} | | | |`);
      console.log(`| library in a warm process (process.cpuUsage): into ${median(lib.intoCpu).toFixed(0)}, out of ${median(lib.outCpu).toFixed(0)} | | | | |`);
    }
    console.log(`\nnode -e 0 wall (median): ${wall('node').toFixed(1)} ms without NODE_EXTRA_CA_CERTS, ${wall('nodeCa').toFixed(1)} ms with the environment as given` +
      (process.env.NODE_EXTRA_CA_CERTS ? ` (NODE_EXTRA_CA_CERTS=${process.env.NODE_EXTRA_CA_CERTS})` : ''));
    console.log('verified: fsck.fat -n clean on the guestkit-written images; mcopy reads back the same SHA-256; every copy-out equals the source.');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
