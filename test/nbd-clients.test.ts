import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { describeWithTools, itWithTools, runTool, runToolStatus } from './support/tools.js';
import { repoRoot, tempDir } from './support/shared.js';
import { Rng } from './support/fuzz.js';
import { RawClient } from '../packages/nbd/test/raw-client.js';

/**
 * `guestkit serve` against NBD clients nobody here wrote: nbdinfo, nbdcopy (libnbd), qemu-img
 * and qemu-io (QEMU's NBD client). Servers listen on free ports (--port 0, URI read from stdout)
 * and are always shut down.
 */
const CLI = path.join(repoRoot, 'apps/cli/bin/guestkit');

interface Served {
  uri: string;
  proc: ChildProcess;
  stderr: () => string;
  stop: (signal?: NodeJS.Signals) => Promise<{ code: number | null; stderr: string }>;
}
const live = new Set<ChildProcess>();

function serve(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Served> {
  const proc = spawn(process.execPath, [CLI, 'serve', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(proc);
  let out = '';
  let err = '';
  proc.stderr!.on('data', (b) => (err += b));
  const exited = new Promise<number | null>((r) => proc.on('exit', (code) => {
    live.delete(proc);
    r(code);
  }));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start: ${err}`)), 20_000);
    proc.stdout!.on('data', (b) => {
      out += b;
      const nl = out.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        resolve({
          uri: out.slice(0, nl),
          proc,
          stderr: () => err,
          stop: async (signal = 'SIGTERM') => {
            proc.kill(signal);
            return { code: await exited, stderr: err };
          },
        });
      }
    });
    proc.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited with ${code} before listening: ${err}`));
    });
  });
}

afterEach(() => {
  for (const p of live) p.kill('SIGKILL');
  live.clear();
});

/** A sparse raw image: data at a few places, holes elsewhere. */
function makeImage(p: string, size: number, seed: number): void {
  fs.writeFileSync(p, '');
  fs.truncateSync(p, size);
  const rng = new Rng(seed);
  const fd = fs.openSync(p, 'r+');
  for (const off of [0, 1 << 20, 5 * (1 << 20) + 12345, size - 70_000]) {
    const b = Buffer.alloc(65_536);
    for (let i = 0; i < b.length; i++) b[i] = rng.next() & 0xff;
    fs.writeSync(fd, b, 0, b.length, off);
  }
  fs.closeSync(fd);
}

describeWithTools(['nbdinfo', 'nbdcopy', 'qemu-img', 'qemu-io'], 'guestkit serve against nbdinfo, nbdcopy, qemu-img and qemu-io', () => {
  let t: { dir: string; cleanup: () => void };
  let img: string;
  const SIZE = 16 * 1024 * 1024;
  beforeAll(() => {
    t = tempDir('gk-nbd-clients-');
    img = path.join(t.dir, 'disk.raw');
    makeImage(img, SIZE, 42);
  });
  afterAll(() => t?.cleanup());

  it('nbdinfo sees a read-only export on loopback with base:allocation', async () => {
    const s = await serve([img, '--port', '0']);
    expect(s.uri).toMatch(/^nbd:\/\/127\.0\.0\.1:\d+\/$/);
    const info = JSON.parse(runTool('nbdinfo', ['--json', s.uri]).toString());
    const e = info.exports[0];
    expect(info.protocol).toBe('newstyle-fixed');
    expect(e['export-size']).toBe(SIZE);
    expect(e.is_read_only).toBe(true);
    expect(e.contexts).toContain('base:allocation');
    expect(e.can_multi_conn).toBe(true);
    expect(e.can_df).toBe(true);
    expect(e.block_size_maximum).toBe(32 * 1024 * 1024);
    expect((await s.stop()).code).toBe(0);
  });

  it('nbdcopy and qemu-img convert read exactly what qemu-img convert reads from the image; qemu-img compare agrees', async () => {
    const s = await serve([img, '--port', '0']);
    const ref = path.join(t.dir, 'ref.raw');
    runTool('qemu-img', ['convert', '-f', 'raw', '-O', 'raw', img, ref]);
    const viaCopy = path.join(t.dir, 'nbdcopy.raw');
    runTool('nbdcopy', [s.uri, viaCopy]);
    expect(fs.readFileSync(viaCopy).equals(fs.readFileSync(ref))).toBe(true);
    const viaQemu = path.join(t.dir, 'qemu.raw');
    runTool('qemu-img', ['convert', '-O', 'raw', s.uri, viaQemu]);
    expect(fs.readFileSync(viaQemu).equals(fs.readFileSync(ref))).toBe(true);
    const cmp = runToolStatus('qemu-img', ['compare', '-f', 'raw', img, s.uri]);
    expect(cmp.stdout).toContain('Images are identical');
    expect(cmp.status).toBe(0);
    await s.stop();
  });

  it('several clients at once: parallel nbdcopy runs all read the whole image', async () => {
    const s = await serve([img, '--port', '0']);
    const outs = [0, 1, 2].map((i) => path.join(t.dir, `par${i}.raw`));
    const procs = outs.map((o) => new Promise<number | null>((r) => spawn('nbdcopy', [s.uri, o]).on('exit', r)));
    expect(await Promise.all(procs)).toEqual([0, 0, 0]);
    const want = fs.readFileSync(img);
    for (const o of outs) expect(fs.readFileSync(o).equals(want)).toBe(true);
    await s.stop();
  });

  it('a read-only export refuses writes from qemu-io', async () => {
    const s = await serve([img, '--port', '0']);
    const r = runToolStatus('qemu-io', ['-f', 'raw', s.uri, '-c', 'write -P 0x55 0 4096']);
    expect(r.stdout + r.stderr).toMatch(/read-only|Operation not permitted|permission/i);
    await s.stop();
    expect(fs.readFileSync(img).subarray(0, 4096).every((b) => b === 0x55)).toBe(false);
  });

  it('--rw: qemu-io writes, zeroes and discards, and nbdcopy writes, land in the image', async () => {
    const rw = path.join(t.dir, 'rw.raw');
    fs.copyFileSync(img, rw);
    const s = await serve([rw, '--rw', '--port', '0']);
    const info = JSON.parse(runTool('nbdinfo', ['--json', s.uri]).toString()).exports[0];
    expect([info.is_read_only, info.can_trim, info.can_zero, info.can_fua, info.can_flush]).toEqual([false, true, true, true, true]);
    const io = runTool('qemu-io', ['-f', 'raw', s.uri,
      '-c', 'write -P 0xab 4096 65536',
      '-c', 'write -z 1048576 65536',
      '-c', 'write -f -P 0xcd 8388608 512',
      '-c', 'discard 2097152 4096',
      '-c', 'flush',
      '-c', 'read -P 0xab 4096 65536',
      '-c', 'read -P 0 1048576 65536',
    ]).toString();
    expect(io).not.toMatch(/Pattern verification failed|error/i);
    const b = fs.readFileSync(rw);
    expect(b.subarray(4096, 4096 + 65536).every((x) => x === 0xab)).toBe(true);
    expect(b.subarray(1048576, 1048576 + 65536).every((x) => x === 0)).toBe(true);
    expect(b.subarray(8388608, 8388608 + 512).every((x) => x === 0xcd)).toBe(true);
    // nbdcopy into the export (a different whole image).
    const src = path.join(t.dir, 'other.raw');
    makeImage(src, SIZE, 7);
    runTool('nbdcopy', [src, s.uri]);
    const stopped = await s.stop('SIGTERM');
    expect(stopped.code).toBe(0);
    expect(fs.readFileSync(rw).equals(fs.readFileSync(src))).toBe(true);
    expect(runToolStatus('qemu-img', ['compare', '-f', 'raw', '-F', 'raw', src, rw]).status).toBe(0);
  });

  it('SIGINT with a client connected mid-session: its writes are in the image and the server exits 0', async () => {
    const rw = path.join(t.dir, 'sig.raw');
    fs.writeFileSync(rw, Buffer.alloc(1 << 20));
    const s = await serve([rw, '--rw', '--port', '0'], { GUESTKIT_LOG: 'debug' });
    const port = Number(/:(\d+)\//.exec(s.uri)![1]);
    const c = await RawClient.connect(port);
    await c.go('', { structured: true });
    c.request(1, 1000, 9, { payload: Buffer.from('persisted') });
    expect((await c.structuredReply())[0]!.type).toBe(0);
    const r = await s.stop('SIGINT');
    expect(r.code).toBe(0);
    expect(await c.waitClosed()).toBe(true);
    expect(r.stderr).toMatch(/"msg":"flushed"/);
    expect(fs.readFileSync(rw).subarray(1000, 1009).toString()).toBe('persisted');
  });

  it('--socket: a Unix socket, named export with a description, removed at exit', async () => {
    const sock = path.join(t.dir, 'nbd.sock');
    const s = await serve([img, '--socket', sock, '--export', 'disk0', '--description', 'test disk']);
    expect(s.uri).toBe(`nbd+unix:///disk0?socket=${sock}`);
    const list = runTool('nbdinfo', ['--list', '--json', `nbd+unix:///?socket=${sock}`]).toString();
    const l = JSON.parse(list);
    expect(l.exports.map((e: { 'export-name': string }) => e['export-name'])).toEqual(['disk0']);
    expect(l.exports[0].description).toBe('test disk');
    const out = path.join(t.dir, 'unix.raw');
    runTool('nbdcopy', [s.uri, out]);
    expect(fs.readFileSync(out).equals(fs.readFileSync(img))).toBe(true);
    await s.stop();
    expect(fs.existsSync(sock)).toBe(false);
  });

  it('a server whose launching process is killed outright goes away too (no orphan holding the port)', async () => {
    const s = await serve([img, '--port', '0']);
    const port = Number(/:(\d+)\//.exec(s.uri)![1]);
    s.proc.kill('SIGKILL');
    const deadline = Date.now() + 15_000;
    let open = true;
    while (open && Date.now() < deadline) {
      open = await new Promise<boolean>((r) => {
        const c = net.connect(port, '127.0.0.1', () => {
          c.destroy();
          r(true);
        });
        c.on('error', () => r(false));
      });
      if (open) await new Promise((r) => setTimeout(r, 100));
    }
    expect(open).toBe(false);
  });

  it('refuses to start on a port in use, with NBD_LISTEN_FAILED', async () => {
    const s = await serve([img, '--port', '0']);
    const port = /:(\d+)\//.exec(s.uri)![1]!;
    const r = spawnSync(process.execPath, [CLI, 'serve', img, '--port', port], { encoding: 'utf8', timeout: 20_000 });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('NBD_LISTEN_FAILED');
    await s.stop();
  });
});

/** `qemu-img map --output=json` as base:allocation would describe it (merged): data 0, zero 2, unallocated 3. */
function qemuMap(img: string): [number, number, number][] {
  const entries = JSON.parse(runTool('qemu-img', ['map', '--output=json', img]).toString()) as { start: number; length: number; present: boolean; zero: boolean; data: boolean }[];
  const out: [number, number, number][] = [];
  for (const e of entries) {
    const t = !e.present ? 3 : e.zero ? 2 : 0;
    const last = out[out.length - 1];
    if (last && last[2] === t && last[0] + last[1] === e.start) last[1] += e.length;
    else out.push([e.start, e.length, t]);
  }
  return out;
}

function nbdMap(uri: string): [number, number, number][] {
  return JSON.parse(runTool('nbdinfo', ['--map', '--json', uri]).toString()).map((e: { offset: number; length: number; type: number }) => [e.offset, e.length, e.type]);
}

describeWithTools(['nbdinfo', 'nbdcopy', 'qemu-img', 'qemu-io'], 'guestkit serve of qcow2 images and partitions', () => {
  let t: { dir: string; cleanup: () => void };
  let base: string;
  let top: string;
  beforeAll(() => {
    t = tempDir('gk-nbd-qcow2-');
    base = path.join(t.dir, 'base.qcow2');
    top = path.join(t.dir, 'top.qcow2');
    runTool('qemu-img', ['create', '-q', '-f', 'qcow2', base, '16M']);
    runTool('qemu-io', ['-f', 'qcow2', base, '-c', 'write -P 0x33 0 1M', '-c', 'write -P 0x44 4M 256k']);
    runTool('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', base, '-F', 'qcow2', top]);
    runTool('qemu-io', ['-f', 'qcow2', top, '-c', 'write -P 0x11 512k 128k', '-c', 'write -z 8M 1M', '-c', 'write -P 0x22 12M 64k']);
  });
  afterAll(() => t?.cleanup());

  it('a sparse qcow2 with a backing chain: nbdinfo --map shows its holes as qemu-img map does; copies equal qemu-img convert', async () => {
    const s = await serve([top, '--port', '0']);
    const map = nbdMap(s.uri);
    expect(map.some((m) => m[2] === 3)).toBe(true);
    expect(map).toEqual(qemuMap(top));
    const ref = path.join(t.dir, 'ref.raw');
    runTool('qemu-img', ['convert', '-O', 'raw', top, ref]);
    const viaCopy = path.join(t.dir, 'copy.raw');
    runTool('nbdcopy', [s.uri, viaCopy]);
    expect(fs.readFileSync(viaCopy).equals(fs.readFileSync(ref))).toBe(true);
    const viaQemu = path.join(t.dir, 'conv.raw');
    runTool('qemu-img', ['convert', '-O', 'raw', s.uri, viaQemu]);
    expect(fs.readFileSync(viaQemu).equals(fs.readFileSync(ref))).toBe(true);
    expect(runToolStatus('qemu-img', ['compare', top, s.uri]).status).toBe(0);
    await s.stop();
  });

  it('--rw on a qcow2: qemu-io and nbdcopy writes land in the qcow2, which passes qemu-img check', async () => {
    const rw = path.join(t.dir, 'rw.qcow2');
    fs.copyFileSync(top, rw);
    const s = await serve([rw, '--rw', '--port', '0']);
    runTool('qemu-io', ['-f', 'raw', s.uri, '-c', 'write -P 0x55 2M 1M', '-c', 'write -z 4M 64k', '-c', 'discard 12M 64k', '-c', 'flush']);
    const mid = path.join(t.dir, 'mid.raw');
    runTool('qemu-img', ['convert', '-O', 'raw', s.uri, mid]);
    const b = fs.readFileSync(mid);
    expect(b.subarray(2 << 20, 3 << 20).every((x) => x === 0x55)).toBe(true);
    expect(b.subarray(4 << 20, (4 << 20) + 65536).every((x) => x === 0)).toBe(true);
    const src = path.join(t.dir, 'src.raw');
    makeImage(src, 16 << 20, 99);
    runTool('nbdcopy', [src, s.uri]);
    expect((await s.stop('SIGTERM')).code).toBe(0);
    const check = runToolStatus('qemu-img', ['check', rw]);
    expect(check.stdout).toContain('No errors were found on the image.');
    expect(check.status).toBe(0);
    expect(runToolStatus('qemu-img', ['compare', '-f', 'raw', '-F', 'qcow2', src, rw]).status).toBe(0);
    // The backing file was not touched.
    expect(runToolStatus('qemu-img', ['check', base]).status).toBe(0);
  });

  itWithTools(['sgdisk'], '--partition N serves exactly that partition (GPT), and refuses a missing one', async () => {
    const disk = path.join(t.dir, 'gpt.raw');
    makeImage(disk, 16 << 20, 5);
    runTool('sgdisk', ['-Z', disk]);
    runTool('sgdisk', ['-n', '1:2048:+4M', '-n', '2:0:+6M', disk]);
    const info = runTool('sgdisk', ['-i', '2', disk]).toString();
    const first = Number(/First sector: (\d+)/.exec(info)![1]);
    const last = Number(/Last sector: (\d+)/.exec(info)![1]);
    const s = await serve([disk, '--partition', '2', '--port', '0']);
    const e = JSON.parse(runTool('nbdinfo', ['--json', s.uri]).toString()).exports[0];
    expect(e['export-size']).toBe((last - first + 1) * 512);
    const out = path.join(t.dir, 'p2.raw');
    runTool('nbdcopy', [s.uri, out]);
    expect(fs.readFileSync(out).equals(fs.readFileSync(disk).subarray(first * 512, (last + 1) * 512))).toBe(true);
    await s.stop();
    const r = spawnSync(process.execPath, [CLI, 'serve', disk, '--partition', '7', '--port', '0'], { encoding: 'utf8', timeout: 20_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('PARTITION_NOT_FOUND');
  });
});

describeWithTools(['nbdinfo', 'nbdcopy', 'xorriso'], 'guestkit serve --iso', () => {
  it('serves the same bytes mkiso writes; nbdinfo --map shows its zero runs; xorriso reads the copy', async () => {
    const t = tempDir('gk-nbd-iso-');
    try {
      const src = path.join(t.dir, 'src');
      fs.mkdirSync(path.join(src, 'sub'), { recursive: true });
      fs.writeFileSync(path.join(src, 'a.txt'), 'alpha\n');
      fs.writeFileSync(path.join(src, 'sub', 'b.bin'), Buffer.alloc(100_000, 7));
      fs.writeFileSync(path.join(src, 'sub', 'c.bin'), Buffer.alloc(3000, 9));
      const env = { SOURCE_DATE_EPOCH: '1600000000' };
      const written = path.join(t.dir, 'written.iso');
      const mk = spawnSync(process.execPath, [CLI, 'mkiso', src, '-o', written, '-V', 'SERVED'], { encoding: 'utf8', env: { ...process.env, ...env } });
      expect(mk.status, mk.stderr).toBe(0);
      const s = await serve(['--iso', src, '-V', 'SERVED', '--port', '0'], env);
      const copy = path.join(t.dir, 'copy.iso');
      runTool('nbdcopy', [s.uri, copy]);
      expect(fs.readFileSync(copy).equals(fs.readFileSync(written))).toBe(true);
      const map = runTool('nbdinfo', ['--map', s.uri]).toString().trim().split('\n').map((l) => l.trim().split(/\s+/));
      expect(map.some((m) => m[3] === 'data')).toBe(true);
      expect(map.some((m) => m[3] === 'zero')).toBe(true);
      let pos = 0;
      for (const [off, len] of map) {
        expect(Number(off)).toBe(pos);
        pos += Number(len);
      }
      expect(pos).toBe(fs.statSync(written).size);
      const found = runTool('xorriso', ['-indev', copy, '-find', '/']).toString();
      expect(found).toContain("'/sub/b.bin'");
      const info = JSON.parse(runTool('nbdinfo', ['--json', s.uri]).toString()).exports[0];
      expect(info.is_read_only).toBe(true);
      await s.stop();
    } finally {
      t.cleanup();
    }
  });
});
