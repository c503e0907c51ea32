/**
 * qcow2 on-disk layout (qemu `docs/interop/qcow2.txt`). All numbers are big-endian.
 *
 * One place declares every structure: the header field offsets, the header-extension types,
 * the L1/L2/refcount entry bit layouts, and the limits we enforce on hostile images.
 */
import { ByteView, FormatError, UnsupportedError, LimitError, CommonCode, hex } from '../../binary/index.js';
import { DiskCode } from '../../errors.js';

/** "QFI\xfb" */
export const QCOW2_MAGIC = 0x514649fb;

/** Header field offsets in bytes (qcow2.txt "Header"). */
export const HDR = {
  magic: 0, //                 u32  "QFI\xfb"
  version: 4, //               u32  2 or 3
  backingFileOffset: 8, //     u64  byte offset of the backing file name (0 = none)
  backingFileSize: 16, //      u32  name length in bytes (<= 1023)
  clusterBits: 20, //          u32  log2(cluster size), 9..21 here
  size: 24, //                 u64  virtual disk size in bytes
  cryptMethod: 32, //          u32  0 none, 1 AES, 2 LUKS
  l1Size: 36, //               u32  entries in the active L1 table
  l1TableOffset: 40, //        u64  cluster aligned
  refcountTableOffset: 48, //  u64  cluster aligned
  refcountTableClusters: 56, //u32  clusters the refcount table occupies
  nbSnapshots: 60, //          u32
  snapshotsOffset: 64, //      u64  cluster aligned
  V2_SIZE: 72, //              version 2 header ends here
  incompatibleFeatures: 72, // u64  (v3)
  compatibleFeatures: 80, //   u64  (v3)
  autoclearFeatures: 88, //    u64  (v3)
  refcountOrder: 96, //        u32  (v3) refcount width = 1 << order bits, order <= 6
  headerLength: 100, //        u32  (v3) >= 104, multiple of 8
  compressionType: 104, //     u8   (v3, if header_length > 104) 0 zlib, 1 zstd
  V3_MIN_SIZE: 104,
  /** What we write for new v3 images (qemu 7.2 writes 112: compression_type plus padding). */
  V3_WRITE_SIZE: 112,
} as const;

/** Incompatible feature bits (qcow2.txt header byte 72). */
export const INCOMPAT = {
  dirty: 1n << 0n,
  corrupt: 1n << 1n,
  externalData: 1n << 2n,
  compressionType: 1n << 3n,
  extendedL2: 1n << 4n,
  known: (1n << 5n) - 1n,
} as const;

export const COMPAT = { lazyRefcounts: 1n << 0n } as const;
export const AUTOCLEAR = { bitmaps: 1n << 0n, rawExternalData: 1n << 1n } as const;

/** Header extension types (qcow2.txt "Header extensions"). */
export const EXT = {
  end: 0x00000000,
  backingFormat: 0xe2792aca,
  featureNames: 0x6803f857,
  bitmaps: 0x23852875,
  fullDiskEncryption: 0x0537be77,
  externalDataFile: 0x44415441,
} as const;

/**
 * Limits (named, with the reason). qemu's own implementation limits are used where they exist,
 * so that anything qemu can open we can open, and hostile headers cannot make us allocate more.
 */
export const LIMITS = {
  /** qemu: cluster sizes 512 B .. 2 MiB. */
  MIN_CLUSTER_BITS: 9,
  MAX_CLUSTER_BITS: 21,
  /** qemu QCOW_MAX_L1_SIZE: 32 MiB of L1 table. */
  MAX_L1_BYTES: 32 * 1024 * 1024,
  /** qemu QCOW_MAX_REFTABLE_SIZE: 8 MiB of refcount table. */
  MAX_REFTABLE_BYTES: 8 * 1024 * 1024,
  /** qemu QCOW_MAX_SNAPSHOTS. */
  MAX_SNAPSHOTS: 65536,
  /** qcow2.txt: the backing file name must not be longer than 1023 bytes. */
  MAX_BACKING_NAME: 1023,
  /** qemu QCOW_MAX_SNAPSHOTS_SIZE: 64 MiB of snapshot table. */
  MAX_SNAPSHOT_TABLE_BYTES: 64 * 1024 * 1024,
} as const;

/** L1/L2/refcount-table entry bits. Offsets use bits 9..55; flags live in the top bits. */
export const ENTRY = {
  /** bit 63: refcount is exactly one ("COPIED"). */
  COPIED_HI: 0x80000000,
  /** bit 62 (L2): compressed cluster. */
  COMPRESSED_HI: 0x40000000,
  /** bits 32..55 of an offset live in the low 24 bits of the high word. */
  OFFSET_HI_MASK: 0x00ffffff,
  /** bits 9..31 of an offset in the low word. */
  OFFSET_LO_MASK: 0xfffffe00,
  /** bit 0 (L2, v3): reads as zeros. */
  ZERO_LO: 0x1,
  /** L1 reserved: bits 0..8 and 56..62. */
  L1_RESERVED_LO: 0x1ff,
  L1_RESERVED_HI: 0x7f000000,
  /** L2 standard reserved: bits 1..8 and 56..61. */
  L2_RESERVED_LO: 0x1fe,
  L2_RESERVED_HI: 0x3f000000,
} as const;

/** A decoded, validated qcow2 header. */
export interface Qcow2Header {
  version: 2 | 3;
  clusterBits: number;
  clusterSize: number;
  /** Virtual size in bytes. */
  size: number;
  cryptMethod: number;
  l1Size: number;
  l1TableOffset: number;
  refcountTableOffset: number;
  refcountTableClusters: number;
  nbSnapshots: number;
  snapshotsOffset: number;
  incompatibleFeatures: bigint;
  compatibleFeatures: bigint;
  autoclearFeatures: bigint;
  refcountOrder: number;
  headerLength: number;
  compressionType: number;
  backingFileOffset: number;
  backingFileSize: number;
  /** Backing file name as stored (undefined when there is none). */
  backingFile?: string;
  /** Backing format from the header extension ("raw", "qcow2", ...). */
  backingFormat?: string;
  /** Feature names from the feature-name table, keyed "incompatible:5" etc. */
  featureNames: Map<string, string>;
  /** Offset just past the header extensions (where the end marker sits). */
  extensionsEnd: number;
  /** Raw header extensions we keep verbatim when rewriting (unknown types). */
  extensions: { type: number; data: Uint8Array }[];
}

function fail(code: string, msg: string, details: Record<string, unknown> = {}): never {
  throw new FormatError(code, msg, details);
}

/** Number of L2 entries in one L2 table (standard 8-byte entries). */
export function l2Entries(clusterBits: number): number {
  return 2 ** (clusterBits - 3);
}

/** L1 entries needed to map `size` bytes. */
export function l1EntriesFor(size: number, clusterBits: number): number {
  const perL1 = 2 ** clusterBits * l2Entries(clusterBits);
  return Math.ceil(size / perL1);
}

/**
 * Decode and validate the header from the first bytes of the file (at least 512 bytes or the
 * whole file, and ideally the whole first cluster so header extensions can be read).
 * `fileSize` bounds every table offset. Throws FormatError / UnsupportedError / LimitError.
 */
export function decodeHeader(first: Uint8Array, fileSize: number, name: string): Qcow2Header {
  const v = new ByteView(first, 0, `qcow2 header of ${name}`);
  if (first.length < HDR.V2_SIZE) {
    fail(DiskCode.ImageTooSmall, `${name}: file is ${fileSize} bytes, too small for a qcow2 header (72 bytes)`, { device: name, size: fileSize });
  }
  const magic = v.u32be(HDR.magic, 'magic');
  if (magic !== QCOW2_MAGIC) {
    fail(DiskCode.NotQcow2, `qcow2 header at ${name} @ 0x0 has magic ${hex(magic)}, expected 0x514649fb ("QFI\\xfb")`, {
      device: name, offset: 0, expected: QCOW2_MAGIC, actual: magic,
    });
  }
  const version = v.u32be(HDR.version, 'version');
  if (version !== 2 && version !== 3) {
    throw new UnsupportedError(DiskCode.Qcow2Version, `qcow2 header at ${name} @ 0x4 has version = ${version}, expected 2 or 3`, {
      device: name, offset: 4, actual: version,
    });
  }
  const clusterBits = v.u32be(HDR.clusterBits, 'cluster_bits');
  if (clusterBits < LIMITS.MIN_CLUSTER_BITS || clusterBits > LIMITS.MAX_CLUSTER_BITS) {
    fail(DiskCode.Qcow2ClusterBits, `qcow2 header at ${name} @ 0x14 has cluster_bits = ${clusterBits}, expected 9..21`, {
      device: name, offset: HDR.clusterBits, actual: clusterBits,
    });
  }
  const clusterSize = 2 ** clusterBits;
  const field = (off: number, fieldName: string): number => {
    const x = v.u64be(off, fieldName);
    if (x > BigInt(Number.MAX_SAFE_INTEGER)) {
      fail(CommonCode.Overflow, `qcow2 header at ${name} @ ${hex(off)} has ${fieldName} = ${x}, larger than 2^53`, {
        device: name, offset: off, field: fieldName, actual: x.toString(),
      });
    }
    return Number(x);
  };
  const size = field(HDR.size, 'size');
  const cryptMethod = v.u32be(HDR.cryptMethod, 'crypt_method');
  const l1Size = v.u32be(HDR.l1Size, 'l1_size');
  const l1TableOffset = field(HDR.l1TableOffset, 'l1_table_offset');
  const refcountTableOffset = field(HDR.refcountTableOffset, 'refcount_table_offset');
  const refcountTableClusters = v.u32be(HDR.refcountTableClusters, 'refcount_table_clusters');
  const nbSnapshots = v.u32be(HDR.nbSnapshots, 'nb_snapshots');
  const snapshotsOffset = field(HDR.snapshotsOffset, 'snapshots_offset');
  const backingFileOffset = field(HDR.backingFileOffset, 'backing_file_offset');
  const backingFileSize = v.u32be(HDR.backingFileSize, 'backing_file_size');

  let incompatibleFeatures = 0n;
  let compatibleFeatures = 0n;
  let autoclearFeatures = 0n;
  let refcountOrder = 4;
  let headerLength: number = HDR.V2_SIZE;
  let compressionType = 0;
  if (version === 3) {
    if (first.length < HDR.V3_MIN_SIZE) {
      fail(DiskCode.ImageTooSmall, `${name}: file is ${fileSize} bytes, too small for a qcow2 v3 header (104 bytes)`, { device: name });
    }
    incompatibleFeatures = v.u64be(HDR.incompatibleFeatures, 'incompatible_features');
    compatibleFeatures = v.u64be(HDR.compatibleFeatures, 'compatible_features');
    autoclearFeatures = v.u64be(HDR.autoclearFeatures, 'autoclear_features');
    refcountOrder = v.u32be(HDR.refcountOrder, 'refcount_order');
    headerLength = v.u32be(HDR.headerLength, 'header_length');
    if (headerLength < HDR.V3_MIN_SIZE || headerLength % 8 !== 0 || headerLength > clusterSize || headerLength > first.length) {
      fail(DiskCode.Qcow2HeaderField, `qcow2 header at ${name} @ 0x64 has header_length = ${headerLength}, expected a multiple of 8 in 104..${Math.min(clusterSize, first.length)}`, {
        device: name, offset: HDR.headerLength, actual: headerLength,
      });
    }
    if (refcountOrder > 6) {
      fail(DiskCode.Qcow2HeaderField, `qcow2 header at ${name} @ 0x60 has refcount_order = ${refcountOrder}, expected 0..6`, {
        device: name, offset: HDR.refcountOrder, actual: refcountOrder,
      });
    }
    if (headerLength > HDR.compressionType) compressionType = v.u8(HDR.compressionType, 'compression_type');
  }

  // Extensions come before the feature checks so that an unknown feature can be named.
  const featureNames = new Map<string, string>();
  const extensions: { type: number; data: Uint8Array }[] = [];
  let backingFormat: string | undefined;
  const extLimit = Math.min(clusterSize, first.length);
  let off = headerLength;
  let extensionsEnd = off;
  const seen = new Set<number>();
  // Each extension takes at least 8 bytes, so at most extLimit/8 iterations.
  while (off + 8 <= extLimit) {
    const type = v.u32be(off, 'extension type');
    const len = v.u32be(off + 4, 'extension length');
    if (type === EXT.end) {
      extensionsEnd = off;
      break;
    }
    const padded = Math.ceil(len / 8) * 8;
    if (len > extLimit - off - 8 || padded > extLimit - off - 8) {
      fail(DiskCode.Qcow2HeaderExtension, `qcow2 header extension ${hex(type)} at ${name} @ ${hex(off)} has length ${len}, beyond the first cluster (${extLimit} bytes)`, {
        device: name, offset: off, type, length: len,
      });
    }
    const data = v.bytesAt(off + 8, len, 'extension data');
    if (seen.has(type) && type !== 0) {
      fail(DiskCode.Qcow2HeaderExtension, `qcow2 header extension ${hex(type)} at ${name} @ ${hex(off)} appears twice`, { device: name, offset: off, type });
    }
    seen.add(type);
    if (type === EXT.backingFormat) {
      backingFormat = Buffer.from(data).toString('latin1');
    } else if (type === EXT.featureNames) {
      for (let i = 0; i + 48 <= len; i += 48) {
        const kind = ['incompatible', 'compatible', 'autoclear'][data[i]!] ?? `type${data[i]}`;
        const raw = data.subarray(i + 2, i + 48);
        const nul = raw.indexOf(0);
        featureNames.set(`${kind}:${data[i + 1]}`, Buffer.from(nul < 0 ? raw : raw.subarray(0, nul)).toString('latin1'));
      }
    } else {
      extensions.push({ type, data: data.slice() });
    }
    off += 8 + padded;
    extensionsEnd = off;
  }

  // ---- features -----------------------------------------------------------------------------
  const unknown = incompatibleFeatures & ~INCOMPAT.known;
  if (unknown !== 0n) {
    const bits: string[] = [];
    for (let b = 0n; b < 64n; b++) {
      if (unknown & (1n << b)) bits.push(featureNames.get(`incompatible:${b}`) ?? `bit ${b}`);
    }
    throw new UnsupportedError(DiskCode.Qcow2UnknownIncompatible, `${name}: qcow2 image uses unknown incompatible feature(s): ${bits.join(', ')} — refusing to open it`, {
      device: name, features: bits, value: incompatibleFeatures.toString(),
    });
  }
  if (cryptMethod !== 0) {
    throw new UnsupportedError(DiskCode.Qcow2Encrypted, `${name}: qcow2 image is encrypted (${cryptMethod === 1 ? 'AES' : cryptMethod === 2 ? 'LUKS' : `method ${cryptMethod}`}); encrypted images are not supported`, {
      device: name, cryptMethod,
    });
  }
  if (incompatibleFeatures & INCOMPAT.externalData) {
    throw new UnsupportedError(DiskCode.Qcow2ExternalData, `${name}: qcow2 image stores its data in an external data file; that is not supported`, { device: name });
  }
  if (incompatibleFeatures & INCOMPAT.extendedL2) {
    throw new UnsupportedError(DiskCode.Qcow2ExtendedL2, `${name}: qcow2 image uses extended L2 entries (subclusters); that is not supported`, { device: name });
  }
  if (incompatibleFeatures & INCOMPAT.compressionType) {
    if (compressionType === 0) {
      fail(DiskCode.Qcow2HeaderField, `qcow2 header at ${name} @ 0x68: compression-type feature bit set but compression_type = 0`, { device: name });
    }
    throw new UnsupportedError(DiskCode.Qcow2CompressionType, `${name}: qcow2 image uses compression type ${compressionType === 1 ? 'zstd' : compressionType}; only zlib is supported`, {
      device: name, compressionType,
    });
  } else if (compressionType !== 0) {
    fail(DiskCode.Qcow2HeaderField, `qcow2 header at ${name} @ 0x68 has compression_type = ${compressionType} without the compression-type feature bit`, { device: name, actual: compressionType });
  }

  // ---- tables -------------------------------------------------------------------------------
  const l1Needed = l1EntriesFor(size, clusterBits);
  if (l1Size < l1Needed) {
    fail(DiskCode.Qcow2L1Size, `qcow2 header at ${name} @ 0x24 has l1_size = ${l1Size}, but the virtual size ${size} needs ${l1Needed} entries`, {
      device: name, offset: HDR.l1Size, actual: l1Size, expected: l1Needed,
    });
  }
  if (l1Size * 8 > LIMITS.MAX_L1_BYTES) {
    throw new LimitError(DiskCode.Qcow2L1Size, `qcow2 header at ${name} @ 0x24 has l1_size = ${l1Size} (${l1Size * 8} bytes), above the 32 MiB limit`, {
      device: name, actual: l1Size,
    });
  }
  checkTable(name, 'L1 table', HDR.l1TableOffset, l1TableOffset, l1Size * 8, clusterSize, fileSize);
  if (refcountTableClusters === 0) {
    fail(DiskCode.Qcow2TableOffset, `qcow2 header at ${name} @ 0x38 has refcount_table_clusters = 0`, { device: name });
  }
  if (refcountTableClusters * clusterSize > LIMITS.MAX_REFTABLE_BYTES) {
    throw new LimitError(DiskCode.Qcow2TableOffset, `qcow2 header at ${name} @ 0x38 has refcount_table_clusters = ${refcountTableClusters} (${refcountTableClusters * clusterSize} bytes), above the 8 MiB limit`, {
      device: name, actual: refcountTableClusters,
    });
  }
  checkTable(name, 'refcount table', HDR.refcountTableOffset, refcountTableOffset, refcountTableClusters * clusterSize, clusterSize, fileSize);
  if (nbSnapshots > LIMITS.MAX_SNAPSHOTS) {
    throw new LimitError(DiskCode.Qcow2HeaderField, `qcow2 header at ${name} @ 0x3c has nb_snapshots = ${nbSnapshots}, above the limit ${LIMITS.MAX_SNAPSHOTS}`, { device: name });
  }
  if (nbSnapshots > 0) checkTable(name, 'snapshot table', HDR.snapshotsOffset, snapshotsOffset, 40, clusterSize, fileSize);

  let backingFile: string | undefined;
  if (backingFileOffset !== 0) {
    if (backingFileSize === 0 || backingFileSize > LIMITS.MAX_BACKING_NAME) {
      fail(DiskCode.BackingName, `qcow2 header at ${name} @ 0x10 has backing_file_size = ${backingFileSize}, expected 1..1023`, {
        device: name, offset: HDR.backingFileSize, actual: backingFileSize,
      });
    }
    if (backingFileOffset > clusterSize - backingFileSize || backingFileOffset + backingFileSize > first.length) {
      fail(DiskCode.BackingName, `qcow2 header at ${name} @ 0x8 has backing_file_offset = ${hex(backingFileOffset)} (+${backingFileSize}), outside the first cluster`, {
        device: name, offset: HDR.backingFileOffset, actual: backingFileOffset,
      });
    }
    backingFile = Buffer.from(v.bytesAt(backingFileOffset, backingFileSize, 'backing file name')).toString('utf8');
  }

  return {
    version, clusterBits, clusterSize, size, cryptMethod, l1Size, l1TableOffset, refcountTableOffset,
    refcountTableClusters, nbSnapshots, snapshotsOffset, incompatibleFeatures, compatibleFeatures,
    autoclearFeatures, refcountOrder, headerLength, compressionType, backingFileOffset, backingFileSize,
    ...(backingFile !== undefined ? { backingFile } : {}),
    ...(backingFormat !== undefined ? { backingFormat } : {}),
    featureNames, extensionsEnd, extensions,
  };
}

function checkTable(name: string, what: string, fieldOff: number, offset: number, bytes: number, clusterSize: number, fileSize: number): void {
  if (bytes === 0) return;
  if (offset % clusterSize !== 0 || offset === 0) {
    fail(DiskCode.Qcow2TableOffset, `qcow2 header at ${name} @ ${hex(fieldOff)}: ${what} offset ${hex(offset)} is not a non-zero multiple of the cluster size ${clusterSize}`, {
      device: name, offset: fieldOff, actual: offset, structure: what,
    });
  }
  if (offset > fileSize || bytes > fileSize - offset) {
    fail(DiskCode.Qcow2TableOffset, `qcow2 header at ${name} @ ${hex(fieldOff)}: ${what} [${hex(offset)}, +${bytes}) lies outside the ${fileSize}-byte file`, {
      device: name, offset: fieldOff, actual: offset, length: bytes, fileSize, structure: what,
    });
  }
}

/** A decoded L2 entry (standard or compressed). */
export type L2Entry =
  | { kind: 'unallocated' }
  | { kind: 'zero'; host: number; copied: boolean }
  | { kind: 'data'; host: number; copied: boolean }
  | { kind: 'compressed'; host: number; bytes: number };

/** Host offset in bits 9..55 of an entry given as (hi, lo) 32-bit words. */
export function entryOffset(hi: number, lo: number): number {
  return (hi & ENTRY.OFFSET_HI_MASK) * 0x100000000 + ((lo & ENTRY.OFFSET_LO_MASK) >>> 0);
}

/**
 * Compressed cluster descriptor (x = 62 - (cluster_bits - 8)): bits 0..x-1 host byte offset,
 * bits x..61 number of additional 512-byte sectors. Returns the byte range the compressed
 * data may occupy: [host, host + bytes), where the end is the end of the last sector.
 */
export function decodeCompressed(hi: number, lo: number, clusterBits: number): { host: number; bytes: number } {
  const e = (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
  const x = BigInt(62 - (clusterBits - 8));
  const host = Number(e & ((1n << x) - 1n));
  const sectors = Number((e >> x) & ((1n << (62n - x)) - 1n)) + 1;
  const bytes = sectors * 512 - (host % 512);
  return { host, bytes };
}

/** Encode a compressed cluster descriptor (with the compressed flag) as (hi, lo). */
export function encodeCompressed(host: number, length: number, clusterBits: number): { hi: number; lo: number } {
  const x = BigInt(62 - (clusterBits - 8));
  const firstSector = Math.floor(host / 512);
  const lastSector = Math.floor((host + length - 1) / 512);
  const extra = BigInt(lastSector - firstSector);
  const e = (1n << 62n) | (extra << x) | BigInt(host);
  return { hi: Number(e >> 32n), lo: Number(e & 0xffffffffn) };
}

/** Split an offset (< 2^56) into entry words, OR-ing in flags. */
export function offsetWords(offset: number, flagsHi = 0, flagsLo = 0): { hi: number; lo: number } {
  const hi = Math.floor(offset / 0x100000000);
  const lo = offset - hi * 0x100000000;
  return { hi: (hi | flagsHi) >>> 0, lo: (lo | flagsLo) >>> 0 };
}

/** Snapshot table entry (qcow2.txt "Snapshots"): the parts we need. */
export interface Qcow2Snapshot {
  l1TableOffset: number;
  l1Size: number;
  id: string;
  name: string;
  /** Byte length of the whole entry, padded to 8. */
  entryBytes: number;
}

/** Parse the snapshot table (`nb` entries) from `bytes` read at `base`. */
export function decodeSnapshots(bytes: Uint8Array, base: number, nb: number, name: string, clusterSize: number, fileSize: number): Qcow2Snapshot[] {
  const v = new ByteView(bytes, base, `qcow2 snapshot table of ${name}`);
  const out: Qcow2Snapshot[] = [];
  let off = 0;
  for (let i = 0; i < nb; i++) {
    const l1TableOffset = v.u64ben(off, 'snapshot l1_table_offset');
    const l1Size = v.u32be(off + 8, 'snapshot l1_size');
    const idLen = v.u16be(off + 12, 'snapshot id length');
    const nameLen = v.u16be(off + 14, 'snapshot name length');
    const extra = v.u32be(off + 36, 'snapshot extra data size');
    const idOff = off + 40 + extra;
    const id = Buffer.from(v.bytesAt(idOff, idLen, 'snapshot id')).toString('utf8');
    const nm = Buffer.from(v.bytesAt(idOff + idLen, nameLen, 'snapshot name')).toString('utf8');
    const entryBytes = Math.ceil((40 + extra + idLen + nameLen) / 8) * 8;
    if (l1Size * 8 > LIMITS.MAX_L1_BYTES) {
      throw new LimitError(DiskCode.Qcow2L1Size, `qcow2 snapshot ${i} at ${name} @ ${hex(base + off)} has l1_size = ${l1Size}, above the 32 MiB limit`, { device: name });
    }
    checkTable(name, `snapshot ${i} L1 table`, base + off, l1TableOffset, l1Size * 8, clusterSize, fileSize);
    out.push({ l1TableOffset, l1Size, id, name: nm, entryBytes });
    off += entryBytes;
  }
  return out;
}
