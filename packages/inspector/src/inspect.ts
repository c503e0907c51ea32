/**
 * Inspect a guest: find every Windows (and DOS) root the way libguestfs 1.48's inspect_os does,
 * read its facts, and, for the JSON report, the facts virt-inspector never gave.
 */
import type { FileSystem } from '@guestkit/disk';
import { GuestError, nullLogger, type Logger } from '@guestkit/disk/binary';
import { openHiveFile } from './registry/open-hive.js';
import type { RegKey } from './registry/reg-tree.js';
import { isEsp, type GuestFilesystemLike, type GuestLike } from './guest-like.js';
import { defenderApplication, listUninstallApplications, sortApplications, type Application } from './windows/applications.js';
import { readDriveMappings, sortDriveMappings, type DriveMapping, type MappingDisk } from './windows/drive-mappings.js';
import { hiberfileState, HIBERFILE_HEADER_SIZE, type HiberfileState } from './windows/hibernation.js';
import { osinfoLatest, osinfoLibguestfs148 } from './windows/osinfo.js';
import { libguestfsPeArch, parsePeHeader, PE_HEADER_READ } from './windows/pe.js';
import {
  readSoftwareExtras, readSoftwareFacts, readSystemExtras, readSystemFacts, type WindowsExtraFacts,
} from './windows/registry-facts.js';
import { dosRoot, findSystemRoot, nonWindowsRole, windowsVolumeKind } from './windows/systemroot.js';
import { bcdDeviceTarget, findBcdStores, guestPartitionResolver, type LocatedBcdStore } from './bcd/locate.js';
import { BCDE, defaultObjectId, objectLabel, elementValueLines } from './bcd/format.js';
import { bcdElement, findBcdObject, type BcdObject } from './bcd/store.js';
import { BOOTMGR_ID } from './bcd/object-types.js';

export interface InspectOptions {
  /** List installed applications (default true; virt-inspector --no-applications). */
  applications?: boolean;
  /** Read the facts only the JSON report shows: extras, PE machine, hibernation, BCD (default true). */
  extras?: boolean;
  logger?: Logger;
}

export interface FilesystemInfo {
  device: string;
  type?: string;
  label?: string;
  uuid?: string;
}

export interface BootEntry {
  id: string;
  /** {default}, {bootmgr}, {memdiag}, or the GUID. */
  label: string;
  heading: string;
  description?: string;
  device?: string;
  path?: string;
  osdevice?: string;
  systemroot?: string;
  locale?: string;
  recoverysequence?: string[];
  resumeobject?: string;
  isDefault: boolean;
  /** True when the entry's osdevice is this operating system's root. */
  thisOs: boolean;
}

export interface BootConfiguration {
  /** Where the store is: guest device and path. */
  store: { device: string; path: string };
  defaultEntry?: string;
  timeoutSeconds?: number;
  displayOrder: string[];
  toolsDisplayOrder: string[];
  entries: BootEntry[];
}

export interface WindowsDetails extends WindowsExtraFacts {
  /** Architecture from the PE machine field of system32\cmd.exe (i386, x86_64, aarch64, ...). */
  machineArch?: string;
  /** The PE machine field, e.g. "0x8664". */
  peMachine?: string;
  /** PE32 or PE32+. */
  peFormat?: string;
  bootMode: { mode: 'uefi' | 'bios' | 'unknown'; reason: string };
  hibernation: { fastStartup?: boolean; hiberfile?: HiberfileState };
  boot?: BootConfiguration;
}

export interface InspectedOs {
  /** Root device as virt-inspector prints it ("/dev/sda3"). */
  root: string;
  type: 'windows' | 'dos';
  distro: 'windows' | 'freedos' | 'msdos';
  /** libguestfs's architecture (file(1) on cmd.exe: PE32 → i386, PE32+ → x86_64). */
  arch?: string;
  productName?: string;
  productVariant?: string;
  majorVersion: number;
  minorVersion: number;
  windowsSystemroot?: string;
  windowsSoftwareHive?: string;
  windowsSystemHive?: string;
  windowsCurrentControlSet?: string;
  /** Newer libguestfs only. */
  windowsGroupPolicy?: boolean;
  hostname?: string;
  /** CurrentBuildNumber (newer libguestfs build_id). */
  buildId?: string;
  /** libosinfo id by libguestfs 1.48's rule (what virt-inspector 1.48 prints). */
  osinfo148?: string;
  /** libosinfo id by current libguestfs (win11, win2k25). */
  osinfo?: string;
  mountpoints: { mountpoint: string; device: string }[];
  filesystems: FilesystemInfo[];
  /** In virt-inspector's order (strcasecmp on the letter). */
  driveMappings: DriveMapping[];
  /** Uninstall entries sorted like libguestfs (undefined when not listed). */
  applications?: Application[];
  /** Newer libguestfs's Windows Defender pseudo-application, when it would be listed. */
  defender?: Application;
  windows?: WindowsDetails;
  /** Fields that could not be read, and why. */
  warnings: string[];
}

export interface InspectionReport {
  operatingSystems: InspectedOs[];
  /** Problems not tied to one OS (unmountable filesystems, unreadable BCD stores). */
  warnings: string[];
}

interface Candidate {
  fsInfo: GuestFilesystemLike;
  fs: FileSystem;
}

function mappingDisks(guest: GuestLike): MappingDisk[] {
  return guest.disks.map((d) => {
    const m: MappingDisk = { name: d.name, scheme: d.table.scheme, partitions: d.table.partitions };
    if (d.table.diskSignature !== undefined) m.diskSignature = d.table.diskSignature;
    return m;
  });
}

function readHead(fs: FileSystem, path: string, n: number): { size: number; head: Uint8Array } {
  const h = fs.open(path);
  try {
    const head = new Uint8Array(Math.min(n, h.size));
    if (head.length) h.readAt(0, head);
    return { size: h.size, head };
  } finally {
    h.close();
  }
}

/**
 * Inspect an opened guest.
 * @throws only for programming errors; guest problems become warnings (per OS or per report).
 */
export function inspectGuest(guest: GuestLike, opts: InspectOptions = {}): InspectionReport {
  const log = opts.logger ?? nullLogger;
  const report: InspectionReport = { operatingSystems: [], warnings: [] };
  const roots: { c: Candidate; kind: 'windows' | 'freedos' | 'msdos'; systemroot?: ReturnType<typeof findSystemRoot> }[] = [];

  for (const f of guest.filesystems()) {
    if (f.type !== 'ntfs' && f.type !== 'vfat') continue;
    let fs: FileSystem;
    try {
      fs = guest.mount(f.device);
    } catch (e) {
      if (!(e instanceof GuestError)) throw e;
      report.warnings.push(`${f.device}: cannot read the ${f.type} filesystem: ${e.message}`);
      continue;
    }
    try {
      const other = nonWindowsRole(fs);
      if (other) {
        log.debug({ device: f.device, role: other }, 'not a Windows filesystem');
        continue;
      }
      const sr = findSystemRoot(fs);
      if (sr) {
        roots.push({ c: { fsInfo: f, fs }, kind: 'windows', systemroot: sr });
        continue;
      }
      const vk = windowsVolumeKind(fs);
      if (vk) {
        log.debug({ device: f.device, role: vk }, 'Windows volume, not a root');
        continue;
      }
      const dos = dosRoot(fs);
      if (dos) roots.push({ c: { fsInfo: f, fs }, kind: dos });
    } catch (e) {
      if (!(e instanceof GuestError)) throw e;
      report.warnings.push(`${f.device}: ${e.message}`);
    }
  }

  const disks = mappingDisks(guest);
  for (const r of roots) {
    report.operatingSystems.push(
      r.kind === 'windows' ? inspectWindows(r.c, r.systemroot!.path, disks, opts, log) : inspectDos(r.c, r.kind),
    );
  }

  if (opts.extras !== false && report.operatingSystems.some((o) => o.type === 'windows')) {
    const stores = findBcdStores(guest, log, (m) => report.warnings.push(m));
    for (const os of report.operatingSystems) {
      if (os.type !== 'windows' || !os.windows) continue;
      attachBoot(guest, os, stores);
    }
  }
  return report;
}

function fsInfo(f: GuestFilesystemLike): FilesystemInfo {
  const i: FilesystemInfo = { device: f.device };
  if (f.type && f.type !== 'unknown') i.type = f.type;
  if (f.label) i.label = f.label;
  if (f.uuid) i.uuid = f.uuid;
  return i;
}

function inspectDos(c: Candidate, distro: 'freedos' | 'msdos'): InspectedOs {
  const os: InspectedOs = {
    root: c.fsInfo.device, type: 'dos', distro, arch: 'i386', majorVersion: 0, minorVersion: 0,
    mountpoints: [{ mountpoint: '/', device: c.fsInfo.device }], filesystems: [fsInfo(c.fsInfo)], driveMappings: [],
    applications: [], warnings: [],
  };
  if (distro === 'msdos') {
    os.osinfo148 = 'msdos6.22';
    os.osinfo = 'msdos6.22';
  }
  return os;
}

function inspectWindows(c: Candidate, systemroot: string, disks: MappingDisk[], opts: InspectOptions, log: Logger): InspectedOs {
  const { fs } = c;
  const os: InspectedOs = {
    root: c.fsInfo.device, type: 'windows', distro: 'windows', majorVersion: 0, minorVersion: 0,
    windowsSystemroot: systemroot, mountpoints: [{ mountpoint: '/', device: c.fsInfo.device }],
    filesystems: [fsInfo(c.fsInfo)], driveMappings: [], warnings: [],
  };
  const warn = (m: string): void => {
    os.warnings.push(m);
    log.warn({ root: os.root }, m);
  };
  const guard = <T>(what: string, fn: () => T): T | undefined => {
    try {
      return fn();
    } catch (e) {
      if (!(e instanceof GuestError)) throw e;
      warn(`${what}: ${e.message}`);
      return undefined;
    }
  };
  const extras = opts.extras !== false;
  const details: WindowsDetails | undefined = extras ? { bootMode: { mode: 'unknown', reason: 'not determined' }, hibernation: {} } : undefined;

  // Architecture: cmd.exe's PE header.
  guard('system32\\cmd.exe', () => {
    const cmd = fs.resolveCase(`${systemroot}/system32/cmd.exe`)!;
    const { head } = readHead(fs, cmd, PE_HEADER_READ);
    const pe = parsePeHeader(head, cmd);
    os.arch = libguestfsPeArch(pe);
    if (details) {
      details.peFormat = pe.format;
      details.peMachine = `0x${pe.machine.toString(16).padStart(4, '0')}`;
      if (pe.arch) details.machineArch = pe.arch;
    }
  });

  const software = fs.resolveCase(`${systemroot}/system32/config/software`);
  const system = fs.resolveCase(`${systemroot}/system32/config/system`);
  if (software !== undefined && fs.tryStat(software)?.type === 'file') os.windowsSoftwareHive = software;
  if (system !== undefined && fs.tryStat(system)?.type === 'file') os.windowsSystemHive = system;

  let sw: RegKey | undefined;
  let sy: RegKey | undefined;
  // A hive that does not open cleanly is retried in unsafe mode (hivex HIVEX_OPEN_UNSAFE, which
  // libguestfs uses for the application list): whatever is still readable is reported.
  const openHive = (what: string, path: string): RegKey | undefined =>
    guard(`${what} hive ${path}`, () => {
      try {
        return openHiveFile(fs, path, { logger: log });
      } catch (e) {
        if (!(e instanceof GuestError)) throw e;
        const h = openHiveFile(fs, path, { logger: log, unsafe: true });
        warn(`${what} hive ${path}: ${e.message}; read in unsafe mode`);
        return h;
      }
    });
  if (os.windowsSoftwareHive) sw = openHive('SOFTWARE', os.windowsSoftwareHive);
  if (os.windowsSystemHive) sy = openHive('SYSTEM', os.windowsSystemHive);
  if (!os.windowsSoftwareHive || !os.windowsSystemHive) warn('no registry facts: the SOFTWARE or SYSTEM hive is missing');

  // libguestfs reads registry facts only when both hive files exist; a hive that exists but
  // cannot be opened costs only its own facts here (libguestfs would abort the inspection).
  if (os.windowsSoftwareHive && os.windowsSystemHive) {
    const f = sw ? guard('SOFTWARE hive', () => readSoftwareFacts(sw!, warn)) : undefined;
    if (f) {
      if (f.productName !== undefined) os.productName = f.productName;
      if (f.productVariant !== undefined) os.productVariant = f.productVariant;
      if (f.majorVersion !== undefined) os.majorVersion = f.majorVersion;
      if (f.minorVersion !== undefined) os.minorVersion = f.minorVersion;
      if (f.buildId !== undefined) os.buildId = f.buildId;
      if (f.groupPolicy !== undefined) os.windowsGroupPolicy = f.groupPolicy;
    }
    if (sy) {
      const mappings = guard('SYSTEM\\MountedDevices', () => readDriveMappings(sy!, disks, warn));
      if (mappings) os.driveMappings = sortDriveMappings(mappings);
      const s = guard('SYSTEM hive', () => readSystemFacts(sy!, warn));
      if (s?.currentControlSet !== undefined) os.windowsCurrentControlSet = s.currentControlSet;
      if (s?.hostname !== undefined) os.hostname = s.hostname;
    }
  }
  const osi = { majorVersion: os.majorVersion, minorVersion: os.minorVersion, productName: os.productName, productVariant: os.productVariant, buildId: os.buildId };
  const o148 = osinfoLibguestfs148(osi);
  if (o148) os.osinfo148 = o148;
  const oNow = osinfoLatest(osi);
  if (oNow) os.osinfo = oNow;

  if (opts.applications !== false && sw) {
    const apps = guard('applications', () => listUninstallApplications(sw!));
    os.applications = sortApplications(apps ?? []);
    const d = guard('Windows Defender', () => defenderApplication(sw!));
    if (d) os.defender = d;
  } else if (opts.applications !== false) {
    os.applications = [];
  }

  if (details) {
    if (sw) guard('SOFTWARE extras', () => readSoftwareExtras(sw!, details, { major: os.majorVersion, minor: os.minorVersion }));
    if (sy) guard('SYSTEM extras', () => readSystemExtras(sy!, os.windowsCurrentControlSet, details));
    if (details.fastStartup !== undefined) details.hibernation.fastStartup = details.fastStartup;
    guard('hiberfil.sys', () => {
      const hp = fs.resolveCase('/hiberfil.sys');
      if (hp !== undefined && fs.tryStat(hp)?.type === 'file') {
        const { size, head } = readHead(fs, hp, HIBERFILE_HEADER_SIZE);
        details.hibernation.hiberfile = hiberfileState(hp, size, head);
      }
    });
    os.windows = details;
  }
  return os;
}

function objectsOf(list: { format: string; value: unknown } | undefined): string[] {
  if (!list) return [];
  if (list.format === 'objectlist') return list.value as string[];
  if (list.format === 'object') return [list.value as string];
  return [];
}

function attachBoot(guest: GuestLike, os: InspectedOs, stores: LocatedBcdStore[]): void {
  const details = os.windows!;
  const letters = new Map(os.driveMappings.map((m) => [m.device, m.letter] as const));
  const resolve = guestPartitionResolver(guest, letters);
  const osloaderTargets = (o: BcdObject): string | undefined => {
    const v = bcdElement(o, BCDE.osDevice)?.value;
    return v?.format === 'device' ? bcdDeviceTarget(v.value.device, resolve) : undefined;
  };
  // The store that boots this OS: one whose OS loader has this root as osdevice; the ESP first.
  const ordered = [...stores].sort((a, b) => Number(b.efi) - Number(a.efi));
  const mine = ordered.find((s) => s.store.objects.some((o) => o.applicationType === 3 && osloaderTargets(o) === os.root));
  if (!mine) {
    details.bootMode = bootModeFromDisk(guest, os);
    return;
  }
  const store = mine.store;
  const bootmgr = findBcdObject(store, BOOTMGR_ID);
  const dflt = defaultObjectId(store);
  const fmt = { resolve };
  const text = (o: BcdObject, type: number): string | undefined => {
    const e = bcdElement(o, type);
    return e ? elementValueLines(store, o, e, fmt).join(', ') : undefined;
  };
  const entries: BootEntry[] = [];
  const displayOrder = objectsOf(bcdElement(bootmgr, BCDE.displayOrder)?.value);
  const tools = objectsOf(bcdElement(bootmgr, BCDE.toolsDisplayOrder)?.value);
  const ids = [...new Set([...displayOrder, ...tools, ...store.objects.filter((o) => o.kind === 'application' && o.id !== BOOTMGR_ID).map((o) => o.id)])];
  for (const id of ids) {
    const o = findBcdObject(store, id);
    if (!o || o.kind !== 'application' || o.applicationType === 1 || o.applicationType === 2 || o.applicationType === 0xfffff) continue;
    const e: BootEntry = {
      id: o.id, label: objectLabel(store, o.id), heading: o.heading, isDefault: o.id === dflt,
      thisOs: o.applicationType === 3 && osloaderTargets(o) === os.root,
    };
    const set = (k: 'description' | 'device' | 'path' | 'osdevice' | 'systemroot' | 'locale' | 'resumeobject', type: number): void => {
      const v = text(o, type);
      if (v !== undefined) e[k] = v;
    };
    set('description', BCDE.description);
    set('device', BCDE.device);
    set('path', BCDE.path);
    set('locale', BCDE.locale);
    if (o.applicationType === 3) {
      set('osdevice', BCDE.osDevice);
      set('systemroot', BCDE.systemRoot);
      set('resumeobject', BCDE.loaderResumeObject);
    }
    const rs = objectsOf(bcdElement(o, BCDE.recoverySequence)?.value);
    if (rs.length) e.recoverysequence = rs.map((x) => objectLabel(store, x));
    entries.push(e);
  }
  const boot: BootConfiguration = {
    store: { device: mine.device, path: mine.path },
    displayOrder: displayOrder.map((x) => objectLabel(store, x)),
    toolsDisplayOrder: tools.map((x) => objectLabel(store, x)),
    entries,
  };
  if (dflt) boot.defaultEntry = dflt;
  const to = bcdElement(bootmgr, BCDE.timeout)?.value;
  if (to?.format === 'integer') boot.timeoutSeconds = Number(to.value);
  details.boot = boot;

  const loader = store.objects.find((o) => o.applicationType === 3 && osloaderTargets(o) === os.root)!;
  const path = bcdElement(loader, BCDE.path)?.value;
  if (path?.format === 'string' && /\.efi$/i.test(path.value)) details.bootMode = { mode: 'uefi', reason: `BCD loader path ${path.value}` };
  else if (path?.format === 'string' && /\.exe$/i.test(path.value)) details.bootMode = { mode: 'bios', reason: `BCD loader path ${path.value}` };
  else details.bootMode = mine.efi ? { mode: 'uefi', reason: `BCD store on the EFI system partition ${mine.device}` } : { mode: 'bios', reason: `BCD store at ${mine.device}:${mine.path}` };
}

function bootModeFromDisk(guest: GuestLike, os: InspectedOs): WindowsDetails['bootMode'] {
  const rootFs = guest.filesystems().find((f) => f.device === os.root);
  const disk = guest.disks.find((d) => d.name === rootFs?.disk.name);
  if (!disk) return { mode: 'unknown', reason: 'no BCD store refers to this system' };
  for (const f of guest.filesystems()) {
    if (f.disk.name !== disk.name || !isEsp(f.partition)) continue;
    try {
      const fs = guest.mount(f.device);
      if (fs.resolveCase('/EFI/Microsoft/Boot/bootmgfw.efi') !== undefined) return { mode: 'uefi', reason: `Windows boot manager on the EFI system partition ${f.device}` };
    } catch (e) {
      if (!(e instanceof GuestError)) throw e;
    }
  }
  if (disk.table.scheme === 'mbr') {
    for (const f of guest.filesystems()) {
      if (f.disk.name !== disk.name || !f.partition?.bootable) continue;
      try {
        const fs = guest.mount(f.device);
        for (const p of ['/bootmgr', '/ntldr']) if (fs.resolveCase(p) !== undefined) return { mode: 'bios', reason: `${p.slice(1)} on the active partition ${f.device}` };
      } catch (e) {
        if (!(e instanceof GuestError)) throw e;
      }
    }
  }
  return { mode: 'unknown', reason: 'no BCD store refers to this system and no boot manager was found' };
}
