/**
 * virt-inspector's XML (guestfs-tools inspector/inspector.c, RELAX NG schema
 * inspector/virt-inspector.rng), byte for byte as Debian 12's virt-inspector 1.48 prints it:
 * element order, nesting, omission rules and libxml2 text-writer formatting (xml-writer.ts).
 *
 * Per operating system: root, name, arch, distro, product_name, product_variant,
 * major_version, minor_version (always), windows_systemroot, windows_current_control_set,
 * hostname, osinfo, mountpoints, filesystems (type, label, uuid), drive_mappings (only when
 * there is one), applications (unless --no-applications). A string element is left out when
 * its value is unknown or the literal "unknown"; an empty string still gives an element.
 *
 * With `extended` (what newer libguestfs prints): windows_group_policy (empty element, only when
 * true) after windows_current_control_set, build_id after hostname, the current osinfo rule
 * (win11, win2k25), an application class element, and the Windows Defender pseudo-application.
 */
import type { InspectedOs, InspectionReport } from '../inspect.js';
import { sortApplications, type Application } from '../windows/applications.js';
import { textElement, writeXmlDocument, type XmlElement } from './xml-writer.js';

export interface XmlOptions {
  /** Include the applications (virt-inspector default; false = --no-applications). */
  applications?: boolean;
  /** Add the elements newer libguestfs prints (build_id, windows_group_policy, class, Defender). */
  extended?: boolean;
}

function str(out: XmlElement[], name: string, value: string | undefined): void {
  if (value !== undefined && value !== 'unknown') out.push(textElement(name, value));
}

function applicationElement(a: Application, extended: boolean): XmlElement {
  const c: XmlElement[] = [textElement('name', a.name)];
  if (a.displayName) c.push(textElement('display_name', a.displayName));
  if (a.version) c.push(textElement('version', a.version));
  if (a.installPath) c.push(textElement('install_path', a.installPath));
  if (a.publisher) c.push(textElement('publisher', a.publisher));
  if (a.url) c.push(textElement('url', a.url));
  if (a.description) c.push(textElement('description', a.description));
  if (extended && a.class) c.push(textElement('class', a.class));
  return { name: 'application', content: c };
}

/** The <operatingsystem> element of one OS. */
export function operatingSystemElement(os: InspectedOs, opts: XmlOptions = {}): XmlElement {
  const extended = Boolean(opts.extended);
  const c: XmlElement[] = [];
  c.push(textElement('root', os.root));
  str(c, 'name', os.type);
  str(c, 'arch', os.arch);
  str(c, 'distro', os.distro);
  str(c, 'product_name', os.productName);
  str(c, 'product_variant', os.productVariant);
  c.push(textElement('major_version', String(os.majorVersion)));
  c.push(textElement('minor_version', String(os.minorVersion)));
  if (os.windowsSystemroot !== undefined) c.push(textElement('windows_systemroot', os.windowsSystemroot));
  if (os.windowsCurrentControlSet !== undefined) c.push(textElement('windows_current_control_set', os.windowsCurrentControlSet));
  if (extended && os.windowsGroupPolicy) c.push({ name: 'windows_group_policy' });
  str(c, 'hostname', os.hostname);
  if (extended) str(c, 'build_id', os.buildId);
  str(c, 'osinfo', extended ? os.osinfo : os.osinfo148);
  c.push({
    name: 'mountpoints',
    content: [...os.mountpoints]
      .sort((a, b) => a.mountpoint.length - b.mountpoint.length || (a.mountpoint < b.mountpoint ? -1 : a.mountpoint > b.mountpoint ? 1 : 0))
      .map((m) => textElement('mountpoint', m.mountpoint, [['dev', m.device]])),
  });
  c.push({
    name: 'filesystems',
    content: [...os.filesystems]
      .sort((a, b) => Buffer.compare(Buffer.from(a.device), Buffer.from(b.device)))
      .map((f) => {
        const fc: XmlElement[] = [];
        if (f.type) fc.push(textElement('type', f.type));
        if (f.label) fc.push(textElement('label', f.label));
        if (f.uuid) fc.push(textElement('uuid', f.uuid));
        return { name: 'filesystem', attributes: [['dev', f.device]], content: fc };
      }),
  });
  if (os.driveMappings.length > 0) {
    c.push({ name: 'drive_mappings', content: os.driveMappings.map((m) => textElement('drive_mapping', m.device, [['name', m.letter]])) });
  }
  if (opts.applications !== false) {
    let apps = os.applications ?? [];
    if (extended && os.defender) apps = sortApplications([...apps, os.defender]);
    c.push({ name: 'applications', content: apps.map((a) => applicationElement(a, extended)) });
  }
  return { name: 'operatingsystem', content: c };
}

/** The whole virt-inspector document. */
export function inspectionToXml(report: InspectionReport, opts: XmlOptions = {}): string {
  return writeXmlDocument({ name: 'operatingsystems', content: report.operatingSystems.map((os) => operatingSystemElement(os, opts)) });
}
