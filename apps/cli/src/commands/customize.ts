import type { CommandModule } from 'yargs';
import { UsageError } from '@guestkit/disk/binary';
import type { Recipe } from '@guestkit/inspector';
import { ctx, type GlobalArgs } from '../main.js';

interface CustomizeArgs extends GlobalArgs {
  images?: string[];
  add?: string[];
  upload?: string[];
  firstboot?: string[];
  'firstboot-command'?: string[];
  'run-once'?: string[];
  'install-service'?: string[];
  'inject-driver'?: string[];
  'pci-id'?: string[];
  'firstboot-service-binary'?: string;
  'driver-class'?: string;
  'dry-run'?: boolean;
  'print-plan'?: boolean;
  format?: 'raw' | 'qcow2';
  root?: string;
  force?: boolean;
}

/** The options that add a recipe step, in the order they are applied. */
const STEP_OPTIONS = ['upload', 'firstboot', 'firstboot-command', 'run-once', 'install-service', 'inject-driver', 'pci-id'] as const;
type StepOption = (typeof STEP_OPTIONS)[number];

export const customizeCommand: CommandModule<GlobalArgs, CustomizeArgs> = {
  command: 'customize [images..]',
  describe: 'edit a Windows guest: upload files, first-boot scripts, RunOnce, services, boot drivers (virt-customize / virt-v2v recipes)',
  builder: (y) =>
    y
      .positional('images', { type: 'string', array: true, describe: 'disk images of the guest (raw or qcow2)' })
      .option('add', { alias: 'a', type: 'string', array: true, describe: 'add a disk image (repeatable)' })
      .option('upload', { type: 'string', array: true, describe: 'SRC:DST — copy host file SRC to DST in the guest (C:\\dir\\file, C:\\dir\\ or /dir/file); parent directories are created' })
      .option('firstboot', { type: 'string', array: true, describe: 'SCRIPT.bat — run at the next boot, before anyone logs on, by the firstboot service' })
      .option('firstboot-command', { type: 'string', array: true, describe: 'CMD — like --firstboot with a one-line script' })
      .option('run-once', { type: 'string', array: true, describe: 'CMD — run once at the next logon (HKLM\\…\\RunOnce)' })
      .option('install-service', { type: 'string', array: true, describe: 'NAME=BINARY — install an auto-start service (every control set); BINARY is a host file (uploaded) or a guest path (C:\\…)' })
      .option('inject-driver', { type: 'string', array: true, describe: 'FILE.sys — install a boot storage driver as virt-v2v does (service key, CriticalDeviceDatabase or DriverDatabase)' })
      .option('pci-id', { type: 'string', array: true, describe: 'VEN_xxxx&DEV_xxxx[&SUBSYS_…][&REV_xx] — a device the preceding --inject-driver serves (viostor and vioscsi have defaults)' })
      .option('firstboot-service-binary', { type: 'string', describe: 'the service wrapper the firstboot service runs: rhsrvany.exe or pvvxsvc.exe (default: $VIRT_TOOLS_DATA_DIR, else one already in the guest)' })
      .option('driver-class', { type: 'string', describe: 'device class GUID for --inject-driver (default: SCSI adapter {4D36E97B-E325-11CE-BFC1-08002BE10318})' })
      .option('dry-run', { alias: 'n', type: 'boolean', describe: 'print the plan, the registry diff and the file changes; write nothing' })
      .option('print-plan', { type: 'boolean', describe: 'print the plan only (the images are opened read-only)' })
      .option('json', { type: 'boolean', describe: 'print the plan and the changes as JSON' })
      .option('format', { type: 'string', choices: ['raw', 'qcow2'] as const, describe: 'format of the images (default: detected)' })
      .option('root', { type: 'string', describe: 'the Windows installation to edit when there are several (e.g. /dev/sda3)' })
      .option('force', { type: 'boolean', describe: 'write even if the Windows volume is hibernated, has Fast Startup data or is dirty (dangerous)' })
      .example('guestkit customize win.qcow2 --upload ./setup.bat:C:\\Temp\\ --run-once "C:\\Temp\\setup.bat"', 'a command at the next logon')
      .example('guestkit customize win.qcow2 --firstboot ./setup.bat --firstboot-service-binary /usr/share/virt-tools/rhsrvany.exe', 'a script at the next boot, no logon needed')
      .example('guestkit customize win.qcow2 --inject-driver viostor.sys', 'boot from a virtio disk on KVM (virt-v2v recipe)')
      .example('guestkit customize win.qcow2 --dry-run --install-service agent=./agent.exe', 'show what would change')
      .epilog(
        'Recipe options may be repeated and are applied in the order given. --run-once vs --firstboot:\n' +
          '  --run-once adds a value under HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\RunOnce. Windows\n' +
          '    runs it when a user next logs on, in that user\'s session, and deletes it first. No logon, no run.\n' +
          '  --firstboot installs libguestfs\'s firstboot service (C:\\Program Files\\Guestfs\\Firstboot, service\n' +
          '    "firstboot", the same layout virt-customize uses): at the next boot, before any logon, it runs\n' +
          '    the scripts as LocalSystem, logs to log.txt there, and removes itself. It needs a service\n' +
          '    wrapper program (rhsrvany.exe or pvvxsvc.exe) that you supply with --firstboot-service-binary.\n' +
          'Everything is applied in memory first and written to the images at the end, all or nothing; with\n' +
          '--dry-run nothing is written. Do not use on the disk of a running VM; a hibernated or Fast Startup\n' +
          'guest is refused (exit 4). Exit codes: 0 ok · 1 failed · 2 usage · 3 corrupt image · 4 unsafe guest.',
      ),
  handler: async (args) => {
    const c = ctx();
    const images = [...(args.add ?? []), ...(args.images ?? []).map(String)];
    if (images.length === 0) throw new UsageError('EDIT_USAGE', 'give the guest\'s disk image (IMAGE or -a IMAGE)');
    const m = await import('@guestkit/inspector');
    const steps = orderedSteps(args, process.argv.slice(2));
    const recipes: Recipe[] = [];
    for (const s of steps) {
      switch (s.option) {
        case 'upload':
          recipes.push({ kind: 'upload', ...m.splitUploadArg(s.value) });
          break;
        case 'firstboot':
          recipes.push({ kind: 'firstboot', script: s.value });
          break;
        case 'firstboot-command':
          recipes.push({ kind: 'firstboot-command', command: s.value });
          break;
        case 'run-once':
          recipes.push({ kind: 'run-once', command: s.value });
          break;
        case 'install-service':
          recipes.push({ kind: 'install-service', ...m.splitServiceArg(s.value) });
          break;
        case 'inject-driver':
          recipes.push({ kind: 'inject-driver', file: s.value, pciIds: [], ...(args['driver-class'] ? { classGuid: args['driver-class'] } : {}) });
          break;
        case 'pci-id': {
          const last = recipes[recipes.length - 1];
          if (!last || last.kind !== 'inject-driver') throw new UsageError('EDIT_USAGE', `--pci-id ${s.value}: must follow the --inject-driver it belongs to`);
          last.pciIds.push(s.value);
          break;
        }
      }
    }
    if (recipes.length === 0) throw new UsageError('EDIT_USAGE', 'nothing to do: give at least one of --upload, --firstboot, --firstboot-command, --run-once, --install-service, --inject-driver');
    const dryRun = Boolean(args['dry-run']);
    const planOnly = Boolean(args['print-plan']);
    const result = m.customizeImages(images, recipes, {
      dryRun, planOnly, force: Boolean(args.force), logger: c.log,
      ...(args.format ? { format: args.format } : {}), ...(args.root ? { root: args.root } : {}),
      ...(args['firstboot-service-binary'] ? { firstbootServiceBinary: args['firstboot-service-binary'] } : {}),
    });
    const warnings = result.plan.steps.flatMap((s) => s.warnings);
    for (const w of warnings) c.log.warn({}, w);
    const { createHash } = await import('node:crypto');
    const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
    if (args.json) {
      const r = result.report;
      c.out(JSON.stringify({
        dryRun, committed: result.committed, plan: m.planToJson(result.plan, sha),
        ...(r ? {
          files: r.files, registry: m.hiveDiffsToJson(r.registry),
          hivesWritten: r.hivesWritten.map((w) => ({ path: w.path, oldSize: w.oldSize, newSize: w.newSize, bytesWritten: w.bytesWritten })),
          disks: r.disks.map((d) => ({ disk: d.disk, path: d.path, bytes: d.extents.reduce((n, x) => n + x.length, 0), extents: d.extents.length })),
        } : {}),
      }, null, 2) + '\n');
      return;
    }
    if (planOnly || dryRun) c.out(m.formatPlan(result.plan));
    const r = result.report;
    if (!r) return;
    if (dryRun) {
      c.out('\n# registry diff\n' + m.formatHiveDiffs(r.registry));
      c.out('\n# file changes\n');
      for (const f of r.files) c.out(`${f.op} ${f.path}${f.size !== undefined ? ` (${f.size} bytes${f.oldSize !== undefined ? `, was ${f.oldSize}` : ''})` : ''}\n`);
      for (const d of r.disks) c.out(`# would change ${d.extents.reduce((n, x) => n + x.length, 0)} bytes of ${d.disk} (${d.path})\n`);
      c.out('# dry run: nothing was written\n');
    } else {
      c.log.info({ steps: result.plan.steps.length, files: r.files.length, hives: r.hivesWritten.length }, 'customize: committed');
    }
  },
};

/**
 * The recipe options in command-line order. yargs groups repeated options per name, so the order
 * comes from the raw arguments; it is used only when it holds exactly what yargs parsed (else the
 * options are taken kind by kind, in the order of STEP_OPTIONS).
 */
export function orderedSteps(args: CustomizeArgs, raw: readonly string[]): { option: StepOption; value: string }[] {
  const parsed: { option: StepOption; value: string }[] = [];
  for (const o of STEP_OPTIONS) for (const v of args[o] ?? []) parsed.push({ option: o, value: String(v) });
  const fromRaw: { option: StepOption; value: string }[] = [];
  for (let i = 0; i < raw.length; i++) {
    const t = raw[i]!;
    if (t === '--') break;
    const m = /^--([a-z-]+)(?:=(.*))?$/s.exec(t);
    if (!m || !(STEP_OPTIONS as readonly string[]).includes(m[1]!)) continue;
    const value = m[2] ?? raw[++i];
    if (value === undefined) break;
    fromRaw.push({ option: m[1] as StepOption, value });
  }
  const key = (x: { option: string; value: string }) => `${x.option}\0${x.value}`;
  const same = fromRaw.length === parsed.length && [...fromRaw.map(key)].sort().join('\n') === [...parsed.map(key)].sort().join('\n');
  return same ? fromRaw : parsed;
}
