/**
 * One injected logger with child context (runId, connection). The core depends on this small
 * interface only; the composition root gives it pino.
 *
 * Lines are JSON (one object a line, `time` in ISO 8601) for a log collector, and readable lines
 * (pino-pretty) on a terminal: `LOG_FORMAT=pretty` or `json` decides, and unset, whether the log
 * stream (stderr) is a terminal does.
 */
import { createRequire } from 'node:module';
import { pino } from 'pino';
import type PinoPretty from 'pino-pretty';

/** pino-pretty is loaded only when lines are written readable (a CLI command never pays for it otherwise). */
const loadPretty = (): typeof PinoPretty => createRequire(import.meta.url)('pino-pretty') as typeof PinoPretty;

export interface Logger {
  info(obj: object | string, msg?: string): void;
  warn(obj: object | string, msg?: string): void;
  error(obj: object | string, msg?: string): void;
  debug(obj: object | string, msg?: string): void;
  child(bindings: Record<string, unknown>): Logger;
}

export type LogFormat = 'json' | 'pretty';

export interface LoggerOptions {
  /** Unset: pretty when the destination is a terminal, JSON otherwise. */
  readonly format?: LogFormat | undefined;
  readonly destination?: NodeJS.WritableStream;
}

/** Whether lines are written readable: asked for, or unasked on a terminal. */
export function prettyLogs(format: LogFormat | undefined, destination: NodeJS.WritableStream): boolean {
  return format === undefined ? (destination as { isTTY?: boolean }).isTTY === true : format === 'pretty';
}

export function createLogger(level: string, options: LoggerOptions = {}): Logger {
  const destination = options.destination ?? process.stderr;
  const readable = prettyLogs(options.format, destination);
  return pino(
    {
      level,
      base: { app: 'groupsync' },
      timestamp: pino.stdTimeFunctions.isoTime,
      // Secrets never reach a log line, even when a whole config object is logged by mistake.
      redact: { paths: ['password', '*.password', 'config.password', '*.clientSecret', 'token', '*.token'], censor: '***' },
    },
    readable
      ? loadPretty()({
          destination,
          sync: true,
          colorize: (destination as { isTTY?: boolean }).isTTY === true,
          translateTime: 'SYS:yyyy-mm-dd HH:MM:ss.l',
          ignore: 'pid,hostname,app',
        })
      : destination,
  ) as unknown as Logger;
}

export const silentLogger: Logger = {
  info: () => {},
  warn: () => {},
  error: () => {},
  debug: () => {},
  child: () => silentLogger,
};
