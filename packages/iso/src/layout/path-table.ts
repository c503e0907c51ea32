import type { ByteWriter } from '@guestkit/disk/binary';

/**
 * Path Table Record (ECMA-119 §9.4). The Type L table stores numbers little-endian, the Type M
 * table big-endian. Records are ordered by directory level, then by parent directory number,
 * then by identifier (§9.4.1... §6.9.1); directory numbers are 1-based positions in that order.
 */
export const PT = {
  /** u8 LEN_DI: length of the directory identifier. */
  idLength: 0,
  /** u8 extended attribute record length (0). */
  extAttrLength: 1,
  /** u32 (L: LE, M: BE) first block of the directory's extent. */
  extent: 2,
  /** u16 (L: LE, M: BE) number of the parent directory (the root is its own parent, 1). */
  parent: 6,
  /** LEN_DI bytes of identifier, then one zero pad byte if LEN_DI is odd. */
  id: 8,
  FIXED: 8,
} as const;

/** Parent directory numbers are 16-bit: directories numbered above this cannot be parents. */
export const MAX_PATH_TABLE_PARENT = 0xffff;

/** The root's identifier in the path table (a single 0x00 byte, §9.4.5). */
export const PT_ROOT_ID = new Uint8Array([0x00]);

export function pathTableRecordLength(idLength: number): number {
  return PT.FIXED + idLength + (idLength % 2);
}

/** Write one record at `off`; returns its length. */
export function writePathTableRecord(
  w: ByteWriter,
  off: number,
  r: { extent: number; parent: number; id: Uint8Array },
  bigEndian: boolean,
): number {
  const len = pathTableRecordLength(r.id.length);
  w.fill(off, len, 0, 'path table record');
  w.u8(off + PT.idLength, r.id.length, 'LEN_DI');
  if (bigEndian) {
    w.u32be(off + PT.extent, r.extent, 'extent location');
    w.u16be(off + PT.parent, r.parent, 'parent directory number');
  } else {
    w.u32(off + PT.extent, r.extent, 'extent location');
    w.u16(off + PT.parent, r.parent, 'parent directory number');
  }
  w.bytesAt(off + PT.id, r.id, 'directory identifier');
  return len;
}
