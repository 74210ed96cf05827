/** The groups step of the planner, case by case: (snapshot groups, store state) → group changes and member targets. */
import { describe, expect, it } from 'vitest';
import type { DirectoryGroup } from '../../src/domain/types.ts';
import { planGroups } from '../../src/sync/plan/groups.ts';
import type { PlanOptions } from '../../src/sync/plan.ts';
import { OPTIONS, type StateInput, group, linkOf, snapshot, state } from '../support/plan-state.ts';

const apps = group('g1', 'app-users', ['alice']);
const ops = group('g2', 'ops', ['bob']);
const renamed = { ...apps, name: 'app-people' };

interface Row {
  what: string;
  groups: DirectoryGroup[];
  state: StateInput;
  options?: Partial<PlanOptions>;
  held?: string[];
  create?: string[];
  update?: Array<[number, string]>;
  delete?: Array<[number, number]>;
  duplicates?: Array<[string, number | string]>;
  relink?: number[];
  skipped?: string[];
  target?: Array<[string, number | string]>;
}

const rows: Row[] = [
  { what: 'a new group is created; its members go to it by directory id', groups: [apps], state: {}, create: ['g1'], target: [['g1', 'g1']] },
  {
    what: 'a new group named like a local group is a duplicate, not synced',
    groups: [apps],
    state: { localGroups: [{ id: 7, name: 'App-Users', linked: false }] },
    duplicates: [['g1', 7]],
  },
  {
    what: 'two new groups with one name: the first is created, the second is its duplicate',
    groups: [apps, { ...ops, name: 'APP-USERS' }],
    state: {},
    create: ['g1'],
    duplicates: [['g2', 'g1']],
    target: [['g1', 'g1']],
  },
  { what: 'a pending duplicate is not synced until an admin links it', groups: [apps], state: { duplicates: [['g1', 'pending', 7]] } },
  { what: 'an ignored duplicate is not synced', groups: [apps], state: { duplicates: [['g1', 'ignored', 7]] } },
  { what: 'a group an admin unlinked is not linked again', groups: [apps], state: { unlinked: ['g1'] } },
  { what: 'a group listed twice is planned once', groups: [apps, apps], state: {}, create: ['g1'], target: [['g1', 'g1']] },
  { what: 'a linked group unchanged: nothing to write, members to its local group', groups: [apps], state: { links: [linkOf(1, apps, 10)] }, target: [['g1', 10]] },
  {
    what: 'a linked group renamed: updated',
    groups: [renamed],
    state: { links: [linkOf(1, apps, 10)] },
    update: [[1, 'app-people']],
    target: [['g1', 10]],
  },
  {
    what: 'a linked group whose description or DN changed: updated',
    groups: [{ ...apps, description: null, dn: 'cn=app-users,ou=moved,dc=example,dc=org' }],
    state: { links: [linkOf(1, apps, 10)] },
    update: [[1, 'app-users']],
    target: [['g1', 10]],
  },
  {
    what: 'a linked group renamed to the name of another local group: skipped, members still synced',
    groups: [renamed],
    state: { links: [linkOf(1, apps, 10)], localGroups: [{ id: 11, name: 'app-people', linked: false }] },
    skipped: ['cannot rename local group "app-users" to "app-people": another local group has that name'],
    target: [['g1', 10]],
  },
  {
    what: 'a linked group renamed to the name a group created in this run takes: skipped',
    groups: [{ ...ops, name: 'app-people' }, renamed],
    state: { links: [linkOf(1, apps, 10)] },
    create: ['g2'],
    skipped: ['cannot rename local group "app-users" to "app-people": another local group has that name'],
    target: [['g2', 'g2'], ['g1', 10]],
  },
  {
    what: 'two linked groups renamed to one new name: the first is renamed, the second skipped (both would break the unique name)',
    groups: [renamed, { ...ops, name: 'App-People' }],
    state: { links: [linkOf(1, apps, 10), linkOf(2, ops, 11)] },
    update: [[1, 'app-people']],
    skipped: ['cannot rename local group "ops" to "App-People": another local group has that name'],
    target: [['g1', 10], ['g2', 11]],
  },
  {
    what: 'a new group named as a linked group is renamed in this run: a duplicate of that local group',
    groups: [renamed, group('g3', 'app-people', ['carol'])],
    state: { links: [linkOf(1, apps, 10)] },
    update: [[1, 'app-people']],
    duplicates: [['g3', 10]],
    target: [['g1', 10]],
  },
  {
    what: 'a linked group renamed in letter case only, its own local group holding the name: updated',
    groups: [{ ...apps, name: 'App-Users' }],
    state: { links: [linkOf(1, apps, 10)], localGroups: [{ id: 10, name: 'app-users', linked: true }] },
    update: [[1, 'App-Users']],
    target: [['g1', 10]],
  },
  { what: 'a link whose local group vanished: relinked to a new local group', groups: [apps], state: { links: [linkOf(1, apps, null)] }, relink: [1], target: [['g1', 'g1']] },
  {
    what: 'a link whose local group vanished, its name now taken: a duplicate',
    groups: [apps],
    state: { links: [linkOf(1, apps, null)], localGroups: [{ id: 7, name: 'app-users', linked: false }] },
    duplicates: [['g1', 7]],
  },
  { what: 'a link whose local group vanished, pending as a duplicate: not synced', groups: [apps], state: { links: [linkOf(1, apps, null)], duplicates: [['g1', 'pending', 7]] } },
  {
    what: 'a linked group that left the scope: deleted with its members counted',
    groups: [],
    state: { links: [linkOf(1, apps, 10)], memberships: { 10: [100, 101] } },
    delete: [[1, 2]],
  },
  { what: 'a link without local group that left the scope: deleted, no members', groups: [], state: { links: [linkOf(1, apps, null)] }, delete: [[1, 0]] },
  { what: 'a group held (reached through a skipped group) is not deleted', groups: [], state: { links: [linkOf(1, apps, 10)] }, held: ['g1'] },
  { what: 'a read of selected groups deletes nothing', groups: [], state: { links: [linkOf(1, apps, 10)] }, options: { partialScope: true } },
  {
    what: 'a new group found by reference takes the kind chosen for it and the manual origin',
    groups: [apps],
    state: {},
    options: { kindOf: new Map([['g1', 'security']]), manualIds: new Set(['g1']) },
    create: ['g1:security:manual'],
    target: [['g1', 'g1']],
  },
];

describe('planGroups', () => {
  it.each(rows)('$what', (row) => {
    const part = planGroups(snapshot(row.groups, []), state(row.state), { ...OPTIONS, ...row.options }, new Set(row.held ?? []));
    const { create, update, delete: del, duplicates, relink } = part.groups;
    const created = create.map((g) => (row.options?.kindOf ? `${g.directoryId}:${g.kind}:${g.origin}` : g.directoryId));
    expect(created).toEqual(row.create ?? []);
    expect(update.map((u) => [u.linkId, u.after.name])).toEqual(row.update ?? []);
    expect(del.map((d) => [d.linkId, d.members])).toEqual(row.delete ?? []);
    expect(duplicates.map((d) => [d.directoryId, d.localGroupId])).toEqual(row.duplicates ?? []);
    expect(relink.map((r) => r.linkId)).toEqual(row.relink ?? []);
    expect(part.skipped.map((s) => s.reason)).toEqual(row.skipped ?? []);
    expect([...part.target]).toEqual(row.target ?? []);
  });
});
