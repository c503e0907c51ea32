import { ByteView } from '@guestkit/disk/binary';

/**
 * $REPARSE_POINT value (REPARSE_DATA_BUFFER). Ref: MS-FSCC §2.1.2.
 */
export const REPARSE = {
  tag: 0x00, // u32
  dataLength: 0x04, // u16
  reserved: 0x06,
  data: 0x08,
  // mount point / symlink buffers, offsets from `data`
  substituteNameOffset: 0x00,
  substituteNameLength: 0x02,
  printNameOffset: 0x04,
  printNameLength: 0x06,
  mountPointPath: 0x08,
  symlinkFlags: 0x08, // u32, symlinks only (1 = relative)
  symlinkPath: 0x0c,
} as const;

export const ReparseTag = {
  MountPoint: 0xa0000003,
  Symlink: 0xa000000c,
  Wof: 0x80000017,
  Dedup: 0x80000013,
  LxSymlink: 0xa000001d,
} as const;

/** WOF external info + file provider info (MS: WOF_EXTERNAL_INFO, FILE_PROVIDER_EXTERNAL_INFO_V1). */
export const WOF = { version: 0x00, provider: 0x04, fileInfoVersion: 0x08, algorithm: 0x0c, SIZE: 0x10 } as const;
export const WofProvider = { Wim: 1, File: 2 } as const;
export const WofAlgorithm = { Xpress4K: 0, Lzx: 1, Xpress8K: 2, Xpress16K: 3 } as const;
export const WOF_STREAM = 'WofCompressedData';

export interface ReparsePoint {
  tag: number;
  data: Uint8Array;
  /** For symlinks and junctions: substitute name ("\\??\\C:\\x") and print name ("C:\\x"). */
  substituteName?: string;
  printName?: string;
  relative?: boolean;
}

/** Decode a reparse point; link names are decoded when the tag is a symlink or a junction. */
export function decodeReparse(b: Uint8Array, where: string): ReparsePoint {
  const v = new ByteView(b, 0, where);
  const tag = v.u32(REPARSE.tag, 'reparse tag');
  const len = v.u16(REPARSE.dataLength, 'reparse data length');
  const data = v.bytesAt(REPARSE.data, Math.min(len, b.length - REPARSE.data), 'reparse data');
  const rp: ReparsePoint = { tag, data };
  if (tag === ReparseTag.MountPoint || tag === ReparseTag.Symlink) {
    const d = new ByteView(data, REPARSE.data, where);
    const pathBase = tag === ReparseTag.Symlink ? REPARSE.symlinkPath : REPARSE.mountPointPath;
    const so = d.u16(REPARSE.substituteNameOffset);
    const sl = d.u16(REPARSE.substituteNameLength);
    const po = d.u16(REPARSE.printNameOffset);
    const pl = d.u16(REPARSE.printNameLength);
    rp.substituteName = d.utf16(pathBase + so, sl, 'substitute name');
    rp.printName = d.utf16(pathBase + po, pl, 'print name');
    if (tag === ReparseTag.Symlink) rp.relative = (d.u32(REPARSE.symlinkFlags) & 1) !== 0;
  }
  return rp;
}
