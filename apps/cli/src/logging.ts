import { nullLogger, type Logger } from '@guestkit/disk/binary';

/**
 * Logs go to stderr through pino; results go to stdout. pino is loaded only when a log level is
 * enabled, so a plain run does not pay for it. Levels: --verbose → info, --debug → debug,
 * or GUESTKIT_LOG=trace|debug|info|warn.
 */
export async function makeLogger(opts: { verbose?: boolean; debug?: boolean }): Promise<Logger> {
  const env = process.env.GUESTKIT_LOG;
  const level = opts.debug ? 'debug' : opts.verbose ? 'info' : env && env !== 'silent' ? env : undefined;
  if (!level) return warnOnlyLogger();
  const { pino } = await import('pino');
  return pino({ level, base: undefined }, pino.destination(2)) as unknown as Logger;
}

/** Without --verbose, warnings are still shown, as one plain line each on stderr. */
function warnOnlyLogger(): Logger {
  const l: Logger = {
    ...nullLogger,
    warn: (obj: object, msg?: string) => {
      process.stderr.write(`guestkit: warning: ${msg ?? JSON.stringify(obj)}\n`);
    },
    child: () => l,
  };
  return l;
}
