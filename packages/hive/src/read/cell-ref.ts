import { FormatError, hex } from '@guestkit/disk/binary';
import { HiveCode } from '../errors.js';
import { CELL_NIL, HBIN_BASE } from '../layout/base-block.js';
import { sigText } from '../layout/cells.js';
import type { HiveImage } from './hive-image.js';

/** File offset for a relative cell offset read from a field; undefined for 0xffffffff. */
export function absRef(rel: number): number | undefined {
  return rel === CELL_NIL ? undefined : rel + HBIN_BASE;
}

/** FormatError for a pointer that does not name an allocated cell. */
export function badRef(img: HiveImage, target: number, from: number, field: string): FormatError {
  return new FormatError(HiveCode.BadCellRef, `${img.name}: ${field} of the cell at ${hex(from)} points to ${hex(target)}, which is not the start of an allocated cell`, {
    where: img.name, offset: from, field, target,
  });
}

/** FormatError for a cell with the wrong signature. */
export function badType(img: HiveImage, off: number, expected: string, from: number | undefined, field: string): FormatError {
  const got = sigText(img.sig(off));
  return new FormatError(HiveCode.BadCellType, `${img.name}: cell at ${hex(off)}${from !== undefined ? ` (${field} of ${hex(from)})` : ''} has signature "${got}", expected ${expected}`, {
    where: img.name, offset: off, field, expected, actual: got, from,
  });
}

/** FormatError for a field that runs past the end of its cell. */
export function overflow(img: HiveImage, off: number, structure: string, need: number, have: number): FormatError {
  return new FormatError(HiveCode.CellOverflow, `${img.name}: ${structure} at ${hex(off)} needs ${need} bytes of cell data but the cell holds ${have}`, {
    where: img.name, offset: off, structure, expected: need, actual: have,
  });
}

/** Check that `off` is an allocated cell with signature `sig`; returns its data length. */
export function needCell(img: HiveImage, off: number, sig: number, sigName: string, from: number | undefined, field: string): number {
  if (!img.isCell(off)) {
    if (from === undefined) {
      throw new FormatError(HiveCode.BadCellRef, `${img.name}: ${hex(off)} is not the start of an allocated cell (${field})`, { where: img.name, offset: off, field });
    }
    throw badRef(img, off, from, field);
  }
  const dl = img.dataLen(off);
  if (dl < 2 || img.sig(off) !== sig) throw badType(img, off, `"${sigName}"`, from, field);
  return dl;
}
