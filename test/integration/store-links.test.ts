/** store/links.ts on the real PostgreSQL server: manual links, unlinking, relinking, ownership of local groups. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allocateIds, insertLocalGroups } from '../../src/store/apply.ts';
import type { Store } from '../../src/store/db.ts';
import { findLink, findLinkOfLocalGroup, insertManualLink, linkToLocalGroup, listActiveLinks, listManualLinkIds, markLinksSynced, relinkManually, unlinkLink } from '../../src/store/links.ts';
import { groupLinks } from '../../src/store/schema.ts';
import { ensureConnection } from '../../src/store/runs.ts';
import { openTestStore } from '../support/app.ts';

let store: Store;
beforeAll(async () => {
  store = await openTestStore('postgres');
  await ensureConnection(store.db, 'corp', 'ldap');
  await ensureConnection(store.db, 'other', 'entra');
  await ensureConnection(store.db, 'third', 'ldap');
});
afterAll(() => store?.close());

const now = new Date('2025-04-01T10:00:00Z');
const manual = (directoryId: string, connection = 'corp') => ({ connection, directoryId, dn: `cn=${directoryId},dc=x`, name: directoryId, description: null, kind: 'group' as const });

describe('manual links', () => {
  it('inserts a link without a local group, lists it as active, unlinks and relinks it', async () => {
    await insertManualLink(store.db, manual('sales'), now);
    const link = await findLink(store.db, 'corp', 'sales');
    expect(link).toMatchObject({ connection: 'corp', directoryId: 'sales', state: 'active', origin: 'manual', localGroupId: null, kind: 'group' });
    expect(link!.createdAt.toISOString()).toBe(now.toISOString());
    expect((await listActiveLinks(store.db, 'corp')).map((l) => l.directoryId)).toContain('sales');

    await unlinkLink(store.db, link!.id, now);
    expect((await findLink(store.db, 'corp', 'sales'))!.state).toBe('unlinked');
    expect((await listActiveLinks(store.db, 'corp')).map((l) => l.directoryId)).not.toContain('sales');

    await relinkManually(store.db, link!.id, 'security', new Date('2025-04-02T00:00:00Z'));
    expect(await findLink(store.db, 'corp', 'sales')).toMatchObject({ state: 'active', kind: 'security', origin: 'manual' });
  });

  it('finds nothing for an unknown group or another connection', async () => {
    expect(await findLink(store.db, 'corp', 'nope')).toBeNull();
    expect(await findLink(store.db, 'other', 'sales')).toBeNull();
    expect(await listActiveLinks(store.db, 'other')).toEqual([]);
  });
});

describe('listManualLinkIds (the groups a whole-scope sync reads besides its filter and list)', () => {
  it("lists the directory ids of the connection's active manual links in link order: not its scope links, its unlinked links or another connection's", async () => {
    await insertManualLink(store.db, manual('m-zeta', 'third'), now);
    await store.db.insert(groupLinks).values({ ...manual('s-scope', 'third'), origin: 'scope', createdAt: now });
    await insertManualLink(store.db, manual('m-alpha', 'third'), now);
    await insertManualLink(store.db, manual('m-gone', 'third'), now);
    await unlinkLink(store.db, (await findLink(store.db, 'third', 'm-gone'))!.id, now);
    await insertManualLink(store.db, manual('m-elsewhere', 'other'), now);
    expect(await listManualLinkIds(store.db, 'third')).toEqual(['m-zeta', 'm-alpha']);
  });
});

describe('links to an existing local group', () => {
  it('links a directory group to a local group, which is then owned; an unlinked link is reactivated', async () => {
    const [g] = await allocateIds(store.db, 'local_groups', 1);
    await insertLocalGroups(store.db, [g!], [{ directoryId: 'x', dn: null, name: 'Finance', description: null, kind: 'group', origin: 'scope' }]);
    expect(await findLinkOfLocalGroup(store.db, g!)).toBeNull();
    await linkToLocalGroup(store.db, { ...manual('finance', 'other'), localGroupId: g! }, now);
    expect(await findLinkOfLocalGroup(store.db, g!)).toMatchObject({ connection: 'other', directoryId: 'finance', origin: 'manual' });

    const link = (await findLink(store.db, 'other', 'finance'))!;
    await unlinkLink(store.db, link.id, now);
    expect(await findLinkOfLocalGroup(store.db, g!)).toBeNull();
    await linkToLocalGroup(store.db, { ...manual('finance', 'other'), localGroupId: g! }, now);
    const again = await findLink(store.db, 'other', 'finance');
    expect(again).toMatchObject({ id: link.id, state: 'active', localGroupId: g });
  });
});

describe('markLinksSynced', () => {
  it('sets the last sync time of the given links only', async () => {
    await insertManualLink(store.db, manual('ops'), now);
    await insertManualLink(store.db, manual('dev'), now);
    const ops = (await findLink(store.db, 'corp', 'ops'))!;
    const synced = new Date('2025-05-05T05:05:05Z');
    await markLinksSynced(store.db, [ops.id], synced);
    await markLinksSynced(store.db, [], synced);
    expect((await findLink(store.db, 'corp', 'ops'))!.lastSyncedAt?.toISOString()).toBe(synced.toISOString());
    expect((await findLink(store.db, 'corp', 'dev'))!.lastSyncedAt).toBeNull();
  });
});
