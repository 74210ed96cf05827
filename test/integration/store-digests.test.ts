/**
 * store/digests.ts on the real PostgreSQL server: the user digests of a first sync are copied
 * (their mapping rows are new in the same transaction) and equal what the upsert stores; users
 * who had a mapping row before go through the upsert; no digest outlives its row.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DirectorySnapshot, DirectoryUser } from '../../src/domain/types.ts';
import type { Store } from '../../src/store/db.ts';
import { digestsFor } from '../../src/sync/plan/digest.ts';
import { openTestStore } from '../support/app.ts';
import { select } from '../support/store-reads.ts';
import { planAgainst, planOptions, syncSnapshot, syncWithDigests } from '../support/sync-store.ts';

let store: Store;
beforeAll(async () => {
  store = await openTestStore('postgres');
});
afterAll(() => store?.close());

function snapshotOf(c: string, n: number): DirectorySnapshot {
  const users: DirectoryUser[] = Array.from({ length: n }, (_, k) => ({
    id: `${c}-u${k}`,
    dn: `uid=${c}-u${k},ou=people,dc=x`,
    login: `${c}-u${k}`,
    mail: `${c}-u${k}@x.test`,
    displayName: `User ${k}`,
    enabled: k % 5 !== 0,
  }));
  const groups = [0, 1, 2].map((g) => ({ id: `${c}-g${g}`, dn: `cn=${c}-g${g},dc=x`, name: `${c}-g${g}`, description: null, memberIds: users.filter((_, k) => k % 3 === g).map((u) => u.id) }));
  return { vendor: 'openldap', groups, users, skipped: [], certificate: null };
}

/** The user digests stored for connection `c`, by directory id. */
async function storedDigests(c: string): Promise<Record<string, string>> {
  const rows = await select<{ id: string; d: string }>(store, `select directory_id as id, digest as d from user_digests where connection = '${c}' order by 1`);
  return Object.fromEntries(rows.map((r) => [r.id, r.d]));
}

const expected = (snapshot: DirectorySnapshot) => Object.fromEntries([...digestsFor(snapshot, false)!.users].sort(([a], [b]) => (a < b ? -1 : 1)));

describe('saveDigests', () => {
  it("a first sync's user digests (copied) are the snapshot's, one per mapped user", async () => {
    const snapshot = snapshotOf('first', 40);
    await syncWithDigests(store, snapshot, planOptions('first'));
    expect(await storedDigests('first')).toEqual(expected(snapshot));
  });

  it('users whose mapping row existed before (unmapped until now) get theirs through the upsert, with the new ones copied', async () => {
    const snapshot = snapshotOf('known', 30);
    // The first half read before, without creating users: their mapping rows are unmapped, without digests.
    const before = { ...snapshot, users: snapshot.users.slice(0, 15), groups: snapshot.groups.map((g) => ({ ...g, memberIds: g.memberIds.filter((id) => Number(id.split('-u')[1]) < 15) })) };
    await syncSnapshot(store, before, planOptions('known', { createUsers: false }));
    expect(await storedDigests('known')).toEqual({});
    const { plan } = await syncWithDigests(store, snapshot, planOptions('known'));
    expect(plan.users.create.filter((u) => u.known)).toHaveLength(15);
    expect(await storedDigests('known')).toEqual(expected(snapshot));
  });

  it('a digest goes with its row: a mapping deleted or given another key, a link deleted, the connection removed (cascade), a table truncated', async () => {
    const snapshot = snapshotOf('gone', 6);
    await syncWithDigests(store, snapshot, planOptions('gone'));
    const groupDigests = async () => (await select<{ n: number }>(store, `select count(*)::int as n from group_digests d join group_links l on l.id = d.link_id where l.connection = 'gone'`))[0]!.n;
    const allGroupDigests = async () => (await select<{ n: number }>(store, `select count(*)::int as n from group_digests`))[0]!.n;
    expect(Object.keys(await storedDigests('gone'))).toHaveLength(6);
    expect(await groupDigests()).toBe(3);
    await store.db.execute(sql`delete from mappings where connection = 'gone' and directory_id = 'gone-u1'`);
    await store.db.execute(sql`update mappings set directory_id = 'gone-x2' where connection = 'gone' and directory_id = 'gone-u2'`);
    expect(Object.keys(await storedDigests('gone'))).toEqual(['gone-u0', 'gone-u3', 'gone-u4', 'gone-u5']);
    const before = await allGroupDigests();
    await store.db.execute(sql`delete from group_links where connection = 'gone' and directory_id = 'gone-g0'`);
    expect(await groupDigests()).toBe(2);
    expect(await allGroupDigests()).toBe(before - 1);
    await store.db.execute(sql`delete from connections where name = 'gone'`);
    expect(await storedDigests('gone')).toEqual({});
    expect(await allGroupDigests()).toBe(before - 3);
    const snapshot2 = snapshotOf('truncated', 3);
    await syncWithDigests(store, snapshot2, planOptions('truncated'));
    await store.db.execute(sql`truncate mappings, group_links cascade`);
    expect(await select(store, `select * from user_digests`)).toEqual([]);
    expect(await allGroupDigests()).toBe(0);
  });

  it("a link given another id takes no digest along, so a link re-keyed onto a freed id is not vouched for by the old link's digest", async () => {
    const c = 'rekeyed';
    const snapshot = snapshotOf(c, 9);
    await syncWithDigests(store, snapshot, planOptions(c));
    const linkId = async (g: string) => (await select<{ id: number }>(store, `select id from group_links where connection = '${c}' and directory_id = '${c}-g${g}'`))[0]!.id;
    const [g0, g1] = [await linkId('0'), await linkId('1')];
    // Another application gives g1's link another id, then gives g0's link the id g1's had.
    await store.db.execute(sql.raw(`update group_links set id = ${g1 + 1000} where id = ${g1}`));
    await store.db.execute(sql.raw(`update group_links set id = ${g1} where id = ${g0}`));
    const orphans = await select(store, `select d.link_id from group_digests d where not exists (select 1 from group_links l where l.id = d.link_id)`);
    expect(orphans).toEqual([]);
    expect(await select(store, `select link_id from group_digests where link_id in (${g1}, ${g1 + 1000})`)).toEqual([]);
    // In the directory, g0 now has g1's members: its plan must move its local group's memberships.
    const moved = { ...snapshot, groups: snapshot.groups.map((g) => (g.id === `${c}-g0` ? { ...g, memberIds: snapshot.groups[1]!.memberIds } : g)) };
    const expected = await planAgainst(store, moved, planOptions(c));
    expect(expected.memberships.addGroup.length).toBeGreaterThan(0);
    const { plan } = await syncWithDigests(store, moved, planOptions(c));
    expect(plan.memberships).toEqual(expected.memberships);
  });
});
