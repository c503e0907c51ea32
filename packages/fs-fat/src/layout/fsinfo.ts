import { ByteView, ByteWriter } from '@guestkit/disk/binary';

/**
 * FAT32 FSInfo sector (fatgen103 §5): advisory free-cluster count and allocation hint. Offsets
 * from the start of the FSInfo sector; the structure occupies its first 512 bytes whatever the
 * sector size.
 */
export const FSI = {
  /** FSI_LeadSig, u32 0x41615252 ("RRaA"). */
  leadSig: 0x000,
  /** FSI_StrucSig, u32 0x61417272 ("rrAa"). */
  strucSig: 0x1e4,
  /** FSI_Free_Count, u32 free clusters, 0xFFFFFFFF = unknown. */
  freeCount: 0x1e8,
  /** FSI_Nxt_Free, u32 hint: the most recently allocated cluster, 0xFFFFFFFF = unknown. */
  nextFree: 0x1ec,
  /** FSI_TrailSig, u32 0xAA550000 (bytes 00 00 55 AA). */
  trailSig: 0x1fc,
  SIZE: 0x200,
} as const;

export const FSI_LEAD_SIG = 0x41615252;
export const FSI_STRUC_SIG = 0x61417272;
export const FSI_TRAIL_SIG = 0xaa550000;
export const FSI_UNKNOWN = 0xffffffff;

export interface FsInfo {
  /** Both FSInfo signatures (lead and structure) are correct. */
  valid: boolean;
  freeCount: number;
  nextFree: number;
}

export function decodeFsInfo(v: ByteView): FsInfo {
  const valid = v.u32(FSI.leadSig, 'FSI_LeadSig') === FSI_LEAD_SIG && v.u32(FSI.strucSig, 'FSI_StrucSig') === FSI_STRUC_SIG;
  return { valid, freeCount: v.u32(FSI.freeCount, 'FSI_Free_Count'), nextFree: v.u32(FSI.nextFree, 'FSI_Nxt_Free') };
}

/** A fresh FSInfo sector (mkfs). `out` must be zeroed and at least 512 bytes. */
export function encodeFsInfo(out: Uint8Array, freeCount: number, nextFree: number): void {
  const w = new ByteWriter(out);
  w.u32(FSI.leadSig, FSI_LEAD_SIG).u32(FSI.strucSig, FSI_STRUC_SIG);
  w.u32(FSI.freeCount, freeCount).u32(FSI.nextFree, nextFree).u32(FSI.trailSig, FSI_TRAIL_SIG);
}

/** The 8 bytes [FSI_Free_Count, FSI_Nxt_Free] — the only part written when the volume changes. */
export function encodeFsInfoCounts(freeCount: number, nextFree: number): Uint8Array {
  const w = ByteWriter.alloc(8);
  w.u32(0, freeCount).u32(4, nextFree);
  return w.bytes;
}
