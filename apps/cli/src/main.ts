import yargs, { type Argv } from 'yargs';
import { GuestError } from '@guestkit/disk/binary';
import { commands } from './commands/index.js';
import { splitFishArgv, setFishCommands } from './commands/fish.js';
import { Exit, exitCodeFor } from './exit-codes.js';
import { makeLogger } from './logging.js';
import { makeContext, type CliContext } from './context.js';

export const VERSION = '0.1.0';

/** Global options every command accepts. */
export interface GlobalArgs {
  verbose?: boolean;
  debug?: boolean;
  json?: boolean;
}

let context: CliContext | undefined;

/** The context of the running command (set up in the middleware before any handler runs). */
export function ctx(): CliContext {
  if (!context) throw new Error('CLI context used before initialisation');
  return context;
}

function buildParser(argv: string[]): Argv {
  let y = yargs(argv)
    .scriptName('guestkit')
    .usage(
      'guestkit — inspect and edit virtual-machine disk images offline, with no appliance VM.\n\n' +
        'Usage: guestkit <command> [options]\n\n' +
        'Images are opened read-only unless a command is given --rw (or is a write by nature, like\n' +
        '`hive merge` or `win-reg --merge`). Run `guestkit <command> --help` for each command\'s manual.',
    )
    .option('verbose', { alias: 'v', type: 'boolean', describe: 'log progress and decisions to stderr (pino JSON)', global: true })
    .option('debug', { type: 'boolean', describe: 'log everything, and show stack traces on errors', global: true })
    .middleware(async (args) => {
      const log = await makeLogger({ verbose: Boolean(args.verbose), debug: Boolean(args.debug) });
      context = makeContext(log, Boolean(args.debug));
    })
    .epilog(
      'Exit codes: 0 success · 1 operation failed · 2 usage error · 3 image corrupt or unsupported ·\n' +
        '4 refused because the guest is in an unsafe state (hibernated, dirty).\n' +
        'Environment: GUESTKIT_LOG=debug|info|warn sets the log level.',
    )
    .strict()
    .demandCommand(1, 'Give a command; `guestkit --help` lists them.')
    .recommendCommands()
    .help()
    .alias('help', 'h')
    .version(VERSION)
    .wrap(helpWidth(argv))
    .showHelpOnFail(false)
    .fail((msg, err) => {
      if (err) throw err;
      throw new CliUsageError(msg);
    });
  for (const c of commands) y = y.command(c);
  skipHelpCache(y);
  return y;
}

/**
 * Help is laid out for the terminal's width (at most 110 columns). Only a run that may print help
 * asks: reading process.stdout's width builds the stream, which costs start-up time.
 */
function helpWidth(argv: string[]): number {
  const mayHelp = argv.length === 0 || argv.some((a) => a === '--help' || a === '-h' || a === 'help');
  return mayHelp ? Math.min(110, process.stdout.columns || 100) : 100;
}

/**
 * yargs renders the full help text of every command it runs, in case an async handler fails
 * and help must be shown (we never show help on failure). Rendering measures every string with
 * Intl.Segmenter, which costs ~150 ms of start-up here, so the cache is turned off.
 */
function skipHelpCache(y: Argv): void {
  const internal = (y as unknown as { getInternalMethods?: () => { getUsageInstance(): { cacheHelpMessage?: () => void } } }).getInternalMethods;
  const usage = internal?.call(y).getUsageInstance();
  if (usage && typeof usage.cacheHelpMessage === 'function') usage.cacheHelpMessage = () => {};
}

/** A yargs parse failure (unknown option, missing argument): exit 2. */
export class CliUsageError extends Error {}

/**
 * A reader that stops early (`guestkit … | head`) closes the pipe: finish quietly, as cat does.
 * node builds process.stdout and process.stderr on first use, loading its stream, net and tty code
 * (~10 ms of start-up); a command that prints nothing (an upload) never pays for it. So the
 * handler is attached when each stream is first built, not by touching both here.
 */
let stdioHooked = false;
function quietOnClosedPipe(): void {
  if (stdioHooked) return;
  stdioHooked = true;
  for (const name of ['stdout', 'stderr'] as const) {
    const desc = Object.getOwnPropertyDescriptor(process, name);
    const build = desc?.get;
    if (!desc?.configurable || !build) {
      process[name].on('error', onStdioError);
      continue;
    }
    let stream: NodeJS.WriteStream | undefined;
    Object.defineProperty(process, name, {
      configurable: true,
      enumerable: desc.enumerable,
      get(): NodeJS.WriteStream {
        if (!stream) {
          stream = build.call(process) as NodeJS.WriteStream;
          stream.on('error', onStdioError);
        }
        return stream;
      },
    });
  }
}

function onStdioError(e: NodeJS.ErrnoException): void {
  if (e.code === 'EPIPE') process.exit(process.exitCode === undefined ? 0 : Number(process.exitCode));
  throw e;
}

/** Run the CLI; returns the exit code (never throws). */
export async function run(argv: string[]): Promise<number> {
  quietOnClosedPipe();
  try {
    const cmdAt = argv.findIndex((a) => !a.startsWith('-'));
    if (cmdAt >= 0 && argv[cmdAt] === 'fish') {
      // guestfish command words after the options are not for yargs (they may look like options).
      const { options, commands: words } = splitFishArgv(argv.slice(cmdAt));
      setFishCommands(words);
      argv = [...argv.slice(0, cmdAt), ...options];
    }
    await buildParser(argv).parseAsync();
    return process.exitCode === undefined ? Exit.Ok : Number(process.exitCode);
  } catch (err) {
    return reportError(err, argv);
  }
}

function reportError(err: unknown, argv: string[]): number {
  const debug = argv.includes('--debug');
  const json = argv.includes('--json');
  if (err instanceof CliUsageError) {
    process.stderr.write(`guestkit: ${err.message}\nTry \`guestkit --help\`.\n`);
    return Exit.Usage;
  }
  const code = exitCodeFor(err);
  if (err instanceof GuestError) {
    if (json) process.stderr.write(JSON.stringify({ error: err.toJSON() }) + '\n');
    else process.stderr.write(`guestkit: ${err.message} [${err.code}]\n`);
  } else {
    const msg = err instanceof Error ? err.message : String(err);
    process.stderr.write(`guestkit: internal error: ${msg.split('\n')[0]}\n`);
  }
  if (debug && err instanceof Error && err.stack) process.stderr.write(err.stack + '\n');
  return code;
}
