import * as fs from 'node:fs';
import { ioError, type GuestError } from '../binary/errors.js';

/**
 * Starts the disk writing a host file's data while the copy that dirtied it is still going, so
 * the final fdatasync only waits for the tail: after every `EARLY_WRITEBACK_BYTES` written, one
 * fdatasync runs on libuv's thread pool, concurrently with the caller's synchronous writes (what
 * RocksDB calls bytes_per_sync; Linux's sync_file_range is not reachable from node). A 100 MiB
 * upload then costs about max(copy, disk) instead of copy + disk.
 *
 * The background sync uses a descriptor of its own (opened on the same path), so closing the
 * device never races with it, and an I/O error it meets is still reported to the device's own
 * fdatasync (Linux reports a writeback error to every open description of the file). The error is
 * also kept and thrown by `check()`, so a durable flush can never miss it.
 */
export const EARLY_WRITEBACK_BYTES = 16 << 20;

/**
 * At most this many background syncs outstanding. Their completions are only reported when the
 * event loop turns, which a synchronous copy does not let happen, so a long copy gets this many
 * early syncs (the first ~100 MiB) and the kernel's own writeback does the rest. libuv's pool has
 * 4 threads by default; the others wait their turn.
 */
const MAX_IN_FLIGHT = 6;

/** The file operations used (node:fs; replaceable in tests). */
export interface WritebackIo {
  openSync(path: string, flags: 'r'): number;
  fdatasync(fd: number, done: (err: NodeJS.ErrnoException | null) => void): void;
  close(fd: number, done: () => void): void;
}
const nodeIo: WritebackIo = { openSync: (p, f) => fs.openSync(p, f), fdatasync: (fd, cb) => fs.fdatasync(fd, cb), close: (fd, cb) => fs.close(fd, cb) };

export class EarlyWriteback {
  private pending = 0;
  /** Background syncs started and not yet reported back (callbacks run only when the caller yields). */
  private inFlight = 0;
  private failed: GuestError | undefined;

  constructor(private readonly path: string, private readonly name: string, private readonly io: WritebackIo = nodeIo) {}

  /** Count `bytes` just written; start a background sync when enough have piled up. */
  wrote(bytes: number): void {
    this.pending += bytes;
    if (this.pending < EARLY_WRITEBACK_BYTES || this.inFlight >= MAX_IN_FLIGHT || this.failed) return;
    this.pending = 0;
    let fd: number;
    try {
      fd = this.io.openSync(this.path, 'r');
    } catch {
      return; // only an optimisation: the final flush still syncs everything
    }
    this.inFlight++;
    this.io.fdatasync(fd, (err) => {
      this.inFlight--;
      if (err) this.failed ??= ioError(`${this.name}: fdatasync`, err);
      this.io.close(fd, () => {});
    });
  }

  /** Throw the error a background sync met, if any. */
  check(): void {
    if (this.failed) throw this.failed;
  }
}
