/**
 * When a connection runs next: pure functions of its schedule, the last outcome and the time.
 * Cron expressions are checked and evaluated by one library, cron-parser (node-cron only ticks
 * the scheduler once a minute: its next-run maths is not public API and skips the repeated hour
 * of a DST change); intervals count from the end of the last sync, so a forced sync resets them.
 * In domain/ because the config checks a schedule with the same rules the scheduler runs it by.
 */
import { CronExpressionParser } from 'cron-parser';

export type Schedule = { readonly cron: string; readonly timezone?: string | undefined } | { readonly interval: number };

export interface BackoffPolicy {
  /** Consecutive failures after which the connection is quarantined. */
  readonly quarantineAfter: number;
  /** First retry delay after a failure; doubles with each failure, never beyond the normal schedule. */
  readonly retryMs: number;
  /** Retry delay while quarantined. */
  readonly quarantineRetryMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { quarantineAfter: 3, retryMs: 15 * 60_000, quarantineRetryMs: 6 * 3_600_000 };

/** The scheduler ticks once a minute: a shorter interval could not be kept. */
export const MIN_INTERVAL_MS = 60_000;

const CRON_FIELDS = ['minute', 'hour', 'day of month', 'month', 'day of week'] as const;

function evaluates(expression: string, timezone?: string): string | null {
  try {
    CronExpressionParser.parse(expression, { currentDate: new Date(0), ...(timezone ? { tz: timezone } : {}) }).next();
    return null;
  } catch (error) {
    return (error as Error).message;
  }
}

/**
 * What is wrong with a cron expression, naming the field, or null when the scheduler can run it.
 * Five fields only: seconds would not be kept by a once-a-minute tick, and cron-parser would read
 * a sixth field as seconds and shift every other one. Checked by the library that evaluates it.
 */
export function cronProblem(expression: string): string | null {
  const fields = expression.trim().split(/\s+/);
  if (fields.length !== CRON_FIELDS.length) return `"${expression}" has ${fields.length} field${fields.length === 1 ? '' : 's'}`;
  for (const [index, value] of fields.entries()) {
    // "H" (a hashed, random value) is cron-parser's extension: a schedule should say when it runs.
    if (/(^|[,/(])H(?![a-z])/i.test(value)) return `${CRON_FIELDS[index]} "${value}": "H" (a random value) is not supported`;
    const alone = CRON_FIELDS.map((_, i) => (i === index ? value : '*')).join(' ');
    const problem = evaluates(alone);
    if (problem) return `${CRON_FIELDS[index]} "${value}": ${problem}`;
  }
  const problem = evaluates(expression);
  return problem ? `"${expression}": ${problem}` : null;
}

/** What is wrong with a time zone name, or null when it is one (checked with Intl, as evaluation uses it). */
export function timezoneProblem(timezone: string): string | null {
  try {
    new Intl.DateTimeFormat('en', { timeZone: timezone });
  } catch {
    return `"${timezone}" is not a time zone; use an IANA name such as "Europe/Paris" or "UTC"`;
  }
  return evaluates('0 0 * * *', timezone) ? `"${timezone}" is not a time zone the scheduler can use; use an IANA name such as "Europe/Paris" or "UTC"` : null;
}

export function nextCron(expression: string, after: Date, timezone?: string): Date {
  const parsed = CronExpressionParser.parse(expression, { currentDate: after, ...(timezone ? { tz: timezone } : {}) });
  return parsed.next().toDate();
}

const WEEK = 7 * 86_400_000;
/** Bounds the scan of very frequent expressions (every minute for a week is 10 080 steps). */
const MAX_GAP_STEPS = 2_000;

/**
 * The normal gap between two runs: the interval, or the longest gap between consecutive
 * occurrences of a cron expression over the week after `from` — so a weekdays-only schedule
 * counts its weekend gap whatever day it is evaluated on (staleness limits build on this).
 */
export function typicalGapMs(schedule: Schedule, from: Date = new Date()): number {
  if ('interval' in schedule) return schedule.interval;
  const occurrences = CronExpressionParser.parse(schedule.cron, { currentDate: from, ...(schedule.timezone ? { tz: schedule.timezone } : {}) });
  let previous = occurrences.next().getTime();
  const until = previous + WEEK;
  let longest = 0;
  for (let step = 0; step < MAX_GAP_STEPS; step++) {
    const next = occurrences.next().getTime();
    longest = Math.max(longest, next - previous);
    if (next >= until) break;
    previous = next;
  }
  return longest;
}

/**
 * A fingerprint of a schedule, stored with the next run it gave: when the config file's schedule
 * no longer matches it, the next run is computed again instead of waiting for the old slot.
 */
export function scheduleKey(schedule: Schedule): string {
  return 'interval' in schedule ? `interval ${schedule.interval}` : `cron ${schedule.cron.trim().split(/\s+/).join(' ')} ${schedule.timezone ?? ''}`.trim();
}

/** The first due time of a connection that has no schedule state yet (or whose schedule changed). */
export function initialRun(schedule: Schedule, lastRunAt: Date | null, now: Date): Date {
  if ('interval' in schedule) return lastRunAt ? new Date(Math.max(now.getTime(), lastRunAt.getTime() + schedule.interval)) : now;
  return nextCron(schedule.cron, now, schedule.timezone);
}

/** After a successful (or held) run that finished at `finishedAt`. */
export function nextAfterSuccess(schedule: Schedule, finishedAt: Date): Date {
  if ('interval' in schedule) return new Date(finishedAt.getTime() + schedule.interval);
  return nextCron(schedule.cron, finishedAt, schedule.timezone);
}

/** After the `failures`-th consecutive failure: a bounded exponential retry, or the quarantine's slow retry. */
export function nextAfterFailure(
  schedule: Schedule,
  finishedAt: Date,
  failures: number,
  backoff: BackoffPolicy,
): { next: Date; quarantined: boolean } {
  if (failures >= backoff.quarantineAfter) {
    return { next: new Date(finishedAt.getTime() + backoff.quarantineRetryMs), quarantined: true };
  }
  const regular = nextAfterSuccess(schedule, finishedAt);
  const retry = new Date(finishedAt.getTime() + backoff.retryMs * 2 ** Math.max(0, failures - 1));
  return { next: retry < regular ? retry : regular, quarantined: false };
}
