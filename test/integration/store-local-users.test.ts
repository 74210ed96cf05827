/** store/local-users.ts on the real PostgreSQL server: finding local users by id, login or mail. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allocateIds, insertLocalUsers } from '../../src/store/apply.ts';
import type { Store } from '../../src/store/db.ts';
import { findLocalUsers, getLocalUsers } from '../../src/store/local-users.ts';
import { ensureConnection } from '../../src/store/runs.ts';
import { openTestStore } from '../support/app.ts';

let store: Store;
let ids: number[];
beforeAll(async () => {
  store = await openTestStore('postgres');
  await ensureConnection(store.db, 'corp', 'ldap');
  ids = await allocateIds(store.db, 'local_users', 3);
  await insertLocalUsers(store.db, 'corp', ids, [
    { login: 'Alice', mail: 'alice@x.test', displayName: 'Alice', active: true },
    { login: 'bob', mail: 'shared@x.test', displayName: null, active: true },
    { login: 'carl', mail: 'SHARED@x.test', displayName: null, active: false },
  ], {});
});
afterAll(() => store?.close());

describe('findLocalUsers', () => {
  it('by id, with or without #', async () => {
    expect((await findLocalUsers(store.db, String(ids[1]), 11)).map((u) => u.login)).toEqual(['bob']);
    expect((await findLocalUsers(store.db, `#${ids[2]}`, 11)).map((u) => u.login)).toEqual(['carl']);
  });

  it('by login or mail in any case; several matches up to the limit', async () => {
    expect((await findLocalUsers(store.db, 'ALICE', 11)).map((u) => u.id)).toEqual([ids[0]]);
    expect((await findLocalUsers(store.db, 'shared@X.test', 11)).map((u) => u.login).sort()).toEqual(['bob', 'carl']);
    expect(await findLocalUsers(store.db, 'shared@x.test', 1)).toHaveLength(1);
    expect(await findLocalUsers(store.db, 'nobody', 11)).toEqual([]);
  });
});

describe('getLocalUsers', () => {
  it('the users of the given ids; none for none', async () => {
    expect((await getLocalUsers(store.db, [ids[0]!, ids[2]!, 999_999])).map((u) => u.login).sort()).toEqual(['Alice', 'carl']);
    expect(await getLocalUsers(store.db, [])).toEqual([]);
  });
});
