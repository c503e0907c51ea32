/**
 * Unit rules of the inspector: libxml2 text-writer escaping, the osinfo tables, hivex's
 * string/dword rules, boot.ini parsing, control-set naming, version parsing.
 */
import { describe, expect, it } from 'vitest';
import {
  bootIniSystemRoots, controlSetName, escapeXmlAttribute, escapeXmlText, hivexValueDword, hivexValueString,
  osinfoLatest, osinfoLibguestfs148, parseMajorMinor, sortApplications, sortDriveMappings, textElement, writeXmlDocument,
  type Application,
} from '@guestkit/inspector';

describe('libxml2 text writer output', () => {
  it('escapes text like xmlEncodeSpecialChars (seen in the virt-inspector recordings)', () => {
    expect(escapeXmlText('Tools & <Utilities> "quoted" \'single\'')).toBe('Tools &amp; &lt;Utilities&gt; &quot;quoted&quot; \'single\'');
    expect(escapeXmlText('line one\r\nline two\tTAB')).toBe('line one&#13;\nline two\tTAB');
    expect(escapeXmlText('Ünïcødé – Fox 🦊')).toBe('Ünïcødé – Fox 🦊');
  });
  it('escapes attributes like xmlBufAttrSerializeTxtContent without a document', () => {
    expect(escapeXmlAttribute('a&b<c>"d"\n\r\t')).toBe('a&amp;b&lt;c&gt;&quot;d&quot;&#10;&#13;&#9;');
    expect(escapeXmlAttribute('é🦊')).toBe('&#xE9;&#x1F98A;');
  });
  it('indents two spaces, keeps text on one line, writes empty elements as <x/> and empty text as <x></x>', () => {
    const doc = writeXmlDocument({
      name: 'r',
      content: [
        { name: 'a', content: [textElement('b', 'x', [['k', 'v']]), { name: 'e' }, textElement('s', '')] },
        { name: 'list', content: [] },
      ],
    });
    expect(doc).toBe('<?xml version="1.0"?>\n<r>\n  <a>\n    <b k="v">x</b>\n    <e/>\n    <s></s>\n  </a>\n  <list/>\n</r>\n');
  });
});

describe('osinfo (lib/inspect-osinfo.c)', () => {
  const cases: [number, number, string, string, string | undefined, string | undefined, string | undefined][] = [
    // major, minor, product, variant, build, 1.48, latest
    [5, 1, 'Microsoft Windows XP', 'unknown', '2600', 'winxp', 'winxp'],
    [5, 2, 'Microsoft Windows XP Professional x64', 'unknown', '3790', 'winxp', 'winxp'],
    [5, 2, 'Windows Server 2003 R2', 'unknown', '3790', 'win2k3r2', 'win2k3r2'],
    [5, 2, 'Windows Server 2003', 'unknown', '3790', 'win2k3', 'win2k3'],
    [6, 0, 'Windows Vista', 'Client', '6002', 'winvista', 'winvista'],
    [6, 0, 'Windows Server 2008', 'Server', '6002', 'win2k8', 'win2k8'],
    [6, 1, 'Windows 7', 'Client', '7601', 'win7', 'win7'],
    [6, 1, 'Windows Server 2008 R2', 'Server Core', '7601', 'win2k8r2', 'win2k8r2'],
    [6, 2, 'Windows 8', 'Client', '9200', 'win8', 'win8'],
    [6, 2, 'Windows Server 2012', 'Server', '9200', 'win2k12', 'win2k12'],
    [6, 3, 'Windows 8.1', 'Client', '9600', 'win8.1', 'win8.1'],
    [6, 3, 'Windows Server 2012 R2', 'Server', '9600', 'win2k12r2', 'win2k12r2'],
    [10, 0, 'Windows 10 Pro', 'Client', '19045', 'win10', 'win10'],
    [10, 0, 'Windows 10 Pro', 'Client', '22631', 'win10', 'win11'],
    [10, 0, 'Windows 10 Pro', 'Client', undefined, 'win10', 'win10'],
    [10, 0, 'Windows Server 2016', 'Server', '14393', 'win2k16', 'win2k16'],
    [10, 0, 'Windows Server 2019', 'Server', '17763', 'win2k19', 'win2k19'],
    [10, 0, 'Windows Server 2022', 'Server', '20348', 'win2k22', 'win2k22'],
    [10, 0, 'Windows Server 2025 Standard', 'Server', '26100', 'win2k16', 'win2k25'],
    [5, 0, 'Windows 2000', 'unknown', '2195', undefined, undefined],
    [10, 1, 'Future', 'Client', '30000', undefined, undefined],
  ];
  for (const [major, minor, name, variant, build, a, b] of cases) {
    it(`${major}.${minor} ${name} (${variant}, ${build ?? 'no build'}) → ${a ?? 'unknown'} / ${b ?? 'unknown'}`, () => {
      const f = { majorVersion: major, minorVersion: minor, productName: name, productVariant: variant, ...(build ? { buildId: build } : {}) };
      expect(osinfoLibguestfs148(f)).toBe(a);
      expect(osinfoLatest(f)).toBe(b);
    });
  }
});

describe("hivex's value rules", () => {
  const sz = (s: string, type = 1) => ({ name: 'v', type, data: new Uint8Array(Buffer.from(s, 'utf16le')) });
  it('strings: SZ, EXPAND_SZ and LINK only; up to the first aligned NUL; odd byte dropped; lone surrogate fails', () => {
    expect(hivexValueString(sz('abc\0junk'))).toEqual({ ok: true, value: 'abc' });
    expect(hivexValueString(sz('abc', 2))).toEqual({ ok: true, value: 'abc' });
    expect(hivexValueString(sz('abc', 6))).toEqual({ ok: true, value: 'abc' });
    expect(hivexValueString(sz('abc', 3)).ok).toBe(false);
    expect(hivexValueString({ name: 'v', type: 1, data: Uint8Array.from([0x41, 0, 0x42]) })).toEqual({ ok: true, value: 'A' });
    expect(hivexValueString({ name: 'v', type: 1, data: Uint8Array.from([0x41, 0, 0x00, 0xd8, 0x42, 0]) }).ok).toBe(false);
    expect(hivexValueString({ name: 'v', type: 1, data: Uint8Array.from([0x3e, 0xd8, 0x8a, 0xdd]) })).toEqual({ ok: true, value: '🦊' });
  });
  it('dwords: little- and big-endian, signed, at least 4 bytes', () => {
    expect(hivexValueDword({ name: 'v', type: 4, data: Uint8Array.from([1, 0, 0, 0]) })).toEqual({ ok: true, value: 1 });
    expect(hivexValueDword({ name: 'v', type: 5, data: Uint8Array.from([0, 0, 0, 2]) })).toEqual({ ok: true, value: 2 });
    expect(hivexValueDword({ name: 'v', type: 4, data: Uint8Array.from([0xff, 0xff, 0xff, 0xff]) })).toEqual({ ok: true, value: -1 });
    expect(hivexValueDword({ name: 'v', type: 4, data: Uint8Array.from([1, 0, 0]) }).ok).toBe(false);
    expect(hivexValueDword({ name: 'v', type: 3, data: Uint8Array.from([1, 0, 0, 0]) }).ok).toBe(false);
  });
  it('ControlSet%03ld', () => {
    expect([1, 2, 12, 123, 1234, -1].map(controlSetName)).toEqual(['ControlSet001', 'ControlSet002', 'ControlSet012', 'ControlSet123', 'ControlSet1234', 'ControlSet-01']);
  });
  it('CurrentVersion parsing (parse_version_from_major_minor)', () => {
    expect(parseMajorMinor('6.1')).toEqual({ major: 6, minor: 1 });
    expect(parseMajorMinor('Version 5.2 (x64)')).toEqual({ major: 5, minor: 2 });
    expect(parseMajorMinor('10')).toEqual({ major: 10, minor: 0 });
    expect(parseMajorMinor('n/a')).toBeUndefined();
  });
});

describe('boot.ini', () => {
  it('takes the multi()/scsi() lines right after [operating systems], stops at the first other line', () => {
    const ini = [
      '[boot loader]', 'default=multi(0)disk(0)rdisk(0)partition(1)\\WINDOWS', '[operating systems]',
      'multi(0)disk(0)rdisk(0)partition(1)\\WINDOWS="XP" /fastdetect\r',
      'scsi(1)disk(2)rdisk(0)partition(3)\\WinNT="NT"',
      'multi(0)disk(0)rdisk(0)partition(1)bad line',
      'C:\\CMDCONS\\BOOTSECT.DAT="Recovery Console"',
      'multi(0)disk(0)rdisk(0)partition(2)\\AFTER="after the break"',
    ].join('\n');
    expect(bootIniSystemRoots(ini)).toEqual(['/WINDOWS', '/WinNT']);
    expect(bootIniSystemRoots('no sections')).toEqual([]);
  });
});

describe('sorting like virt-inspector', () => {
  const app = (name: string): Application => ({ name, displayName: name, version: '', installPath: '', publisher: '', url: '', description: '', class: '', source: 'uninstall' });
  it('applications: strcmp on UTF-8 bytes (upper case before lower case, then non-ASCII), stable', () => {
    const names = ['zlib', 'Ünïcødé', '{GUID}', '7-Zip', 'Notepad++', 'Notepad++', 'mozilla', 'Adobe', '\u{1F98A} fox', '\uFF21 full-width'];
    const sorted = sortApplications(names.map(app)).map((a) => a.name);
    expect(sorted).toEqual(['7-Zip', 'Adobe', 'Notepad++', 'Notepad++', 'mozilla', 'zlib', '{GUID}', 'Ünïcødé', '\uFF21 full-width', '\u{1F98A} fox']);
  });
  it('drive mappings: strcasecmp on the letter, stable', () => {
    expect(sortDriveMappings([{ letter: 'x', device: '1' }, { letter: 'C', device: '2' }, { letter: 'c', device: '3' }, { letter: 'D', device: '4' }]).map((m) => m.device)).toEqual(['2', '3', '4', '1']);
  });
});
