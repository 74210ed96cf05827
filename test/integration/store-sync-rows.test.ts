/** store/sync-rows.ts on the real PostgreSQL server: the planner's rows, streamed and kept compact. */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addMemberships, allocateIds, insertGroupLinks, insertLocalGroups, insertLocalUsers, upsertMappings } from '../../src/store/apply.ts';
import { type Store, connectDb, forEachRow, queryRows } from '../../src/store/db.ts';
import { ensureConnection } from '../../src/store/runs.ts';
import { loadLinks } from '../../src/store/sync-state.ts';
import { loadMappings, loadMemberships } from '../../src/store/sync-rows.ts';
import { withTransaction } from '../../src/store/transaction.ts';
import { openTestStore } from '../support/app.ts';

let store: Store;
let users: number[];
let groups: number[];
beforeAll(async () => {
  store = await openTestStore('postgres');
  await ensureConnection(store.db, 'corp', 'ldap');
  users = await allocateIds(store.db, 'local_users', 3);
  await insertLocalUsers(store.db, 'corp', users, [
    { login: 'a', mail: 'a@x.org', displayName: 'A', active: true },
    { login: 'b', mail: 'b@old.org', displayName: 'B', active: true },
    { login: 'c', mail: null, displayName: null, active: true },
  ], {});
  const fields = (id: string, login: string, mail: string | null) => ({ directoryId: id, dn: `uid=${login},dc=x`, login, mail, displayName: login.toUpperCase(), enabled: true, reason: null });
  await upsertMappings(store.db, 'corp', [
    { ...fields('u-a', 'a', 'a@x.org'), status: 'mapped', localUserId: users[0]!, inScope: true, candidates: [] },
    { ...fields('u-b', 'b', 'b@old.org'), status: 'mapped', localUserId: users[1]!, inScope: true, candidates: [] },
    { ...fields('u-c', 'c', null), status: 'conflict', localUserId: null, inScope: true, candidates: [users[2]!, users[0]!] },
  ]);
  groups = await allocateIds(store.db, 'local_groups', 3);
  const g = (k: number) => ({ directoryId: `g${k}`, dn: null, name: `G${k}`, description: null, kind: 'group' as const, origin: 'scope' as const });
  await insertLocalGroups(store.db, groups, [g(0), g(1), g(2)]);
  await insertGroupLinks(store.db, 'corp', new Date(), [g(0), g(1), g(2)], new Map(groups.map((id, k) => [`g${k}`, id])));
  await addMemberships(store.db, [groups[0]!, groups[0]!, groups[0]!, groups[1]!], [users[2]!, users[0]!, users[1]!, users[1]!], false);
});
afterAll(() => store?.close());

describe('forEachRow', () => {
  const query = sql`select g from generate_series(1, 4500) g order by g`;

  it('hands every row of a result larger than a batch, in order, on the pool and in a transaction', async () => {
    const seen: number[] = [];
    await forEachRow<{ g: number }>(store.db, query, (r) => seen.push(r.g), 1000);
    expect(seen).toEqual(Array.from({ length: 4500 }, (_, k) => k + 1));
    const inTx: number[] = [];
    await withTransaction(store.db, (tx) => forEachRow<{ g: number }>(tx, query, (r) => inTx.push(r.g), 1000));
    expect(inTx).toEqual(seen);
  });

  it('rejects with the server error of a failing statement, and the connection then gives whole results', async () => {
    const one = connectDb(store.url, 1);
    try {
      await expect(forEachRow(one.db, sql`select 1 / (g - 3) from generate_series(1, 5000) g`, () => {}, 1000)).rejects.toThrow(/division by zero/);
      const seen: unknown[] = [];
      await forEachRow<{ g: number }>(one.db, sql`select g from generate_series(1, 3) g order by g`, (r) => seen.push(r), 1000);
      expect(seen).toEqual([{ g: 1 }, { g: 2 }, { g: 3 }]);
    } finally {
      await one.close();
    }
  });
});

describe('queryRows', () => {
  it('after a statement that failed partway through its rows, the connection gives whole results', async () => {
    const one = connectDb(store.url, 1);
    try {
      await expect(queryRows(one.db, sql`select 1 / (g - 3000) as x from generate_series(1, 5000) g`)).rejects.toThrow(/Failed query/);
      const rows = await queryRows<{ g: number }>(one.db, sql`select g from generate_series(1, 3) g order by g`);
      expect(rows.map((r) => r.g)).toEqual([1, 2, 3]);
      expect(rows).toHaveLength(3);
    } finally {
      await one.close();
    }
  });
});

describe('loadMappings', () => {
  it('keeps the stored values, sharing only the strings equal to the snapshot user of the same id', async () => {
    const known = new Map([
      ['u-a', { id: 'u-a', dn: 'uid=a,dc=x', login: 'a', mail: 'a@x.org', displayName: 'A', enabled: true }],
      ['u-b', { id: 'u-b', dn: 'uid=b,dc=x', login: 'b', mail: 'b@new.org', displayName: 'Bee', enabled: true }],
    ]);
    const { states, locals } = await loadMappings(store.db, sql`m.connection = ${'corp'}`, undefined, known);
    expect(states.get('u-b')).toMatchObject({ status: 'mapped', localUserId: users[1], dn: 'uid=b,dc=x', login: 'b', mail: 'b@old.org', displayName: 'B', candidates: [], viaGroups: [] });
    expect(states.get('u-c')).toMatchObject({ status: 'conflict', localUserId: null, mail: null, candidates: [users[2], users[0]] });
    expect(locals.get(users[0]!)).toEqual({ id: users[0], login: 'a', mail: 'a@x.org', displayName: 'A', active: true });
    expect(locals.get(users[1]!)).toEqual({ id: users[1], login: 'b', mail: 'b@old.org', displayName: 'B', active: true });
    expect(locals.has(users[2]!)).toBe(false);
  });
});

describe('loadMemberships', () => {
  it('gives each linked group its members (none for a group without), or only the groups asked for', async () => {
    const links = await loadLinks(store.db, 'corp');
    const all = await loadMemberships(store.db, 'corp', links, null);
    expect([...all.keys()].sort()).toEqual([...groups].sort());
    expect([...all.get(groups[0]!)!]).toEqual([...users].sort((a, b) => a - b));
    expect(all.get(groups[0]!)!.has(users[1]!)).toBe(true);
    expect([...all.get(groups[1]!)!]).toEqual([users[1]]);
    expect(all.get(groups[2]!)!.size).toBe(0);
    const some = await loadMemberships(store.db, 'corp', links, [groups[1]!]);
    expect([...some.keys()]).toEqual([groups[1]]);
    expect(some.get(groups[1]!)!.has(users[0]!)).toBe(false);
  });
});
