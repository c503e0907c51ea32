import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as net from 'node:net';
import { MemoryDevice, type Extent } from '@guestkit/disk';
import { NbdServer } from '@guestkit/nbd';
import { Rng, fuzzIterations, mutate } from './support/fuzz.js';
import { RawClient, infoData, metaContextData, u32 } from '../packages/nbd/test/raw-client.js';

/**
 * Seeded mutation fuzzing of the NBD server: a valid client byte stream (handshake, options,
 * requests) is mutated and sent; the server must never crash or hang, and must keep serving
 * well-behaved clients afterwards. Any exception escaping the server would fail the run.
 */
function option(opt: number, data: Uint8Array = new Uint8Array(0)): Buffer {
  const h = Buffer.alloc(16);
  h.writeBigUInt64BE(0x49484156454f5054n, 0);
  h.writeUInt32BE(opt, 8);
  h.writeUInt32BE(data.length, 12);
  return Buffer.concat([h, data]);
}

function request(type: number, offset: number, length: number, flags = 0, payload?: Buffer): Buffer {
  const h = Buffer.alloc(28);
  h.writeUInt32BE(0x25609513, 0);
  h.writeUInt16BE(flags, 4);
  h.writeUInt16BE(type, 6);
  h.writeBigUInt64BE(BigInt(offset), 8 + 0); // cookie = offset, just to vary it
  h.writeBigUInt64BE(BigInt(offset), 16);
  h.writeUInt32BE(length, 24);
  return payload ? Buffer.concat([h, payload]) : h;
}

function validStream(): Buffer {
  return Buffer.concat([
    u32(3),
    option(8),
    option(9, metaContextData('fz', [])),
    option(10, metaContextData('fz', ['base:allocation'])),
    option(3),
    option(6, infoData('fz', [0, 1, 2, 3])),
    option(7, infoData('fz', [3])),
    request(0, 0, 4096),
    request(1, 8192, 16, 1, Buffer.alloc(16, 0x61)),
    request(7, 0, 65536, 8),
    request(6, 4096, 4096),
    request(4, 0, 4096),
    request(3, 0, 0),
    request(5, 0, 512),
    request(0, 60000, 10000),
    request(2, 0, 0),
  ]);
}

describe('NBD server under mutated client streams', () => {
  let server: NbdServer;
  let port: number;
  const dev = new MemoryDevice(1 << 16);
  (dev as MemoryDevice & { extents: (o: number, l: number) => Iterable<Extent> }).extents = function* (o: number, l: number) {
    const mid = Math.min(o + l, Math.max(o, 32768));
    if (mid > o) yield { offset: o, length: mid - o, kind: 'data' };
    if (o + l > mid) yield { offset: mid, length: o + l - mid, kind: 'zero' };
  };

  beforeAll(async () => {
    server = new NbdServer({ exports: [{ name: 'fz', device: dev, readOnly: false }], handshakeTimeoutMs: 2000 });
    port = (await server.listen({ port: 0 })).port!;
  });
  afterAll(async () => {
    await server.close({ timeoutMs: 2000 });
  });

  it('never crashes or wedges, and still serves a good client', async () => {
    const rng = new Rng(0xdecaf);
    const base = validStream();
    const n = fuzzIterations(400);
    for (let i = 0; i < n; i++) {
      const bytes = mutate(base, rng);
      await new Promise<void>((resolve) => {
        const s = net.connect(port, '127.0.0.1', () => s.end(bytes));
        s.on('data', () => {});
        s.on('error', () => resolve());
        s.on('close', () => resolve());
        // The server may legitimately wait for more bytes (a length field grew): give up after a moment.
        setTimeout(() => {
          s.destroy();
          resolve();
        }, 300);
      });
    }
    // A well-behaved client still gets correct answers.
    const c = await RawClient.connect(port);
    const { size } = await c.go('fz', { structured: true, meta: true });
    expect(size).toBe(BigInt(1 << 16));
    c.request(0, 0, 16, { cookie: 42n });
    const r = await c.structuredReply();
    expect(r[0]!.cookie).toBe(42n);
    c.close();
    // And the server is not holding on to fuzz connections.
    const deadline = Date.now() + 5000;
    while (server.connectionCount > 0 && Date.now() < deadline) await new Promise((r2) => setTimeout(r2, 50));
    expect(server.connectionCount).toBe(0);
  }, 120_000);
});
