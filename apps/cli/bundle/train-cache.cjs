// Build step: write the V8 code cache of dist/guestkit.cjs after a training run.
//
// V8 caches the bytecode of the functions that have been compiled when the cache is made. A cache
// made after `guestkit --version` holds little more than yargs, so the first real command of every
// later process compiles the disk, filesystem and hive code again (~20-30 ms per start). This script
// loads the bundle exactly as bin/guestkit does (same source text, same file name), runs the
// everyday read and write commands once over the committed sample guest, and saves the cache then.
//
// Output of the commands goes to /dev/null (bundle.mjs starts this script with stdout ignored).
// Any failure only costs speed: the script exits 0 without a cache, and bin/guestkit makes one
// after its first run.
'use strict';
const { copyFileSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } = require('node:fs');
const Module = require('node:module');
const { Script } = require('node:vm');
const { join } = require('node:path');
const { tmpdir } = require('node:os');

const dist = join(__dirname, '..', 'dist');
const bundle = join(dist, 'guestkit.cjs');
const guest = join(__dirname, '..', '..', '..', 'test', 'fixtures', 'guests', 'win11-uefi.qcow2');

async function main() {
  const source = readFileSync(bundle, 'latin1');
  const script = new Script(Module.wrap(source), { filename: bundle });
  const mod = { exports: {} };
  script.runInThisContext()(mod.exports, Module.createRequire(bundle), mod, bundle, dist);
  const run = mod.exports.run;

  const work = mkdtempSync(join(tmpdir(), 'guestkit-train-'));
  try {
    const copy = join(work, 'guest.qcow2');
    const hive = join(work, 'SOFTWARE');
    const payload = join(work, 'payload.bin');
    copyFileSync(guest, copy);
    writeFileSync(payload, Buffer.alloc(256 * 1024, 0x5a));
    const steps = [
      ['inspect', guest],
      ['fish', '-a', guest, '-i', 'ls', '/', ':', 'download', '/Windows/System32/config/SOFTWARE', hive],
      ['fish', '-a', guest, '-m', '/dev/sda1', 'find', '/', ':', 'cat', '/EFI/Microsoft/Boot/BCD'],
      ['hive', 'export', hive, '\\'],
      ['fish', '--rw', '-a', copy, '-m', '/dev/sda3', 'upload', payload, '/payload.bin', ':', 'download', '/payload.bin', '/dev/null'],
      ['fish', '--rw', '-a', copy, '-m', '/dev/sda1', 'upload', payload, '/payload.bin', ':', 'download', '/payload.bin', '/dev/null'],
    ];
    for (const argv of steps) {
      const code = await run(argv);
      process.exitCode = undefined;
      if (code !== 0) throw new Error(`training step failed (exit ${code}): guestkit ${argv.join(' ')}`);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const out = join(dist, 'guestkit.cjs.cache');
  const tmp = `${out}.${process.pid}`;
  writeFileSync(tmp, script.createCachedData());
  renameSync(tmp, out);
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`train-cache: no code cache made (${err instanceof Error ? err.message : String(err)}); bin/guestkit makes one on its first run\n`);
    process.exit(0);
  },
);
