/** store/sync-state.ts on the real PostgreSQL server: what a held plan is re-checked against on approval. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allocateIds, insertLocalGroups, insertLocalUsers, upsertMappings } from '../../src/store/apply.ts';
import type { Store } from '../../src/store/db.ts';
import { ensureConnection } from '../../src/store/runs.ts';
import { loadRecheckState } from '../../src/store/sync-state.ts';
import { openTestStore } from '../support/app.ts';

let store: Store;
let users: number[];
let group: number;
beforeAll(async () => {
  store = await openTestStore('postgres');
  await ensureConnection(store.db, 'corp', 'ldap');
  await ensureConnection(store.db, 'other', 'ldap');
  users = await allocateIds(store.db, 'local_users', 3);
  await insertLocalUsers(store.db, 'corp', users, [
    { login: 'a', mail: null, displayName: null, active: true },
    { login: 'b', mail: null, displayName: null, active: false },
    { login: 'c', mail: null, displayName: null, active: true },
  ], {});
  [group] = (await allocateIds(store.db, 'local_groups', 1)) as [number];
  await insertLocalGroups(store.db, [group], [{ directoryId: 'x', dn: null, name: 'Sales Team', description: null, kind: 'group', origin: 'scope' }]);
  const fields = (id: string) => ({ directoryId: id, dn: null, login: id, mail: null, displayName: null, enabled: true, candidates: [], reason: null });
  await upsertMappings(store.db, 'corp', [
    { ...fields('u-a'), status: 'mapped', localUserId: users[0]!, inScope: true },
    { ...fields('u-x'), status: 'ignored', localUserId: null, inScope: false },
  ]);
  await upsertMappings(store.db, 'other', [{ ...fields('u-c'), status: 'mapped', localUserId: users[2]!, inScope: true }]);
});
afterAll(() => store?.close());

describe('loadRecheckState', () => {
  it('answers only what is asked: mappings, taken names, users alive and active, users claimed, groups alive', async () => {
    const state = await loadRecheckState(store.db, 'corp', {
      directoryIds: ['u-a', 'u-x', 'u-new'],
      groupNames: ['sales team', 'marketing'],
      matchKey: 'login',
      userKeys: ['b', 'nobody'],
      userIds: [users[0]!, users[1]!, users[2]!, 999_999],
      groupIds: [group, 999_999],
    });
    expect([...state.mappings.values()]).toEqual(
      expect.arrayContaining([
        { directory_id: 'u-a', status: 'mapped', local_user_id: users[0], in_scope: true },
        { directory_id: 'u-x', status: 'ignored', local_user_id: null, in_scope: false },
      ]),
    );
    expect(state.mappings.size).toBe(2);
    expect([...state.takenNames]).toEqual(['sales team']);
    expect([...state.takenKeys]).toEqual(['b']);
    expect(state.activeUsers).toEqual(new Map([[users[0], true], [users[1], false], [users[2], true]]));
    // Mapped in this connection only: user c is mapped by another connection.
    expect([...state.claimed]).toEqual([users[0]]);
    expect([...state.groupsAlive]).toEqual([group]);
  });

  it('asks nothing for empty lists', async () => {
    const state = await loadRecheckState(store.db, 'corp', { directoryIds: [], groupNames: [], userIds: [], groupIds: [] });
    expect(state).toEqual({ mappings: new Map(), takenNames: new Set(), takenKeys: new Set(), activeUsers: new Map(), claimed: new Set(), groupsAlive: new Set() });
  });
});
