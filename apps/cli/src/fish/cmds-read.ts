import { LimitError, UsageError, type DirEntry, type FileSystem, type Stat } from '@guestkit/disk';
import type { FishCommand } from './registry.js';
import type { FishSession } from './session.js';
import { byteCompare, formatStructList, formatLl, formatStatns, linuxDevNumber, posixView, type LlRow } from './format.js';
import { downloadTo, readGuestFile } from './file-io.js';
import { Progress } from '../progress.js';
import { describeFile, tryPe } from './file-type.js';
import { join, parentOf } from './paths.js';

/** ntfs-3g hides the NTFS system files (MFT records 0–15: $MFT, $Bitmap, …) from directory listings. */
function visible(fs: FileSystem, e: DirEntry): boolean {
  return !(fs.type === 'ntfs' && e.inode < 16);
}

function listNames(fs: FileSystem, path: string): DirEntry[] {
  return fs.readdir(path).filter((e) => visible(fs, e)).sort((a, b) => byteCompare(a.name, b.name));
}



function subdirs(fs: FileSystem, path: string): number {
  return fs.readdir(path).filter((e) => e.type === 'directory').length;
}

function row(fs: FileSystem, name: string, path: string, st: Stat): LlRow {
  const r: LlRow = { name, view: posixView(fs, st, () => subdirs(fs, path)), mtime: st.mtime };
  if (st.type === 'symlink' && st.target !== undefined) r.target = st.target;
  return r;
}

/** Hashes guestfish's `checksum` knows. */
const HASHES: Record<string, string> = { md5: 'md5', sha1: 'sha1', sha224: 'sha224', sha256: 'sha256', sha384: 'sha384', sha512: 'sha512' };

/** Upper bound on entries `find` visits, and on directory depth (loop safety). */
const FIND_MAX_ENTRIES = 10_000_000;
const FIND_MAX_DEPTH = 256;

export const readCommands: FishCommand[] = [
  {
    name: 'ls',
    synopsis: 'ls directory',
    description: 'List the names in a directory, sorted, without "." and "..".',
    minArgs: 1, maxArgs: 1,
    run: (s, [dir]) => {
      const r = s.resolve(dir!, 'ls');
      s.out(listNames(r.fs, r.path).map((e) => e.name + '\n').join(''));
    },
  },
  {
    name: 'll',
    synopsis: 'll directory',
    description: 'Long listing of a directory, like `ls -la` in the libguestfs appliance (ntfs-3g / vfat modes and owners).',
    minArgs: 1, maxArgs: 1,
    run: (s, [dir]) => {
      const r = s.resolve(dir!, 'll');
      const fs = r.fs;
      const rows: LlRow[] = [row(fs, '.', r.path, fs.stat(r.path)), row(fs, '..', parentOf(r.path), fs.stat(parentOf(r.path)))];
      for (const e of listNames(fs, r.path)) {
        const p = join(r.path, e.name);
        rows.push(row(fs, e.name, p, fs.stat(p)));
      }
      s.out(formatLl(rows) + '\n');
    },
  },
  {
    name: 'cat',
    synopsis: 'cat path',
    description: 'Print a file\'s contents, followed by a newline as guestfish prints every string result (use download PATH - for the exact bytes).',
    minArgs: 1, maxArgs: 1,
    run: (s, [path]) => {
      const r = s.resolve(path!, 'cat');
      readGuestFile(r.fs, r.path, (c) => s.outBytes(c.slice()));
      s.out('\n');
    },
  },
  {
    name: 'download',
    synopsis: 'download remotefilename (filename|-)',
    description: 'Copy a guest file to a local file ("-" for stdout). A progress bar shows on a terminal.',
    minArgs: 2, maxArgs: 2,
    run: (s, [remote, local]) => {
      const r = s.resolve(remote!, 'download');
      downloadTo(r.fs, r.path, local!, s.progress, (b) => s.outBytes(b));
    },
  },
  {
    name: 'find',
    synopsis: 'find directory',
    description: 'List every file and directory below a directory, recursively, as paths relative to it, sorted.',
    minArgs: 1, maxArgs: 1,
    run: (s, [dir]) => {
      const r = s.resolve(dir!, 'find');
      if (r.fs.stat(r.path).type !== 'directory') throw new UsageError('NOT_A_DIRECTORY', `find: ${dir}: not a directory`);
      const found: string[] = [];
      // guestfish strips the directory name as given: "find /Users" prints "/alice", "find /" prints "alice".
      const strip = dir!.endsWith('/') ? dir!.length : dir!.length + 1;
      const walk = (inner: string, shown: string, depth: number) => {
        if (depth > FIND_MAX_DEPTH) throw new LimitError('FIND_TOO_DEEP', `find: directories nested deeper than ${FIND_MAX_DEPTH} below ${dir}`);
        for (const e of listNames(r.fs, inner)) {
          const sp = join(shown, e.name);
          found.push(sp);
          if (found.length > FIND_MAX_ENTRIES) throw new LimitError('FIND_TOO_MANY', `find: more than ${FIND_MAX_ENTRIES} entries below ${dir}`);
          if (e.type === 'directory') walk(join(inner, e.name), sp, depth + 1);
        }
      };
      const shownRoot = dir!.endsWith('/') && dir!.length > 1 ? dir!.slice(0, -1) : dir!;
      walk(r.path, shownRoot, 0);
      found.sort(byteCompare);
      s.out(found.map((p) => (dir === '/' ? p.slice(1) : p.slice(strip - 1)) + '\n').join(''));
    },
  },
  {
    name: 'statns',
    aliases: ['lstatns', 'stat', 'lstat'],
    synopsis: 'statns path',
    description: 'Show file information (st_* fields with nanosecond times) as the appliance sees it; st_ino is the NTFS MFT record number.',
    minArgs: 1, maxArgs: 1,
    run: (s, [path]) => {
      const r = s.resolve(path!, 'statns');
      const st = r.fs.stat(r.path);
      s.out(formatStatns(st, posixView(r.fs, st, () => subdirs(r.fs, r.path)), linuxDevNumber(r.mount.device), st.inode));
    },
  },
  {
    name: 'filesize',
    synopsis: 'filesize file',
    description: 'Print the size of a file in bytes.',
    minArgs: 1, maxArgs: 1,
    run: (s, [path]) => {
      const r = s.resolve(path!, 'filesize');
      s.out(`${r.fs.stat(r.path).size}\n`);
    },
  },
  {
    name: 'checksum',
    synopsis: 'checksum csumtype path',
    description: 'Print a checksum of a file: md5, sha1, sha224, sha256, sha384 or sha512.',
    minArgs: 2, maxArgs: 2,
    run: async (s, [type, path]) => {
      const { createHash } = await import('node:crypto');
      const algo = HASHES[type!.toLowerCase()];
      if (!algo) throw new UsageError('FISH_BAD_CHECKSUM', `checksum: unknown checksum type ${type} (use md5, sha1, sha224, sha256, sha384, sha512)`);
      const r = s.resolve(path!, 'checksum');
      const h = createHash(algo);
      readGuestFile(r.fs, r.path, (c) => h.update(c), new Progress(`checksum ${path}`, r.fs.stat(r.path).size, s.progress));
      s.out(h.digest('hex') + '\n');
    },
  },
  {
    name: 'exists',
    synopsis: 'exists path',
    description: 'Print true if the path exists.',
    minArgs: 1, maxArgs: 1,
    run: (s, [path]) => {
      const r = s.resolve(path!, 'exists');
      s.out(`${r.fs.tryStat(r.path) !== undefined}\n`);
    },
  },
  {
    name: 'is-file',
    synopsis: 'is-file path',
    description: 'Print true if the path is a regular file.',
    minArgs: 1, maxArgs: 1,
    run: (s, [path]) => {
      const r = s.resolve(path!, 'is-file');
      s.out(`${r.fs.tryStat(r.path)?.type === 'file'}\n`);
    },
  },
  {
    name: 'is-dir',
    synopsis: 'is-dir path',
    description: 'Print true if the path is a directory.',
    minArgs: 1, maxArgs: 1,
    run: (s, [path]) => {
      const r = s.resolve(path!, 'is-dir');
      s.out(`${r.fs.tryStat(r.path)?.type === 'directory'}\n`);
    },
  },
  {
    name: 'case-sensitive-path',
    synopsis: 'case-sensitive-path path',
    description: 'Return the path with each component in its on-disk case (Windows paths are case-insensitive). The last component may be missing.',
    minArgs: 1, maxArgs: 1,
    run: (s, [path]) => {
      const r = s.resolve(path!, 'case-sensitive-path');
      let real = r.fs.resolveCase(r.path);
      if (real === undefined) {
        const parent = r.fs.resolveCase(parentOf(r.path));
        if (parent === undefined) throw new UsageError('NOT_FOUND', `case-sensitive-path: ${path}: no such file or directory`);
        real = join(parent, r.path.slice(r.path.lastIndexOf('/') + 1));
      }
      const mp = r.mount.mountpoint === '/' ? '' : r.mount.mountpoint;
      s.out((mp + real || '/') + '\n');
    },
  },
  {
    name: 'file',
    synopsis: 'file path',
    description: 'Say what kind of file this is, in file(1)\'s words: PE executables with machine and subsystem, registry hives, text, data, directory.',
    minArgs: 1, maxArgs: 1,
    run: (s, [path]) => {
      const r = s.resolve(path!, 'file');
      const st = r.fs.stat(r.path);
      if (st.type === 'directory') return s.out('directory\n');
      if (st.type === 'symlink') return s.out(`symbolic link to ${st.target ?? ''}\n`);
      s.out(describeFile(headOf(r.fs, r.path, st.size), st.size) + '\n');
    },
  },
  {
    name: 'file-architecture',
    synopsis: 'file-architecture filename',
    description: 'Print the architecture of a Windows executable from its PE header: i386, x86_64, aarch64 (unlike libguestfs, which reports ARM64 binaries as x86_64).',
    minArgs: 1, maxArgs: 1,
    run: (s, [path]) => {
      const r = s.resolve(path!, 'file-architecture');
      const size = r.fs.stat(r.path).size;
      const arch = tryPe(headOf(r.fs, r.path, size))?.arch;
      if (!arch) throw new UsageError('FISH_UNKNOWN_ARCH', `file-architecture: ${path}: unknown architecture (not a PE executable of a known machine)`);
      s.out(arch + '\n');
    },
  },
  {
    name: 'lgetxattrs',
    aliases: ['getxattrs'],
    synopsis: 'lgetxattrs path',
    description: 'List extended attributes as ntfs-3g shows them: each NTFS alternate data stream as "user.NAME" with its bytes (non-printable bytes as \\xNN).',
    minArgs: 1, maxArgs: 1,
    run: (s, [path]) => {
      const r = s.resolve(path!, 'lgetxattrs');
      const st = r.fs.stat(r.path);
      const items = (st.streams ?? []).map((name) => ({
        attrname: `user.${name}`,
        attrval: escapeBytes(r.fs.readFile(`${r.path}:${name}`, { maxBytes: 64 << 20 })),
      }));
      s.out(formatStructList(items));
    },
  },
  {
    name: 'echo',
    synopsis: 'echo [params…]',
    description: 'Print the parameters.',
    minArgs: 0, maxArgs: Infinity,
    run: (s, args) => s.out(args.join(' ') + '\n'),
  },
];

/** guestfish prints buffers with printable ASCII as is and everything else as \xNN. */
function escapeBytes(b: Uint8Array): string {
  let out = '';
  for (const c of b) out += c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : '\\x' + c.toString(16).padStart(2, '0');
  return out;
}

/** The first 64 KiB of a file (enough for PE headers and text sniffing). */
function headOf(fs: FileSystem, path: string, size: number): Uint8Array {
  const h = fs.open(path);
  try {
    const b = new Uint8Array(Math.min(size, 65536));
    h.readAt(0, b);
    return b;
  } finally {
    h.close();
  }
}
