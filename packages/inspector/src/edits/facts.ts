/**
 * What the recipes need to know about the guest, read from its hives through the registry
 * session (and the inspector's own readers, so the answers are virt-inspector's).
 */
import { GuestError } from '@guestkit/disk/binary';
import { hiveKey } from '../registry/reg-tree.js';
import { listUninstallApplications } from '../windows/applications.js';
import { readDriveMappings, type DriveMapping, type MappingDisk } from '../windows/drive-mappings.js';
import { readSoftwareFacts } from '../windows/registry-facts.js';
import { controlSets, currentControlSet } from '../winreg/control-set.js';
import type { RegistrySession } from '../winreg/session.js';

export interface GuestFacts {
  /** Root device ("/dev/sda3"). */
  root: string;
  /** "/Windows" (on-disk case). */
  systemroot: string;
  majorVersion?: number;
  minorVersion?: number;
  productName?: string;
  /** "Client", "Server", … */
  productVariant?: string;
  /** Select\Current as ControlSetNNN (undefined when the SYSTEM hive has none). */
  currentControlSet?: string;
  /** Every ControlSetNNN under the SYSTEM root. */
  controlSets: string[];
  /** SYSTEM\DriverDatabase exists (Windows 8 and later): drivers are found there, not in the CriticalDeviceDatabase. */
  hasDriverDatabase: boolean;
  /** SOFTWARE\…\Group Policy\History has a GPO (virt-v2v warns that it may block new drivers). */
  groupPolicy: boolean;
  /** Installed anti-virus products (display names), which may block new boot drivers too. */
  antivirus: string[];
  /** Drive letters (MountedDevices). */
  driveMappings: DriveMapping[];
  /** Problems met while reading the facts. */
  warnings: string[];
}

/** Read the facts (SOFTWARE and SYSTEM hives are opened in the session). */
export function gatherFacts(session: RegistrySession): GuestFacts {
  const warnings: string[] = [];
  const warn = (m: string) => warnings.push(m);
  const facts: GuestFacts = {
    root: session.root.device, systemroot: session.systemroot, controlSets: [], hasDriverDatabase: false,
    groupPolicy: false, antivirus: [], driveMappings: [], warnings,
  };
  const system = session.machine('SYSTEM').gh.hive;
  const ccs = currentControlSet(system);
  if (ccs !== undefined) facts.currentControlSet = ccs;
  facts.controlSets = controlSets(system);
  facts.hasDriverDatabase = system.child(system.root, 'DriverDatabase') !== undefined;
  const disks: MappingDisk[] = session.guest.disks.map((d) => ({
    name: d.name, scheme: d.table.scheme, partitions: d.table.partitions,
    ...(d.table.diskSignature !== undefined ? { diskSignature: d.table.diskSignature } : {}),
  }));
  try {
    facts.driveMappings = readDriveMappings(hiveKey(system), disks, warn);
  } catch (e) {
    if (!(e instanceof GuestError)) throw e;
    warn(`MountedDevices: ${e.message}`);
  }
  try {
    const sw = hiveKey(session.machine('SOFTWARE').gh.hive);
    const f = readSoftwareFacts(sw, warn);
    if (f.majorVersion !== undefined) facts.majorVersion = f.majorVersion;
    if (f.minorVersion !== undefined) facts.minorVersion = f.minorVersion;
    if (f.productName !== undefined) facts.productName = f.productName;
    if (f.productVariant !== undefined) facts.productVariant = f.productVariant;
    facts.groupPolicy = f.groupPolicy === true;
    facts.antivirus = listUninstallApplications(sw).filter((a) => a.class === 'antivirus').map((a) => a.displayName);
  } catch (e) {
    if (!(e instanceof GuestError)) throw e;
    warn(`SOFTWARE hive: ${e.message}`);
  }
  return facts;
}
