/**
 * The error family every guestkit layer throws. A `GuestError` always carries a stable,
 * greppable `code` (e.g. `HIVE_CELL_OUT_OF_RANGE`) and, where it applies, `details` saying
 * where (device, offset, structure, field) and what was expected versus found.
 *
 * Classes are categories (what the CLI maps to an exit code); codes are the precise cases.
 * Absent is not corrupt: lookups return `undefined` for "not there" and throw for "broken".
 */
export type ErrorDetails = Readonly<Record<string, unknown>>;

export class GuestError extends Error {
  readonly code: string;
  readonly details: ErrorDetails;

  constructor(code: string, message: string, details: ErrorDetails = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.details = details;
    this.name = new.target.name;
  }

  toJSON(): { name: string; code: string; message: string; details: ErrorDetails } {
    return { name: this.name, code: this.code, message: this.message, details: this.details };
  }
}

/** Corrupt or malicious on-disk data (a structure that violates its format). */
export class FormatError extends GuestError {}
/** Valid input that guestkit does not handle (an encrypted qcow2, exFAT, LZX, ...). */
export class UnsupportedError extends GuestError {}
/** A named limit was exceeded (too many subkeys, a value too large, a chain too long). */
export class LimitError extends GuestError {}
/** A cycle was detected while following on-disk pointers. */
export class LoopError extends GuestError {}
/** The named thing does not exist (for APIs where absence is an error, like `stat`). */
export class NotFoundError extends GuestError {}
/** The named thing already exists. */
export class ExistsError extends GuestError {}
/** A write was attempted on something opened read-only. */
export class ReadOnlyError extends GuestError {}
/** Refused because the guest is in a state Windows may still own (hibernated, dirty, corrupt bit). */
export class UnsafeStateError extends GuestError {}
/** A device-level access outside `[0, size)`. */
export class OutOfRangeError extends GuestError {}
/** An operating-system I/O failure; the Node error is in `cause`. */
export class IoError extends GuestError {}
/** The caller asked for something that makes no sense (bad path, bad argument). */
export class UsageError extends GuestError {}
/** The filesystem has no room left for the write. */
export class NoSpaceError extends GuestError {}

/** Codes shared by every package; format packages keep their own `errors.ts` catalogues. */
export const CommonCode = {
  /** A read inside a buffer went past its end (see ByteView). */
  OutOfBounds: 'OUT_OF_BOUNDS',
  /** An arithmetic result on disk-supplied numbers exceeded 2^53. */
  Overflow: 'INTEGER_OVERFLOW',
  /** A block-device access outside the device. */
  DeviceRange: 'DEVICE_RANGE',
  /** A short read or write from the operating system. */
  ShortIo: 'SHORT_IO',
  /** An operating-system error (ENOENT, EACCES, ...). */
  Io: 'IO_ERROR',
  /** A write on a read-only device or filesystem. */
  ReadOnly: 'READ_ONLY',
  /** A bad magic number / signature. */
  BadMagic: 'BAD_MAGIC',
} as const;

/** Wrap a Node.js system error (ENOENT, EACCES, ...) as an IoError, keeping it as the cause. */
export function ioError(what: string, err: unknown): IoError {
  const e = err as { code?: string; message?: string };
  const sys = typeof e?.code === 'string' ? e.code : undefined;
  return new IoError(
    sys ? `IO_${sys}` : CommonCode.Io,
    `${what}: ${e?.message ?? String(err)}`,
    { syscallCode: sys },
    { cause: err },
  );
}

/** Format an offset the way every error message shows it. */
export function hex(n: number | bigint): string {
  return '0x' + n.toString(16);
}
