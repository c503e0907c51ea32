import type { BlockDevice } from '../device/block-device.js';

/**
 * The file under a container format (qcow2): a BlockDevice that may also grow. FileDevice and
 * MemoryDevice implement both extras; a read-only host needs neither.
 */
export interface HostFile extends BlockDevice {
  /** Path on the host, when there is one (used to resolve relative backing-file names). */
  readonly path?: string;
  /** Write that may extend the file past its current size. */
  writeGrow?(offset: number, src: Uint8Array): void;
  /** Set the file length. */
  truncate?(size: number): void;
}

/** What `openImage` returns: a device that knows its format and, for qcow2, its backing file. */
export interface ImageDevice extends BlockDevice {
  readonly format: 'raw' | 'qcow2';
  readonly path?: string;
  /** The next image in the backing chain (qcow2 only). */
  readonly backing?: ImageDevice | undefined;
}
