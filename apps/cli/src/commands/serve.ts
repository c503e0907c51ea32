import type { CommandModule } from 'yargs';
import { ctx, type GlobalArgs } from '../main.js';

interface ServeArgs extends GlobalArgs {
  image?: string;
  format?: 'raw' | 'qcow2';
  partition?: number;
  iso?: string;
  rw?: boolean;
  port?: number;
  host?: string;
  socket?: string;
  export: string;
  description?: string;
  volid?: string;
  boot?: string;
  uefi?: string;
}

/**
 * libuv thread-pool size for serving (a UV_THREADPOOL_SIZE set by the user wins). Reads run on
 * that pool; with Node's default of 4 threads a busy host starves them, where qemu-nbd keeps up to
 * 64 I/O threads.
 */
const THREAD_POOL_SIZE = 32;

/**
 * Node starts its thread pool while loading the CLI, before any command runs, so the pool size can
 * only be chosen for a new process: run this same command again with UV_THREADPOOL_SIZE set.
 * Signals are forwarded (the child has its own process group, so a terminal's Ctrl-C reaches it
 * once, through us); the child shuts down if we die (its IPC channel closes). Our exit code is the
 * child's.
 */
async function serveInChild(): Promise<void> {
  const { spawn } = await import('node:child_process');
  const { constants } = await import('node:os');
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
    detached: true,
    env: { ...process.env, UV_THREADPOOL_SIZE: String(THREAD_POOL_SIZE) },
  });
  const forward = (sig: NodeJS.Signals) => () => {
    child.kill(sig);
  };
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, forward(sig));
  const code = await new Promise<number>((resolve) => {
    child.on('exit', (c, signal) => resolve(c ?? 128 + (signal ? constants.signals[signal] ?? 0 : 0)));
    child.on('error', (e) => {
      process.stderr.write(`guestkit: cannot start the server process: ${e.message}\n`);
      resolve(1);
    });
  });
  process.exitCode = code;
}

export const serveCommand: CommandModule<GlobalArgs, ServeArgs> = {
  command: 'serve [image]',
  describe: 'serve a disk image, or an ISO generated from a directory, over NBD (like qemu-nbd / nbdkit)',
  builder: (y) =>
    y
      .positional('image', { type: 'string', describe: 'disk image to serve (raw or qcow2, backing chains followed)' })
      .option('format', { alias: 'f', choices: ['raw', 'qcow2'] as const, describe: 'image format (default: sniffed)' })
      .option('partition', { alias: 'P', type: 'number', describe: 'serve only partition N (numbered as Linux does: MBR 1-4 primary, 5+ logical; GPT entry + 1)' })
      .option('iso', { type: 'string', describe: 'serve an ISO 9660 image generated on the fly from this directory (read-only)' })
      .option('rw', { type: 'boolean', describe: 'allow writes (default: read-only)' })
      .option('port', { alias: 'p', type: 'number', describe: 'TCP port (default 10809; 0 picks a free one)' })
      .option('host', { type: 'string', describe: 'address to listen on (default 127.0.0.1, loopback only)' })
      .option('socket', { alias: 'k', type: 'string', describe: 'listen on a Unix domain socket instead of TCP' })
      .option('export', { alias: 'x', type: 'string', default: '', describe: 'export name (the default export "" also reaches it)' })
      .option('description', { type: 'string', describe: 'export description shown by nbdinfo --list' })
      .option('volid', { alias: 'V', type: 'string', describe: 'with --iso: volume label' })
      .option('boot', { alias: 'b', type: 'string', describe: 'with --iso: BIOS boot image inside the directory' })
      .option('uefi', { alias: 'e', type: 'string', describe: 'with --iso: UEFI boot image inside the directory' })
      .option('json', { type: 'boolean', describe: 'print the listening address as JSON' })
      .conflicts('port', 'socket')
      .conflicts('host', 'socket')
      .conflicts('iso', 'rw')
      .conflicts('iso', 'partition')
      .conflicts('iso', 'format')
      .check((a) => {
        if (!a.image === !a.iso) throw new Error('give either an IMAGE or --iso DIR');
        if (a.port !== undefined && !(Number.isInteger(a.port) && a.port >= 0 && a.port <= 65535)) throw new Error('--port must be 0..65535');
        return true;
      })
      .example('guestkit serve disk.img', 'read-only export on nbd://127.0.0.1:10809/')
      .example('guestkit serve disk.img --rw --socket /tmp/disk.sock', 'writable export on nbd+unix:///?socket=/tmp/disk.sock')
      .example('guestkit serve win.qcow2 --partition 2 --port 0', 'one partition of a qcow2 (through its backing chain), on a free port')
      .example('guestkit serve --iso ./drivers -V VIRTIO --port 0', 'an ISO of a directory, built lazily, on a free port')
      .example('nbdinfo --map nbd://127.0.0.1:10809/', 'then, from another shell: allocation map of the export')
      .epilog(
        'The first line on stdout is the URI clients connect to. Several clients may connect at once.\n' +
          'SIGINT or SIGTERM shuts the server down cleanly: requests in progress finish, writes are flushed.\n' +
          'The server speaks the fixed newstyle handshake with structured replies and base:allocation block\n' +
          'status (nbdinfo --map, nbdcopy and qemu-img use them); there is no TLS, so it listens on loopback\n' +
          'unless --host says otherwise.',
      ),
  handler: async (args) => {
    if (process.env.UV_THREADPOOL_SIZE === undefined) {
      await serveInChild();
      return;
    }
    const c = ctx();
    const { NbdServer, NBD_PORT, withThreadPoolReads } = await import('@guestkit/nbd');
    let device: import('@guestkit/disk').BlockDevice;
    let what: string;
    if (args.iso) {
      const { IsoImage } = await import('@guestkit/iso');
      const boot: { bios?: string; uefi?: string } = {};
      if (args.boot) boot.bios = args.boot;
      if (args.uefi) boot.uefi = args.uefi;
      device = IsoImage.fromDirectory(args.iso, { ...(args.volid !== undefined ? { volumeId: args.volid } : {}), boot, logger: c.log });
      what = `ISO of ${args.iso}`;
    } else {
      const { openImage, readPartitionTable, UsageError } = await import('@guestkit/disk');
      const image = openImage(args.image!, { write: Boolean(args.rw), ...(args.format ? { format: args.format } : {}), logger: c.log });
      what = `${args.image} (${image.format})`;
      device = image;
      if (args.partition !== undefined) {
        try {
          const table = readPartitionTable(image, { logger: c.log });
          const part = table.partitions.find((p) => p.number === args.partition && !p.extended);
          if (!part) {
            const have = table.partitions.filter((p) => !p.extended).map((p) => p.number).join(', ') || 'none';
            throw new UsageError('PARTITION_NOT_FOUND', `${args.image}: no partition ${args.partition} (${table.scheme} table; partitions: ${have})`, {
              partition: args.partition, scheme: table.scheme,
            });
          }
          const slice = part.open({ readOnly: !args.rw, name: `${image.name} › p${part.number}` });
          // The export owns the image: closing the partition closes the file under it.
          device = Object.assign(slice, { close: () => image.close(), flush: () => image.flush() });
          what += `, partition ${part.number}`;
        } catch (e) {
          image.close();
          throw e;
        }
      }
    }
    device = withThreadPoolReads(device);
    const server = new NbdServer({
      exports: [{ name: args.export, device, readOnly: !args.rw, ...(args.description !== undefined ? { description: args.description } : {}) }],
      logger: c.log,
    });
    let info;
    try {
      info = await server.listen(args.socket ? { path: args.socket } : { port: args.port ?? NBD_PORT, ...(args.host !== undefined ? { host: args.host } : {}) });
    } catch (e) {
      device.close();
      throw e;
    }
    const uri = info.uri;
    if (args.json) {
      c.out(JSON.stringify({ ...info, export: args.export, size: device.size, readOnly: !args.rw, source: what }) + '\n');
    } else {
      c.out(`${uri}\n`);
    }
    c.log.info({ uri, size: device.size, readOnly: !args.rw }, `serving ${what}`);
    await new Promise<void>((resolve, reject) => {
      let stopping = false;
      const stop = (sig: string) => {
        if (stopping && sig === 'parent exit') return; // our own disconnect() after closing
        if (stopping) {
          process.stderr.write(`guestkit: second ${sig}; exiting without waiting\n`);
          process.exit(1);
        }
        stopping = true;
        c.log.info({ signal: sig }, 'shutting down');
        server.close({ closeDevices: true }).then(() => {
          // The IPC channel to a serveInChild parent would keep this process alive.
          if (process.connected) process.disconnect();
          resolve();
        }, reject);
      };
      process.on('SIGINT', () => stop('SIGINT'));
      process.on('SIGTERM', () => stop('SIGTERM'));
      process.on('SIGHUP', () => stop('SIGHUP'));
      // Started by serveInChild: when that parent goes away (even killed), shut down too.
      if (process.send) process.on('disconnect', () => stop('parent exit'));
    });
  },
};
