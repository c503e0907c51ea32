import * as fs from 'node:fs';
import type { spawn as spawnType } from 'node:child_process';
import { basename, join as hostJoin } from 'node:path';
import { LimitError, NotFoundError, UsageError, UnsupportedError, ioError, type FileHandle, type FileSystem } from '@guestkit/disk';
import type { FishCommand } from './registry.js';
import type { FishSession, Resolved } from './session.js';
import { TarParser, TarWriter } from './tar.js';
import { downloadTo, readGuestFile, uploadFrom } from './file-io.js';
import { byteCompare } from './format.js';
import { join } from './paths.js';

/** Bulk transfer (copy-in/out, tar-in/out) and session commands (run, inspect-os). */
const MAX_DEPTH = 256;


/** guestfish optional arguments come as "name:value" words. */
function optArgs(words: string[], allowed: string[], cmd: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const w of words) {
    const i = w.indexOf(':');
    const k = i > 0 ? w.slice(0, i) : '';
    if (!allowed.includes(k)) throw new UsageError('FISH_BAD_OPTARG', `${cmd}: unknown optional argument ${JSON.stringify(w)} (allowed: ${allowed.map((a) => a + ':…').join(' ')})`);
    out[k] = w.slice(i + 1);
  }
  return out;
}

function visibleEntries(gfs: FileSystem, path: string) {
  return gfs.readdir(path).filter((e) => !(gfs.type === 'ntfs' && e.inode < 16)).sort((a, b) => byteCompare(a.name, b.name));
}

function requireDir(r: Resolved, what: string, cmd: string): void {
  const st = r.fs.tryStat(r.path);
  if (!st) throw new NotFoundError('NOT_FOUND', `${cmd}: ${what}: no such directory`);
  if (st.type !== 'directory') throw new UsageError('NOT_A_DIRECTORY', `${cmd}: ${what}: not a directory`);
}

/** Copy a host file or directory tree into guest directory `dir`. */
function copyIn(s: FishSession, local: string, r: Resolved, depth: number): void {
  if (depth > MAX_DEPTH) throw new LimitError('COPY_TOO_DEEP', `copy-in: ${local}: nested deeper than ${MAX_DEPTH}`);
  let st: fs.Stats;
  try {
    st = fs.lstatSync(local);
  } catch (e) {
    throw ioError(`copy-in: ${local}`, e);
  }
  const target = join(r.path, basename(local));
  if (st.isDirectory()) {
    if (!r.fs.tryStat(target)) r.fs.mkdir(target);
    for (const name of fs.readdirSync(local).sort()) copyIn(s, hostJoin(local, name), { ...r, path: target }, depth + 1);
  } else if (st.isFile()) {
    uploadFrom(r.fs, local, target, s.progress);
  } else {
    process.stderr.write(`guestkit: fish: copy-in: ${local}: skipped (not a regular file or directory)\n`);
  }
}

/** Copy a guest file or directory tree into host directory `dir`. */
function copyOut(s: FishSession, gfs: FileSystem, path: string, localDir: string, depth: number): void {
  if (depth > MAX_DEPTH) throw new LimitError('COPY_TOO_DEEP', `copy-out: ${path}: nested deeper than ${MAX_DEPTH}`);
  const st = gfs.stat(path);
  const name = path === '/' ? '' : path.slice(path.lastIndexOf('/') + 1);
  const dest = name ? hostJoin(localDir, name) : localDir;
  if (st.type === 'directory') {
    try {
      fs.mkdirSync(dest, { recursive: true });
    } catch (e) {
      throw ioError(`copy-out: cannot create ${dest}`, e);
    }
    for (const e of visibleEntries(gfs, path)) copyOut(s, gfs, join(path, e.name), dest, depth + 1);
  } else if (st.type === 'file') {
    downloadTo(gfs, path, dest, s.progress, () => {});
  }
}

/** External decompressors for formats node:zlib does not speak. */
const DECOMPRESSORS: Record<string, string[]> = { bzip2: ['bzip2', '-dc'], xz: ['xz', '-dc'], lzop: ['lzop', '-dc'], zstd: ['zstd', '-dc'] };
const COMPRESSORS: Record<string, string[]> = { bzip2: ['bzip2', '-c'], xz: ['xz', '-c'], lzop: ['lzop', '-c'], zstd: ['zstd', '-c', '-q'] };

/** The tar stream of a local file (or stdin), decompressed as asked or as its magic says. */
async function* tarInput(local: string, compress: string | undefined): AsyncGenerator<Uint8Array> {
  const { spawn } = await import('node:child_process');
  const { createGunzip } = await import('node:zlib');
  let kind = compress;
  if (kind === undefined && local !== '-') {
    const fd = fs.openSync(local, 'r');
    const m = Buffer.alloc(4);
    fs.readSync(fd, m, 0, 4, 0);
    fs.closeSync(fd);
    kind = m[0] === 0x1f && m[1] === 0x8b ? 'gzip' : m.toString('latin1', 0, 3) === 'BZh' ? 'bzip2' : m[0] === 0xfd && m.toString('latin1', 1, 4) === '7zX' ? 'xz' : m[0] === 0x28 && m[1] === 0xb5 && m[2] === 0x2f && m[3] === 0xfd ? 'zstd' : undefined;
  }
  const input = local === '-' ? process.stdin : fs.createReadStream(local);
  if (!kind || kind === 'none') {
    yield* input as AsyncIterable<Uint8Array>;
  } else if (kind === 'gzip') {
    yield* input.pipe(createGunzip()) as AsyncIterable<Uint8Array>;
  } else if (DECOMPRESSORS[kind]) {
    const [cmd, ...args] = DECOMPRESSORS[kind]!;
    const child = spawn(cmd!, args, { stdio: ['pipe', 'pipe', 'inherit'] });
    child.on('error', () => {});
    input.pipe(child.stdin);
    yield* child.stdout as AsyncIterable<Uint8Array>;
  } else throw new UnsupportedError('FISH_COMPRESS', `tar-in: unknown compression ${kind} (gzip, bzip2, xz, lzop, zstd)`);
}

function safeTarName(name: string): string | undefined {
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.some((p) => p === '..')) return undefined;
  return parts.join('/');
}

export const bulkCommands: FishCommand[] = [
  {
    name: 'run',
    aliases: ['launch'],
    synopsis: 'run',
    description: 'Start the session (a no-op here: there is no appliance to boot; kept so guestfish scripts run unchanged).',
    minArgs: 0, maxArgs: 0,
    run: () => {},
  },
  {
    name: 'inspect-os',
    synopsis: 'inspect-os',
    description: 'Find operating systems on the disks and print their root devices.',
    minArgs: 0, maxArgs: 0,
    run: (s) => {
      try {
        s.out(s.inspectOs().root + '\n');
      } catch (e) {
        if (e instanceof NotFoundError) return;
        throw e;
      }
    },
  },
  {
    name: 'copy-in',
    synopsis: 'copy-in localpath… remotedir',
    description: 'Copy local files or directories (recursively) into a guest directory, which must exist.',
    minArgs: 2, maxArgs: Infinity, write: true,
    run: (s, args) => {
      const remote = args[args.length - 1]!;
      const r = s.resolveWrite(remote, 'copy-in');
      requireDir(r, remote, 'copy-in');
      for (const local of args.slice(0, -1)) copyIn(s, local, r, 0);
    },
  },
  {
    name: 'copy-out',
    synopsis: 'copy-out remotepath… localdir',
    description: 'Copy guest files or directories (recursively) into a local directory, which must exist.',
    minArgs: 2, maxArgs: Infinity,
    run: (s, args) => {
      const local = args[args.length - 1]!;
      if (!fs.existsSync(local) || !fs.statSync(local).isDirectory()) throw new NotFoundError('NOT_FOUND', `copy-out: ${local}: no such local directory`);
      for (const remote of args.slice(0, -1)) {
        const r = s.resolve(remote, 'copy-out');
        copyOut(s, r.fs, r.path, local, 0);
      }
    },
  },
  {
    name: 'tar-out',
    synopsis: 'tar-out directory (tarfile|-) [compress:gzip|bzip2|xz|zstd] [excludes:PATTERN,…]',
    description: 'Pack a guest directory into a tar file ("-" for stdout), entries named "./path" like guestfish.',
    minArgs: 2, maxArgs: 4,
    run: async (s, [dir, local, ...rest]) => {
      const o = optArgs(rest, ['compress', 'excludes', 'numericowner', 'xattrs', 'selinux', 'acls'], 'tar-out');
      const { spawn } = await import('node:child_process');
      const { gzipSync } = await import('node:zlib');
      const r = s.resolve(dir!, 'tar-out');
      requireDir(r, dir!, 'tar-out');
      const excludes = (o.excludes ?? '').split(',').filter(Boolean).map(globToRegExp);
      const chunks: Uint8Array[] = [];
      let pendingBytes = 0;
      let fd: number | undefined;
      let child: ReturnType<typeof spawnType> | undefined;
      const compress = o.compress && o.compress !== 'none' ? o.compress : undefined;
      if (compress && compress !== 'gzip' && !COMPRESSORS[compress]) throw new UnsupportedError('FISH_COMPRESS', `tar-out: unknown compression ${compress}`);
      const out = local === '-' ? 1 : (fd = fs.openSync(local!, 'w'));
      if (compress && COMPRESSORS[compress]) {
        const [cmd, ...args] = COMPRESSORS[compress]!;
        child = spawn(cmd!, args, { stdio: ['pipe', out, 'inherit'] });
      }
      const flush = () => {
        if (chunks.length === 0) return;
        const all = Buffer.concat(chunks);
        chunks.length = 0;
        pendingBytes = 0;
        if (child) child.stdin!.write(all);
        else fs.writeSync(out, compress === 'gzip' ? gzipSync(all) : all);
      };
      const w = new TarWriter((b) => {
        chunks.push(b.slice());
        pendingBytes += b.length;
        if (pendingBytes >= 4 << 20) flush();
      });
      const walk = (inner: string, rel: string, depth: number) => {
        if (depth > MAX_DEPTH) throw new LimitError('TAR_TOO_DEEP', `tar-out: nested deeper than ${MAX_DEPTH}`);
        for (const e of visibleEntries(r.fs, inner)) {
          const name = rel ? `${rel}/${e.name}` : e.name;
          if (excludes.some((re) => re.test(name) || re.test(e.name))) continue;
          const p = join(inner, e.name);
          const st = r.fs.stat(p);
          if (st.type === 'directory') {
            w.dir('./' + name, st.mtime);
            walk(p, name, depth + 1);
          } else if (st.type === 'symlink') {
            w.symlink('./' + name, st.target ?? '', st.mtime);
          } else {
            w.file('./' + name, st.size, st.mtime);
            readGuestFile(r.fs, p, (c) => w.data(c.slice()));
            w.endFile(st.size);
          }
        }
      };
      try {
        w.dir('./', r.fs.stat(r.path).mtime);
        walk(r.path, '', 0);
        w.end();
        flush();
      } finally {
        if (child) {
          child.stdin!.end();
          await new Promise<void>((res, rej) => child!.on('close', (code) => (code === 0 ? res() : rej(new UnsupportedError('FISH_COMPRESS', `tar-out: ${compress} exited with ${code}`)))));
        }
        if (fd !== undefined) fs.closeSync(fd);
      }
    },
  },
  {
    name: 'tar-in',
    synopsis: 'tar-in (tarfile|-) directory [compress:gzip|bzip2|xz|zstd|none]',
    description: 'Unpack a tar file ("-" for stdin) into a guest directory, which must exist. Compression is detected from the file when not given. Names with ".." are refused; symbolic links are skipped with a warning.',
    minArgs: 2, maxArgs: 6, write: true,
    run: async (s, [local, dir, ...rest]) => {
      const o = optArgs(rest, ['compress', 'xattrs', 'selinux', 'acls'], 'tar-in');
      const r = s.resolveWrite(dir!, 'tar-in');
      requireDir(r, dir!, 'tar-in');
      let handle: FileHandle | undefined;
      let offset = 0;
      const mkdirP = (rel: string) => {
        let cur = r.path;
        for (const c of rel.split('/').filter(Boolean)) {
          cur = join(cur, c);
          const st = r.fs.tryStat(cur);
          if (!st) r.fs.mkdir(cur);
          else if (st.type !== 'directory') throw new UsageError('NOT_A_DIRECTORY', `tar-in: ${cur} exists and is not a directory`);
        }
      };
      const parser = new TarParser({
        entry: (e) => {
          const name = safeTarName(e.name);
          if (name === undefined) throw new UsageError('TAR_UNSAFE_NAME', `tar-in: refusing entry ${JSON.stringify(e.name)} (".." in its path)`);
          if (name === '') return;
          if (e.type === 'directory') mkdirP(name);
          else if (e.type === 'file') {
            const slash = name.lastIndexOf('/');
            if (slash > 0) mkdirP(name.slice(0, slash));
            handle = r.fs.open(join(r.path, name), { create: true, truncate: true });
            if (e.size > 0) handle.truncate(e.size);
            offset = 0;
          } else process.stderr.write(`guestkit: fish: tar-in: ${e.name}: ${e.type} entries are not supported, skipped\n`);
        },
        data: (c) => {
          if (handle) {
            handle.writeAt(offset, c);
            offset += c.length;
          }
        },
        endEntry: () => {
          handle?.close();
          handle = undefined;
        },
      });
      try {
        for await (const chunk of tarInput(local!, o.compress)) {
          parser.push(chunk);
          if (parser.done) break;
        }
        parser.end();
      } catch (e) {
        if (e instanceof Error && 'code' in e && typeof (e as { code: unknown }).code === 'string' && (e as { code: string }).code.startsWith('E')) throw ioError(`tar-in: ${local}`, e);
        throw e;
      } finally {
        handle?.close();
      }
    },
  },
];

function globToRegExp(glob: string): RegExp {
  const re = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]');
  return new RegExp(`^(?:\\./)?${re}$`);
}
