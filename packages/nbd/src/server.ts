import * as fs from 'node:fs';
import * as net from 'node:net';
import { IoError, UsageError, nullLogger, type Logger } from '@guestkit/disk/binary';
import type { BlockDevice } from '@guestkit/disk';
import { Connection, type ConnectionLimits, type DeviceExtras, type ResolvedExport } from './connection.js';
import { NbdCode } from './errors.js';
import { DEFAULT_MAX_PAYLOAD, MAX_STRING } from './protocol.js';

/** One export: a name and the device behind it. */
export interface NbdExport {
  /** Export name clients ask for ("" is always the default export, the first one). */
  name: string;
  /** Shown by `nbdinfo --list` / NBD_INFO_DESCRIPTION. */
  description?: string;
  device: BlockDevice & DeviceExtras;
  /** Serve read-only even when the device is writable (default: the device's own `readOnly`). */
  readOnly?: boolean;
}

export interface NbdServerOptions {
  exports: NbdExport[];
  logger?: Logger;
  /** Largest read or write request accepted (default 32 MiB, the protocol's recommended minimum). */
  maxPayload?: number;
  /** Bytes moved per step before yielding to other clients (default 1 MiB). */
  chunkBytes?: number;
  /** Concurrent connections (default 64); more are refused at accept. */
  maxConnections?: number;
  /** A client that has not chosen an export after this long is dropped (default 30 s). */
  handshakeTimeoutMs?: number;
}

export type ListenTarget = { port: number; host?: string } | { path: string };

export interface ListenInfo {
  /** nbd:// URI of the default export, e.g. nbd://127.0.0.1:10809/ or nbd+unix:///?socket=/tmp/s */
  uri: string;
  host?: string;
  port?: number;
  path?: string;
}

/** The IANA port for NBD. */
export const NBD_PORT = 10809;

/**
 * An NBD server (fixed newstyle handshake; NBD_OPT_GO/INFO/LIST/STRUCTURED_REPLY/ABORT,
 * base:allocation block status; read, write, flush, trim, cache, write-zeroes with FUA) for any
 * number of BlockDevices. Listens on loopback unless told otherwise. `close()` stops accepting,
 * lets requests in progress finish, flushes writable devices and closes the connections.
 */
export class NbdServer {
  private readonly exportList: ResolvedExport[];
  private readonly byName = new Map<string, ResolvedExport>();
  private readonly conns = new Set<Connection>();
  private server: net.Server | undefined;
  private socketPath: string | undefined;
  private closing: Promise<void> | undefined;
  private readonly log: Logger;
  private readonly limits: ConnectionLimits;
  private nextId = 1;

  constructor(private readonly opts: NbdServerOptions) {
    this.log = opts.logger ?? nullLogger;
    if (opts.exports.length === 0) throw new UsageError(NbdCode.BadExport, 'an NBD server needs at least one export');
    this.exportList = opts.exports.map((e) => ({
      name: e.name,
      description: e.description,
      device: e.device,
      readOnly: e.readOnly ?? e.device.readOnly,
      dirty: { value: false },
    }));
    for (const e of this.exportList) {
      if (Buffer.byteLength(e.name) > MAX_STRING) throw new UsageError(NbdCode.BadExport, `export name longer than ${MAX_STRING} bytes`);
      if (this.byName.has(e.name)) throw new UsageError(NbdCode.BadExport, `duplicate export name ${JSON.stringify(e.name)}`);
      if (!e.readOnly && e.device.readOnly) throw new UsageError(NbdCode.BadExport, `export ${JSON.stringify(e.name)}: the device is read-only`);
      this.byName.set(e.name, e);
    }
    const maxPayload = opts.maxPayload ?? DEFAULT_MAX_PAYLOAD;
    this.limits = {
      maxPayload,
      chunkBytes: Math.min(opts.chunkBytes ?? 1024 * 1024, maxPayload),
      maxOptionBytes: 64 * 1024,
      maxSkippableOptionBytes: 16 * 1024 * 1024,
      maxQueries: 1024,
      handshakeTimeoutMs: opts.handshakeTimeoutMs ?? 30_000,
    };
  }

  /** Connections currently open. */
  get connectionCount(): number {
    return this.conns.size;
  }

  private lookup(name: string): ResolvedExport | undefined {
    return name === '' ? this.byName.get('') ?? this.exportList[0] : this.byName.get(name);
  }

  /** Start listening. TCP defaults to 127.0.0.1; port 0 picks a free port (see the returned info). */
  async listen(target: ListenTarget): Promise<ListenInfo> {
    if (this.server) throw new UsageError(NbdCode.ListenFailed, 'the server is already listening');
    const server = net.createServer({ noDelay: true }, (sock) => this.accept(sock));
    server.maxConnections = this.opts.maxConnections ?? 64;
    if ('path' in target) await prepareSocketPath(target.path);
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e) => reject(new IoError(NbdCode.ListenFailed, `cannot listen on ${describe(target)}: ${e.message}`, {}, { cause: e })));
      if ('path' in target) server.listen(target.path, () => resolve());
      else server.listen(target.port, target.host ?? '127.0.0.1', () => resolve());
    });
    server.on('error', (e) => this.log.error({ err: e.message }, 'server error'));
    this.server = server;
    const def = encodeURIComponent(this.exportList[0]!.name);
    if ('path' in target) {
      this.socketPath = target.path;
      return { uri: `nbd+unix:///${def}?socket=${target.path}`, path: target.path };
    }
    const addr = server.address() as net.AddressInfo;
    const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
    this.log.info({ host: addr.address, port: addr.port }, 'listening');
    return { uri: `nbd://${host}:${addr.port}/${def}`, host: addr.address, port: addr.port };
  }

  private accept(sock: net.Socket): void {
    if (this.closing) {
      sock.destroy();
      return;
    }
    const id = this.nextId++;
    const log = this.log.child({ conn: id, peer: sock.remoteAddress ?? 'unix' });
    log.info({}, 'client connected');
    const c = new Connection(sock, () => this.exportList, (n) => this.lookup(n), this.limits, log);
    this.conns.add(c);
    void c.finished.then(() => {
      this.conns.delete(c);
      log.info({}, 'client disconnected');
    });
  }

  /**
   * Graceful shutdown: stop accepting, let each connection finish its request in progress, flush
   * every writable export, and (with `closeDevices`) close the devices. Connections still open
   * after `timeoutMs` are dropped. Safe to call more than once.
   */
  close(opts: { timeoutMs?: number; closeDevices?: boolean } = {}): Promise<void> {
    this.closing ??= this.doClose(opts.timeoutMs ?? 10_000, opts.closeDevices ?? false);
    return this.closing;
  }

  private async doClose(timeoutMs: number, closeDevices: boolean): Promise<void> {
    const server = this.server;
    const stopped = server ? new Promise<void>((r) => server.close(() => r())) : Promise.resolve();
    for (const c of this.conns) c.shutdown();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), timeoutMs)));
    const all = Promise.all([...this.conns].map((c) => c.finished)).then(() => 'done' as const);
    if ((await Promise.race([all, timeout])) === 'timeout') {
      this.log.warn({ open: this.conns.size }, 'connections did not finish in time; dropping them');
      for (const c of this.conns) c.destroy();
      await all;
    }
    clearTimeout(timer);
    await stopped;
    if (this.socketPath) {
      try {
        fs.unlinkSync(this.socketPath);
      } catch {
        // already removed by the runtime
      }
    }
    for (const e of this.exportList) {
      if (!e.readOnly) {
        try {
          e.device.flush();
        } catch (err) {
          this.log.error({ export: e.name, err: err instanceof Error ? err.message : String(err) }, 'flush at shutdown failed');
          throw err;
        }
      }
      if (closeDevices) e.device.close();
    }
    this.log.info({}, 'server closed');
  }
}

function describe(t: ListenTarget): string {
  return 'path' in t ? t.path : `${t.host ?? '127.0.0.1'}:${t.port}`;
}

/** Refuse to clobber anything but a stale socket (one nobody listens on, left over from a crash) at `p`. */
async function prepareSocketPath(p: string): Promise<void> {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(p);
  } catch {
    return;
  }
  if (!st.isSocket()) {
    throw new UsageError(NbdCode.ListenFailed, `${p} exists and is not a socket; refusing to replace it`, { path: p });
  }
  const live = await new Promise<boolean>((resolve) => {
    const s = net.connect(p);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
  if (live) throw new UsageError(NbdCode.ListenFailed, `${p} is in use by another server`, { path: p });
  fs.unlinkSync(p);
}
