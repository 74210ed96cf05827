/**
 * The steps of applying a plan (sync/apply-*.ts), each against the real PostgreSQL store: what
 * rows it leaves and what the audit log says, case by case.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/db.ts';
import { createRun, ensureConnection } from '../../src/store/runs.ts';
import { withTransaction } from '../../src/store/transaction.ts';
import { ApplyAudit } from '../../src/sync/apply-audit.ts';
import { applyGroups } from '../../src/sync/apply-groups.ts';
import { applyMemberships } from '../../src/sync/apply-memberships.ts';
import { applyMappings, applyUsers } from '../../src/sync/apply-users.ts';
import type { GroupFields, Ref, SyncPlan, UserFields } from '../../src/sync/plan.ts';
import { openTestStore } from '../support/app.ts';
import { select } from '../support/store-reads.ts';

let store: Store;
let runId: number;
const NOW = new Date('2026-01-02T03:04:05Z');
beforeAll(async () => {
  store = await openTestStore('postgres');
  await ensureConnection(store.db, 'corp', 'ldap');
  runId = (await createRun(store.db, { connection: 'corp', trigger: 'manual', actor: 'test', dryRun: false, kindFilter: null, groupFilter: [], startedAt: NOW })).id;
});
afterAll(() => store?.close());

let seq = 0;
const group = (name = `g${++seq}`): GroupFields => ({ directoryId: `dir-${name}`, dn: null, name, description: null, kind: 'group', origin: 'scope' });
const user = (login = `u${++seq}`): UserFields & { known: boolean } => ({ directoryId: `dir-${login}`, dn: null, login, mail: `${login}@x.test`, displayName: null, enabled: true, known: false });

function plan(parts: { groups?: Partial<SyncPlan['groups']>; users?: Partial<SyncPlan['users']>; memberships?: Partial<SyncPlan['memberships']> } = {}): SyncPlan {
  return {
    connection: 'corp',
    groups: { create: [], update: [], delete: [], duplicates: [], relink: [], ...parts.groups },
    users: { create: [], map: [], update: [], conflicts: [], unmapped: [], deactivate: [], refresh: [], ignored: 0, ...parts.users },
    memberships: { addGroup: [], addUser: [], removeGroup: [], removeUser: [], ...parts.memberships },
    skipped: [],
    objectCount: 0,
    membershipCount: 0,
  } as SyncPlan;
}

/** Groups and users of `p` created in one transaction, then its memberships; returns the audit entries. */
async function applyAll(p: SyncPlan, options: { bulk?: boolean; limit?: number } = {}) {
  const audit = new ApplyAudit(p, runId, options.limit);
  const ids = await withTransaction(store.db, async (tx) => {
    const newGroupId = await applyGroups(tx, p, runId, NOW, audit);
    // Loads of two rows or more go without per-row checks (store/bulk-load.ts) when bulk.
    const load = { bulk: options.bulk ?? true, options: { minRows: 2 } };
    const newUserId = await applyUsers(tx, p, runId, { active: true, attributes: {} }, audit, load);
    await applyMappings(tx, p, load.bulk, newUserId, audit);
    await applyMemberships(tx, p, { bulk: load.bulk, newGroupId, newUserId, load: load.options }, audit);
    return { newGroupId, newUserId };
  });
  return { ...ids, entries: audit.entries() };
}

const members = async (groupId: number) =>
  (await select<{ user_id: number }>(store, `select user_id from memberships where group_id = ${groupId} order by user_id`)).map((r) => r.user_id);

describe('applyGroups and applyUsers', () => {
  it.each([
    { name: 'a few creations: one entry each', limit: 10, actions: ['group.created', 'user.created', 'user.created', 'group.members_changed'] },
    { name: 'more than the limit: one summary entry', limit: 2, actions: ['run.bulk_created'] },
  ])('$name; the created rows name the run', async ({ limit, actions }) => {
    const g = group();
    const [a, b] = [user(), user()];
    const p = plan({ groups: { create: [g] }, users: { create: [a, b] }, memberships: { addGroup: [g.directoryId, g.directoryId], addUser: [a.directoryId, b.directoryId] } });
    const { newGroupId, newUserId, entries } = await applyAll(p, { limit });
    expect(entries.map((e) => e.action)).toEqual(actions);
    const gid = newGroupId.get(g.directoryId)!;
    expect(await members(gid)).toEqual([newUserId.get(a.directoryId)!, newUserId.get(b.directoryId)!].sort((x, y) => x - y));
    const created = await select<{ n: number }>(store, `select (select count(*) from local_users where created_run_id = ${runId} and id in (${[...newUserId.values()].join(',')}))::int
                                                       + (select count(*) from local_groups where created_run_id = ${runId} and id = ${gid})::int as n`);
    expect(created[0]!.n).toBe(3);
    if (actions[0] === 'run.bulk_created') expect(entries[0]!.after).toEqual({ users: 2, groups: 1, memberships: 2, createdRunId: runId });
  });
});

describe('applyUsers: created users', () => {
  it.each([
    { name: 'entered one by one', limit: 10, defaultActive: true },
    { name: 'counted in the summary', limit: 1, defaultActive: true },
    { name: 'created inactive by the connection defaults', limit: 1, defaultActive: false },
  ])('$name: active when enabled in the directory and the defaults say so, with their values', async ({ limit, defaultActive }) => {
    const on = user();
    const off = { ...user(), enabled: false, displayName: 'Off Line' };
    const p = plan({ users: { create: [on, off] } });
    const audit = new ApplyAudit(p, runId, limit);
    const newUserId = await withTransaction(store.db, (tx) => applyUsers(tx, p, runId, { active: defaultActive, attributes: { dept: 'R&D' } }, audit, { bulk: true, options: { minRows: 1 } }));
    const rows = await select<{ login: string; mail: string; display_name: string | null; active: boolean; attributes: unknown }>(
      store,
      `select login, mail, display_name, active, attributes from local_users where id in (${[...newUserId.values()].join(',')}) order by login`,
    );
    expect(rows).toEqual([
      { login: on.login, mail: on.mail, display_name: null, active: defaultActive, attributes: { dept: 'R&D' } },
      { login: off.login, mail: off.mail, display_name: 'Off Line', active: false, attributes: { dept: 'R&D' } },
    ].sort((x, y) => x.login!.localeCompare(y.login!)));
    const entries = audit.entries();
    if (limit === 1) expect(entries).toEqual([expect.objectContaining({ action: 'run.bulk_created', after: { users: 2, groups: 0, memberships: 0, createdRunId: runId } })]);
    else expect(entries.map((e) => [e.action, e.after])).toEqual([
      ['user.created', { directoryId: on.directoryId, dn: null, login: on.login, mail: on.mail, displayName: null, enabled: true }],
      ['user.created', { directoryId: off.directoryId, dn: null, login: off.login, mail: off.mail, displayName: 'Off Line', enabled: false }],
    ]);
  });
});

describe('applyMemberships', () => {
  it.each<{ name: string; bulk: boolean; summarize: boolean; expected: string[] }>([
    { name: 'a plan made now, per-object audit', bulk: true, summarize: false, expected: ['group.members_changed', 'group.members_changed'] },
    { name: 'a plan made now, summarized: the existing group keeps its entry', bulk: true, summarize: true, expected: ['run.bulk_created', 'group.members_changed'] },
    { name: 'a held plan: a pair added meanwhile is tolerated', bulk: false, summarize: false, expected: ['group.members_changed', 'group.members_changed'] },
  ])('$name', async ({ bulk, summarize, expected }) => {
    // An existing group with one member, then a plan adding a new user to it and creating a group with both.
    const old = group();
    const first = user();
    const seed = await applyAll(plan({ groups: { create: [old] }, users: { create: [first] }, memberships: { addGroup: [old.directoryId], addUser: [first.directoryId] } }));
    const oldId = seed.newGroupId.get(old.directoryId)!;
    const firstId = seed.newUserId.get(first.directoryId)!;
    const fresh = group();
    const second = user();
    const addGroup: Ref[] = [oldId, fresh.directoryId, fresh.directoryId];
    const addUser: Ref[] = [second.directoryId, firstId, second.directoryId];
    if (!bulk) [addGroup, addUser].forEach((list, k) => list.push(k === 0 ? oldId : firstId)); // already a member
    const p = plan({ groups: { create: [fresh] }, users: { create: [second] }, memberships: { addGroup, addUser } });
    const { newGroupId, newUserId, entries } = await applyAll(p, { bulk, limit: summarize ? 1 : 10 });
    const secondId = newUserId.get(second.directoryId)!;
    expect(await members(oldId)).toEqual([firstId, secondId]);
    expect(await members(newGroupId.get(fresh.directoryId)!)).toEqual([firstId, secondId]);
    expect(entries.filter((e) => e.action === 'group.members_changed' || e.action === 'run.bulk_created').map((e) => e.action)).toEqual(expected);
  });

  it('a reference to an object the plan does not create applies nothing', async () => {
    const g = group();
    const p = plan({ groups: { create: [g] }, memberships: { addGroup: [g.directoryId], addUser: ['dir-nobody'] } });
    await expect(applyAll(p)).rejects.toMatchObject({ code: 'INVALID_STATE' });
    expect(await select(store, `select 1 from local_groups where name = '${g.name}'`)).toEqual([]);
  });
});
