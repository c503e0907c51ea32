import { afterEach, describe, expect, it } from 'vitest';
import { IoError, MemoryDevice, type Extent } from '@guestkit/disk';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FileDevice, OutOfRangeError, SliceDevice, createQcow2, openImage } from '@guestkit/disk';
import { NbdServer, protocol as P, withThreadPoolReads, type NbdExport } from '../src/index.js';
import { RawClient, infoData, metaContextData } from './raw-client.js';

const { Opt, Rep, Cmd, CmdFlag, Errno, ReplyType, TransmissionFlag } = P;

function pattern(n: number, seed = 1): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed * 7 + (i >> 9)) & 0xff;
  return b;
}

/** A memory device that counts flushes and can report extents and fail on demand. */
class TestDevice extends MemoryDevice {
  flushes = 0;
  discards: [number, number][] = [];
  failAt: number | undefined;
  delayMs = 0;
  extents?: (offset: number, length: number) => Iterable<Extent>;
  override flush(): void {
    this.flushes++;
  }
  override readAt(offset: number, dst: Uint8Array): void {
    if (this.delayMs) {
      const until = Date.now() + this.delayMs;
      while (Date.now() < until) {
        // a slow disk
      }
    }
    if (this.failAt !== undefined && offset <= this.failAt && this.failAt < offset + dst.length) {
      throw new IoError('IO_EIO', `simulated I/O error at ${this.failAt}`, { syscallCode: 'EIO' });
    }
    super.readAt(offset, dst);
  }
  discard(offset: number, length: number): void {
    this.discards.push([offset, length]);
  }
}

interface Running {
  server: NbdServer;
  port: number;
  clients: RawClient[];
}
let running: Running[] = [];

async function start(exports: NbdExport[], opts: { chunkBytes?: number; maxPayload?: number } = {}): Promise<Running & { client: () => Promise<RawClient> }> {
  const server = new NbdServer({ exports, ...opts });
  const info = await server.listen({ port: 0 });
  const r: Running = { server, port: info.port!, clients: [] };
  running.push(r);
  return {
    ...r,
    client: async () => {
      const c = await RawClient.connect(r.port);
      r.clients.push(c);
      return c;
    },
  };
}

afterEach(async () => {
  for (const r of running) {
    for (const c of r.clients) c.close();
    await r.server.close({ timeoutMs: 2000 });
  }
  running = [];
});

describe('NBD handshake', () => {
  it('greets with NBDMAGIC/IHAVEOPT and fixed newstyle + no zeroes', async () => {
    const s = await start([{ name: 'disk', device: new MemoryDevice(4096) }]);
    const c = await s.client();
    const g = await c.greet();
    expect(g).toEqual({ magic: 0x4e42444d41474943n, opt: 0x49484156454f5054n, flags: 3 });
  });

  it('drops a client that sets unknown flags', async () => {
    const s = await start([{ name: 'disk', device: new MemoryDevice(4096) }]);
    const c = await s.client();
    await c.greet(0x80);
    expect(await c.waitClosed()).toBe(true);
  });

  it('answers unknown options with ERR_UNSUP and keeps parsing', async () => {
    const s = await start([{ name: 'a', device: new MemoryDevice(4096) }, { name: 'b', description: 'second', device: new MemoryDevice(8192) }]);
    const c = await s.client();
    await c.greet();
    c.sendOption(99, Buffer.from('whatever'));
    expect((await c.optionReply()).type).toBe(Rep.errUnsup);
    c.sendOption(Opt.startTls);
    expect((await c.optionReply()).type).toBe(Rep.errUnsup);
    c.sendOption(Opt.extendedHeaders);
    expect((await c.optionReply()).type).toBe(Rep.errUnsup);
    c.sendOption(Opt.list, Buffer.from('x'));
    expect((await c.optionReply()).type).toBe(Rep.errInvalid);
    c.sendOption(Opt.list);
    const list = await c.optionReplies();
    expect(list.map((r) => r.type)).toEqual([Rep.server, Rep.server, Rep.ack]);
    const names = list.slice(0, 2).map((r) => r.data.subarray(4, 4 + r.data.readUInt32BE(0)).toString());
    expect(names).toEqual(['a', 'b']);
    expect(list[1]!.data.subarray(5).toString()).toBe('second');
  });

  it('validates NBD_OPT_INFO / GO data and reports unknown exports', async () => {
    const s = await start([{ name: 'disk', device: new MemoryDevice(12345) }]);
    const c = await s.client();
    await c.greet();
    c.sendOption(Opt.info, Buffer.alloc(3));
    expect((await c.optionReply()).type).toBe(Rep.errInvalid);
    const bad = infoData('disk', [1]);
    bad.writeUInt32BE(1000, 0); // name length past the data
    c.sendOption(Opt.info, bad);
    expect((await c.optionReply()).type).toBe(Rep.errInvalid);
    c.sendOption(Opt.info, Buffer.concat([infoData('disk', []), Buffer.from([0])])); // trailing byte
    expect((await c.optionReply()).type).toBe(Rep.errInvalid);
    c.sendOption(Opt.info, infoData('nope', []));
    expect((await c.optionReply()).type).toBe(Rep.errUnknown);
    c.sendOption(Opt.info, infoData('disk', [P.Info.name, P.Info.blockSize]));
    const rs = await c.optionReplies();
    expect(rs[rs.length - 1]!.type).toBe(Rep.ack);
    const exp = rs.find((r) => r.data.readUInt16BE(0) === P.Info.export)!;
    expect(exp.data.readBigUInt64BE(2)).toBe(12345n);
    expect(exp.data.readUInt16BE(10) & TransmissionFlag.readOnly).toBe(0);
    const bs = rs.find((r) => r.data.readUInt16BE(0) === P.Info.blockSize)!;
    expect([bs.data.readUInt32BE(2), bs.data.readUInt32BE(6), bs.data.readUInt32BE(10)]).toEqual([1, 4096, 32 * 1024 * 1024]);
    expect(rs.find((r) => r.data.readUInt16BE(0) === P.Info.name)!.data.subarray(2).toString()).toBe('disk');
    // The empty name is the default export.
    c.sendOption(Opt.info, infoData('', []));
    expect((await c.optionReplies()).pop()!.type).toBe(Rep.ack);
  });

  it('refuses oversized options with ERR_TOO_BIG, and hangs up on absurd ones', async () => {
    const s = await start([{ name: '', device: new MemoryDevice(4096) }]);
    const c = await s.client();
    await c.greet();
    c.sendOption(Opt.info, Buffer.alloc(100 * 1024));
    expect((await c.optionReply()).type).toBe(Rep.errTooBig);
    c.sendOption(Opt.list);
    expect((await c.optionReplies()).pop()!.type).toBe(Rep.ack);
    c.sendOption(Opt.info, Buffer.alloc(0), 0xffff_fff0);
    expect(await c.waitClosed()).toBe(true);
  });

  it('meta contexts: list, set only after structured replies, reject malformed queries', async () => {
    const s = await start([{ name: 'd', device: new MemoryDevice(4096) }]);
    const c = await s.client();
    await c.greet();
    c.sendOption(Opt.setMetaContext, metaContextData('d', ['base:allocation']));
    expect((await c.optionReply()).type).toBe(Rep.errInvalid);
    c.sendOption(Opt.listMetaContext, metaContextData('d', []));
    const l = await c.optionReplies();
    expect(l.map((r) => r.type)).toEqual([Rep.metaContext, Rep.ack]);
    expect(l[0]!.data.subarray(4).toString()).toBe('base:allocation');
    c.sendOption(Opt.listMetaContext, metaContextData('d', ['qemu:dirty-bitmap:x']));
    expect((await c.optionReplies()).map((r) => r.type)).toEqual([Rep.ack]);
    c.sendOption(Opt.listMetaContext, metaContextData('d', ['nocolon']));
    expect((await c.optionReply()).type).toBe(Rep.errInvalid);
    const trunc = metaContextData('d', ['base:allocation']);
    c.sendOption(Opt.listMetaContext, trunc.subarray(0, trunc.length - 3));
    expect((await c.optionReply()).type).toBe(Rep.errInvalid);
    c.sendOption(Opt.structuredReply);
    expect((await c.optionReply()).type).toBe(Rep.ack);
    c.sendOption(Opt.structuredReply);
    expect((await c.optionReply()).type).toBe(Rep.errInvalid);
    c.sendOption(Opt.setMetaContext, metaContextData('d', ['base:allocation']));
    const set = await c.optionReplies();
    expect(set.map((r) => r.type)).toEqual([Rep.metaContext, Rep.ack]);
    expect(set[0]!.data.readUInt32BE(0)).not.toBe(0);
  });

  it('NBD_OPT_ABORT is acknowledged, then the server closes', async () => {
    const s = await start([{ name: '', device: new MemoryDevice(4096) }]);
    const c = await s.client();
    await c.greet();
    c.sendOption(Opt.abort);
    expect((await c.optionReply()).type).toBe(Rep.ack);
    expect(await c.waitClosed()).toBe(true);
  });

  it('NBD_OPT_EXPORT_NAME: size, flags, and 124 zeros unless NO_ZEROES; unknown name closes', async () => {
    const s = await start([{ name: 'x', device: new MemoryDevice(4096) }]);
    const c = await s.client();
    await c.greet(1); // fixed newstyle, zeros wanted
    c.sendOption(Opt.exportName, Buffer.from('x'));
    const r = await c.read(10 + 124);
    expect(r.readBigUInt64BE(0)).toBe(4096n);
    expect(r.subarray(10).every((b) => b === 0)).toBe(true);
    c.request(Cmd.read, 0, 16);
    expect((await c.simpleReply(16)).error).toBe(0);
    const d = await s.client();
    await d.greet();
    d.sendOption(Opt.exportName, Buffer.from('nope'));
    expect(await d.waitClosed()).toBe(true);
  });
});

describe('NBD transmission, simple replies', () => {
  it('reads, and refuses bad requests with the protocol errors without losing sync', async () => {
    const bytes = pattern(1 << 20);
    const s = await start([{ name: '', device: new MemoryDevice(bytes, { readOnly: true }) }], { maxPayload: 64 * 1024 });
    const c = await s.client();
    const { size, flags } = await c.go();
    expect(size).toBe(BigInt(bytes.length));
    expect(flags & TransmissionFlag.readOnly).toBeTruthy();
    c.request(Cmd.read, 1000, 5000, { cookie: 7n });
    const r = await c.simpleReply(5000);
    expect([r.error, r.cookie]).toEqual([0, 7n]);
    expect(r.data.equals(Buffer.from(bytes.subarray(1000, 6000)))).toBe(true);

    const expectErr = async (errno: number) => expect((await c.simpleReply()).error).toBe(errno);
    c.request(Cmd.read, bytes.length - 10, 11);
    await expectErr(Errno.EINVAL); // past the end
    c.request(Cmd.read, 2n ** 63n, 1);
    await expectErr(Errno.EINVAL); // absurd offset
    c.request(Cmd.read, 0, 100 * 1024);
    await expectErr(Errno.EINVAL); // over the maximum payload
    c.request(Cmd.write, 0, 10, { payload: Buffer.alloc(10) });
    await expectErr(Errno.EPERM); // read-only; the payload is consumed
    c.request(Cmd.write, 0, 200 * 1024, { payload: Buffer.alloc(200 * 1024) });
    await expectErr(Errno.EINVAL); // oversized write: skipped
    c.request(Cmd.trim, 0, 10);
    await expectErr(Errno.EPERM);
    c.request(Cmd.writeZeroes, 0, 10);
    await expectErr(Errno.EPERM);
    c.request(Cmd.blockStatus, 0, 10);
    await expectErr(Errno.EINVAL); // no meta context negotiated
    c.request(77, 0, 0);
    await expectErr(Errno.EINVAL); // unknown command
    c.request(Cmd.read, 0, 10, { flags: 0x40 });
    await expectErr(Errno.EINVAL); // unknown flag
    c.request(Cmd.read, 0, 10, { flags: CmdFlag.df });
    await expectErr(Errno.EINVAL); // DF without structured replies
    c.request(Cmd.flush, 5, 0);
    await expectErr(Errno.EINVAL);
    c.request(Cmd.cache, 0, 4096);
    await expectErr(0);
    c.request(Cmd.read, 0, 0);
    await expectErr(0);
    // Still in sync after all that.
    c.request(Cmd.read, 4096, 8, { cookie: 99n });
    const last = await c.simpleReply(8);
    expect([last.error, last.cookie]).toEqual([0, 99n]);
    expect(last.data.equals(Buffer.from(bytes.subarray(4096, 4104)))).toBe(true);
    // A bad request magic cannot be recovered from: the server hangs up.
    c.request(Cmd.read, 0, 8, { magic: 0x12345678 });
    expect(await c.waitClosed()).toBe(true);
  });

  it('writes, write-zeroes, trim, flush and FUA reach the device', async () => {
    const dev = new TestDevice(1 << 20);
    const s = await start([{ name: '', device: dev }]);
    const c = await s.client();
    const { flags } = await c.go();
    expect(flags & TransmissionFlag.sendTrim).toBeTruthy();
    expect(flags & TransmissionFlag.sendWriteZeroes).toBeTruthy();
    expect(flags & TransmissionFlag.canMultiConn).toBeTruthy();
    const data = pattern(70_000, 3);
    c.request(Cmd.write, 10_000, data.length, { payload: data });
    expect((await c.simpleReply()).error).toBe(0);
    expect(Buffer.from(dev.bytes.subarray(10_000, 80_000)).equals(Buffer.from(data))).toBe(true);
    expect(dev.flushes).toBe(0);
    c.request(Cmd.write, 0, 4, { payload: Buffer.from('FUA!'), flags: CmdFlag.fua });
    expect((await c.simpleReply()).error).toBe(0);
    expect(dev.flushes).toBe(1);
    c.request(Cmd.writeZeroes, 20_000, 3000, { flags: CmdFlag.noHole });
    expect((await c.simpleReply()).error).toBe(0);
    expect(dev.bytes.subarray(20_000, 23_000).every((b) => b === 0)).toBe(true);
    expect(dev.bytes[19_999]).toBe(data[9_999]);
    c.request(Cmd.writeZeroes, 0, 10, { flags: CmdFlag.fastZero });
    expect((await c.simpleReply()).error).toBe(Errno.EINVAL); // not advertised
    c.request(Cmd.trim, 4096, 8192);
    expect((await c.simpleReply()).error).toBe(0);
    expect(dev.discards).toEqual([[4096, 8192]]);
    c.request(Cmd.write, (1 << 20) - 2, 4, { payload: Buffer.alloc(4) });
    expect((await c.simpleReply()).error).toBe(Errno.ENOSPC);
    c.request(Cmd.writeZeroes, (1 << 20) - 2, 4);
    expect((await c.simpleReply()).error).toBe(Errno.ENOSPC);
    c.request(Cmd.flush, 0, 0);
    expect((await c.simpleReply()).error).toBe(0);
    expect(dev.flushes).toBeGreaterThanOrEqual(2);
  });

  it('a device error becomes NBD_EIO and the connection goes on', async () => {
    const dev = new TestDevice(pattern(100_000));
    dev.failAt = 50_000;
    const s = await start([{ name: '', device: dev }]);
    const c = await s.client();
    await c.go();
    c.request(Cmd.read, 40_000, 20_000);
    expect((await c.simpleReply()).error).toBe(Errno.EIO);
    c.request(Cmd.read, 0, 10);
    expect((await c.simpleReply(10)).error).toBe(0);
  });
});

describe('NBD transmission, structured replies', () => {
  it('splits large reads into OFFSET_DATA chunks, honours DF, reports errors with offsets', async () => {
    const bytes = pattern(1 << 20, 5);
    const dev = new TestDevice(bytes);
    const s = await start([{ name: '', device: dev }], { chunkBytes: 64 * 1024 });
    const c = await s.client();
    const { flags } = await c.go('', { structured: true });
    expect(flags & TransmissionFlag.sendDf).toBeTruthy();
    c.request(Cmd.read, 1000, 300_000, { cookie: 5n });
    const chunks = await c.structuredReply();
    expect(chunks.length).toBe(Math.ceil(300_000 / 65536));
    const got = Buffer.alloc(300_000);
    for (const ch of chunks) {
      expect([ch.type, ch.cookie]).toEqual([ReplyType.offsetData, 5n]);
      const off = Number(ch.data.readBigUInt64BE(0)) - 1000;
      ch.data.subarray(8).copy(got, off);
    }
    expect(got.equals(Buffer.from(bytes.subarray(1000, 301_000)))).toBe(true);
    c.request(Cmd.read, 0, 300_000, { flags: CmdFlag.df });
    const one = await c.structuredReply();
    expect(one.length).toBe(1);
    expect(one[0]!.data.length).toBe(8 + 300_000);
    c.request(Cmd.read, 0, 0);
    expect((await c.structuredReply()).map((x) => x.type)).toEqual([ReplyType.none]);
    c.request(Cmd.read, 0, 2 << 20);
    const past = await c.structuredReply();
    expect([past[0]!.type, past[0]!.data.readUInt32BE(0)]).toEqual([ReplyType.error, Errno.EINVAL]);
    dev.failAt = 200_000;
    c.request(Cmd.read, 0, 300_000);
    const failed = await c.structuredReply();
    const err = failed[failed.length - 1]!;
    expect(err.type).toBe(ReplyType.errorOffset);
    expect(err.data.readUInt32BE(0)).toBe(Errno.EIO);
    const msgLen = err.data.readUInt16BE(4);
    expect(Number(err.data.readBigUInt64BE(6 + msgLen))).toBe(196_608); // the chunk that failed
    // Non-read errors come as structured error chunks too.
    c.request(Cmd.flush, 1, 0);
    const fe = await c.structuredReply();
    expect([fe[0]!.type, fe[0]!.data.readUInt32BE(0)]).toEqual([ReplyType.error, Errno.EINVAL]);
  });

  it('refuses reads over the maximum payload with EOVERFLOW', async () => {
    const s = await start([{ name: '', device: new MemoryDevice(1 << 20) }], { maxPayload: 256 * 1024 });
    const c = await s.client();
    await c.go('', { structured: true });
    c.request(Cmd.read, 0, 512 * 1024);
    const over = await c.structuredReply();
    expect([over[0]!.type, over[0]!.data.readUInt32BE(0)]).toEqual([ReplyType.error, Errno.EOVERFLOW]);
    c.request(Cmd.read, 0, 256 * 1024);
    expect((await c.structuredReply()).reduce((n, ch) => n + ch.data.length - 8, 0)).toBe(256 * 1024);
  });

  it('block status reports base:allocation from the device extents, merged and clipped', async () => {
    const dev = new TestDevice(1 << 20);
    dev.extents = function* (offset: number, length: number) {
      const map: Extent[] = [
        { offset: 0, length: 65536, kind: 'data' },
        { offset: 65536, length: 65536, kind: 'data' },
        { offset: 131072, length: 262144, kind: 'zero' },
        { offset: 393216, length: (1 << 20) - 393216, kind: 'unallocated' },
      ];
      for (const e of map) {
        const a = Math.max(e.offset, offset);
        const b = Math.min(e.offset + e.length, offset + length);
        if (a < b) yield { offset: a, length: b - a, kind: e.kind };
      }
    };
    const s = await start([{ name: 'img', device: dev }]);
    const c = await s.client();
    await c.go('img', { structured: true, meta: true });
    c.request(Cmd.blockStatus, 0, 1 << 20);
    const [bs] = await c.structuredReply();
    expect(bs!.type).toBe(ReplyType.blockStatus);
    const d = bs!.data;
    const descs = [];
    for (let p = 4; p < d.length; p += 8) descs.push([d.readUInt32BE(p), d.readUInt32BE(p + 4)]);
    expect(descs).toEqual([[131072, 0], [262144, 2], [(1 << 20) - 393216, 3]]);
    c.request(Cmd.blockStatus, 100_000, 500_000, { flags: CmdFlag.reqOne });
    const [one] = await c.structuredReply();
    expect(one!.data.length).toBe(12);
    expect([one!.data.readUInt32BE(4), one!.data.readUInt32BE(8)]).toEqual([131072 - 100_000, 0]);
    c.request(Cmd.blockStatus, (1 << 20) - 10, 11);
    expect((await c.structuredReply())[0]!.data.readUInt32BE(0)).toBe(Errno.EINVAL);
  });

  it('block status needs the context on the same export', async () => {
    const s = await start([{ name: 'a', device: new MemoryDevice(4096) }, { name: 'b', device: new MemoryDevice(4096) }]);
    const c = await s.client();
    await c.greet();
    c.sendOption(Opt.structuredReply);
    await c.optionReply();
    c.sendOption(Opt.setMetaContext, metaContextData('a', ['base:allocation']));
    await c.optionReplies();
    c.sendOption(Opt.go, infoData('b', []));
    expect((await c.optionReplies()).pop()!.type).toBe(Rep.ack);
    c.request(Cmd.blockStatus, 0, 4096);
    expect((await c.structuredReply())[0]!.data.readUInt32BE(0)).toBe(Errno.EINVAL);
  });
});

describe('NBD server behaviour', () => {
  it('serves several clients at once, and a big read does not starve a small one', async () => {
    const dev = new TestDevice(pattern(8 << 20, 9), { readOnly: true });
    dev.delayMs = 2; // every device read takes 2 ms
    const s = await start([{ name: '', device: dev }], { chunkBytes: 64 * 1024 });
    const a = await s.client();
    const b = await s.client();
    await a.go('', { structured: true });
    await b.go('', { structured: true });
    const order: string[] = [];
    a.request(Cmd.read, 0, 8 << 20, { cookie: 1n }); // 128 chunks of 2 ms
    const pa = a.structuredReply().then(() => order.push('big'));
    await new Promise((r) => setTimeout(r, 20));
    b.request(Cmd.read, 0, 4096, { cookie: 2n });
    const pb = b.structuredReply().then(() => order.push('small'));
    await Promise.all([pa, pb]);
    expect(order).toEqual(['small', 'big']);
    expect(s.server.connectionCount).toBe(2);
  });

  it('close(): finishes the request in progress, flushes written exports, disconnects clients', async () => {
    const dev = new TestDevice(4 << 20);
    dev.delayMs = 5;
    const s = await start([{ name: '', device: dev }], { chunkBytes: 64 * 1024 });
    const idle = await s.client();
    await idle.go();
    const busy = await s.client();
    await busy.go('', { structured: true });
    busy.request(Cmd.write, 0, 4, { payload: Buffer.from('data') });
    expect((await busy.structuredReply())[0]!.type).toBe(ReplyType.none);
    busy.request(Cmd.read, 0, 2 << 20, { cookie: 3n }); // 32 chunks x 5 ms
    await new Promise((r) => setTimeout(r, 30));
    const closing = s.server.close();
    const chunks = await busy.structuredReply();
    expect(chunks.reduce((n, ch) => n + ch.data.length - 8, 0)).toBe(2 << 20);
    await closing;
    expect(await idle.waitClosed()).toBe(true);
    expect(await busy.waitClosed()).toBe(true);
    expect(dev.flushes).toBeGreaterThanOrEqual(1);
    running = running.filter((r) => r.server !== s.server);
  });

  it('asynchronous reads overlap: a slow read does not hold up the next ones on the same connection', async () => {
    const bytes = pattern(1 << 20, 11);
    const dev = Object.assign(new MemoryDevice(bytes, { readOnly: true }), {
      async readAtAsync(offset: number, dst: Uint8Array): Promise<void> {
        if (offset === 0) await new Promise((r) => setTimeout(r, 200)); // the first read is slow
        dst.set(bytes.subarray(offset, offset + dst.length));
      },
    });
    const s = await start([{ name: '', device: dev }]);
    const c = await s.client();
    await c.go('', { structured: true });
    c.request(Cmd.read, 0, 4096, { cookie: 1n });
    c.request(Cmd.read, 4096, 4096, { cookie: 2n });
    c.request(Cmd.read, 8192, 4096, { cookie: 3n });
    const got = [await c.structuredReply(), await c.structuredReply(), await c.structuredReply()];
    expect(got.map((r) => r[0]!.cookie)).toEqual([2n, 3n, 1n]);
    for (const r of got) {
      const off = Number(r[0]!.data.readBigUInt64BE(0));
      expect(r[0]!.data.subarray(8).equals(Buffer.from(bytes.subarray(off, off + 4096)))).toBe(true);
    }
    // Shutdown waits for reads still running, then closes.
    c.request(Cmd.read, 0, 4096, { cookie: 4n });
    await new Promise((r) => setTimeout(r, 20));
    const closing = s.server.close();
    expect((await c.structuredReply())[0]!.cookie).toBe(4n);
    await closing;
    expect(await c.waitClosed()).toBe(true);
    running = running.filter((r) => r.server !== s.server);
  });

  it('withThreadPoolReads reads a file device through the thread pool, bounds-checked', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gk-nbd-tp-'));
    try {
      const p = path.join(dir, 'f.raw');
      fs.writeFileSync(p, Buffer.from(pattern(300_000, 4)));
      const dev = withThreadPoolReads(FileDevice.open(p, { write: true }));
      const a = new Uint8Array(100_000);
      await dev.readAtAsync!(150_000, a);
      const b = new Uint8Array(100_000);
      dev.readAt(150_000, b);
      expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
      dev.writeAt(150_000, new Uint8Array(10).fill(0xee));
      await dev.readAtAsync!(150_000, a);
      expect(a.subarray(0, 10).every((x) => x === 0xee)).toBe(true); // sees writes through the other descriptor
      await expect(dev.readAtAsync!(299_999, new Uint8Array(2))).rejects.toBeInstanceOf(OutOfRangeError);
      dev.close();
      await expect(dev.readAtAsync!(0, new Uint8Array(1))).rejects.toBeInstanceOf(IoError);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('withThreadPoolReads: qcow2 (with a backing file) and partitions read the same asynchronously', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gk-nbd-q2-'));
    try {
      const base = path.join(dir, 'base.qcow2');
      const top = path.join(dir, 'top.qcow2');
      const b = createQcow2(base, { size: 4 << 20, clusterSize: 4096 });
      b.writeAt(0, pattern(1 << 20, 1)); // backing data in the first MiB
      b.flush();
      b.close();
      const t = createQcow2(top, { backingFile: base });
      t.writeAt(512 * 1024, pattern(100_000, 2)); // overlaps the backing data
      t.writeAt(3 << 20, pattern(5000, 3));
      t.flush();
      t.close();
      const ro = withThreadPoolReads(openImage(top));
      expect(typeof ro.readAtAsync).toBe('function');
      const sync = openImage(top);
      let seed = 5;
      for (let i = 0; i < 60; i++) {
        seed = (seed * 1103515245 + 12345) % 0x8000_0000;
        const off = seed % ((4 << 20) - 1);
        const len = Math.min((4 << 20) - off, 1 + (seed % 300_000));
        const a = new Uint8Array(len);
        const s2 = new Uint8Array(len);
        await ro.readAtAsync!(off, a);
        sync.readAt(off, s2);
        expect(Buffer.from(a).equals(Buffer.from(s2)), `range ${off}+${len}`).toBe(true);
      }
      const part = withThreadPoolReads(new SliceDevice(openImage(top), 1 << 20, 2 << 20, { readOnly: true }));
      const pa = new Uint8Array(1 << 20);
      await part.readAtAsync!(0, pa);
      const ps = new Uint8Array(1 << 20);
      sync.readAt(1 << 20, ps);
      expect(Buffer.from(pa).equals(Buffer.from(ps))).toBe(true);
      await expect(part.readAtAsync!((2 << 20) - 1, new Uint8Array(2))).rejects.toBeInstanceOf(OutOfRangeError);
      // A writable qcow2 keeps synchronous reads (its mapping may change under a read).
      const rw = withThreadPoolReads(openImage(top, { write: true }));
      expect(rw.readAtAsync).toBeUndefined();
      rw.close();
      ro.close();
      sync.close();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects bad export definitions', () => {
    expect(() => new NbdServer({ exports: [] })).toThrow(/at least one export/);
    expect(() => new NbdServer({ exports: [{ name: 'a', device: new MemoryDevice(1) }, { name: 'a', device: new MemoryDevice(1) }] })).toThrow(/duplicate/);
    expect(() => new NbdServer({ exports: [{ name: 'a', readOnly: false, device: new MemoryDevice(1, { readOnly: true }) }] })).toThrow(/read-only/);
  });
});
