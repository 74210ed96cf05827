/** store/memberships.ts on the real PostgreSQL server: membership of linked groups, as chat access and "ignore" see it. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addMemberships, allocateIds, insertGroupLinks, insertLocalGroups, insertLocalUsers, upsertMappings } from '../../src/store/apply.ts';
import type { Store } from '../../src/store/db.ts';
import { isMemberOfLinkedGroup, removeFromLinkedGroups } from '../../src/store/memberships.ts';
import { ensureConnection } from '../../src/store/runs.ts';
import { withTransaction } from '../../src/store/transaction.ts';
import { openTestStore } from '../support/app.ts';
import { select } from '../support/store-reads.ts';

let store: Store;
let users: number[];
let groups: number[];

async function linkGroups(connection: string, names: string[]): Promise<number[]> {
  const ids = await allocateIds(store.db, 'local_groups', names.length);
  const fields = names.map((n) => ({ directoryId: `g-${n}`, dn: `cn=${n},dc=x`, name: n, description: null, kind: 'group' as const, origin: 'scope' as const }));
  await withTransaction(store.db, async (tx) => {
    await insertLocalGroups(tx, ids, fields);
    await insertGroupLinks(tx, connection, new Date(), fields, new Map(fields.map((f, k) => [f.directoryId, ids[k]!])));
  });
  return ids;
}

beforeAll(async () => {
  store = await openTestStore('postgres');
  await ensureConnection(store.db, 'corp', 'entra');
  await ensureConnection(store.db, 'other', 'ldap');
  users = await allocateIds(store.db, 'local_users', 2);
  await insertLocalUsers(store.db, 'corp', users, [{ login: 'ann', mail: 'ann@x.test', displayName: null, active: true }, { login: 'bob', mail: null, displayName: null, active: true }], {});
  groups = [...(await linkGroups('corp', ['Admins', 'Staff'])), ...(await linkGroups('other', ['Elsewhere']))];
  await upsertMappings(store.db, 'corp', [
    { directoryId: 'aad-ann', dn: null, login: 'ann', mail: 'Ann@X.test', displayName: null, enabled: true, status: 'mapped', localUserId: users[0]!, candidates: [], reason: null, inScope: true },
    { directoryId: 'aad-bob', dn: null, login: 'bob', mail: 'bob@x.test', displayName: null, enabled: false, status: 'mapped', localUserId: users[1]!, candidates: [], reason: null, inScope: true },
  ]);
  await addMemberships(store.db, [groups[0]!, groups[1]!, groups[2]!, groups[0]!], [users[0]!, users[0]!, users[0]!, users[1]!], true);
});
afterAll(() => store?.close());

describe('isMemberOfLinkedGroup', () => {
  it('by object id or mail, with the group by name, DN or directory id, in any case', async () => {
    const ask = (over: Partial<Parameters<typeof isMemberOfLinkedGroup>[1]>) => isMemberOfLinkedGroup(store.db, { connection: 'CORP', group: 'admins', directoryId: null, mail: null, ...over });
    expect(await ask({ directoryId: 'aad-ann' })).toBe(true);
    expect(await ask({ mail: 'ann@x.test' })).toBe(true);
    expect(await ask({ mail: 'ANN', group: 'CN=ADMINS,DC=X' })).toBe(true);
    expect(await ask({ directoryId: 'aad-ann', group: 'g-Staff' })).toBe(true);
    expect(await ask({ directoryId: 'aad-nobody', mail: '' })).toBe(false);
    expect(await ask({ mail: null })).toBe(false);
  });

  it('not for a disabled user, nor for a group of another connection', async () => {
    expect(await isMemberOfLinkedGroup(store.db, { connection: 'corp', group: 'Admins', directoryId: 'aad-bob', mail: null })).toBe(false);
    expect(await isMemberOfLinkedGroup(store.db, { connection: 'corp', group: 'Elsewhere', directoryId: 'aad-ann', mail: null })).toBe(false);
  });
});

describe('removeFromLinkedGroups', () => {
  it("removes a user from the connection's active linked groups only, and counts them", async () => {
    expect(await removeFromLinkedGroups(store.db, users[0]!, 'corp')).toBe(2);
    const left = await select<{ group_id: number; user_id: number }>(store, `select group_id, user_id from memberships order by group_id, user_id`);
    expect(left).toEqual([{ group_id: groups[0], user_id: users[1] }, { group_id: groups[2], user_id: users[0] }].sort((a, b) => a.group_id! - b.group_id!));
    expect(await removeFromLinkedGroups(store.db, users[0]!, 'corp')).toBe(0);
  });
});
