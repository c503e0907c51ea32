import { ExistsError, LimitError, NotFoundError, UsageError, type FileSystem } from '@guestkit/disk';
import type { FishCommand } from './registry.js';
import type { FishSession, Resolved } from './session.js';
import { uploadFrom, readGuestFile } from './file-io.js';
import { baseOf, join, parentOf } from './paths.js';


const enc = new TextEncoder();
const RM_MAX_DEPTH = 256;

function removeTree(fs: FileSystem, path: string, depth: number): void {
  if (depth > RM_MAX_DEPTH) throw new LimitError('RM_TOO_DEEP', `rm-rf: directories nested deeper than ${RM_MAX_DEPTH} at ${path}`);
  const st = fs.stat(path);
  if (st.type === 'directory') {
    for (const e of fs.readdir(path)) removeTree(fs, join(path, e.name), depth + 1);
    fs.rmdir(path);
  } else fs.unlink(path);
}

/** Copy a file between (possibly different) filesystems in large blocks. */
function copyFile(src: Resolved, dst: Resolved): void {
  const h = dst.fs.open(dst.path, { create: true, truncate: true });
  try {
    let off = 0;
    readGuestFile(src.fs, src.path, (c) => {
      h.writeAt(off, c);
      off += c.length;
    });
  } finally {
    h.close();
  }
}

/** When the destination is an existing directory, the source goes inside it (like mv/cp). */
function intoDir(s: FishSession, src: string, dst: string, cmd: string): Resolved {
  const d = s.resolveWrite(dst, cmd);
  const st = d.fs.tryStat(d.path);
  if (st?.type === 'directory') return { ...d, path: join(d.path, baseOf(s.resolve(src, cmd).path)) };
  return d;
}

export const writeCommands: FishCommand[] = [
  {
    name: 'upload',
    synopsis: 'upload (filename|-) remotefilename',
    description: 'Copy a local file ("-" for stdin) into the guest, creating or replacing the remote file. A progress bar shows on a terminal.',
    minArgs: 2, maxArgs: 2, write: true,
    run: (s, [local, remote]) => {
      const r = s.resolveWrite(remote!, 'upload');
      uploadFrom(r.fs, local!, r.path, s.progress);
    },
  },
  {
    name: 'write',
    synopsis: 'write path content',
    description: 'Create or replace a file with the given content (use "\\n" inside double quotes for newlines).',
    minArgs: 2, maxArgs: 2, write: true,
    run: (s, [path, content]) => {
      const r = s.resolveWrite(path!, 'write');
      r.fs.writeFile(r.path, enc.encode(content!));
    },
  },
  {
    name: 'write-append',
    synopsis: 'write-append path content',
    description: 'Append content to a file (creating it if missing).',
    minArgs: 2, maxArgs: 2, write: true,
    run: (s, [path, content]) => {
      const r = s.resolveWrite(path!, 'write-append');
      const h = r.fs.open(r.path, { create: true });
      try {
        h.writeAt(h.size, enc.encode(content!));
      } finally {
        h.close();
      }
    },
  },
  {
    name: 'touch',
    synopsis: 'touch path',
    description: 'Create an empty file if it does not exist; otherwise set its modification time to now.',
    minArgs: 1, maxArgs: 1, write: true,
    run: (s, [path]) => {
      const r = s.resolveWrite(path!, 'touch');
      const st = r.fs.tryStat(r.path);
      if (!st) r.fs.writeFile(r.path, new Uint8Array(0));
      else if (r.fs.utimes) r.fs.utimes(r.path, { mtime: new Date(), atime: new Date() });
    },
  },
  {
    name: 'mkdir',
    synopsis: 'mkdir path',
    description: 'Create a directory (the parent must exist).',
    minArgs: 1, maxArgs: 1, write: true,
    run: (s, [path]) => {
      const r = s.resolveWrite(path!, 'mkdir');
      r.fs.mkdir(r.path);
    },
  },
  {
    name: 'mkdir-p',
    synopsis: 'mkdir-p path',
    description: 'Create a directory and any missing parents; no error if it exists.',
    minArgs: 1, maxArgs: 1, write: true,
    run: (s, [path]) => {
      const r = s.resolveWrite(path!, 'mkdir-p');
      let cur = '';
      for (const c of r.path.split('/').filter(Boolean)) {
        cur += '/' + c;
        const st = r.fs.tryStat(cur);
        if (!st) r.fs.mkdir(cur);
        else if (st.type !== 'directory') throw new ExistsError('NOT_A_DIRECTORY', `mkdir-p: ${cur}: exists and is not a directory`);
      }
    },
  },
  {
    name: 'rm',
    synopsis: 'rm path',
    description: 'Remove a file.',
    minArgs: 1, maxArgs: 1, write: true,
    run: (s, [path]) => {
      const r = s.resolveWrite(path!, 'rm');
      if (r.fs.stat(r.path).type === 'directory') throw new UsageError('IS_A_DIRECTORY', `rm: ${path}: is a directory (use rmdir or rm-rf)`);
      r.fs.unlink(r.path);
    },
  },
  {
    name: 'rm-f',
    synopsis: 'rm-f path',
    description: 'Remove a file; no error if it does not exist.',
    minArgs: 1, maxArgs: 1, write: true,
    run: (s, [path]) => {
      const r = s.resolveWrite(path!, 'rm-f');
      const st = r.fs.tryStat(r.path);
      if (!st) return;
      if (st.type === 'directory') throw new UsageError('IS_A_DIRECTORY', `rm-f: ${path}: is a directory`);
      r.fs.unlink(r.path);
    },
  },
  {
    name: 'rm-rf',
    synopsis: 'rm-rf path',
    description: 'Remove a file or a directory and everything in it; no error if it does not exist.',
    minArgs: 1, maxArgs: 1, write: true,
    run: (s, [path]) => {
      const r = s.resolveWrite(path!, 'rm-rf');
      if (r.path === '/') throw new UsageError('FISH_RM_ROOT', 'rm-rf: refusing to remove the root of a filesystem');
      if (!r.fs.tryStat(r.path)) return;
      removeTree(r.fs, r.path, 0);
    },
  },
  {
    name: 'rmdir',
    synopsis: 'rmdir path',
    description: 'Remove an empty directory.',
    minArgs: 1, maxArgs: 1, write: true,
    run: (s, [path]) => {
      const r = s.resolveWrite(path!, 'rmdir');
      r.fs.rmdir(r.path);
    },
  },
  {
    name: 'mv',
    synopsis: 'mv src dest',
    description: 'Rename or move a file or directory; into dest when dest is an existing directory. Across filesystems a file is copied then removed.',
    minArgs: 2, maxArgs: 2, write: true,
    run: (s, [src, dst]) => {
      const a = s.resolveWrite(src!, 'mv');
      const b = intoDir(s, src!, dst!, 'mv');
      if (a.fs === b.fs) {
        a.fs.rename(a.path, b.path);
        return;
      }
      if (a.fs.stat(a.path).type === 'directory') throw new UsageError('FISH_MV_ACROSS', 'mv: moving a directory across filesystems is not supported');
      copyFile(a, b);
      a.fs.unlink(a.path);
    },
  },
  {
    name: 'cp',
    synopsis: 'cp src dest',
    description: 'Copy a file (into dest when dest is an existing directory).',
    minArgs: 2, maxArgs: 2, write: true,
    run: (s, [src, dst]) => {
      const a = s.resolve(src!, 'cp');
      if (a.fs.stat(a.path).type === 'directory') throw new UsageError('IS_A_DIRECTORY', `cp: ${src}: is a directory`);
      const b = intoDir(s, src!, dst!, 'cp');
      if (!b.fs.tryStat(parentOf(b.path))) throw new NotFoundError('NOT_FOUND', `cp: ${dst}: parent directory does not exist`);
      copyFile(a, b);
    },
  },
];
