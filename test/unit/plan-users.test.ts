/** The users step of the planner, case by case: (members of synced groups, store state) → user changes and member refs. */
import { describe, expect, it } from 'vitest';
import type { DirectoryUser, SkippedEntry } from '../../src/domain/types.ts';
import { keptOf } from '../../src/sync/plan/kept.ts';
import { planUsers } from '../../src/sync/plan/users.ts';
import type { PlanOptions } from '../../src/sync/plan.ts';
import { OPTIONS, type StateInput, group, localOf, mappingOf, snapshot, state, user } from '../support/plan-state.ts';

const alice = user('alice');
const bob = user('bob');
const twin = user('twin', { mail: 'alice@example.org' });

interface Row {
  what: string;
  /** Members of the one synced group (default: every user listed). */
  users: DirectoryUser[];
  members?: string[];
  state: StateInput;
  options?: Partial<PlanOptions>;
  skippedEntries?: SkippedEntry[];
  held?: string[];
  create?: string[];
  map?: Array<[string, number]>;
  update?: number[];
  conflicts?: Array<[string, number[], boolean]>;
  unmapped?: Array<[string, boolean]>;
  deactivate?: number[];
  refresh?: Array<[string, boolean]>;
  ignored?: number;
  member?: Array<[string, number | string]>;
  skipped?: number;
}

const mappedAlice: StateInput = { mappings: [mappingOf(alice, 'mapped', 10)], localUsers: [localOf(10, alice)] };

const rows: Row[] = [
  { what: 'a new user with no local match is created', users: [alice], state: {}, create: ['alice'], member: [['alice', 'alice']] },
  { what: 'a new user with no match, creation off: unmapped', users: [alice], state: {}, options: { createUsers: false }, unmapped: [['alice', false]] },
  {
    what: 'an unmapped user recorded as such: unmapped, unchanged',
    users: [alice],
    state: { mappings: [mappingOf(alice, 'unmapped', null, { viaGroups: ['g1'] })] },
    options: { createUsers: false },
    unmapped: [['alice', true]],
  },
  { what: 'one local user with the key: mapped', users: [alice], state: { candidates: { 'alice@example.org': [10] }, localUsers: [localOf(10, alice)] }, map: [['alice', 10]], member: [['alice', 10]] },
  {
    what: 'one local user with the key and other values: mapped and updated',
    users: [alice],
    state: { candidates: { 'alice@example.org': [10] }, localUsers: [localOf(10, alice, { displayName: 'Old' })] },
    map: [['alice', 10]],
    update: [10],
    member: [['alice', 10]],
  },
  {
    what: 'several local users with the key: a conflict, candidates sorted',
    users: [alice],
    state: { candidates: { 'alice@example.org': [12, 10] } },
    conflicts: [['alice', [10, 12], false]],
  },
  {
    what: 'a conflict already recorded with the same data: unchanged',
    users: [alice],
    state: { candidates: { 'alice@example.org': [10, 12] }, mappings: [mappingOf(alice, 'conflict', null, { candidates: [10, 12], viaGroups: ['g1'] })] },
    conflicts: [['alice', [10, 12], true]],
  },
  {
    what: 'two directory users share a key with one local user: neither takes it',
    users: [alice, twin],
    state: { candidates: { 'alice@example.org': [10] } },
    conflicts: [['alice', [10], false], ['twin', [10], false]],
  },
  { what: 'two directory users share a key, no local user: neither is created', users: [alice, twin], state: {}, conflicts: [['alice', [], false], ['twin', [], false]] },
  {
    what: 'the key belongs to a local user mapped to another directory user: a conflict, not a second account',
    users: [alice, twin],
    state: { ...mappedAlice, candidates: { 'alice@example.org': [10] } },
    conflicts: [['twin', [], false]],
    member: [['alice', 10]],
  },
  {
    what: 'the key a mapped user takes in this run: a conflict',
    users: [user('alice', { mail: 'bob@example.org' }), bob],
    state: mappedAlice,
    update: [10],
    conflicts: [['bob', [], false]],
    member: [['alice', 10]],
  },
  { what: 'a user without the match key: unmapped and reported as skipped', users: [user('alice', { mail: null })], state: {}, unmapped: [['alice', false]], skipped: 1 },
  { what: 'a mapped user unchanged: nothing to write', users: [alice], state: mappedAlice, member: [['alice', 10]] },
  { what: 'a mapped user whose values changed: its local user updated', users: [user('alice', { displayName: 'Alice B.' })], state: mappedAlice, update: [10], member: [['alice', 10]] },
  { what: 'a mapped user disabled: its local user updated (deactivated)', users: [user('alice', { enabled: false })], state: mappedAlice, update: [10], member: [['alice', 10]] },
  {
    what: 'a mapped user whose DN alone changed: the mapping refreshed',
    users: [user('alice', { dn: 'uid=alice,ou=moved,dc=example,dc=org' })],
    state: mappedAlice,
    refresh: [['alice', true]],
    member: [['alice', 10]],
  },
  {
    what: 'a mapped user back in scope: the mapping refreshed',
    users: [alice],
    state: { mappings: [mappingOf(alice, 'mapped', 10, { inScope: false })], localUsers: [localOf(10, alice)] },
    refresh: [['alice', true]],
    member: [['alice', 10]],
  },
  { what: 'an ignored user: counted, no member', users: [alice], state: { mappings: [mappingOf(alice, 'ignored', null)] }, ignored: 1 },
  {
    what: 'an ignored user whose values changed: counted and refreshed',
    users: [user('alice', { displayName: 'A' })],
    state: { mappings: [mappingOf(alice, 'ignored', null)] },
    ignored: 1,
    refresh: [['alice', true]],
  },
  {
    what: 'a mapping whose local user vanished (loaded as unmapped): created again, known',
    users: [alice],
    state: { mappings: [mappingOf(alice, 'unmapped', null)] },
    create: ['alice:known'],
    member: [['alice', 'alice']],
  },
  { what: 'a user reached only through a group not synced: left alone', users: [alice], members: [], state: {} },
  { what: 'a mapped user who left the scope: deactivated', users: [], state: mappedAlice, deactivate: [10] },
  { what: 'a user who left the scope, mapped by another connection too: refreshed out of scope', users: [], state: { ...mappedAlice, shared: [10] }, refresh: [['alice', false]] },
  {
    what: 'a user who left the scope, already inactive: refreshed out of scope',
    users: [],
    state: { mappings: [mappingOf(alice, 'mapped', 10)], localUsers: [localOf(10, alice, { active: false })] },
    refresh: [['alice', false]],
  },
  { what: 'an unmapped user who left the scope: refreshed out of scope', users: [], state: { mappings: [mappingOf(alice, 'unmapped', null)] }, refresh: [['alice', false]] },
  { what: 'a user out of scope already: nothing', users: [], state: { mappings: [mappingOf(alice, 'mapped', 10, { inScope: false })], localUsers: [localOf(10, alice)] } },
  { what: 'a user held (reached through a skipped group): not deactivated', users: [], state: mappedAlice, held: ['alice'] },
  {
    what: 'a user whose entry could not be read (skipped by DN): not deactivated',
    users: [],
    state: mappedAlice,
    skippedEntries: [{ ref: 'UID=Alice,ou=people,dc=example,dc=org', kind: 'user', reason: 'bad value' }],
  },
  { what: 'a read of selected groups deactivates nobody', users: [], state: mappedAlice, options: { partialScope: true } },
];

describe('planUsers', () => {
  it.each(rows)('$what', (row) => {
    const g = group('g1', 'app-users', row.members ?? row.users.map((u) => u.id));
    const snap = snapshot([g], row.users, row.skippedEntries ?? [], row.held);
    const target = new Map<string, number | string>(row.members?.length === 0 ? [] : [['g1', 1]]);
    const part = planUsers(snap, state(row.state), { ...OPTIONS, ...row.options }, target, keptOf(snap));
    const u = part.users;
    expect(u.create.map((c) => (c.known ? `${c.directoryId}:known` : c.directoryId))).toEqual(row.create ?? []);
    expect(u.map.map((m) => [m.directoryId, m.localUserId])).toEqual(row.map ?? []);
    expect(u.update.map((x) => x.localUserId)).toEqual(row.update ?? []);
    expect(u.conflicts.map((c) => [c.directoryId, c.candidates, c.unchanged])).toEqual(row.conflicts ?? []);
    expect(u.unmapped.map((x) => [x.directoryId, x.unchanged])).toEqual(row.unmapped ?? []);
    expect(u.deactivate.map((d) => d.localUserId)).toEqual(row.deactivate ?? []);
    expect(u.refresh.map((r) => [r.directoryId, r.inScope])).toEqual(row.refresh ?? []);
    expect(u.ignored).toBe(row.ignored ?? 0);
    const byId = (a: [string, unknown], b: [string, unknown]) => a[0].localeCompare(b[0]);
    expect([...part.member.entries()].sort(byId)).toEqual([...(row.member ?? [])].sort(byId));
    expect(part.skipped).toHaveLength(row.skipped ?? 0);
  });
});
