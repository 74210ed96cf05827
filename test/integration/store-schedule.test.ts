/** store/schedule.ts on the real PostgreSQL server: schedule state after runs, and claiming a due slot. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getConnection } from '../../src/store/connections.ts';
import type { Store } from '../../src/store/db.ts';
import { ensureConnection, setNextRun } from '../../src/store/runs.ts';
import { claimDueRun, countScheduleFailure, recordScheduleFailure, recordScheduleSuccess } from '../../src/store/schedule.ts';
import { openTestStore } from '../support/app.ts';

let store: Store;
beforeAll(async () => {
  store = await openTestStore('postgres');
  await ensureConnection(store.db, 'corp', 'ldap');
});
afterAll(() => store?.close());

const at = (iso: string) => new Date(iso);

describe('failures and success', () => {
  it('counts consecutive failures, records retry and quarantine, and a success resets both', async () => {
    expect(await countScheduleFailure(store.db, 'corp')).toEqual({ failures: 1, quarantinedAt: null });
    expect(await countScheduleFailure(store.db, 'corp')).toEqual({ failures: 2, quarantinedAt: null });
    await recordScheduleFailure(store.db, 'corp', { nextRunAt: at('2025-01-01T01:00:00Z'), scheduleKey: 'every 1h', quarantinedAt: at('2025-01-01T00:00:00Z') });
    expect(await getConnection(store.db, 'corp')).toMatchObject({ consecutiveFailures: 2, nextRunAt: at('2025-01-01T01:00:00Z'), scheduleKey: 'every 1h', quarantinedAt: at('2025-01-01T00:00:00Z') });
    expect(await countScheduleFailure(store.db, 'corp')).toEqual({ failures: 3, quarantinedAt: at('2025-01-01T00:00:00Z') });

    await recordScheduleFailure(store.db, 'corp', { nextRunAt: at('2025-01-01T02:00:00Z'), scheduleKey: 'every 1h', quarantinedAt: null, failures: 1 });
    expect(await getConnection(store.db, 'corp')).toMatchObject({ consecutiveFailures: 1, quarantinedAt: null });

    await recordScheduleSuccess(store.db, 'corp', null);
    expect(await getConnection(store.db, 'corp')).toMatchObject({ consecutiveFailures: 0, quarantinedAt: null, nextRunAt: at('2025-01-01T02:00:00Z') });
    await recordScheduleSuccess(store.db, 'corp', { nextRunAt: at('2025-01-02T00:00:00Z'), scheduleKey: 'cron 0 0 * * *' });
    expect(await getConnection(store.db, 'corp')).toMatchObject({ nextRunAt: at('2025-01-02T00:00:00Z'), scheduleKey: 'cron 0 0 * * *' });
  });

  it('counts nothing for an unknown connection', async () => {
    expect(await countScheduleFailure(store.db, 'nope')).toBeNull();
  });
});

describe('claimDueRun', () => {
  it('one claim of a due slot wins; a claim with a stale due time loses', async () => {
    await ensureConnection(store.db, 'due', 'ldap');
    const due = at('2025-02-01T00:00:00Z');
    expect(await setNextRun(store.db, 'due', due, 'k', null)).toBe(true);
    const next = { nextRunAt: at('2025-02-01T01:00:00Z'), scheduleKey: 'k' };
    const claims = await Promise.all([claimDueRun(store.db, 'due', due, next), claimDueRun(store.db, 'due', due, next)]);
    expect(claims.sort()).toEqual([false, true]);
    expect((await getConnection(store.db, 'due'))!.nextRunAt).toEqual(next.nextRunAt);
    expect(await claimDueRun(store.db, 'due', due, next)).toBe(false);
  });
});
