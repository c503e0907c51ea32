import type { Argv, CommandModule } from 'yargs';
import type { GlobalArgs } from '../main.js';

export interface FishArgs extends GlobalArgs {
  add?: string | string[];
  mount?: string | string[];
  rw?: boolean;
  ro?: boolean;
  inspector?: boolean;
  format?: 'raw' | 'qcow2';
  file?: string;
  force?: boolean;
}

/** Options of `guestkit fish` that take a value (the word after them is not a command). */
const VALUE_OPTIONS = new Set(['-a', '--add', '-m', '--mount', '--format', '-f', '--file']);

/**
 * Split `fish` argv into its options and the guestfish command words that follow them, so that
 * command arguments such as "-lgetxattrs" or "-f" are never taken as options.
 */
export function splitFishArgv(argv: string[]): { options: string[]; commands: string[] } {
  let i = 1;
  while (i < argv.length) {
    const a = argv[i]!;
    if (a === '--') return { options: argv.slice(0, i), commands: argv.slice(i + 1) };
    if (!a.startsWith('-') || a === '-') break;
    i += VALUE_OPTIONS.has(a) ? 2 : 1;
  }
  return { options: argv.slice(0, i), commands: argv.slice(i) };
}

let pendingCommands: string[] = [];
export function setFishCommands(words: string[]): void {
  pendingCommands = words;
}

export const fishCommand: CommandModule<GlobalArgs, FishArgs> = {
  command: 'fish',
  describe: 'guestfish-style file access: one-shot commands, scripts, or an interactive shell',
  builder: (y: Argv<GlobalArgs>) =>
    y
      .usage(
        'guestkit fish -a IMAGE [-a IMAGE2…] [-m DEV[:MOUNTPOINT]]… [--ro|--rw] [CMD ARGS… [: CMD ARGS…]…]\n\n' +
          'Open disk images like guestfish, mount filesystems, and run guestfish commands:\n' +
          'given on the command line (separated by ":"), from a script (-f FILE or stdin), or\n' +
          'typed at an interactive prompt. Devices are named as guestfish names them: /dev/sda for\n' +
          'the first image (a bare filesystem image), /dev/sda1… for its partitions, /dev/sdb… for the next.\n' +
          'The session is read-only unless --rw is given. `help` lists the commands; `help CMD` explains one.',
      )
      .option('add', { alias: 'a', type: 'string', describe: 'add a disk image (raw or qcow2); repeat for more disks', requiresArg: true })
      .option('mount', { alias: 'm', type: 'string', describe: 'mount DEV at MOUNTPOINT (default /) before running commands; repeatable', requiresArg: true })
      .option('rw', { alias: 'w', type: 'boolean', describe: 'open the images read-write (writes are refused otherwise)' })
      .option('ro', { alias: 'r', type: 'boolean', describe: 'open read-only (the default)' })
      .option('inspector', { alias: 'i', type: 'boolean', describe: 'find the operating system and mount its filesystems (Windows: the system volume at /)' })
      .option('format', { choices: ['raw', 'qcow2'] as const, describe: 'image format (sniffed by default)' })
      .option('file', { alias: 'f', type: 'string', describe: 'read commands from FILE, one per line', requiresArg: true })
      .option('force', { type: 'boolean', describe: 'with --rw: write to an NTFS volume even if it is hibernated or marked dirty (risky)' })
      .conflicts('rw', 'ro')
      .example('guestkit fish -a disk.img -m /dev/sda1 ls /', 'list the root of the first partition')
      .example('guestkit fish -a win.qcow2 -m /dev/sda2 cat /Windows/win.ini : download /Windows/System32/config/SOFTWARE SOFTWARE', 'two commands in one run')
      .example('guestkit fish --rw -a win.qcow2 -m /dev/sda2 mkdir-p /Temp/x : upload setup.exe /Temp/x/setup.exe', 'write into the guest')
      .example('guestkit fish -a fat.img -m /dev/sda < script.fish', 'run a guestfish script from stdin')
      .epilog("Commands (`help` lists them, `help CMD` explains one): run inspect-os list-devices list-partitions list-filesystems part-list part-get-* vfs-type vfs-label vfs-uuid blockdev-getsize64 mount mount-ro umount umount-all mountpoints ls ll cat download copy-out tar-out find statns filesize checksum exists is-file is-dir case-sensitive-path file file-architecture lgetxattrs ntfs-3g-probe echo; with --rw: upload copy-in tar-in write write-append touch mkdir mkdir-p rm rm-f rm-rf rmdir mv cp. Paths are absolute guest paths, or win:C:\\path (drive letters through the guest MountedDevices key). A command prefixed with \"-\" does not stop a script when it fails.") as unknown as Argv<FishArgs>,
  handler: async (args) => {
    const { runFish } = await import('../fish/main.js');
    process.exitCode = await runFish(args, pendingCommands);
  },
};
