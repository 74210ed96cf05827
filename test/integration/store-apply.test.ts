/**
 * store/apply.ts on the real PostgreSQL server: each statement that applies a plan, with what it
 * leaves in the tables (COPY paths included: the store is postgres.js).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addMemberships,
  allocateIds,
  deactivateUsers,
  deleteGroups,
  insertDuplicates,
  insertFreshMappings,
  insertGroupLinks,
  insertLocalGroups,
  insertLocalUsers,
  relinkGroup,
  removeMemberships,
  updateGroup,
  updateLocalUsers,
  upsertMappings,
} from '../../src/store/apply.ts';
import type { Store } from '../../src/store/db.ts';
import { ensureConnection } from '../../src/store/runs.ts';
import { withTransaction } from '../../src/store/transaction.ts';
import type { GroupFields } from '../../src/sync/plan.ts';
import { openTestStore } from '../support/app.ts';
import { select } from '../support/store-reads.ts';

let store: Store;
beforeAll(async () => {
  store = await openTestStore('postgres');
  await ensureConnection(store.db, 'corp', 'ldap');
});
afterAll(() => store?.close());

const group = (name: string): GroupFields => ({ directoryId: `dir-${name}`, dn: `cn=${name},dc=x`, name, description: `${name} team`, kind: 'group', origin: 'scope' });
const user = (login: string, enabled = true) => ({ directoryId: `u-${login}`, dn: `uid=${login},dc=x`, login, mail: `${login}@x.test`, displayName: login.toUpperCase(), enabled });

async function newUsers(logins: string[]): Promise<number[]> {
  const ids = await allocateIds(store.db, 'local_users', logins.length);
  await withTransaction(store.db, (tx) => insertLocalUsers(tx, 'corp', ids, logins.map((l) => ({ ...user(l), active: true })), {}));
  return ids;
}

async function newGroups(names: string[]): Promise<Map<string, number>> {
  const groups = names.map(group);
  const ids = await allocateIds(store.db, 'local_groups', groups.length);
  const byDir = new Map(groups.map((g, k) => [g.directoryId, ids[k]!]));
  await withTransaction(store.db, async (tx) => {
    await insertLocalGroups(tx, ids, groups);
    await insertGroupLinks(tx, 'corp', new Date('2025-01-02T03:04:05Z'), groups, byDir);
  });
  return byDir;
}

describe('allocateIds', () => {
  it('takes n distinct ids from the sequence; none for 0', async () => {
    const ids = await allocateIds(store.db, 'local_groups', 3);
    expect(new Set(ids).size).toBe(3);
    expect(await allocateIds(store.db, 'local_users', 0)).toEqual([]);
    const next = await allocateIds(store.db, 'local_groups', 1);
    expect(next[0]).toBeGreaterThan(Math.max(...ids));
  });
});

describe('groups and links', () => {
  it('inserts local groups and their links, then relinks, renames and deletes them', async () => {
    const ids = await newGroups(['alpha', 'beta']);
    const links = await select<{ id: number; name: string; local_group_id: number; created_at: Date; state: string }>(
      store,
      "select id, name, local_group_id, created_at, state from group_links where connection = 'corp' and name in ('alpha', 'beta') order by name",
    );
    expect(links.map((l) => [l.name, l.local_group_id, l.state])).toEqual([['alpha', ids.get('dir-alpha'), 'active'], ['beta', ids.get('dir-beta'), 'active']]);
    expect(new Date(links[0]!.created_at).toISOString()).toBe('2025-01-02T03:04:05.000Z');

    const [fresh] = await allocateIds(store.db, 'local_groups', 1);
    await withTransaction(store.db, async (tx) => {
      await insertLocalGroups(tx, [fresh!], [group('alpha2')]);
      await relinkGroup(tx, links[0]!.id, fresh!);
      await updateGroup(tx, links[1]!.id, ids.get('dir-beta')!, { ...group('beta'), name: 'beta-renamed', description: 'new', dn: 'cn=beta-renamed,dc=x' });
    });
    const after = await select<{ name: string; dn: string; local_group_id: number }>(store, `select name, dn, local_group_id from group_links where id in (${links[0]!.id}, ${links[1]!.id}) order by id`);
    expect(after).toEqual([
      { name: 'alpha', dn: 'cn=alpha,dc=x', local_group_id: fresh },
      { name: 'beta-renamed', dn: 'cn=beta-renamed,dc=x', local_group_id: ids.get('dir-beta') },
    ]);
    expect(await select(store, `select name, description from local_groups where id = ${ids.get('dir-beta')}`)).toEqual([{ name: 'beta-renamed', description: 'new' }]);

    const [u1, u2] = await newUsers(['del1', 'del2']);
    await addMemberships(store.db, [fresh!, fresh!], [u1!, u2!], true);
    const lost = await withTransaction(store.db, (tx) => deleteGroups(tx, [links[0]!.id], [fresh!]));
    expect([...lost]).toEqual([[fresh, 2]]);
    expect(await select(store, `select id from group_links where id = ${links[0]!.id}`)).toEqual([]);
    expect(await select(store, `select id from local_groups where id = ${fresh}`)).toEqual([]);
    expect(await withTransaction(store.db, (tx) => deleteGroups(tx, [links[1]!.id], []))).toEqual(new Map());
  });

  it('re-inserting the link of an unlinked group makes it active again with the new local group', async () => {
    const first = await newGroups(['gamma']);
    await select(store, "update group_links set state = 'unlinked' where directory_id = 'dir-gamma'");
    const [again] = await allocateIds(store.db, 'local_groups', 1);
    await withTransaction(store.db, async (tx) => {
      await insertLocalGroups(tx, [again!], [{ ...group('gamma'), name: 'gamma-2' }]);
      await insertGroupLinks(tx, 'corp', new Date(), [group('gamma')], new Map([['dir-gamma', again!]]));
    });
    const rows = await select<{ state: string; local_group_id: number }>(store, "select state, local_group_id from group_links where directory_id = 'dir-gamma'");
    expect(rows).toEqual([{ state: 'active', local_group_id: again }]);
    expect(again).not.toBe(first.get('dir-gamma'));
  });
});

describe('insertDuplicates', () => {
  it('records duplicates once: a second detection leaves the first as it is', async () => {
    const ids = await newGroups(['delta']);
    const local = ids.get('dir-delta')!;
    await insertDuplicates(store.db, 'corp', new Date('2025-02-01T00:00:00Z'), [{ directoryId: 'dup-1', dn: 'cn=delta,ou=b', name: 'delta', localGroupId: local }]);
    await insertDuplicates(store.db, 'corp', new Date('2025-03-01T00:00:00Z'), [{ directoryId: 'dup-1', dn: 'cn=other', name: 'other', localGroupId: null }]);
    await insertDuplicates(store.db, 'corp', new Date(), []);
    const rows = await select<{ name: string; local_group_id: number; status: string; detected_at: Date }>(store, "select name, local_group_id, status, detected_at from duplicates where directory_id = 'dup-1'");
    expect(rows.map((r) => [r.name, r.local_group_id, r.status, new Date(r.detected_at).toISOString()])).toEqual([['delta', local, 'pending', '2025-02-01T00:00:00.000Z']]);
  });
});

describe('local users', () => {
  it('inserts users (COPY) with the default attributes and creating connection; updates and deactivates them', async () => {
    const ids = await allocateIds(store.db, 'local_users', 2);
    await withTransaction(store.db, (tx) =>
      insertLocalUsers(tx, 'corp', ids, [{ ...user('eve'), displayName: 'Eve\tTab\\Back', active: true }, { ...user('fay'), active: false }], { dept: 'R&D' }),
    );
    const rows = await select<{ login: string; display_name: string; active: boolean; attributes: unknown; created_by_connection: string }>(
      store,
      `select login, display_name, active, attributes, created_by_connection from local_users where id in (${ids.join(',')}) order by id`,
    );
    expect(rows).toEqual([
      { login: 'eve', display_name: 'Eve\tTab\\Back', active: true, attributes: { dept: 'R&D' }, created_by_connection: 'corp' },
      { login: 'fay', display_name: 'FAY', active: false, attributes: { dept: 'R&D' }, created_by_connection: 'corp' },
    ]);

    await updateLocalUsers(store.db, [
      { localUserId: ids[0]!, after: { login: 'eve2', mail: 'eve2@x.test', displayName: 'Eve 2', active: false } },
      { localUserId: ids[1]!, after: { login: 'fay', mail: 'fay@x.test', displayName: 'FAY', active: true } },
    ]);
    const updated = await select<{ login: string; active: boolean; deactivated: boolean }>(
      store,
      `select login, active, deactivated_at is not null as deactivated from local_users where id in (${ids.join(',')}) order by id`,
    );
    expect(updated).toEqual([{ login: 'eve2', active: false, deactivated: true }, { login: 'fay', active: true, deactivated: false }]);

    await upsertMappings(store.db, 'corp', [{ ...user('fay'), status: 'mapped', localUserId: ids[1]!, candidates: [], reason: null, inScope: true }]);
    await deactivateUsers(store.db, 'corp', [{ localUserId: ids[1]!, directoryId: 'u-fay' }]);
    expect(await select(store, `select active, deactivated_at is not null as d from local_users where id = ${ids[1]}`)).toEqual([{ active: false, d: true }]);
    expect(await select(store, "select in_scope from mappings where directory_id = 'u-fay'")).toEqual([{ in_scope: false }]);
  });
});

describe('mappings', () => {
  it('inserts fresh mappings in bulk, upserts full rows and refreshes only cached fields for a null status', async () => {
    const [id] = await newUsers(['gus']);
    await insertFreshMappings(store.db, 'corp', [user('gus')], new Map([['u-gus', id!]]));
    expect(await select(store, "select status, local_user_id, in_scope from mappings where directory_id = 'u-gus'")).toEqual([{ status: 'mapped', local_user_id: id, in_scope: true }]);

    await upsertMappings(store.db, 'corp', [
      { ...user('hal'), status: 'conflict', localUserId: null, candidates: [1, 2], reason: '2 local candidates', inScope: true, viaGroups: ['dir-x'] },
      { ...user('gus'), mail: 'gus@new.test', status: null, localUserId: null, candidates: null, reason: null, inScope: false },
    ]);
    const rows = await select<{ directory_id: string; status: string; mail: string; candidates: number[]; via_groups: string[]; in_scope: boolean; local_user_id: number | null }>(
      store,
      "select directory_id, status, mail, candidates, via_groups, in_scope, local_user_id from mappings where directory_id in ('u-gus', 'u-hal') order by directory_id",
    );
    expect(rows).toEqual([
      { directory_id: 'u-gus', status: 'mapped', mail: 'gus@new.test', candidates: [], via_groups: [], in_scope: false, local_user_id: id },
      { directory_id: 'u-hal', status: 'conflict', mail: 'hal@x.test', candidates: [1, 2], via_groups: ['dir-x'], in_scope: true, local_user_id: null },
    ]);

    await upsertMappings(store.db, 'corp', [{ ...user('hal'), status: 'unmapped', localUserId: null, candidates: [], reason: 'no match', inScope: true }]);
    expect(await select(store, "select status, reason, candidates from mappings where directory_id = 'u-hal'")).toEqual([{ status: 'unmapped', reason: 'no match', candidates: [] }]);
  });
});

describe('memberships', () => {
  it('adds in bulk, adds tolerating pairs already there, and removes pairs', async () => {
    const groups = await newGroups(['eps']);
    const g = groups.get('dir-eps')!;
    const [a, b, c] = await newUsers(['m1', 'm2', 'm3']);
    await withTransaction(store.db, (tx) => addMemberships(tx, [g, g], [a!, b!], true));
    await addMemberships(store.db, [g, g], [b!, c!], false);
    const members = async () => (await select<{ user_id: number }>(store, `select user_id from memberships where group_id = ${g} order by user_id`)).map((r) => r.user_id);
    expect(await members()).toEqual([a, b, c]);
    await removeMemberships(store.db, [g, g], [a!, c!]);
    expect(await members()).toEqual([b]);
    await expect(addMemberships(store.db, [g], [b!], true)).rejects.toThrow();
  });
});
