/**
 * The element-name table as Markdown (packages/inspector/docs/bcd-elements.md is this text;
 * test/bcd-edit*.test.ts keeps the two equal). Generated from BCD_ELEMENT_TABLES, so the
 * document cannot drift from what `guestkit bcd` accepts and prints.
 */
import { BCD_ELEMENT_TABLES, elementFormat, type BcdElementScope } from './element-types.js';

const SCOPE_TITLES: readonly [BcdElementScope, string, string][] = [
  ['library', 'Library elements (class 1)', 'every object'],
  ['bootmgr', 'Boot manager elements', '{bootmgr} (Windows Boot Manager, type 0x10100002) and {fwbootmgr} (firmware boot manager, 0x10100001)'],
  ['osloader', 'OS loader elements', 'Windows Boot Loader entries (winload, type 0x10200003), {bootloadersettings}, {hypervisorsettings} and setup loaders'],
  ['resume', 'Resume elements', 'Resume from Hibernate entries (winresume, type 0x10200004) and {resumeloadersettings}'],
  ['memdiag', 'Memory tester elements', '{memdiag} (Windows Memory Tester, type 0x10200005)'],
  ['ntldr', 'Legacy loader elements', '{ntldr} (type 0x10300006)'],
  ['bootsector', 'Boot sector elements', 'real-mode boot sector entries (type 0x10400008)'],
  ['startup', 'Startup module elements', 'PXE startup applications (type 0x10400009)'],
  ['device', 'Device object elements (class 3)', 'device options objects such as {ramdiskoptions} (type 0x30000000)'],
];

const FORMAT_NOTES: readonly [string, string][] = [
  ['string', 'REG_SZ, UTF-16LE with a NUL. Any text.'],
  ['boolean', 'REG_BINARY, one byte. yes/no, on/off, true/false, 1/0.'],
  ['integer', 'REG_BINARY, 8 bytes little-endian. Decimal, 0x hex, or a value name from the table (case-insensitive).'],
  ['integerlist', 'REG_BINARY, 8 bytes per number. Numbers separated by spaces or commas.'],
  ['object', 'REG_SZ "{guid}". An object id: {GUID} or an alias ({default}, {memdiag}, …).'],
  ['objectlist', 'REG_MULTI_SZ of "{guid}". Object ids; with --addfirst/--addlast/--remove on `set`.'],
  ['device', 'REG_BINARY device descriptor. boot · partition=C: · partition=/dev/sda3 · partition=gpt disk {G} partition {G} · partition=mbr disk 0xSIG offset BYTES · ramdisk=[boot|C:|/dev/sdXN]\\path,{options} · locate=custom:XXXXXXXX.'],
];

function escape(s: string): string {
  return s.replace(/\|/g, '\\|');
}

/** The Markdown document. */
export function bcdElementDoc(): string {
  const out: string[] = [
    '# BCD elements',
    '',
    '<!-- Generated from packages/inspector/src/bcd/element-types.ts by bcdElementDoc() (src/bcd/bcd-element-doc.ts).',
    '     Regenerate with: UPDATE_BCD_DOC=1 npx vitest run packages/inspector/test/bcd-edit.test.ts -->',
    '',
    'The element names `guestkit bcd` prints and accepts (bcdedit\'s names), their type numbers and data',
    'formats. An element type is a 32-bit number: bits 28-31 the class (1 library, 2 application, 3 device),',
    'bits 24-27 the format, bits 0-23 the subtype. Application elements (class 2) mean different things in',
    'different kinds of objects, so each kind has its own table; library elements are valid everywhere.',
    'Any element can also be named by its hex type (`0x25000080`, `custom:25000080`) or its BCD WMI symbol;',
    'elements not listed here are shown as `custom:XXXXXXXX` and kept byte for byte.',
    '',
    '## Formats',
    '',
    '| format | stored as · accepted values |',
    '| --- | --- |',
    ...FORMAT_NOTES.map(([f, n]) => `| ${f} | ${escape(n)} |`),
  ];
  for (const [scope, title, where] of SCOPE_TITLES) {
    const rows = [...BCD_ELEMENT_TABLES[scope].values()].sort((a, b) => a.type - b.type);
    out.push('', `## ${title}`, '', `Used in: ${where}. ${rows.length} elements.`, '', '| name | type | format | WMI symbol | value names |', '| --- | --- | --- | --- | --- |');
    for (const r of rows) {
      const values = r.values ? Object.entries(r.values).map(([n, v]) => `${n} ${v}`).join(', ') : '';
      out.push(`| ${r.name} | 0x${r.type.toString(16).padStart(8, '0')} | ${elementFormat(r.type) ?? '?'} | ${r.symbol} | ${escape(values)} |`);
    }
  }
  return out.join('\n') + '\n';
}
