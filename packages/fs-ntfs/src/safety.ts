import { ByteView, GuestError } from '@guestkit/disk/binary';
import { AttrType, SystemFile, VolumeFlags } from './layout/mft-record.js';
import { postReadFixup } from './record/fixup.js';
import type { NtfsVolume } from './volume.js';
import type { ByteSource } from './attribute/wof-stream.js';

/**
 * $LogFile restart page ("RSTR") and restart area. Ref: ntfs-3g include/ntfs-3g/logfile.h
 * RESTART_PAGE_HEADER / RESTART_AREA; libntfs-3g/logfile.c ntfs_is_logfile_clean.
 */
export const RESTART_PAGE = {
  magic: 0x00, // "RSTR" (or "CHKD")
  systemPageSize: 0x10, // u32
  logPageSize: 0x14, // u32
  restartAreaOffset: 0x18, // u16
  minorVersion: 0x1a, // i16
  majorVersion: 0x1c, // i16
} as const;
export const RESTART_AREA = {
  currentLsn: 0x00, // u64
  logClients: 0x08, // u16
  clientFreeList: 0x0a, // u16
  clientInUseList: 0x0c, // u16  0xFFFF = no client in use
  flags: 0x0e, // u16  RESTART_VOLUME_IS_CLEAN 0x0002
} as const;
const LOGFILE_NO_CLIENT = 0xffff;
const RESTART_VOLUME_IS_CLEAN = 0x0002;

/** What the volume says about whether Windows may still own it. Reading is always allowed. */
export interface NtfsSafetyReport {
  /** hiberfil.sys in the root: present, its first four bytes, and whether they say "hibernated". */
  hibernation: { present: boolean; magic?: string; hibernated: boolean };
  /** Windows 8+ Fast Startup (hybrid shutdown): hibernated and/or an unclean version 2.0 $LogFile. */
  fastStartup: boolean;
  /** $Volume dirty flag (chkdsk pending). */
  dirty: boolean;
  /** $LogFile state: clean (shut down properly), empty (reset by ntfs-3g/guestkit), unclean, unreadable. */
  logFile: { state: 'clean' | 'empty' | 'unclean' | 'unreadable'; version?: string; detail?: string };
  /** True when nothing above forbids writing. */
  safeToWrite: boolean;
  /** Human-readable reasons writing is refused (empty when safe). */
  reasons: string[];
}

/** Inspect $LogFile's restart pages. */
export function checkLogFile(vol: NtfsVolume): NtfsSafetyReport['logFile'] {
  try {
    const s = vol.stream(vol.view(SystemFile.LogFile), AttrType.Data);
    if (!s || s.size < 8192) return { state: 'unreadable', detail: '$LogFile has no data' };
    const first = new Uint8Array(Math.min(s.size, 65536));
    s.read(0, first);
    if (first.subarray(0, 8192).every((b) => b === 0xff)) return { state: 'empty' };
    let best: { lsn: bigint; inUse: number; flags: number; ver: string } | undefined;
    for (const pageOff of [0, -1]) {
      const off = pageOff === 0 ? 0 : new ByteView(first, 0, '$LogFile').u32(RESTART_PAGE.systemPageSize);
      if (off < 512 && pageOff !== 0) continue;
      const r = readRestart(first, off);
      if (r && (!best || r.lsn > best.lsn)) best = r;
    }
    if (!best) return { state: 'unreadable', detail: 'no valid restart page' };
    const clean = best.inUse === LOGFILE_NO_CLIENT || (best.flags & RESTART_VOLUME_IS_CLEAN) !== 0;
    return { state: clean ? 'clean' : 'unclean', version: best.ver };
  } catch (e) {
    if (e instanceof GuestError) return { state: 'unreadable', detail: e.message };
    throw e;
  }
}

function readRestart(buf: Uint8Array, off: number): { lsn: bigint; inUse: number; flags: number; ver: string } | undefined {
  if (off + 512 > buf.length) return undefined;
  const magic = String.fromCharCode(buf[off]!, buf[off + 1]!, buf[off + 2]!, buf[off + 3]!);
  if (magic !== 'RSTR' && magic !== 'CHKD') return undefined;
  const v = new ByteView(buf, 0, '$LogFile');
  const pageSize = v.u32(off + RESTART_PAGE.systemPageSize);
  if (pageSize < 512 || pageSize > 65536 || (pageSize & (pageSize - 1)) !== 0 || off + pageSize > buf.length) return undefined;
  const page = buf.slice(off, off + pageSize);
  try {
    postReadFixup(page, '$LogFile restart page', off);
  } catch {
    return undefined;
  }
  const pv = new ByteView(page, off, '$LogFile restart page');
  const ra = pv.u16(RESTART_PAGE.restartAreaOffset);
  if (ra + 0x10 > page.length) return undefined;
  const ver = `${pv.i16(RESTART_PAGE.majorVersion)}.${pv.i16(RESTART_PAGE.minorVersion)}`;
  return { lsn: pv.u64(ra + RESTART_AREA.currentLsn), inUse: pv.u16(ra + RESTART_AREA.clientInUseList), flags: pv.u16(ra + RESTART_AREA.flags), ver };
}

/** Hibernation file header magics (first four bytes of hiberfil.sys). */
const HIBERNATED = new Set(['hibr', 'HIBR', 'rstr', 'RSTR']);

/** Build the safety report. `hiberfil` is the root's hiberfil.sys data when present. */
export function safetyReport(vol: NtfsVolume, hiberfil: ByteSource | undefined): NtfsSafetyReport {
  const reasons: string[] = [];
  let hibernation: NtfsSafetyReport['hibernation'] = { present: false, hibernated: false };
  if (hiberfil) {
    if (hiberfil.size < 4096) hibernation = { present: true, hibernated: false };
    else {
      const head = new Uint8Array(4);
      hiberfil.read(0, head);
      const magic = String.fromCharCode(...head);
      hibernation = { present: true, magic: /^[\x20-\x7e]{4}$/.test(magic) ? magic : undefined, hibernated: HIBERNATED.has(magic) };
    }
  }
  const dirty = (vol.volumeFlags & VolumeFlags.Dirty) !== 0;
  const logFile = checkLogFile(vol);
  const fastStartup = logFile.state === 'unclean' && logFile.version === '2.0';
  if (hibernation.hibernated) reasons.push(`Windows is hibernated (hiberfil.sys header "${hibernation.magic}")`);
  if (fastStartup) reasons.push('Windows Fast Startup left metadata in its cache ($LogFile 2.0 not clean)');
  else if (logFile.state === 'unclean') reasons.push('$LogFile is not clean (Windows did not shut down cleanly)');
  else if (logFile.state === 'unreadable') reasons.push(`$LogFile cannot be checked (${logFile.detail})`);
  if (dirty) reasons.push('the volume is marked dirty (chkdsk pending)');
  return { hibernation, fastStartup, dirty, logFile, safeToWrite: reasons.length === 0, reasons };
}

/** What the user should do, for UnsafeStateError messages. */
export const UNSAFE_ADVICE =
  'Boot Windows and shut it down fully (disable hibernation and Fast Startup: "powercfg /h off"), or run chkdsk, then try again; ' +
  'reading is still possible. --force overrides (risks data loss if Windows resumes).';
