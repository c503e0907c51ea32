/**
 * Installed applications of a Windows guest, as libguestfs lists them
 * (lib/inspect-apps.c, list_applications_windows):
 *
 * - the subkeys of SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall, then of
 *   SOFTWARE\WOW6432node\Microsoft\Windows\CurrentVersion\Uninstall (each path component looked
 *   up case-insensitively);
 * - a subkey is an application only when its name converts to UTF-8 and it has a DisplayName
 *   value (case-insensitive) that hivex_value_string accepts; DisplayVersion, InstallLocation,
 *   Publisher, URLInfoAbout and Comments give version, install_path, publisher, url and
 *   description, "" when absent or not a string;
 * - the list is sorted by name with strcmp (UTF-8 byte order), stably.
 *
 * Newer libguestfs adds a class ("antivirus" when the name, display name or publisher matches
 * virus|kaspersky|mcafee|norton|sophos|ApexOneNT|avg technologies, case-insensitively) and,
 * when SOFTWARE\Microsoft\Windows Defender exists and its DisableAntiVirus value does not start
 * with the little-endian dword 1, a pseudo-application WinDefend ("Microsoft Defender
 * Antivirus", publisher "Microsoft Corporation", class antivirus), placed after the Uninstall
 * entries before sorting.
 */
import { hivexGetValue, hivexPath, hivexValueString, isWellFormed } from '../registry/hivex-compat.js';
import type { RegKey } from '../registry/reg-tree.js';

export interface Application {
  name: string;
  displayName: string;
  version: string;
  installPath: string;
  publisher: string;
  url: string;
  description: string;
  /** "antivirus" or "" (newer libguestfs). */
  class: string;
  /** Where it came from: the native Uninstall key, WOW6432Node, or the Defender heuristic. */
  source: 'uninstall' | 'wow6432node' | 'defender';
}

export const UNINSTALL_PATHS: readonly (readonly [Application['source'], readonly string[]])[] = [
  ['uninstall', ['Microsoft', 'Windows', 'CurrentVersion', 'Uninstall']],
  ['wow6432node', ['WOW6432node', 'Microsoft', 'Windows', 'CurrentVersion', 'Uninstall']],
];

const ANTIVIRUS = [/virus/i, /kaspersky/i, /mcafee/i, /norton/i, /sophos/i, /ApexOneNT/i, /avg technologies/i];

/** get_class_from_windows_app. */
export function applicationClass(name: string, displayName: string, publisher: string): string {
  return [name, displayName, publisher].some((f) => ANTIVIRUS.some((re) => re.test(f))) ? 'antivirus' : '';
}

function str(key: RegKey, name: string): string {
  const l = hivexGetValue(key, name);
  if (!l.ok) return '';
  const s = hivexValueString(l.value);
  return s.ok ? s.value : '';
}

/** The Uninstall entries (libguestfs 1.48's list, before sorting), each with its newer class. */
export function listUninstallApplications(software: RegKey): Application[] {
  const out: Application[] = [];
  for (const [source, path] of UNINSTALL_PATHS) {
    const node = hivexPath(software, path);
    if (!node.ok) continue;
    for (const child of node.value.subkeys()) {
      const name = child.name;
      if (!isWellFormed(name)) continue;
      const dn = hivexGetValue(child, 'DisplayName');
      if (!dn.ok) continue;
      const displayName = hivexValueString(dn.value);
      if (!displayName.ok) continue;
      const publisher = str(child, 'Publisher');
      out.push({
        name,
        displayName: displayName.value,
        version: str(child, 'DisplayVersion'),
        installPath: str(child, 'InstallLocation'),
        publisher,
        url: str(child, 'URLInfoAbout'),
        description: str(child, 'Comments'),
        class: applicationClass(name, displayName.value, publisher),
        source,
      });
    }
  }
  return out;
}

/** The Windows Defender pseudo-application of newer libguestfs, or undefined. */
export function defenderApplication(software: RegKey): Application | undefined {
  const node = hivexPath(software, ['Microsoft', 'Windows Defender']);
  if (!node.ok) return undefined;
  const v = hivexGetValue(node.value, 'DisableAntiVirus');
  if (v.ok && v.value.data.length >= 4) {
    const d = v.value.data;
    if (d[0] === 1 && d[1] === 0 && d[2] === 0 && d[3] === 0) return undefined;
  }
  return {
    name: 'WinDefend', displayName: 'Microsoft Defender Antivirus', version: '', installPath: '',
    publisher: 'Microsoft Corporation', url: '', description: '', class: 'antivirus', source: 'defender',
  };
}

/** strcmp on the UTF-8 encodings (= code point order), stable. */
export function sortApplications(apps: readonly Application[]): Application[] {
  const keyed = apps.map((a, i) => ({ a, i, k: Buffer.from(a.name, 'utf8') }));
  keyed.sort((x, y) => Buffer.compare(x.k, y.k) || x.i - y.i);
  return keyed.map((x) => x.a);
}
