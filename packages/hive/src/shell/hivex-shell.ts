import { basename } from 'node:path';
import { GuestError, UsageError, nullLogger, type Logger } from '@guestkit/disk/binary';
import { HiveCode } from '../errors.js';
import type { Hive, NodeRef } from '../hive.js';
import { openHiveFile, commitHiveFile } from '../file.js';
import { RegType } from '../layout/value-types.js';
import { exportRegToBytes } from '../text/reg-export.js';

/** Where the shell writes. Input is fed line by line (`feed`), so it works with any reader. */
export interface ShellIO {
  out(text: string | Uint8Array): void;
  err(text: string): void;
}

export interface ShellOptions {
  /** Allow changes and `commit` (hivexsh -w). */
  write?: boolean;
  /** Read damaged hives as far as possible (hivexsh -u). */
  unsafe?: boolean;
  logger?: Logger;
  now?: () => bigint;
  /** Interactive: errors do not end the session (hivexsh stops at the first error in a script). */
  interactive?: boolean;
}

/**
 * A hivexsh work-alike over @guestkit/hive: the same commands (add, cd, close/unload, commit,
 * del, exit/quit/q, help, load, ls, lsval, setval), the same argument rules (everything after
 * the first blank is the argument, so names may contain spaces; `#` starts a comment) and the
 * same output formats, plus a few extras hivexsh lacks: `set NAME TYPE:VALUE` (one value),
 * `unset NAME`, `export` (.reg of the current key) and `pwd`. Logs next to a dirty hive are
 * replayed on load (said on stderr). In a script the first error ends the run (exit 1).
 */
export class HiveShell {
  private hive?: Hive;
  private path?: string;
  private loaded?: string;
  private cwd?: NodeRef;
  quit = false;
  private readonly opts: ShellOptions;
  private readonly io: ShellIO;

  constructor(io: ShellIO, opts: ShellOptions = {}) {
    this.io = io;
    this.opts = opts;
  }

  /** setval in progress: how many values, and the lines read so far. */
  private setvalState?: { count: number; lines: string[] };

  /** The prompt hivexsh shows: "NAME\path> ", or "  key> " / "value> " inside setval. */
  get prompt(): string {
    if (this.setvalState) return this.setvalState.lines.length % 2 === 0 ? '  key> ' : 'value> ';
    if (!this.hive || this.cwd === undefined) return '> ';
    return `${this.loaded}${this.nodePath(this.cwd)}> `;
  }

  /** Feed one input line; returns 0, or -1 after printing an error. */
  feed(line: string): number {
    if (this.setvalState) {
      const st = this.setvalState;
      st.lines.push(line);
      if (st.lines.length < st.count * 2) return 0;
      this.setvalState = undefined;
      try {
        return this.finishSetval(st.lines);
      } catch (e) {
        if (e instanceof GuestError) {
          this.io.err(`hivexsh: setval: ${e.message}\n`);
          return -1;
        }
        throw e;
      }
    }
    let s = line.replace(/^\s+/, '');
    if (s === '' || s.startsWith('#')) return 0;
    const sp = s.search(/[ \t]/);
    let cmd = s;
    let args = '';
    if (sp >= 0) {
      cmd = s.slice(0, sp);
      args = s.slice(sp + 1).replace(/^[ \t]+/, '').replace(/\s+$/, '');
    }
    s = '';
    try {
      return this.dispatch(cmd.toLowerCase(), args);
    } catch (e) {
      if (e instanceof GuestError) {
        this.io.err(`hivexsh: ${cmd}: ${e.message}\n`);
        return -1;
      }
      throw e;
    }
  }

  /** Run a whole script; returns the exit status (1 at the first error unless interactive). */
  runScript(lines: Iterable<string>): number {
    for (const line of lines) {
      const status = this.feed(line);
      if (status !== 0 && !this.opts.interactive) return 1;
      if (this.quit) return 0;
    }
    return this.end();
  }

  /** End of input: an unfinished setval is an error, as in hivexsh. */
  end(): number {
    if (this.setvalState) {
      this.setvalState = undefined;
      this.io.err('hivexsh: setval: unexpected end of input\n');
      return 1;
    }
    return 0;
  }

  private dispatch(cmd: string, args: string): number {
    switch (cmd) {
      case 'help':
        this.io.out(
          "Navigate through the hive's keys using the 'cd' command, as if it\n" +
            "contained a filesystem, and use 'ls' to list the subkeys of the\n" +
            "current key.  Commands: add cd close commit del exit help load ls lsval setval\n" +
            '(hivexsh), and set unset export pwd (guestkit).\n',
        );
        return 0;
      case 'load':
        return this.load(args);
      case 'exit':
      case 'q':
      case 'quit':
        this.quit = true;
        return 0;
    }
    if (!this.hive || this.cwd === undefined) {
      this.io.err("hivexsh: you must load a hive file first using 'load hivefile'\n");
      return -1;
    }
    const h = this.hive;
    switch (cmd) {
      case 'add':
        h.addChild(this.cwd, args);
        return 0;
      case 'cd':
        return this.cd(args);
      case 'pwd':
        this.io.out(this.nodePath(this.cwd) + '\n');
        return 0;
      case 'close':
      case 'unload':
        if (args !== '') return this.noArgs('close');
        this.hive = undefined;
        this.cwd = undefined;
        this.loaded = undefined;
        return 0;
      case 'commit': {
        if (!h.writable) {
          this.io.err('hivexsh: commit: Read-only file system (use -w to open the hive for writing)\n');
          return -1;
        }
        commitHiveFile(h, args === '' ? this.path! : args, this.opts.logger);
        return 0;
      }
      case 'del': {
        if (args !== '') return this.noArgs('del');
        if (this.cwd === h.root) {
          this.io.err('hivexsh: del: the root node cannot be deleted\n');
          return -1;
        }
        const parent = h.parent(this.cwd)!;
        h.deleteChild(this.cwd);
        this.cwd = parent;
        return 0;
      }
      case 'ls': {
        if (args !== '') return this.noArgs('ls');
        const names = h.children(this.cwd).map((c) => h.nodeName(c));
        sortLikeHivexsh(names);
        for (const n of names) this.io.out(cString(n) + '\n');
        return 0;
      }
      case 'lsval':
        return args === '' ? this.lsvalAll() : this.lsvalOne(args);
      case 'setval':
        return this.setval(args);
      case 'set': {
        // set NAME TYPE:VALUE  (NAME may be "@"; quote it "..." when it contains blanks)
        const m = /^("(?:[^"\\]|\\.)*"|\S+)\s+(.*)$/.exec(args);
        if (!m) {
          this.io.err('hivexsh: set: usage: set NAME TYPE:VALUE\n');
          return -1;
        }
        const name = unquoteName(m[1]!);
        const v = parseTypedValue(m[2]!);
        h.setRawValue(this.cwd, name, v.type, v.data);
        return 0;
      }
      case 'unset': {
        const name = unquoteName(args);
        if (!h.deleteValue(this.cwd, name)) {
          this.io.err(`hivexsh: unset: ${args}: value not found\n`);
          return -1;
        }
        return 0;
      }
      case 'export':
        this.io.out(exportRegToBytes(h, this.cwd, { header: false }));
        return 0;
      default:
        this.io.err(`hivexsh: unknown command '${cmd}', use 'help' for help summary\n`);
        return -1;
    }
  }

  /** Load a hive (and replay its logs when it is dirty). */
  load(file: string): number {
    if (file === '') {
      this.io.err('hivexsh: load: no hive file name given to load\n');
      return -1;
    }
    this.hive = undefined;
    this.cwd = undefined;
    const opened = openHiveFile(file, {
      writable: Boolean(this.opts.write), unsafe: Boolean(this.opts.unsafe), logger: this.opts.logger ?? nullLogger,
      ...(this.opts.now ? { now: this.opts.now } : {}),
    });
    if (opened.recovery) {
      this.io.err(`hivexsh: ${file}: dirty hive: replayed ${opened.recovery.logsUsed.map((p) => basename(p)).join(', ')} (sequence ${opened.recovery.fromSequence.join('/')} → ${opened.recovery.toSequence})\n`);
    } else if (opened.hive.dirty) {
      this.io.err(`hivexsh: ${file}: warning: the hive is dirty (sequence numbers ${opened.hive.sequenceNumbers.join('/')}) and no transaction log was found; showing the primary file as it is\n`);
    }
    this.hive = opened.hive;
    this.path = file;
    this.loaded = basename(file);
    this.cwd = opened.hive.root;
    return 0;
  }

  private noArgs(cmd: string): number {
    this.io.err(`hivexsh: '${cmd}' command should not be given arguments\n`);
    return -1;
  }

  private nodePath(n: NodeRef): string {
    const h = this.hive!;
    return n === h.root ? '\\' : '\\' + h.nodePath(n);
  }

  private cd(path: string): number {
    const h = this.hive!;
    if (path === '') {
      this.io.out(this.nodePath(this.cwd!) + '\n');
      return 0;
    }
    if (path.startsWith('\\\\')) {
      this.io.err(`hivexsh: ${path}: \\ characters in path are doubled - are you escaping the path parameter correctly?\n`);
      return -1;
    }
    let n: NodeRef = this.cwd!;
    let rest = path;
    if (rest.startsWith('\\')) {
      n = h.root;
      rest = rest.slice(1);
    }
    for (const elem of rest.split('\\')) {
      if (elem === '' || elem === '.') continue;
      if (elem === '..') {
        if (n !== h.root) n = h.parent(n)!;
        continue;
      }
      const c = h.child(n, elem);
      if (c === undefined) {
        this.io.err(`hivexsh: cd: subkey '${elem}' not found\n`);
        return -1;
      }
      n = c;
    }
    this.cwd = n;
    return 0;
  }

  /** lsval: every value, regedit-like (hivexsh format: "@" quoted, str(N) and hex(N) with decimal N). */
  private lsvalAll(): number {
    const h = this.hive!;
    for (const v of h.values(this.cwd!)) {
      const name = cString(h.valueName(v));
      let line = name === '' ? '"@"=' : `"${name.replace(/["\\]/g, (c) => '\\' + c)}"=`;
      const t = h.valueType(v);
      let data: Uint8Array;
      try {
        data = h.valueBytes(v);
      } catch (e) {
        if (this.opts.unsafe && e instanceof GuestError) continue;
        throw e;
      }
      if (t === RegType.REG_SZ || t === RegType.REG_EXPAND_SZ || t === RegType.REG_LINK) {
        const s = cString(stringUpToNul(data));
        if (t !== RegType.REG_SZ) line += `str(${t}):`;
        line += `"${s.replace(/["\\]/g, (c) => '\\' + c)}"`;
      } else if (t === RegType.REG_DWORD || t === RegType.REG_DWORD_BIG_ENDIAN) {
        line += 'dword:' + (dwordOf(t, data) >>> 0).toString(16).padStart(8, '0');
      } else {
        line += `hex(${t}):` + Array.from(data, (b) => b.toString(16).padStart(2, '0')).join(',');
      }
      this.io.out(line + '\n');
    }
    return 0;
  }

  /** lsval NAME: one value printed raw (strings decoded, numbers in decimal, bytes as they are). */
  private lsvalOne(key: string): number {
    const h = this.hive!;
    const v = h.value(this.cwd!, key === '@' ? '' : key);
    if (v === undefined) {
      this.io.err(`hivexsh: ${key}: key not found\n`);
      return -1;
    }
    this.io.out(formatValueRaw(h.valueType(v), h.valueBytes(v)));
    return 0;
  }

  /** setval N: the next N (name, value) line pairs become the key's only values (hivex node_set_values). */
  private setval(arg: string): number {
    const n = Number(arg);
    if (!/^(0x[0-9a-f]+|[0-9]+)$/i.test(arg) || !Number.isSafeInteger(n)) {
      this.io.err(`setval: nrvals: invalid integer parameter\n`);
      return -1;
    }
    if (n > 110000) {
      this.io.err('setval: nrvals: integer out of range\n');
      return -1;
    }
    if (n === 0) return this.finishSetval([]);
    this.setvalState = { count: n, lines: [] };
    return 0;
  }

  private finishSetval(lines: string[]): number {
    const values: { name: string; type: number; data: Uint8Array }[] = [];
    for (let i = 0; i + 1 < lines.length; i += 2) {
      const key = lines[i]!;
      const parsed = parseSetvalValue(lines[i + 1]!);
      if (typeof parsed === 'string') {
        this.io.err(`hivexsh: setval: ${parsed}\n`);
        return -1;
      }
      values.push({ name: key === '@' ? '' : key, ...parsed });
    }
    this.hive!.setValues(this.cwd!, values);
    return 0;
  }
}

/** hivexsh sorts `ls` output with strcasecmp in the C locale: ASCII letters folded, then bytes of UTF-8. */
export function sortLikeHivexsh(names: string[]): string[] {
  const key = (s: string) => Buffer.from(cString(s).replace(/[A-Z]/g, (c) => c.toLowerCase()), 'utf8');
  const keys = new Map(names.map((n) => [n, key(n)]));
  return names.sort((a, b) => Buffer.compare(keys.get(a)!, keys.get(b)!));
}

/** hivexget / `lsval NAME` output for one value. */
export function formatValueRaw(t: number, data: Uint8Array): string | Uint8Array {
  if (t === RegType.REG_SZ || t === RegType.REG_EXPAND_SZ || t === RegType.REG_LINK) return cString(stringUpToNul(data)) + '\n';
  if (t === RegType.REG_DWORD || t === RegType.REG_DWORD_BIG_ENDIAN) return `${dwordOf(t, data) | 0}\n`;
  if (t === RegType.REG_QWORD) {
    if (data.length < 8) return '-1\n';
    let x = 0n;
    for (let i = 7; i >= 0; i--) x = (x << 8n) | BigInt(data[i]!);
    return `${BigInt.asIntN(64, x)}\n`;
  }
  if (t === RegType.REG_MULTI_SZ) {
    let out = '';
    let p = 0;
    while (p < data.length) {
      let e = p;
      while (e + 1 < data.length && (data[e] !== 0 || data[e + 1] !== 0)) e += 2;
      out += cString(Buffer.from(data.buffer, data.byteOffset + p, e - p).toString('utf16le')) + '\n';
      p = e + 2;
    }
    return out;
  }
  return data;
}

function dwordOf(t: number, d: Uint8Array): number {
  if (d.length < 4) return -1;
  return t === RegType.REG_DWORD ? (d[0]! | (d[1]! << 8) | (d[2]! << 16) | (d[3]! << 24)) >>> 0 : ((d[0]! << 24) | (d[1]! << 16) | (d[2]! << 8) | d[3]!) >>> 0;
}

function stringUpToNul(d: Uint8Array): string {
  let e = 0;
  while (e + 1 < d.length && (d[e] !== 0 || d[e + 1] !== 0)) e += 2;
  return Buffer.from(d.buffer, d.byteOffset, e).toString('utf16le');
}

function cString(s: string): string {
  const i = s.indexOf('\0');
  return i < 0 ? s : s.slice(0, i);
}

function unquoteName(s: string): string {
  if (s === '@') return '';
  if (s.startsWith('"') && s.endsWith('"') && s.length >= 2) return s.slice(1, -1).replace(/\\(.)/g, '$1');
  return s;
}

/** hivexsh setval value syntax: none, string:, expandstring:, dword:, qword:, hex:TYPE:HEX. */
export function parseSetvalValue(s: string): { type: number; data: Uint8Array } | string {
  if (s === 'none') return { type: 0, data: new Uint8Array(0) };
  const str = (type: number, v: string) => {
    if (/[^\x00-\x7f]/.test(v)) return 'string(utf16le): only 7 bit ASCII strings are supported for input';
    return { type, data: new Uint8Array(Buffer.from(v + '\0', 'utf16le')) };
  };
  if (s.startsWith('string:')) return str(1, s.slice(7));
  if (s.startsWith('expandstring:')) return str(2, s.slice(13));
  if (s.startsWith('dword:')) {
    const n = parseCInt(s.slice(6));
    if (n === undefined || n < 0n || n > 0xffffffffn) return 'dword: invalid integer parameter';
    const d = new Uint8Array(4);
    for (let i = 0; i < 4; i++) d[i] = Number((n >> BigInt(8 * i)) & 0xffn);
    return { type: 4, data: d };
  }
  if (s.startsWith('qword:')) {
    const n = parseCInt(s.slice(6));
    if (n === undefined || n < -(1n << 63n) || n >= 1n << 64n) return 'qword: invalid integer parameter';
    const u = BigInt.asUintN(64, n);
    const d = new Uint8Array(8);
    for (let i = 0; i < 8; i++) d[i] = Number((u >> BigInt(8 * i)) & 0xffn);
    return { type: 11, data: d };
  }
  if (s.startsWith('hex:')) {
    const rest = s.slice(4);
    const colon = rest.indexOf(':');
    const t = parseCInt(colon < 0 ? rest : rest.slice(0, colon));
    if (t === undefined || t < 0n || t > 0xffffffffn) return 'hex: invalid integer parameter';
    const digits = (colon < 0 ? '' : rest.slice(colon + 1)).replace(/[^0-9a-fA-F]/g, ''); // hivexsh ignores non-hex characters
    if (digits.length % 2 !== 0) return 'trailing garbage after hex string';
    return { type: Number(t), data: new Uint8Array(Buffer.from(digits, 'hex')) };
  }
  return `cannot parse value string, please refer to the man page hivexsh(1) for help: ${s}`;
}

/** strtol base 0: 0x… hex, 0… octal, else decimal; optional sign. */
function parseCInt(s: string): bigint | undefined {
  const m = /^\s*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)\s*$/.exec(s);
  if (!m) return undefined;
  const body = m[2]!;
  const v = /^0[xX]/.test(body) ? BigInt(body) : body.length > 1 && body.startsWith('0') ? BigInt('0o' + body.slice(1)) : BigInt(body);
  return m[1] === '-' ? -v : v;
}

/**
 * The `TYPE:VALUE` syntax of `guestkit hive set` and the shell's `set`: sz:TEXT, expand:TEXT,
 * link:TEXT, multi:A,B,C (commas separate; \\, is a comma), dword:N, dword-be:N, qword:N (C
 * integer syntax), binary:HEX, none:, hex(T):HEX / hex:T:HEX (any type), or the hivexsh forms
 * string:, expandstring:.
 * @throws UsageError for anything else
 */
export function parseTypedValue(s: string): { type: number; data: Uint8Array } {
  const bad = (why: string) => new UsageError(HiveCode.BadValue, `${JSON.stringify(s)}: ${why}`, { value: s });
  const colon = s.indexOf(':');
  if (colon < 0) throw bad('expected TYPE:VALUE (sz:, expand:, multi:, dword:, qword:, binary:, hex(T):, none:)');
  const kind = s.slice(0, colon).toLowerCase();
  const v = s.slice(colon + 1);
  const utf16 = (x: string) => new Uint8Array(Buffer.from(x + '\0', 'utf16le'));
  switch (kind) {
    case 'sz':
    case 'string':
      return { type: 1, data: utf16(v) };
    case 'expand':
    case 'expandstring':
    case 'expand_sz':
      return { type: 2, data: utf16(v) };
    case 'link':
      return { type: 6, data: utf16(v) };
    case 'multi':
    case 'multi_sz': {
      const parts = v === '' ? [] : v.split(/(?<!\\),/).map((p) => p.replace(/\\,/g, ','));
      return { type: 7, data: new Uint8Array(Buffer.from(parts.map((p) => p + '\0').join('') + '\0', 'utf16le')) };
    }
    case 'dword':
    case 'dword-be':
    case 'dword_be': {
      const n = parseCInt(v);
      if (n === undefined || n < -(1n << 31n) || n > 0xffffffffn) throw bad('not a 32-bit integer');
      const u = Number(BigInt.asUintN(32, n));
      const d = new Uint8Array(4);
      for (let i = 0; i < 4; i++) d[kind === 'dword' ? i : 3 - i] = (u >>> (8 * i)) & 0xff;
      return { type: kind === 'dword' ? 4 : 5, data: d };
    }
    case 'qword': {
      const n = parseCInt(v);
      if (n === undefined || n < -(1n << 63n) || n >= 1n << 64n) throw bad('not a 64-bit integer');
      const u = BigInt.asUintN(64, n);
      const d = new Uint8Array(8);
      for (let i = 0; i < 8; i++) d[i] = Number((u >> BigInt(8 * i)) & 0xffn);
      return { type: 11, data: d };
    }
    case 'binary':
    case 'none': {
      const digits = v.replace(/[\s,]/g, '');
      if (!/^([0-9a-fA-F]{2})*$/.test(digits)) throw bad('hex digits expected');
      return { type: kind === 'binary' ? 3 : 0, data: new Uint8Array(Buffer.from(digits, 'hex')) };
    }
    case 'hex': {
      const r = parseSetvalValue(s);
      if (typeof r === 'string') throw bad(r);
      return r;
    }
    default: {
      const m = /^hex\(([0-9a-fA-F]+)\)$/.exec(kind);
      if (m) {
        const digits = v.replace(/[\s,]/g, '');
        if (!/^([0-9a-fA-F]{2})*$/.test(digits)) throw bad('hex digits expected');
        const type = parseInt(m[1]!, 16);
        if (type > 0xffffffff) throw bad('type out of range');
        return { type, data: new Uint8Array(Buffer.from(digits, 'hex')) };
      }
      throw bad(`unknown type ${JSON.stringify(kind)}`);
    }
  }
}

