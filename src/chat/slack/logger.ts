/**
 * Bolt and its Web API client log through this: their lines go to groupsync's logger with
 * `surface: slack`. Debug lines are dropped: at that level bolt logs request bodies and headers,
 * which are raw payloads (tokens are redacted by bolt, user data is not).
 */
import { LogLevel, type Logger as BoltLogger } from '@slack/bolt';
import type { Logger } from '../../logger.ts';

const textOf = (msg: unknown[]) =>
  msg
    .map((m) => (typeof m === 'string' ? m : m instanceof Error ? m.message : JSON.stringify(m)))
    .join(' ')
    .slice(0, 1000);

export function boltLogger(logger: Logger): BoltLogger {
  let level: LogLevel = LogLevel.INFO;
  return {
    debug: () => {},
    info: (...msg: unknown[]) => logger.info({ bolt: true }, textOf(msg)),
    warn: (...msg: unknown[]) => logger.warn({ bolt: true }, textOf(msg)),
    error: (...msg: unknown[]) => logger.error({ bolt: true }, textOf(msg)),
    setLevel: (l: LogLevel) => {
      level = l;
    },
    getLevel: () => level,
    setName: () => {},
  };
}
