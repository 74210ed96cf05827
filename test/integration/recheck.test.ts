/**
 * recheckPlan on the real PostgreSQL store: a plan held for approval, then the store moves on
 * (an admin, another application, another run), then the plan is approved. Changes whose premise
 * no longer holds are dropped and counted; the rest are applied.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DirectoryUser } from '../../src/domain/types.ts';
import type { Store } from '../../src/store/db.ts';
import { decideMapping } from '../../src/store/mappings.ts';
import { loadLinks } from '../../src/store/sync-state.ts';
import { unlinkLink } from '../../src/store/links.ts';
import { recheckPlan } from '../../src/sync/recheck.ts';
import type { SyncPlan } from '../../src/sync/plan.ts';
import { openTestStore } from '../support/app.ts';
import { group, pairs, snapshot, user } from '../support/plan-state.ts';
import { select } from '../support/store-reads.ts';
import { applyAs, planAgainst, planOptions, syncSnapshot } from '../support/sync-store.ts';

let store: Store;
beforeAll(async () => {
  store = await openTestStore('postgres');
});
afterAll(() => store?.close());

let n = 0;
/** A connection of its own per case, its directory users and groups named after it. */
function fixture() {
  const c = `rc${++n}`;
  const u = (id: string, fields: Partial<DirectoryUser> = {}) => user(`${c}-${id}`, fields);
  const alice = u('alice');
  const bob = u('bob');
  const apps = (members: DirectoryUser[]) => group(`${c}-g1`, `${c}-apps`, members.map((m) => m.id));
  const ops = (members: DirectoryUser[]) => group(`${c}-g2`, `${c}-ops`, members.map((m) => m.id));
  return { c, u, alice, bob, apps, ops, options: planOptions(c) };
}

const run = (text: string) => select(store, text);
const localId = async (login: string) => (await run(`select id from local_users where login = '${login}'`)).map((r) => r.id as number)[0]!;
const groupId = async (name: string) => (await run(`select id from local_groups where name = '${name}'`)).map((r) => r.id as number)[0]!;
const linkId = async (c: string, directoryId: string) => (await run(`select id from group_links where connection = '${c}' and directory_id = '${directoryId}'`)).map((r) => r.id as number)[0]!;

async function recheck(plan: SyncPlan, connection: string) {
  return recheckPlan(store.db, plan, await loadLinks(store.db, connection), 'mail');
}

describe('recheckPlan: a held plan whose store moved on', () => {
  it('keeps every change when nothing moved', async () => {
    const { alice, bob, apps, ops, options } = fixture();
    await syncSnapshot(store, snapshot([apps([alice]), ops([bob])], [alice, bob]), options);
    const held = await planAgainst(store, snapshot([apps([alice, bob])], [alice, bob]), options);
    const { plan, dropped } = await recheck(held, options.connection);
    expect(dropped).toBe(0);
    expect(plan).toEqual(held);
  });

  it('drops the deactivation of a user deactivated meanwhile', async () => {
    const { c, alice, bob, apps, options } = fixture();
    await syncSnapshot(store, snapshot([apps([alice, bob])], [alice, bob]), options);
    const held = await planAgainst(store, snapshot([apps([bob])], [bob]), options);
    expect(held.users.deactivate.map((d) => d.directoryId)).toEqual([alice.id]);
    await run(`update local_users set active = false where login = '${alice.login}'`);
    const { plan, dropped } = await recheck(held, c);
    expect(dropped).toBe(1);
    expect(plan.users.deactivate).toEqual([]);
    // the membership removal stands: it is still true that alice left the group
    expect(pairs(plan.memberships.removeGroup, plan.memberships.removeUser)).toEqual([`${await groupId(`${c}-apps`)}:${await localId(alice.login!)}`]);
  });

  it.each([
    { what: 'remapped by an admin to another local user', status: 'mapped' as const, other: true },
    { what: 'ignored by an admin', status: 'ignored' as const, other: false },
  ])('drops the deactivation of a user $what meanwhile', async ({ status, other }) => {
    const { c, u, alice, bob, apps, options } = fixture();
    const spare = u('spare');
    await syncSnapshot(store, snapshot([apps([alice, bob, spare])], [alice, bob, spare]), options);
    await syncSnapshot(store, snapshot([apps([alice, bob])], [alice, bob]), options); // spare's local user is free again
    const held = await planAgainst(store, snapshot([apps([bob])], [bob]), options);
    expect(held.users.deactivate).toHaveLength(1);
    const target = other ? await localId(spare.login!) : null;
    await decideMapping(store.db, { connection: c, directoryId: alice.id }, { status, localUserId: target, reason: null }, 'admin', new Date());
    const { plan, dropped } = await recheck(held, c);
    expect(dropped).toBe(1);
    expect(plan.users.deactivate).toEqual([]);
  });

  it('drops the deletion of a group an admin unlinked meanwhile; its local group stays', async () => {
    const { c, alice, bob, apps, ops, options } = fixture();
    await syncSnapshot(store, snapshot([apps([alice]), ops([bob])], [alice, bob]), options);
    const held = await planAgainst(store, snapshot([apps([alice, bob])], [alice, bob]), options);
    expect(held.groups.delete.map((d) => d.name)).toEqual([`${c}-ops`]);
    await unlinkLink(store.db, await linkId(c, `${c}-g2`), new Date());
    const { plan, dropped } = await recheck(held, c);
    expect(dropped).toBe(1);
    expect(plan.groups.delete).toEqual([]);
    await applyAs(store, plan);
    expect(await run(`select name from local_groups where name = '${c}-ops'`)).toHaveLength(1);
  });

  it('drops the deletion of a group whose link now points at another local group', async () => {
    const { c, alice, bob, apps, ops, options } = fixture();
    await syncSnapshot(store, snapshot([apps([alice]), ops([bob])], [alice, bob]), options);
    const held = await planAgainst(store, snapshot([apps([alice])], [alice]), options);
    await run(`delete from local_groups where name = '${c}-ops'`); // the link's local group is set to null
    const { plan, dropped } = await recheck(held, c);
    expect(dropped).toBe(1);
    expect(plan.groups.delete).toEqual([]);
  });

  it('drops a membership to add whose local group was deleted meanwhile, and one whose local user was', async () => {
    const { c, u, alice, bob, apps, ops, options } = fixture();
    const carol = u('carol');
    await syncSnapshot(store, snapshot([apps([alice]), ops([carol])], [alice, bob, carol]), options);
    await syncSnapshot(store, snapshot([apps([alice]), ops([bob, carol])], [alice, bob, carol]), options);
    const held = await planAgainst(store, snapshot([apps([alice, bob, carol]), ops([bob, carol, alice])], [alice, bob, carol]), options);
    expect(held.memberships.addGroup).toHaveLength(3);
    await run(`delete from local_groups where name = '${c}-apps'`);
    const bobId = await localId(bob.login!);
    await run(`delete from local_users where id = ${bobId}`);
    const { plan, dropped } = await recheck(held, c);
    // apps+bob and apps+carol (group gone), none for bob elsewhere; ops+alice stays
    expect(dropped).toBe(2);
    expect(pairs(plan.memberships.addGroup, plan.memberships.addUser)).toEqual([`${await groupId(`${c}-ops`)}:${await localId(alice.login!)}`]);
  });

  it('leaves out a membership to remove that is already gone (done, not dropped): the run counts what the store loses', async () => {
    const { c, alice, bob, apps, options } = fixture();
    await syncSnapshot(store, snapshot([apps([alice, bob])], [alice, bob]), options);
    const held = await planAgainst(store, snapshot([apps([alice])], [alice, bob]), options);
    expect(held.memberships.removeGroup).toHaveLength(1);
    await run(`delete from memberships where user_id = ${await localId(bob.login!)}`);
    const { plan, dropped } = await recheck(held, c);
    expect(dropped).toBe(0);
    expect(plan.memberships.removeGroup).toEqual([]);
    await applyAs(store, plan);
    const members = await run(`select u.login from memberships m join local_users u on u.id = m.user_id where m.group_id = ${await groupId(`${c}-apps`)}`);
    expect(members.map((r) => r.login)).toEqual([alice.login]);
  });

  it('drops the creation of a user mapped by an admin meanwhile, with its memberships', async () => {
    const { c, u, alice, apps, options } = fixture();
    const dave = u('dave');
    await syncSnapshot(store, snapshot([apps([alice])], [alice]), options);
    await syncSnapshot(store, snapshot([apps([alice, dave])], [alice, dave]), { ...options, createUsers: false }); // dave: unmapped
    const held = await planAgainst(store, snapshot([apps([alice, dave])], [alice, dave]), options);
    expect(held.users.create.map((x) => x.directoryId)).toEqual([dave.id]);
    await run(`insert into local_users (login, mail) values ('dave-local', 'other-${dave.mail}')`);
    await decideMapping(store.db, { connection: c, directoryId: dave.id }, { status: 'mapped', localUserId: await localId('dave-local'), reason: null }, 'admin', new Date());
    const { plan, dropped } = await recheck(held, c);
    expect(dropped).toBe(2);
    expect(plan.users.create).toEqual([]);
    expect(plan.memberships.addGroup).toEqual([]);
  });

  it('drops the creation of a user whose match key a local user created meanwhile has, with its memberships', async () => {
    const { c, u, alice, apps, options } = fixture();
    const dave = u('dave');
    await syncSnapshot(store, snapshot([apps([alice])], [alice]), options);
    const held = await planAgainst(store, snapshot([apps([alice, dave])], [alice, dave]), options);
    expect(held.users.create.map((x) => x.directoryId)).toEqual([dave.id]);
    await run(`insert into local_users (login, mail) values ('dave-elsewhere', '${dave.mail!.toUpperCase()}')`);
    const { plan, dropped } = await recheck(held, c);
    expect(dropped).toBe(2);
    expect(plan.users.create).toEqual([]);
    expect(plan.memberships.addUser).toEqual([]);
    // the next sync maps dave to that local user rather than making a second account
    const next = await planAgainst(store, snapshot([apps([alice, dave])], [alice, dave]), options);
    expect(next.users.map.map((m) => [m.directoryId, m.localUserId])).toEqual([[dave.id, await localId('dave-elsewhere')]]);
  });

  it('drops the creation of a group whose name a local group took meanwhile, with its memberships', async () => {
    const { c, alice, bob, apps, ops, options } = fixture();
    await syncSnapshot(store, snapshot([apps([alice])], [alice]), options);
    const held = await planAgainst(store, snapshot([apps([alice]), ops([alice, bob])], [alice, bob]), options);
    expect(held.groups.create.map((g) => g.name)).toEqual([`${c}-ops`]);
    await run(`insert into local_groups (name) values ('${c.toUpperCase()}-OPS')`);
    const { plan, dropped } = await recheck(held, c);
    expect(dropped).toBe(3); // the group and its two memberships
    expect(plan.groups.create).toEqual([]);
    expect(plan.memberships.addGroup).toEqual([]);
    expect(plan.users.create.map((x) => x.directoryId)).toEqual([bob.id]);
  });
});
