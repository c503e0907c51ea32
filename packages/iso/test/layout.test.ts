import { describe, expect, it } from 'vitest';
import { ByteView } from '@guestkit/disk/binary';
import { DR, DR_FLAG, recordBaseLength, recordLength, writeDirectoryRecord } from '../src/layout/directory-record.js';
import { VD, encodeVolumeDescriptor, encodeTerminator } from '../src/layout/volume-descriptor.js';
import { PT, pathTableRecordLength, writePathTableRecord } from '../src/layout/path-table.js';
import { encodeBootCatalog, encodeBootRecord, encodeBootInfoTable, BRVD, PLATFORM } from '../src/layout/el-torito.js';
import { encodeCE, encodeER, encodeNM, encodePX, encodeSL, encodeSP, encodeTF, nmLength, CE_LENGTH, PX_LENGTH, SP_LENGTH, TF_LENGTH, MAX_ENTRY } from '../src/layout/susp.js';
import { writeDate17, writeDate7 } from '../src/layout/dates.js';
import { encodeUcs2be } from '../src/layout/common.js';
import { ByteWriter } from '@guestkit/disk/binary';

/** Decode SL component records back to a path (the RRIP §4.1.3 rules), to check encodeSL. */
function decodeSL(entries: Uint8Array[]): string {
  let out = '';
  let pendingSep = false;
  let continuing = false;
  for (const e of entries) {
    expect(String.fromCharCode(e[0]!, e[1]!)).toBe('SL');
    expect(e[2]).toBe(e.length);
    expect(e.length).toBeLessThanOrEqual(MAX_ENTRY);
    let p = 5;
    while (p < e.length) {
      const flags = e[p]!;
      const len = e[p + 1]!;
      const text = Buffer.from(e.subarray(p + 2, p + 2 + len)).toString('latin1');
      if (!continuing && pendingSep) out += '/';
      if (flags & 0x08) out += '/';
      else if (flags & 0x02) out += '.';
      else if (flags & 0x04) out += '..';
      else out += text;
      continuing = (flags & 0x01) !== 0;
      pendingSep = !(flags & 0x08);
      p += 2 + len;
    }
  }
  return out;
}

describe('ISO 9660 layout', () => {
  it('directory records follow ECMA-119 §9.1 offsets and padding', () => {
    expect(DR.FIXED).toBe(33);
    expect(recordBaseLength(1)).toBe(34); // "." record
    expect(recordBaseLength(2)).toBe(36); // even identifier gets a pad byte
    expect(recordLength(3, 5)).toBe(42); // 36 + 5 = 41, padded to even
    const w = ByteWriter.alloc(64);
    const len = writeDirectoryRecord(w, 0, { extent: 0x1234, dataLength: 0x56789, mtimeMs: Date.UTC(2024, 1, 29, 12, 34, 56), flags: DR_FLAG.directory, id: new Uint8Array([0x41, 0x42, 0x43]) }, [new Uint8Array([1, 2, 3, 4, 5])]);
    expect(len).toBe(42);
    const v = new ByteView(w.bytes);
    expect(v.u8(DR.length)).toBe(42);
    expect(v.u32(DR.extent)).toBe(0x1234);
    expect(v.u32be(DR.extent + 4)).toBe(0x1234);
    expect(v.u32(DR.dataLength)).toBe(0x56789);
    expect(v.u32be(DR.dataLength + 4)).toBe(0x56789);
    expect([...w.bytes.subarray(DR.date, DR.date + 7)]).toEqual([124, 2, 29, 12, 34, 56, 0]);
    expect(v.u8(DR.flags)).toBe(2);
    expect(v.u16(DR.volumeSequence)).toBe(1);
    expect(v.u16be(DR.volumeSequence + 2)).toBe(1);
    expect(v.u8(DR.idLength)).toBe(3);
    expect([...w.bytes.subarray(36, 41)]).toEqual([1, 2, 3, 4, 5]);
  });

  it('dates: 7-byte and 17-byte forms, clamped and "unspecified"', () => {
    const w = ByteWriter.alloc(40);
    writeDate7(w, 0, Date.UTC(1850, 0, 1));
    expect([...w.bytes.subarray(0, 7)]).toEqual([0, 1, 1, 0, 0, 0, 0]);
    writeDate7(w, 7, Date.UTC(2300, 0, 1));
    expect(w.bytes[7]).toBe(255);
    writeDate17(w, 14, Date.UTC(2001, 8, 9, 1, 46, 40, 120));
    expect(Buffer.from(w.bytes.subarray(14, 30)).toString('latin1')).toBe('2001090901464012');
    writeDate17(w, 14, undefined);
    expect(Buffer.from(w.bytes.subarray(14, 30)).toString('latin1')).toBe('0000000000000000');
    expect(w.bytes[30]).toBe(0);
  });

  it('volume descriptors: PVD, Joliet SVD and terminator fields', () => {
    const base = {
      volumeId: 'LABEL', systemId: '', volumeSetId: '', publisherId: '', dataPreparerId: '', applicationId: 'APP',
      volumeSpaceBlocks: 1000, pathTableSize: 10, lPathTableLba: 20, mPathTableLba: 21, rootLba: 22, rootBytes: 2048,
      rootMtimeMs: 0, createdMs: Date.UTC(2020, 0, 2, 3, 4, 5), modifiedMs: Date.UTC(2020, 0, 2, 3, 4, 5),
    };
    const pvd = new ByteView(encodeVolumeDescriptor({ ...base, joliet: false }));
    expect(pvd.length).toBe(2048);
    expect(pvd.u8(VD.type)).toBe(1);
    expect(pvd.ascii(VD.standardId, 5)).toBe('CD001');
    expect(pvd.ascii(VD.volumeId, 32)).toBe('LABEL'.padEnd(32, ' '));
    expect(pvd.u32(VD.volumeSpaceSize)).toBe(1000);
    expect(pvd.u32be(VD.volumeSpaceSize + 4)).toBe(1000);
    expect(pvd.u16(VD.logicalBlockSize)).toBe(2048);
    expect(pvd.u32(VD.lPathTable)).toBe(20);
    expect(pvd.u32be(VD.mPathTable)).toBe(21);
    expect(pvd.u8(VD.rootRecord)).toBe(34);
    expect(pvd.u32(VD.rootRecord + DR.extent)).toBe(22);
    expect(pvd.ascii(VD.creationDate, 16)).toBe('2020010203040500');
    expect(pvd.u8(VD.fileStructureVersion)).toBe(1);
    const svd = new ByteView(encodeVolumeDescriptor({ ...base, joliet: true }));
    expect(svd.u8(VD.type)).toBe(2);
    expect([...svd.bytesAt(VD.escapeSequences, 3)]).toEqual([0x25, 0x2f, 0x45]);
    expect(svd.u16be(VD.volumeId)).toBe(0x4c); // 'L' in UCS-2 BE
    expect(svd.u16be(VD.volumeId + 10)).toBe(0x20); // padded with UCS-2 spaces
    const t = encodeTerminator();
    expect([t[0], Buffer.from(t.subarray(1, 6)).toString()]).toEqual([255, 'CD001']);
  });

  it('path table records: both byte orders and odd-length padding', () => {
    expect(PT.FIXED).toBe(8);
    expect(pathTableRecordLength(1)).toBe(10);
    expect(pathTableRecordLength(2)).toBe(10);
    const w = ByteWriter.alloc(20);
    writePathTableRecord(w, 0, { extent: 0x01020304, parent: 0x0506, id: new Uint8Array([0x41]) }, false);
    writePathTableRecord(w, 10, { extent: 0x01020304, parent: 0x0506, id: new Uint8Array([0x41]) }, true);
    expect([...w.bytes.subarray(0, 10)]).toEqual([1, 0, 4, 3, 2, 1, 6, 5, 0x41, 0]);
    expect([...w.bytes.subarray(10, 20)]).toEqual([1, 0, 1, 2, 3, 4, 5, 6, 0x41, 0]);
  });

  it('El Torito: boot record at 71, catalog checksum sums to zero, BIOS + UEFI sections', () => {
    const br = new ByteView(encodeBootRecord(33));
    expect(br.ascii(BRVD.bootSystemId, 23)).toBe('EL TORITO SPECIFICATION');
    expect(br.u32(BRVD.catalogLba)).toBe(33);
    const cat = encodeBootCatalog([
      { platform: PLATFORM.x86, lba: 40, sectorCount: 4 },
      { platform: PLATFORM.efi, lba: 41, sectorCount: 2880 },
    ]);
    const v = new ByteView(cat);
    let sum = 0;
    for (let i = 0; i < 32; i += 2) sum = (sum + v.u16(i)) % 0x10000;
    expect(sum).toBe(0);
    expect([cat[30], cat[31]]).toEqual([0x55, 0xaa]);
    expect(v.u8(32)).toBe(0x88);
    expect(v.u16(38)).toBe(4);
    expect(v.u32(40)).toBe(40);
    expect([v.u8(64), v.u8(65), v.u16(66)]).toEqual([0x91, 0xef, 1]);
    expect(v.u8(96)).toBe(0x88);
    expect(v.u16(102)).toBe(2880);
    expect(v.u32(104)).toBe(41);
    const bit = new ByteView(encodeBootInfoTable(16, 40, 3000, 0xdeadbeef));
    expect([bit.u32(0), bit.u32(4), bit.u32(8), bit.u32(12), bit.length]).toEqual([16, 40, 3000, 0xdeadbeef, 56]);
  });

  it('SUSP/RRIP entries have their specified lengths', () => {
    expect(encodeSP().length).toBe(SP_LENGTH);
    expect([...encodeSP()]).toEqual([0x53, 0x50, 7, 1, 0xbe, 0xef, 0]);
    const ce = new ByteView(encodeCE(100, 200, 300));
    expect(ce.length).toBe(CE_LENGTH);
    expect([ce.u32(4), ce.u32be(8), ce.u32(12), ce.u32(20)]).toEqual([100, 100, 200, 300]);
    const px = new ByteView(encodePX(0o100644, 1, 1000, 1000));
    expect(px.length).toBe(PX_LENGTH);
    expect(px.u32(4)).toBe(0o100644);
    expect(encodeTF(0, 0).length).toBe(TF_LENGTH);
    expect(TF_LENGTH).toBe(19);
    const er = encodeER('RRIP_1991A', 'D', 'S');
    expect(er.length).toBe(8 + 12);
    expect([er[4], er[5], er[6], er[7]]).toEqual([10, 1, 1, 1]);
  });

  it('NM splits names longer than one entry with the CONTINUE flag', () => {
    for (const n of [1, 250, 251, 255, 600]) {
      const name = new Uint8Array(n).fill(0x61);
      const parts = encodeNM(name);
      expect(parts.reduce((a, p) => a + p.length, 0)).toBe(nmLength(n));
      expect(parts.every((p) => p.length <= MAX_ENTRY)).toBe(true);
      expect(parts.slice(0, -1).every((p) => p[4] === 1)).toBe(true);
      expect(parts[parts.length - 1]![4]).toBe(0);
      expect(parts.reduce((a, p) => a + (p.length - 5), 0)).toBe(n);
    }
  });

  it('SL encodes absolute, relative, dot and long targets so they decode back', () => {
    const cases = ['/etc/passwd', 'a/b', '../x/./y', '.', '..', '/', 'x'.repeat(300) + '/' + 'y'.repeat(600), ('seg/').repeat(400) + 'end'];
    for (const t of cases) {
      const entries = encodeSL(Buffer.from(t));
      expect(decodeSL(entries)).toBe(t.replace(/\/+$/, '') || '/');
      expect(entries.slice(0, -1).every((e) => e[4] === 1)).toBe(true);
    }
  });

  it('UCS-2 encoding never splits a surrogate pair', () => {
    expect([...encodeUcs2be('A\u00e9')]).toEqual([0, 0x41, 0, 0xe9]);
    const s = 'a'.repeat(63) + '\u{1F600}';
    expect(encodeUcs2be(s, 64).length).toBe(126);
    expect(encodeUcs2be(s, 65).length).toBe(130);
  });
});
