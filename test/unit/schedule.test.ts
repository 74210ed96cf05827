import { describe, expect, it } from 'vitest';
import {
  type BackoffPolicy,
  DEFAULT_BACKOFF,
  initialRun,
  nextAfterFailure,
  nextAfterSuccess,
  nextCron,
  type Schedule,
  scheduleKey,
  typicalGapMs,
} from '../../src/domain/schedule.ts';

const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

const at = (iso: string): Date => new Date(iso);
const plus = (d: Date, ms: number): Date => new Date(d.getTime() + ms);

/** The wall-clock time of `d` in `timeZone`, as "YYYY-MM-DD HH:mm". */
function wallClock(d: Date, timeZone: string): string {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' })
      .formatToParts(d)
      .map((p) => [p.type, p.value]),
  );
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}`;
}

const NIGHTLY: Schedule = { cron: '0 2 * * *' };
const NIGHTLY_PARIS: Schedule = { cron: '0 2 * * *', timezone: 'Europe/Paris' };
const WEEKDAYS: Schedule = { cron: '0 2 * * 1-5' };
const QUARTER_HOURLY: Schedule = { cron: '*/15 * * * *' };
const DAILY: Schedule = { interval: DAY };

// ---- nextCron ----------------------------------------------------------------------------------

describe('nextCron', () => {
  it.each<{ what: string; expression: string; after: string; timezone?: string; next: string }>([
    { what: 'nightly (UTC), later the same day', expression: '0 2 * * *', after: '2026-06-15T12:00:00Z', next: '2026-06-16T02:00:00.000Z' },
    { what: 'nightly (UTC), earlier the same day', expression: '0 2 * * *', after: '2026-06-15T01:59:59Z', next: '2026-06-15T02:00:00.000Z' },
    { what: 'nightly (UTC), exactly at an occurrence → the next one', expression: '0 2 * * *', after: '2026-06-15T02:00:00Z', next: '2026-06-16T02:00:00.000Z' },
    { what: 'nightly (UTC), just after an occurrence', expression: '0 2 * * *', after: '2026-06-15T02:00:00.001Z', next: '2026-06-16T02:00:00.000Z' },
    { what: 'nightly with timezone "UTC"', expression: '0 2 * * *', after: '2026-06-15T12:00:00Z', timezone: 'UTC', next: '2026-06-16T02:00:00.000Z' },
    { what: 'nightly (UTC), over the Paris DST change', expression: '0 2 * * *', after: '2026-10-24T12:00:00Z', next: '2026-10-25T02:00:00.000Z' },
    { what: 'nightly (UTC), over the year end', expression: '0 2 * * *', after: '2026-12-31T12:00:00Z', next: '2027-01-01T02:00:00.000Z' },
    { what: 'nightly Paris in summer (UTC+2)', expression: '0 2 * * *', after: '2026-06-15T12:00:00Z', timezone: 'Europe/Paris', next: '2026-06-16T00:00:00.000Z' },
    { what: 'nightly Paris in winter (UTC+1)', expression: '0 2 * * *', after: '2026-12-01T12:00:00Z', timezone: 'Europe/Paris', next: '2026-12-02T01:00:00.000Z' },
    {
      what: 'nightly Paris on the day of the autumn change: the first 02:00 (CEST)',
      expression: '0 2 * * *',
      after: '2026-10-24T12:00:00Z',
      timezone: 'Europe/Paris',
      next: '2026-10-25T00:00:00.000Z',
    },
    {
      what: 'nightly Paris after it ran on the day of the change: not again at the repeated 02:00, but the next day (CET)',
      expression: '0 2 * * *',
      after: '2026-10-25T00:00:00Z',
      timezone: 'Europe/Paris',
      next: '2026-10-26T01:00:00.000Z',
    },
    {
      what: 'nightly Paris, asked between the two 02:00s',
      expression: '0 2 * * *',
      after: '2026-10-25T00:30:00Z',
      timezone: 'Europe/Paris',
      next: '2026-10-26T01:00:00.000Z',
    },
    { what: 'every 15 minutes, mid-slot', expression: '*/15 * * * *', after: '2026-06-15T12:07:00Z', next: '2026-06-15T12:15:00.000Z' },
    { what: 'every 15 minutes, exactly on a slot', expression: '*/15 * * * *', after: '2026-06-15T12:15:00Z', next: '2026-06-15T12:30:00.000Z' },
    { what: 'every 15 minutes, just before the hour', expression: '*/15 * * * *', after: '2026-06-15T12:59:59.999Z', next: '2026-06-15T13:00:00.000Z' },
    { what: 'every 15 minutes, over midnight', expression: '*/15 * * * *', after: '2026-06-15T23:50:00Z', next: '2026-06-16T00:00:00.000Z' },
    { what: 'every 15 minutes, Paris, during the repeated hour', expression: '*/15 * * * *', after: '2026-10-25T00:50:00Z', timezone: 'Europe/Paris', next: '2026-10-25T01:00:00.000Z' },
    { what: 'weekdays, from a Friday evening → Monday', expression: '0 2 * * 1-5', after: '2026-10-23T20:00:00Z', next: '2026-10-26T02:00:00.000Z' },
  ])('$what', ({ expression, after, timezone, next }) => {
    expect(nextCron(expression, at(after), timezone).toISOString()).toBe(next);
  });

  it('runs nightly Paris at 02:00 local time each day around the autumn change, once a day', () => {
    const runs: Date[] = [];
    let cursor = at('2026-10-23T12:00:00Z');
    for (let k = 0; k < 4; k++) runs.push((cursor = nextCron('0 2 * * *', cursor, 'Europe/Paris')));
    expect(runs.map((d) => d.toISOString())).toEqual(['2026-10-24T00:00:00.000Z', '2026-10-25T00:00:00.000Z', '2026-10-26T01:00:00.000Z', '2026-10-27T01:00:00.000Z']);
    expect(runs.map((d) => wallClock(d, 'Europe/Paris'))).toEqual(['2026-10-24 02:00', '2026-10-25 02:00', '2026-10-26 02:00', '2026-10-27 02:00']);
    expect(runs.slice(1).map((d, k) => (d.getTime() - runs[k]!.getTime()) / HOUR)).toEqual([24, 25, 24]);
  });
});

// ---- typicalGapMs ------------------------------------------------------------------------------

describe('typicalGapMs', () => {
  it.each<{ what: string; schedule: Schedule; from: string; gap: number }>([
    { what: 'an interval of 24 h', schedule: DAILY, from: '2026-06-15T12:00:00Z', gap: DAY },
    { what: 'an interval of 6 h', schedule: { interval: 6 * HOUR }, from: '2026-06-15T12:00:00Z', gap: 6 * HOUR },
    { what: 'nightly', schedule: NIGHTLY, from: '2026-06-15T12:00:00Z', gap: 24 * HOUR },
    { what: 'nightly, evaluated right on an occurrence', schedule: NIGHTLY, from: '2026-06-15T02:00:00Z', gap: 24 * HOUR },
    { what: 'nightly in Paris, a summer week', schedule: NIGHTLY_PARIS, from: '2026-06-15T12:00:00Z', gap: 24 * HOUR },
    { what: 'nightly in Paris, the week of the autumn change (one 25 h night)', schedule: NIGHTLY_PARIS, from: '2026-10-24T12:00:00Z', gap: 25 * HOUR },
    { what: 'every 15 minutes', schedule: QUARTER_HOURLY, from: '2026-06-15T12:07:00Z', gap: 15 * MINUTE },
    { what: 'weekdays only, from a Friday before the run', schedule: WEEKDAYS, from: '2026-10-23T00:00:00Z', gap: 72 * HOUR },
    { what: 'weekdays only, from a Friday after the run', schedule: WEEKDAYS, from: '2026-10-23T12:00:00Z', gap: 72 * HOUR },
    { what: 'weekdays only, from a Wednesday', schedule: WEEKDAYS, from: '2026-10-21T12:00:00Z', gap: 72 * HOUR },
    { what: 'weekdays only, from a Sunday', schedule: WEEKDAYS, from: '2026-10-25T12:00:00Z', gap: 72 * HOUR },
    { what: 'monthly', schedule: { cron: '0 2 1 * *' }, from: '2026-06-15T12:00:00Z', gap: 31 * DAY },
  ])('$what', ({ schedule, from, gap }) => {
    expect(typicalGapMs(schedule, at(from))).toBe(gap);
  });

  it('defaults `from` to now and still gives a nightly cron 24 h', () => {
    expect(typicalGapMs(NIGHTLY)).toBe(24 * HOUR);
  });
});

// ---- initialRun --------------------------------------------------------------------------------

describe('initialRun', () => {
  const now = at('2026-06-15T12:00:00Z');
  it.each<{ what: string; schedule: Schedule; lastRunAt: Date | null; due: Date }>([
    { what: 'interval, never synced → now', schedule: DAILY, lastRunAt: null, due: now },
    { what: 'interval, ran an hour ago → one interval after that run', schedule: DAILY, lastRunAt: plus(now, -HOUR), due: plus(now, 23 * HOUR) },
    { what: 'interval of 6 h, ran 5 h ago → in an hour', schedule: { interval: 6 * HOUR }, lastRunAt: plus(now, -5 * HOUR), due: plus(now, HOUR) },
    { what: 'interval, ran exactly one interval ago → now', schedule: DAILY, lastRunAt: plus(now, -DAY), due: now },
    { what: 'interval, overdue since yesterday → now, not in the past', schedule: DAILY, lastRunAt: plus(now, -2 * DAY), due: now },
    { what: 'cron, never synced → next occurrence', schedule: NIGHTLY, lastRunAt: null, due: at('2026-06-16T02:00:00Z') },
    { what: 'cron, ran recently → next occurrence', schedule: NIGHTLY, lastRunAt: plus(now, -HOUR), due: at('2026-06-16T02:00:00Z') },
    { what: 'cron, ran long ago → next occurrence (no catch-up now)', schedule: NIGHTLY, lastRunAt: plus(now, -10 * DAY), due: at('2026-06-16T02:00:00Z') },
    { what: 'cron in Paris → next local 02:00', schedule: NIGHTLY_PARIS, lastRunAt: null, due: at('2026-06-16T00:00:00Z') },
    { what: 'every 15 minutes → next quarter hour', schedule: QUARTER_HOURLY, lastRunAt: null, due: at('2026-06-15T12:15:00Z') },
  ])('$what', ({ schedule, lastRunAt, due }) => {
    expect(initialRun(schedule, lastRunAt, now)).toEqual(due);
  });
});

// ---- nextAfterSuccess --------------------------------------------------------------------------

describe('nextAfterSuccess', () => {
  it.each<{ what: string; schedule: Schedule; finishedAt: string; next: string }>([
    { what: 'interval: one interval after the end of the run', schedule: DAILY, finishedAt: '2026-06-15T10:17:23Z', next: '2026-06-16T10:17:23.000Z' },
    { what: 'interval: a forced sync at noon moves the next run to noon tomorrow', schedule: DAILY, finishedAt: '2026-06-15T12:00:00Z', next: '2026-06-16T12:00:00.000Z' },
    { what: 'interval of 6 h', schedule: { interval: 6 * HOUR }, finishedAt: '2026-06-15T22:30:00Z', next: '2026-06-16T04:30:00.000Z' },
    { what: 'cron: a forced sync does not move it', schedule: NIGHTLY, finishedAt: '2026-06-15T10:17:23Z', next: '2026-06-16T02:00:00.000Z' },
    { what: 'cron: the scheduled run finished a few minutes after 02:00', schedule: NIGHTLY, finishedAt: '2026-06-15T02:04:00Z', next: '2026-06-16T02:00:00.000Z' },
    { what: 'cron: finished just before the next occurrence', schedule: NIGHTLY, finishedAt: '2026-06-15T01:59:00Z', next: '2026-06-15T02:00:00.000Z' },
    { what: 'cron in Paris across the autumn change', schedule: NIGHTLY_PARIS, finishedAt: '2026-10-25T00:05:00Z', next: '2026-10-26T01:00:00.000Z' },
    { what: 'weekdays cron, finished on a Friday', schedule: WEEKDAYS, finishedAt: '2026-10-23T02:03:00Z', next: '2026-10-26T02:00:00.000Z' },
  ])('$what', ({ schedule, finishedAt, next }) => {
    expect(nextAfterSuccess(schedule, at(finishedAt)).toISOString()).toBe(next);
  });
});

// ---- nextAfterFailure --------------------------------------------------------------------------

describe('nextAfterFailure', () => {
  const finishedAt = at('2026-06-15T10:00:00Z');
  const POLICY: BackoffPolicy = { quarantineAfter: 5, retryMs: 10 * MINUTE, quarantineRetryMs: 6 * HOUR };

  it.each<{ what: string; schedule: Schedule; failures: number; policy: BackoffPolicy; delay: number; quarantined: boolean }>([
    { what: '1st failure: the first retry delay', schedule: DAILY, failures: 1, policy: POLICY, delay: 10 * MINUTE, quarantined: false },
    { what: '2nd failure: doubled', schedule: DAILY, failures: 2, policy: POLICY, delay: 20 * MINUTE, quarantined: false },
    { what: '3rd failure: doubled again', schedule: DAILY, failures: 3, policy: POLICY, delay: 40 * MINUTE, quarantined: false },
    { what: '4th failure: doubled again', schedule: DAILY, failures: 4, policy: POLICY, delay: 80 * MINUTE, quarantined: false },
    { what: 'quarantineAfter-th failure: quarantined, slow retry', schedule: DAILY, failures: 5, policy: POLICY, delay: 6 * HOUR, quarantined: true },
    { what: 'further failures stay quarantined', schedule: DAILY, failures: 9, policy: POLICY, delay: 6 * HOUR, quarantined: true },
    { what: 'short interval: retry within the interval', schedule: { interval: 30 * MINUTE }, failures: 2, policy: POLICY, delay: 20 * MINUTE, quarantined: false },
    { what: 'short interval: capped at the interval', schedule: { interval: 30 * MINUTE }, failures: 3, policy: POLICY, delay: 30 * MINUTE, quarantined: false },
    { what: 'short interval: still capped', schedule: { interval: 30 * MINUTE }, failures: 4, policy: POLICY, delay: 30 * MINUTE, quarantined: false },
    { what: 'short interval: quarantine uses its own delay', schedule: { interval: 30 * MINUTE }, failures: 5, policy: POLICY, delay: 6 * HOUR, quarantined: true },
    { what: 'every 15 minutes: 10 m retry comes first', schedule: QUARTER_HOURLY, failures: 1, policy: POLICY, delay: 10 * MINUTE, quarantined: false },
    { what: 'every 15 minutes: capped at the next quarter hour', schedule: QUARTER_HOURLY, failures: 2, policy: POLICY, delay: 15 * MINUTE, quarantined: false },
    { what: 'default policy, 1st failure: 15 m', schedule: DAILY, failures: 1, policy: DEFAULT_BACKOFF, delay: 15 * MINUTE, quarantined: false },
    { what: 'default policy, 2nd failure: 30 m', schedule: DAILY, failures: 2, policy: DEFAULT_BACKOFF, delay: 30 * MINUTE, quarantined: false },
    { what: 'default policy, 3rd failure: quarantined for 6 h', schedule: DAILY, failures: 3, policy: DEFAULT_BACKOFF, delay: 6 * HOUR, quarantined: true },
    { what: 'quarantine after the first failure', schedule: DAILY, failures: 1, policy: { ...POLICY, quarantineAfter: 1 }, delay: 6 * HOUR, quarantined: true },
  ])('$what', ({ schedule, failures, policy, delay, quarantined }) => {
    expect(nextAfterFailure(schedule, finishedAt, failures, policy)).toEqual({ next: plus(finishedAt, delay), quarantined });
  });

  it.each<{ finishedAt: string; failures: number; next: string }>([
    { finishedAt: '2026-06-15T01:45:00Z', failures: 1, next: '2026-06-15T01:55:00.000Z' },
    { finishedAt: '2026-06-15T01:45:00Z', failures: 2, next: '2026-06-15T02:00:00.000Z' },
    { finishedAt: '2026-06-15T01:55:00Z', failures: 1, next: '2026-06-15T02:00:00.000Z' },
    { finishedAt: '2026-06-15T02:05:00Z', failures: 4, next: '2026-06-15T03:25:00.000Z' },
  ])('nightly cron, failed at $finishedAt ($failures): never later than the next regular run', ({ finishedAt: finished, failures, next }) => {
    expect(nextAfterFailure(NIGHTLY, at(finished), failures, POLICY)).toEqual({ next: at(next), quarantined: false });
  });

  it('retries grow as 10 m, 20 m, 40 m, 80 m then quarantine', () => {
    const delays = [1, 2, 3, 4, 5, 6].map((n) => {
      const { next, quarantined } = nextAfterFailure(DAILY, finishedAt, n, POLICY);
      return [(next.getTime() - finishedAt.getTime()) / MINUTE, quarantined];
    });
    expect(delays).toEqual([
      [10, false],
      [20, false],
      [40, false],
      [80, false],
      [360, true],
      [360, true],
    ]);
  });
});

/** The fingerprint stored with the next run: a schedule that differs from it is computed again (issue 10 #17). */
describe('scheduleKey', () => {
  it.each<{ what: string; a: Schedule; b: Schedule }>([
    { what: 'interval → cron', a: { interval: DAY }, b: { cron: '* * * * *' } },
    { what: 'one interval → another', a: { interval: DAY }, b: { interval: 6 * HOUR } },
    { what: 'one cron → another', a: { cron: '0 2 * * *' }, b: { cron: '0 3 * * *' } },
    { what: 'the same cron in another time zone', a: { cron: '0 2 * * *', timezone: 'Europe/Paris' }, b: { cron: '0 2 * * *', timezone: 'America/New_York' } },
    { what: 'a time zone added', a: { cron: '0 2 * * *' }, b: { cron: '0 2 * * *', timezone: 'Europe/Paris' } },
  ])('$what: a change', ({ a, b }) => {
    expect(scheduleKey(a)).not.toBe(scheduleKey(b));
  });

  it.each<{ what: string; a: Schedule; b: Schedule }>([
    { what: '"24h" and "1440m" (one interval)', a: { interval: 24 * HOUR }, b: { interval: 1440 * MINUTE } },
    { what: 'a cron written with other spaces', a: { cron: '0 2 * * *' }, b: { cron: '  0  2 *   * * ' } },
  ])('$what: no change (the stored next run stands)', ({ a, b }) => {
    expect(scheduleKey(a)).toBe(scheduleKey(b));
  });
});
