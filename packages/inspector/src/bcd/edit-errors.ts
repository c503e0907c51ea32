/**
 * Error codes of the BCD editor (thrown in GuestError subclasses from @guestkit/disk/binary,
 * whose class decides the CLI exit code: UsageError 2, NotFoundError 1, UnsafeStateError 4,
 * FormatError 3).
 */
export const BcdEditCode = {
  /** An object id that is neither a GUID nor a known alias. UsageError. */
  BadId: 'BCD_BAD_ID',
  /** No object with that id in the store. NotFoundError. */
  NoObject: 'BCD_NO_OBJECT',
  /** An element name no table knows for that object, and not hex. UsageError. */
  BadElement: 'BCD_BAD_ELEMENT_NAME',
  /** A value that does not parse for the element's format. UsageError. */
  BadValue: 'BCD_BAD_VALUE',
  /** A device string that does not parse or does not point at a partition of the guest. UsageError. */
  BadDevice: 'BCD_BAD_DEVICE',
  /** `deletevalue` of an element the object does not have. NotFoundError. */
  NoElement: 'BCD_NO_ELEMENT',
  /** A safety check refused the edit (default to a non-loader, delete the boot manager, …). UsageError. */
  Refused: 'BCD_REFUSED',
  /** The store's hive is dirty and its transaction logs cannot bring it up to date. UnsafeStateError. */
  Dirty: 'BCD_DIRTY',
  /** An object id that already exists (create --id). ExistsError. */
  Exists: 'BCD_EXISTS',
} as const;
export type BcdEditCodeValue = (typeof BcdEditCode)[keyof typeof BcdEditCode];
