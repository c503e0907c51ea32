import { describe, expect, it } from 'vitest';
import {
  MemoryDevice, readPartitionTable, writeMbr, writeGpt, GPT_TYPES, FormatError, LimitError, LoopError, UsageError,
  ReadOnlyError, OutOfRangeError, GuestError, crc32, type PartitionTable,
} from '../src/index.js';

const MiB = 1024 * 1024;

function guestError(fn: () => unknown): GuestError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(GuestError);
    return e as GuestError;
  }
  throw new Error('expected a GuestError');
}

function le(b: Uint8Array, off: number, width: number, v: number | bigint): void {
  let x = BigInt(v);
  for (let i = 0; i < width; i++) {
    b[off + i] = Number(x & 0xffn);
    x >>= 8n;
  }
}

function flip(b: Uint8Array, off: number, mask: number): void {
  b[off] = b[off]! ^ mask;
}

/** Rewrite a GPT header's CRC after patching it (so other checks are reached). */
function fixHeaderCrc(b: Uint8Array, off: number): void {
  le(b, off + 16, 4, 0);
  le(b, off + 16, 4, crc32(b.subarray(off, off + 92)));
}

function gptDisk(size = 8 * MiB): { dev: MemoryDevice; table: PartitionTable } {
  const dev = new MemoryDevice(size, { name: 'disk.img' });
  const table = writeGpt(dev, {
    diskGuid: '01234567-89AB-CDEF-0123-456789ABCDEF',
    partitions: [
      { start: MiB, size: 2 * MiB, typeGuid: GPT_TYPES.efiSystem, name: 'EFI' },
      { start: 3 * MiB, size: 3 * MiB, typeGuid: GPT_TYPES.microsoftBasicData, name: 'Data', number: 3 },
    ],
  });
  return { dev, table };
}

describe('MBR', () => {
  it('numbers primaries by slot and logicals from 5, and opens partitions as named slices', () => {
    const dev = new MemoryDevice(32 * MiB, { name: 'disk.img' });
    const t = writeMbr(dev, {
      diskSignature: 0xdeadbeef,
      partitions: [
        { start: MiB, size: 4 * MiB, type: 0x07, bootable: true },
        { start: 8 * MiB, size: 2 * MiB, type: 0x83, logical: true },
        { start: 12 * MiB, size: 2 * MiB, type: 0x0b, logical: true },
      ],
    });
    expect(t.scheme).toBe('mbr');
    expect(t.diskSignature).toBe(0xdeadbeef);
    expect(t.partitions.map((p) => [p.number, p.start, p.size, p.mbrType, Boolean(p.logical), Boolean(p.extended), p.bootable])).toEqual([
      [1, MiB, 4 * MiB, 0x07, false, false, true],
      [2, 8 * MiB - 512, 6 * MiB + 512, 0x05, false, true, false],
      [5, 8 * MiB, 2 * MiB, 0x83, true, false, false],
      [6, 12 * MiB, 2 * MiB, 0x0b, true, false, false],
    ]);
    const p6 = t.partitions.find((p) => p.number === 6)!.open();
    expect(p6.name).toBe('disk.img › p6');
    p6.writeAt(0, new Uint8Array([1, 2, 3]));
    expect([...dev.bytes.subarray(12 * MiB, 12 * MiB + 3)]).toEqual([1, 2, 3]);
    expect(() => p6.readAt(2 * MiB - 1, new Uint8Array(2))).toThrow(OutOfRangeError);
    expect(t.partitions[0]!.open({ readOnly: true }).readOnly).toBe(true);
  });

  it('keeps boot code and the existing disk signature', () => {
    const dev = new MemoryDevice(4 * MiB);
    dev.bytes.fill(0x90, 0, 440);
    le(dev.bytes, 0x1b8, 4, 0x11223344);
    writeMbr(dev, { partitions: [{ start: MiB, size: MiB, type: 0x83 }] });
    expect(dev.bytes[100]).toBe(0x90);
    expect(readPartitionTable(dev).diskSignature).toBe(0x11223344);
  });

  it('an EBR chain that loops → LoopError (or a warning when lenient)', () => {
    const dev = new MemoryDevice(16 * MiB, { name: 'loop.img' });
    writeMbr(dev, { partitions: [{ start: 2 * MiB, size: MiB, type: 0x83, logical: true }, { start: 4 * MiB, size: MiB, type: 0x83, logical: true }] });
    // Second EBR (at 4 MiB - 512) links back to the first (relative LBA 0 of the extended partition).
    const ebr2 = 4 * MiB - 512;
    dev.bytes[ebr2 + 0x1ce + 4] = 0x05;
    le(dev.bytes, ebr2 + 0x1ce + 8, 4, 0);
    le(dev.bytes, ebr2 + 0x1ce + 12, 4, 100);
    const e = guestError(() => readPartitionTable(dev));
    expect(e).toBeInstanceOf(LoopError);
    expect(e.code).toBe('MBR_EBR_LOOP');
    const t = readPartitionTable(dev, { lenient: true });
    expect(t.partitions.filter((p) => p.logical).map((p) => p.number)).toEqual([5, 6]);
    expect(t.warnings.join()).toMatch(/loops/);
  });

  it('an EBR chain longer than the limit → LimitError', () => {
    const dev = new MemoryDevice(64 * MiB, { name: 'long.img' });
    // 300 EBRs, one per 8 sectors, each with a 1-sector logical partition and a link to the next.
    const ext = 2048;
    const s0 = dev.bytes;
    s0[0x1be + 4] = 0x05;
    le(s0, 0x1be + 8, 4, ext);
    le(s0, 0x1be + 12, 4, 300 * 8);
    s0[510] = 0x55;
    s0[511] = 0xaa;
    for (let i = 0; i < 300; i++) {
      const off = (ext + i * 8) * 512;
      s0[off + 0x1be + 4] = 0x83;
      le(s0, off + 0x1be + 8, 4, 1);
      le(s0, off + 0x1be + 12, 4, 1);
      s0[off + 0x1ce + 4] = 0x05;
      le(s0, off + 0x1ce + 8, 4, (i + 1) * 8);
      le(s0, off + 0x1ce + 12, 4, 8);
      s0[off + 510] = 0x55;
      s0[off + 511] = 0xaa;
    }
    const e = guestError(() => readPartitionTable(dev));
    expect(e).toBeInstanceOf(LimitError);
    expect(e.code).toBe('MBR_EBR_TOO_MANY');
  });

  it('a filesystem boot sector (boot indicators not 0/0x80) is not a partition table', () => {
    const dev = new MemoryDevice(MiB);
    dev.bytes.set(Buffer.from('\xebR\x90NTFS    ', 'latin1'), 0);
    for (let i = 0x1be; i < 0x1fe; i++) dev.bytes[i] = (i * 37) & 0xff;
    dev.bytes[510] = 0x55;
    dev.bytes[511] = 0xaa;
    expect(readPartitionTable(dev).scheme).toBe('none');
    expect(readPartitionTable(new MemoryDevice(MiB)).scheme).toBe('none');
    expect(readPartitionTable(new MemoryDevice(100)).scheme).toBe('none');
  });

  it('a partition past the end of the disk is listed with a warning and refuses to open', () => {
    const dev = new MemoryDevice(MiB, { name: 'short.img' });
    dev.bytes[0x1be + 4] = 0x83;
    le(dev.bytes, 0x1be + 8, 4, 2048);
    le(dev.bytes, 0x1be + 12, 4, 0xffffffff);
    dev.bytes[510] = 0x55;
    dev.bytes[511] = 0xaa;
    const t = readPartitionTable(dev);
    expect(t.partitions[0]!.size).toBe(0xffffffff * 512);
    expect(t.warnings.join()).toMatch(/past the end/);
    expect(() => t.partitions[0]!.open()).toThrow(OutOfRangeError);
  });

  it('rejects bad specifications before writing anything', () => {
    const dev = new MemoryDevice(16 * MiB);
    const before = dev.bytes.slice();
    const bads = [
      [{ start: MiB, size: 2 * MiB, type: 0x83 }, { start: 2 * MiB, size: MiB, type: 0x83 }], // overlap
      [{ start: MiB + 1, size: MiB, type: 0x83 }], // misaligned
      [{ start: MiB, size: 64 * MiB, type: 0x83 }], // past the end
      [{ start: MiB, size: MiB, type: 0x05 }], // extended type given directly
      [1, 2, 3, 4, 5].map((i) => ({ start: i * MiB, size: MiB, type: 0x83 })), // 5 primaries
      [{ start: MiB, size: MiB, type: 0 }], // type 0
    ];
    for (const partitions of bads) {
      const e = guestError(() => writeMbr(dev, { partitions }));
      expect(e).toBeInstanceOf(UsageError);
      expect(e.code).toBe('PARTITION_SPEC_INVALID');
    }
    expect(Buffer.from(dev.bytes).equals(Buffer.from(before))).toBe(true);
    expect(() => writeMbr(new MemoryDevice(MiB, { readOnly: true }), { partitions: [] })).toThrow(ReadOnlyError);
  });
});

describe('GPT', () => {
  it('reads what writeGpt wrote, numbered by entry index', () => {
    const { table } = gptDisk();
    expect(table.scheme).toBe('gpt');
    expect(table.diskGuid).toBe('01234567-89AB-CDEF-0123-456789ABCDEF');
    expect(table.partitions.map((p) => [p.number, p.start, p.size, p.name, p.typeGuid])).toEqual([
      [1, MiB, 2 * MiB, 'EFI', GPT_TYPES.efiSystem],
      [3, 3 * MiB, 3 * MiB, 'Data', GPT_TYPES.microsoftBasicData],
    ]);
    expect(table.partitions.every((p) => /^[0-9A-F-]{36}$/.test(p.guid!))).toBe(true);
    expect(table.gpt).toMatchObject({ firstUsableLba: 34, lastUsableLba: 8 * 2048 - 34, entryCount: 128, usedBackup: false });
  });

  it('falls back to the backup header when the primary header or its array is corrupt', () => {
    for (const corrupt of [(b: Uint8Array) => flip(b, 512 + 20, 1), (b: Uint8Array) => flip(b, 1024 + 60, 0xff), (b: Uint8Array) => { b.fill(0, 512, 1024); }]) {
      const { dev, table } = gptDisk();
      corrupt(dev.bytes);
      const t = readPartitionTable(dev);
      expect(t.gpt!.usedBackup).toBe(true);
      expect(t.warnings.some((w) => /primary GPT header is invalid.*backup/.test(w))).toBe(true);
      expect(t.partitions.map((p) => [p.number, p.start, p.size, p.guid])).toEqual(table.partitions.map((p) => [p.number, p.start, p.size, p.guid]));
    }
  });

  it('warns when the backup header is damaged', () => {
    const { dev } = gptDisk();
    flip(dev.bytes, dev.size - 512 + 30, 1);
    expect(readPartitionTable(dev).warnings.join()).toMatch(/backup GPT header is missing or invalid/);
  });

  it('both headers corrupt → FormatError', () => {
    const { dev } = gptDisk();
    flip(dev.bytes, 512 + 20, 1);
    flip(dev.bytes, dev.size - 512 + 20, 1);
    const e = guestError(() => readPartitionTable(dev));
    expect(e).toBeInstanceOf(FormatError);
    expect(e.code).toBe('GPT_BAD_HEADER');
    expect(e.message).toMatch(/primary: .*CRC32.*backup: .*CRC32/);
  });

  it('entry count × entry size that overflows or is huge → LimitError, nothing allocated', () => {
    for (const [count, size] of [[0xffffffff, 128], [0x10000000, 4096], [65537, 128]] as const) {
      const { dev } = gptDisk();
      for (const off of [512, dev.size - 512]) {
        le(dev.bytes, off + 80, 4, count);
        le(dev.bytes, off + 84, 4, size);
        fixHeaderCrc(dev.bytes, off);
      }
      const e = guestError(() => readPartitionTable(dev));
      expect(e).toBeInstanceOf(LimitError);
      expect(e.code).toBe('GPT_BAD_ENTRY_ARRAY');
    }
  });

  it('header fields out of range are rejected per copy', () => {
    const cases: [number, number, number | bigint][] = [
      [12, 4, 20], // header size < 92
      [12, 4, 4096], // header size > sector
      [84, 4, 100], // entry size not a multiple of 8 / < 128
      [24, 8, 7n], // my LBA wrong
      [48, 8, 1n << 40n], // last usable past the disk
      [72, 8, 1n << 40n], // entry array outside the disk
    ];
    for (const [off, width, v] of cases) {
      const { dev } = gptDisk();
      le(dev.bytes, 512 + off, width, v);
      fixHeaderCrc(dev.bytes, 512);
      const t = readPartitionTable(dev);
      expect(t.gpt!.usedBackup).toBe(true);
    }
  });

  it('an entry with first LBA > last LBA is skipped with a warning', () => {
    const { dev } = gptDisk();
    for (const arr of [1024, dev.size - 512 - 32 * 512]) {
      le(dev.bytes, arr + 32, 8, 5000n);
      le(dev.bytes, arr + 40, 8, 4000n);
    }
    for (const [hdr, arr] of [[512, 1024], [dev.size - 512, dev.size - 512 - 32 * 512]] as const) {
      le(dev.bytes, hdr + 88, 4, crc32(dev.bytes.subarray(arr, arr + 128 * 128)));
      fixHeaderCrc(dev.bytes, hdr);
    }
    const t = readPartitionTable(dev);
    expect(t.partitions.map((p) => p.number)).toEqual([3]);
    expect(t.warnings.join()).toMatch(/entry 1 .*ignored/);
  });

  it('a protective MBR without any GPT header → FormatError', () => {
    const { dev } = gptDisk();
    dev.bytes.fill(0, 512, 1024);
    dev.bytes.fill(0, dev.size - 512);
    expect(guestError(() => readPartitionTable(dev)).code).toBe('GPT_BAD_HEADER');
  });

  it('detects 4096-byte sectors from the header position', () => {
    const dev = new MemoryDevice(16 * MiB);
    writeGpt(dev, { sectorSize: 4096, partitions: [{ start: MiB, size: MiB, typeGuid: GPT_TYPES.linuxFilesystem }] });
    const t = readPartitionTable(dev);
    expect(t.sectorSize).toBe(4096);
    expect(t.partitions[0]!.start).toBe(MiB);
    expect(t.gpt!.firstUsableLba).toBe(2 + 4); // 128 entries × 128 bytes = 4 sectors of 4096
  });

  it('rejects bad specifications', () => {
    const dev = new MemoryDevice(8 * MiB);
    for (const partitions of [
      [{ start: 0, size: MiB, typeGuid: GPT_TYPES.efiSystem }], // inside the header area
      [{ start: MiB, size: MiB, typeGuid: 'not-a-guid' }],
      [{ start: MiB, size: MiB, typeGuid: '00000000-0000-0000-0000-000000000000' }],
      [{ start: MiB, size: MiB, typeGuid: GPT_TYPES.efiSystem, number: 129 }],
      [{ start: MiB, size: 2 * MiB, typeGuid: GPT_TYPES.efiSystem }, { start: 2 * MiB, size: MiB, typeGuid: GPT_TYPES.efiSystem }],
      [{ start: MiB, size: MiB, typeGuid: GPT_TYPES.efiSystem, name: 'x'.repeat(37) }],
    ]) {
      expect(guestError(() => writeGpt(dev, { partitions })).code).toBe('PARTITION_SPEC_INVALID');
    }
    expect(dev.bytes.every((b) => b === 0)).toBe(true);
  });

  it('writing an MBR over a GPT disk removes the GPT headers', () => {
    const { dev } = gptDisk();
    const t = writeMbr(dev, { partitions: [{ start: MiB, size: MiB, type: 0x83 }] });
    expect(t.scheme).toBe('mbr');
    expect(Buffer.from(dev.bytes.subarray(512, 520)).toString()).not.toBe('EFI PART');
  });
});
