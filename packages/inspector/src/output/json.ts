/**
 * guestkit's JSON inspection document (documented in packages/inspector/README.md, "JSON").
 * Keys are virt-inspector's element names in snake_case, plus a `windows` object with the
 * facts virt-inspector never gave. Absent facts are left out; nothing is null.
 */
import type { Application } from '../windows/applications.js';
import type { InspectedOs, InspectionReport } from '../inspect.js';
import { sortApplications } from '../windows/applications.js';

/** Version of the document layout; bumped on incompatible changes. */
export const INSPECT_JSON_VERSION = 1;

type Json = Record<string, unknown>;

function put(o: Json, k: string, v: unknown): void {
  if (v !== undefined) o[k] = v;
}

function appJson(a: Application): Json {
  const o: Json = { name: a.name };
  put(o, 'display_name', a.displayName || undefined);
  put(o, 'version', a.version || undefined);
  put(o, 'install_path', a.installPath || undefined);
  put(o, 'publisher', a.publisher || undefined);
  put(o, 'url', a.url || undefined);
  put(o, 'description', a.description || undefined);
  put(o, 'class', a.class || undefined);
  o.source = a.source;
  return o;
}

function osJson(os: InspectedOs): Json {
  const o: Json = { root: os.root, name: os.type };
  const w = os.windows;
  put(o, 'arch', w?.machineArch ?? os.arch);
  put(o, 'arch_libguestfs', os.arch);
  o.distro = os.distro;
  put(o, 'product_name', os.productName);
  put(o, 'product_variant', os.productVariant);
  o.major_version = os.majorVersion;
  o.minor_version = os.minorVersion;
  put(o, 'build_id', os.buildId);
  put(o, 'windows_systemroot', os.windowsSystemroot);
  put(o, 'windows_software_hive', os.windowsSoftwareHive);
  put(o, 'windows_system_hive', os.windowsSystemHive);
  put(o, 'windows_current_control_set', os.windowsCurrentControlSet);
  put(o, 'windows_group_policy', os.windowsGroupPolicy);
  put(o, 'hostname', os.hostname);
  put(o, 'osinfo', os.osinfo);
  put(o, 'osinfo_libguestfs_1_48', os.osinfo148);
  o.mountpoints = os.mountpoints.map((m) => ({ mountpoint: m.mountpoint, device: m.device }));
  o.filesystems = os.filesystems.map((f) => {
    const j: Json = { device: f.device };
    put(j, 'type', f.type);
    put(j, 'label', f.label);
    put(j, 'uuid', f.uuid);
    return j;
  });
  o.drive_mappings = os.driveMappings.map((m) => ({ letter: m.letter, device: m.device }));
  if (os.applications) o.applications = sortApplications(os.defender ? [...os.applications, os.defender] : os.applications).map(appJson);
  if (w) {
    const x: Json = {};
    put(x, 'edition_id', w.editionId);
    put(x, 'display_version', w.displayVersion);
    put(x, 'release_id', w.releaseId);
    put(x, 'current_build', w.currentBuild);
    put(x, 'ubr', w.ubr);
    put(x, 'full_version', w.fullVersion);
    put(x, 'csd_version', w.csdVersion);
    put(x, 'install_date', w.installDate);
    put(x, 'install_time', w.installTime);
    put(x, 'registered_owner', w.registeredOwner);
    put(x, 'registered_organization', w.registeredOrganization);
    put(x, 'product_id', w.productId);
    put(x, 'computer_name', w.computerName);
    put(x, 'domain', w.domain);
    if (w.timezone) {
      const t: Json = {};
      put(t, 'key_name', w.timezone.keyName);
      put(t, 'standard_name', w.timezone.standardName);
      put(t, 'daylight_name', w.timezone.daylightName);
      put(t, 'bias_minutes', w.timezone.biasMinutes);
      put(t, 'active_bias_minutes', w.timezone.activeBiasMinutes);
      x.timezone = t;
    }
    put(x, 'processor_architecture', w.processorArchitecture);
    put(x, 'pe_format', w.peFormat);
    put(x, 'pe_machine', w.peMachine);
    put(x, 'machine_arch', w.machineArch);
    x.boot_mode = { mode: w.bootMode.mode, reason: w.bootMode.reason };
    const h: Json = {};
    put(h, 'fast_startup', w.hibernation.fastStartup);
    if (w.hibernation.hiberfile) {
      const f = w.hibernation.hiberfile;
      h.hiberfile = { path: f.path, size: f.size, signature: f.signature, hibernated: f.hibernated, reason: f.reason };
    }
    x.hibernation = h;
    if (w.profiles) x.profiles = w.profiles.map((p) => ({ sid: p.sid, path: p.path }));
    if (w.boot) {
      const b = w.boot;
      const bj: Json = { store: { device: b.store.device, path: b.store.path } };
      put(bj, 'default_entry', b.defaultEntry);
      put(bj, 'timeout_seconds', b.timeoutSeconds);
      bj.display_order = b.displayOrder;
      bj.tools_display_order = b.toolsDisplayOrder;
      bj.entries = b.entries.map((e) => {
        const j: Json = { id: e.id, label: e.label, heading: e.heading };
        put(j, 'description', e.description);
        put(j, 'device', e.device);
        put(j, 'path', e.path);
        put(j, 'osdevice', e.osdevice);
        put(j, 'systemroot', e.systemroot);
        put(j, 'locale', e.locale);
        put(j, 'recoverysequence', e.recoverysequence);
        put(j, 'resumeobject', e.resumeobject);
        j.is_default = e.isDefault;
        j.this_os = e.thisOs;
        return j;
      });
      x.boot = bj;
    }
    o.windows = x;
  }
  o.warnings = os.warnings;
  return o;
}

/** The JSON document (an object; JSON.stringify it). */
export function inspectionToJson(report: InspectionReport): Json {
  return {
    format: 'guestkit-inspect',
    version: INSPECT_JSON_VERSION,
    operatingsystems: report.operatingSystems.map(osJson),
    warnings: report.warnings,
  };
}
