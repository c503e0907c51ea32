/**
 * Reuse of reply buffers. A fresh multi-hundred-kilobyte Buffer costs an mmap and a page fault
 * per 4 KiB when first written; NBD read replies are mostly the same few sizes, so buffers are
 * handed back here once the socket has taken their bytes and reused for the next reply.
 */
export class BufferPool {
  private readonly free = new Map<number, Buffer[]>();
  private bytes = 0;

  constructor(private readonly maxBytes = 64 * 1024 * 1024, private readonly minSize = 64 * 1024) {}

  /** A buffer of exactly `n` bytes with unspecified contents. */
  get(n: number): Buffer {
    const list = this.free.get(n);
    const b = list?.pop();
    if (b) {
      this.bytes -= n;
      return b;
    }
    return Buffer.allocUnsafeSlow(n);
  }

  /** Give `b` back (only once nothing reads it any more). Small buffers are left to the allocator. */
  put(b: Buffer): void {
    if (b.length < this.minSize || this.bytes + b.length > this.maxBytes) return;
    let list = this.free.get(b.length);
    if (!list) {
      list = [];
      this.free.set(b.length, list);
    }
    list.push(b);
    this.bytes += b.length;
  }
}
