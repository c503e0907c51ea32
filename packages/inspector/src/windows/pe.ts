/**
 * The little of a PE/COFF image header the inspector needs: which PE flavour (PE32 or PE32+,
 * the optional-header magic) and which machine it was built for.
 *
 * Layout (Microsoft PE/COFF specification): DOS header with e_lfanew at 0x3C; at e_lfanew the
 * signature "PE\0\0", then the COFF file header (Machine u16 at +4), then the optional header
 * whose first u16 (+24) is the magic 0x10B (PE32) or 0x20B (PE32+).
 */
import { ByteView, FormatError } from '@guestkit/disk/binary';
import { InspectCode } from '../errors.js';

export const PE = {
  dosMagic: 0x00, // "MZ"
  e_lfanew: 0x3c, // u32 offset of the PE signature
  peSignature: 0x00, // "PE\0\0" (relative to e_lfanew)
  machine: 0x04, // u16 IMAGE_FILE_MACHINE_*
  numberOfSections: 0x06, // u16
  characteristics: 0x16, // u16 IMAGE_FILE_* (0x2000 = DLL)
  optionalMagic: 0x18, // u16 0x10b PE32, 0x20b PE32+
  subsystem: 0x18 + 0x44, // u16 IMAGE_SUBSYSTEM_* (same offset in PE32 and PE32+ optional headers)
} as const;

/** Bytes to read from the start of the file to decode any sane header (e_lfanew is at most this far). */
export const PE_HEADER_READ = 4096;

/** IMAGE_FILE_MACHINE_* values mapped to the architecture names libguestfs uses for ELF. */
export const PE_MACHINES: Readonly<Record<number, string>> = {
  0x014c: 'i386',
  0x8664: 'x86_64',
  0xaa64: 'aarch64',
  0x01c4: 'arm', // ARMNT (Windows RT)
  0x01c0: 'arm',
  0x0200: 'ia64',
  0x5064: 'riscv64',
  0xa641: 'aarch64', // ARM64EC
};

export interface PeHeader {
  /** 'PE32' (optional-header magic 0x10b) or 'PE32+' (0x20b). */
  format: 'PE32' | 'PE32+';
  /** COFF Machine field. */
  machine: number;
  /** Architecture from the Machine field, undefined for machines not in PE_MACHINES. */
  arch: string | undefined;
  /** COFF NumberOfSections. */
  sections: number;
  /** IMAGE_FILE_DLL set in the COFF characteristics. */
  dll: boolean;
  /** Optional-header Subsystem (2 GUI, 3 console, 10 EFI application, ...); undefined when the header is cut short. */
  subsystem: number | undefined;
}

/**
 * Decode the PE header at the start of `bytes` (at least the first PE_HEADER_READ bytes of
 * the file, or the whole file when shorter).
 * @throws FormatError (INSPECT_NOT_PE) when the bytes are not a PE image.
 */
export function parsePeHeader(bytes: Uint8Array, where = 'PE image'): PeHeader {
  const v = new ByteView(bytes, 0, where);
  const notPe = (why: string): FormatError =>
    new FormatError(InspectCode.NotPe, `${where}: not a PE executable (${why})`, { where, reason: why });
  if (!v.has(0, 0x40) || v.ascii(PE.dosMagic, 2) !== 'MZ') throw notPe('no MZ header');
  const lfanew = v.u32(PE.e_lfanew, 'e_lfanew');
  if (!v.has(lfanew, PE.optionalMagic + 2)) throw notPe(`e_lfanew ${lfanew} is outside the first ${bytes.length} bytes`);
  if (v.ascii(lfanew + PE.peSignature, 4) !== 'PE\0\0') throw notPe('no PE signature');
  const machine = v.u16(lfanew + PE.machine, 'Machine');
  const magic = v.u16(lfanew + PE.optionalMagic, 'optional header magic');
  const format = magic === 0x10b ? 'PE32' : magic === 0x20b ? 'PE32+' : undefined;
  if (!format) throw notPe(`optional header magic 0x${magic.toString(16)}`);
  const sections = v.u16(lfanew + PE.numberOfSections, 'NumberOfSections');
  const dll = (v.u16(lfanew + PE.characteristics, 'Characteristics') & 0x2000) !== 0;
  const subsystem = v.has(lfanew + PE.subsystem, 2) ? v.u16(lfanew + PE.subsystem, 'Subsystem') : undefined;
  return { format, machine, arch: PE_MACHINES[machine], sections, dll, subsystem };
}

/**
 * The architecture libguestfs reports for a Windows guest (daemon/filearch.ml): it runs
 * file(1) on cmd.exe and maps "PE32 executable" to i386 and "PE32+ executable" to x86_64,
 * whatever the machine field says (so ARM64 Windows comes out as x86_64).
 */
export function libguestfsPeArch(h: PeHeader): 'i386' | 'x86_64' {
  return h.format === 'PE32' ? 'i386' : 'x86_64';
}
