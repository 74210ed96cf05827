/** store/transaction.ts on the real PostgreSQL server: transactions opened for callers, the health ping, ANALYZE. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allocateIds, insertLocalUsers } from '../../src/store/apply.ts';
import type { Store } from '../../src/store/db.ts';
import { ensureConnection } from '../../src/store/runs.ts';
import { getConnection } from '../../src/store/connections.ts';
import { analyzeSyncTables, pingStore, withTransaction } from '../../src/store/transaction.ts';
import { openTestStore } from '../support/app.ts';
import { select } from '../support/store-reads.ts';

let store: Store;
beforeAll(async () => {
  store = await openTestStore('postgres');
});
afterAll(() => store?.close());

describe('withTransaction', () => {
  it('commits what the work wrote and returns its result', async () => {
    const result = await withTransaction(store.db, async (tx) => {
      await ensureConnection(tx, 'kept', 'ldap');
      return 42;
    });
    expect(result).toBe(42);
    expect(await getConnection(store.db, 'kept')).not.toBeNull();
  });

  it('rolls back everything when the work throws, and rethrows', async () => {
    const failure = withTransaction(store.db, async (tx) => {
      await ensureConnection(tx, 'rolled-back', 'ldap');
      throw new Error('boom');
    });
    await expect(failure).rejects.toThrow('boom');
    expect(await getConnection(store.db, 'rolled-back')).toBeNull();
  });
});

describe('pingStore', () => {
  it('answers on an open store and throws on a closed one', async () => {
    await expect(pingStore(store.db)).resolves.toBeUndefined();
    const other = await openTestStore('postgres');
    await other.close();
    await expect(pingStore(other.db)).rejects.toThrow();
  });
});

describe('analyzeSyncTables', () => {
  it('gives the synced tables fresh statistics (row estimates of tables never analyzed before)', async () => {
    await ensureConnection(store.db, 'kept', 'ldap');
    const ids = await allocateIds(store.db, 'local_users', 3);
    await insertLocalUsers(store.db, 'kept', ids, ids.map((id) => ({ login: `u${id}`, mail: null, displayName: null, active: true })), {});
    const estimates = async () =>
      select<{ relname: string; reltuples: number }>(
        store,
        "select relname, reltuples::int as reltuples from pg_class where relname in ('local_users', 'local_groups', 'memberships', 'mappings', 'group_links') order by relname",
      );
    expect((await estimates()).map((r) => r.reltuples)).toEqual([-1, -1, -1, -1, -1]);
    await analyzeSyncTables(store.db);
    expect(await estimates()).toEqual([
      { relname: 'group_links', reltuples: 0 },
      { relname: 'local_groups', reltuples: 0 },
      { relname: 'local_users', reltuples: 3 },
      { relname: 'mappings', reltuples: 0 },
      { relname: 'memberships', reltuples: 0 },
    ]);
  });
});
