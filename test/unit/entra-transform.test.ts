import { gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { GraphError } from '@microsoft/microsoft-graph-client';
import { deltaExpiredReason, retryAfterMs } from '../../src/directory/entra/client.ts';
import { defaultGraphScope } from '../../src/domain/graph-scope.ts';
import { NOT_A_USER, snapshotIndex } from '../../src/domain/snapshot-index.ts';
import { parseCursor, patchMembers } from '../../src/directory/entra/delta.ts';
import { decodeModel, encodeModel } from '../../src/directory/entra/model-codec.ts';
import {
  type DirectoryModel,
  materialize,
  mergeUserChange,
  objectKind,
  odataString,
  pruneUsers,
  sameUser,
  scopeKey,
  toDirectoryUser,
  toGroupRef,
  toUserRecord,
} from '../../src/directory/entra/transform.ts';

const ID = '0000000A-0000-4000-8000-000000000001';

describe('sameUser', () => {
  const known = { id: ID.toLowerCase(), login: 'a@corp', mail: 'a@x.org', displayName: 'A', enabled: true };
  const read = { '@odata.type': '#microsoft.graph.user', id: ID, userPrincipalName: 'a@corp', mail: 'a@x.org', displayName: 'A', accountEnabled: true };
  it.each([
    { what: 'the same properties', change: {}, same: true },
    { what: 'accountEnabled not given (enabled)', change: { accountEnabled: undefined }, same: true },
    { what: 'another mail', change: { mail: 'b@x.org' }, same: false },
    { what: 'an empty display name (none)', change: { displayName: '' }, same: false },
    { what: 'disabled', change: { accountEnabled: false }, same: false },
    { what: 'another login', change: { userPrincipalName: 'b@corp' }, same: false },
  ])('$what', ({ change, same }) => {
    expect(sameUser(known, { ...read, ...change })).toBe(same);
  });
});

describe('toUserRecord / toDirectoryUser', () => {
  it.each([
    { what: 'an enabled user', input: { accountEnabled: true, mail: 'a@x.org' }, expected: { id: ID.toLowerCase(), login: 'a@corp', mail: 'a@x.org', displayName: 'A', enabled: true, dn: null } },
    { what: 'a disabled user', input: { accountEnabled: false, mail: 'a@x.org' }, expected: { enabled: false } },
    { what: 'accountEnabled not given', input: { mail: 'a@x.org' }, expected: { enabled: true } },
    { what: 'no mail', input: { mail: null }, expected: { mail: null } },
    { what: 'an empty mail', input: { mail: '' }, expected: { mail: null } },
  ])('$what', ({ input, expected }) => {
    const user = toDirectoryUser(toUserRecord({ '@odata.type': '#microsoft.graph.user', id: ID, userPrincipalName: 'a@corp', displayName: 'A', ...input }));
    expect(user).toMatchObject(expected);
  });

  it('skips a user with an invalid mail, with the reason and its id (the run leaves it as it is)', () => {
    expect(toDirectoryUser(toUserRecord({ id: ID, userPrincipalName: 'a@corp', mail: 'not a mail' }))).toEqual({ ref: 'a@corp', id: ID.toLowerCase(), kind: 'user', reason: 'invalid mail value "not a mail"' });
  });

  it('a delta item changes only the properties it carries', () => {
    const before = toUserRecord({ id: ID, userPrincipalName: 'a@corp', mail: 'a@x.org', displayName: 'A', accountEnabled: true });
    expect(mergeUserChange(before, { id: ID, accountEnabled: false })).toEqual({ ...before, enabled: false });
    expect(mergeUserChange({ ...before, removed: true }, { id: ID, mail: 'b@x.org' })).toEqual({ ...before, mail: 'b@x.org' });
  });
});

describe('objectKind and toGroupRef', () => {
  it.each([
    ['#microsoft.graph.user', 'user'],
    ['#microsoft.graph.group', 'group'],
    ['#microsoft.graph.device', 'other'],
    [undefined, 'other'],
  ] as const)('%s is %s', (type, kind) => {
    expect(objectKind({ id: ID, ...(type ? { '@odata.type': type } : {}) })).toBe(kind);
  });
  it('a group without a name cannot be linked', () => {
    expect(toGroupRef({ id: ID, displayName: null })).toBeNull();
    expect(toGroupRef({ id: ID, displayName: 'app', description: '' })).toEqual({ id: ID.toLowerCase(), dn: null, name: 'app', description: null });
  });
  it('quotes OData strings', () => {
    expect(odataString("O'Brien")).toBe("'O''Brien'");
  });
});

function model(): DirectoryModel {
  const users = new Map([
    ['u1', { id: 'u1', login: 'a', mail: 'a@x.org', displayName: 'A', enabled: true }],
    ['u2', { id: 'u2', login: 'b', mail: 'bad', displayName: 'B', enabled: true }],
    ['u3', { id: 'u3', login: 'c', mail: null, displayName: 'C', enabled: false, removed: true }],
    ['u4', { id: 'u4', login: 'd', mail: null, displayName: null, enabled: false }],
  ]);
  const groups = new Map([
    ['g1', { id: 'g1', name: 'one', description: null, userIds: ['u1', 'u2', 'u3'], nestedGroupIds: ['n1'] }],
    ['g2', { id: 'g2', name: 'two', description: 'd', userIds: ['u1', 'u4'], nestedGroupIds: [] }],
  ]);
  return { users, groups };
}

describe('materialize', () => {
  it('leaves removed users out, reports invalid ones once, and keeps each group complete', () => {
    const { groups, users, skipped } = materialize(model());
    expect(groups).toEqual([
      { id: 'g1', dn: null, name: 'one', description: null, memberIds: ['u1'] },
      { id: 'g2', dn: null, name: 'two', description: 'd', memberIds: ['u1', 'u4'] },
    ]);
    expect(users.map((u) => u.id)).toEqual(['u1', 'u4']);
    expect(skipped).toEqual([{ ref: 'b', id: 'u2', kind: 'user', reason: 'invalid mail value "bad"' }]);
  });

  it("gives the plan its members as indexes into its users, as snapshotIndex would number them; a record naming its user otherwise leaves the numbering to snapshotIndex", () => {
    const snapshotOf = (read: ReturnType<typeof materialize>) => ({ vendor: 'entra' as const, certificate: null, ...read });
    const read = materialize(model());
    const given = snapshotIndex(snapshotOf(read));
    expect(given.members.map((m) => [...m])).toEqual([[0], [0, 1]]);
    expect(given.members).toBe(snapshotIndex(snapshotOf(read)).members); // given with the arrays, not built per snapshot
    const m = model();
    m.users.set('u4', { ...m.users.get('u4')!, id: 'U4' });
    const renamed = materialize(m);
    const built = snapshotIndex(snapshotOf(renamed));
    expect(built.members.map((x) => [...x])).toEqual([[0], [0, NOT_A_USER]]);
    expect(built.members).not.toBe(snapshotIndex(snapshotOf(renamed)).members);
  });

  it('pruneUsers drops users no group reaches', () => {
    const m = model();
    m.groups.delete('g2');
    pruneUsers(m);
    expect([...m.users.keys()]).toEqual(['u1', 'u2', 'u3']);
  });
});

describe('the stored model', () => {
  it('survives encoding', () => {
    const m = model();
    expect(decodeModel(encodeModel(m))).toEqual(m);
  });
  it('a model stored by the previous version (one array per user) reads as none: the next read is full', () => {
    const v1 = { v: 1, users: [[ID.toLowerCase(), 'a@corp', null, 'A', 1, 0]], groups: [['g', 'G', null, [0], []]] };
    expect(decodeModel(gzipSync(JSON.stringify(v1)))).toBeNull();
  });
  it('keeps a large model exactly: every membership, tombstones, disabled users, nested groups', () => {
    const users = new Map(Array.from({ length: 3000 }, (_, k) => {
      const id = `u${k}`;
      return [id, { id, login: `l${k}`, mail: k % 7 ? `m${k}@x.org` : null, displayName: k % 5 ? `N ${k} é` : null, enabled: k % 3 !== 0, ...(k % 11 === 0 ? { removed: true } : {}) }];
    }));
    const groups = new Map(Array.from({ length: 40 }, (_, g) => {
      const id = `g${g}`;
      return [id, { id, name: `G${g}`, description: g % 2 ? 'd' : null, userIds: Array.from({ length: g * 37 }, (_, k) => `u${(k * 13 + g) % 3000}`), nestedGroupIds: g % 4 ? [] : ['g1'] }];
    }));
    const m: DirectoryModel = { users, groups };
    expect(decodeModel(encodeModel(m))).toEqual(m);
  });
  it('a model whose text is megabytes (gzipped a column at a time) reads back, as does the same text gzipped whole', () => {
    const id = (k: number) => `${k.toString(16).padStart(8, '0')}-0000-4000-8000-000000000001`;
    const users = new Map(Array.from({ length: 40_000 }, (_, k) => [id(k), { id: id(k), login: `user${k}@corp.example`, mail: `user${k}@corp.example`, displayName: `User ${k}`, enabled: k % 9 !== 0 }]));
    const groups = new Map(Array.from({ length: 200 }, (_, g) => [`g${g}`, { id: `g${g}`, name: `G${g}`, description: null, userIds: Array.from({ length: 400 }, (_, k) => id((k * 97 + g) % 40_000)), nestedGroupIds: [] }]));
    const m: DirectoryModel = { users, groups };
    const bytes = encodeModel(m);
    expect(gunzipSync(bytes).length).toBeGreaterThan(4 << 20);
    expect(decodeModel(bytes)).toEqual(m);
    // A state written before the columns were gzipped one by one: the same JSON text, in one gzip member.
    expect(decodeModel(gzipSync(gunzipSync(bytes)))).toEqual(m);
  });
  it('an unreadable or foreign cache reads as none', () => {
    expect(decodeModel(new Uint8Array([1, 2, 3]))).toBeNull();
    expect(decodeModel(null)).toBeNull();
  });
  it('a cursor of another version reads as none', () => {
    expect(parseCursor({ cursor: { version: 99, scopeKey: 'k', usersDeltaLink: 'a', groupsDeltaLink: 'b' }, cache: null })).toBeNull();
    expect(parseCursor({ cursor: { version: 1, scopeKey: 'k', usersDeltaLink: 'a', groupsDeltaLink: 'b' }, cache: null })).toMatchObject({ scopeKey: 'k' });
  });
  it('the scope key ignores the order and case of references', () => {
    const a = scopeKey({ groupFilter: null, groupRefs: ['B', 'a'] }, null, 'https://g/v1.0', 'T');
    expect(scopeKey({ groupFilter: null, groupRefs: ['a', 'b'] }, null, 'https://g/v1.0', 't')).toBe(a);
    expect(scopeKey({ groupFilter: 'x', groupRefs: ['a', 'b'] }, null, 'https://g/v1.0', 't')).not.toBe(a);
  });
});

describe('retries and delta errors', () => {
  it.each([
    ['3', 3000],
    ['0.5', 500],
    ['', null],
    [null, null],
    ['soon', null],
  ] as const)('Retry-After %s → %s ms', (value, expected) => {
    expect(retryAfterMs(value)).toBe(expected);
  });
  it('reads an HTTP-date Retry-After', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(retryAfterMs('Thu, 01 Jan 2026 00:00:07 GMT', now)).toBe(7000);
  });
  it('tells an expired delta link from other errors', () => {
    const error = (status: number, code: string | null, message = 'x') => Object.assign(new GraphError(status, message), { code });
    expect(deltaExpiredReason(error(410, 'syncStateNotFound'))).toBe('syncStateNotFound');
    expect(deltaExpiredReason(error(400, 'resyncRequired'))).toBe('resyncRequired');
    expect(deltaExpiredReason(error(400, 'BadRequest', 'Invalid delta token'))).toBe('BadRequest');
    expect(deltaExpiredReason(error(500, 'generalException'))).toBeNull();
    expect(deltaExpiredReason(new Error('x'))).toBeNull();
  });
  it('asks for a token for the configured Graph', () => {
    expect(defaultGraphScope('https://graph.microsoft.us/v1.0')).toBe('https://graph.microsoft.us/.default');
  });
});

describe('patchMembers', () => {
  const flat = { id: 'g', name: 'g', description: null, userIds: ['u1', 'u2'], nestedGroupIds: [] };
  it.each([
    { what: 'users added and removed', group: flat, changes: [{ id: 'u3', kind: 'user', removed: false }, { id: 'u1', kind: 'user', removed: true }], expected: ['u2', 'u3'] },
    { what: 'a user removed then added back', group: flat, changes: [{ id: 'u1', kind: 'user', removed: true }, { id: 'u1', kind: 'user', removed: false }], expected: ['u2', 'u1'] },
    { what: 'a group added as member', group: flat, changes: [{ id: 'n', kind: 'group', removed: false }], expected: null },
    { what: 'a group with nested groups', group: { ...flat, nestedGroupIds: ['n'] }, changes: [{ id: 'u3', kind: 'user', removed: false }], expected: null },
    { what: 'no member list (a rename)', group: flat, changes: null, expected: null },
    { what: 'an empty member list', group: flat, changes: [], expected: null },
  ] as const)('$what', ({ group, changes, expected }) => {
    expect(patchMembers(group, changes)).toEqual(expected);
  });
});
