/**
 * Chat services throttle bots (HTTP 429, with Retry-After) and have bad moments (5xx): Teams'
 * Bot Connector, Slack's response URLs (the Slack Web API client has its own retries). Outgoing
 * calls are retried a bounded number of times: after the delay the service asks for, else with
 * exponential back-off. Other errors (403: the bot was removed from the conversation) fail at once.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import pRetry from 'p-retry';
import type { Logger } from '../logger.ts';

type HttpError = { statusCode?: number; status?: number; response?: { status?: number; headers?: { get?: (name: string) => string | undefined | null } & Record<string, unknown> } };

export function statusOf(error: unknown): number | null {
  const e = error as HttpError | null;
  return e?.statusCode ?? e?.status ?? e?.response?.status ?? null;
}

/** Retry-After in milliseconds (seconds or an HTTP date), capped at a minute. */
export function retryAfterMs(error: unknown, now = Date.now()): number | null {
  const headers = (error as HttpError | null)?.response?.headers;
  const raw = headers?.get?.('retry-after') ?? (headers?.['retry-after'] as string | undefined);
  if (!raw) return null;
  const seconds = Number(raw);
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(raw) - now;
  return Number.isFinite(ms) ? Math.min(Math.max(ms, 0), 60_000) : null;
}

export async function withThrottleRetry<T>(call: () => Promise<T>, logger: Logger, retries = 5, service = 'Teams'): Promise<T> {
  return pRetry(call, {
    retries,
    minTimeout: 500,
    factor: 2,
    maxTimeout: 30_000,
    shouldRetry: ({ error }) => {
      const status = statusOf(error);
      return status === 429 || (status !== null && status >= 500) || status === null && /ECONNRESET|ETIMEDOUT|socket hang up/i.test(String((error as Error).message));
    },
    onFailedAttempt: async ({ error, attemptNumber, retriesLeft }) => {
      const status = statusOf(error);
      if (status !== 429 && !(status !== null && status >= 500)) return;
      const wait = retryAfterMs(error);
      logger.warn({ status, attempt: attemptNumber, retriesLeft, retryAfterMs: wait }, `${service} is throttling or failing; retrying`);
      // The service said how long to wait: wait that long (p-retry's own back-off is added after it).
      if (wait !== null) await sleep(wait);
    },
  });
}
