/**
 * store/bulk-load.ts on the real PostgreSQL server: a large load of memberships (or of new
 * local users) without per-row checks leaves the same rows, keys and indexes as a checked copy; it never leaves the table
 * without its keys (an error or a killed session rolls them back); it falls back to the checked
 * copy when a reader holds the table.
 */
import { sql } from 'drizzle-orm';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allocateIds, insertLocalGroups, insertLocalUsers } from '../../src/store/apply.ts';
import { LOCAL_USERS, type LoadMode, bulkLoad, loadMemberships } from '../../src/store/bulk-load.ts';
import { type Store, openStore, queryRows } from '../../src/store/db.ts';
import { ensureConnection } from '../../src/store/runs.ts';
import { withTransaction } from '../../src/store/transaction.ts';
import { openTestStore } from '../support/app.ts';
import { select } from '../support/store-reads.ts';

let store: Store;
let users: number[];
let groups: number[];
beforeAll(async () => {
  store = await openTestStore('postgres');
  await ensureConnection(store.db, 'corp', 'ldap');
  users = await allocateIds(store.db, 'local_users', 40);
  groups = await allocateIds(store.db, 'local_groups', 4);
  await withTransaction(store.db, async (tx) => {
    await insertLocalUsers(tx, 'corp', users, users.map((id) => ({ login: `u${id}`, mail: null, displayName: null, active: true })), {}, null);
    await insertLocalGroups(tx, groups, groups.map((id) => ({ directoryId: `g${id}`, dn: null, name: `g${id}`, description: null, kind: 'group', origin: 'scope' })), null);
  });
});
afterAll(() => store?.close());

/** Every pair of `gs` × `us`. */
function pairs(gs: readonly number[], us: readonly number[]): { g: Int32Array; u: Int32Array } {
  const g = new Int32Array(gs.length * us.length);
  const u = new Int32Array(gs.length * us.length);
  let k = 0;
  for (const a of gs) for (const b of us) [g[k], u[k++]] = [a, b];
  return { g, u };
}

/** The table's keys and indexes, as PostgreSQL prints their definitions. */
async function shape(table = 'memberships'): Promise<string[]> {
  const rows = await select<{ d: string }>(
    store,
    `select conname || ' ' || pg_get_constraintdef(oid) as d from pg_constraint where conrelid = '${table}'::regclass
     union all select indexdef from pg_indexes where tablename = '${table}' order by 1`,
  );
  return rows.map((r) => r.d);
}

/** Another session reading `table` in a transaction it keeps open until `release()`: it holds the table's lock. */
async function readerHolding(table: string): Promise<{ release: () => Promise<void>; end: () => Promise<void> }> {
  const reader = postgres(store.url, { max: 1, onnotice: () => {} });
  let release!: () => void;
  const holding = new Promise<void>((resolve) => (release = resolve));
  let started!: () => void;
  const begun = new Promise<void>((resolve) => (started = resolve));
  const reading = reader.begin(async (r) => {
    await r`select count(*) from ${r(table)}`;
    started();
    await holding;
  });
  await begun;
  return {
    release: async () => {
      release();
      await reading;
    },
    end: async () => {
      release();
      await reading.catch(() => undefined);
      await reader.end();
    },
  };
}

const count = async () => (await select<{ n: number }>(store, 'select count(*)::int as n from memberships'))[0]!.n;

describe('loadMemberships', () => {
  it.each<{ name: string; minRows: number; expected: LoadMode }>([
    { name: 'below minRows: copied with per-row checks', minRows: 1_000, expected: 'checked' },
    { name: 'at least minRows into a small table: loaded in bulk', minRows: 10, expected: 'bulk' },
  ])('$name', async ({ minRows, expected }) => {
    const before = await shape();
    const { g, u } = pairs([groups[0]!], users.slice(0, 20));
    await store.db.execute(sql`delete from memberships`);
    const mode = await withTransaction(store.db, (tx) => loadMemberships(tx, g, u, { minRows }));
    expect(mode).toBe(expected);
    expect(await count()).toBe(20);
    expect(await shape()).toEqual(before);
    // The keys hold after a bulk load: a dangling member is refused, a deleted user takes its memberships along.
    await expect(store.db.execute(sql`insert into memberships values (${groups[0]!}, ${-1})`)).rejects.toMatchObject({ cause: { code: '23503' } });
  });

  it('a failure after the keys were dropped rolls them back with the rows', async () => {
    await store.db.execute(sql`delete from memberships`);
    const before = await shape();
    // The second pair repeats the first: the primary key fails the COPY, after the drop.
    const g = Int32Array.of(groups[1]!, groups[1]!);
    const u = Int32Array.of(users[0]!, users[0]!);
    await expect(withTransaction(store.db, (tx) => loadMemberships(tx, g, u, { minRows: 1 }))).rejects.toMatchObject({ code: '23505' });
    expect(await shape()).toEqual(before);
    expect(await count()).toBe(0);
  });

  it('a session killed in the middle of a bulk load (a crash) leaves the keys and rows as before', async () => {
    await store.db.execute(sql`delete from memberships`);
    const before = await shape();
    const { g, u } = pairs(groups, users);
    const admin = postgres(store.url, { max: 1, onnotice: () => {} });
    // A store of its own: the session killed is one of its connections, not of the shared pool.
    const doomed = await openStore({ databaseUrl: store.url, maxConnections: 1 });
    try {
      const load = withTransaction(doomed.db, async (tx) => {
        const [me] = await queryRows<{ pid: number }>(tx, sql`select pg_backend_pid() as pid`);
        await loadMemberships(tx, g, u, { minRows: 1 });
        // The keys are dropped and re-added, uncommitted: the server process goes away now.
        await admin`select pg_terminate_backend(${me!.pid})`;
        while ((await admin`select 1 from pg_stat_activity where pid = ${me!.pid}`).length) await new Promise((r) => setTimeout(r, 20));
        await new Promise((r) => setTimeout(r, 100));
        await tx.execute(sql`select 1`);
      });
      await expect(load).rejects.toThrow();
    } finally {
      await doomed.close();
      await admin.end();
    }
    expect(await shape()).toEqual(before);
    expect(await count()).toBe(0);
  });

  it('falls back to the checked copy when a reader holds the table past the lock timeout', async () => {
    await store.db.execute(sql`delete from memberships`);
    const reader = await readerHolding('memberships');
    try {
      const { g, u } = pairs([groups[2]!], users);
      const [mode, setting] = await withTransaction(store.db, async (tx) => {
        const loaded = await loadMemberships(tx, g, u, { minRows: 1, lockTimeoutMs: 200 });
        const [v] = await queryRows<{ v: string }>(tx, sql`select current_setting('lock_timeout') as v`);
        return [loaded, v] as const;
      });
      await reader.release();
      expect(mode).toBe('checked');
      expect(await count()).toBe(40);
      // The rest of the transaction waits for locks as before (not 200 ms).
      expect(setting!.v).toBe('0');
    } finally {
      await reader.end();
    }
  });
});

describe('bulkLoad', () => {
  it('local users: loaded without their two secondary indexes, which come back', async () => {
    const before = await shape('local_users');
    expect(before.join('\n')).toMatch(/lower\(mail\)/);
    const ids = await allocateIds(store.db, 'local_users', 3);
    const mode = await withTransaction(store.db, (tx) =>
      bulkLoad(tx, LOCAL_USERS, ids.length, (ex) => insertLocalUsers(ex, 'corp', ids, ids.map((id) => ({ login: `Bulk${id}`, mail: `Bulk${id}@X.test`, displayName: null, active: true })), {}), { minRows: 1 }),
    );
    expect(mode).toBe('bulk');
    expect(await shape('local_users')).toEqual(before);
    expect(await select(store, `select id from local_users where lower(mail) = 'bulk${ids[1]}@x.test'`)).toEqual([{ id: ids[1] }]);
  });

  it('a bulk load leaves mappings and connections readable (status, health and home read them meanwhile)', async () => {
    const ids = await allocateIds(store.db, 'local_users', 2);
    const reader = postgres(store.url, { max: 1, onnotice: () => {} });
    try {
      const read = await withTransaction(store.db, async (tx) => {
        await bulkLoad(tx, LOCAL_USERS, ids.length, (ex) => insertLocalUsers(ex, 'corp', ids, ids.map((id) => ({ login: `read${id}`, mail: null, displayName: null, active: true })), {}), { minRows: 1 });
        return reader.begin(async (r) => {
          await r`set local lock_timeout = '200ms'`;
          return [await r`select count(*)::int as n from mappings`, await r`select count(*)::int as n from connections`];
        });
      });
      expect(read.map((rows) => typeof rows[0]!.n)).toEqual(['number', 'number']);
    } finally {
      await reader.end();
    }
  });

  it('once the locks were refused, the later loads of the transaction copy with checks without waiting again', async () => {
    await store.db.execute(sql`delete from memberships`);
    const reader = await readerHolding('memberships');
    try {
      const ids = await allocateIds(store.db, 'local_users', 2);
      const { g, u } = pairs([groups[3]!], users.slice(0, 2));
      const modes = await withTransaction(store.db, async (tx) => {
        const first = await loadMemberships(tx, g, u, { minRows: 1, lockTimeoutMs: 200 });
        // The reader still holds memberships, which every bulk load locks: waiting again would outlast the test.
        const second = await bulkLoad(tx, LOCAL_USERS, ids.length, (ex) => insertLocalUsers(ex, 'corp', ids, ids.map((id) => ({ login: `late${id}`, mail: null, displayName: null, active: true })), {}), { minRows: 1, lockTimeoutMs: 120_000 });
        return [first, second];
      });
      await reader.release();
      expect(modes).toEqual(['checked', 'checked']);
      expect(await count()).toBe(2);
      expect(await select(store, `select count(*)::int as n from local_users where id in (${ids.join(',')})`)).toEqual([{ n: 2 }]);
    } finally {
      await reader.end();
    }
  });
});
