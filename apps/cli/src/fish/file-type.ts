import { GuestError } from '@guestkit/disk/binary';
import { parsePeHeader, type PeHeader } from '@guestkit/inspector';

/**
 * A small libmagic for the files guestfish's `file` meets in Windows guests: PE executables
 * (machine, subsystem, section count; headers decoded by the inspector's PE reader), registry
 * hives, text and data. Descriptions follow file(1) 5.44's wording.
 */
const MAGIC_MACHINE: Record<number, string> = {
  0x014c: 'Intel 80386',
  0x8664: 'x86-64',
  0xaa64: 'Aarch64',
  0x01c4: 'ARMv7 Thumb',
  0x01c0: 'ARM',
  0x0200: 'Intel Itanium',
};

const SUBSYSTEMS: Record<number, string> = {
  1: 'native', 2: 'GUI', 3: 'console', 7: 'POSIX', 9: 'Windows CE GUI',
  10: 'EFI application', 11: 'EFI boot service driver', 12: 'EFI runtime driver', 13: 'EFI ROM', 14: 'XBOX', 16: 'boot application',
};

/** The PE header of a file's first bytes, or undefined when it is not a PE image. */
export function tryPe(head: Uint8Array): PeHeader | undefined {
  try {
    return parsePeHeader(head);
  } catch (e) {
    if (e instanceof GuestError) return undefined;
    throw e;
  }
}

/** A file(1)-style description of a file from its first bytes and its size. */
export function describeFile(head: Uint8Array, size: number): string {
  if (size === 0) return 'empty';
  const pe = tryPe(head);
  if (pe) {
    const m = MAGIC_MACHINE[pe.machine] ?? `Unknown PE signature 0x${pe.machine.toString(16)}`;
    const sub = pe.subsystem === undefined ? '' : `(${SUBSYSTEMS[pe.subsystem] ?? `Unknown subsystem 0x${pe.subsystem.toString(16)}`}) `;
    return `${pe.format} executable ${pe.dll ? '(DLL) ' : ''}${sub}${m}, for MS Windows, ${pe.sections} sections`;
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
