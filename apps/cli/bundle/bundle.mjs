// Bundle the compiled CLI (dist/main.js and every workspace package it uses) into one CommonJS
// file, dist/guestkit.cjs. One file loads in one read and one compile, and the launcher
// (bin/guestkit) hands V8 a code cache for it: a cold `guestkit` start costs a few tens of ms
// instead of the ~250 ms of resolving and compiling a hundred ES modules. pino stays external
// (it is loaded only with --verbose/--debug and starts worker threads of its own).
import { build } from 'esbuild';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readFileSync, realpathSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

const here = dirname(fileURLToPath(import.meta.url));

/** lru-cache's browser ES build (package "exports" → "." → import → browser): the cache alone. */
function lruCachePlain() {
  const pkgDir = realpathSync(join(here, '..', '..', '..', 'packages', 'disk', 'node_modules', 'lru-cache'));
  const entry = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')).exports['.'].import.browser.default;
  return join(pkgDir, entry);
}
/**
 * Two edits to yargs' platform shim, each checked so that the build fails if yargs changes:
 * - it reads process.stdout.columns when it loads, which makes node build its stdout stream
 *   (loading its stream code, ~8 ms) in every run, even one that prints nothing. The value only
 *   matters for laying out help, so it becomes a getter, read when help is drawn.
 * - yargs looks for a package.json (its version guess) from `mainFilename`, which in a bundle
 *   falls back to the working directory: every start listed the working directory and each of its
 *   parents in full (a directory of 100 000 files made a start 200 ms slower). It starts from the
 *   bundle itself instead, and finds apps/cli/package.json next to it.
 */
const yargsShimEdits = [
  ["stdColumns: typeof process.stdout.columns !== 'undefined' ? process.stdout.columns : null",
    "get stdColumns() { return typeof process.stdout.columns !== 'undefined' ? process.stdout.columns : null; }"],
  ['mainFilename: mainFilename || process.cwd(),', 'mainFilename: __filename,'],
];
const lazyYargsShim = {
  name: 'lazy-yargs-shim',
  setup(b) {
    b.onLoad({ filter: /yargs[\\/]lib[\\/]platform-shims[\\/]esm\.mjs$/ }, (args) => {
      let src = readFileSync(args.path, 'utf8');
      for (const [from, to] of yargsShimEdits) {
        if (!src.includes(from)) throw new Error(`bundle: ${args.path} no longer contains "${from}"; update yargsShimEdits`);
        src = src.replace(from, to);
      }
      return { contents: src, loader: 'js' };
    });
  },
};

const dist = join(here, '..', 'dist');
const out = join(dist, 'guestkit.cjs');
rmSync(out + '.cache', { force: true });
await build({
  entryPoints: [join(dist, 'main.js')],
  outfile: out,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  external: ['pino'],
  inject: [join(here, 'import-meta.js')],
  // lru-cache reads the global `performance` (node then loads perf_hooks, ~4 ms) only to time
  // entries for TTLs, which guestkit's caches do not use; with it undefined it falls back to Date.
  define: { 'import.meta.url': 'importMetaUrl', performance: 'undefined' },
  alias: {
    'string-width': join(here, 'string-width.js'),
    assert: join(here, 'assert.js'),
    // lru-cache's node build loads node:diagnostics_channel for metrics nobody subscribes to
    // (~3 ms of start-up); its browser build is the same cache without them (and nothing else
    // in it is browser-specific).
    'lru-cache': lruCachePlain(),
  },
  // import() becomes require(): no real dynamic import is left for vm.Script to resolve (a code
  // cache drops the callback that would resolve it).
  supported: { 'dynamic-import': false },
  plugins: [lazyYargsShim],
  logLevel: 'warning',
  legalComments: 'none',
  // Whitespace and comments out, names kept (stack traces under --debug stay readable), and only
  // ASCII in the output: the launcher can then read it as Latin-1, which costs a fraction of
  // UTF-8 decoding (~1 ms instead of ~7 ms for the whole bundle), and the file is a third smaller.
  minifyWhitespace: true,
  minifySyntax: true,
  charset: 'ascii',
});
const text = readFileSync(out);
const wide = text.findIndex((b) => b > 0x7f);
if (wide >= 0) throw new Error(`bundle: ${out} has a non-ASCII byte at offset ${wide}; the launcher reads it as Latin-1`);

// The code cache, made after a training run of everyday commands (see train-cache.cjs).
// Trained with no node flags (NODE_OPTIONS dropped): the launcher reads this cache for runs
// without flags, and V8 rejects a cache made under other flags.
const trainEnv = { ...process.env };
delete trainEnv.NODE_OPTIONS;
spawnSync(process.execPath, [join(here, 'train-cache.cjs')], { stdio: ['ignore', 'ignore', 'inherit'], env: trainEnv });
