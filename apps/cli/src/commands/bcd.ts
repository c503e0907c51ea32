import type { CommandModule } from 'yargs';
import { NotFoundError, UsageError } from '@guestkit/disk/binary';
import { ctx, type GlobalArgs } from '../main.js';

interface BcdArgs extends GlobalArgs {
  source: string;
  action?: string;
  args?: string[];
  add?: string[];
  format?: 'raw' | 'qcow2';
  guids?: boolean;
  copy?: string;
  description?: string;
  id?: string;
  addlast?: boolean;
  addfirst?: boolean;
  remove?: boolean;
  'dry-run'?: boolean;
  backup?: boolean;
  force?: boolean;
  store?: string;
  'force-ntfs'?: boolean;
}

const EDIT_ACTIONS = ['set', 'deletevalue', 'create', 'delete', 'default', 'displayorder', 'bootsequence', 'toolsdisplayorder', 'timeout'];
const SWITCHES = [
  'safeboot', 'bootstatuspolicy', 'recoveryenabled', 'testsigning', 'nointegritychecks', 'bootmenupolicy', 'hypervisorlaunchtype',
  'device', 'osdevice', 'description', 'bootlog', 'sos', 'debug', 'nx', 'quietboot',
];

export const bcdCommand: CommandModule<GlobalArgs, BcdArgs> = {
  command: 'bcd <source> [action] [args..]',
  describe: 'show and edit the Windows boot configuration (BCD) of a disk image or a BCD file, like bcdedit',
  builder: (y) =>
    y
      .positional('source', { type: 'string', demandOption: true, describe: 'a disk image (raw or qcow2) or a BCD store file (a registry hive)' })
      .positional('action', { type: 'string', choices: ['enum', ...EDIT_ACTIONS, ...SWITCHES], describe: 'what to do (default enum); see below' })
      .positional('args', { type: 'string', array: true, describe: 'the action\'s arguments: object ids, element, values' })
      .option('add', { alias: 'a', type: 'string', array: true, describe: 'more disk images of the same guest (the BCD may point at them); with a store file: the guest\'s images, for partition=… values' })
      .option('format', { type: 'string', choices: ['raw', 'qcow2'] as const, describe: 'image format (default: detected)' })
      .option('guids', { type: 'boolean', describe: 'enum: show object GUIDs instead of {aliases} (bcdedit /v)' })
      .option('json', { type: 'boolean', describe: 'print JSON: enum gives every object with typed, decoded elements; edits give the changes, warnings and the .reg diff' })
      .option('copy', { type: 'string', describe: 'create: the entry to copy (bcdedit /copy ID)' })
      .option('description', { alias: 'd', type: 'string', describe: 'create: the new entry\'s description (bcdedit /d)' })
      .option('id', { type: 'string', describe: 'create: GUID for the new entry (default: a random one)' })
      .option('addlast', { type: 'boolean', describe: 'object lists (displayorder, bootsequence, set … displayorder): append, moving ids already there' })
      .option('addfirst', { type: 'boolean', describe: 'object lists: put first, moving ids already there' })
      .option('remove', { type: 'boolean', describe: 'object lists: take the ids out (an emptied list is deleted)' })
      .option('dry-run', { alias: 'n', type: 'boolean', describe: 'make the edit in memory, print what changes and the diff of the store\'s .reg export, write nothing' })
      .option('backup', { type: 'boolean', default: true, describe: 'keep the old store as BCD.bak beside it (--no-backup: do not)' })
      .option('force', { type: 'boolean', describe: 'do an edit a safety check refuses (default to a non-loader, delete {bootmgr} or the default, unknown objects in the boot menu)' })
      .option('store', { type: 'string', describe: 'on a guest with several stores: which one, DEVICE[:PATH] (/dev/sda1:/EFI/Microsoft/Boot/BCD)' })
      .option('force-ntfs', { type: 'boolean', describe: 'write a store on an NTFS volume even if it is hibernated or dirty (risky)' })
      .conflicts('addlast', ['addfirst', 'remove'])
      .conflicts('addfirst', 'remove')
      .usage(
        'guestkit bcd IMAGE|STORE [enum [active|all|ID]] [--json]\n' +
          'guestkit bcd IMAGE|STORE ACTION ARGS… [--dry-run] [--no-backup] [--force] [--json]\n\n' +
          'Show or edit the boot configuration data (BCD) of a Windows guest offline, with bcdedit\'s verbs.',
      )
      .example('guestkit bcd win.qcow2', 'boot manager and boot menu (bcdedit /enum)')
      .example('guestkit bcd win.qcow2 enum all --json', 'every object, typed, as JSON')
      .example('guestkit bcd win.qcow2 timeout 5', 'boot menu timeout in seconds (bcdedit /timeout 5)')
      .example('guestkit bcd win.qcow2 safeboot minimal', 'next boots of {default} in safe mode (bcdedit /set {default} safeboot minimal)')
      .example('guestkit bcd win.qcow2 safeboot off', 'back to a normal boot (bcdedit /deletevalue {default} safeboot)')
      .example('guestkit bcd win.qcow2 create --copy {default} -d "Windows (safe mode)"', 'copy an entry; prints the new GUID; the copy joins the boot menu')
      .example('guestkit bcd win.qcow2 set {GUID} safeboot network', 'any element by bcdedit name or hex type (0x25000080)')
      .example('guestkit bcd win.qcow2 osdevice partition=C:', 'partition from the guest\'s partition table and drive letters (also /dev/sda3)')
      .example('guestkit bcd win.qcow2 displayorder {GUID} --addlast', 'boot menu order (--addfirst, --remove, or the whole list)')
      .example('guestkit bcd win.qcow2 default {GUID} --dry-run', 'show the change and the .reg diff, write nothing')
      .example('guestkit bcd BCD set {bootmgr} timeout 10', 'a store file: BCD.bak is kept beside it')
      .epilog(
        [
          'ACTIONS',
          '  enum [active|all|ID]              list objects (default: boot manager and its menu)',
          '  set ID ELEMENT VALUE…             set an element; ELEMENT is a bcdedit name (osdevice),',
          '                                    a WMI symbol or a hex type (0x25000080, custom:25000080)',
          '  deletevalue ID ELEMENT            remove an element',
          '  create --copy ID -d TEXT [--id G] copy an entry (prints the new GUID)',
          '  delete ID                         delete an object and take it out of the boot menus',
          '  default ID                        the entry booted when the timeout expires',
          '  displayorder ID… [--addlast|--addfirst|--remove]   the boot menu',
          '  bootsequence ID… [--addlast|--addfirst|--remove]   one-time boot sequence',
          '  toolsdisplayorder ID… [...]       the tools menu',
          '  timeout N                         boot menu timeout in seconds',
          '  SWITCH [ID] VALUE                 on {default} unless ID is given:',
          '    safeboot minimal|network|dsrepair|alternateshell|off',
          '    bootstatuspolicy ignoreallfailures|displayallfailures|ignorebootfailures|…',
          '    recoveryenabled|testsigning|nointegritychecks|bootlog|sos|debug|quietboot yes|no',
          '    bootmenupolicy legacy|standard    hypervisorlaunchtype auto|off',
          '    nx optin|optout|alwayson|alwaysoff    device|osdevice DEVICE    description TEXT',
          '',
          'IDS  {GUID}, or an alias: {bootmgr} {fwbootmgr} {default} {current} (offline: the default',
          '     entry) {memdiag} {ntldr} {globalsettings} {bootloadersettings} {resumeloadersettings}',
          '     {hypervisorsettings} {dbgsettings} {emssettings} {badmemory} {ramdiskoptions} …',
          '',
          'VALUES are typed by the element: strings; yes/no (on/off, true/false); numbers (decimal,',
          '0x hex) or the names enum shows (safeboot Minimal); number lists; object ids; id lists;',
          'devices:',
          '  boot',
          '  partition=C:     a drive letter of the Windows installation the entry boots (C: is its',
          '                   root when MountedDevices has no C:)',
          '  partition=/dev/sda3',
          '  partition=gpt disk {GUID} partition {GUID}      partition=mbr disk 0xSIGNATURE offset BYTES',
          '  ramdisk=[boot|C:|/dev/sda4]\\path\\x.wim,{ramdiskoptions}      locate=custom:12000002',
          'Partition devices are built from the guest\'s partition table (GPT partition and disk',
          'GUIDs, MBR signature and byte offset) and must exist on it.',
          '',
          'WRITES  The store is found as enum finds it (\\EFI\\Microsoft\\Boot\\BCD on the ESP,',
          '\\Boot\\BCD), edited in memory, checked, and written back through the FAT or NTFS driver',
          '(a store file: atomically). The old store is kept as BCD.bak beside it unless --no-backup.',
          'A store whose hive is dirty is brought up to date from BCD.LOG1/.LOG2 first, or refused',
          '(exit 4). Unknown elements are kept byte for byte.',
          'SAFETY  default and the boot menus take only boot entries that exist; {bootmgr}, the',
          'default entry and the well-known objects are not deleted; warnings name anything left',
          'pointing nowhere. --force overrides a refusal.',
          'Element names, types and formats: packages/inspector/docs/bcd-elements.md.',
        ].join('\n'),
      ),
  handler: async (args) => {
    const action = args.action ?? 'enum';
    if (action === 'enum') return enumHandler(args);
    return editHandler(args, action);
  },
};

async function isStoreFile(path: string): Promise<boolean> {
  const { openSync, readSync, closeSync } = await import('node:fs');
  const head = Buffer.alloc(4);
  try {
    const fd = openSync(path, 'r');
    try {
      readSync(fd, head, 0, 4, 0);
    } finally {
      closeSync(fd);
    }
  } catch (e) {
    throw new UsageError('NO_SUCH_FILE', `${path}: ${(e as Error).message}`, { path });
  }
  return head.toString('latin1') === 'regf';
}

async function enumHandler(args: BcdArgs): Promise<void> {
  const inspector = await import('@guestkit/inspector');
  const { readFileSync } = await import('node:fs');
  const c = ctx();
  const rest = args.args ?? [];
  if (rest.length > 1) throw new UsageError('BAD_ARGS', `enum takes one selection (active, all or an id), got ${rest.length}`);
  const target = rest[0] ?? 'active';
  const fmt = { guids: Boolean(args.guids) };

  if (await isStoreFile(args.source)) {
    const store = inspector.readBcdStore(inspector.openHiveBytes(readFileSync(args.source), args.source, { logger: c.log }));
    for (const w of store.warnings) c.log.warn({}, w);
    const objects = pick(inspector, store, target);
    let guest: import('@guestkit/inspector').Guest | undefined;
    try {
      if (args.add?.length) guest = inspector.Guest.open(args.add, { logger: c.log, ...(args.format ? { format: args.format } : {}) });
      const opts = guest ? { ...fmt, resolve: inspector.guestPartitionResolver(guest) } : fmt;
      if (args.json) c.out(JSON.stringify({ file: args.source, objects: inspector.bcdObjectsJson(store, objects, opts) }, null, 2) + '\n');
      else c.out(inspector.formatBcdText(store, objects, opts));
    } finally {
      guest?.close();
    }
    return;
  }

  const images = [args.source, ...(args.add ?? [])];
  const guest = inspector.Guest.open(images, { logger: c.log, ...(args.format ? { format: args.format } : {}) });
  try {
    const report = inspector.inspectGuest(guest, { applications: false, extras: false, logger: c.log });
    const stores = inspector.findBcdStores(guest, c.log, (m) => c.log.warn({}, m));
    if (stores.length === 0) {
      throw new NotFoundError(inspector.InspectCode.BcdNoStore, `no BCD store found on ${images.join(', ')} (looked for \\EFI\\Microsoft\\Boot\\BCD and \\Boot\\BCD)`);
    }
    const out: unknown[] = [];
    const texts: string[] = [];
    for (const s of stores) {
      const letters = inspector.driveLettersForStore(guest, s, report);
      const opts = { ...fmt, resolve: inspector.guestPartitionResolver(guest, letters) };
      const objects = pick(inspector, s.store, target);
      for (const w of s.store.warnings) c.log.warn({}, `${s.device}:${s.path}: ${w}`);
      if (args.json) out.push({ device: s.device, path: s.path, objects: inspector.bcdObjectsJson(s.store, objects, opts) });
      else texts.push((stores.length > 1 ? `# ${s.device}:${s.path}\n\n` : '') + inspector.formatBcdText(s.store, objects, opts));
    }
    if (args.json) c.out(JSON.stringify({ images, stores: out }, null, 2) + '\n');
    else c.out(texts.join('\n'));
  } finally {
    guest.close();
  }
}

function pick(
  inspector: typeof import('@guestkit/inspector'),
  store: import('@guestkit/inspector').BcdStore,
  target: string,
): import('@guestkit/inspector').BcdObject[] {
  const objects = inspector.selectBcdObjects(store, target);
  if (objects.length === 0 && target !== 'active' && target !== 'all') {
    throw new NotFoundError(inspector.InspectCode.BcdNoObject, `the store has no object ${target}`, { target });
  }
  return objects;
}

type EditOp = import('@guestkit/inspector').BcdEditOp;

function usage(msg: string): UsageError {
  return new UsageError('BAD_ARGS', msg);
}

/** Turn the action and its words into an edit operation. */
function parseOp(action: string, a: string[], args: BcdArgs): EditOp {
  const mode = args.addlast ? 'addlast' : args.addfirst ? 'addfirst' : args.remove ? 'remove' : 'set';
  const need = (n: number, what: string): void => {
    if (a.length < n) throw usage(`${action}: expected ${what}`);
  };
  const exactly = (n: number, what: string): void => {
    if (a.length !== n) throw usage(`${action}: expected ${what}, got ${a.length} argument(s)`);
  };
  if (mode !== 'set' && !['set', 'displayorder', 'bootsequence', 'toolsdisplayorder'].includes(action)) {
    throw usage(`--${mode} applies to set, displayorder, bootsequence and toolsdisplayorder`);
  }
  switch (action) {
    case 'set':
      need(3, 'ID ELEMENT VALUE…');
      return { op: 'set', id: a[0]!, element: a[1]!, value: a.slice(2), mode };
    case 'deletevalue':
      exactly(2, 'ID ELEMENT');
      return { op: 'deletevalue', id: a[0]!, element: a[1]! };
    case 'create': {
      if (a.length > 0) throw usage('create takes --copy ID and --description TEXT, not positional arguments');
      if (!args.copy) throw usage('create: give the entry to copy with --copy ID (e.g. --copy {default})');
      const op: EditOp = { op: 'create', copy: args.copy };
      if (args.description !== undefined) op.description = args.description;
      if (args.id !== undefined) op.newId = args.id;
      return op;
    }
    case 'delete':
      exactly(1, 'ID');
      return { op: 'delete', id: a[0]! };
    case 'default':
      exactly(1, 'ID');
      return { op: 'default', id: a[0]! };
    case 'displayorder':
    case 'bootsequence':
    case 'toolsdisplayorder':
      need(1, 'one or more ids');
      return { op: action, ids: a, mode };
    case 'timeout':
      exactly(1, 'N (seconds)');
      return { op: 'timeout', seconds: a[0]! };
    default: {
      // SWITCH [ID] VALUE…: an id comes first when it looks like one ({…} or a GUID).
      need(1, 'a value');
      const hasId = a.length >= 2 && /^\{.*\}$|^[0-9a-f]{8}-[0-9a-f]{4}-/i.test(a[0]!);
      const op: EditOp = { op: 'switch', name: action as Extract<EditOp, { op: 'switch' }>['name'], value: hasId ? a.slice(1) : a };
      if (hasId) op.id = a[0]!;
      return op;
    }
  }
}

function changeLine(ch: import('@guestkit/inspector').BcdChange): string {
  switch (ch.action) {
    case 'set':
      return ch.before === ch.after && ch.before !== undefined
        ? `${ch.label} ${ch.element}: ${ch.after} (unchanged)`
        : `${ch.label} ${ch.element}: ${ch.before ?? '(not set)'} -> ${ch.after ?? ''}`;
    case 'deletevalue':
      return `${ch.label} ${ch.element}: ${ch.before ?? ''} -> (deleted)`;
    case 'create':
      return `created ${ch.object} (a copy of ${ch.before})`;
    case 'delete':
      return `deleted ${ch.label}`;
  }
}

async function editHandler(args: BcdArgs, action: string): Promise<void> {
  const inspector = await import('@guestkit/inspector');
  const c = ctx();
  if (args.guids) throw usage('--guids applies to enum');
  const op = parseOp(action, args.args ?? [], args);
  const common = {
    logger: c.log,
    ...(args['dry-run'] ? { dryRun: true } : {}),
    ...(args.backup === false ? { backup: false } : {}),
    ...(args.force ? { force: true } : {}),
    ...(args.format ? { format: args.format } : {}),
  };
  let report: import('@guestkit/inspector').BcdEditReport;
  if (await isStoreFile(args.source)) {
    if (args.store) throw usage('--store applies to disk images');
    report = inspector.editBcdFile(args.source, [op], { ...common, ...(args.add?.length ? { images: args.add } : {}) });
  } else {
    report = inspector.editBcdImage([args.source, ...(args.add ?? [])], [op], {
      ...common,
      ...(args.store ? { store: args.store } : {}),
      ...(args['force-ntfs'] ? { forceNtfs: true } : {}),
    });
  }
  const created = report.results.map((r) => r.created).filter((x): x is string => x !== undefined);
  const where = 'file' in report.store ? report.store.file : `${report.store.device}:${report.store.path}`;
  if (args.json) {
    const j: Record<string, unknown> = {
      store: 'file' in report.store ? { file: report.store.file } : { images: report.store.images, device: report.store.device, path: report.store.path },
      action,
      dry_run: report.dryRun,
      written: report.written,
      changes: report.changes,
      warnings: report.warnings,
      reg_diff: report.regDiff,
    };
    if (created.length) j.created = created;
    if (report.backup) j.backup = report.backup;
    if (report.logsReplayed) j.logs_replayed = report.logsReplayed;
    c.out(JSON.stringify(j, null, 2) + '\n');
    for (const w of report.warnings) c.log.warn({}, w);
    return;
  }
  for (const w of report.warnings) process.stderr.write(`guestkit: warning: ${w}\n`);
  const lines = report.changes.map(changeLine);
  if (report.logsReplayed) lines.unshift(`replayed transaction logs: ${report.logsReplayed.join(', ')}`);
  if (report.dryRun) {
    lines.push(`dry run: nothing written to ${where}`);
    if (report.regDiff) lines.push('', report.regDiff.trimEnd());
  } else if (report.written) {
    lines.push(`wrote ${where}${report.backup ? ` (the old store is kept as ${report.backup})` : ''}`);
  } else {
    lines.push(`nothing changed in ${where}`);
  }
  if (action === 'create' && !report.dryRun) {
    // stdout is the new GUID alone, for scripts: id=$(guestkit bcd IMG create --copy {default} -d X)
    process.stderr.write(lines.join('\n') + '\n');
    c.out(created.join('\n') + '\n');
    return;
  }
  if (action === 'create') c.out(created.join('\n') + '\n');
  c.out(lines.join('\n') + '\n');
}
