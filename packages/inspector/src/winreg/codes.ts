/**
 * Error codes of the registry editor (`guestkit win-reg`) and the edit recipes (`guestkit
 * customize`). Each is thrown in a GuestError subclass of @guestkit/disk/binary; the class
 * decides the CLI exit code (UsageError 2, NotFoundError 1, FormatError 3, UnsafeStateError 4).
 */
export const WinRegCode = {
  /** A key path outside the supported roots (HKEY_CURRENT_USER without --user, HKCR\…, garbage). UsageError. */
  UnsupportedPath: 'WINREG_UNSUPPORTED_PATH',
  /** The key does not exist in its hive. NotFoundError. */
  NoSuchKey: 'WINREG_NO_SUCH_KEY',
  /** The value does not exist in the key. NotFoundError. */
  NoSuchValue: 'WINREG_NO_SUCH_VALUE',
  /** The hive file for the path is not on the guest (no such user, no UsrClass.dat, no BCD store). NotFoundError. */
  NoHiveFile: 'WINREG_NO_HIVE_FILE',
  /** No Windows installation was found on the disks. NotFoundError. */
  NoWindows: 'WINREG_NO_WINDOWS',
  /** Several Windows installations and no --root to choose one. UsageError. */
  Multiboot: 'WINREG_MULTIBOOT',
  /** CurrentControlSet cannot be resolved (no SYSTEM\Select\Current, or an unusable value). NotFoundError. */
  NoCurrentControlSet: 'WINREG_NO_CURRENT_CONTROL_SET',
  /** A user profile path cannot be mapped to the Windows root filesystem (another drive, odd variables). UnsupportedError. */
  ProfileElsewhere: 'WINREG_PROFILE_ELSEWHERE',
  /** A bad argument to a recipe (empty command, malformed PCI id, bad --upload). UsageError. */
  BadRecipe: 'EDIT_BAD_RECIPE',
  /** A host file named by a recipe cannot be read. IoError. */
  HostFile: 'EDIT_HOST_FILE',
  /** A guest path in a recipe cannot be used (drive letter not mapped, a file where a directory is needed). UsageError. */
  BadGuestPath: 'EDIT_BAD_GUEST_PATH',
} as const;
export type WinRegCodeValue = (typeof WinRegCode)[keyof typeof WinRegCode];
