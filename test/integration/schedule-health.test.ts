/**
 * Health, schedule, back-off and alert incidents on both stores, with the time injected: no
 * test waits for a schedule to fire. And the exactly-once run with two processes on one database.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { stringify } from 'yaml';
import type { HealthCode } from '../../src/health/health.ts';
import type { IncidentRow } from '../../src/notify/incidents.ts';
import type { GroupsyncError } from '../../src/errors.ts';
import { openStore, queryRows } from '../../src/store/db.ts';
import { getConnection } from '../../src/store/connections.ts';
import { acquireLock, createRun, setLockRun } from '../../src/store/runs.ts';
import { claimDueRun } from '../../src/store/schedule.ts';
import { type Driver, DRIVERS, type TestApp, createTestApp, ldapConnection } from '../support/app.ts';
import { createDatabase } from '../support/postgres.ts';
import { FIXTURE_LDIF, type SlapdHandle, startSlapd } from '../support/slapd.ts';
import { bigGroupLdif } from '../fixtures/generate-big.ts';

const HOUR = 3_600_000;
const group = (cn: string) => `cn=${cn},ou=groups,dc=example,dc=org`;

class Clock {
  time: Date;
  constructor(time: Date) {
    this.time = time;
  }
  now = () => new Date(this.time);
  advance(ms: number) {
    this.time = new Date(this.time.getTime() + ms);
  }
}

describe.each(DRIVERS)('health, schedule and incidents on %s', (driver: Driver) => {
  let ldap: SlapdHandle;
  let app: TestApp;
  let clock: Clock;
  const alerts = { opened: [] as IncidentRow[], resolved: [] as IncidentRow[] };

  beforeEach(async () => {
    ldap = await startSlapd({ ldif: [FIXTURE_LDIF.scenarios] });
    clock = new Clock(new Date('2026-11-20T10:00:00Z'));
    alerts.opened.length = 0;
    alerts.resolved.length = 0;
  });
  afterEach(async () => {
    await app?.close();
    await ldap?.stop();
  });

  async function build(overrides: Record<string, unknown> = {}, extra: Array<Record<string, unknown>> = []) {
    app = await createTestApp(driver, [ldapConnection(ldap, { groups: { filter: '(|(cn=app-*)(cn=edge-users))' }, ...overrides }), ...extra], {
      now: clock.now,
      alertSink: { opened: async (i) => void alerts.opened.push(i), updated: async () => {}, resolved: async (i) => void alerts.resolved.push(i) },
    });
    return app;
  }
  const codes = async (name = 'corp'): Promise<HealthCode[]> => (await app.ops.health()).find((c) => c.name === name)!.reasons.map((r) => r.code);
  const linkCodes = async (link: string): Promise<HealthCode[]> =>
    (await app.ops.health()).flatMap((c) => c.links).find((l) => l.name === link)!.reasons.map((r) => r.code);
  const nextRun = async () => (await app.ops.status('corp')).nextRunAt;

  it('an interval schedule runs a never-synced connection at once, then one interval after each sync; a forced sync resets it', async () => {
    await build({ schedule: { interval: '6h' } });
    expect(await codes()).toEqual(['never_synced']);
    const first = await app.scheduler.tick(clock.now());
    expect(first.started).toEqual(['corp']);
    expect(await nextRun()).toEqual(new Date('2026-11-20T16:00:00Z'));
    clock.advance(2 * HOUR);
    expect((await app.scheduler.tick(clock.now())).started).toEqual([]); // not due
    const forced = await app.ops.sync({ connection: 'corp', trigger: 'chat', actor: 'ann' });
    expect(forced.run.trigger).toBe('chat');
    expect(await nextRun()).toEqual(new Date('2026-11-20T18:00:00Z')); // reset: one interval after the forced sync
    clock.advance(4 * HOUR); // 16:00, the old slot: not due any more
    expect((await app.scheduler.tick(clock.now())).started).toEqual([]);
    clock.advance(2 * HOUR);
    expect((await app.scheduler.tick(clock.now())).started).toEqual(['corp']);
    expect(await nextRun()).toEqual(new Date('2026-11-21T00:00:00Z'));
  });

  it('a cron schedule runs at its next occurrence and survives a restart (state in the database)', async () => {
    await build({ schedule: { cron: '0 2 * * *', timezone: 'UTC' } });
    expect((await app.scheduler.tick(clock.now())).started).toEqual([]);
    expect(await nextRun()).toEqual(new Date('2026-11-21T02:00:00Z'));
    // Restart: a new app on the same store knows the next run.
    const store = app.store;
    app = await createTestApp(driver, [ldapConnection(ldap, { groups: { filter: '(cn=app-*)' }, schedule: { cron: '0 2 * * *', timezone: 'UTC' } })], { store, now: clock.now });
    expect(await nextRun()).toEqual(new Date('2026-11-21T02:00:00Z'));
    clock.time = new Date('2026-11-21T02:00:30Z');
    expect((await app.scheduler.tick(clock.now())).started).toEqual(['corp']);
    expect(await nextRun()).toEqual(new Date('2026-11-22T02:00:00Z'));
    const forced = await app.ops.sync({ connection: 'corp', trigger: 'manual', actor: 'ann' });
    expect(forced.run.status).not.toBe('failed');
    expect(await nextRun()).toEqual(new Date('2026-11-22T02:00:00Z')); // cron keeps its times
  });

  it('recomputes the next run when the schedule in the config file changes (interval 24h → cron every minute → interval 6h)', async () => {
    const restart = async (schedule: Record<string, unknown>) => {
      const store = app.store;
      app = await createTestApp(driver, [ldapConnection(ldap, { groups: { filter: '(cn=app-*)' }, schedule })], { store, now: clock.now });
    };
    await build({ schedule: { interval: '24h' } });
    expect((await app.scheduler.tick(clock.now())).started).toEqual(['corp']);
    expect(await nextRun()).toEqual(new Date('2026-11-21T10:00:00Z'));
    await restart({ cron: '* * * * *' });
    clock.advance(90_000); // 10:01:30: the next run follows the new schedule, not the stored slot (tomorrow)
    expect((await app.scheduler.tick(clock.now())).started).toEqual([]);
    expect(await nextRun()).toEqual(new Date('2026-11-20T10:02:00Z'));
    clock.advance(30_000);
    expect((await app.scheduler.tick(clock.now())).started).toEqual(['corp']);
    expect(await nextRun()).toEqual(new Date('2026-11-20T10:03:00Z'));
    await restart({ interval: '6h' });
    expect((await app.scheduler.tick(clock.now())).started).toEqual([]); // one interval after the last sync
    expect(await nextRun()).toEqual(new Date('2026-11-20T16:02:00Z'));
    await restart({ interval: '6h' }); // the same schedule again: the stored next run stands
    clock.advance(HOUR);
    expect((await app.scheduler.tick(clock.now())).started).toEqual([]);
    expect(await nextRun()).toEqual(new Date('2026-11-20T16:02:00Z'));
  });

  it('a lease left by a process that stopped: the refusal says so and when the lease expires', async () => {
    await build({ schedule: null });
    await acquireLock(app.store.db, 'corp', 'gone-host:4242:dead', 60_000, clock.now());
    clock.advance(15_000);
    const refusal = await app.ops.sync({ connection: 'corp', trigger: 'manual', actor: 'ann' }).then(
      () => null,
      (error: unknown) => error as GroupsyncError,
    );
    expect(refusal?.code).toBe('ALREADY_RUNNING');
    expect(refusal?.message).toContain('a sync of "corp" is already running since 2026-11-20T10:00:00.000Z in process gone-host:4242:dead');
    expect(refusal?.message).toContain('if that process stopped, its lease expires at 2026-11-20T10:01:00.000Z (in 45 s); a sync can start then');
    clock.advance(46_000); // the lease expired: the next sync takes it over
    expect((await app.ops.sync({ connection: 'corp', trigger: 'manual', actor: 'ann' })).run.status).not.toBe('failed');
  });

  it('shows each health reason as data, red first', async () => {
    await build({ schedule: { interval: '1h' } }, [
      ldapConnection(ldap, { name: 'off', enabled: false, groups: { list: ['app-ops'] } }),
      ldapConnection(ldap, { name: 'manual', schedule: null, groups: { list: ['app-ops'] } }),
    ]);
    await app.store.db.execute(sql`insert into local_users (login, mail) values ('jd1', 'shared@example.org'), ('jd2', 'shared@example.org')`);
    await app.store.db.execute(sql`insert into local_groups (name) values ('app-ops')`);
    const run = await app.ops.sync({ connection: 'corp', trigger: 'manual', actor: 'ann' });
    expect(run.run.status).toBe('partial');
    // conflicts: jdoe has two local candidates; duplicate: app-ops exists locally.
    expect(await codes()).toEqual(['conflicts_pending', 'duplicate_pending']);
    expect(await linkCodes('edge-users')).toEqual(['conflicts_pending']);
    expect(await linkCodes('app-admins')).toEqual([]);
    expect(await codes('off')).toEqual(['disabled', 'never_synced']);
    expect(await codes('manual')).toEqual(['no_schedule', 'never_synced']);
    // stale: no successful sync for more than twice the interval.
    clock.advance(3 * HOUR);
    expect(await codes()).toContain('stale');
    expect(await linkCodes('app-admins')).toEqual(['stale']);
    // last run failed
    await ldap.stop();
    const failed = await app.ops.sync({ connection: 'corp', trigger: 'manual', actor: 'ann' });
    expect(failed.run.status).toBe('failed');
    expect(await codes()).toEqual(expect.arrayContaining(['last_run_failed', 'stale']));
    // certificates
    const setCert = (validTo: Date, trusted: boolean) =>
      app.store.db.execute(sql`update connections set certificate = ${JSON.stringify({ subject: 'CN=dc', issuer: 'CN=ca', validTo: validTo.toISOString(), trusted, error: trusted ? null : 'SELF_SIGNED_CERT_IN_CHAIN' })}::jsonb where name = 'corp'`);
    await setCert(new Date(clock.time.getTime() + 10 * 24 * HOUR), true);
    expect(await codes()).toContain('cert_expiring');
    await setCert(new Date(clock.time.getTime() - HOUR), true);
    expect(await codes()).toContain('cert_expired');
    await setCert(new Date(clock.time.getTime() + 400 * 24 * HOUR), false);
    expect(await codes()).toContain('cert_untrusted');
    const health = await app.ops.health();
    expect(health.map((c) => c.status)).toEqual(['red', 'red', 'red']);
    const status = await app.ops.status('corp');
    expect(status).toMatchObject({ health: 'red', ssl: { state: 'untrusted' } });
    expect(status.lastAttempts.map((a) => a.status)).toEqual(['failed', 'partial']);
  });

  it('holds, alerts once, and resolves a run awaiting approval', async () => {
    await build({ deletionThreshold: { maxCount: 0, maxPercent: 100, minObjects: 0 } });
    await app.ops.sync({ connection: 'corp', trigger: 'manual', actor: 'ann' });
    await ldap.load(`dn: ${group('app-ops')}\nchangetype: delete\n\ndn: ${group('app-admins')}\nchangetype: modify\ndelete: member\nmember: ${group('app-ops')}\n`);
    const held = await app.ops.sync({ connection: 'corp', trigger: 'manual', actor: 'ann' });
    expect(held.run.status).toBe('awaiting_approval');
    expect(await codes()).toContain('awaiting_approval');
    expect(alerts.opened.map((i) => i.cause)).toEqual(['awaiting_approval']);
    expect(alerts.opened[0]!.details).toMatchObject({ runId: held.run.id, sample: ['group app-ops (2 members)', 'user bob', 'user carol', 'member bob of app-admins', 'member carol of app-admins'] });
    // The scheduler does not pile up more held runs while one waits.
    clock.advance(48 * HOUR);
    const tick = await app.scheduler.tick(clock.now());
    expect(tick.skipped).toEqual([{ connection: 'corp', reason: `run #${held.run.id} awaits approval` }]);
    await app.ops.reject(held.run.id, 'bob');
    expect(alerts.resolved.map((i) => i.cause)).toEqual(['awaiting_approval']);
    expect(await codes()).not.toContain('awaiting_approval');
  });

  it('a run whose process died (kill -9) is marked failed by the next tick once its lease expired, alerted, and retried with the back-off', async () => {
    await build({ schedule: { interval: '24h' }, backoff: { quarantineAfter: 3, retry: '10m', quarantineRetry: '6h' } });
    expect((await app.scheduler.tick(clock.now())).started).toEqual(['corp']); // the first sync, due now
    // A process that claimed the next slot and died mid-run: its run stays running, its lease held.
    clock.advance(25 * HOUR);
    const dead = await acquireLock(app.store.db, 'corp', 'gone-host:4242:dead', 60_000, clock.now());
    const run = await createRun(app.store.db, { connection: 'corp', trigger: 'schedule', actor: 'scheduler', dryRun: false, kindFilter: null, groupFilter: [], startedAt: clock.now() });
    await setLockRun(app.store.db, dead, run.id);
    await claimDueRun(app.store.db, 'corp', (await getConnection(app.store.db, 'corp'))!.nextRunAt!, { nextRunAt: new Date(clock.time.getTime() + 24 * HOUR), scheduleKey: 'interval 86400000' });
    clock.advance(30_000);
    await app.scheduler.tick(clock.now()); // the lease is alive: the run may be going on elsewhere
    expect((await app.ops.runs('corp', 1))[0]).toMatchObject({ id: run.id, status: 'running' });

    clock.advance(60_000); // the lease expired
    await app.scheduler.tick(clock.now());
    expect((await app.ops.runs('corp', 1))[0]).toMatchObject({ id: run.id, status: 'failed', errorCode: 'INTERRUPTED' });
    expect(alerts.opened.filter((i) => i.cause === 'run_failed').map((i) => i.runId)).toEqual([run.id]);
    expect(await nextRun()).toEqual(new Date(clock.time.getTime() + 10 * 60_000));
  });

  it('a dry run whose process died (it holds no lease) is marked failed by a tick once it has run an hour, without an alert or a retry', async () => {
    await build({ schedule: { interval: '24h' }, backoff: { quarantineAfter: 3, retry: '10m', quarantineRetry: '6h' } });
    expect((await app.scheduler.tick(clock.now())).started).toEqual(['corp']);
    const next = await nextRun();
    const dry = await createRun(app.store.db, { connection: 'corp', trigger: 'manual', actor: 'ann', dryRun: true, kindFilter: null, groupFilter: [], startedAt: clock.now() });
    clock.advance(59 * 60_000);
    await app.scheduler.tick(clock.now()); // may still be planning a large directory in another process
    expect((await app.ops.runs('corp', 1))[0]).toMatchObject({ id: dry.id, status: 'running' });
    clock.advance(2 * 60_000);
    await app.scheduler.tick(clock.now());
    expect((await app.ops.runs('corp', 1))[0]).toMatchObject({ id: dry.id, status: 'failed', errorCode: 'INTERRUPTED' });
    expect(alerts.opened.filter((i) => i.cause === 'run_failed')).toEqual([]);
    expect(await nextRun()).toEqual(next);
  });

  it('backs off after failures, quarantines, and releases on success or a forced run', async () => {
    await build({ schedule: { interval: '24h' }, backoff: { quarantineAfter: 3, retry: '10m', quarantineRetry: '6h' } });
    ldap.kill(); // data kept; restart() brings it back on the same port
    const tick = async () => app.scheduler.tick(clock.now());
    expect((await tick()).started).toEqual(['corp']); // never synced: due now, fails
    expect(await nextRun()).toEqual(new Date(clock.time.getTime() + 10 * 60_000));
    clock.advance(10 * 60_000);
    expect((await tick()).started).toEqual(['corp']); // second failure: retry doubles
    expect(await nextRun()).toEqual(new Date(clock.time.getTime() + 20 * 60_000));
    clock.advance(20 * 60_000);
    expect((await tick()).started).toEqual(['corp']); // third failure: quarantined
    let status = await app.ops.status('corp');
    expect(status.consecutiveFailures).toBe(3);
    expect(status.quarantinedAt).not.toBeNull();
    expect(await codes()).toContain('quarantined');
    expect(await nextRun()).toEqual(new Date(clock.time.getTime() + 6 * HOUR));
    clock.advance(HOUR);
    expect((await tick()).started).toEqual([]); // retried less often
    // One alert for the failing directory, not one per failed run.
    expect(alerts.opened.filter((i) => i.cause === 'run_failed')).toHaveLength(1);
    expect(alerts.opened.filter((i) => i.cause === 'quarantined')).toHaveLength(1);
    // An admin forcing a run releases the quarantine, even though it fails again.
    const forced = await app.ops.sync({ connection: 'corp', trigger: 'manual', actor: 'ann' });
    expect(forced.run.status).toBe('failed');
    status = await app.ops.status('corp');
    expect(status.quarantinedAt).toBeNull();
    expect(await codes()).not.toContain('quarantined');
    // The directory comes back: the next run succeeds, failures reset, incidents resolve.
    await ldap.restart();
    clock.advance(7 * HOUR);
    expect((await tick()).started).toEqual(['corp']);
    status = await app.ops.status('corp');
    expect(status).toMatchObject({ consecutiveFailures: 0, quarantinedAt: null, health: 'green' });
    expect(alerts.resolved.map((i) => i.cause).sort()).toEqual(['quarantined', 'run_failed']);
    expect(await app.ops.incidents()).toEqual(expect.not.arrayContaining([expect.objectContaining({ cause: 'run_failed' })]));
  });

  it('opens an incident once, never repeats it across restarts, and resolves it on recovery', async () => {
    await build();
    await app.store.db.execute(sql`insert into local_users (login, mail) values ('jd1', 'shared@example.org'), ('jd2', 'shared@example.org')`);
    await app.ops.sync({ connection: 'corp', trigger: 'manual', actor: 'ann' });
    const linkRed = alerts.opened.filter((i) => i.cause === 'link_red');
    expect(linkRed).toHaveLength(1);
    expect(linkRed[0]!.details).toMatchObject({ total: 1, links: [{ name: 'edge-users', reasons: ['1 user conflict pending'] }], causes: { conflicts_pending: 1 } });
    await app.scheduler.tick(clock.now());
    await app.ops.sync({ connection: 'corp', trigger: 'manual', actor: 'ann' });
    // A restart (a new app on the same store) does not alert again either.
    const store = app.store;
    app = await createTestApp(driver, [ldapConnection(ldap, { groups: { filter: '(|(cn=app-*)(cn=edge-users))' } })], {
      store,
      now: clock.now,
      alertSink: { opened: async (i) => void alerts.opened.push(i), updated: async () => {}, resolved: async (i) => void alerts.resolved.push(i) },
    });
    await app.scheduler.tick(clock.now());
    expect(alerts.opened.filter((i) => i.cause === 'link_red')).toHaveLength(1);
    expect((await app.ops.incidents()).map((i) => i.cause)).toEqual(['link_red']);
    // Resolving the conflict turns the link green and resolves the incident.
    const [candidate] = await queryRows<{ id: number }>(app.store.db, sql`select id from local_users where login = 'jd2'`);
    await app.ops.map('jdoe', `#${candidate!.id}`, 'ann');
    await app.scheduler.tick(clock.now());
    expect(alerts.resolved.map((i) => i.cause)).toEqual(['link_red']);
    expect(await app.ops.incidents()).toEqual([]);
    expect((await app.ops.incidents({ all: true })).map((i) => i.status)).toEqual(['resolved']);
  });

  it('removes a connection only with confirmation, keeps local users and groups, and audits it', async () => {
    await build();
    await app.ops.sync({ connection: 'corp', trigger: 'manual', actor: 'ann' });
    await expect(app.ops.removeConnection('corp', 'ann', false)).rejects.toThrow(/deletes 3 links, \d+ user mappings, 1 runs .* repeat with --confirm/);
    const removed = await app.ops.removeConnection('corp', 'ann', true);
    expect(removed).toMatchObject({ name: 'corp', removed: { links: 3, runs: 1 }, stillConfigured: true });
    const left = await queryRows<{ t: string; n: number }>(
      app.store.db,
      sql`select 'links' as t, count(*)::int as n from group_links union all select 'mappings', count(*)::int from mappings
          union all select 'runs', count(*)::int from runs union all select 'users', count(*)::int from local_users
          union all select 'groups', count(*)::int from local_groups`,
    );
    expect(Object.fromEntries(left.map((r) => [r.t, r.n]))).toMatchObject({ links: 0, mappings: 0, runs: 0, users: 5, groups: 3 });
    const [audit] = await queryRows<{ actor: string; before: { links: number } }>(app.store.db, sql`select actor, before from audit_log where action = 'connection.removed'`);
    expect(audit).toMatchObject({ actor: 'ann', before: { links: 3 } });
  });
});

describe('two processes on one database', () => {
  it('run each due sync exactly once', async () => {
    const ldap = await startSlapd({ ldif: [FIXTURE_LDIF.scenarios] });
    try {
      const dir = mkdtempSync(path.join(tmpdir(), 'groupsync-two-'));
      const configFile = path.join(dir, 'groupsync.yaml');
      writeFileSync(configFile, stringify({ connections: [ldapConnection(ldap, { groups: { filter: '(cn=app-*)' }, schedule: { interval: '1h' } })] }));
      const env = { ...process.env, GROUPSYNC_CONFIG: configFile, DATABASE_URL: await createDatabase(inject('pgUrl')), TEST_LDAP_PASSWORD: ldap.adminPassword, LOG_LEVEL: 'silent' };
      const script = path.resolve(import.meta.dirname, '../support/tick-process.ts');
      const tick = (now: string) =>
        new Promise<{ started: string[]; skipped: unknown[] }>((resolve, reject) => {
          execFile(process.execPath, [script, now], { env }, (error, stdout, stderr) => (error ? reject(new Error(stderr || String(error))) : resolve(JSON.parse(stdout))));
        });
      // Both processes migrate and register first (one at a time), then tick at the same instant, twice.
      expect((await tick('2026-11-20T09:00:00Z')).started).toEqual(['corp']); // never synced: due at once
      for (const now of ['2026-11-20T10:00:00Z', '2026-11-20T11:30:00Z']) {
        const results = await Promise.all([tick(now), tick(now)]);
        expect(results.flatMap((r) => r.started)).toEqual(['corp']);
      }
      const { default: postgres } = await import('postgres');
      const client = postgres(env.DATABASE_URL);
      const runs = await client`select trigger, status from runs order by id`;
      await client.end();
      expect(runs.map((r) => r.trigger)).toEqual(['schedule', 'schedule', 'schedule']);
    } finally {
      await ldap.stop();
    }
  });
});

describe('the run lock and post-commit maintenance', () => {
  it('is released when the run is committed: an ANALYZE that hangs (or a process killed during it) holds no lease', async () => {
    // 7,000 users created and 7,000 memberships added: above the 10,000 changes that trigger ANALYZE.
    const dir = mkdtempSync(path.join(tmpdir(), 'groupsync-analyze-'));
    const file = path.join(dir, 'big.ldif');
    writeFileSync(file, `${readFileSync(FIXTURE_LDIF.base, 'utf8')}\n${bigGroupLdif(7000)}`.replace(/^dn: .*$/gm, (line) => `${line}\nentryUUID: ${randomUUID()}`));
    const url = await createDatabase(inject('pgUrl'));
    const store = await openStore({ databaseUrl: url, maxConnections: 5 });
    const app = await createTestApp('postgres', [{ name: 'bulk', kind: 'ldif', file, groups: { filter: '(cn=big-group)' }, schedule: null }], { store });
    const { default: postgres } = await import('postgres');
    const blocker = postgres(url, { max: 2 });
    try {
      // ANALYZE takes SHARE UPDATE EXCLUSIVE: a transaction holding it makes ANALYZE wait (inserts do not).
      let locked!: () => void;
      const isLocked = new Promise<void>((resolve) => (locked = resolve));
      const hold = blocker.begin(async (tx) => {
        await tx`lock table memberships in share update exclusive mode`;
        locked();
        await waitFor(async () => (await blocker`select 1 from pg_stat_activity where query ilike 'analyze%' and wait_event_type = 'Lock'`).length === 1);
        const [row] = await tx`select lock_holder from connections where name = 'bulk'`;
        const [run] = await tx`select status from runs where connection = 'bulk'`;
        // …and this process no longer counts it as running: the next sync of "bulk" may start.
        return { holder: row?.lock_holder as string | null, status: run?.status as string, running: app.runner.running('bulk') };
      });
      await isLocked;
      const sync = app.ops.sync({ connection: 'bulk', trigger: 'manual', actor: 'ann' });
      const seen = await hold; // commits, so ANALYZE goes on
      expect(seen).toEqual({ holder: null, status: 'success', running: null });
      expect((await sync).run.status).toBe('success');
    } finally {
      await blocker.end();
      await app.close();
    }
  });
});

/** Polls a condition of the database (not a duration): ANALYZE is waiting on a lock. */
async function waitFor(condition: () => Promise<boolean>, tries = 600): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('the condition never held');
}
