/**
 * The structural logger every library takes. pino's logger satisfies it; libraries never import
 * pino (only apps/cli does). Default: `nullLogger`, which drops everything.
 */
export interface Logger {
  trace?(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  child(bindings: Record<string, unknown>): Logger;
  isLevelEnabled?(level: string): boolean;
}

const noop = (): void => {};

export const nullLogger: Logger = {
  trace: noop,
  debug: noop,
  info: noop,
  warn: noop,
  error: noop,
  child: () => nullLogger,
  isLevelEnabled: () => false,
};

/** A logger that records warnings in memory (tests, and callers that want to show them later). */
export function collectingLogger(sink: { level: string; obj: object; msg?: string }[]): Logger {
  const at = (level: string) => (obj: object, msg?: string) => {
    sink.push(msg === undefined ? { level, obj } : { level, obj, msg });
  };
  const l: Logger = {
    trace: at('trace'),
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: () => l,
    isLevelEnabled: () => true,
  };
  return l;
}
