/**
 * `pnpm bench serve`: guestkit serve and guestkit mkiso against the native tools, in one run.
 *
 *   1. nbdcopy of a 1 GiB qcow2 image (and of the same data as raw) to null: over `guestkit serve`
 *      vs over `qemu-nbd` (target <= 1.2)
 *   2. an ISO of a 1 GiB tree: `guestkit mkiso` vs `xorriso -as mkisofs -R -J` (target <= 1.0)
 *   3. (for information) serving that tree as an ISO and copying it: `guestkit serve --iso` vs
 *      `nbdkit iso` (which builds a temporary ISO with xorriso before serving)
 *
 * Inputs are generated in a temporary directory and removed at the end. Options:
 *   --runs=N       timed runs per tool (default 5, after one untimed warm-up each)
 *   --size=MiB     image and tree size (default 1024)
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { median, printRows, runCmd, type Row } from './lib.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const CLI = path.join(here, '..', 'apps', 'cli', 'bin', 'guestkit');
const argv = process.argv.slice(2);
/** `--name=N` (bench/run.mjs passes only dash-prefixed arguments through). */
const opt = (name: string, def: number) => {
  const a = argv.find((x) => x.startsWith(`${name}=`));
  const v = a ? Number(a.slice(name.length + 1)) : def;
  if (!(Number.isInteger(v) && v > 0)) throw new Error(`${name} must be a positive integer`);
  return v;
};
const RUNS = opt('--runs', 5);
const SIZE_MIB = opt('--size', 1024);
const MiB = 1024 * 1024;

function have(tool: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;
}

function fillRandom(p: string, bytes: number): void {
  const fd = fs.openSync(p, 'w');
  const b = Buffer.allocUnsafe(Math.min(bytes, 16 * MiB));
  for (let done = 0; done < bytes; done += b.length) {
    randomFillSync(b);
    fs.writeSync(fd, b, 0, Math.min(b.length, bytes - done));
  }
  fs.closeSync(fd);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
    s.on('error', reject);
  });
}

async function waitForPort(port: number, ms = 20_000): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    const ok = await new Promise<boolean>((r) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.destroy();
        r(true);
      });
      s.on('error', () => r(false));
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`nothing listening on ${port}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Start `guestkit serve ARGS --port 0` and resolve with its URI (first stdout line). */
function startGuestkit(args: string[]): Promise<{ uri: string; proc: ChildProcess }> {
  const proc = spawn(CLI, ['serve', ...args, '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.add(proc);
  return new Promise((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (b) => {
      out += b;
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve({ uri: out.slice(0, nl), proc });
    });
    proc.on('exit', (c) => reject(new Error(`guestkit serve exited (${c})`)));
  });
}

function stop(proc: ChildProcess): Promise<void> {
  return new Promise((r) => {
    if (proc.exitCode !== null) return r();
    proc.on('exit', () => r());
    proc.kill('SIGTERM');
  });
}

/**
 * CPU seconds (user + system) used so far: by this process's waited-for children (no pid), or by
 * a running process and its live descendants (`guestkit serve` runs its server in a child).
 */
function cpuOf(pid: number | undefined): number {
  try {
    const f = fs.readFileSync(`/proc/${pid ?? 'self'}/stat`, 'utf8').split(') ')[1]!.split(' ');
    // Fields 14-17 of stat (utime, stime, cutime, cstime) are 12-15 here; children count once waited for.
    if (pid === undefined) return (Number(f[13]) + Number(f[14])) / 100;
    let s = (Number(f[11]) + Number(f[12])) / 100;
    const kids = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
    for (const k of kids ? kids.split(/\s+/) : []) s += cpuOf(Number(k));
    return s;
  } catch {
    return 0;
  }
}

interface Timed {
  run: () => Promise<number> | number;
  /** Process whose CPU time counts (a server); default: the child processes the run waits for. */
  pid?: () => number | undefined;
}

/** Interleaved timing (A, B, A, B, ...) so both tools see the same background load; medians of wall ms and CPU s. */
async function compare(a: Timed, b: Timed): Promise<{ wall: [number, number]; cpu: [number, number] }> {
  await a.run();
  await b.run();
  const ta: number[] = [];
  const tb: number[] = [];
  const ca: number[] = [];
  const cb: number[] = [];
  const one = async (t: Timed, times: number[], cpus: number[]) => {
    const pid = t.pid?.();
    const c0 = cpuOf(pid);
    times.push(await t.run());
    cpus.push(cpuOf(pid) - c0);
  };
  for (let i = 0; i < RUNS; i++) {
    await one(a, ta, ca);
    await one(b, tb, cb);
  }
  return { wall: [median(ta), median(tb)], cpu: [median(ca), median(cb)] };
}

const cpuRows: { what: string; guestkit: number; native: string; nativeCpu: number }[] = [];

const children = new Set<ChildProcess>();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gk-bench-serve-'));
const commands: string[] = [];

async function main(): Promise<void> {
  const rows: Row[] = [];
  const missing = ['nbdcopy', 'qemu-nbd', 'xorriso'].filter((t) => !have(t));
  if (missing.length) throw new Error(`missing tools: ${missing.join(', ')}`);
  if (!fs.existsSync(path.join(here, '..', 'apps', 'cli', 'dist', 'main.js'))) throw new Error('build first: pnpm build');
  console.log(`host: ${os.cpus().length} CPUs, load ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}; ${RUNS} runs each after a warm-up; median wall time`);

  // 1. nbdcopy over each server: the qcow2 (the case), then the same data as raw.
  const raw = path.join(tmp, 'disk.raw');
  fillRandom(raw, SIZE_MIB * MiB);
  const qcow2 = path.join(tmp, 'disk.qcow2');
  runCmd('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', raw, qcow2]);
  for (const [img, fmt] of [[qcow2, 'qcow2'], [raw, 'raw']] as const) {
    const gk = await startGuestkit([img]);
    const qport = await freePort();
    const qemu = spawn('qemu-nbd', ['-r', '-f', fmt, '-t', '-e', '8', '-b', '127.0.0.1', '-p', String(qport), img], { stdio: 'ignore' });
    children.add(qemu);
    await waitForPort(qport);
    const qemuUri = `nbd://127.0.0.1:${qport}/`;
    commands.push(`guestkit serve ${img} --port 0   →   nbdcopy ${gk.uri} null:`);
    commands.push(`qemu-nbd -r -f ${fmt} -t -e 8 -b 127.0.0.1 -p ${qport} ${img}   →   nbdcopy ${qemuUri} null:`);
    const r = await compare(
      { run: () => runCmd('nbdcopy', [gk.uri, 'null:']), pid: () => gk.proc.pid },
      { run: () => runCmd('nbdcopy', [qemuUri, 'null:']), pid: () => qemu.pid },
    );
    const what = `nbdcopy ${SIZE_MIB} MiB ${fmt} image → null:`;
    rows.push({ what, guestkitMs: r.wall[0], native: 'qemu-nbd', nativeMs: r.wall[1], target: 1.2 });
    cpuRows.push({ what: `${what} (server CPU)`, guestkit: r.cpu[0], native: 'qemu-nbd', nativeCpu: r.cpu[1] });
    await stop(gk.proc);
    await stop(qemu);
  }
  fs.rmSync(raw);
  fs.rmSync(qcow2);

  // 2. mkiso of a tree: half in 64 MiB files, half in 256 KiB files over 16 directories.
  const tree = path.join(tmp, 'tree');
  const half = (SIZE_MIB * MiB) / 2;
  fs.mkdirSync(path.join(tree, 'big'), { recursive: true });
  for (let i = 0; i < half / (64 * MiB); i++) fillRandom(path.join(tree, 'big', `file${i}.bin`), 64 * MiB);
  const small = 256 * 1024;
  const blob = Buffer.allocUnsafe(small);
  for (let i = 0; i < half / small; i++) {
    const d = path.join(tree, `dir${i % 16}`);
    fs.mkdirSync(d, { recursive: true });
    randomFillSync(blob);
    fs.writeFileSync(path.join(d, `small-file-number-${i}.dat`), blob);
  }
  const outA = path.join(tmp, 'a.iso');
  const outB = path.join(tmp, 'b.iso');
  commands.push(`guestkit mkiso ${tree} -o ${outA}`);
  commands.push(`xorriso -as mkisofs -R -J -quiet -o ${outB} ${tree}`);
  const m = await compare(
    {
      run: () => {
        const ms = runCmd(CLI, ['mkiso', tree, '-o', outA]);
        fs.rmSync(outA);
        return ms;
      },
    },
    {
      run: () => {
        const ms = runCmd('xorriso', ['-as', 'mkisofs', '-R', '-J', '-quiet', '-o', outB, tree]);
        fs.rmSync(outB);
        return ms;
      },
    },
  );
  const mwhat = `mkiso of a ${SIZE_MIB} MiB tree (${half / small + half / (64 * MiB)} files)`;
  rows.push({ what: mwhat, guestkitMs: m.wall[0], native: 'xorriso -as mkisofs', nativeMs: m.wall[1], target: 1.0 });
  cpuRows.push({ what: `${mwhat} (process CPU)`, guestkit: m.cpu[0], native: 'xorriso -as mkisofs', nativeCpu: m.cpu[1] });

  // 3. Serving that tree as an ISO, start to finish (informative).
  if (have('nbdkit')) {
    let socks = 0;
    const sock = () => path.join(tmp, `nbdkit${socks++}.sock`);
    commands.push(`guestkit serve --iso ${tree} --port 0   →   nbdcopy URI null:   (start to finish)`);
    commands.push(`nbdkit -U ${path.join(tmp, 'nbdkitN.sock')} --run 'nbdcopy "$uri" null:' iso ${tree}   (start to finish)`);
    const n = await compare(
      {
        run: async () => {
          const t0 = performance.now();
          const s = await startGuestkit(['--iso', tree]);
          runCmd('nbdcopy', [s.uri, 'null:']);
          const ms = performance.now() - t0;
          await stop(s.proc);
          return ms;
        },
      },
      { run: () => runCmd('nbdkit', ['-U', sock(), '--run', 'nbdcopy "$uri" null:', 'iso', tree], { env: { ...process.env, TMPDIR: tmp } }) },
    );
    rows.push({ what: `serve a ${SIZE_MIB} MiB tree as ISO + nbdcopy → null:`, guestkitMs: n.wall[0], native: 'nbdkit iso', nativeMs: n.wall[1] });
  }

  console.log('\nCommands:');
  for (const c of commands) console.log(`  ${c}`);
  console.log('');
  printRows(rows);
  console.log('\nCPU seconds (user + system), medians of the same runs:\n');
  console.log('| measured | guestkit (s) | native | native (s) | ratio |');
  console.log('| --- | ---: | --- | ---: | ---: |');
  for (const r of cpuRows) console.log(`| ${r.what} | ${r.guestkit.toFixed(2)} | ${r.native} | ${r.nativeCpu.toFixed(2)} | ${(r.guestkit / r.nativeCpu).toFixed(3)} |`);
  console.log(`\nload average at the end: ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`);
}

try {
  await main();
} finally {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  fs.rmSync(tmp, { recursive: true, force: true });
}
