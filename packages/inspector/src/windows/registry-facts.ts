/**
 * The facts libguestfs reads from the SOFTWARE and SYSTEM hives, with its exact rules
 * (daemon/inspect_fs_windows.ml in 1.48, and the later additions: build_id, group policy),
 * plus the extra facts only guestkit's JSON reports.
 *
 * libguestfs rules reproduced here:
 * - HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion values are matched by exact, case-sensitive
 *   name (OCaml List.assoc), the first of that name in value order;
 * - version: CurrentMajorVersionNumber + CurrentMinorVersionNumber (DWORDs) when both exist,
 *   else CurrentVersion parsed as "(\d+)\.(\d+)" (or "(\d+)" → minor 0) anywhere in the string;
 *   when none of them exists, the rest of the key (InstallationType, and in newer libguestfs
 *   CurrentBuildNumber and the group-policy check) is not read at all (the Not_found escapes);
 * - CurrentControlSet: HKLM\SYSTEM\Select, value Current (case-insensitive), a DWORD printed as
 *   ControlSet%03d (signed);
 * - hostname: <CurrentControlSet>\Services\Tcpip\Parameters, value Hostname (case-sensitive);
 * - group policy: Microsoft\Windows\CurrentVersion\Group Policy\History has a child whose name
 *   is longer than 3 bytes, starts "{" + a hex digit and ends "}".
 * Where libguestfs would abort the whole inspection (a hive it cannot open, a value of the
 * wrong type), the field is left out and a warning says why.
 */
import { filetimeToIso } from '@guestkit/disk/binary';
import {
  assocValue, hivexChild, hivexGetValue, hivexPath, hivexValueDword, hivexValueString, isWellFormed,
  numberValue, rawValue, stringValue, subkeyPath, type Lookup,
} from '../registry/hivex-compat.js';
import { REG, type RegKey } from '../registry/reg-tree.js';

export const CURRENT_VERSION_PATH = ['Microsoft', 'Windows NT', 'CurrentVersion'] as const;

export interface SoftwareFacts {
  productName?: string;
  productVariant?: string;
  majorVersion?: number;
  minorVersion?: number;
  /** CurrentBuildNumber (newer libguestfs build_id). */
  buildId?: string;
  /** Newer libguestfs windows_group_policy (undefined when not determined). */
  groupPolicy?: boolean;
}

export interface SystemFacts {
  currentControlSet?: string;
  hostname?: string;
}

type Warn = (msg: string) => void;

function lookupString(l: Lookup<import('../registry/reg-tree.js').RegValue>, what: string, warn: Warn): string | undefined {
  if (!l.ok) {
    if (!l.absent) warn(`${what}: ${l.reason}`);
    return undefined;
  }
  const s = hivexValueString(l.value);
  if (!s.ok) {
    warn(`${what}: ${s.reason}`);
    return undefined;
  }
  return s.value;
}

/** parse_version_from_major_minor. */
export function parseMajorMinor(s: string): { major: number; minor: number } | undefined {
  const clamp = (x: string): number => Math.min(Number(x), 0x3fffffff);
  let m = /([0-9]+)\.([0-9]+)/.exec(s);
  if (m) return { major: clamp(m[1]!), minor: clamp(m[2]!) };
  m = /([0-9]+)/.exec(s);
  if (m) return { major: clamp(m[1]!), minor: 0 };
  return undefined;
}

/** check_windows_software_registry. */
export function readSoftwareFacts(root: RegKey, warn: Warn): SoftwareFacts {
  const f: SoftwareFacts = {};
  const cv = hivexPath(root, CURRENT_VERSION_PATH);
  if (!cv.ok) {
    if (!cv.absent) warn(`SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion: ${cv.reason}`);
    return f;
  }
  const key = cv.value;
  const name = lookupString(assocValue(key, 'ProductName'), 'ProductName', warn);
  if (name !== undefined) f.productName = name;

  const maj = assocValue(key, 'CurrentMajorVersionNumber');
  const min = assocValue(key, 'CurrentMinorVersionNumber');
  let versionFound = false;
  if (maj.ok && min.ok) {
    const a = hivexValueDword(maj.value);
    const b = hivexValueDword(min.value);
    if (a.ok && b.ok) {
      f.majorVersion = a.value;
      f.minorVersion = b.value;
      versionFound = true;
    } else {
      warn(`CurrentMajor/MinorVersionNumber: ${a.ok ? '' : a.reason}${b.ok ? '' : b.reason}`);
    }
  }
  if (!versionFound) {
    const cvs = assocValue(key, 'CurrentVersion');
    if (!cvs.ok) {
      if (!cvs.absent) warn(`CurrentVersion: ${cvs.reason}`);
      // libguestfs: Not_found from here skips the rest of CurrentVersion (InstallationType, ...).
      if (cvs.absent) return f;
    } else {
      const s = hivexValueString(cvs.value);
      if (!s.ok) warn(`CurrentVersion: ${s.reason}`);
      else {
        const v = parseMajorMinor(s.value);
        if (v) {
          f.majorVersion = v.major;
          f.minorVersion = v.minor;
        } else warn(`CurrentVersion: cannot parse a version from ${JSON.stringify(s.value)}`);
      }
    }
  }
  const variant = lookupString(assocValue(key, 'InstallationType'), 'InstallationType', warn);
  if (variant !== undefined) f.productVariant = variant;
  const build = lookupString(assocValue(key, 'CurrentBuildNumber'), 'CurrentBuildNumber', warn);
  if (build !== undefined) f.buildId = build;

  const gp = hivexPath(root, ['Microsoft', 'Windows', 'CurrentVersion', 'Group Policy', 'History']);
  if (gp.ok) {
    const names = gp.value.subkeys().map((k) => k.name);
    if (names.every(isWellFormed)) {
      f.groupPolicy = names.some((n) => {
        const b = Buffer.from(n, 'utf8');
        return b.length > 3 && b[0] === 0x7b && /[0-9a-fA-F]/.test(String.fromCharCode(b[1]!)) && b[b.length - 1] === 0x7d;
      });
    } else warn('Group Policy\\History: a subkey name is not valid UTF-16');
  } else {
    if (!gp.absent) warn(`Group Policy\\History: ${gp.reason}`);
    f.groupPolicy = false;
  }
  return f;
}

/** sprintf "ControlSet%03ld" of a signed number. */
export function controlSetName(n: number): string {
  const digits = Math.abs(n).toString();
  return n < 0 ? `ControlSet-${digits.padStart(2, '0')}` : `ControlSet${digits.padStart(3, '0')}`;
}

/** get_current_control_set and get_hostname. */
export function readSystemFacts(root: RegKey, warn: Warn): SystemFacts {
  const f: SystemFacts = {};
  const sel = hivexChild(root, 'Select');
  if (!sel.ok) {
    if (!sel.absent) warn(`SYSTEM\\Select: ${sel.reason}`);
    return f;
  }
  const cur = hivexGetValue(sel.value, 'Current');
  if (!cur.ok) {
    if (!cur.absent) warn(`Select\\Current: ${cur.reason}`);
    return f;
  }
  const d = hivexValueDword(cur.value);
  if (!d.ok) {
    warn(`Select\\Current: ${d.reason}`);
    return f;
  }
  f.currentControlSet = controlSetName(d.value);
  const params = hivexPath(root, [f.currentControlSet, 'Services', 'Tcpip', 'Parameters']);
  if (!params.ok) {
    if (!params.absent) warn(`Tcpip\\Parameters: ${params.reason}`);
    return f;
  }
  const host = lookupString(assocValue(params.value, 'Hostname'), 'Hostname', warn);
  if (host !== undefined) f.hostname = host;
  return f;
}

/** Facts only guestkit's JSON reports (read with Windows semantics: case-insensitive names). */
export interface WindowsExtraFacts {
  editionId?: string;
  displayVersion?: string;
  releaseId?: string;
  currentBuild?: string;
  ubr?: number;
  /** Major.minor.build.UBR when all are known ("10.0.22631.3007"). */
  fullVersion?: string;
  csdVersion?: string;
  /** InstallDate (seconds since 1970) as ISO 8601 UTC. */
  installDate?: string;
  /** InstallTime (FILETIME) as ISO 8601 UTC with 100 ns. */
  installTime?: string;
  registeredOwner?: string;
  registeredOrganization?: string;
  productId?: string;
  computerName?: string;
  domain?: string;
  timezone?: { keyName?: string; standardName?: string; daylightName?: string; biasMinutes?: number; activeBiasMinutes?: number };
  processorArchitecture?: string;
  /** HiberbootEnabled (Fast Startup), undefined when the value is absent. */
  fastStartup?: boolean;
  /** User profiles from ProfileList: SID and profile path. */
  profiles?: { sid: string; path: string }[];
}

function signed32(n: number | undefined): number | undefined {
  return n === undefined ? undefined : n >= 0x80000000 ? n - 0x100000000 : n;
}

/** Read the extra SOFTWARE facts. */
export function readSoftwareExtras(root: RegKey, out: WindowsExtraFacts, version: { major?: number; minor?: number }): void {
  const cv = subkeyPath(root, CURRENT_VERSION_PATH);
  if (!cv) return;
  const set = <K extends keyof WindowsExtraFacts>(k: K, v: WindowsExtraFacts[K] | undefined): void => {
    if (v !== undefined && v !== '') out[k] = v;
  };
  set('editionId', stringValue(cv, 'EditionID'));
  set('displayVersion', stringValue(cv, 'DisplayVersion'));
  set('releaseId', stringValue(cv, 'ReleaseId'));
  set('currentBuild', stringValue(cv, 'CurrentBuild'));
  set('ubr', numberValue(cv, 'UBR'));
  set('csdVersion', stringValue(cv, 'CSDVersion'));
  set('registeredOwner', stringValue(cv, 'RegisteredOwner'));
  set('registeredOrganization', stringValue(cv, 'RegisteredOrganization'));
  set('productId', stringValue(cv, 'ProductId'));
  const installDate = numberValue(cv, 'InstallDate');
  if (installDate !== undefined && installDate > 0) set('installDate', new Date(installDate * 1000).toISOString().replace('.000Z', 'Z'));
  const it = rawValue(cv, 'InstallTime');
  if (it && it.type === REG.QWORD && it.data.length >= 8) {
    let ft = 0n;
    for (let i = 7; i >= 0; i--) ft = (ft << 8n) | BigInt(it.data[i]!);
    if (ft > 0n) set('installTime', filetimeToIso(ft));
  }
  const build = stringValue(cv, 'CurrentBuildNumber') ?? out.currentBuild;
  if (version.major !== undefined && version.minor !== undefined && build !== undefined && out.ubr !== undefined) {
    out.fullVersion = `${version.major}.${version.minor}.${build}.${out.ubr}`;
  }
  const pl = subkeyPath(cv, ['ProfileList']);
  if (pl) {
    const profiles: { sid: string; path: string }[] = [];
    for (const k of pl.subkeys()) {
      const p = stringValue(k, 'ProfileImagePath');
      if (p !== undefined) profiles.push({ sid: k.name, path: p });
    }
    if (profiles.length) out.profiles = profiles;
  }
}

/** Read the extra SYSTEM facts from the current control set. */
export function readSystemExtras(root: RegKey, ccs: string | undefined, out: WindowsExtraFacts): void {
  if (!ccs) return;
  const cs = subkeyPath(root, [ccs]);
  if (!cs) return;
  const cn = stringValue(subkeyPath(cs, ['Control', 'ComputerName', 'ComputerName']), 'ComputerName');
  if (cn) out.computerName = cn;
  const dom = stringValue(subkeyPath(cs, ['Services', 'Tcpip', 'Parameters']), 'Domain');
  if (dom) out.domain = dom;
  const tzKey = subkeyPath(cs, ['Control', 'TimeZoneInformation']);
  if (tzKey) {
    const tz: NonNullable<WindowsExtraFacts['timezone']> = {};
    const kn = stringValue(tzKey, 'TimeZoneKeyName');
    if (kn) tz.keyName = kn;
    const sn = stringValue(tzKey, 'StandardName');
    if (sn) tz.standardName = sn;
    const dn = stringValue(tzKey, 'DaylightName');
    if (dn) tz.daylightName = dn;
    const bias = signed32(numberValue(tzKey, 'Bias'));
    if (bias !== undefined) tz.biasMinutes = bias;
    const ab = signed32(numberValue(tzKey, 'ActiveTimeBias'));
    if (ab !== undefined) tz.activeBiasMinutes = ab;
    if (Object.keys(tz).length) out.timezone = tz;
  }
  const pa = stringValue(subkeyPath(cs, ['Control', 'Session Manager', 'Environment']), 'PROCESSOR_ARCHITECTURE');
  if (pa) out.processorArchitecture = pa;
  const hb = numberValue(subkeyPath(cs, ['Control', 'Session Manager', 'Power']), 'HiberbootEnabled');
  if (hb !== undefined) out.fastStartup = hb === 1;
}
