import type { CommandModule } from 'yargs';
import { NotFoundError, UsageError } from '@guestkit/disk/binary';
import { ctx, type GlobalArgs } from '../main.js';

interface BcdArgs extends GlobalArgs {
  source: string;
  action?: string;
  target?: string;
  add?: string[];
  format?: 'raw' | 'qcow2';
  guids?: boolean;
}

export const bcdCommand: CommandModule<GlobalArgs, BcdArgs> = {
  command: 'bcd <source> [action] [target]',
  describe: 'show the Windows boot configuration (BCD) of a disk image or a BCD file, like bcdedit /enum',
  builder: (y) =>
    y
      .positional('source', { type: 'string', demandOption: true, describe: 'a disk image (raw or qcow2) or a BCD store file (a registry hive)' })
      .positional('action', { type: 'string', choices: ['enum'], describe: 'what to do (default enum)' })
      .positional('target', { type: 'string', describe: 'active (default: boot manager and its menu), all, or an object: {GUID} or an alias like {bootmgr}, {default}, {memdiag}' })
      .option('add', { alias: 'a', type: 'string', array: true, describe: 'more disk images of the same guest (the BCD may point at them)' })
      .option('format', { type: 'string', choices: ['raw', 'qcow2'] as const, describe: 'image format (default: detected)' })
      .option('guids', { type: 'boolean', describe: 'show object GUIDs instead of {aliases} (bcdedit /v)' })
      .option('json', { type: 'boolean', describe: 'print JSON: every object with its typed, decoded elements' })
      .example('guestkit bcd test/fixtures/guests/win11-uefi.qcow2', 'boot manager and boot menu of a guest')
      .example('guestkit bcd win.qcow2 enum all', 'every object, like bcdedit /enum all')
      .example('guestkit bcd BCD enum {default} --json', 'one object of a store file, as JSON')
      .epilog(
        'On an image, the store is looked for at \\EFI\\Microsoft\\Boot\\BCD (EFI system partition) and\n' +
          '\\Boot\\BCD (BIOS system partition) on every filesystem. Partition devices are shown as the guest\n' +
          'devices they point at, with the drive letter Windows uses for them (partition=C: (/dev/sda3)); in a\n' +
          'store file they are shown as the disk and partition GUIDs (GPT) or signature and offset (MBR).\n' +
          'Element names are bcdedit\'s; elements no table knows are shown as custom:XXXXXXXX with raw data.',
      ),
  handler: async (args) => {
    const inspector = await import('@guestkit/inspector');
    const { openSync, readSync, closeSync, readFileSync } = await import('node:fs');
    const c = ctx();
    const target = args.target ?? 'active';
    const fmt = { guids: Boolean(args.guids) };

    const head = Buffer.alloc(4);
    try {
      const fd = openSync(args.source, 'r');
      try {
        readSync(fd, head, 0, 4, 0);
      } finally {
        closeSync(fd);
      }
    } catch (e) {
      throw new UsageError('NO_SUCH_FILE', `${args.source}: ${(e as Error).message}`, { path: args.source });
    }

    if (head.toString('latin1') === 'regf' && !args.add?.length) {
      const store = inspector.readBcdStore(inspector.openHiveBytes(readFileSync(args.source), args.source, { logger: c.log }));
      for (const w of store.warnings) c.log.warn({}, w);
      const objects = pick(inspector, store, target);
      if (args.json) c.out(JSON.stringify({ file: args.source, objects: inspector.bcdObjectsJson(store, objects, fmt) }, null, 2) + '\n');
      else c.out(inspector.formatBcdText(store, objects, fmt));
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
  },
};

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
