import { describe, expect, it } from 'vitest';
import type { DirectoryGroup, DirectorySnapshot, DirectoryUser, MappingStatus, SkippedEntry } from '../../src/domain/types.ts';
import {
  countPlan,
  isEmptyPlan,
  type LinkState,
  type LocalUserState,
  type MappingState,
  type PlanOptions,
  planSync,
  type StoreState,
  type SyncPlan,
} from '../../src/sync/plan.ts';

// ---- builders ----------------------------------------------------------------------------------

function user(id: string, fields: Partial<DirectoryUser> = {}): DirectoryUser {
  return { id, dn: `uid=${id},ou=people,dc=example,dc=org`, login: id, mail: `${id}@example.org`, displayName: `User ${id}`, enabled: true, ...fields };
}

function group(id: string, name: string, memberIds: string[], fields: Partial<DirectoryGroup> = {}): DirectoryGroup {
  return { id, dn: `cn=${name},ou=groups,dc=example,dc=org`, name, description: `${name} team`, memberIds, ...fields };
}

function snapshot(groups: DirectoryGroup[], users: DirectoryUser[], skipped: SkippedEntry[] = []): DirectorySnapshot {
  return { vendor: 'openldap', groups, users, skipped, certificate: null };
}

/** A link as the last sync left it for `g`. */
function linkOf(id: number, g: DirectoryGroup, localGroupId: number | null, fields: Partial<LinkState> = {}): LinkState {
  return { id, directoryId: g.id, dn: g.dn, name: g.name, description: g.description, kind: 'group', origin: 'scope', localGroupId, ...fields };
}

/** A mapping row recording `u` as last read. */
function mappingOf(u: DirectoryUser, status: MappingStatus, localUserId: number | null, fields: Partial<MappingState> = {}): MappingState {
  return { directoryId: u.id, status, localUserId, dn: u.dn, login: u.login, mail: u.mail, displayName: u.displayName, enabled: u.enabled, inScope: true, candidates: [], ...fields };
}

/** The local user a mapped `u` was synced into. */
function localOf(id: number, u: DirectoryUser, fields: Partial<LocalUserState> = {}): LocalUserState {
  return { id, login: u.login, mail: u.mail, displayName: u.displayName, active: u.enabled, ...fields };
}

interface StateInput {
  links?: LinkState[];
  unlinked?: string[];
  duplicates?: Array<[string, 'pending' | 'linked' | 'ignored', number | null]>;
  localGroups?: Array<{ id: number; name: string; linked: boolean }>;
  mappings?: MappingState[];
  localUsers?: LocalUserState[];
  candidates?: Record<string, number[]>;
  shared?: number[];
  memberships?: Record<number, number[]>;
}

function state(input: StateInput = {}): StoreState {
  return {
    links: input.links ?? [],
    unlinked: new Set(input.unlinked ?? []),
    duplicates: new Map((input.duplicates ?? []).map(([id, status, localGroupId]) => [id, { status, localGroupId }])),
    localGroupsByName: new Map((input.localGroups ?? []).map((g) => [g.name.toLowerCase(), g])),
    mappings: new Map((input.mappings ?? []).map((m) => [m.directoryId, m])),
    localUsers: new Map((input.localUsers ?? []).map((u) => [u.id, u])),
    candidatesByKey: new Map(Object.entries(input.candidates ?? {})),
    sharedLocalUsers: new Set(input.shared ?? []),
    memberships: new Map(Object.entries(input.memberships ?? {}).map(([g, users]) => [Number(g), new Set(users)])),
  };
}

const OPTIONS: PlanOptions = { connection: 'corp', linkKind: 'group', matchKey: 'mail', createUsers: true, partialScope: false };

/** Membership changes as [group, user] pairs, sorted, for order-free comparison. */
function pairs(groups: readonly (number | string)[], users: readonly (number | string)[]): Array<[number | string, number | string]> {
  return groups.map((g, k): [number | string, number | string] => [g, users[k]!]).sort((a, b) => String(a).localeCompare(String(b)));
}
const added = (plan: SyncPlan) => pairs(plan.memberships.addGroup, plan.memberships.addUser);
const removed = (plan: SyncPlan) => pairs(plan.memberships.removeGroup, plan.memberships.removeUser);

// Directory users reused below; alice and bob are mapped to local users 10 and 11 in "synced" states.
const alice = user('alice');
const bob = user('bob');
const carol = user('carol');

// ---- groups ------------------------------------------------------------------------------------

describe('planSync: groups', () => {
  it('creates a local group for a new directory group, with its members referenced by local id or directory id', () => {
    const g = group('g1', 'app-users', ['alice', 'carol']);
    const plan = planSync(
      snapshot([g], [alice, carol]),
      state({ mappings: [mappingOf(alice, 'mapped', 10)], localUsers: [localOf(10, alice)] }),
      OPTIONS,
    );
    expect(plan.groups.create).toEqual([{ directoryId: 'g1', dn: g.dn, name: 'app-users', description: 'app-users team', kind: 'group', origin: 'scope' }]);
    expect(plan.users.create.map((u) => u.directoryId)).toEqual(['carol']);
    // the new group is referenced by its directory id; alice by her local id, carol (created now) by her directory id
    expect(added(plan)).toEqual([['g1', 'carol'], ['g1', 10]].sort((a, b) => String(a).localeCompare(String(b))));
    expect(countPlan(plan)).toMatchObject({ groupsCreated: 1, usersCreated: 1, membershipsAdded: 2 });
  });

  it.each([
    { what: 'the connection default', kindOf: undefined, manualIds: undefined, kind: 'group', origin: 'scope' },
    { what: 'a kind chosen for the group, found by reference', kindOf: new Map([['g1', 'security' as const]]), manualIds: new Set(['g1']), kind: 'security', origin: 'manual' },
  ])('gives a new group its kind and origin: $what', ({ kindOf, manualIds, kind, origin }) => {
    const plan = planSync(snapshot([group('g1', 'app-users', [])], []), state(), { ...OPTIONS, kindOf, manualIds });
    expect(plan.groups.create[0]).toMatchObject({ kind, origin });
  });

  it.each([
    { what: 'same name', local: 'app-users' },
    { what: 'name in other letter case', local: 'App-Users' },
  ])('a new group whose name equals a local group it is not linked to is a duplicate, not synced ($what)', ({ local }) => {
    const g = group('g1', 'app-users', ['alice']);
    const plan = planSync(
      snapshot([g], [alice]),
      state({ localGroups: [{ id: 7, name: local, linked: false }], mappings: [mappingOf(alice, 'mapped', 10)], localUsers: [localOf(10, alice)] }),
      OPTIONS,
    );
    expect(plan.groups.create).toEqual([]);
    expect(plan.groups.duplicates).toEqual([{ directoryId: 'g1', dn: g.dn, name: 'app-users', description: 'app-users team', kind: 'group', origin: 'scope', localGroupId: 7 }]);
    expect(added(plan)).toEqual([]);
    expect(countPlan(plan).groupsDuplicated).toBe(1);
  });

  it.each(['pending', 'ignored'] as const)('a %s duplicate is not re-created, not synced and writes nothing', (status) => {
    const g = group('g1', 'app-users', ['alice']);
    const plan = planSync(
      snapshot([g], [alice]),
      state({
        localGroups: [{ id: 7, name: 'app-users', linked: false }],
        duplicates: [['g1', status, 7]],
        memberships: { 7: [] },
      }),
      OPTIONS,
    );
    expect(plan.groups.duplicates).toEqual([]);
    expect(plan.groups.create).toEqual([]);
    expect(added(plan)).toEqual([]);
    // Users reached only through a group that is not synced are not in scope: alice is not created.
    expect(plan.users.create).toEqual([]);
    expect(isEmptyPlan(plan)).toBe(true);
  });

  it('keeps a user whose entry could not be read in scope rather than deactivating it', () => {
    const g = group('g1', 'app-users', []);
    const plan = planSync(
      { ...snapshot([g], []), skipped: [{ ref: alice.dn!.toUpperCase(), reason: 'invalid mail value' }] },
      state({ links: [linkOf(1, g, 7)], mappings: [mappingOf(alice, 'mapped', 10)], localUsers: [localOf(10, alice)], memberships: { 7: [] } }),
      OPTIONS,
    );
    expect(plan.users.deactivate).toEqual([]);
  });

  it('leaves a skipped user (by id, as Entra reports it) as it is: not deactivated, memberships kept', () => {
    const g = group('g1', 'app-users', ['bob']);
    const noDn = { ...alice, dn: null };
    const plan = planSync(
      { ...snapshot([g], [bob]), skipped: [{ ref: 'alice@corp', id: 'alice', reason: 'displayName holds a NUL byte (U+0000)' }] },
      state({
        links: [linkOf(1, g, 7)],
        mappings: [mappingOf(noDn, 'mapped', 10), mappingOf(bob, 'mapped', 11)],
        localUsers: [localOf(10, alice), localOf(11, bob)],
        memberships: { 7: [10, 11] },
      }),
      OPTIONS,
    );
    expect(plan.users.deactivate).toEqual([]);
    expect(removed(plan)).toEqual([]);
  });

  it('keeps the memberships of a user whose entry could not be read (by DN)', () => {
    const g = group('g1', 'app-users', []);
    const plan = planSync(
      { ...snapshot([g], []), skipped: [{ ref: alice.dn!.toUpperCase(), reason: 'invalid mail value' }] },
      state({ links: [linkOf(1, g, 7)], mappings: [mappingOf(alice, 'mapped', 10)], localUsers: [localOf(10, alice)], memberships: { 7: [10] } }),
      OPTIONS,
    );
    expect(plan.users.deactivate).toEqual([]);
    expect(removed(plan)).toEqual([]);
  });

  it('does not delete a skipped group, nor deactivate the users only it reaches (held)', () => {
    const g = group('g1', 'app-users', ['alice']);
    const plan = planSync(
      { ...snapshot([], []), skipped: [{ ref: g.dn!, id: 'g1', reason: 'description holds a NUL byte (U+0000)' }], held: ['alice'] },
      state({ links: [linkOf(1, g, 7)], mappings: [mappingOf(alice, 'mapped', 10)], localUsers: [localOf(10, alice)], memberships: { 7: [10] } }),
      OPTIONS,
    );
    expect(plan.groups.delete).toEqual([]);
    expect(plan.users.deactivate).toEqual([]);
    expect(removed(plan)).toEqual([]);
    expect(plan.users.refresh).toEqual([]);
  });

  it('asks an admin rather than creating a second local user whose mail is already mapped to someone else', () => {
    const g = group('g1', 'app-users', ['bob2']);
    const bob2 = { ...alice, id: 'bob2', dn: 'uid=bob2,ou=people,dc=example,dc=org', login: 'bob2' };
    const plan = planSync(
      snapshot([g], [alice, bob2]),
      state({ links: [linkOf(1, g, 7)], mappings: [mappingOf(alice, 'mapped', 10)], localUsers: [localOf(10, alice)], candidates: { [alice.mail!.toLowerCase()]: [10] }, memberships: { 7: [] } }),
      OPTIONS,
    );
    expect(plan.users.create).toEqual([]);
    expect(plan.users.conflicts).toMatchObject([{ directoryId: 'bob2', candidates: [] }]);
  });

  it('a second directory group with the name of one created in this run is a duplicate of it', () => {
    const plan = planSync(snapshot([group('g1', 'devs', []), group('g2', 'DEVS', [], { dn: 'cn=DEVS,ou=legacy,dc=example,dc=org' })], []), state(), OPTIONS);
    expect(plan.groups.create.map((g) => g.directoryId)).toEqual(['g1']);
    expect(plan.groups.duplicates).toMatchObject([{ directoryId: 'g2', localGroupId: 'g1' }]);
  });

  it.each([
    { what: 'a rename', change: { name: 'app-people' } },
    { what: 'a new description', change: { description: 'Everyone' } },
    { what: 'a description removed', change: { description: null } },
    { what: 'a move (new DN)', change: { dn: 'cn=app-users,ou=moved,dc=example,dc=org' } },
  ])('updates a linked group on $what, keeping its members in the same local group', ({ change }) => {
    const before = group('g1', 'app-users', ['alice']);
    const after = { ...before, ...change };
    const plan = planSync(
      snapshot([after], [alice]),
      state({ links: [linkOf(1, before, 100)], mappings: [mappingOf(alice, 'mapped', 10)], localUsers: [localOf(10, alice)], memberships: { 100: [10] } }),
      OPTIONS,
    );
    expect(plan.groups.update).toEqual([
      {
        linkId: 1,
        localGroupId: 100,
        before: { directoryId: 'g1', dn: before.dn, name: before.name, description: before.description, kind: 'group', origin: 'scope' },
        after: { directoryId: 'g1', dn: after.dn, name: after.name, description: after.description, kind: 'group', origin: 'scope' },
      },
    ]);
    expect(plan.groups.create).toEqual([]);
    expect(added(plan)).toEqual([]);
    expect(removed(plan)).toEqual([]);
  });

  it('deletes the local group of a linked group gone from the directory, counting its members as removed memberships', () => {
    const kept = group('g1', 'app-users', []);
    const gone = group('g2', 'app-old', []);
    const plan = planSync(snapshot([kept], []), state({ links: [linkOf(1, kept, 100), linkOf(2, gone, 200)], memberships: { 100: [], 200: [10, 11] } }), OPTIONS);
    expect(plan.groups.delete).toEqual([{ linkId: 2, localGroupId: 200, directoryId: 'g2', name: 'app-old', members: 2 }]);
    expect(countPlan(plan)).toMatchObject({ groupsDeleted: 1, membershipsRemoved: 2 });
  });

  it('does not delete groups outside a partial scope', () => {
    const kept = group('g1', 'app-users', []);
    const gone = group('g2', 'app-old', []);
    const plan = planSync(snapshot([kept], []), state({ links: [linkOf(1, kept, 100), linkOf(2, gone, 200)] }), { ...OPTIONS, partialScope: true });
    expect(plan.groups.delete).toEqual([]);
  });

  it('does not link again a group an admin unlinked, nor sync its members', () => {
    const g = group('g1', 'app-users', ['alice']);
    const plan = planSync(
      snapshot([g], [alice]),
      state({ unlinked: ['g1'], mappings: [mappingOf(alice, 'mapped', 10)], localUsers: [localOf(10, alice)] }),
      OPTIONS,
    );
    expect(plan.groups).toEqual({ create: [], update: [], delete: [], duplicates: [], relink: [] });
    expect(added(plan)).toEqual([]);
  });

  it('creates a new local group for a link whose local group vanished', () => {
    const g = group('g1', 'app-users', ['alice']);
    const plan = planSync(
      snapshot([g], [alice]),
      state({ links: [linkOf(1, g, null, { origin: 'manual', kind: 'security' })], mappings: [mappingOf(alice, 'mapped', 10)], localUsers: [localOf(10, alice)] }),
      OPTIONS,
    );
    expect(plan.groups.relink).toEqual([{ linkId: 1, fields: { directoryId: 'g1', dn: g.dn, name: 'app-users', description: 'app-users team', kind: 'security', origin: 'manual' } }]);
    expect(added(plan)).toEqual([['g1', 10]]);
  });
});

// ---- users -------------------------------------------------------------------------------------

describe('planSync: users', () => {
  const g = group('g1', 'app-users', ['alice']);
  const linked = { links: [linkOf(1, g, 100)], memberships: { 100: [] as number[] } };

  it('maps a user to the one local user with that mail, ignoring letter case', () => {
    const shouty = user('alice', { mail: 'Alice@Example.ORG' });
    const plan = planSync(
      snapshot([g], [shouty]),
      state({ ...linked, localUsers: [localOf(10, shouty, { mail: 'alice@example.org' })], candidates: { 'alice@example.org': [10] } }),
      OPTIONS,
    );
    expect(plan.users.map).toEqual([{ directoryId: 'alice', dn: shouty.dn, login: 'alice', mail: 'Alice@Example.ORG', displayName: 'User alice', enabled: true, localUserId: 10 }]);
    expect(plan.users.create).toEqual([]);
    expect(plan.users.conflicts).toEqual([]);
    expect(added(plan)).toEqual([[100, 10]]);
  });

  it('maps on login when that is the match key', () => {
    const u = user('alice', { login: 'AMartin', mail: null });
    const plan = planSync(
      snapshot([g], [u]),
      state({ ...linked, localUsers: [localOf(10, u)], candidates: { amartin: [10] } }),
      { ...OPTIONS, matchKey: 'login' },
    );
    expect(plan.users.map.map((m) => m.localUserId)).toEqual([10]);
    expect(plan.skipped).toEqual([]);
  });

  it('updates the matched local user to what the directory says', () => {
    const plan = planSync(
      snapshot([g], [alice]),
      state({ ...linked, localUsers: [{ id: 10, login: 'old', mail: 'alice@example.org', displayName: null, active: false }], candidates: { 'alice@example.org': [10] } }),
      OPTIONS,
    );
    expect(plan.users.update).toEqual([
      {
        localUserId: 10,
        before: { directoryId: 'alice', dn: alice.dn, login: 'old', mail: 'alice@example.org', displayName: null, enabled: true, active: false },
        after: { directoryId: 'alice', dn: alice.dn, login: 'alice', mail: 'alice@example.org', displayName: 'User alice', enabled: true, active: true },
      },
    ]);
  });

  it('records a conflict, candidates sorted, when several local users have the mail', () => {
    const plan = planSync(snapshot([g], [alice]), state({ ...linked, candidates: { 'alice@example.org': [12, 3, 7] } }), OPTIONS);
    expect(plan.users.conflicts).toEqual([{ directoryId: 'alice', dn: alice.dn, login: 'alice', mail: 'alice@example.org', displayName: 'User alice', enabled: true, candidates: [3, 7, 12], viaGroups: ['g1'], unchanged: false }]);
    expect(plan.users.map).toEqual([]);
    expect(added(plan)).toEqual([]);
  });

  it('does not offer a local user already mapped to another directory user', () => {
    const plan = planSync(
      snapshot([g], [alice, bob]),
      state({ ...linked, mappings: [mappingOf(bob, 'mapped', 10)], localUsers: [localOf(10, bob), localOf(11, alice)], candidates: { 'alice@example.org': [10, 11] } }),
      OPTIONS,
    );
    expect(plan.users.map.map((m) => [m.directoryId, m.localUserId])).toEqual([['alice', 11]]);
    expect(plan.users.conflicts).toEqual([]);
  });

  it.each([
    { createUsers: true, created: ['alice'], unmapped: [] as string[], members: [[100, 'alice']] },
    { createUsers: false, created: [] as string[], unmapped: ['alice'], members: [] },
  ])('with no candidate and createUsers $createUsers: created $created, unmapped $unmapped', ({ createUsers, created, unmapped, members }) => {
    const plan = planSync(snapshot([g], [alice]), state(linked), { ...OPTIONS, createUsers });
    expect(plan.users.create.map((u) => u.directoryId)).toEqual(created);
    expect(plan.users.unmapped.map((u) => u.directoryId)).toEqual(unmapped);
    if (!createUsers) expect(plan.users.unmapped[0]).toMatchObject({ reason: 'no local user matches and user creation is off', unchanged: false });
    expect(added(plan)).toEqual(members);
  });

  it('leaves a user without mail unmapped and reports it skipped, with the reason', () => {
    const frank = user('frank', { mail: null });
    const plan = planSync(snapshot([group('g1', 'app-users', ['frank'])], [frank]), state(linked), OPTIONS);
    expect(plan.users.unmapped).toEqual([{ directoryId: 'frank', dn: frank.dn, login: 'frank', mail: null, displayName: 'User frank', enabled: true, reason: 'no mail: cannot be matched to a local user', viaGroups: ['g1'], unchanged: false }]);
    expect(plan.skipped).toEqual([{ ref: frank.dn, kind: 'user', reason: "no mail (the connection's match key)" }]);
    expect(plan.users.create).toEqual([]);
    expect(added(plan)).toEqual([]);
  });

  it('keeps the skipped entries the reader reported', () => {
    const skipped = [{ ref: 'uid=ghost,dc=org', reason: 'invalid mail value "x"' }];
    expect(planSync(snapshot([], [], skipped), state(), OPTIONS).skipped).toEqual(skipped);
  });

  it('skips and counts an ignored user, and does not sync its memberships', () => {
    const plan = planSync(
      snapshot([g], [alice]),
      state({ ...linked, mappings: [mappingOf(alice, 'ignored', null)], candidates: { 'alice@example.org': [10] }, localUsers: [localOf(10, alice)] }),
      OPTIONS,
    );
    expect(plan.users.ignored).toBe(1);
    expect(countPlan(plan).usersIgnored).toBe(1);
    expect(plan.users.map).toEqual([]);
    expect(plan.users.create).toEqual([]);
    expect(added(plan)).toEqual([]);
    expect(isEmptyPlan(plan)).toBe(true);
  });

  describe('two directory users sharing one mail', () => {
    const a = user('a', { mail: 'shared@example.org' });
    const b = user('b', { mail: 'SHARED@example.org' });
    const both = group('g1', 'app-users', ['a', 'b']);

    it('are both in conflict and neither takes the one local user', () => {
      const plan = planSync(snapshot([both], [a, b]), state({ links: [linkOf(1, both, 100)], localUsers: [localOf(10, a)], candidates: { 'shared@example.org': [10] } }), OPTIONS);
      expect(plan.users.conflicts.map((c) => [c.directoryId, c.candidates])).toEqual([['a', [10]], ['b', [10]]]);
      expect(plan.users.map).toEqual([]);
      expect(plan.users.update).toEqual([]);
      expect(added(plan)).toEqual([]);
    });

    it('are both in conflict, not created twice, when no local user has the mail', () => {
      const plan = planSync(snapshot([both], [a, b]), state({ links: [linkOf(1, both, 100)] }), OPTIONS);
      expect(plan.users.conflicts.map((c) => [c.directoryId, c.candidates])).toEqual([['a', []], ['b', []]]);
      expect(plan.users.create).toEqual([]);
    });
  });

  it('deactivates the local user of a mapped user who left the scope', () => {
    const plan = planSync(
      snapshot([g], [alice]),
      state({
        ...linked,
        mappings: [mappingOf(alice, 'mapped', 10), mappingOf(bob, 'mapped', 11)],
        localUsers: [localOf(10, alice), localOf(11, bob)],
        memberships: { 100: [10, 11] },
      }),
      OPTIONS,
    );
    expect(plan.users.deactivate).toEqual([{ localUserId: 11, directoryId: 'bob', login: 'bob', reason: 'left the scope' }]);
    expect(removed(plan)).toEqual([[100, 11]]);
  });

  it.each([
    { what: 'shared with another connection', shared: [11], partialScope: false, active: true },
    { what: 'outside a partial scope', shared: [], partialScope: true, active: true },
    { what: 'already inactive', shared: [], partialScope: false, active: false },
  ])('does not deactivate a user who left the scope when $what', ({ shared, partialScope, active }) => {
    const plan = planSync(
      snapshot([g], [alice]),
      state({ ...linked, mappings: [mappingOf(alice, 'mapped', 10), mappingOf(bob, 'mapped', 11)], localUsers: [localOf(10, alice), localOf(11, bob, { active })], shared }),
      { ...OPTIONS, partialScope },
    );
    expect(plan.users.deactivate).toEqual([]);
    expect(countPlan(plan).usersDeactivated).toBe(0);
    // the mapping is marked out of scope, except in a partial read that says nothing about bob
    expect(plan.users.refresh.map((r) => [r.directoryId, r.inScope])).toEqual(partialScope ? [] : [['bob', false]]);
  });

  it('sets active=false on the local user of a user disabled in the directory', () => {
    const disabled = { ...alice, enabled: false };
    const plan = planSync(
      snapshot([g], [disabled]),
      state({ ...linked, mappings: [mappingOf(alice, 'mapped', 10)], localUsers: [localOf(10, alice)], memberships: { 100: [10] } }),
      OPTIONS,
    );
    expect(plan.users.update).toEqual([
      {
        localUserId: 10,
        before: expect.objectContaining({ active: true }),
        after: { directoryId: 'alice', dn: alice.dn, login: 'alice', mail: 'alice@example.org', displayName: 'User alice', enabled: false, active: false },
      },
    ]);
    expect(plan.users.deactivate).toEqual([]);
    expect(removed(plan)).toEqual([]);
  });

  it.each([
    { what: 'login', change: { login: 'alice2' } },
    { what: 'mail', change: { mail: 'alice.martin@example.org' } },
    { what: 'display name', change: { displayName: 'Alice Martin' } },
  ])('updates a mapped user whose $what changed', ({ change }) => {
    const plan = planSync(
      snapshot([g], [{ ...alice, ...change }]),
      state({ ...linked, mappings: [mappingOf(alice, 'mapped', 10)], localUsers: [localOf(10, alice)], memberships: { 100: [10] } }),
      OPTIONS,
    );
    expect(plan.users.update).toHaveLength(1);
    expect(plan.users.update[0]!.after).toMatchObject(change);
  });
});

// ---- memberships -------------------------------------------------------------------------------

describe('planSync: memberships', () => {
  it('adds members who joined and removes members who left, per linked local group', () => {
    const g = group('g1', 'app-users', ['alice', 'carol']);
    const plan = planSync(
      snapshot([g, group('g2', 'app-ops', ['bob'])], [alice, bob, carol]),
      state({
        links: [linkOf(1, g, 100), linkOf(2, group('g2', 'app-ops', []), 200)],
        mappings: [mappingOf(alice, 'mapped', 10), mappingOf(bob, 'mapped', 11)],
        localUsers: [localOf(10, alice), localOf(11, bob)],
        memberships: { 100: [10, 11], 200: [] },
      }),
      OPTIONS,
    );
    // carol is created in this plan: referenced by her directory id
    expect(added(plan)).toEqual(pairs([100, 200], ['carol', 11]));
    expect(removed(plan)).toEqual([[100, 11]]);
    expect(countPlan(plan)).toMatchObject({ membershipsAdded: 2, membershipsRemoved: 1 });
  });

  it('takes memberIds as given: nested expansion is the reader’s job', () => {
    // app-admins nests app-ops in the directory; the reader hands both over flat.
    const ops = group('g2', 'app-ops', ['carol']);
    const admins = group('g1', 'app-admins', ['alice', 'carol']);
    const plan = planSync(
      snapshot([admins, ops], [alice, carol]),
      state({
        links: [linkOf(1, admins, 100), linkOf(2, ops, 200)],
        mappings: [mappingOf(alice, 'mapped', 10), mappingOf(carol, 'mapped', 12)],
        localUsers: [localOf(10, alice), localOf(12, carol)],
        memberships: { 100: [], 200: [] },
      }),
      OPTIONS,
    );
    expect(added(plan)).toEqual(pairs([100, 100, 200], [10, 12, 12]));
  });
});

// ---- a sync with nothing to do -----------------------------------------------------------------

describe('planSync: unchanged state', () => {
  const frank = user('frank', { mail: null });
  const jdoe = user('jdoe', { mail: 'shared@example.org' });
  const erin = user('erin');
  const g = group('g1', 'app-users', ['alice', 'bob', 'frank', 'jdoe', 'erin']);
  const synced: StateInput = {
    links: [linkOf(1, g, 100)],
    localGroups: [{ id: 100, name: 'app-users', linked: true }],
    mappings: [
      mappingOf(alice, 'mapped', 10),
      mappingOf(bob, 'mapped', 11),
      mappingOf(frank, 'unmapped', null, { viaGroups: [g.id] }),
      mappingOf(jdoe, 'conflict', null, { candidates: [20, 21], viaGroups: [g.id] }),
      mappingOf(erin, 'ignored', null),
    ],
    localUsers: [localOf(10, alice), localOf(11, bob), { id: 20, login: 'jd1', mail: 'shared@example.org', displayName: null, active: true }, { id: 21, login: 'jd2', mail: 'shared@example.org', displayName: null, active: true }],
    candidates: { 'shared@example.org': [21, 20] },
    memberships: { 100: [10, 11] },
  };

  it('plans nothing: a no-change sync writes nothing', () => {
    const plan = planSync(snapshot([g], [alice, bob, frank, jdoe, erin]), state(synced), OPTIONS);
    expect(isEmptyPlan(plan)).toBe(true);
    // still reported, but marked unchanged: nothing to write
    expect(plan.users.conflicts).toMatchObject([{ directoryId: 'jdoe', candidates: [20, 21], unchanged: true }]);
    expect(plan.users.unmapped).toMatchObject([{ directoryId: 'frank', unchanged: true }]);
    expect(plan.users.ignored).toBe(1);
    expect(plan.objectCount).toBe(3); // one link + two mapped users in scope
  });

  it.each([
    { what: 'a new candidate for the conflict', edit: (s: StateInput): StateInput => ({ ...s, candidates: { 'shared@example.org': [20, 21, 22] } }) },
    { what: 'a changed display name of a conflict user', edit: (s: StateInput): StateInput => ({ ...s, mappings: s.mappings!.map((m) => (m.directoryId === 'jdoe' ? { ...m, displayName: 'Old' } : m)) }) },
    { what: 'a member missing from the local group', edit: (s: StateInput): StateInput => ({ ...s, memberships: { 100: [10] } }) },
    { what: 'a conflict user now reached through another group', edit: (s: StateInput): StateInput => ({ ...s, mappings: s.mappings!.map((m) => (m.directoryId === 'jdoe' ? { ...m, viaGroups: [] } : m)) }) },
    { what: 'an ignored user back in scope', edit: (s: StateInput): StateInput => ({ ...s, mappings: s.mappings!.map((m) => (m.directoryId === 'erin' ? { ...m, inScope: false } : m)) }) },
  ])('is not empty after $what', ({ edit }) => {
    const plan = planSync(snapshot([g], [alice, bob, frank, jdoe, erin]), state(edit(synced)), OPTIONS);
    expect(isEmptyPlan(plan)).toBe(false);
  });
});
