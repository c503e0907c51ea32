import type { CommandModule } from 'yargs';
import { readFileSync } from 'node:fs';
import { UsageError, ioError } from '@guestkit/disk/binary';
import { ctx, type GlobalArgs } from '../main.js';

interface WinRegArgs extends GlobalArgs {
  args?: string[];
  add?: string[];
  merge?: boolean;
  'dry-run'?: boolean;
  user?: string;
  root?: string;
  'unsafe-printable-strings'?: boolean;
  encoding?: string;
  format?: 'raw' | 'qcow2';
  strict?: boolean;
  logs: boolean;
  force?: boolean;
}

/** A registry path's first component (HKLM, HKEY_USERS, …): where the images end on the command line. */
const ROOT_RE = /^\\?(HKEY_LOCAL_MACHINE|HKLM|HKEY_USERS|HKU|HKEY_CURRENT_USER|HKCU|HKEY_CLASSES_ROOT|HKCR|HKEY_CURRENT_CONFIG|HKCC)(\\|$)/i;

export const winRegCommand: CommandModule<GlobalArgs, WinRegArgs> = {
  command: 'win-reg [args..]',
  describe: 'read or merge the Windows registry of a disk image, like virt-win-reg',
  builder: (y) =>
    y
      .usage(
        'guestkit win-reg [options] IMAGE… KEY [VALUE]\n' +
          'guestkit win-reg --merge [options] IMAGE [FILE.reg…]\n\n' +
          'Print a registry key and everything below it in the .reg format virt-win-reg prints, or one value\n' +
          'as hivexget prints it; or merge .reg files into the guest (standard input when no file is given).',
      )
      .positional('args', { type: 'string', array: true, describe: 'IMAGE… KEY [VALUE], or with --merge: IMAGE [FILE.reg…]' })
      .option('add', { alias: 'a', type: 'string', array: true, describe: 'add a disk image (repeatable); then every positional argument is KEY [VALUE] or a .reg file' })
      .option('merge', { type: 'boolean', describe: 'merge .reg files into the guest (writes to the image)' })
      .option('dry-run', { alias: 'n', type: 'boolean', describe: 'with --merge: print the registry diff and what would be written; write nothing' })
      .option('user', { type: 'string', describe: 'the user HKEY_CURRENT_USER (HKCU) means: a user name or a SID' })
      .option('root', { type: 'string', describe: 'the Windows installation to use when there are several (e.g. /dev/sda3)' })
      .option('unsafe-printable-strings', { type: 'boolean', describe: 'print REG_SZ and REG_EXPAND_SZ as str(N):"text" (lossy, not re-mergeable)' })
      .option('encoding', { type: 'string', describe: 'with --merge: how "string" values are stored: UTF-16LE (default, what Windows uses) or ASCII' })
      .option('format', { type: 'string', choices: ['raw', 'qcow2'] as const, describe: 'format of the images (default: detected)' })
      .option('strict', { type: 'boolean', describe: 'with --merge: refuse to create a key whose parent is missing, as virt-win-reg does' })
      .option('logs', { type: 'boolean', default: true, describe: 'replay the transaction logs of a dirty hive (--no-logs reads the hive file as it is)' })
      .option('force', { type: 'boolean', describe: 'with --merge: write even if the Windows volume is hibernated, has Fast Startup data or is dirty (dangerous)' })
      .option('json', { type: 'boolean', describe: 'with --merge: print what was (or would be) changed as JSON' })
      .example("guestkit win-reg win.qcow2 'HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion'", 'export a key and its subkeys')
      .example("guestkit win-reg win.qcow2 'HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion' ProductName", 'one value: Windows 10 Pro')
      .example("guestkit win-reg win.qcow2 'HKLM\\SYSTEM\\CurrentControlSet\\Services\\Tcpip\\Parameters' Hostname", 'CurrentControlSet is resolved')
      .example("guestkit win-reg --user alice win.qcow2 'HKCU\\Environment'", "alice's NTUSER.DAT")
      .example('guestkit win-reg --merge win.qcow2 runonce.reg', 'apply a .reg file (regedit or hivexregedit dialect)')
      .example('guestkit win-reg --merge --dry-run win.qcow2 runonce.reg', 'show the registry diff, write nothing')
      .epilog(
        'Keys: HKLM\\SOFTWARE, HKLM\\SYSTEM, HKLM\\SAM, HKLM\\SECURITY, HKU\\.DEFAULT, HKU\\<SID> (the profile\n' +
          'from ProfileList), HKU\\<user name>, HKU\\LocalSystem|LocalService|NetworkService, HKU\\<SID or\n' +
          'name>_Classes (UsrClass.dat), HKCU\\… with --user (HKCU\\Software\\Classes is UsrClass.dat),\n' +
          'HKCR (= HKLM\\SOFTWARE\\Classes), HKCC, HKLM\\BCD00000000 (the boot store). HKLM and HKU are short\n' +
          'for HKEY_LOCAL_MACHINE and HKEY_USERS. CurrentControlSet is resolved through SYSTEM\\Select on\n' +
          'read and on write; exported keys are printed under the name they have in the hive\n' +
          '(ControlSet001, SOFTWARE\\Classes). HKU\\.DEFAULT is exported under HKEY_LOCAL_MACHINE\\.DEFAULT, as\n' +
          'virt-win-reg does.\n\n' +
          'Merge: the regedit (UTF-16LE or UTF-8, CRLF or LF, REGEDIT4 too) and hivexregedit dialects;\n' +
          '[KEY], [-KEY], "name"=…, @=…, "name"=-. Every file is applied in memory first; the hives are\n' +
          'written back in place through NTFS (a dirty hive has its transaction logs replayed first), and the\n' +
          'image is changed only when everything succeeded. Images are opened read-only without --merge.\n' +
          'Do not merge into the disk of a running VM. A guest that is hibernated or shut down with Fast\n' +
          'Startup is refused (exit 4): shut Windows down fully first.\n\n' +
          'Exit codes: 0 ok · 1 failed (no such key or value, no Windows found) · 2 usage (unsupported key\n' +
          'such as HKEY_CURRENT_USER without --user, several Windows without --root) · 3 bad .reg file or\n' +
          'corrupt image or hive · 4 refused: unsafe guest state.',
      ),
  handler: async (args) => {
    const c = ctx();
    const positional = (args.args ?? []).map(String);
    const added = args.add ?? [];
    const encoding = parseEncoding(args.encoding);
    if (!args.merge) {
      if (args['dry-run']) throw new UsageError('WINREG_USAGE', '--dry-run needs --merge (reading never writes)');
      if (args.encoding !== undefined) throw new UsageError('WINREG_USAGE', '--encoding is for --merge');
    } else if (args['unsafe-printable-strings']) throw new UsageError('WINREG_USAGE', '--unsafe-printable-strings is for exports, not --merge');
    const m = await import('@guestkit/inspector');
    const sessionOpts = {
      logger: c.log, logs: args.logs, force: Boolean(args.force),
      ...(args.format ? { format: args.format } : {}),
      ...(args.root ? { root: args.root } : {}),
      ...(args.user !== undefined ? { user: args.user } : {}),
    };

    if (!args.merge) {
      let images: string[];
      let rest: string[];
      if (added.length > 0) {
        images = added;
        rest = positional;
      } else {
        const at = positional.findIndex((a, i) => i > 0 && ROOT_RE.test(a));
        if (at < 0) throw new UsageError('WINREG_USAGE', 'expecting IMAGE… KEY [VALUE] (KEY starts with HKLM\\, HKU\\, HKCU\\ …)');
        images = positional.slice(0, at);
        rest = positional.slice(at);
      }
      if (rest.length < 1 || rest.length > 2) {
        throw new UsageError('WINREG_USAGE', 'expecting 1 or 2 more parameters, subkey path and optionally the value to export');
      }
      const [key, value] = rest as [string, string | undefined];
      const s = m.RegistrySession.open(images, sessionOpts);
      try {
        if (value === undefined) m.exportKey(s, key, (chunk) => c.outBytes(chunk), { unsafePrintableStrings: Boolean(args['unsafe-printable-strings']) });
        else {
          const v = m.getValue(s, key, value);
          if (typeof v === 'string') c.out(v);
          else c.outBytes(v);
        }
      } finally {
        s.close();
      }
      return;
    }

    // --merge
    const images = added.length > 0 ? added : positional.slice(0, 1);
    const files = added.length > 0 ? positional : positional.slice(1);
    if (images.length === 0) throw new UsageError('WINREG_USAGE', 'expecting IMAGE [FILE.reg…] after --merge');
    const inputs = (files.length ? files : ['-']).map((f) => ({ source: f === '-' ? '<stdin>' : f, bytes: readInput(f) }));
    const dryRun = Boolean(args['dry-run']);
    const s = m.RegistrySession.open(images, { ...sessionOpts, write: true, dryRun });
    try {
      const reports = inputs.map((i) => ({ source: i.source, ...s.merge(i.bytes, { source: i.source, strict: Boolean(args.strict), encoding }) }));
      const diff = dryRun || args.json ? s.registryDiff() : [];
      const written = s.writeHives();
      const extents = s.changedExtents(dryRun);
      if (!dryRun) s.commit();
      for (const h of s.openHives()) {
        if (h.gh.recovery) c.log.warn({}, `${h.gh.path}: the hive was dirty; its transaction logs (${h.gh.recovery.logsUsed.join(', ')}) were replayed before editing`);
      }
      if (args.json) {
        c.out(JSON.stringify({
          dryRun, committed: !dryRun, files: reports, registry: m.hiveDiffsToJson(diff),
          hivesWritten: written.map((w) => ({ path: w.path, oldSize: w.oldSize, newSize: w.newSize, bytesWritten: w.bytesWritten, ranges: w.ranges })),
          disks: extents.map((e) => ({ disk: e.disk, path: e.path, extents: e.extents.map((x) => ({ offset: x.offset, length: x.length })) })),
        }, null, 2) + '\n');
      } else if (dryRun) {
        c.out(m.formatHiveDiffs(diff));
        for (const w of written) {
          c.out(`# would write ${w.path}: ${w.bytesWritten} bytes in ${w.ranges.length} range(s), size ${w.oldSize} -> ${w.newSize}\n`);
        }
        for (const e of extents) {
          const bytes = e.extents.reduce((n, x) => n + x.length, 0);
          c.out(`# would change ${bytes} bytes in ${e.extents.length} extent(s) of ${e.disk} (${e.path})\n`);
        }
        c.out('# dry run: nothing was written\n');
      }
    } finally {
      s.close();
    }
  },
};

function parseEncoding(e: string | undefined): 'utf-16le' | 'ascii' | undefined {
  if (e === undefined) return undefined;
  const l = e.toLowerCase().replace(/[-_]/g, '');
  if (l === 'utf16le' || l === 'utf16') return 'utf-16le';
  if (l === 'ascii' || l === 'latin1' || l === 'iso88591') return 'ascii';
  throw new UsageError('WINREG_USAGE', `--encoding ${e}: expected UTF-16LE or ASCII`);
}

function readInput(f: string): Uint8Array {
  try {
    const b = f === '-' ? readFileSync(0) : readFileSync(f);
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  } catch (e) {
    throw ioError(`open: ${f}`, e);
  }
}
