import type { CommandModule } from 'yargs';
import { ctx, type GlobalArgs } from '../main.js';

interface MkisoArgs extends GlobalArgs {
  dir: string;
  output: string;
  volid?: string;
  boot?: string;
  uefi?: string;
  'boot-load-size'?: number;
  'boot-info-table'?: boolean;
  'iso-level': number;
  joliet: boolean;
  'rock-ridge': boolean;
  progress?: boolean;
}

export const mkisoCommand: CommandModule<GlobalArgs, MkisoArgs> = {
  command: 'mkiso <dir>',
  describe: 'build an ISO 9660 image (Joliet, Rock Ridge, El Torito) from a directory, like xorriso -as mkisofs',
  builder: (y) =>
    y
      .positional('dir', { type: 'string', demandOption: true, describe: 'directory whose tree becomes the image root' })
      .option('output', { alias: 'o', type: 'string', demandOption: true, describe: 'image file to write (replaced atomically)' })
      .option('volid', { alias: 'V', type: 'string', describe: 'volume label (32 characters in ISO 9660, 16 in Joliet; default ISOIMAGE)' })
      .option('boot', { alias: 'b', type: 'string', describe: 'El Torito no-emulation BIOS boot image, as a path inside DIR' })
      .option('uefi', { alias: 'e', type: 'string', describe: 'El Torito UEFI boot image (a FAT image), as a path inside DIR' })
      .option('boot-load-size', { type: 'number', describe: '512-byte sectors the BIOS loads (default: the whole boot image)' })
      .option('boot-info-table', { type: 'boolean', describe: 'patch a boot info table into the BIOS boot image (ISOLINUX, GRUB eltorito.img)' })
      .option('iso-level', { type: 'number', default: 3, choices: [1, 2, 3], describe: 'ISO 9660 level: 1 = 8.3 names; 2 = 31-character names; 3 = also files >= 4 GiB' })
      .option('joliet', { type: 'boolean', default: true, describe: 'add a Joliet tree (Windows names); --no-joliet leaves it out' })
      .option('rock-ridge', { type: 'boolean', default: true, describe: 'add Rock Ridge (POSIX names, modes, owners, times, symlinks); --no-rock-ridge leaves it out' })
      .option('progress', { type: 'boolean', describe: 'show a progress bar (default: when stderr is a terminal)' })
      .option('json', { type: 'boolean', describe: 'print a JSON summary' })
      .example('guestkit mkiso ./drivers -o drivers.iso -V VIRTIO', 'a data CD with a label')
      .example('guestkit mkiso ./cd -o boot.iso -b isolinux/isolinux.bin --boot-info-table --boot-load-size 4 -e efiboot.img', 'a BIOS + UEFI bootable image')
      .epilog(
        'The image is generated from an index of the tree: file contents are copied straight from the\n' +
          'source files, so memory use grows with the number of files, not their size. Names longer than\n' +
          'ISO 9660 allows are kept in Rock Ridge (exact bytes) and Joliet (64 UCS-2 characters).\n' +
          'Symlinks and device files are recorded in Rock Ridge only. `guestkit serve --iso DIR` serves the\n' +
          'same image over NBD without writing it. Set SOURCE_DATE_EPOCH for reproducible volume dates.',
      ),
  handler: async (args) => {
    const { IsoImage, writeImageFile, tempPathFor } = await import('@guestkit/iso');
    const { Progress } = await import('../progress.js');
    const { resolve } = await import('node:path');
    const { unlinkSync } = await import('node:fs');
    const c = ctx();
    const out = resolve(args.output);
    const boot: { bios?: string; uefi?: string; biosLoadSectors?: number; bootInfoTable?: boolean } = {};
    if (args.boot) boot.bios = args.boot;
    if (args.uefi) boot.uefi = args.uefi;
    if (args['boot-load-size'] !== undefined) boot.biosLoadSectors = args['boot-load-size'];
    if (args['boot-info-table']) boot.bootInfoTable = true;
    const image = IsoImage.fromDirectory(args.dir, {
      ...(args.volid !== undefined ? { volumeId: args.volid } : {}),
      isoLevel: args['iso-level'] as 1 | 2 | 3,
      joliet: args.joliet,
      rockRidge: args['rock-ridge'],
      boot,
      exclude: [out, tempPathFor(out)],
      logger: c.log,
    });
    // Interrupted: remove the partial temporary file (the previous OUT, if any, is untouched).
    const onSignal = (sig: NodeJS.Signals) => {
      try {
        unlinkSync(tempPathFor(out));
      } catch {
        // not created yet
      }
      process.stderr.write(`\nguestkit: ${sig}: ${out} was not written\n`);
      process.exit(sig === 'SIGINT' ? 130 : 143);
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    try {
      const bar = new Progress('writing', image.size, args.progress ?? c.stderrIsTTY);
      const t0 = Date.now();
      await writeImageFile(image, out, { onProgress: (done) => bar.update(done) });
      bar.done();
      const s = image.summary();
      if (args.json) {
        c.out(JSON.stringify({ output: out, ...s, seconds: (Date.now() - t0) / 1000 }, null, 2) + '\n');
      } else {
        c.out(
          `${out}: ${s.blocks} blocks (${formatBytes(s.size)}), ${s.files} files, ${s.directories} directories` +
            `${s.symlinks ? `, ${s.symlinks} symlinks` : ''}, label ${JSON.stringify(s.volumeId)}` +
            `${s.boot.length ? `, bootable (${s.boot.map((b) => b.platform).join(' + ')})` : ''}\n`,
        );
      }
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      image.close();
    }
  },
};

function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}
