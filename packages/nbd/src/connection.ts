import type { Socket } from 'node:net';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import {
  ByteView, ByteWriter, GuestError, IoError, OutOfRangeError, ReadOnlyError, type Logger,
} from '@guestkit/disk/binary';
import type { BlockDevice, Extent } from '@guestkit/disk';
import {
  BASE_ALLOCATION, ClientFlag, Cmd, CmdFlag, DEFAULT_PREFERRED_BLOCK, Errno, HandshakeFlag, IHAVEOPT, Info,
  MAX_BLOCK_STATUS_DESCRIPTORS, MAX_STRING, NBDMAGIC, OPTION_HEADER, OPTION_REPLY_MAGIC, Opt, REQUEST_HEADER,
  REQUEST_MAGIC, Rep, ReplyFlag, ReplyType, SIMPLE_REPLY_HEADER, SIMPLE_REPLY_MAGIC, STRUCTURED_REPLY_HEADER,
  STRUCTURED_REPLY_MAGIC, State, TransmissionFlag,
} from './protocol.js';
import { DisconnectedError, SocketReader } from './socket-reader.js';
import { BufferPool } from './buffer-pool.js';

/** Reply buffers shared by every connection of the process. */
const pool = new BufferPool();

/** Optional device capabilities the server uses when present (duck-typed). */
export interface DeviceExtras {
  /** Deallocate a range (NBD_CMD_TRIM); contents afterwards are unspecified. */
  discard?(offset: number, length: number): void;
  /** Make a range read as zeros, cheaper than writing zeros (NBD_CMD_WRITE_ZEROES). */
  writeZeroes?(offset: number, length: number): void;
  /**
   * Read off the main thread (libuv's thread pool), so copying data does not hold up the event
   * loop and several reads run at once. Same contract as `readAt`.
   */
  readAtAsync?(offset: number, dst: Uint8Array): Promise<void>;
}

/** One export as a connection sees it. */
export interface ResolvedExport {
  name: string;
  description: string | undefined;
  device: BlockDevice & DeviceExtras;
  readOnly: boolean;
  /** Set when a write reached the device and no flush followed yet (shared by all connections). */
  dirty: { value: boolean };
}

export interface ConnectionLimits {
  maxPayload: number;
  /** Bytes read or written per step before yielding to other clients. */
  chunkBytes: number;
  /** Option payloads above this are refused with NBD_REP_ERR_TOO_BIG (and skipped). */
  maxOptionBytes: number;
  /** Option payloads above this make the server hang up (proto.md allows it against denial of service). */
  maxSkippableOptionBytes: number;
  /** Meta-context queries in one option. */
  maxQueries: number;
  handshakeTimeoutMs: number;
}

/** Context id we hand out for base:allocation. */
const ALLOCATION_CONTEXT_ID = 1;
const ZERO_CHUNK = Buffer.alloc(1024 * 1024);
/** Reads one connection may have running at once on the thread pool. */
const MAX_INFLIGHT_READS = 64;
/** Reply bytes queued on one socket before the connection stops reading requests. */
const MAX_QUEUED_REPLY_BYTES = 16 * 1024 * 1024;
/** Largest block-status descriptor, a multiple of 512 below 2^32. */
const MAX_DESCRIPTOR = 0xffff_fe00;

/** Thrown inside request handlers to answer with an NBD error. */
class NbdReplyError extends Error {
  constructor(readonly errno: number, message: string) {
    super(message);
  }
}

/**
 * One client: the fixed newstyle handshake, then the transmission phase. Requests are handled
 * one after another (the device is synchronous); large transfers are split into chunks with a
 * yield to the event loop between them so other clients keep being served.
 */
export class Connection {
  private readonly reader: SocketReader;
  private structured = false;
  private noZeroes = false;
  /** Export name the last NBD_OPT_SET_META_CONTEXT selected base:allocation for. */
  private metaExport: string | undefined;
  private exp: ResolvedExport | undefined;
  private busy = false;
  /** Asynchronous reads still running (see MAX_INFLIGHT_READS). */
  private readonly inflight = new Set<Promise<void>>();
  private shuttingDown = false;
  readonly finished: Promise<void>;

  constructor(
    private readonly sock: Socket,
    private readonly exports: () => ResolvedExport[],
    private readonly lookup: (name: string) => ResolvedExport | undefined,
    private readonly limits: ConnectionLimits,
    private readonly log: Logger,
  ) {
    this.reader = new SocketReader(sock, Math.max(64 * 1024 * 1024, 2 * limits.maxPayload));
    sock.setNoDelay(true);
    sock.on('error', (e) => this.log.debug({ err: e.message }, 'socket error'));
    this.finished = this.run();
  }

  /** Stop after the request in progress; an idle connection is closed at once. */
  shutdown(): void {
    this.shuttingDown = true;
    this.endIfShutDown();
  }

  /** Drop the connection now. */
  destroy(): void {
    this.sock.destroy();
  }

  private async run(): Promise<void> {
    try {
      if (await this.handshake()) await this.transmission();
    } catch (e) {
      if (e instanceof DisconnectedError) this.log.debug({}, e.message);
      else this.log.warn({ err: e instanceof Error ? e.message : String(e) }, 'connection dropped after an error');
    } finally {
      await this.flushIfDirty('disconnect');
      if (!this.sock.destroyed) this.sock.end();
    }
  }

  // ----- output -----

  private send(b: Uint8Array): void {
    this.sock.write(b);
  }

  /** Send a buffer that came from the pool; it goes back once the socket is done with it. */
  private sendPooled(b: Buffer): void {
    this.sock.write(b, () => pool.put(b));
  }

  /**
   * Stop taking requests while more than MAX_QUEUED_REPLY_BYTES of replies wait in the socket
   * (the client is not reading). The socket's own high-water mark (16 KiB) is far below one read
   * reply, so waiting on it would serialise the requests.
   */
  private async drain(): Promise<void> {
    if (this.sock.writableLength <= MAX_QUEUED_REPLY_BYTES || this.sock.destroyed) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        this.sock.off('drain', done);
        this.sock.off('close', done);
        resolve();
      };
      this.sock.on('drain', done);
      this.sock.on('close', done);
    });
  }

  private optionReply(opt: number, type: number, data: Uint8Array = new Uint8Array(0)): void {
    const w = ByteWriter.alloc(20 + data.length);
    w.u64be(0, OPTION_REPLY_MAGIC, 'option reply magic');
    w.u32be(8, opt, 'option');
    w.u32be(12, type, 'reply type');
    w.u32be(16, data.length, 'reply length');
    w.bytesAt(20, data, 'reply data');
    this.send(w.bytes);
  }

  private optionError(opt: number, type: number, message: string): void {
    this.log.debug({ opt, type, message }, 'option refused');
    this.optionReply(opt, type, Buffer.from(message.slice(0, MAX_STRING)));
  }

  private simpleReply(cookie: Uint8Array, error: number, payload?: Uint8Array): void {
    const w = ByteWriter.alloc(SIMPLE_REPLY_HEADER);
    w.u32be(0, SIMPLE_REPLY_MAGIC, 'reply magic');
    w.u32be(4, error, 'error');
    w.bytesAt(8, cookie, 'cookie');
    this.send(w.bytes);
    if (payload) this.send(payload);
  }

  private structuredHeader(w: ByteWriter, cookie: Uint8Array, flags: number, type: number, length: number): void {
    w.u32be(0, STRUCTURED_REPLY_MAGIC, 'reply magic');
    w.u16be(4, flags, 'reply flags');
    w.u16be(6, type, 'reply type');
    w.bytesAt(8, cookie, 'cookie');
    w.u32be(16, length, 'payload length');
  }

  private structuredChunk(cookie: Uint8Array, flags: number, type: number, payload: Uint8Array): void {
    const w = ByteWriter.alloc(STRUCTURED_REPLY_HEADER + payload.length);
    this.structuredHeader(w, cookie, flags, type, payload.length);
    w.bytesAt(STRUCTURED_REPLY_HEADER, payload, 'payload');
    this.send(w.bytes);
  }

  /** Success without data. */
  private ok(cookie: Uint8Array): void {
    if (this.structured) this.structuredChunk(cookie, ReplyFlag.done, ReplyType.none, new Uint8Array(0));
    else this.simpleReply(cookie, 0);
  }

  private errorReply(cookie: Uint8Array, errno: number, message: string): void {
    this.log.debug({ errno, message }, 'request refused');
    if (this.structured) {
      const msg = Buffer.from(message.slice(0, 1024));
      const w = ByteWriter.alloc(6 + msg.length);
      w.u32be(0, errno, 'error');
      w.u16be(4, msg.length, 'message length');
      w.bytesAt(6, msg, 'message');
      this.structuredChunk(cookie, ReplyFlag.done, ReplyType.error, w.bytes);
    } else {
      this.simpleReply(cookie, errno);
    }
  }

  // ----- handshake -----

  /** Returns true when the client chose an export and the transmission phase starts. */
  private async handshake(): Promise<boolean> {
    const timer = setTimeout(() => {
      this.log.info({}, 'handshake timed out');
      this.sock.destroy();
    }, this.limits.handshakeTimeoutMs);
    try {
      const hello = ByteWriter.alloc(18);
      hello.u64be(0, NBDMAGIC, 'NBDMAGIC');
      hello.u64be(8, IHAVEOPT, 'IHAVEOPT');
      hello.u16be(16, HandshakeFlag.fixedNewstyle | HandshakeFlag.noZeroes, 'handshake flags');
      this.send(hello.bytes);
      const clientFlags = new ByteView(await this.reader.read(4)).u32be(0, 'client flags');
      if ((clientFlags & ~(ClientFlag.fixedNewstyle | ClientFlag.noZeroes)) !== 0) {
        // proto.md: the server MUST drop the connection on unknown client flags.
        this.log.info({ clientFlags }, 'unknown client flags; closing');
        return false;
      }
      this.noZeroes = (clientFlags & ClientFlag.noZeroes) !== 0;
      for (;;) {
        const h = new ByteView(await this.reader.read(OPTION_HEADER));
        if (h.u64be(0, 'option magic') !== IHAVEOPT) {
          this.log.info({}, 'bad option magic; closing');
          return false;
        }
        const opt = h.u32be(8, 'option');
        const len = h.u32be(12, 'option length');
        if (len > this.limits.maxOptionBytes) {
          if (len > this.limits.maxSkippableOptionBytes) {
            this.log.info({ opt, len }, 'option payload too large; closing');
            return false;
          }
          await this.reader.skip(len);
          this.optionError(opt, Rep.errTooBig, `option payload of ${len} bytes is larger than ${this.limits.maxOptionBytes}`);
          continue;
        }
        const data = await this.reader.read(len);
        if (this.shuttingDown && opt !== Opt.abort) {
          this.optionError(opt, Rep.errShutdown, 'server is shutting down');
          continue;
        }
        const next = this.option(opt, data);
        await this.drain();
        if (next === 'transmit') return true;
        if (next === 'close') return false;
      }
    } finally {
      clearTimeout(timer);
    }
  }

  private option(opt: number, data: Buffer): 'continue' | 'transmit' | 'close' {
    switch (opt) {
      case Opt.exportName: {
        const name = data.toString('utf8');
        const e = this.lookup(name);
        if (!e) {
          // No way to report an error to NBD_OPT_EXPORT_NAME: the spec says hang up.
          this.log.info({ name }, 'unknown export requested with NBD_OPT_EXPORT_NAME; closing');
          return 'close';
        }
        this.enter(e);
        const w = ByteWriter.alloc(10 + (this.noZeroes ? 0 : 124));
        w.u64be(0, e.device.size, 'export size');
        w.u16be(8, this.transmissionFlags(e), 'transmission flags');
        this.send(w.bytes);
        return 'transmit';
      }
      case Opt.abort:
        this.optionReply(opt, Rep.ack);
        return 'close';
      case Opt.list: {
        if (data.length !== 0) {
          this.optionError(opt, Rep.errInvalid, 'NBD_OPT_LIST takes no data');
          return 'continue';
        }
        for (const e of this.exports()) {
          const name = Buffer.from(e.name);
          const desc = Buffer.from(e.description ?? '');
          const w = ByteWriter.alloc(4 + name.length + desc.length);
          w.u32be(0, name.length, 'name length');
          w.bytesAt(4, name, 'name');
          w.bytesAt(4 + name.length, desc, 'description');
          this.optionReply(opt, Rep.server, w.bytes);
        }
        this.optionReply(opt, Rep.ack);
        return 'continue';
      }
      case Opt.info:
      case Opt.go:
        return this.infoOrGo(opt, data);
      case Opt.structuredReply:
        if (data.length !== 0) this.optionError(opt, Rep.errInvalid, 'NBD_OPT_STRUCTURED_REPLY takes no data');
        else if (this.structured) this.optionError(opt, Rep.errInvalid, 'structured replies are already negotiated');
        else {
          this.structured = true;
          this.optionReply(opt, Rep.ack);
        }
        return 'continue';
      case Opt.listMetaContext:
      case Opt.setMetaContext:
        this.metaContext(opt, data);
        return 'continue';
      case Opt.startTls:
        this.optionError(opt, Rep.errUnsup, 'TLS is not supported by this server');
        return 'continue';
      default:
        this.optionError(opt, Rep.errUnsup, `option ${opt} is not supported`);
        return 'continue';
    }
  }

  private infoOrGo(opt: number, data: Buffer): 'continue' | 'transmit' {
    const v = new ByteView(data);
    if (data.length < 6) {
      this.optionError(opt, Rep.errInvalid, 'option data shorter than 6 bytes');
      return 'continue';
    }
    const nameLen = v.u32be(0, 'name length');
    if (nameLen > data.length - 6) {
      this.optionError(opt, Rep.errInvalid, 'export name length exceeds the option data');
      return 'continue';
    }
    const name = data.subarray(4, 4 + nameLen).toString('utf8');
    const nReq = v.u16be(4 + nameLen, 'information request count');
    if (data.length !== 6 + nameLen + 2 * nReq) {
      this.optionError(opt, Rep.errInvalid, `option length ${data.length} does not match ${nReq} information requests`);
      return 'continue';
    }
    const reqs = new Set<number>();
    for (let i = 0; i < nReq; i++) reqs.add(v.u16be(6 + nameLen + 2 * i, 'information request'));
    const e = this.lookup(name);
    if (!e) {
      this.optionError(opt, Rep.errUnknown, `no export named ${JSON.stringify(name)}`);
      return 'continue';
    }
    const ex = ByteWriter.alloc(12);
    ex.u16be(0, Info.export, 'info type');
    ex.u64be(2, e.device.size, 'export size');
    // Flags as they will be in the transmission phase (structured replies already negotiated or not).
    ex.u16be(10, this.transmissionFlags(e), 'transmission flags');
    this.optionReply(opt, Rep.info, ex.bytes);
    if (reqs.has(Info.name)) {
      const n = Buffer.from(e.name);
      const w = ByteWriter.alloc(2 + n.length);
      w.u16be(0, Info.name, 'info type');
      w.bytesAt(2, n, 'name');
      this.optionReply(opt, Rep.info, w.bytes);
    }
    if (reqs.has(Info.description) && e.description) {
      const d = Buffer.from(e.description.slice(0, MAX_STRING));
      const w = ByteWriter.alloc(2 + d.length);
      w.u16be(0, Info.description, 'info type');
      w.bytesAt(2, d, 'description');
      this.optionReply(opt, Rep.info, w.bytes);
    }
    // Always sent (the spec allows unrequested info); our minimum block size is 1, the default.
    const bs = ByteWriter.alloc(14);
    bs.u16be(0, Info.blockSize, 'info type');
    bs.u32be(2, 1, 'minimum block size');
    bs.u32be(6, DEFAULT_PREFERRED_BLOCK, 'preferred block size');
    bs.u32be(10, this.limits.maxPayload, 'maximum payload');
    this.optionReply(opt, Rep.info, bs.bytes);
    this.optionReply(opt, Rep.ack);
    if (opt === Opt.go) {
      this.enter(e);
      return 'transmit';
    }
    return 'continue';
  }

  private metaContext(opt: number, data: Buffer): void {
    const set = opt === Opt.setMetaContext;
    if (set) this.metaExport = undefined; // "replaces all previously-set metadata contexts (including when this command fails)"
    if (set && !this.structured) {
      this.optionError(opt, Rep.errInvalid, 'negotiate NBD_OPT_STRUCTURED_REPLY before NBD_OPT_SET_META_CONTEXT');
      return;
    }
    const v = new ByteView(data);
    if (data.length < 8) {
      this.optionError(opt, Rep.errInvalid, 'option data shorter than 8 bytes');
      return;
    }
    const nameLen = v.u32be(0, 'name length');
    if (nameLen > data.length - 8) {
      this.optionError(opt, Rep.errInvalid, 'export name length exceeds the option data');
      return;
    }
    const name = data.subarray(4, 4 + nameLen).toString('utf8');
    const nq = v.u32be(4 + nameLen, 'query count');
    if (nq > this.limits.maxQueries) {
      this.optionError(opt, Rep.errTooBig, `${nq} queries is more than ${this.limits.maxQueries}`);
      return;
    }
    const queries: string[] = [];
    let p = 8 + nameLen;
    for (let i = 0; i < nq; i++) {
      if (p + 4 > data.length) {
        this.optionError(opt, Rep.errInvalid, 'query list runs past the option data');
        return;
      }
      const ql = v.u32be(p, 'query length');
      if (ql > data.length - p - 4) {
        this.optionError(opt, Rep.errInvalid, 'query runs past the option data');
        return;
      }
      queries.push(data.subarray(p + 4, p + 4 + ql).toString('utf8'));
      p += 4 + ql;
    }
    if (p !== data.length) {
      this.optionError(opt, Rep.errInvalid, 'trailing bytes after the query list');
      return;
    }
    if (queries.some((q) => !q.includes(':'))) {
      this.optionError(opt, Rep.errInvalid, 'a query lacks the namespace colon');
      return;
    }
    const e = this.lookup(name);
    if (!e) {
      this.optionError(opt, Rep.errUnknown, `no export named ${JSON.stringify(name)}`);
      return;
    }
    let match: boolean;
    if (set) match = queries.includes(BASE_ALLOCATION);
    else match = queries.length === 0 || queries.some((q) => q === 'base:' || q === BASE_ALLOCATION);
    if (match) {
      const n = Buffer.from(BASE_ALLOCATION);
      const w = ByteWriter.alloc(4 + n.length);
      w.u32be(0, set ? ALLOCATION_CONTEXT_ID : 0, 'context id');
      w.bytesAt(4, n, 'context name');
      this.optionReply(opt, Rep.metaContext, w.bytes);
      if (set) this.metaExport = e.name;
    }
    this.optionReply(opt, Rep.ack);
  }

  private enter(e: ResolvedExport): void {
    this.exp = e;
    // Block status is only for the export the meta context was selected on.
    if (this.metaExport !== e.name) this.metaExport = undefined;
    this.log.info({ export: e.name, size: e.device.size, readOnly: e.readOnly, structured: this.structured }, 'client entered transmission');
  }

  private transmissionFlags(e: ResolvedExport): number {
    let f = TransmissionFlag.hasFlags | TransmissionFlag.sendFlush | TransmissionFlag.sendFua | TransmissionFlag.sendCache;
    // Every connection shares one device object, so flush and FUA are visible to all of them at once.
    f |= TransmissionFlag.canMultiConn;
    if (e.readOnly) f |= TransmissionFlag.readOnly;
    else f |= TransmissionFlag.sendTrim | TransmissionFlag.sendWriteZeroes;
    if (this.structured) f |= TransmissionFlag.sendDf;
    return f;
  }

  // ----- transmission -----

  private async transmission(): Promise<void> {
    const e = this.exp!;
    try {
      for (;;) {
        if (this.shuttingDown) return;
        const h = new ByteView(await this.reader.read(REQUEST_HEADER));
        this.busy = true;
        try {
          if (h.u32be(0, 'request magic') !== REQUEST_MAGIC) {
            // Without a valid header we cannot find the next one: a hard disconnect is all that is left.
            this.log.info({}, 'bad request magic; closing');
            return;
          }
          const flags = h.u16be(4, 'command flags');
          const type = h.u16be(6, 'command type');
          const cookie = h.copyAt(8, 8, 'cookie');
          const offsetBig = h.u64be(16, 'offset');
          const length = h.u32be(24, 'length');
          if (type === Cmd.disc) {
            this.log.debug({}, 'NBD_CMD_DISC');
            return;
          }
          if (type === Cmd.read && e.device.readAtAsync) {
            // Reads that run on the thread pool overlap with the next requests (replies may come
            // out of order; the protocol allows it). Everything else runs in arrival order.
            const p: Promise<void> = this.request(e, type, flags, cookie, offsetBig, length).finally(() => {
              this.inflight.delete(p);
              this.endIfShutDown();
            });
            this.inflight.add(p);
            if (this.inflight.size >= MAX_INFLIGHT_READS) await Promise.race(this.inflight);
          } else {
            await this.request(e, type, flags, cookie, offsetBig, length);
          }
          await this.drain();
        } finally {
          this.busy = false;
        }
      }
    } finally {
      await Promise.all(this.inflight);
    }
  }

  /** During shutdown, close the connection once nothing is in progress. */
  private endIfShutDown(): void {
    if (this.shuttingDown && !this.busy && this.inflight.size === 0 && !this.sock.destroyed) this.sock.end();
  }

  private async request(e: ResolvedExport, type: number, flags: number, cookie: Uint8Array, offsetBig: bigint, length: number): Promise<void> {
    const size = e.device.size;
    const inRange = offsetBig + BigInt(length) <= BigInt(size);
    const offset = inRange ? Number(offsetBig) : -1;
    const fua = (flags & CmdFlag.fua) !== 0;
    try {
      switch (type) {
        case Cmd.read: {
          const allowed = CmdFlag.fua | (this.structured ? CmdFlag.df : 0);
          if (flags & ~allowed) throw new NbdReplyError(Errno.EINVAL, `unsupported flags 0x${flags.toString(16)} for NBD_CMD_READ`);
          if (!inRange) throw new NbdReplyError(Errno.EINVAL, `read of ${length} bytes at ${offsetBig} is past the end (${size})`);
          if (length > this.limits.maxPayload) {
            throw new NbdReplyError(this.structured ? Errno.EOVERFLOW : Errno.EINVAL, `read of ${length} bytes exceeds the maximum payload ${this.limits.maxPayload}`);
          }
          await this.read(e, cookie, offset, length, (flags & CmdFlag.df) !== 0);
          return;
        }
        case Cmd.write: {
          // The payload follows the header whatever we answer; consume it first.
          if (length > this.limits.maxPayload) {
            await this.reader.skip(length);
            throw new NbdReplyError(Errno.EINVAL, `write of ${length} bytes exceeds the maximum payload ${this.limits.maxPayload}`);
          }
          const data = await this.reader.read(length);
          if (e.readOnly) throw new NbdReplyError(Errno.EPERM, 'the export is read-only');
          if (flags & ~CmdFlag.fua) throw new NbdReplyError(Errno.EINVAL, `unsupported flags 0x${flags.toString(16)} for NBD_CMD_WRITE`);
          if (!inRange) throw new NbdReplyError(Errno.ENOSPC, `write of ${length} bytes at ${offsetBig} is past the end (${size})`);
          for (let p = 0; p < length; p += this.limits.chunkBytes) {
            if (p > 0) await yieldToLoop();
            const n = Math.min(this.limits.chunkBytes, length - p);
            e.dirty.value = true;
            e.device.writeAt(offset + p, data.subarray(p, p + n));
          }
          if (fua) this.flushDevice(e);
          this.ok(cookie);
          return;
        }
        case Cmd.flush:
          if (flags & ~CmdFlag.fua) throw new NbdReplyError(Errno.EINVAL, `unsupported flags 0x${flags.toString(16)} for NBD_CMD_FLUSH`);
          if (offsetBig !== 0n || length !== 0) throw new NbdReplyError(Errno.EINVAL, 'NBD_CMD_FLUSH must have offset and length 0');
          this.flushDevice(e);
          this.ok(cookie);
          return;
        case Cmd.trim:
          if (e.readOnly) throw new NbdReplyError(Errno.EPERM, 'the export is read-only');
          if (flags & ~CmdFlag.fua) throw new NbdReplyError(Errno.EINVAL, `unsupported flags 0x${flags.toString(16)} for NBD_CMD_TRIM`);
          if (!inRange) throw new NbdReplyError(Errno.EINVAL, `trim of ${length} bytes at ${offsetBig} is past the end (${size})`);
          // A hint: devices that can deallocate do; the others keep the data (allowed by the spec).
          if (e.device.discard && length > 0) {
            e.dirty.value = true;
            e.device.discard(offset, length);
            if (fua) this.flushDevice(e);
          }
          this.ok(cookie);
          return;
        case Cmd.cache:
          if (flags & ~CmdFlag.fua) throw new NbdReplyError(Errno.EINVAL, `unsupported flags 0x${flags.toString(16)} for NBD_CMD_CACHE`);
          if (!inRange) throw new NbdReplyError(Errno.EINVAL, `cache of ${length} bytes at ${offsetBig} is past the end (${size})`);
          this.ok(cookie);
          return;
        case Cmd.writeZeroes:
          if (e.readOnly) throw new NbdReplyError(Errno.EPERM, 'the export is read-only');
          if (flags & ~(CmdFlag.fua | CmdFlag.noHole)) throw new NbdReplyError(Errno.EINVAL, `unsupported flags 0x${flags.toString(16)} for NBD_CMD_WRITE_ZEROES`);
          if (!inRange) throw new NbdReplyError(Errno.ENOSPC, `write-zeroes of ${length} bytes at ${offsetBig} is past the end (${size})`);
          await this.writeZeroes(e, offset, length);
          if (fua) this.flushDevice(e);
          this.ok(cookie);
          return;
        case Cmd.blockStatus:
          if (this.metaExport === undefined) throw new NbdReplyError(Errno.EINVAL, 'no metadata context was negotiated for this export');
          if (flags & ~(CmdFlag.fua | CmdFlag.reqOne)) throw new NbdReplyError(Errno.EINVAL, `unsupported flags 0x${flags.toString(16)} for NBD_CMD_BLOCK_STATUS`);
          if (!inRange || length === 0) throw new NbdReplyError(Errno.EINVAL, `block status of ${length} bytes at ${offsetBig} is outside the export (${size})`);
          this.blockStatus(e, cookie, offset, length, (flags & CmdFlag.reqOne) !== 0);
          return;
        default:
          throw new NbdReplyError(Errno.EINVAL, `unknown command ${type}`);
      }
    } catch (err) {
      if (err instanceof DisconnectedError) throw err;
      if (err instanceof NbdReplyError) {
        this.errorReply(cookie, err.errno, err.message);
        return;
      }
      const errno = errnoFor(err);
      this.log.warn({ err: err instanceof Error ? err.message : String(err), type, offset: String(offsetBig), length }, 'request failed');
      this.errorReply(cookie, errno, err instanceof Error ? err.message : String(err));
    }
  }

  private flushDevice(e: ResolvedExport): void {
    e.device.flush();
    e.dirty.value = false;
  }

  private async flushIfDirty(why: string): Promise<void> {
    const e = this.exp;
    if (!e || e.readOnly || !e.dirty.value) return;
    try {
      this.flushDevice(e);
      this.log.debug({ why }, 'flushed');
    } catch (err) {
      this.log.error({ err: err instanceof Error ? err.message : String(err) }, `flush on ${why} failed`);
    }
  }

  private async read(e: ResolvedExport, cookie: Uint8Array, offset: number, length: number, df: boolean): Promise<void> {
    const chunk = this.limits.chunkBytes;
    const dev = e.device;
    const readInto = dev.readAtAsync
      ? (o: number, d: Uint8Array) => dev.readAtAsync!(o, d)
      : async (o: number, d: Uint8Array, first: boolean) => {
          if (!first) await yieldToLoop();
          dev.readAt(o, d);
        };
    if (!this.structured) {
      // Simple reply: header then all the data; read everything first so an error can still be reported.
      const out = pool.get(SIMPLE_REPLY_HEADER + length);
      for (let p = 0; p < length; p += chunk) {
        await readInto(offset + p, out.subarray(SIMPLE_REPLY_HEADER + p, SIMPLE_REPLY_HEADER + Math.min(length, p + chunk)), p === 0);
      }
      const w = new ByteWriter(out.subarray(0, SIMPLE_REPLY_HEADER));
      w.u32be(0, SIMPLE_REPLY_MAGIC, 'reply magic');
      w.u32be(4, 0, 'error');
      w.bytesAt(8, cookie, 'cookie');
      this.sendPooled(out);
      return;
    }
    if (length === 0) {
      this.structuredChunk(cookie, ReplyFlag.done, ReplyType.none, new Uint8Array(0));
      return;
    }
    // Structured: one OFFSET_DATA chunk per `chunk` bytes (one in all with DF), the last marked DONE.
    const per = df ? length : chunk;
    for (let p = 0; p < length; p += per) {
      const n = Math.min(per, length - p);
      const out = pool.get(STRUCTURED_REPLY_HEADER + 8 + n);
      try {
        for (let q = 0; q < n; q += chunk) {
          const k = Math.min(chunk, n - q);
          await readInto(offset + p + q, out.subarray(STRUCTURED_REPLY_HEADER + 8 + q, STRUCTURED_REPLY_HEADER + 8 + q + k), p + q === 0);
        }
      } catch (err) {
        if (err instanceof DisconnectedError) throw err;
        this.log.warn({ err: err instanceof Error ? err.message : String(err), offset: offset + p }, 'read failed');
        const msg = Buffer.from((err instanceof Error ? err.message : String(err)).slice(0, 1024));
        const w = ByteWriter.alloc(14 + msg.length);
        w.u32be(0, errnoFor(err), 'error');
        w.u16be(4, msg.length, 'message length');
        w.bytesAt(6, msg, 'message');
        w.u64be(6 + msg.length, offset + p, 'error offset');
        this.structuredChunk(cookie, ReplyFlag.done, ReplyType.errorOffset, w.bytes);
        return;
      }
      const w = new ByteWriter(out.subarray(0, STRUCTURED_REPLY_HEADER + 8));
      this.structuredHeader(w, cookie, p + n >= length ? ReplyFlag.done : 0, ReplyType.offsetData, 8 + n);
      w.u64be(STRUCTURED_REPLY_HEADER, offset + p, 'data offset');
      this.sendPooled(out);
    }
  }

  private async writeZeroes(e: ResolvedExport, offset: number, length: number): Promise<void> {
    if (length === 0) return;
    e.dirty.value = true;
    if (e.device.writeZeroes) {
      e.device.writeZeroes(offset, length);
      return;
    }
    let sinceYield = 0;
    for (let p = 0; p < length; p += ZERO_CHUNK.length) {
      const n = Math.min(ZERO_CHUNK.length, length - p);
      e.device.writeAt(offset + p, ZERO_CHUNK.subarray(0, n));
      sinceYield += n;
      if (sinceYield >= this.limits.chunkBytes) {
        sinceYield = 0;
        await yieldToLoop();
      }
    }
  }

  private blockStatus(e: ResolvedExport, cookie: Uint8Array, offset: number, length: number, reqOne: boolean): void {
    const descs: number[] = [];
    const push = (len: number, flags: number) => {
      const n = descs.length;
      if (n >= 2 && descs[n - 1] === flags && descs[n - 2]! + len <= MAX_DESCRIPTOR) {
        descs[n - 2] = descs[n - 2]! + len;
        return;
      }
      descs.push(len, flags);
    };
    const extents: Iterable<Extent> = e.device.extents ? e.device.extents(offset, length) : [{ offset, length, kind: 'data' }];
    let covered = 0;
    for (const x of extents) {
      let len = x.length;
      if (len <= 0) continue;
      const flags = x.kind === 'data' ? 0 : x.kind === 'zero' ? State.zero : State.hole | State.zero;
      while (len > 0) {
        const n = Math.min(len, MAX_DESCRIPTOR);
        push(n, flags);
        len -= n;
        covered += n;
      }
      if (reqOne || descs.length / 2 >= MAX_BLOCK_STATUS_DESCRIPTORS || covered >= length) break;
    }
    if (descs.length === 0) push(length, 0);
    if (reqOne) {
      descs.length = 2;
      descs[0] = Math.min(descs[0]!, length);
    }
    const count = Math.min(descs.length / 2, MAX_BLOCK_STATUS_DESCRIPTORS);
    const w = ByteWriter.alloc(4 + 8 * count);
    w.u32be(0, ALLOCATION_CONTEXT_ID, 'context id');
    for (let i = 0; i < count; i++) {
      w.u32be(4 + 8 * i, descs[2 * i]!, 'extent length');
      w.u32be(8 + 8 * i, descs[2 * i + 1]!, 'status flags');
    }
    this.structuredChunk(cookie, ReplyFlag.done, ReplyType.blockStatus, w.bytes);
  }
}

/** Map a device error to the NBD error a client should see. */
export function errnoFor(err: unknown): number {
  if (err instanceof ReadOnlyError) return Errno.EPERM;
  if (err instanceof OutOfRangeError) return Errno.EINVAL;
  if (err instanceof IoError) {
    const sys = (err.details as { syscallCode?: string }).syscallCode;
    if (sys === 'ENOSPC' || sys === 'EDQUOT' || sys === 'EFBIG') return Errno.ENOSPC;
    if (sys === 'ENOMEM') return Errno.ENOMEM;
    return Errno.EIO;
  }
  if (err instanceof GuestError) return Errno.EIO;
  return Errno.EIO;
}
