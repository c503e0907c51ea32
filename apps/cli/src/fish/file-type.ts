import { ByteView, GuestError } from '@guestkit/disk/binary';

/**
 * A small libmagic for the files guestfish's `file` and `file-architecture` meet in Windows
 * guests: PE executables (machine, subsystem, section count), registry hives, text and data.
 * Descriptions follow file(1) 5.44's wording.
 */
const PE_MACHINES: Record<number, { magic: string; arch: string }> = {
  0x014c: { magic: 'Intel 80386', arch: 'i386' },
  0x8664: { magic: 'x86-64', arch: 'x86_64' },
  0xaa64: { magic: 'Aarch64', arch: 'aarch64' },
  0x01c4: { magic: 'ARMv7 Thumb', arch: 'arm' },
  0x01c0: { magic: 'ARM', arch: 'arm' },
  0x0200: { magic: 'Intel Itanium', arch: 'ia64' },
};

const SUBSYSTEMS: Record<number, string> = {
  1: 'native', 2: 'GUI', 3: 'console', 7: 'POSIX', 9: 'Windows CE GUI',
  10: 'EFI application', 11: 'EFI boot service driver', 12: 'EFI runtime driver', 13: 'EFI ROM', 14: 'XBOX', 16: 'boot application',
};

export interface PeInfo {
  machine: number;
  /** 'PE32' or 'PE32+'. */
  format: 'PE32' | 'PE32+';
  subsystem: number;
  sections: number;
  dll: boolean;
}

/** Parse the PE headers at the start of `head` (the first few KiB of a file); undefined if not PE. */
export function parsePe(head: Uint8Array): PeInfo | undefined {
  try {
    const v = new ByteView(head);
    if (v.length < 64 || v.ascii(0, 2) !== 'MZ') return undefined;
    const pe = v.u32(0x3c, 'e_lfanew');
    if (!v.has(pe, 24 + 70) || v.ascii(pe, 4) !== 'PE\0\0') return undefined;
    const machine = v.u16(pe + 4, 'Machine');
    const sections = v.u16(pe + 6, 'NumberOfSections');
    const characteristics = v.u16(pe + 22, 'Characteristics');
    const magic = v.u16(pe + 24, 'OptionalHeader.Magic');
    if (magic !== 0x10b && magic !== 0x20b) return undefined;
    return { machine, format: magic === 0x20b ? 'PE32+' : 'PE32', subsystem: v.u16(pe + 24 + 68, 'Subsystem'), sections, dll: (characteristics & 0x2000) !== 0 };
  } catch (e) {
    if (e instanceof GuestError) return undefined;
    throw e;
  }
}

export function peArch(pe: PeInfo): string | undefined {
  return PE_MACHINES[pe.machine]?.arch;
}

/** A file(1)-style description of a file from its first bytes and its size. */
export function describeFile(head: Uint8Array, size: number): string {
  if (size === 0) return 'empty';
  const pe = parsePe(head);
  if (pe) {
    const m = PE_MACHINES[pe.machine]?.magic ?? `Unknown PE signature 0x${pe.machine.toString(16)}`;
    const sub = SUBSYSTEMS[pe.subsystem] ?? `Unknown subsystem 0x${pe.subsystem.toString(16)}`;
    return `${pe.format} executable ${pe.dll ? '(DLL) ' : ''}(${sub}) ${m}, for MS Windows, ${pe.sections} sections`;
  }
  if (head.length >= 4 && head[0] === 0x72 && head[1] === 0x65 && head[2] === 0x67 && head[3] === 0x66) return 'MS Windows registry file, NT/2000 or above';
  if (head.length >= 2 && head[0] === 0x4d && head[1] === 0x5a) return 'MS-DOS executable';
  return describeText(head) ?? 'data';
}

function describeText(b: Uint8Array): string | undefined {
  let crlf = false;
  let lf = false;
  let high = false;
  for (let i = 0; i < b.length; i++) {
    const c = b[i]!;
    if (c === 0x0a) {
      if (i > 0 && b[i - 1] === 0x0d) crlf = true;
      else lf = true;
    } else if (c < 0x20 && c !== 0x09 && c !== 0x0d && c !== 0x0c && c !== 0x1b) return undefined;
    else if (c >= 0x80) high = true;
  }
  let kind = 'ASCII text';
  if (high) {
    if (!Buffer.from(b).toString('utf8').includes('\ufffd')) kind = 'Unicode text, UTF-8 text';
    else return undefined;
  }
  if (crlf && !lf) return `${kind}, with CRLF line terminators`;
  if (crlf && lf) return `${kind}, with CRLF, LF line terminators`;
  if (!lf) return `${kind}, with no line terminators`;
  return kind;
}
