/**
 * Editing a BCD store where it lives: a store file on the host, or the store on a guest's disk
 * images (\EFI\Microsoft\Boot\BCD on the ESP through the FAT write path, \Boot\BCD through
 * NTFS or FAT). The flow is the same for both:
 *
 *  1. read the store's bytes; a dirty hive (sequence numbers differ) is brought up to date from
 *     its transaction logs (BCD.LOG1/.LOG2/.LOG beside it) or refused (UnsafeStateError, exit 4);
 *  2. apply the operations in memory (edit-store.ts), then serialize and re-open the result,
 *     which must decode as a store again;
 *  3. report the changes and the diff of the .reg export (hivexregedit's format) before/after;
 *  4. unless a dry run: keep the old bytes as BCD.bak beside the store (unless told not to),
 *     then replace the store (host: temp file + fsync + rename; guest: the filesystem's
 *     crash-conscious replace), and read it back to check.
 */
import { GuestError, UnsafeStateError, UsageError, nullLogger, type Logger } from '@guestkit/disk/binary';
import type { FileSystem } from '@guestkit/disk';
import { Hive, exportRegToString, findLogFiles, needsRecovery, recoverHive, writeFileAtomic, type LogInput } from '@guestkit/hive';
import { readFileSync } from 'node:fs';
import { Guest } from '../guest/index.js';
import type { GuestLike } from '../guest-like.js';
import { inspectGuest, type InspectionReport } from '../inspect.js';
import { hiveKey } from '../registry/reg-tree.js';
import { catalogPartitions, type BcdPartitionCatalog } from './edit-device.js';
import { unifiedDiff } from './edit-diff.js';
import { BcdEditCode } from './edit-errors.js';
import { applyBcdEdit, type BcdEditOp, type BcdEditResult } from './edit-ops.js';
import { BcdEditor, type BcdChange, type BcdEditorOptions } from './edit-store.js';
import { bcdDeviceTarget, guestPartitionResolver, BCD_STORE_PATHS } from './locate.js';
import { BCDE, defaultObjectId } from './format.js';
import { bcdElement, findBcdObject, readBcdStore, type BcdStore } from './store.js';
import type { PartitionResolver } from './device.js';

export interface BcdEditOptions {
  /** Compute and report, write nothing. */
  dryRun?: boolean;
  /** Keep the old store as BCD.bak beside it (default true). */
  backup?: boolean;
  /** Override the editor's safety checks. */
  force?: boolean;
  logger?: Logger;
  /** New object GUIDs (tests). */
  newGuid?: () => string;
  /** Clock for hive timestamps (FILETIME). */
  now?: () => bigint;
}

export interface BcdImageEditOptions extends BcdEditOptions {
  format?: 'raw' | 'qcow2';
  /** Which store when the guest has several: "/dev/sda1:/EFI/Microsoft/Boot/BCD" or a device. */
  store?: string;
  /** Write to an NTFS volume that looks unsafe (hibernated, dirty). */
  forceNtfs?: boolean;
}

export interface BcdFileEditOptions extends BcdEditOptions {
  /** Disk images of the guest the store belongs to: partitions and drive letters for device values (opened read-only). */
  images?: string[];
  format?: 'raw' | 'qcow2';
}

export interface BcdEditReport {
  /** The store file, or the guest device and path of the store. */
  store: { file: string } | { images: string[]; device: string; path: string };
  dryRun: boolean;
  /** What each operation did. */
  results: BcdEditResult[];
  changes: BcdChange[];
  warnings: string[];
  /** `diff -u` of the store's .reg export (hivexregedit format) before and after. */
  regDiff: string;
  /** Where the old store was kept, when it was. */
  backup?: string;
  /** True when the store was replaced. */
  written: boolean;
  /** Transaction logs replayed before editing. */
  logsReplayed?: string[];
  /** The store after the edit (decoded from the new bytes). */
  after: BcdStore;
}

/** Open store bytes for editing: recovered from its logs when dirty, refused when that is impossible. */
export function openStoreForEdit(bytes: Uint8Array, name: string, logs: readonly LogInput[], opts: BcdEditOptions = {}): { hive: Hive; logsReplayed?: string[] } {
  const base = { writable: true, name, logger: opts.logger ?? nullLogger, ...(opts.now ? { now: opts.now } : {}) };
  if (!needsRecovery(bytes)) return { hive: Hive.open(bytes, base) };
  if (logs.length === 0) {
    throw new UnsafeStateError(BcdEditCode.Dirty, `${name}: the store's hive is dirty (Windows did not finish writing it) and no transaction logs (BCD.LOG1/BCD.LOG2/BCD.LOG) are beside it; refusing to edit a possibly stale store`, { where: name });
  }
  try {
    const { hive, report } = recoverHive(bytes, logs, base);
    return { hive, logsReplayed: report.logsUsed };
  } catch (e) {
    if (!(e instanceof GuestError)) throw e;
    throw new UnsafeStateError(BcdEditCode.Dirty, `${name}: the store's hive is dirty and its transaction logs do not replay: ${e.message}; refusing to edit`, { where: name, cause: e.code });
  }
}

/** Apply `ops` to an open store hive: new bytes, changes and diff (nothing written). */
export function editStoreHive(hive: Hive, name: string, ops: readonly BcdEditOp[], catalog: BcdEditorOptions['catalog'], opts: BcdEditOptions & { resolve?: PartitionResolver } = {}): {
  editor: BcdEditor; results: BcdEditResult[]; bytes: Uint8Array | undefined; regDiff: string; after: BcdStore;
} {
  const before = exportRegToString(hive);
  const editor = new BcdEditor(hive, {
    ...(catalog ? { catalog } : {}), ...(opts.newGuid ? { newGuid: opts.newGuid } : {}), ...(opts.force ? { force: true } : {}), ...(opts.resolve ? { resolve: opts.resolve } : {}),
  });
  const results = ops.map((op) => applyBcdEdit(editor, op));
  if (!hive.isModified) return { editor, results, bytes: undefined, regDiff: '', after: editor.store() };
  const bytes = hive.serialize();
  // The new bytes must open and decode as a store on their own.
  const reopened = Hive.open(bytes, { name: `${name} (edited)` });
  const after = readBcdStore(hiveKey(reopened));
  const regDiff = unifiedDiff(before, exportRegToString(reopened), `${name} (before)`, `${name} (after)`);
  return { editor, results, bytes, regDiff, after };
}

/**
 * Drive letters for device values of one object: those of the Windows installation the object
 * boots (its osdevice/device), else the one the default entry boots, else the only Windows
 * installation; C: is that installation's root when MountedDevices has no C:.
 */
export function bcdPartitionCatalog(guest: GuestLike, report: () => InspectionReport, store: BcdStore, objectId: string): BcdPartitionCatalog {
  const partitions = catalogPartitions(guest.disks);
  const resolve = guestPartitionResolver(guest);
  const targetOf = (id: string | undefined): string | undefined => {
    const o = id ? findBcdObject(store, id) : undefined;
    for (const t of [BCDE.osDevice, BCDE.device]) {
      const v = bcdElement(o, t)?.value;
      if (v?.format === 'device' && (t !== BCDE.osDevice || o?.applicationType === 3)) {
        const d = bcdDeviceTarget(v.value.device, resolve);
        if (d) return d;
      }
    }
    return undefined;
  };
  const r = report();
  const windows = r.operatingSystems.filter((o) => o.type === 'windows');
  let os = [targetOf(objectId), targetOf(defaultObjectId(store))].map((t) => windows.find((o) => o.root === t)).find((o) => o !== undefined);
  let why = '';
  if (!os && windows.length === 1) os = windows[0];
  if (!os) {
    why = windows.length === 0 ? 'no Windows installation was found on the guest' : `the guest has ${windows.length} Windows installations and ${objectId} boots none of them`;
    return { partitions, letters: new Map(), lettersFrom: why };
  }
  const letters = new Map(os.driveMappings.map((m) => [m.letter.toUpperCase(), m.device] as const));
  if (!letters.has('C')) letters.set('C', os.root);
  return { partitions, letters, lettersFrom: `the drive letters of the Windows installation on ${os.root}` };
}

/** The guest as inspection should see it: read-only mounts even when the guest is open for writing (a hibernated C: still inspects). */
function readOnlyView(guest: Guest): GuestLike {
  return { disks: guest.disks, filesystems: () => guest.filesystems(), mount: (d) => guest.mount(d, { write: false }) };
}

function guestCatalog(guest: Guest, log: Logger): (id: string, store: BcdStore) => BcdPartitionCatalog {
  let report: InspectionReport | undefined;
  const view = readOnlyView(guest);
  const get = (): InspectionReport => (report ??= inspectGuest(view, { applications: false, extras: false, logger: log }));
  return (id, store) => bcdPartitionCatalog(view, get, store, id);
}

/** Edit a store file on the host. */
export function editBcdFile(path: string, ops: readonly BcdEditOp[], opts: BcdFileEditOptions = {}): BcdEditReport {
  const log = opts.logger ?? nullLogger;
  let raw: Uint8Array;
  try {
    raw = new Uint8Array(readFileSync(path));
  } catch (e) {
    throw new UsageError('NO_SUCH_FILE', `${path}: ${(e as Error).message}`, { path });
  }
  const found = findLogFiles(path);
  const logs = [found.log1, found.log2, found.log].filter((x): x is string => x !== undefined).map((p) => ({ name: p, bytes: new Uint8Array(readFileSync(p)) }));
  const { hive, logsReplayed } = openStoreForEdit(raw, path, logs, opts);
  let guest: Guest | undefined;
  try {
    if (opts.images?.length) guest = Guest.open(opts.images, { logger: log, ...(opts.format ? { format: opts.format } : {}) });
    const r = editStoreHive(hive, path, ops, guest ? guestCatalog(guest, log) : undefined, guest ? { ...opts, resolve: guestPartitionResolver(guest) } : opts);
    const report: BcdEditReport = {
      store: { file: path }, dryRun: Boolean(opts.dryRun), results: r.results, changes: r.editor.changes, warnings: r.editor.warnings,
      regDiff: r.regDiff, written: false, after: r.after,
    };
    if (logsReplayed) report.logsReplayed = logsReplayed;
    if (opts.dryRun || !r.bytes) return report;
    if (opts.backup !== false) {
      const bak = `${path}.bak`;
      writeFileAtomic(bak, raw);
      report.backup = bak;
    }
    writeFileAtomic(path, r.bytes);
    report.written = true;
    const back = readFileSync(path);
    if (!Buffer.from(r.bytes).equals(back)) throw new GuestError('BCD_VERIFY', `${path}: the store read back differs from what was written`, { path });
    return report;
  } finally {
    guest?.close();
  }
}

function readLogs(fs: FileSystem, path: string): LogInput[] {
  const out: LogInput[] = [];
  for (const ext of ['.LOG1', '.LOG2', '.LOG']) {
    const p = fs.resolveCase(path + ext);
    if (p !== undefined && fs.tryStat(p)?.type === 'file') out.push({ name: p, bytes: fs.readFile(p) });
  }
  return out;
}

interface StoreLocation {
  device: string;
  path: string;
  efi: boolean;
}

function locateStores(guest: Guest): StoreLocation[] {
  const out: StoreLocation[] = [];
  for (const f of guest.filesystems()) {
    if (f.type !== 'ntfs' && f.type !== 'vfat') continue;
    let fs: FileSystem;
    try {
      fs = guest.mount(f.device);
    } catch (e) {
      if (!(e instanceof GuestError)) throw e;
      // A volume that refuses writing (hibernated NTFS) is still searched; editing a store on it is refused later.
      try {
        fs = guest.mount(f.device, { write: false });
      } catch (e2) {
        if (e2 instanceof GuestError) continue;
        throw e2;
      }
    }
    for (const p of BCD_STORE_PATHS) {
      const real = fs.resolveCase(p);
      if (real !== undefined && fs.tryStat(real)?.type === 'file') out.push({ device: f.device, path: real, efi: p.startsWith('/EFI') });
    }
  }
  return out;
}

/** Which store to edit on a guest with several (or the one asked for). */
function pickStore(guest: Guest, stores: StoreLocation[], want: string | undefined, log: Logger): StoreLocation {
  const label = (s: StoreLocation): string => `${s.device}:${s.path}`;
  if (want) {
    const [dev, ...rest] = want.split(':');
    const path = rest.join(':');
    const hit = stores.filter((s) => s.device === dev && (path === '' || s.path.toLowerCase() === path.toLowerCase()));
    if (hit.length === 1) return hit[0]!;
    throw new UsageError(BcdEditCode.BadId, `--store ${want}: no such store (the guest has: ${stores.map(label).join(', ') || 'none'})`, { store: want });
  }
  if (stores.length === 1) return stores[0]!;
  // Several: the one that boots the guest's Windows (the ESP first), as inspect --json reports it.
  const report = inspectGuest(readOnlyView(guest), { applications: false, extras: true, logger: log });
  const booting = report.operatingSystems.map((o) => o.windows?.boot?.store).filter((s): s is { device: string; path: string } => s !== undefined);
  const hit = stores.find((s) => booting.some((b) => b.device === s.device && b.path === s.path));
  if (hit) return hit;
  throw new UsageError(BcdEditCode.BadId, `the guest has several BCD stores and none is known to boot it: choose one with --store (${stores.map(label).join(', ')})`, {});
}

/** Edit the BCD store on a guest's disk images. */
export function editBcdImage(images: string[], ops: readonly BcdEditOp[], opts: BcdImageEditOptions = {}): BcdEditReport {
  const log = opts.logger ?? nullLogger;
  const write = !opts.dryRun;
  const guest = Guest.open(images, { write, logger: log, ...(opts.format ? { format: opts.format } : {}), ...(opts.forceNtfs ? { force: true } : {}) });
  try {
    const stores = locateStores(guest);
    if (stores.length === 0) throw new GuestError('BCD_NO_STORE', `no BCD store found on ${images.join(', ')} (looked for \\EFI\\Microsoft\\Boot\\BCD and \\Boot\\BCD)`, {});
    const loc = pickStore(guest, stores, opts.store, log);
    const fs = guest.mount(loc.device, { write });
    const raw = fs.readFile(loc.path);
    const name = `${loc.device}:${loc.path}`;
    const { hive, logsReplayed } = openStoreForEdit(raw, name, readLogs(fs, loc.path), opts);
    const r = editStoreHive(hive, name, ops, guestCatalog(guest, log), { ...opts, resolve: guestPartitionResolver(guest) });
    const report: BcdEditReport = {
      store: { images, device: loc.device, path: loc.path }, dryRun: Boolean(opts.dryRun), results: r.results, changes: r.editor.changes,
      warnings: r.editor.warnings, regDiff: r.regDiff, written: false, after: r.after,
    };
    if (logsReplayed) report.logsReplayed = logsReplayed;
    if (!write || !r.bytes) return report;
    if (opts.backup !== false) {
      const bak = `${loc.path}.bak`;
      fs.writeFile(fs.resolveCase(bak) ?? bak, raw);
      report.backup = `${loc.device}:${fs.resolveCase(bak) ?? bak}`;
    }
    fs.writeFile(loc.path, r.bytes);
    guest.flush();
    const back = fs.readFile(loc.path);
    if (!Buffer.from(r.bytes).equals(Buffer.from(back))) throw new GuestError('BCD_VERIFY', `${name}: the store read back differs from what was written`, {});
    report.written = true;
    return report;
  } finally {
    guest.close();
  }
}
