/**
 * `pnpm bench edits`: `guestkit win-reg --merge` of a RunOnce .reg into the shipped sample qcow2
 * (a fresh copy in a temporary directory for every run, copying not timed) against
 * `virt-win-reg --merge` of the same file into its own fresh copy, in the same run; the last
 * image of each tool is checked to export the same SOFTWARE hive (ntfscat + hivexregedit).
 * Also, guestkit only: the same merge as a dry run, one value read, and a customize run.
 *
 *   GUESTKIT_BENCH_RUNS          guestkit runs per line (default 10, median)
 *   GUESTKIT_BENCH_NATIVE_RUNS   virt-win-reg runs (default 3; each boots the libguestfs appliance; 0: use the lab figure)
 *
 * guestkit is run as apps/cli/bin/guestkit (its shebang drops NODE_EXTRA_CA_CERTS, which costs
 * ~100 ms of node start-up here). virt-win-reg runs under TCG (LIBGUESTFS_BACKEND=direct,
 * LIBGUESTFS_BACKEND_SETTINGS=force_tcg; KVM is unusable on these machines, ../shared/lab/README.md).
 * Without libguestfs the virt-win-reg figure is the lab's (../shared/lab/TIMINGS.md), marked as such.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median, printRows, type Row } from './lib.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(root, 'apps/cli/bin/guestkit');
const SAMPLE = join(root, 'test/fixtures/guests/win11-uefi.qcow2');
const RUNS = Number(process.env.GUESTKIT_BENCH_RUNS ?? 10);
const NATIVE_RUNS = Number(process.env.GUESTKIT_BENCH_NATIVE_RUNS ?? 3);
const TCG = { ...process.env, LIBGUESTFS_BACKEND: 'direct', LIBGUESTFS_BACKEND_SETTINGS: 'force_tcg' };
const RUNONCE_REG =
  'Windows Registry Editor Version 5.00\r\n\r\n' +
  '[HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\RunOnce]\r\n' +
  '"Firstboot"="C:\\\\firstboot.bat"\r\n';

function has(tool: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;
}

interface Measure {
  wallMs: number;
  cpuMs: number;
  rssKiB: number;
}

/** Run a command under GNU time: wall clock, user+system CPU, peak RSS. */
function timed(cmd: string, args: string[], env?: NodeJS.ProcessEnv): Measure {
  const r = spawnSync('/usr/bin/time', ['-f', 'GKTIME %e %U %S %M', cmd, ...args], { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'], ...(env ? { env } : {}) });
  const m = /GKTIME ([0-9.]+) ([0-9.]+) ([0-9.]+) ([0-9]+)/.exec(r.stderr);
  if (r.status !== 0 || !m) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
  return { wallMs: Number(m[1]) * 1000, cpuMs: (Number(m[2]) + Number(m[3])) * 1000, rssKiB: Number(m[4]) };
}

/** `runs` timed runs, each on a fresh copy of the sample made by `fresh()` (not timed). */
function series(runs: number, fresh: () => string, cmd: (img: string) => [string, string[], NodeJS.ProcessEnv?]): Measure & { all: Measure[]; last: string } {
  const all: Measure[] = [];
  let last = '';
  for (let i = 0; i < runs; i++) {
    last = fresh();
    const [c, a, e] = cmd(last);
    all.push(timed(c, a, e));
  }
  return { wallMs: median(all.map((x) => x.wallMs)), cpuMs: median(all.map((x) => x.cpuMs)), rssKiB: Math.max(...all.map((x) => x.rssKiB)), all, last };
}

function sh(cmd: string, args: string[], env?: NodeJS.ProcessEnv): Buffer {
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 30, ...(env ? { env } : {}) });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** hivexregedit export of the SOFTWARE hive of an image (qemu-img → dd of C: → ntfscat). */
function softwareExport(img: string, dir: string): string {
  const raw = join(dir, 'check.raw');
  sh('qemu-img', ['convert', '-O', 'raw', img, raw]);
  const j = JSON.parse(sh('sfdisk', ['-J', raw]).toString()) as { partitiontable: { partitions: { start: number; size: number }[] } };
  const p = j.partitiontable.partitions[2]!;
  const part = join(dir, 'check.p3');
  sh('dd', [`if=${raw}`, `of=${part}`, 'bs=512', `skip=${p.start}`, `count=${p.size}`, 'status=none']);
  const hive = join(dir, 'check.SOFTWARE');
  writeFileSync(hive, sh('ntfscat', [part, '/Windows/System32/config/SOFTWARE']));
  const out = sh('hivexregedit', ['--export', '--prefix', 'HKEY_LOCAL_MACHINE\\SOFTWARE', hive, '\\']).toString('latin1');
  for (const f of [raw, part, hive]) rmSync(f);
  return out;
}

function labFigure(label: RegExp): number | undefined {
  const p = resolve(root, '../shared/lab/TIMINGS.md');
  if (!existsSync(p)) return undefined;
  for (const line of readFileSync(p, 'utf8').split('\n')) if (label.test(line)) return Number(line.split('|')[2]) * 1000;
  return undefined;
}

if (!existsSync('/usr/bin/time')) throw new Error('this benchmark needs GNU time (/usr/bin/time, Debian package time)');
const tmp = mkdtempSync(join(process.env.GUESTKIT_TMP ?? tmpdir(), 'gk-bench-edits-'));
const notes: string[] = [];
const rows: Row[] = [];
try {
  const reg = join(tmp, 'runonce.reg');
  writeFileSync(reg, RUNONCE_REG);
  let n = 0;
  const fresh = () => {
    const p = join(tmp, `copy-${n++}.qcow2`);
    copyFileSync(SAMPLE, p);
    return p;
  };
  const merge = (img: string): [string, string[]] => [BIN, ['win-reg', '--merge', img, reg]];
  const nativeMerge = (img: string): [string, string[], NodeJS.ProcessEnv] => ['virt-win-reg', ['--merge', '--format=qcow2', img, reg], TCG];
  const withLibguestfs = has('virt-win-reg') && NATIVE_RUNS > 0;

  const checks = has('hivexregedit') && has('ntfscat') && has('sfdisk');
  const gk = series(RUNS, fresh, merge);
  // Both tools must leave the same result: the SOFTWARE hive of the last run of each, exported by hivexregedit.
  const ours = checks ? softwareExport(gk.last, tmp) : undefined;
  if (ours !== undefined && !ours.includes('"Firstboot"=hex(1):43,00,3a,00,5c,00,66,00')) throw new Error('guestkit merge did not write the RunOnce value');
  let nativeMs: number | undefined;
  let nativeLabel = 'virt-win-reg --merge (TCG)';
  if (withLibguestfs) {
    const nat = series(NATIVE_RUNS, fresh, nativeMerge);
    if (ours !== undefined) {
      if (softwareExport(nat.last, tmp) !== ours) throw new Error('guestkit and virt-win-reg --merge left different SOFTWARE hives');
      notes.push('check: after the merge the SOFTWARE hive exports identically (hivexregedit) from both tools\' images');
    }
    nativeMs = nat.wallMs;
    notes.push(`virt-win-reg --merge runs, wall ms: ${nat.all.map((x) => x.wallMs.toFixed(0)).join(' / ')}; CPU ms: ${nat.all.map((x) => x.cpuMs.toFixed(0)).join(' / ')}`);
  } else {
    nativeMs = labFigure(/virt-win-reg --merge merge-runonce\.reg/);
    nativeLabel = 'virt-win-reg --merge (../shared/lab/TIMINGS.md, not run here)';
    notes.push(`${NATIVE_RUNS > 0 ? 'libguestfs is not installed' : 'GUESTKIT_BENCH_NATIVE_RUNS=0'}: the virt-win-reg time is the lab figure (fresh qcow2 overlay of win10-gpt.raw, 3 runs, median), not measured in this run`);
    if (ours !== undefined) notes.push('check: guestkit\'s merged SOFTWARE hive holds the RunOnce value (hivexregedit)');
  }
  if (nativeMs !== undefined) {
    rows.push({ what: 'win-reg --merge RunOnce .reg, sample qcow2, wall clock', guestkitMs: gk.wallMs, nativeMs, native: nativeLabel, target: 0.01 });
    rows.push({ what: 'win-reg --merge RunOnce .reg, sample qcow2, guestkit CPU (user+sys)', guestkitMs: gk.cpuMs, nativeMs, native: nativeLabel, target: 0.01 });
  }
  notes.push(`guestkit win-reg --merge runs, wall ms: ${gk.all.map((x) => x.wallMs.toFixed(0)).join(' / ')}; CPU ms: ${gk.all.map((x) => x.cpuMs.toFixed(0)).join(' / ')}`);

  const dry = series(RUNS, () => SAMPLE, (img) => [BIN, ['win-reg', '--merge', '--dry-run', img, reg]]);
  const read = series(RUNS, () => SAMPLE, (img) => [BIN, ['win-reg', img, 'HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion', 'ProductName']]);
  const drv = join(tmp, 'viostor.sys');
  writeFileSync(drv, Buffer.alloc(64 * 1024, 7));
  const cust = series(RUNS, fresh, (img) => [BIN, ['customize', img, '--run-once', 'C:\\setup.bat', '--inject-driver', drv]]);

  printRows(rows);
  console.log('');
  console.log('| guestkit only (cold process, sample qcow2) | wall ms (median) | CPU ms (median) | peak RSS MiB | reference |');
  console.log('| --- | ---: | ---: | ---: | --- |');
  const line = (what: string, m: Measure, ref = '') => console.log(`| ${what} | ${m.wallMs.toFixed(0)} | ${m.cpuMs.toFixed(0)} | ${(m.rssKiB / 1024).toFixed(1)} | ${ref} |`);
  const readRef = labFigure(/virt-win-reg read one value/);
  line('win-reg --merge RunOnce .reg', gk);
  line('win-reg --merge --dry-run (diff printed, nothing written)', dry);
  line('win-reg read one value (ProductName)', read, readRef ? `virt-win-reg: ${(readRef / 1000).toFixed(1)} s (lab TIMINGS.md)` : '');
  line('customize --run-once + --inject-driver (64 KiB .sys)', cust);
  console.log('');
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  notes.push(`load average at the end of the run: ${load} (2 cores, shared)`);
  for (const x of notes) console.log(`- ${x}`);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
