import type { Socket } from 'node:net';
import { GuestError } from '@guestkit/disk/binary';
import { NbdCode } from './errors.js';

/** Thrown by SocketReader when the peer is gone; ends a connection's loop quietly. */
export class DisconnectedError extends GuestError {
  constructor(why: string) {
    super(NbdCode.Disconnected, `peer disconnected: ${why}`);
  }
}

/**
 * Exact-length reads from a socket, with backpressure: incoming data is queued as it arrives
 * (no copy when a read is inside one chunk) and the socket is paused while more than
 * `highWater` bytes wait unread.
 */
export class SocketReader {
  private chunks: Buffer[] = [];
  private head = 0;
  private avail = 0;
  private waiting: { n: number; resolve: () => void; reject: (e: Error) => void } | undefined;
  private done: Error | undefined;
  private paused = false;

  constructor(private readonly sock: Socket, private readonly highWater = 64 * 1024 * 1024) {
    sock.on('data', (b: Buffer) => {
      this.chunks.push(b);
      this.avail += b.length;
      if (this.avail > this.highWater && !this.paused) {
        this.paused = true;
        sock.pause();
      }
      this.wake();
    });
    sock.on('end', () => this.finish(new DisconnectedError('end of stream')));
    sock.on('close', () => this.finish(new DisconnectedError('socket closed')));
    sock.on('error', (e) => this.finish(new DisconnectedError(e.message)));
  }

  /** Bytes received and not yet read. */
  get buffered(): number {
    return this.avail;
  }

  private finish(e: Error): void {
    if (!this.done) this.done = e;
    this.wake();
  }

  private wake(): void {
    const w = this.waiting;
    if (!w) return;
    if (this.avail >= w.n) {
      this.waiting = undefined;
      w.resolve();
    } else if (this.done) {
      this.waiting = undefined;
      w.reject(this.done);
    }
  }

  private wait(n: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.waiting = { n, resolve, reject };
      this.wake();
    });
  }

  /** Read exactly `n` bytes (n <= highWater). Rejects with DisconnectedError at end of stream. */
  async read(n: number): Promise<Buffer> {
    if (this.avail < n) await this.wait(n);
    return this.take(n);
  }

  /** Discard exactly `n` bytes as they arrive (an oversized payload we refuse). */
  async skip(n: number): Promise<void> {
    let left = n;
    while (left > 0) {
      if (this.avail === 0) await this.wait(1);
      const k = Math.min(left, this.avail);
      this.take(k);
      left -= k;
    }
  }

  private take(n: number): Buffer {
    let out: Buffer;
    const first = this.chunks[0];
    if (first && first.length - this.head >= n) {
      out = first.subarray(this.head, this.head + n);
      this.head += n;
      if (this.head === first.length) {
        this.chunks.shift();
        this.head = 0;
      }
    } else {
      out = Buffer.allocUnsafe(n);
      let got = 0;
      while (got < n) {
        const c = this.chunks[0]!;
        const k = Math.min(n - got, c.length - this.head);
        c.copy(out, got, this.head, this.head + k);
        got += k;
        this.head += k;
        if (this.head === c.length) {
          this.chunks.shift();
          this.head = 0;
        }
      }
    }
    this.avail -= n;
    if (this.paused && this.avail < this.highWater / 2) {
      this.paused = false;
      this.sock.resume();
    }
    return out;
  }
}
