/**
 * Error codes of packages/inspector (each is thrown in a GuestError subclass from
 * @guestkit/disk/binary, whose class decides the CLI exit code).
 */
export const InspectCode = {
  /** A file that must be a PE executable (cmd.exe) is not one. FormatError. */
  NotPe: 'INSPECT_NOT_PE',
  /** No operating system was found on the given disks. NotFoundError. */
  NoOs: 'INSPECT_NO_OS',
  /** A BCD store is structurally not a BCD store (no Objects key). FormatError. */
  BcdNotAStore: 'BCD_NOT_A_STORE',
  /** A BCD element's data does not fit its format (bad device blob, odd integer size). FormatError. */
  BcdBadElement: 'BCD_BAD_ELEMENT',
  /** No BCD store was found on the guest. NotFoundError. */
  BcdNoStore: 'BCD_NO_STORE',
  /** `bcd enum ID`: no such object. NotFoundError. */
  BcdNoObject: 'BCD_NO_OBJECT',
  /** A traversal limit was hit (too many objects, elements, nested devices). LimitError. */
  Limit: 'INSPECT_LIMIT',
} as const;
export type InspectCodeValue = (typeof InspectCode)[keyof typeof InspectCode];
