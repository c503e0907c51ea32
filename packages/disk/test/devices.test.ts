import { describe, expect, it } from 'vitest';
import { writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MemoryDevice, SliceDevice, FileDevice, OutOfRangeError, ReadOnlyError, IoError, readBytes } from '../src/index.js';
import { tempDir } from '../../../test/support/shared.js';
import { EarlyWriteback, EARLY_WRITEBACK_BYTES, type WritebackIo } from '../src/device/early-writeback.js';

describe('MemoryDevice', () => {
  it('reads, writes and checks ranges', () => {
    const d = new MemoryDevice(16);
    d.writeAt(4, new Uint8Array([1, 2, 3]));
    expect([...readBytes(d, 3, 5)]).toEqual([0, 1, 2, 3, 0]);
    expect(() => d.readAt(15, new Uint8Array(2))).toThrow(OutOfRangeError);
    expect(() => d.writeAt(-1, new Uint8Array(1))).toThrow(OutOfRangeError);
    const ro = new MemoryDevice(4, { readOnly: true });
    expect(() => ro.writeAt(0, new Uint8Array(1))).toThrow(ReadOnlyError);
  });
});

describe('SliceDevice', () => {
  it('is a bounds-checked window', () => {
    const d = new MemoryDevice(Uint8Array.from({ length: 32 }, (_, i) => i));
    const s = new SliceDevice(d, 8, 8, { name: 'p1' });
    expect([...readBytes(s, 0, 2)]).toEqual([8, 9]);
    expect(() => s.readAt(7, new Uint8Array(2))).toThrow(/p1: read of 2 bytes at 0x7/);
    s.writeAt(7, new Uint8Array([99]));
    expect(d.bytes[15]).toBe(99);
    expect(() => new SliceDevice(d, 30, 4)).toThrow(OutOfRangeError);
    expect([...s.extents(0, 8)]).toEqual([{ offset: 0, length: 8, kind: 'data' }]);
  });
});

describe('FileDevice', () => {
  it('opens read-only by default and reads/writes positionally', () => {
    const t = tempDir();
    try {
      const p = join(t.dir, 'img');
      writeFileSync(p, Buffer.from('hello world'));
      const ro = FileDevice.open(p);
      expect(ro.readOnly).toBe(true);
      expect(Buffer.from(readBytes(ro, 6, 5)).toString()).toBe('world');
      expect(() => ro.writeAt(0, new Uint8Array(1))).toThrow(ReadOnlyError);
      expect(() => ro.readAt(8, new Uint8Array(4))).toThrow(OutOfRangeError);
      ro.close();
      const rw = FileDevice.open(p, { write: true });
      rw.writeAt(0, Buffer.from('HELLO'));
      rw.flush();
      rw.close();
      expect(readFileSync(p, 'utf8')).toBe('HELLO world');
      expect(() => FileDevice.open(join(t.dir, 'missing'))).toThrow(IoError);
      try {
        FileDevice.open(join(t.dir, 'missing'));
      } catch (e) {
        expect((e as IoError).code).toBe('IO_ENOENT');
      }
    } finally {
      t.cleanup();
    }
  });
});

describe('EarlyWriteback', () => {
  /** Records the calls; completions are released by hand, as the event loop would. */
  function fakeIo() {
    const done: ((err: NodeJS.ErrnoException | null) => void)[] = [];
    const calls: string[] = [];
    let nextFd = 100;
    const io: WritebackIo = {
      openSync: (p) => {
        calls.push(`open ${p}`);
        return nextFd++;
      },
      fdatasync: (fd, cb) => {
        calls.push(`fdatasync ${fd}`);
        done.push(cb);
      },
      close: (fd, cb) => {
        calls.push(`close ${fd}`);
        cb();
      },
    };
    return { io, calls, done };
  }

  it('starts a background sync after every EARLY_WRITEBACK_BYTES written, with a cap while none has reported back', () => {
    const { io, calls, done } = fakeIo();
    const wb = new EarlyWriteback('/img', 'img', io);
    wb.wrote(EARLY_WRITEBACK_BYTES - 1);
    expect(calls).toEqual([]);
    wb.wrote(1);
    expect(calls).toEqual(['open /img', 'fdatasync 100']);
    for (let i = 0; i < 20; i++) wb.wrote(EARLY_WRITEBACK_BYTES);
    const started = calls.filter((c) => c.startsWith('fdatasync')).length;
    expect(started).toBe(6);
    // completions free the slots, and each closes its own descriptor
    done.splice(0).forEach((cb) => cb(null));
    expect(calls.filter((c) => c.startsWith('close')).length).toBe(6);
    wb.wrote(EARLY_WRITEBACK_BYTES);
    expect(calls.filter((c) => c.startsWith('fdatasync')).length).toBe(7);
    expect(() => wb.check()).not.toThrow();
  });

  it('keeps the error a background sync met for the next check(), and starts no more', () => {
    const { io, calls, done } = fakeIo();
    const wb = new EarlyWriteback('/img', 'img', io);
    wb.wrote(EARLY_WRITEBACK_BYTES);
    done.shift()!(Object.assign(new Error('EIO: i/o error'), { code: 'EIO' }));
    expect(() => wb.check()).toThrow(IoError);
    expect(() => wb.check()).toThrow(/img: fdatasync/);
    wb.wrote(4 * EARLY_WRITEBACK_BYTES);
    expect(calls.filter((c) => c.startsWith('fdatasync')).length).toBe(1);
  });

  it('a FileDevice written through it reads back exactly and flushes cleanly', () => {
    const t = tempDir();
    try {
      const p = join(t.dir, 'img');
      const size = 2 * EARLY_WRITEBACK_BYTES + 4096;
      writeFileSync(p, Buffer.alloc(size));
      const dev = FileDevice.open(p, { write: true });
      const chunk = new Uint8Array(1 << 20);
      for (let off = 0; off + chunk.length <= size; off += chunk.length) {
        chunk.fill((off >> 20) & 0xff);
        dev.writeAt(off, chunk);
      }
      dev.flush();
      dev.flush(); // nothing written since: no second fdatasync, and no error
      dev.close();
      const back = readFileSync(p);
      for (let mib = 0; mib < size >> 20; mib++) expect(back[mib << 20]).toBe(mib & 0xff);
    } finally {
      t.cleanup();
    }
  });
});
