/**
 * `--inject-driver FILE.sys [--pci-id ID]…`: make a storage driver load at boot, before Plug and
 * Play could install it — virt-v2v's recipe for viostor (virt-v2v convert/windows_virtio.ml,
 * add_guestor_to_registry; ANCHORS.md §2.1):
 *
 *  - the .sys file goes to `<systemroot>\System32\drivers\`;
 *  - `SYSTEM\ControlSetNNN\Services\NAME`: Type=1 (kernel driver), Start=0 (boot), Group="SCSI
 *    miniport", ErrorControl=1, ImagePath=REG_EXPAND_SZ `system32\drivers\NAME.sys` — in every
 *    control set (virt-v2v writes only the current one);
 *  - Windows XP … 7 (no `SYSTEM\DriverDatabase`): `ControlSetNNN\Control\CriticalDeviceDatabase\
 *    PCI#<id>` with Service and ClassGUID, in every control set;
 *  - Windows 8 and later: the `SYSTEM\DriverDatabase` entries of a made-up INF package
 *    (`guestor.inf`): DriverInfFiles, DeviceIds\PCI\<id>, DriverPackages\guestor.inf_tmp with its
 *    Version blob, Configurations\guestor_conf and Descriptors\PCI\<id>.
 *
 * Group policy (device installation restrictions) and anti-virus products can still stop the
 * driver; virt-v2v warns about both, and so do we.
 */
import { basename } from 'node:path';
import { UsageError, guidFromString } from '@guestkit/disk/binary';
import { WinRegCode } from '../winreg/codes.js';
import { windowsPath } from './guest-path.js';
import { setBinary, setDword, setExpandSz, setMultiSz, setSz, type Edit, type EditStep, type FileEdit } from './plan.js';
import type { PlanContext, Recipe } from './planner.js';
import { allControlSets } from './recipe-service.js';

/** The SCSI adapter device class ({4D36E97B-…}), what virt-v2v uses for viostor. */
export const SCSI_CLASS_GUID = '{4D36E97B-E325-11CE-BFC1-08002BE10318}';

/** virt-v2v's PCI ids for the virtio block and SCSI drivers (legacy and modern devices). */
export const VIRTIO_PCI_IDS: Readonly<Record<string, readonly string[]>> = {
  viostor: ['VEN_1AF4&DEV_1001&SUBSYS_00021AF4&REV_00', 'VEN_1AF4&DEV_1042&SUBSYS_11001AF4&REV_01'],
  virtio_blk: ['VEN_1AF4&DEV_1001&SUBSYS_00021AF4&REV_00', 'VEN_1AF4&DEV_1042&SUBSYS_11001AF4&REV_01'],
  vrtioblk: ['VEN_1AF4&DEV_1001&SUBSYS_00021AF4&REV_00', 'VEN_1AF4&DEV_1042&SUBSYS_11001AF4&REV_01'],
  vioscsi: ['VEN_1AF4&DEV_1004&SUBSYS_00081AF4&REV_00', 'VEN_1AF4&DEV_1048&SUBSYS_11001AF4&REV_01'],
};

/** VEN_xxxx&DEV_xxxx[&SUBSYS_xxxxxxxx][&REV_xx], an optional "PCI\" in front. */
const PCI_ID_RE = /^(?:PCI[\\#])?(VEN_[0-9A-F]{4}&DEV_[0-9A-F]{4}(?:&SUBSYS_[0-9A-F]{8})?(?:&REV_[0-9A-F]{2})?)$/i;
const GUID_RE = /^\{?([0-9A-F]{8})-([0-9A-F]{4})-([0-9A-F]{4})-([0-9A-F]{4})-([0-9A-F]{12})\}?$/i;
/** Driver (service) names: what a .sys file name may hold. */
const DRIVER_NAME_RE = /^[A-Za-z0-9_.-]{1,64}$/;

export function normalizePciId(id: string): string {
  const m = PCI_ID_RE.exec(id.trim());
  if (!m) throw new UsageError(WinRegCode.BadRecipe, `--pci-id ${id}: expected VEN_xxxx&DEV_xxxx[&SUBSYS_xxxxxxxx][&REV_xx] (hex digits)`, { id });
  return m[1]!.toUpperCase();
}

/** A GUID in registry text form and as the 16 bytes Windows stores (first three fields little-endian). */
export function parseGuid(g: string): { text: string; bytes: Uint8Array } {
  const m = GUID_RE.exec(g.trim());
  if (!m) throw new UsageError(WinRegCode.BadRecipe, `${g}: not a GUID`, { guid: g });
  const [a, b, c, d, e] = m.slice(1).map((x) => x!.toUpperCase()) as [string, string, string, string, string];
  return { text: `{${a}-${b}-${c}-${d}-${e}}`, bytes: guidFromString(g) };
}

/** virt-v2v's DriverPackages Version blob: 00 ff 09 00 00 00 00 00, the class GUID, 24 zero bytes. */
export function driverPackageVersion(classGuid: Uint8Array): Uint8Array {
  const v = new Uint8Array(8 + 16 + 24);
  v.set([0x00, 0xff, 0x09, 0x00, 0x00, 0x00, 0x00, 0x00], 0);
  v.set(classGuid, 8);
  return v;
}

export function planDriver(ctx: PlanContext, r: Extract<Recipe, { kind: 'inject-driver' }>): EditStep {
  const file = basename(r.file);
  if (!/\.sys$/i.test(file)) throw new UsageError(WinRegCode.BadRecipe, `--inject-driver ${r.file}: expected a .sys driver file`, { file: r.file });
  const name = file.slice(0, -4);
  if (!DRIVER_NAME_RE.test(name)) throw new UsageError(WinRegCode.BadRecipe, `--inject-driver ${r.file}: unusable driver name ${JSON.stringify(name)}`, { file: r.file });
  const pciIds = (r.pciIds.length > 0 ? r.pciIds : (VIRTIO_PCI_IDS[name.toLowerCase()] ?? [])).map(normalizePciId);
  if (pciIds.length === 0) {
    throw new UsageError(WinRegCode.BadRecipe, `--inject-driver ${r.file}: give the PCI ids the driver serves with --pci-id VEN_xxxx&DEV_xxxx… (known by default only for ${Object.keys(VIRTIO_PCI_IDS).join(', ')})`, { file: r.file });
  }
  const cls = parseGuid(r.classGuid ?? SCSI_CLASS_GUID);
  const group = r.group ?? 'SCSI miniport';
  const edits: Edit[] = [];
  const warnings: string[] = [];

  // The driver file.
  const fileEdits: FileEdit[] = [];
  const driversDir = ctx.ensureDir(`${ctx.facts.systemroot}/System32/drivers`, fileEdits);
  const target = ctx.writeFile(`${driversDir}/${name}.sys`, ctx.readHost(r.file), r.file, fileEdits);
  edits.push(...fileEdits);
  const imagePath = `system32\\drivers\\${name}.sys`;

  // The service, in every control set.
  const sets = allControlSets(ctx, `--inject-driver ${file}`);
  for (const cs of sets) {
    const key = `HKLM\\SYSTEM\\${cs}\\Services\\${name}`;
    edits.push(
      setDword(key, 'Type', 1),
      setDword(key, 'Start', 0),
      setSz(key, 'Group', group),
      setDword(key, 'ErrorControl', 1),
      setExpandSz(key, 'ImagePath', imagePath),
    );
  }

  let how: string;
  if (!ctx.facts.hasDriverDatabase) {
    // XP … 7: the CriticalDeviceDatabase of each control set maps the PCI id to the service.
    for (const cs of sets) {
      for (const id of pciIds) {
        const key = `HKLM\\SYSTEM\\${cs}\\Control\\CriticalDeviceDatabase\\PCI#${id}`;
        edits.push(setSz(key, 'Service', name), setSz(key, 'ClassGUID', cls.text));
      }
    }
    how = 'CriticalDeviceDatabase';
    if ((ctx.facts.majorVersion ?? 0) * 100 + (ctx.facts.minorVersion ?? 0) >= 602) {
      warnings.push(`Windows ${ctx.facts.majorVersion}.${ctx.facts.minorVersion} without SYSTEM\\DriverDatabase: the CriticalDeviceDatabase entries may be ignored`);
    }
  } else {
    // Windows 8 and later: a DriverDatabase package, as virt-v2v writes it.
    const inf = ['viostor', 'virtio_blk', 'vrtioblk'].includes(name.toLowerCase()) ? 'guestor.inf' : `guestor-${name.toLowerCase()}.inf`;
    const label = `${inf}_tmp`;
    const conf = inf === 'guestor.inf' ? 'guestor_conf' : `guestor_${name.toLowerCase()}_conf`;
    const ddb = 'HKLM\\SYSTEM\\DriverDatabase';
    edits.push(
      setMultiSz(`${ddb}\\DriverInfFiles\\${inf}`, '', [label]),
      setSz(`${ddb}\\DriverInfFiles\\${inf}`, 'Active', label),
      setMultiSz(`${ddb}\\DriverInfFiles\\${inf}`, 'Configurations', [conf]),
    );
    for (const id of pciIds) edits.push(setBinary(`${ddb}\\DeviceIds\\PCI\\${id}`, inf, new Uint8Array([0x01, 0xff, 0x00, 0x00])));
    edits.push(
      setBinary(`${ddb}\\DriverPackages\\${label}`, 'Version', driverPackageVersion(cls.bytes)),
      setDword(`${ddb}\\DriverPackages\\${label}\\Configurations\\${conf}`, 'ConfigFlags', 0),
      setSz(`${ddb}\\DriverPackages\\${label}\\Configurations\\${conf}`, 'Service', name),
    );
    for (const id of pciIds) edits.push(setSz(`${ddb}\\DriverPackages\\${label}\\Descriptors\\PCI\\${id}`, 'Configuration', conf));
    how = `DriverDatabase (${inf})`;
  }

  if (ctx.facts.groupPolicy) {
    warnings.push(`this guest has Windows Group Policy Objects (GPO): a policy restricting device installation may keep the new boot driver ${name} from loading (the guest then stops with a 0x7B boot error); if that happens, remove the policy before converting`);
  }
  for (const av of ctx.facts.antivirus) {
    warnings.push(`anti-virus software (${av}) is installed: it may keep the new boot driver ${name} from loading (0x7B boot error); if that happens, disable it before converting`);
  }
  return {
    recipe: `--inject-driver ${r.file}${r.pciIds.map((p) => ` --pci-id ${p}`).join('')}`,
    summary: `boot driver ${name} (${windowsPath(target)}) for ${pciIds.join(', ')} via the service key in ${sets.join(', ')} and the ${how}`,
    edits,
    warnings,
  };
}
