import {
  GuestError, FormatError, UnsupportedError, LimitError, LoopError, OutOfRangeError,
  UnsafeStateError, UsageError,
} from '@guestkit/disk/binary';

/**
 * Exit codes (ARCHITECTURE.md): 0 success, 1 operation failed, 2 usage error,
 * 3 input corrupt or unsupported, 4 refused because the guest is in an unsafe state.
 */
export const Exit = {
  Ok: 0,
  Failed: 1,
  Usage: 2,
  Corrupt: 3,
  Unsafe: 4,
} as const;

export function exitCodeFor(err: unknown): number {
  if (err instanceof UnsafeStateError) return Exit.Unsafe;
  if (err instanceof UsageError) return Exit.Usage;
  if (
    err instanceof FormatError || err instanceof UnsupportedError || err instanceof LimitError ||
    err instanceof LoopError || err instanceof OutOfRangeError
  ) {
    return Exit.Corrupt;
  }
  if (err instanceof GuestError) return Exit.Failed;
  return Exit.Failed;
}
