/**
 * The run lease through a long apply, on PostgreSQL and a real slapd: the heartbeat keeps the
 * lease alive while the apply transaction runs (a 1M-user first sync applies for minutes), so
 * `status` sees the sync running and a second process is refused at once; two apply
 * transactions of one connection still never overlap.
 */
import postgres from 'postgres';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSource } from '../../src/directory/index.ts';
import { silentLogger } from '../../src/logger.ts';
import { acquireLock, fenceLock } from '../../src/store/runs.ts';
import { withTransaction } from '../../src/store/transaction.ts';
import { SyncEngine } from '../../src/sync/engine.ts';
import { type TestApp, createTestApp, ldapConnection } from '../support/app.ts';
import { FIXTURE_LDIF, type SlapdHandle, startSlapd } from '../support/slapd.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('the run lease during an apply', () => {
  let ldap: SlapdHandle;
  let app: TestApp;
  let other: postgres.Sql;

  beforeEach(async () => {
    ldap = await startSlapd({ ldif: [FIXTURE_LDIF.scenarios] });
    app = await createTestApp('postgres', [ldapConnection(ldap)]);
    other = postgres(app.store.url, { max: 2, onnotice: () => {} });
  });
  afterEach(async () => {
    await other?.end();
    await app?.close();
    await ldap?.stop();
  });

  /** Until a session of the apply waits for a lock on `local_groups` (held by the test). */
  async function applyWaiting(): Promise<void> {
    for (;;) {
      const rows = await other`select 1 from pg_stat_activity where wait_event_type = 'Lock' and query ilike 'insert into local_groups%'`;
      if (rows.length) return;
      await sleep(50);
    }
  }

  it('stays live while the apply transaction runs longer than the lease: a second process is refused at once', async () => {
    const ttl = 1_500;
    const engine = new SyncEngine({
      db: app.store.db,
      connections: app.config.connections,
      createSource,
      notifier: { notify: async () => {} },
      logger: silentLogger,
      holder: 'long-apply',
      lockTtlMs: ttl,
    });
    // Another session holds local_groups: the apply, its lease checked, waits inside its transaction.
    let release!: () => void;
    const holding = new Promise<void>((resolve) => (release = resolve));
    let locked!: () => void;
    const taken = new Promise<void>((resolve) => (locked = resolve));
    const blocker = other.begin(async (tx) => {
      await tx`lock table local_groups in share mode`;
      locked();
      await holding;
    });
    await taken;
    const syncing = engine.sync({ connection: 'corp', trigger: 'manual', actor: 'test' });
    try {
      await applyWaiting();
      await sleep(ttl * 2); // the lease taken before the apply would have expired by now
      const [row] = await other<Array<{ live: boolean }>>`select lock_expires_at > now() as live from connections where name = 'corp'`;
      expect(row?.live).toBe(true);
      await expect(acquireLock(app.store.db, 'corp', 'second-process', 60_000, new Date())).rejects.toMatchObject({ code: 'ALREADY_RUNNING' });
    } finally {
      release();
      await blocker;
    }
    const result = await syncing;
    expect(result.run.error ?? result.run.status).toMatch(/success|partial/);
  });

  it('an apply transaction of a connection waits for the one in progress, then finds the lease it no longer holds', async () => {
    // Process A fences and is still applying; its lease expires (A stalled) and B takes it.
    const a = await acquireLock(app.store.db, 'corp', 'process-a', 1, new Date(Date.now() - 1_000));
    let finishA!: () => void;
    const aHolds = new Promise<void>((resolve) => (finishA = resolve));
    let fencedA!: () => void;
    const aFenced = new Promise<void>((resolve) => (fencedA = resolve));
    const applyA = withTransaction(app.store.db, async (tx) => {
      await fenceLock(tx, a);
      fencedA();
      await aHolds;
    });
    await aFenced;
    const b = await acquireLock(app.store.db, 'corp', 'process-b', 60_000, new Date());
    // A, still applying, must not be overlapped by B's apply: B's fence waits for A's transaction.
    let bFenced = false;
    const applyB = withTransaction(app.store.db, async (tx) => {
      await fenceLock(tx, b);
      bFenced = true;
    });
    while (!(await other`select 1 from pg_stat_activity where wait_event_type = 'Lock' and wait_event = 'advisory'`).length) await sleep(50);
    expect(bFenced).toBe(false);
    finishA();
    await applyA;
    await applyB;
    expect(bFenced).toBe(true);
    // A fencing again (its next transaction) finds the lease lost.
    await expect(withTransaction(app.store.db, (tx) => fenceLock(tx, a))).rejects.toMatchObject({ code: 'INVALID_STATE' });
  });
});
