/** store/duplicates.ts on the real PostgreSQL server: the pending list, locking and resolving. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addMemberships, allocateIds, insertDuplicates, insertLocalGroups, insertLocalUsers } from '../../src/store/apply.ts';
import type { Store } from '../../src/store/db.ts';
import { listPendingDuplicates, lockDuplicate, resolveDuplicateRow } from '../../src/store/duplicates.ts';
import { ensureConnection } from '../../src/store/runs.ts';
import { withTransaction } from '../../src/store/transaction.ts';
import { openTestStore } from '../support/app.ts';

let store: Store;
let groupId: number;
beforeAll(async () => {
  store = await openTestStore('postgres');
  await ensureConnection(store.db, 'corp', 'ldap');
  [groupId] = (await allocateIds(store.db, 'local_groups', 1)) as [number];
  await insertLocalGroups(store.db, [groupId], [{ directoryId: 'x', dn: null, name: 'Sales', description: null, kind: 'group', origin: 'scope' }]);
  const users = await allocateIds(store.db, 'local_users', 2);
  await withTransaction(store.db, async (tx) => {
    await insertLocalUsers(tx, 'corp', users, users.map((_, k) => ({ login: `u${k}`, mail: null, displayName: null, active: true })), {});
    await addMemberships(tx, [groupId, groupId], users, true);
  });
  await insertDuplicates(store.db, 'corp', new Date('2025-01-01T00:00:00Z'), [
    { directoryId: 'd-sales', dn: 'cn=Sales,ou=b', name: 'Sales', localGroupId: groupId },
    { directoryId: 'd-gone', dn: null, name: 'Archive', localGroupId: null },
    { directoryId: 'd-ops', dn: null, name: 'Ops', localGroupId: null },
  ]);
});
afterAll(() => store?.close());

describe('listPendingDuplicates', () => {
  it('pages pending duplicates by name, with the local group, its members and the total', async () => {
    const page = await listPendingDuplicates(store.db, 'corp', 0, 2);
    expect(page.total).toBe(3);
    expect(page.items.map((d) => d.name)).toEqual(['Archive', 'Ops']);
    const rest = await listPendingDuplicates(store.db, 'corp', 2, 2);
    expect(rest.items).toEqual([
      { id: expect.any(Number), directoryId: 'd-sales', dn: 'cn=Sales,ou=b', name: 'Sales', localGroupId: groupId, localGroupName: 'Sales', localMembers: 2, owner: null, detectedAt: new Date('2025-01-01T00:00:00Z') },
    ]);
    expect(await listPendingDuplicates(store.db, 'nope', 0, 10)).toEqual({ items: [], total: 0 });
  });
});

describe('lockDuplicate and resolveDuplicateRow', () => {
  it('reads a duplicate under a lock and records who resolved it; it leaves the pending list', async () => {
    const [ops] = (await listPendingDuplicates(store.db, 'corp', 1, 1)).items;
    const now = new Date('2025-02-02T00:00:00Z');
    await withTransaction(store.db, async (tx) => {
      const row = await lockDuplicate(tx, ops!.id);
      expect(row).toMatchObject({ id: ops!.id, status: 'pending', name: 'Ops' });
      await resolveDuplicateRow(tx, ops!.id, 'ignored', 'cli:alice', now);
    });
    const after = await withTransaction(store.db, (tx) => lockDuplicate(tx, ops!.id));
    expect(after).toMatchObject({ status: 'ignored', resolvedBy: 'cli:alice', resolvedAt: now });
    expect((await listPendingDuplicates(store.db, 'corp', 0, 10)).total).toBe(2);
    expect(await withTransaction(store.db, (tx) => lockDuplicate(tx, 999_999))).toBeNull();
  });
});
