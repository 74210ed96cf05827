import { describe, expect, it } from 'vitest';
import type { DirectoryGroup, DirectorySnapshot, DirectoryUser } from '../../src/domain/types.ts';
import { validateSnapshot } from '../../src/sync/validate.ts';

function user(id: string, fields: Partial<DirectoryUser> = {}): DirectoryUser {
  return { id, dn: `uid=${id},ou=people,dc=example,dc=org`, login: id, mail: `${id}@example.org`, displayName: `User ${id}`, enabled: true, ...fields };
}
function group(id: string, name: string, memberIds: string[], fields: Partial<DirectoryGroup> = {}): DirectoryGroup {
  return { id, dn: `cn=${name},ou=groups,dc=example,dc=org`, name, description: null, memberIds, ...fields };
}
function snapshot(groups: DirectoryGroup[], users: DirectoryUser[]): DirectorySnapshot {
  return { vendor: 'openldap', groups, users, skipped: [], certificate: null };
}

describe('validateSnapshot', () => {
  it('returns a snapshot whose values can all be stored as it is', () => {
    const s = snapshot([group('g1', 'team', ['alice'])], [user('alice', { displayName: 'Zoë \u202e ok 😀' })]);
    expect(validateSnapshot(s)).toBe(s);
  });

  it.each([
    { field: 'displayName', value: 'Al\u0000ice', what: 'a NUL byte (U+0000)', name: 'displayName' },
    { field: 'mail', value: 'al\u0000ice@example.org', what: 'a NUL byte (U+0000)', name: 'mail' },
    { field: 'login', value: 'al\u0000ice', what: 'a NUL byte (U+0000)', name: 'login' },
    { field: 'displayName', value: 'Alice \ud800', what: 'a lone surrogate (U+D800)', name: 'displayName' },
    { field: 'login', value: '\udc01x', what: 'a lone surrogate (U+DC01)', name: 'login' },
  ] as const)('skips a user whose $field holds $what, naming the DN and the attribute; the rest stays', ({ field, value, what, name }) => {
    const bad = user('alice', { [field]: value });
    const s = snapshot([group('g1', 'team', ['alice', 'bob'])], [bad, user('bob')]);
    const out = validateSnapshot(s);
    expect(out.users.map((u) => u.id)).toEqual(['bob']);
    expect(out.groups[0]!.memberIds).toEqual(['bob']);
    expect(out.skipped).toEqual([
      { ref: 'uid=alice,ou=people,dc=example,dc=org', id: 'alice', kind: 'user', reason: `${name} holds ${what}, which the store cannot keep; fix the value in the directory` },
    ]);
  });

  it('names an entry whose DN itself holds a NUL with the byte escaped, so the reason can be stored', () => {
    const bad = user('alice', { dn: 'uid=al\u0000ice,ou=people,dc=example,dc=org' });
    const out = validateSnapshot(snapshot([group('g1', 'team', ['alice'])], [bad]));
    expect(out.skipped).toEqual([{ ref: 'uid=al\\00ice,ou=people,dc=example,dc=org', id: 'alice', kind: 'user', reason: 'dn holds a NUL byte (U+0000), which the store cannot keep; fix the value in the directory' }]);
    expect(JSON.stringify(out.skipped)).not.toContain('\\u0000');
  });

  it('names an entry without a DN (Entra) by its login, or its id when the login is the bad value', () => {
    const a = user('id-a', { dn: null, login: 'a@corp', displayName: 'A\u0000' });
    const b = user('id-b', { dn: null, login: 'b\u0000@corp' });
    const out = validateSnapshot(snapshot([group('g1', 'team', ['id-a', 'id-b'])], [a, b]));
    expect(out.skipped.map((s) => s.ref)).toEqual(['a@corp', 'id-b']);
  });

  it.each([
    { field: 'name', value: 'te\u0000am' },
    { field: 'description', value: 'the \u0000 team' },
    { field: 'dn', value: 'cn=te\u0000am,ou=groups,dc=example,dc=org' },
  ] as const)('skips a group whose $field cannot be stored; the users it alone reaches are held, not dropped', ({ field, value }) => {
    const bad = group('g1', 'team', ['alice', 'bob'], { [field]: value });
    const s = snapshot([bad, group('g2', 'other', ['bob'])], [user('alice'), user('bob')]);
    const out = validateSnapshot(s);
    expect(out.groups.map((g) => g.id)).toEqual(['g2']);
    expect(out.users.map((u) => u.id)).toEqual(['alice', 'bob']);
    expect(out.skipped).toEqual([{ ref: expect.stringMatching(/^cn=te(am|\\00am),ou=groups,dc=example,dc=org$/), id: 'g1', kind: 'group', reason: `${field} holds a NUL byte (U+0000), which the store cannot keep; fix the value in the directory` }]);
    // alice is reached only through the skipped group: kept as she is (not deactivated), bob is synced through g2.
    expect(out.held).toEqual(['alice']);
  });

  it('makes the reader’s own skipped entries storable', () => {
    const s = { ...snapshot([], []), skipped: [{ ref: 'uid=x\u0000', reason: 'invalid DN "uid=x\u0000\ud800"' }] };
    expect(validateSnapshot(s).skipped).toEqual([{ ref: 'uid=x\\00', reason: 'invalid DN "uid=x\\00\ufffd"' }]);
  });
});
