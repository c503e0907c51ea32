import type { Logger } from '@guestkit/disk/binary';

/** What every command handler gets besides its parsed arguments. */
export interface CliContext {
  log: Logger;
  /** --debug: show stack traces on errors. */
  debug: boolean;
  /** Write to stdout (results). */
  out(text: string): void;
  /** Write raw bytes to stdout. */
  outBytes(bytes: Uint8Array): void;
  /** True when stderr is a terminal (progress bars). A function: asking builds process.stderr. */
  stderrIsTTY(): boolean;
}

export function makeContext(log: Logger, debug: boolean): CliContext {
  return {
    log,
    debug,
    out: (text) => {
      process.stdout.write(text);
    },
    outBytes: (bytes) => {
      process.stdout.write(bytes);
    },
    stderrIsTTY: () => Boolean(process.stderr.isTTY),
  };
}
