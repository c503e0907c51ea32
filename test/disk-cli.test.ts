/**
 * `guestkit disk …` end to end: the built CLI (apps/cli/bin/guestkit) against qemu-img, sfdisk
 * and sgdisk; corrupt input gives one line on stderr and exit code 3.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { fixturePath, repoRoot, tempDir } from './support/shared.js';
import { itWithTools, runTool, runToolStatus } from './support/tools.js';
import { sfdiskTable } from './disk-oracles.js';

const BIN = join(repoRoot, 'apps/cli/bin/guestkit');

function gk(args: string[], cwd?: string): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', cwd, env: { ...process.env, GUESTKIT_LOG: '' } });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

let dir = '';
let cleanup = () => {};
beforeAll(() => {
  const t = tempDir('guestkit-disk-cli-');
  dir = t.dir;
  cleanup = t.cleanup;
  for (const area of ['qcow2', 'partitions']) {
    for (const f of readdirSync(fixturePath(area))) {
      if (f.endsWith('.gz')) writeFileSync(join(dir, f.slice(0, -3)), gunzipSync(readFileSync(fixturePath(area, f))));
    }
  }
});
afterAll(() => cleanup());
const p = (n: string) => join(dir, n);

describe('guestkit disk (built CLI)', () => {
  it('is built', () => expect(existsSync(join(repoRoot, 'apps/cli/dist/main.js'))).toBe(true));

  itWithTools(['qemu-img'], 'info --json: format, sizes, cluster size and backing chain agree with qemu-img info', () => {
    const r = gk(['disk', 'info', '--json', p('chain-top.qcow2')]);
    expect(r.status).toBe(0);
    const j = JSON.parse(r.stdout);
    const q = JSON.parse(runTool('qemu-img', ['info', '--output=json', '--backing-chain', p('chain-top.qcow2')]).toString());
    expect(j.format).toBe('qcow2');
    expect(j.virtualSize).toBe(q[0]['virtual-size']);
    expect(j.clusterSize).toBe(q[0]['cluster-size']);
    expect(j.backingFile).toBe(q[0]['backing-filename']);
    expect(j.backingFormat).toBe(q[0]['backing-filename-format']);
    expect(j.backingChain.map((b: { filename: string }) => b.filename)).toEqual(q.slice(1).map((x: { filename: string }) => x.filename.split('/').pop()));
    expect(j.qcow2).toMatchObject({ version: 3, compat: '1.1', refcountBits: 16 });
    expect(j.partitionTable.scheme).toBe('none');
    const text = gk(['disk', 'info', p('chain-top.qcow2')]);
    expect(text.stdout).toMatch(/^image: chain-top\.qcow2$/m);
    expect(text.stdout).toMatch(/^backing chain:$/m);
  });

  itWithTools(['sfdisk'], 'partitions --json agrees with sfdisk --json; text lists every partition', () => {
    for (const img of ['mbr-logical.img', 'gpt-names.img']) {
      const r = gk(['disk', 'partitions', '--json', p(img)]);
      expect(r.status).toBe(0);
      const j = JSON.parse(r.stdout);
      const s = sfdiskTable(p(img));
      expect(j.partitions.map((x: { number: number; startSector: number; sectors: number }) => [x.number, x.startSector, x.sectors])).toEqual(s.partitions.map((x) => [x.n, x.start, x.size]));
      const t = gk(['disk', 'partitions', p(img)]);
      for (const x of s.partitions) expect(t.stdout).toMatch(new RegExp(`^\\s+${x.n}\\s`, 'm'));
    }
    const g = gk(['disk', 'partitions', p('gpt-names.img')]).stdout;
    expect(g).toContain('Disk identifier (GUID): 3B1B2C49-0000-4000-8000-00000000D15C');
    expect(g).toContain('EFI system partition');
    expect(g).toContain('Données');
  });

  itWithTools(['qemu-img'], 'convert to raw and to compressed qcow2: qemu-img compare says identical, check finds no errors', () => {
    const raw = p('out.raw');
    let r = gk(['disk', 'convert', p('chain-top.qcow2'), raw]);
    expect(r.status).toBe(0);
    expect(runToolStatus('qemu-img', ['compare', '-f', 'qcow2', '-F', 'raw', p('chain-top.qcow2'), raw]).stdout).toContain('Images are identical');
    // sparse: far fewer blocks than the virtual size
    expect(statSync(raw).blocks * 512).toBeLessThan(statSync(raw).size);
    const qc = p('out.qcow2');
    r = gk(['disk', 'convert', '-O', 'qcow2', '-c', '--json', p('compressed-v2-4k.qcow2'), qc]);
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout).format).toBe('qcow2');
    expect(runToolStatus('qemu-img', ['compare', p('compressed-v2-4k.qcow2'), qc]).stdout).toContain('Images are identical');
    const chk = runToolStatus('qemu-img', ['check', qc]);
    expect(chk.status).toBe(0);
    expect(chk.stdout).toMatch(/[1-9][0-9.]*% compressed clusters/);
    // refuses to overwrite its source
    expect(gk(['disk', 'convert', raw, raw]).status).toBe(2);
  });

  itWithTools(['qemu-img'], 'create: sizes, cluster size, compat, backing overlay, raw', () => {
    let r = gk(['disk', 'create', p('new.qcow2'), '100M', '--cluster-size', '4k', '--compat', '0.10']);
    expect(r.status).toBe(0);
    let q = JSON.parse(runTool('qemu-img', ['info', '--output=json', p('new.qcow2')]).toString());
    expect([q['virtual-size'], q['cluster-size'], q['format-specific'].data.compat]).toEqual([100 * 1024 * 1024, 4096, '0.10']);
    expect(runToolStatus('qemu-img', ['check', p('new.qcow2')]).status).toBe(0);
    r = gk(['disk', 'create', 'overlay.qcow2', '-b', 'chain-base.qcow2'], dir);
    expect(r.status).toBe(0);
    q = JSON.parse(runTool('qemu-img', ['info', '--output=json', p('overlay.qcow2')]).toString());
    expect([q['virtual-size'], q['backing-filename'], q['backing-filename-format']]).toEqual([4 * 1024 * 1024, 'chain-base.qcow2', 'qcow2']);
    expect(runToolStatus('qemu-img', ['compare', p('overlay.qcow2'), p('chain-base.qcow2')]).stdout).toContain('Images are identical');
    r = gk(['disk', 'create', '-f', 'raw', p('new.raw'), '1G']);
    expect(r.status).toBe(0);
    expect(statSync(p('new.raw')).size).toBe(2 ** 30);
    expect(gk(['disk', 'create', p('x.qcow2')]).status).toBe(2); // no size, no backing
    expect(gk(['disk', 'create', p('x.qcow2'), '12Q']).status).toBe(2);
  });

  itWithTools(['qemu-img'], 'check: clean → 0 and the qemu-img wording; corrupted refcounts → 3 with qemu-img\'s counts', () => {
    const ok = gk(['disk', 'check', p('snapshot.qcow2')]);
    expect(ok.status).toBe(0);
    expect(ok.stdout).toContain('No errors were found on the image.');
    // Zero the refcount of cluster 0 (the header, always referenced): refcount too low = corruption.
    const b = new Uint8Array(readFileSync(p('v2.qcow2')));
    const u64 = (o: number) => b.subarray(o, o + 8).reduce((a, x) => (a << 8n) | BigInt(x), 0n);
    const block = Number(u64(Number(u64(48))) & 0x00fffffffffffe00n);
    b[block] = 0;
    b[block + 1] = 0;
    writeFileSync(p('damaged.qcow2'), b);
    const bad = gk(['disk', 'check', '--json', p('damaged.qcow2')]);
    expect(bad.status).toBe(3);
    const q = JSON.parse(runToolStatus('qemu-img', ['check', '--output=json', p('damaged.qcow2')]).stdout);
    expect(JSON.parse(bad.stdout).corruptions).toBe(q.corruptions);
  });

  it('corrupt or unsupported input: one line on stderr, exit 3; missing file: exit 1; bad usage: exit 2', () => {
    const b = new Uint8Array(readFileSync(p('v2.qcow2')));
    b[23] = 30; // cluster_bits = 30
    writeFileSync(p('bad-bits.qcow2'), b);
    // An image that names itself as its backing file.
    const loop = new Uint8Array(readFileSync(p('lazy.qcow2')));
    const name = Buffer.from('loop.qcow2');
    loop.set([0, 0, 0, 0, 0, 0, 0x80, 0], 8); // backing_file_offset = 0x8000
    loop.set([0, 0, 0, name.length], 16);
    loop.set(name, 0x8000);
    writeFileSync(p('loop.qcow2'), loop);
    for (const args of [['disk', 'info', p('loop.qcow2')], ['disk', 'info', p('bad-bits.qcow2')], ['disk', 'convert', p('bad-bits.qcow2'), p('o.raw')], ['disk', 'check', p('bad-bits.qcow2')], ['disk', 'partitions', p('aes.qcow2')], ['disk', 'info', p('zstd.qcow2')]]) {
      const r = gk(args);
      expect(r.status).toBe(3);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr.trim()).toMatch(/^guestkit: .*\[[A-Z0-9_]+\]$/);
    }
    expect(gk(['disk', 'info', p('bad-bits.qcow2')]).stderr).toContain('cluster_bits = 30');
    expect(existsSync(p('o.raw'))).toBe(false);
    expect(gk(['disk', 'info', p('does-not-exist.qcow2')]).status).toBe(1);
    expect(gk(['disk', 'info']).status).toBe(2);
    expect(gk(['disk', 'frobnicate', 'x']).status).toBe(2);
  });

  it('--help is a manual with examples', () => {
    for (const sub of ['info', 'partitions', 'convert', 'create', 'check']) {
      const r = gk(['disk', sub, '--help']);
      expect(r.status).toBe(0);
      expect(r.stdout).toContain('Examples:');
    }
  });
});
