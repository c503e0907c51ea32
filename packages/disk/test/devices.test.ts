import { describe, expect, it } from 'vitest';
import { writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MemoryDevice, SliceDevice, FileDevice, OutOfRangeError, ReadOnlyError, IoError, readBytes } from '../src/index.js';
import { tempDir } from '../../../test/support/shared.js';

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
