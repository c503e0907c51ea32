/**
 * NBD protocol constants (NetworkBlockDevice/nbd doc/proto.md, read at 89ba7b53, May 2026).
 * All numbers on the wire are big-endian.
 */

/** "NBDMAGIC", first 8 bytes the server sends. */
export const NBDMAGIC = 0x4e42444d41474943n;
/** "IHAVEOPT": newstyle marker, and the prefix of every client option. */
export const IHAVEOPT = 0x49484156454f5054n;
/** Magic of every option reply (fixed newstyle). */
export const OPTION_REPLY_MAGIC = 0x3e889045565a9n;
export const REQUEST_MAGIC = 0x25609513;
export const SIMPLE_REPLY_MAGIC = 0x67446698;
export const STRUCTURED_REPLY_MAGIC = 0x668e33ef;

/** Request header: magic u32, flags u16, type u16, cookie u64, offset u64, length u32. */
export const REQUEST_HEADER = 28;
/** Simple reply: magic u32, error u32, cookie u64. */
export const SIMPLE_REPLY_HEADER = 16;
/** Structured reply chunk: magic u32, flags u16, type u16, cookie u64, length u32. */
export const STRUCTURED_REPLY_HEADER = 20;
/** Option request header after the client flags: IHAVEOPT u64, option u32, length u32. */
export const OPTION_HEADER = 16;

/** Handshake flags (server, 16 bits). */
export const HandshakeFlag = { fixedNewstyle: 1 << 0, noZeroes: 1 << 1 } as const;
/** Client flags (32 bits); any other bit makes the server drop the connection. */
export const ClientFlag = { fixedNewstyle: 1 << 0, noZeroes: 1 << 1 } as const;

/** Transmission flags (16 bits). */
export const TransmissionFlag = {
  hasFlags: 1 << 0,
  readOnly: 1 << 1,
  sendFlush: 1 << 2,
  sendFua: 1 << 3,
  rotational: 1 << 4,
  sendTrim: 1 << 5,
  sendWriteZeroes: 1 << 6,
  sendDf: 1 << 7,
  canMultiConn: 1 << 8,
  sendResize: 1 << 9,
  sendCache: 1 << 10,
  sendFastZero: 1 << 11,
} as const;

/** Option types. */
export const Opt = {
  exportName: 1,
  abort: 2,
  list: 3,
  peekExport: 4,
  startTls: 5,
  info: 6,
  go: 7,
  structuredReply: 8,
  listMetaContext: 9,
  setMetaContext: 10,
  extendedHeaders: 11,
} as const;

const ERR = 0x8000_0000;
/** Option reply types. */
export const Rep = {
  ack: 1,
  server: 2,
  info: 3,
  metaContext: 4,
  errUnsup: ERR + 1,
  errPolicy: ERR + 2,
  errInvalid: ERR + 3,
  errPlatform: ERR + 4,
  errTlsReqd: ERR + 5,
  errUnknown: ERR + 6,
  errShutdown: ERR + 7,
  errBlockSizeReqd: ERR + 8,
  errTooBig: ERR + 9,
} as const;

/** NBD_REP_INFO information types. */
export const Info = { export: 0, name: 1, description: 2, blockSize: 3 } as const;

/** Request types. */
export const Cmd = {
  read: 0,
  write: 1,
  disc: 2,
  flush: 3,
  trim: 4,
  cache: 5,
  writeZeroes: 6,
  blockStatus: 7,
  resize: 8,
} as const;

/** Command flags. */
export const CmdFlag = { fua: 1 << 0, noHole: 1 << 1, df: 1 << 2, reqOne: 1 << 3, fastZero: 1 << 4, payloadLen: 1 << 5 } as const;

/** Structured reply flags and types. */
export const ReplyFlag = { done: 1 << 0 } as const;
export const ReplyType = {
  none: 0,
  offsetData: 1,
  offsetHole: 2,
  blockStatus: 5,
  error: 0x8000 + 1,
  errorOffset: 0x8000 + 2,
} as const;

/** Error values (the protocol's fixed subset of errno). */
export const Errno = {
  EPERM: 1,
  EIO: 5,
  ENOMEM: 12,
  EINVAL: 22,
  ENOSPC: 28,
  EOVERFLOW: 75,
  ENOTSUP: 95,
  ESHUTDOWN: 108,
} as const;

/** base:allocation flags. */
export const State = { hole: 1 << 0, zero: 1 << 1 } as const;

export const BASE_ALLOCATION = 'base:allocation';

/** The spec's limit on strings (export names, messages, context names). */
export const MAX_STRING = 4096;
/** Defaults every server should accept (proto.md "Size constraints"). */
export const DEFAULT_PREFERRED_BLOCK = 4096;
export const DEFAULT_MAX_PAYLOAD = 32 * 1024 * 1024;
/** "Servers SHOULD NOT send more than 2^20 extents in a single reply chunk." */
export const MAX_BLOCK_STATUS_DESCRIPTORS = 1 << 20;
