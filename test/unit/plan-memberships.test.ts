/** The memberships step of the planner, case by case: (member targets, current memberships) → adds and removals. */
import { describe, expect, it } from 'vitest';
import { planMemberships } from '../../src/sync/plan/memberships.ts';
import { MemberRefs } from '../../src/sync/plan/member-refs.ts';
import { group, pairs, snapshot, state, user } from '../support/plan-state.ts';

interface Row {
  what: string;
  /** Directory members of g1 (and g2 when given). */
  members: string[];
  members2?: string[];
  target: Array<[string, number | string]>;
  member: Array<[string, number | string]>;
  current?: Record<number, number[]>;
  kept?: number[];
  add?: string[];
  remove?: string[];
}

const rows: Row[] = [
  {
    what: 'a group created now: every member added, local users by id and users created now by directory id',
    members: ['alice', 'carol'],
    target: [['g1', 'g1']],
    member: [['alice', 10], ['carol', 'carol']],
    add: ['g1:10', 'g1:carol'],
  },
  { what: 'a linked group already equal: nothing', members: ['alice', 'bob'], target: [['g1', 5]], member: [['alice', 10], ['bob', 11]], current: { 5: [10, 11] } },
  { what: 'a member new in the directory: added', members: ['alice', 'bob'], target: [['g1', 5]], member: [['alice', 10], ['bob', 11]], current: { 5: [10] }, add: ['5:11'] },
  { what: 'a user created now joins a linked group', members: ['carol'], target: [['g1', 5]], member: [['carol', 'carol']], current: { 5: [] }, add: ['5:carol'] },
  { what: 'a member gone from the directory: removed', members: ['alice'], target: [['g1', 5]], member: [['alice', 10]], current: { 5: [10, 11] }, remove: ['5:11'] },
  { what: 'a member kept (skipped or held): not removed', members: ['alice'], target: [['g1', 5]], member: [['alice', 10]], current: { 5: [10, 11] }, kept: [11] },
  {
    what: 'a directory member with no local user (unmapped, conflict, ignored): not added, and removed if it was there',
    members: ['alice', 'bob'],
    target: [['g1', 5]],
    member: [['alice', 10]],
    current: { 5: [10, 11] },
    remove: ['5:11'],
  },
  { what: 'a group not synced (a duplicate): no membership change', members: ['alice'], target: [], member: [['alice', 10]], current: { 5: [] } },
  {
    what: 'one user in two groups: each group planned on its own',
    members: ['alice'],
    members2: ['alice', 'bob'],
    target: [['g1', 5], ['g2', 6]],
    member: [['alice', 10], ['bob', 11]],
    current: { 5: [10, 11], 6: [11] },
    add: ['6:10'],
    remove: ['5:11'],
  },
];

describe('planMemberships', () => {
  it.each(rows)('$what', (row) => {
    const groups = [group('g1', 'one', row.members), ...(row.members2 ? [group('g2', 'two', row.members2)] : [])];
    const users = [...new Set([...row.members, ...(row.members2 ?? []), ...row.member.map(([id]) => id)])].map((id) => user(id));
    const snap = snapshot(groups, users);
    const member = new MemberRefs(snap);
    for (const [id, ref] of row.member) member.set(id, ref);
    const out = planMemberships(snap, state({ memberships: row.current }), new Map(row.target), member, new Set(row.kept ?? []));
    expect(pairs(out.addGroup, out.addUser)).toEqual([...(row.add ?? [])].sort());
    expect(pairs(out.removeGroup, out.removeUser)).toEqual([...(row.remove ?? [])].sort());
  });
});
