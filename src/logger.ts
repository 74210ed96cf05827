/**
 * One injected logger with child context (runId, connection). The core depends on this small
 * interface only; the composition root gives it pino.
 */
import { pino } from 'pino';

export interface Logger {
  info(obj: object | string, msg?: string): void;
  warn(obj: object | string, msg?: string): void;
  error(obj: object | string, msg?: string): void;
  debug(obj: object | string, msg?: string): void;
  child(bindings: Record<string, unknown>): Logger;
}

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      base: { app: 'groupsync' },
      // Secrets never reach a log line, even when a whole config object is logged by mistake.
      redact: { paths: ['password', '*.password', 'config.password', '*.clientSecret', 'token', '*.token'], censor: '***' },
    },
    destination ?? process.stderr,
  ) as unknown as Logger;
}

export const silentLogger: Logger = {
  info: () => {},
  warn: () => {},
  error: () => {},
  debug: () => {},
  child: () => silentLogger,
};
