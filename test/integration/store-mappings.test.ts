/** store/mappings.ts on the real PostgreSQL server: listing, counting, finding, locking and deciding mappings. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allocateIds, insertLocalUsers, upsertMappings } from '../../src/store/apply.ts';
import type { Store } from '../../src/store/db.ts';
import { countMappingStates, decideMapping, findMappedTo, findMappings, listUnsynced, lockMapping } from '../../src/store/mappings.ts';
import { ensureConnection } from '../../src/store/runs.ts';
import { withTransaction } from '../../src/store/transaction.ts';
import { openTestStore } from '../support/app.ts';

let store: Store;
let local: number[];
const user = (login: string, dn: string | null = `uid=${login},dc=x`) => ({ directoryId: `id-${login}`, dn, login, mail: `${login}@x.test`, displayName: login, enabled: true });

beforeAll(async () => {
  store = await openTestStore('postgres');
  await ensureConnection(store.db, 'corp', 'ldap');
  await ensureConnection(store.db, 'other', 'ldap');
  local = await allocateIds(store.db, 'local_users', 2);
  await insertLocalUsers(store.db, 'corp', local, [{ login: 'ann', mail: null, displayName: null, active: true }, { login: 'bob', mail: null, displayName: null, active: true }], {});
  await upsertMappings(store.db, 'corp', [
    { ...user('ann'), status: 'mapped', localUserId: local[0]!, candidates: [], reason: null, inScope: true },
    { ...user('zed'), status: 'conflict', localUserId: null, candidates: local, reason: '2 local candidates', inScope: true },
    { ...user('cat'), status: 'unmapped', localUserId: null, candidates: [], reason: 'no match', inScope: true },
    { ...user('amy'), status: 'unmapped', localUserId: null, candidates: [], reason: 'no match', inScope: true },
    { ...user('old'), status: 'unmapped', localUserId: null, candidates: [], reason: 'no match', inScope: false },
    { ...user('ign', null), status: 'ignored', localUserId: null, candidates: [], reason: 'ignored', inScope: true },
  ]);
  await upsertMappings(store.db, 'other', [{ ...user('ann'), status: 'unmapped', localUserId: null, candidates: [], reason: null, inScope: true }]);
});
afterAll(() => store?.close());

describe('listUnsynced and countMappingStates', () => {
  it('lists conflicts first, then unmapped by login, in scope only, with the total', async () => {
    const page = await listUnsynced(store.db, 'corp', 0, 2);
    expect(page.total).toBe(3);
    expect(page.rows.map((r) => r.login)).toEqual(['zed', 'amy']);
    expect((await listUnsynced(store.db, 'corp', 2, 2)).rows.map((r) => r.login)).toEqual(['cat']);
  });

  it('counts users by state', async () => {
    expect(await countMappingStates(store.db, 'corp')).toEqual({ synced: 1, conflicts: 1, unmapped: 2, ignored: 1 });
    expect(await countMappingStates(store.db, 'none')).toEqual({ synced: 0, conflicts: 0, unmapped: 0, ignored: 0 });
  });
});

describe('findMappings', () => {
  it('finds by directory id, login, mail or DN text in any case, in one connection or all', async () => {
    expect((await findMappings(store.db, 'ANN@X.TEST', null, null, 11)).map((r) => r.connection).sort()).toEqual(['corp', 'other']);
    expect((await findMappings(store.db, 'ann', 'other', null, 11)).map((r) => r.connection)).toEqual(['other']);
    expect((await findMappings(store.db, 'id-zed', 'corp', null, 11)).map((r) => r.login)).toEqual(['zed']);
    expect((await findMappings(store.db, 'UID=CAT,DC=X', 'corp', null, 11)).map((r) => r.login)).toEqual(['cat']);
    expect(await findMappings(store.db, 'nobody', null, null, 11)).toEqual([]);
  });

  it('finds by a DN the caller compares, and stops at the limit', async () => {
    const rows = await findMappings(store.db, 'uid = amy , dc = x', 'corp', (dn) => dn.replace(/\s/g, '') === 'uid=amy,dc=x', 11);
    expect(rows.map((r) => r.login)).toEqual(['amy']);
    expect(await findMappings(store.db, 'x', 'corp', () => true, 2)).toHaveLength(2);
  });
});

describe('lockMapping, findMappedTo and decideMapping', () => {
  it('maps a user to a local user and clears its candidates; the local user is then taken', async () => {
    const key = { connection: 'corp', directoryId: 'id-zed' };
    const now = new Date('2025-03-03T00:00:00Z');
    expect(await findMappedTo(store.db, 'corp', local[1]!)).toBeNull();
    await withTransaction(store.db, async (tx) => {
      expect(await lockMapping(tx, key)).toMatchObject({ status: 'conflict', candidates: local });
      await decideMapping(tx, key, { status: 'mapped', localUserId: local[1]!, reason: null }, 'cli:alice', now);
    });
    expect(await findMappedTo(store.db, 'corp', local[1]!)).toMatchObject({ directoryId: 'id-zed', status: 'mapped', candidates: [], resolvedBy: 'cli:alice', resolvedAt: now });
    expect(await findMappedTo(store.db, 'other', local[1]!)).toBeNull();
    expect(await withTransaction(store.db, (tx) => lockMapping(tx, { connection: 'corp', directoryId: 'nope' }))).toBeNull();
  });
});
