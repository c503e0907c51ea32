import type { Argv, CommandModule } from 'yargs';
import type { GlobalArgs } from '../main.js';

/**
 * `guestkit hive …`: hivexregedit, hivexget, hivexml and hivexsh over @guestkit/hive. This file
 * only declares the commands; the work is in hive-run.ts, imported when a command runs.
 */
export interface HiveArgs extends GlobalArgs {
  hive: string;
  key?: string;
  value?: string;
  name?: string;
  data?: string;
  files?: string[];
  prefix?: string;
  'unsafe-printable-strings'?: boolean;
  unsafe?: boolean;
  'max-depth'?: number;
  header?: boolean;
  utf8?: boolean;
  logs?: boolean;
  strict?: boolean;
  'dry-run'?: boolean;
  encoding?: string;
  'allow-dirty'?: boolean;
  create?: boolean;
  'keep-going'?: boolean;
  pretty?: boolean;
  write?: boolean;
  file?: string;
  root?: string;
  'format-version'?: string;
}

const LOGS = {
  logs: { type: 'boolean', default: true, describe: 'replay HIVE.LOG1/.LOG2 when the hive is dirty (--no-logs: read the primary file as it is)' },
} as const;

const run = (sub: string) => async (args: HiveArgs) => {
  const m = await import('./hive-run.js');
  await m.runHive(sub, args);
};

const exportCmd: CommandModule<GlobalArgs, HiveArgs> = {
  command: 'export <hive> [key]',
  describe: 'print a key and its subtree as a .reg file (hivexregedit --export)',
  builder: (y) =>
    y
      .positional('hive', { type: 'string', demandOption: true, describe: 'hive file' })
      .positional('key', { type: 'string', default: '\\', describe: 'key path inside the hive, e.g. "\\Microsoft\\Windows" (default: the root)' })
      .option('prefix', { type: 'string', describe: 'printed before every key path, e.g. "HKEY_LOCAL_MACHINE\\SOFTWARE"' })
      .option('unsafe-printable-strings', { type: 'boolean', describe: 'print REG_SZ/REG_EXPAND_SZ as str(N):"text" decoded from UTF-16LE (lossy)' })
      .option('unsafe', { type: 'boolean', describe: 'read a damaged hive as far as possible, skipping what cannot be read (warnings on stderr)' })
      .option('max-depth', { type: 'number', describe: '0 prints nothing, 1 only KEY, N keys down to depth N-1' })
      .option('header', { type: 'boolean', default: true, describe: 'print "Windows Registry Editor Version 5.00" first (--no-header: as virt-win-reg)' })
      .option('utf8', { type: 'boolean', describe: 'write names as UTF-8 throughout (hivexregedit prints Latin-1-only names as Latin-1 bytes)' })
      .options(LOGS)
      .example("guestkit hive export SOFTWARE '\\Microsoft\\Windows NT\\CurrentVersion'", 'one key, hive-relative paths')
      .example("guestkit hive export --prefix 'HKEY_LOCAL_MACHINE\\SYSTEM' SYSTEM '\\Select'", 'paths as regedit shows them')
      .epilog(
        'The output is byte-for-byte what `hivexregedit --export [--prefix P] HIVE KEY` prints: keys\n' +
          'depth-first, subkeys and values sorted by name, every value as hex(TYPE): bytes except 4-byte\n' +
          'REG_DWORDs (dword:), a blank line after each key. It merges back losslessly with `hive merge`.',
      ),
  handler: run('export'),
};

const mergeCmd: CommandModule<GlobalArgs, HiveArgs> = {
  command: 'merge <hive> [files..]',
  describe: 'apply .reg files to a hive (hivexregedit --merge; regedit and hivexregedit dialects)',
  builder: (y) =>
    y
      .positional('hive', { type: 'string', demandOption: true, describe: 'hive file, changed in place (atomically)' })
      .positional('files', { type: 'string', array: true, describe: '.reg files (default: standard input; "-" too)' })
      .option('prefix', { type: 'string', describe: 'removed from the start of every key path, e.g. "HKEY_LOCAL_MACHINE\\SOFTWARE"' })
      .option('strict', { type: 'boolean', describe: 'refuse to create a key whose parent is missing (as hivexregedit does)' })
      .option('dry-run', { type: 'boolean', describe: 'parse and apply in memory, report what would change, write nothing' })
      .option('encoding', { type: 'string', choices: ['utf-16le', 'ascii'], default: 'utf-16le', describe: 'how "string" values are stored' })
      .option('allow-dirty', { type: 'boolean', describe: 'edit a dirty hive without replaying its logs (not recommended)' })
      .option('json', { type: 'boolean', describe: 'print the change summary as JSON' })
      .options(LOGS)
      .example("guestkit hive merge --prefix 'HKEY_LOCAL_MACHINE\\SOFTWARE' software firstboot.reg", 'a regedit export (UTF-16LE or UTF-8, CRLF or LF)')
      .example("printf '[\\\\Select]\\n\"Current\"=dword:00000002\\n' | guestkit hive merge SYSTEM", 'from standard input')
      .epilog(
        'Accepted: "Windows Registry Editor Version 5.00" and REGEDIT4 files, UTF-16LE with a BOM or UTF-8,\n' +
          'CRLF or LF, lines continued with "\\", [KEY], [-KEY] (deletes the subtree), "name"="text", @=…,\n' +
          '"name"=dword:…, hex:…, hex(N):…, str(N):"…", "name"=- (deletes the value). Missing parent keys\n' +
          'are created (regedit) unless --strict. The hive is written once, atomically, after all files\n' +
          'applied cleanly; a dirty hive has its logs replayed first (said on stderr).',
      ),
  handler: run('merge'),
};

const getCmd: CommandModule<GlobalArgs, HiveArgs> = {
  command: 'get <hive> <key> [value]',
  describe: 'print the values of a key, or one value raw (hivexget)',
  builder: (y) =>
    y
      .positional('hive', { type: 'string', demandOption: true })
      .positional('key', { type: 'string', demandOption: true, describe: 'key path, e.g. "\\Select"' })
      .positional('value', { type: 'string', describe: 'value name ("@" or "" for the default value)' })
      .option('unsafe', { type: 'boolean', describe: 'read a damaged hive as far as possible' })
      .options(LOGS)
      .example("guestkit hive get SYSTEM '\\Select' Current", 'prints 1')
      .example("guestkit hive get SOFTWARE '\\Microsoft\\Windows NT\\CurrentVersion'", 'all values, regedit-like')
      .epilog('One value is printed the way hivexget prints it: strings decoded (one line), REG_MULTI_SZ one\nstring per line, DWORD/QWORD in decimal, anything else as raw bytes.'),
  handler: run('get'),
};

const setCmd: CommandModule<GlobalArgs, HiveArgs> = {
  command: 'set <hive> <key> <name> <data>',
  describe: 'set one value (TYPE:VALUE)',
  builder: (y) =>
    y
      .positional('hive', { type: 'string', demandOption: true })
      .positional('key', { type: 'string', demandOption: true })
      .positional('name', { type: 'string', demandOption: true, describe: 'value name ("@" for the default value)' })
      .positional('data', { type: 'string', demandOption: true, describe: 'TYPE:VALUE, see below' })
      .option('create', { type: 'boolean', describe: 'create the key (and missing parents) if it does not exist' })
      .option('allow-dirty', { type: 'boolean', describe: 'edit a dirty hive without replaying its logs' })
      .option('dry-run', { type: 'boolean', describe: 'do everything but write the hive' })
      .options(LOGS)
      .example("guestkit hive set SYSTEM '\\ControlSet001\\Control\\CrashControl' CrashDumpEnabled dword:2", 'a DWORD')
      .example("guestkit hive set SOFTWARE '\\Microsoft\\Windows\\CurrentVersion\\RunOnce' Test 'sz:c:\\test.bat'", 'a string')
      .epilog(
        'TYPE:VALUE is one of sz:TEXT, expand:TEXT, link:TEXT, multi:A,B,C (\\, for a comma), dword:N,\n' +
          'dword-be:N, qword:N (N in C syntax: 42, 0x2a, 052), binary:HEX, none:, hex(T):HEX (any type T,\n' +
          'hex digits, commas allowed), or hivexsh\'s string:/expandstring:/hex:T:HEX.',
      ),
  handler: run('set'),
};

const xmlCmd: CommandModule<GlobalArgs, HiveArgs> = {
  command: 'xml <hive>',
  describe: 'print the whole hive as XML (hivexml)',
  builder: (y) =>
    y
      .positional('hive', { type: 'string', demandOption: true })
      .option('keep-going', { alias: 'k', type: 'boolean', describe: 'skip keys that cannot be read (hivexml -k)' })
      .option('unsafe', { alias: 'u', type: 'boolean', describe: 'read a damaged hive as far as possible (hivexml -u)' })
      .options(LOGS)
      .example('guestkit hive xml NTUSER.DAT > ntuser.xml', '')
      .epilog('Byte-for-byte the XML hivexml writes: keys and values in on-disk order with timestamps, byte\nruns (file offsets) and typed values; binary data in base64.'),
  handler: run('xml'),
};

const jsonCmd: CommandModule<GlobalArgs, HiveArgs> = {
  command: 'json <hive> [key]',
  describe: 'print a key and its subtree as JSON (guestkit-hive-json v1)',
  builder: (y) =>
    y
      .positional('hive', { type: 'string', demandOption: true })
      .positional('key', { type: 'string', describe: 'start key (default: the root)' })
      .option('pretty', { type: 'boolean', describe: 'one value per line, indented' })
      .option('unsafe', { type: 'boolean', describe: 'read a damaged hive as far as possible' })
      .options(LOGS)
      .example("guestkit hive json --pretty SYSTEM '\\Select'", '')
      .epilog('Format (documented in packages/hive/README.md): {format, version, hive: {...}, root: KEY}, KEY =\n{name, lastWritten, class?, values: [{name, type, data | base64}], subkeys: [KEY]}. Lossless.'),
  handler: run('json'),
};

const checkCmd: CommandModule<GlobalArgs, HiveArgs> = {
  command: 'check <hive>',
  describe: 'report version, dirty state, transaction logs, cell statistics and problems',
  builder: (y) =>
    y
      .positional('hive', { type: 'string', demandOption: true })
      .option('json', { type: 'boolean', describe: 'print the report as JSON' })
      .example('guestkit hive check /mnt/Windows/System32/config/SYSTEM', '')
      .epilog('Exit status 0 when the hive reads cleanly (after replaying its logs if it is dirty), 3 when not.'),
  handler: run('check'),
};

const shellCmd: CommandModule<GlobalArgs, HiveArgs> = {
  command: 'shell [hive]',
  describe: 'interactive registry shell with hivexsh\'s commands (scriptable from stdin or -f)',
  builder: (y) =>
    y
      .positional('hive', { type: 'string', describe: 'hive to load' })
      .option('write', { alias: 'w', type: 'boolean', describe: 'allow changes and commit (hivexsh -w)' })
      .option('unsafe', { alias: 'u', type: 'boolean', describe: 'read a damaged hive as far as possible (hivexsh -u)' })
      .option('file', { alias: 'f', type: 'string', describe: 'read commands from a file (hivexsh -f)' })
      .example("printf 'cd \\\\Select\\nlsval\\n' | guestkit hive shell SYSTEM", 'scripted')
      .example('guestkit hive shell -w SOFTWARE', 'interactive, writable')
      .epilog(
        'Commands: add NAME, cd PATH (\\ separated; .. goes up), close, commit [NEWFILE], del (the current\n' +
          'key), exit/quit, help, load FILE, ls, lsval [NAME|@], setval N (then N name and value lines:\n' +
          'none, string:…, expandstring:…, dword:…, qword:…, hex:TYPE:HEX) — as in hivexsh — and\n' +
          'set NAME TYPE:VALUE, unset NAME, export, pwd. Lines starting with # are comments. In a script\n' +
          'the first error stops the shell with exit status 1. Commit writes atomically.',
      ) as unknown as Argv<HiveArgs>,
  handler: run('shell'),
};

const createCmd: CommandModule<GlobalArgs, HiveArgs> = {
  command: 'create <hive>',
  describe: 'create an empty hive file (hivex cannot)',
  builder: (y) =>
    y
      .positional('hive', { type: 'string', demandOption: true, describe: 'file to create (must not exist)' })
      .option('root', { type: 'string', default: 'ROOT', describe: 'name of the root key' })
      .option('format-version', { type: 'string', choices: ['1.3', '1.5'], default: '1.5', describe: '1.5 (latest format) or 1.3 (standard format)' })
      .example('guestkit hive create new.hive && guestkit hive merge new.hive settings.reg', ''),
  handler: run('create'),
};

export const hiveCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'hive <command>',
  describe: 'Windows registry hive files: export, merge, get, set, xml, json, check, shell (hivex tools)',
  builder: (y: Argv<GlobalArgs>) =>
    y
      .command(exportCmd)
      .command(mergeCmd)
      .command(getCmd)
      .command(setCmd)
      .command(xmlCmd)
      .command(jsonCmd)
      .command(checkCmd)
      .command(shellCmd)
      .command(createCmd)
      .demandCommand(1, 'Give a hive command; `guestkit hive --help` lists them.')
      .epilog(
        'Hive files are read directly (no libhivex). A dirty hive (its base block says a write did not\n' +
          'finish) has its HIVE.LOG1/.LOG2 transaction logs replayed in memory first; stderr says so.\n' +
          'Writes go to a temporary file that replaces the hive atomically.',
      ) as Argv<GlobalArgs>,
  handler: () => undefined,
};
