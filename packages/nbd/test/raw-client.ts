import * as net from 'node:net';

/**
 * A deliberately low-level NBD client for tests: it sends exactly the bytes it is told to
 * (including malformed ones) and parses what comes back. Interoperability is checked with real
 * clients (nbdinfo, nbdcopy, qemu-img) in test/nbd-*.test.ts; this one exists to misbehave.
 */
export class RawClient {
  private buf = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  closed = false;

  private constructor(readonly sock: net.Socket) {
    sock.on('data', (b) => {
      this.buf = Buffer.concat([this.buf, b]);
      this.wake();
    });
    sock.on('close', () => {
      this.closed = true;
      this.wake();
    });
    sock.on('error', () => {
      this.closed = true;
      this.wake();
    });
  }

  static connect(port: number): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1', () => resolve(new RawClient(s)));
      s.once('error', reject);
    });
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Read exactly n bytes; rejects if the server closes first. */
  async read(n: number, timeoutMs = 5000): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    while (this.buf.length < n) {
      if (this.closed) throw new Error(`closed with ${this.buf.length}/${n} bytes`);
      if (Date.now() > deadline) throw new Error(`timeout waiting for ${n} bytes (have ${this.buf.length})`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 50);
      });
    }
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return Buffer.from(out);
  }

  /** Resolves true when the server closes the connection (false on timeout). */
  async waitClosed(timeoutMs = 5000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed && Date.now() < deadline) {
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 50);
      });
    }
    return this.closed;
  }

  write(b: Uint8Array): void {
    this.sock.write(b);
  }

  close(): void {
    this.sock.destroy();
  }

  // ----- protocol helpers -----

  /** Read the server greeting and send client flags. */
  async greet(clientFlags = 3): Promise<{ magic: bigint; opt: bigint; flags: number }> {
    const g = await this.read(18);
    this.write(u32(clientFlags));
    return { magic: g.readBigUInt64BE(0), opt: g.readBigUInt64BE(8), flags: g.readUInt16BE(16) };
  }

  sendOption(opt: number, data: Uint8Array = Buffer.alloc(0), lengthOverride?: number): void {
    const h = Buffer.alloc(16);
    h.writeBigUInt64BE(0x49484156454f5054n, 0);
    h.writeUInt32BE(opt, 8);
    h.writeUInt32BE(lengthOverride ?? data.length, 12);
    this.write(Buffer.concat([h, data]));
  }

  async optionReply(): Promise<{ opt: number; type: number; data: Buffer }> {
    const h = await this.read(20);
    if (h.readBigUInt64BE(0) !== 0x3e889045565a9n) throw new Error('bad option reply magic');
    const len = h.readUInt32BE(16);
    return { opt: h.readUInt32BE(8), type: h.readUInt32BE(12), data: await this.read(len) };
  }

  /** Option replies up to and including the final (ACK or error) one. */
  async optionReplies(): Promise<{ opt: number; type: number; data: Buffer }[]> {
    const out = [];
    for (;;) {
      const r = await this.optionReply();
      out.push(r);
      if (r.type === 1 || r.type >= 0x8000_0000) return out;
    }
  }

  /** Negotiate (optionally) structured replies and base:allocation, then NBD_OPT_GO. Returns size and flags. */
  async go(name = '', opts: { structured?: boolean; meta?: boolean } = {}): Promise<{ size: bigint; flags: number }> {
    await this.greet();
    if (opts.structured) {
      this.sendOption(8);
      const r = await this.optionReply();
      if (r.type !== 1) throw new Error(`structured reply refused: ${r.type}`);
    }
    if (opts.meta) {
      this.sendOption(10, metaContextData(name, ['base:allocation']));
      const rs = await this.optionReplies();
      if (rs[rs.length - 1]!.type !== 1) throw new Error('meta context refused');
    }
    this.sendOption(7, infoData(name, [3]));
    const rs = await this.optionReplies();
    const last = rs[rs.length - 1]!;
    if (last.type !== 1) throw new Error(`GO refused: 0x${last.type.toString(16)} ${last.data.toString()}`);
    const exp = rs.find((r) => r.type === 3 && r.data.readUInt16BE(0) === 0)!;
    return { size: exp.data.readBigUInt64BE(2), flags: exp.data.readUInt16BE(10) };
  }

  request(type: number, offset: bigint | number, length: number, opts: { flags?: number; cookie?: bigint; payload?: Uint8Array; magic?: number } = {}): void {
    const h = Buffer.alloc(28);
    h.writeUInt32BE(opts.magic ?? 0x25609513, 0);
    h.writeUInt16BE(opts.flags ?? 0, 4);
    h.writeUInt16BE(type, 6);
    h.writeBigUInt64BE(opts.cookie ?? 1n, 8);
    h.writeBigUInt64BE(BigInt(offset), 16);
    h.writeUInt32BE(length, 24);
    this.write(opts.payload ? Buffer.concat([h, opts.payload]) : h);
  }

  async simpleReply(dataLength = 0): Promise<{ error: number; cookie: bigint; data: Buffer }> {
    const h = await this.read(16);
    if (h.readUInt32BE(0) !== 0x67446698) throw new Error(`bad simple reply magic 0x${h.readUInt32BE(0).toString(16)}`);
    const error = h.readUInt32BE(4);
    return { error, cookie: h.readBigUInt64BE(8), data: error === 0 && dataLength > 0 ? await this.read(dataLength) : Buffer.alloc(0) };
  }

  async chunk(): Promise<{ flags: number; type: number; cookie: bigint; data: Buffer }> {
    const h = await this.read(20);
    if (h.readUInt32BE(0) !== 0x668e33ef) throw new Error(`bad structured reply magic 0x${h.readUInt32BE(0).toString(16)}`);
    return { flags: h.readUInt16BE(4), type: h.readUInt16BE(6), cookie: h.readBigUInt64BE(8), data: await this.read(h.readUInt32BE(16)) };
  }

  /** All chunks of one structured reply (until the DONE flag). */
  async structuredReply(): Promise<{ flags: number; type: number; cookie: bigint; data: Buffer }[]> {
    const out = [];
    for (;;) {
      const c = await this.chunk();
      out.push(c);
      if (c.flags & 1) return out;
    }
  }
}

export function u32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v);
  return b;
}

export function infoData(name: string, reqs: number[]): Buffer {
  const n = Buffer.from(name);
  const b = Buffer.alloc(4 + n.length + 2 + 2 * reqs.length);
  b.writeUInt32BE(n.length, 0);
  n.copy(b, 4);
  b.writeUInt16BE(reqs.length, 4 + n.length);
  reqs.forEach((r, i) => b.writeUInt16BE(r, 6 + n.length + 2 * i));
  return b;
}

export function metaContextData(name: string, queries: string[]): Buffer {
  const parts = [u32(Buffer.byteLength(name)), Buffer.from(name), u32(queries.length)];
  for (const q of queries) parts.push(u32(Buffer.byteLength(q)), Buffer.from(q));
  return Buffer.concat(parts);
}
