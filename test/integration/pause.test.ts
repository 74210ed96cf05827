/**
 * `pause` / `resume` on real PostgreSQL with the scheduler ticking at injected times: a paused
 * connection runs nothing scheduled, refuses syncs that could apply (saying since when, by whom,
 * and how to resume), shows on status and health, is audited, and holds for every process on the
 * database and across a restart.
 */
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { openStore, queryRows } from '../../src/store/db.ts';
import { sql } from 'drizzle-orm';
import { type TestApp, createTestApp, ldapConnection } from '../support/app.ts';
import { createDatabase } from '../support/postgres.ts';
import { FIXTURE_LDIF, type SlapdHandle, startSlapd } from '../support/slapd.ts';

const HOUR = 3_600_000;

describe('pause and resume a connection', () => {
  let ldap: SlapdHandle;
  let url: string;
  const apps: TestApp[] = [];
  let time = new Date('2026-11-20T10:00:00Z');
  const now = () => new Date(time);

  beforeEach(async () => {
    ldap = await startSlapd({ ldif: [FIXTURE_LDIF.scenarios] });
    url = await createDatabase(inject('pgUrl'));
    time = new Date('2026-11-20T10:00:00Z');
  });
  afterEach(async () => {
    for (const a of apps.splice(0)) await a.close();
    await ldap?.stop();
  });

  /** One groupsync process on the test database (several may run at once). */
  async function process(): Promise<TestApp> {
    const store = await openStore({ databaseUrl: url, maxConnections: 3 });
    const app = await createTestApp('postgres', [ldapConnection(ldap, { groups: { filter: '(cn=app-*)' }, schedule: { interval: '1h' } })], { store, now });
    apps.push(app);
    return app;
  }

  it('stops scheduled and forced syncs in every process, shows on status and health, and is audited; resume restarts them', async () => {
    const a = await process();
    const b = await process();
    expect((await a.scheduler.tick(now())).started).toEqual(['corp']);

    const paused = await a.ops.pause('corp', 'ann');
    expect(paused.pause).toEqual({ at: now(), by: 'ann' });
    await expect(a.ops.pause('corp', 'bob')).rejects.toMatchObject({ code: 'INVALID_STATE', message: expect.stringMatching(/paused since \d+ d ago, 2026-11-20 10:00 UTC by ann/) });

    time = new Date(time.getTime() + 2 * HOUR); // the next slot is due
    for (const app of [a, b]) {
      const tick = await app.scheduler.tick(now());
      expect(tick.started).toEqual([]);
      expect(tick.skipped).toEqual([{ connection: 'corp', reason: expect.stringMatching(/^"corp" is paused since \d+ d ago, 2026-11-20 10:00 UTC by ann; resume with "resume corp"$/) }]);
    }
    // A forced sync from the other process is refused; a dry run (changes nothing) still runs.
    await expect(b.ops.sync({ connection: 'corp', trigger: 'chat', actor: 'bob' })).rejects.toMatchObject({
      code: 'INVALID_STATE',
      message: expect.stringMatching(/^"corp" is paused since \d+ d ago, 2026-11-20 10:00 UTC by ann; resume with "resume corp"$/),
    });
    expect((await b.ops.sync({ connection: 'corp', trigger: 'chat', actor: 'bob', dryRun: true })).run.status).toBe('dry_run');

    const status = await b.ops.status('corp');
    expect(status.paused).toEqual({ since: new Date('2026-11-20T10:00:00Z'), by: 'ann' });
    expect(status.nextRunAt).toBeNull();
    const health = (await b.ops.health()).find((c) => c.name === 'corp')!;
    expect(health.status).toBe('red');
    expect(health.reasons.map((r) => r.code)).toEqual(['paused']);
    expect(health.links.length).toBeGreaterThan(0);
    for (const l of health.links) expect(l.reasons.map((r) => r.code)).toEqual(['paused']);

    // A restart (a new process) still sees the pause; resume lets the due slot run at the next tick.
    await a.close();
    apps.splice(apps.indexOf(a), 1);
    const c = await process();
    expect((await c.scheduler.tick(now())).started).toEqual([]);
    const resumed = await c.ops.resume('corp', 'cid');
    expect(resumed.before).toEqual({ at: new Date('2026-11-20T10:00:00Z'), by: 'ann' });
    await expect(c.ops.resume('corp', 'cid')).rejects.toMatchObject({ code: 'INVALID_STATE', message: '"corp" is not paused; nothing was changed' });
    expect((await c.scheduler.tick(now())).started).toEqual(['corp']);
    expect((await c.ops.health()).find((x) => x.name === 'corp')!.status).toBe('green');

    const audit = await queryRows<{ actor: string; action: string; before: unknown; after: unknown }>(
      c.store.db,
      sql`select actor, action, before, after from audit_log where target_type = 'connection' order by id`,
    );
    expect(audit).toEqual([
      { actor: 'ann', action: 'connection.paused', before: { paused: false }, after: { paused: true, pausedAt: '2026-11-20T10:00:00.000Z', pausedBy: 'ann' } },
      { actor: 'cid', action: 'connection.resumed', before: { paused: true, pausedAt: '2026-11-20T10:00:00.000Z', pausedBy: 'ann' }, after: { paused: false } },
    ]);
  });
});
