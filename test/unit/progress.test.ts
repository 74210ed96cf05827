/** How a run's progress reads, the same in the CLI's line and on the chat progress message. */
import { describe, expect, it } from 'vitest';
import { describeCounts, describeProgress, percentOf } from '../../src/sync/progress.ts';

const event = (phase: 'planning' | 'applying' | 'reading users', done: number | null, total: number | null, detail: string | null = null, elapsedMs = 14_200) =>
  ({ runId: 7, phase, done, total, detail, startedAt: 0, elapsedMs }) as const;

describe('progress', () => {
  it('says the phase, counts against the total with a percentage, what it works on, and the elapsed time', () => {
    expect(describeProgress(event('applying', 4399, 31_951, 'writing memberships'))).toBe('applying: 4,399 of 31,951 (13 %), writing memberships (14 s)');
    expect(describeProgress(event('planning', null, null, '4,000 users, 400 groups', 3000))).toBe('planning: 4,000 users, 400 groups (3 s)');
    expect(describeProgress(event('reading users', 12_000, null, null, 75_000))).toBe('reading users: 12,000 (1 min 15 s)');
  });

  it('shows 100 % only when everything is done, and no percentage without a total', () => {
    expect(percentOf({ done: 31_950, total: 31_951 })).toBe(99);
    expect(percentOf({ done: 31_951, total: 31_951 })).toBe(100);
    expect(percentOf({ done: 0, total: 0 })).toBe(100);
    expect(percentOf({ done: 5, total: null })).toBeNull();
    expect(describeCounts({ done: null, total: 500 })).toBe('500 to do');
  });
});
