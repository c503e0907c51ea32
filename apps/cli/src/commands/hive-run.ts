import { existsSync, readFileSync, writeSync } from 'node:fs';
import { basename } from 'node:path';
import { ExistsError, UsageError } from '@guestkit/disk/binary';
import {
  Hive, HiveCode, openHiveFile, commitHiveFile, writeFileAtomic, exportReg, exportXml, exportJson, mergeReg, checkHiveFile,
  HiveShell, formatValueRaw, parseTypedValue, type OpenedHive, type HiveFileOptions,
} from '@guestkit/hive';
import { ctx } from '../main.js';
import { Exit } from '../exit-codes.js';
import type { HiveArgs } from './hive.js';

/** Write to fd 1 synchronously, retrying when a non-blocking pipe is full. */
function stdout(chunk: Uint8Array | string): void {
  const b = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
  let off = 0;
  while (off < b.length) {
    try {
      off += writeSync(1, b, off, b.length - off);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') continue;
      if (code === 'EPIPE') process.exit(0);
      throw e;
    }
  }
}

function note(text: string): void {
  process.stderr.write(`guestkit: ${text}\n`);
}

/** Open a hive file, replaying logs when dirty and saying so on stderr. */
function open(args: HiveArgs, opts: HiveFileOptions): OpenedHive {
  const c = ctx();
  const o = openHiveFile(args.hive, { logger: c.log, ...(args.logs === false ? { logs: 'none' } : {}), ...opts });
  const name = basename(args.hive);
  if (o.recovery) {
    const r = o.recovery;
    note(
      `${name}: dirty hive (sequence ${r.fromSequence.join('/')}): replayed ${r.logsUsed.map((p) => basename(p)).join(' + ')} ` +
        `(${r.format === 'new' ? `${r.entriesApplied} log entries` : `${r.pagesApplied} dirty pages`}) → sequence ${r.toSequence}` +
        `${r.baseBlockFromLog ? '; base block rebuilt from the log' : ''}`,
    );
    for (const n of r.notes) note(`${name}: ${n}`);
  } else if (o.hive.dirty) {
    const [a, b] = o.hive.sequenceNumbers;
    note(`${name}: warning: the hive is dirty (sequence ${a}/${b}${o.hive.image.base.checksumOk ? '' : ', bad checksum'}) and ${args.logs === false ? 'logs are ignored (--no-logs)' : 'no transaction log was found'}: showing the primary file as it is, recent changes may be missing`);
  }
  return o;
}

export async function runHive(sub: string, args: HiveArgs): Promise<void> {
  const c = ctx();
  switch (sub) {
    case 'export': {
      const { hive } = open(args, { unsafe: Boolean(args.unsafe) });
      exportReg(hive, args.key ?? '\\', stdout, {
        ...(args.prefix !== undefined ? { prefix: args.prefix } : {}),
        unsafePrintableStrings: Boolean(args['unsafe-printable-strings']),
        header: args.header !== false,
        ...(args['max-depth'] !== undefined ? { maxDepth: args['max-depth'] } : {}),
        encoding: args.utf8 ? 'utf8' : 'hivex',
      });
      return;
    }
    case 'xml': {
      const { hive } = open(args, { unsafe: Boolean(args.unsafe) });
      exportXml(hive, stdout, { skipBad: Boolean(args['keep-going']) });
      return;
    }
    case 'json': {
      const { hive } = open(args, { unsafe: Boolean(args.unsafe) });
      exportJson(hive, stdout, { ...(args.key ? { key: args.key } : {}), pretty: Boolean(args.pretty), skipBad: Boolean(args.unsafe) });
      return;
    }
    case 'get': {
      const { hive } = open(args, { unsafe: Boolean(args.unsafe) });
      const key = hive.requirePath(args.key ?? '\\');
      if (args.value === undefined) {
        const sh = new HiveShell({ out: stdout, err: (t) => process.stderr.write(t) }, { unsafe: Boolean(args.unsafe) });
        sh.load(args.hive);
        if (sh.feed(`cd \\${hive.nodePath(key)}`) !== 0 || sh.feed('lsval') !== 0) process.exitCode = Exit.Failed;
        return;
      }
      const v = hive.value(key, args.value === '@' ? '' : args.value);
      if (v === undefined) throw new UsageError(HiveCode.NotFound, `${args.key}: value ${JSON.stringify(args.value)} not found`, { key: args.key, value: args.value });
      stdout(formatValueRaw(hive.valueType(v), hive.valueBytes(v)));
      return;
    }
    case 'set': {
      const { hive } = open(args, { writable: true, allowDirty: Boolean(args['allow-dirty']) });
      const v = parseTypedValue(args.data!);
      const key = args.create ? hive.ensurePath(args.key!) : hive.requirePath(args.key!);
      hive.setRawValue(key, args.name === '@' ? '' : args.name!, v.type, v.data);
      if (args['dry-run']) note(`${basename(args.hive)}: dry run: value would be set; nothing written`);
      else commitHiveFile(hive, args.hive, c.log);
      return;
    }
    case 'merge': {
      const { hive } = open(args, { writable: true, allowDirty: Boolean(args['allow-dirty']) });
      const files = args.files && args.files.length > 0 ? args.files : ['-'];
      const total = { keysCreated: 0, keysDeleted: 0, valuesSet: 0, valuesDeleted: 0, missingDeletes: [] as string[] };
      for (const f of files) {
        const bytes = f === '-' ? readFileSync(0) : readFileSync(f);
        const r = mergeReg(hive, new Uint8Array(bytes), {
          source: f === '-' ? '<stdin>' : f,
          ...(args.prefix !== undefined ? { prefix: args.prefix } : {}),
          strict: Boolean(args.strict),
          encoding: args.encoding === 'ascii' ? 'ascii' : 'utf-16le',
        });
        total.keysCreated += r.keysCreated;
        total.keysDeleted += r.keysDeleted;
        total.valuesSet += r.valuesSet;
        total.valuesDeleted += r.valuesDeleted;
        total.missingDeletes.push(...r.missingDeletes);
      }
      const dry = Boolean(args['dry-run']);
      if (!dry && (hive.isModified || hive.recovered)) commitHiveFile(hive, args.hive, c.log);
      const summary = { hive: args.hive, dryRun: dry, ...total, bytesAllocated: hive.changes.bytesAllocated };
      if (args.json) stdout(JSON.stringify(summary, null, 2) + '\n');
      else {
        note(
          `${basename(args.hive)}: ${dry ? 'dry run, nothing written: would have ' : ''}created ${total.keysCreated} keys, deleted ${total.keysDeleted}, ` +
            `set ${total.valuesSet} values, deleted ${total.valuesDeleted}` +
            `${total.missingDeletes.length ? ` (${total.missingDeletes.length} keys to delete were absent)` : ''}`,
        );
      }
      return;
    }
    case 'check': {
      const r = checkHiveFile(args.hive);
      if (args.json) stdout(JSON.stringify(r, null, 2) + '\n');
      else stdout(formatCheck(r));
      if (!r.ok) process.exitCode = Exit.Corrupt;
      return;
    }
    case 'create': {
      if (existsSync(args.hive)) throw new ExistsError(HiveCode.Exists, `${args.hive} already exists`, { path: args.hive });
      const h = Hive.create({ rootName: args.root ?? 'ROOT', minorVersion: args['format-version'] === '1.3' ? 3 : 5, fileName: basename(args.hive) });
      writeFileAtomic(args.hive, h.serialize());
      return;
    }
    case 'shell':
      return runShell(args);
    default:
      throw new UsageError(HiveCode.Shell, `unknown hive command ${sub}`, {});
  }
}

function formatCheck(r: ReturnType<typeof checkHiveFile>): string {
  const lines: string[] = [];
  const add = (k: string, v: unknown) => lines.push(`${k.padEnd(16)}${v}`);
  add('file', `${r.file} (${r.size} bytes)`);
  if (r.version) add('version', r.version);
  if (r.rootName !== undefined) add('root key', JSON.stringify(r.rootName));
  if (r.baseName) add('base name', JSON.stringify(r.baseName));
  if (r.lastWritten) add('last written', r.lastWritten);
  if (r.sequence) add('sequence', `${r.sequence[0]}/${r.sequence[1]}${r.checksumOk === false ? ' (bad checksum)' : ''}`);
  add('state', r.dirty ? 'DIRTY (a write did not finish: the logs hold the newest data)' : 'clean');
  if (r.logs.length === 0) add('logs', 'none found');
  for (const l of r.logs) add('log', `${basename(l.file)}: ${l.problem ? `unusable (${l.problem})` : `${l.format} format, sequence ${l.sequence}${l.entries !== undefined ? `, ${l.entries} entries` : ''}`}`);
  if (r.recovery) {
    add('replay', `${r.recovery.format} format: ${r.recovery.logsUsed.map((p) => basename(p)).join(' + ')}, ${r.recovery.entriesApplied} entries, ${r.recovery.pagesApplied} pages → sequence ${r.recovery.toSequence}`);
  }
  if (r.cells) {
    const c = r.cells;
    add('hbins', `${c.hbins}${c.badHbins ? ` (+${c.badHbins} bad)` : ''}, ${r.hiveBinsSize ?? '?'} bytes declared`);
    add('cells', `${c.allocatedCells} allocated (${c.allocatedBytes} bytes), ${c.freeCells} free (${c.freeBytes} bytes)`);
  }
  if (r.keys !== undefined) add('keys', `${r.keys} (deepest ${r.maxDepth} levels)`);
  if (r.values !== undefined) add('values', r.values);
  for (const p of r.problems) add('problem', p);
  add('verdict', r.ok ? 'OK' : 'PROBLEMS');
  return lines.join('\n') + '\n';
}

async function runShell(args: HiveArgs): Promise<void> {
  const interactive = !args.file && Boolean(process.stdin.isTTY);
  const sh = new HiveShell({ out: stdout, err: (t) => process.stderr.write(t) }, {
    write: Boolean(args.write), unsafe: Boolean(args.unsafe), logger: ctx().log, interactive,
  });
  if (args.hive && sh.load(args.hive) !== 0) {
    process.exitCode = Exit.Failed;
    return;
  }
  if (!interactive) {
    const text = readFileSync(args.file ?? 0, 'utf8');
    const lines = text.split('\n');
    if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
    const status = sh.runScript(lines.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l)));
    if (status !== 0) process.exitCode = Exit.Failed;
    return;
  }
  process.stdout.write('\nWelcome to the guestkit hive shell (hivexsh commands).\nType: \'help\' for help summary\n      \'quit\' to quit the shell\n\n');
  const { createInterface } = await import('node:readline');
  const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: true });
  rl.setPrompt(sh.prompt);
  rl.prompt();
  await new Promise<void>((resolve) => {
    rl.on('line', (line) => {
      sh.feed(line);
      if (sh.quit) {
        rl.close();
        return;
      }
      rl.setPrompt(sh.prompt);
      rl.prompt();
    });
    rl.on('close', () => {
      sh.end();
      resolve();
    });
  });
}

