import type { FileSystem, Stat } from '@guestkit/disk';

/**
 * How the libguestfs appliance presents files, so `ll`, `statns` and friends print what guestfish
 * prints: ntfs-3g shows every NTFS file as mode 0777 owned by 0:0 with directories of one link;
 * the Linux vfat driver shows 0755 with directory link counts of 2 + subdirectories.
 */
export interface PosixView {
  mode: number;
  nlink: number;
  size: number;
  blocks: number;
  uid: 0;
  gid: 0;
}

const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;

export function posixView(fs: FileSystem, st: Stat, subdirCount?: () => number): PosixView {
  const isDir = st.type === 'directory';
  const isLink = st.type === 'symlink';
  const perm = fs.type === 'ntfs' ? 0o777 : 0o755;
  const mode = (isDir ? S_IFDIR : isLink ? S_IFLNK : S_IFREG) | perm;
  let nlink = st.links;
  let size = st.size;
  let blocks = Math.ceil(st.allocatedSize / 512);
  if (isDir) {
    if (fs.type === 'ntfs') {
      nlink = 1;
      // ntfs-3g reports the $I30 index allocation size; a small directory still shows one index block.
      size = Math.max(st.allocatedSize, 4096);
      blocks = Math.ceil(size / 512);
    } else {
      nlink = 2 + (subdirCount ? subdirCount() : 0);
      size = st.allocatedSize;
      blocks = Math.ceil(st.allocatedSize / 512);
    }
  }
  return { mode, nlink, size, blocks, uid: 0, gid: 0 };
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `ls -l` date column in the C locale, UTC: "Jan 15  2024" when older than six months or in the future, else "Jan 15 10:00". */
export function lsDate(d: Date, now = new Date()): string {
  const mon = MONTHS[d.getUTCMonth()] ?? '???';
  const day = String(d.getUTCDate()).padStart(2, ' ');
  const sixMonths = 182.5 * 24 * 3600 * 1000;
  const age = now.getTime() - d.getTime();
  if (age > sixMonths || age < -3600 * 1000) return `${mon} ${day}  ${d.getUTCFullYear()}`;
  return `${mon} ${day} ${String(d.getUTCHours()).padStart(2, '0')}:${String(d.getUTCMinutes()).padStart(2, '0')}`;
}

export function modeString(mode: number): string {
  const type = (mode & 0o170000) === S_IFDIR ? 'd' : (mode & 0o170000) === S_IFLNK ? 'l' : '-';
  const rwx = (bits: number) => (bits & 4 ? 'r' : '-') + (bits & 2 ? 'w' : '-') + (bits & 1 ? 'x' : '-');
  return type + rwx((mode >> 6) & 7) + rwx((mode >> 3) & 7) + rwx(mode & 7);
}

export interface LlRow {
  name: string;
  view: PosixView;
  mtime: Date;
  target?: string;
}

/** The text of `ls -la` for a directory (total line, aligned columns). */
export function formatLl(rows: LlRow[]): string {
  const total = Math.ceil(rows.reduce((a, r) => a + r.view.blocks, 0) / 2);
  const w = (f: (r: LlRow) => string) => Math.max(...rows.map((r) => f(r).length));
  const wl = w((r) => String(r.view.nlink));
  const ws = w((r) => String(r.view.size));
  let out = `total ${total}\n`;
  for (const r of rows) {
    out +=
      `${modeString(r.view.mode)} ${String(r.view.nlink).padStart(wl)} 0 0 ${String(r.view.size).padStart(ws)} ${lsDate(r.mtime)} ${r.name}` +
      (r.target !== undefined ? ` -> ${r.target}` : '') +
      '\n';
  }
  return out;
}

/** guestfish `statns` output. `dev` is the Linux device number of the mounted partition. */
export function formatStatns(st: Stat, view: PosixView, dev: number, ino: number): string {
  const secs = (d: Date) => Math.floor(d.getTime() / 1000);
  const nsec = (d: Date) => ((d.getTime() % 1000) + 1000) % 1000 * 1_000_000;
  const lines: [string, number][] = [
    ['st_dev', dev], ['st_ino', ino], ['st_mode', view.mode], ['st_nlink', view.nlink], ['st_uid', 0], ['st_gid', 0],
    ['st_rdev', 0], ['st_size', view.size], ['st_blksize', 4096], ['st_blocks', view.blocks],
    ['st_atime_sec', secs(st.atime)], ['st_atime_nsec', nsec(st.atime)],
    ['st_mtime_sec', secs(st.mtime)], ['st_mtime_nsec', nsec(st.mtime)],
    ['st_ctime_sec', secs(st.ctime)], ['st_ctime_nsec', nsec(st.ctime)],
    ['st_spare1', 0], ['st_spare2', 0], ['st_spare3', 0], ['st_spare4', 0], ['st_spare5', 0], ['st_spare6', 0],
  ];
  return lines.map(([k, v]) => `${k}: ${v}\n`).join('');
}

/** Linux device number of /dev/sdXN (sd major 8, 16 minors per disk). */
export function linuxDevNumber(device: string): number {
  const m = /^\/dev\/sd([a-z]+)(\d*)$/.exec(device);
  if (!m) return 0;
  let idx = 0;
  for (const c of m[1]!) idx = idx * 26 + (c.charCodeAt(0) - 96);
  idx -= 1;
  const part = m[2] ? Number(m[2]) : 0;
  return 8 * 256 + idx * 16 + part;
}

/** C-locale (byte order) comparison of names, as `ls` and guestfish's sort use. */
export function byteCompare(a: string, b: string): number {
  const ba = Buffer.from(a, 'utf8');
  const bb = Buffer.from(b, 'utf8');
  return Buffer.compare(ba, bb);
}

/** guestfish prints lists of structs as "[i] = {\n  field: value\n}". */
export function formatStructList(items: Record<string, string | number | bigint>[]): string {
  return items.map((it, i) => `[${i}] = {\n${Object.entries(it).map(([k, v]) => `  ${k}: ${v}\n`).join('')}}\n`).join('');
}
