/**
 * Hibernation state of a Windows volume, decided the way ntfs-3g decides whether it may
 * mount it read-write (libntfs-3g/volume.c, ntfs_volume_check_hiberfile): read the first
 * 4096 bytes of /hiberfil.sys; a shorter file, or one starting with "hibr" or "HIBR", means
 * Windows is hibernated (or shut down with Fast Startup, which hibernates the kernel
 * session and writes "HIBR"). Any other header (zeros, "wake", "RSTR") is safe.
 */
export const HIBERFILE_HEADER_SIZE = 4096;

export interface HiberfileState {
  /** Path of the file as found on the volume (case as on disk). */
  path: string;
  /** Size of the file in bytes. */
  size: number;
  /** The first four bytes as text ("hibr", "HIBR", "wake", "\0\0\0\0" shown as ""), or undefined when unreadable. */
  signature: string | undefined;
  /** True when ntfs-3g would refuse a read-write mount for hibernation. */
  hibernated: boolean;
  /** Why `hibernated` is what it is. */
  reason: 'signature-hibr' | 'short-file' | 'clean-signature';
}

/** Interpret the first bytes of hiberfil.sys (`head` = up to HIBERFILE_HEADER_SIZE bytes). */
export function hiberfileState(path: string, size: number, head: Uint8Array): HiberfileState {
  const sig = head.length >= 4 ? Buffer.from(head.subarray(0, 4)).toString('latin1') : undefined;
  const printable = sig === undefined ? undefined : sig.replace(/\0+$/, '');
  if (size < HIBERFILE_HEADER_SIZE) return { path, size, signature: printable, hibernated: true, reason: 'short-file' };
  if (sig === 'hibr' || sig === 'HIBR') return { path, size, signature: printable, hibernated: true, reason: 'signature-hibr' };
  return { path, size, signature: printable, hibernated: false, reason: 'clean-signature' };
}
