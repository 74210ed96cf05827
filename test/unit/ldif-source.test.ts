import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LdifSource, parseLdif } from '../../src/directory/ldif/source.ts';
import type { DirectorySnapshot } from '../../src/domain/types.ts';
import { isGroupsyncError } from '../../src/errors.ts';
import { validateSnapshot } from '../../src/sync/validate.ts';

const SAMPLE = path.resolve(import.meta.dirname, '../../sample/directory.ldif');
const SCOPE = { groupFilter: '(cn=app-*)', groupRefs: [] };

const dir = mkdtempSync(path.join(tmpdir(), 'groupsync-ldif-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function writeLdif(name: string, text: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return file;
}

/** Login names of a group's members, sorted. */
function members(snapshot: DirectorySnapshot, group: string): string[] {
  const g = snapshot.groups.find((x) => x.name === group);
  if (!g) throw new Error(`no group ${group} in the snapshot`);
  const loginOf = new Map(snapshot.users.map((u) => [u.id, u.login]));
  return g.memberIds.map((id) => loginOf.get(id) ?? `?${id}`).sort();
}

describe('LdifSource on sample/directory.ldif', () => {
  const source = new LdifSource({ file: SAMPLE, attributes: { disabled: 'employeeType' } });
  let snapshot: DirectorySnapshot;
  beforeAll(async () => {
    snapshot = await source.read(SCOPE);
  });

  it('reads the three app-* groups, not finance', () => {
    expect(snapshot.vendor).toBe('ldif');
    expect(snapshot.groups.map((g) => g.name).sort()).toEqual(['app-admins', 'app-ops', 'app-users']);
    expect(snapshot.skipped).toEqual([]);
  });

  it.each([
    { group: 'app-ops', logins: ['grace', 'heidi'] },
    { group: 'app-admins', logins: ['dave', 'erin', 'grace', 'heidi'] }, // with app-ops nested
    { group: 'app-users', logins: ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi'] }, // app-admins and, through it, app-ops
  ])('expands $group through nested groups', ({ group, logins }) => {
    expect(members(snapshot, group)).toEqual(logins);
  });

  it('gives each group its stable id, DN and description', () => {
    expect(snapshot.groups.find((g) => g.name === 'app-ops')).toMatchObject({
      id: '7b9e500d-1e37-5ee8-9db0-86dc73b963f3',
      dn: 'cn=app-ops,ou=groups,dc=example,dc=org',
      description: 'On-call operators (nested in app-admins)',
    });
  });

  it('reads each user reached once, and only those', () => {
    expect(snapshot.users.map((u) => u.login).sort()).toEqual(['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi']);
  });

  it.each([
    { login: 'alice', mail: 'alice@example.org', displayName: 'Alice Martin', enabled: true, id: 'c1b3db3b-b13a-5180-bdd3-7c1a8bbd4187' },
    { login: 'erin', mail: 'erin@example.org', displayName: 'Erin Walsh', enabled: false, id: 'faddc502-7658-57a1-8d49-b42891fdb828' }, // employeeType: disabled
    { login: 'frank', mail: null, displayName: 'Frank Moreau', enabled: true, id: 'd1a77e44-c57d-5e89-9775-269c5a1aae0b' }, // no mail
  ])('reads $login: mail $mail, enabled $enabled', (expected) => {
    expect(snapshot.users.find((u) => u.login === expected.login)).toEqual({ ...expected, dn: `uid=${expected.login},ou=people,dc=example,dc=org` });
  });

  it('reads erin as enabled when employeeType is not the disabled flag', async () => {
    const plain = await new LdifSource({ file: SAMPLE, attributes: {} }).read(SCOPE);
    expect(plain.users.find((u) => u.login === 'erin')?.enabled).toBe(true);
  });

  it('reads a group named by reference as well as by filter', async () => {
    const byRef = await source.read({ groupFilter: null, groupRefs: ['cn=finance,ou=groups,dc=example,dc=org'] });
    expect(byRef.groups.map((g) => g.name)).toEqual(['finance']);
    expect(members(byRef, 'finance')).toEqual(['bob']);
  });

  it.each([
    { what: 'name', ref: 'app-ops' },
    { what: 'name in other letter case', ref: 'APP-OPS' },
    { what: 'DN', ref: 'cn=app-ops,ou=groups,dc=example,dc=org' },
    { what: 'DN in other spelling', ref: 'CN=App-Ops, OU=Groups, DC=Example, DC=Org' },
    { what: 'stable id', ref: '7b9e500d-1e37-5ee8-9db0-86dc73b963f3' },
  ])('findGroup by $what', async ({ ref }) => {
    expect(await source.findGroup(ref)).toEqual({
      id: '7b9e500d-1e37-5ee8-9db0-86dc73b963f3',
      dn: 'cn=app-ops,ou=groups,dc=example,dc=org',
      name: 'app-ops',
      description: 'On-call operators (nested in app-admins)',
    });
  });

  it.each([
    { what: 'an unknown name', ref: 'no-such-group' },
    { what: 'the DN of a user', ref: 'uid=alice,ou=people,dc=example,dc=org' },
    { what: 'an unknown DN', ref: 'cn=nope,ou=groups,dc=example,dc=org' },
  ])('findGroup returns null for $what', async ({ ref }) => {
    expect(await source.findGroup(ref)).toBeNull();
  });

  it('probes as an LDIF directory without a certificate', async () => {
    expect(await source.probe()).toEqual({ vendor: 'ldif', certificate: null });
  });
});

const HEAD = `dn: dc=example,dc=org
objectClass: dcObject
objectClass: organization
dc: example
o: Example

dn: ou=people,dc=example,dc=org
objectClass: organizationalUnit
ou: people

dn: ou=groups,dc=example,dc=org
objectClass: organizationalUnit
ou: groups

dn: uid=frank,ou=people,dc=example,dc=org
objectClass: inetOrgPerson
uid: frank
cn: Frank
sn: F
mail: frank@example.org
entryUUID: 00000000-0000-4000-8000-000000000001

dn: uid=grace,ou=people,dc=example,dc=org
objectClass: inetOrgPerson
uid: grace
cn: Grace
sn: G
mail: grace@example.org
entryUUID: 00000000-0000-4000-8000-000000000002
`;

describe('LdifSource on a nested cycle', () => {
  const file = writeLdif(
    'cycle.ldif',
    `${HEAD}
dn: cn=cycle-a,ou=groups,dc=example,dc=org
objectClass: groupOfNames
cn: cycle-a
member: cn=cycle-b,ou=groups,dc=example,dc=org
member: uid=frank,ou=people,dc=example,dc=org
entryUUID: 00000000-0000-4000-8000-0000000000aa

dn: cn=cycle-b,ou=groups,dc=example,dc=org
objectClass: groupOfNames
cn: cycle-b
member: CN=Cycle-A, OU=Groups, DC=Example, DC=Org
member: uid=grace,ou=people,dc=example,dc=org
entryUUID: 00000000-0000-4000-8000-0000000000bb
`,
  );

  it.each([
    { what: 'both groups linked', scope: { groupFilter: '(cn=cycle-*)', groupRefs: [] }, groups: ['cycle-a', 'cycle-b'] },
    { what: 'one group linked, the other reached through it', scope: { groupFilter: null, groupRefs: ['cn=cycle-a,ou=groups,dc=example,dc=org'] }, groups: ['cycle-a'] },
  ])('terminates and gives each side both users ($what)', async ({ scope, groups }) => {
    const snapshot = await new LdifSource({ file, attributes: {} }).read(scope);
    expect(snapshot.groups.map((g) => g.name).sort()).toEqual(groups);
    for (const g of groups) expect(members(snapshot, g)).toEqual(['frank', 'grace']);
  });
});

describe('LdifSource: ambiguous names', () => {
  const file = writeLdif(
    'duplicates.ldif',
    `${HEAD}
dn: ou=legacy,dc=example,dc=org
objectClass: organizationalUnit
ou: legacy

dn: cn=developers,ou=groups,dc=example,dc=org
objectClass: groupOfNames
cn: developers
member: uid=frank,ou=people,dc=example,dc=org
entryUUID: 00000000-0000-4000-8000-0000000000d1

dn: cn=developers,ou=legacy,dc=example,dc=org
objectClass: groupOfNames
cn: developers
member: uid=grace,ou=people,dc=example,dc=org
entryUUID: 00000000-0000-4000-8000-0000000000d2
`,
  );
  const source = new LdifSource({ file, attributes: {} });

  it('throws AMBIGUOUS for a name two groups share, listing both DNs', async () => {
    const error = await source.findGroup('developers').catch((e: unknown) => e);
    expect(isGroupsyncError(error, 'AMBIGUOUS')).toBe(true);
    expect((error as Error).message).toContain('cn=developers,ou=groups,dc=example,dc=org');
    expect((error as Error).message).toContain('cn=developers,ou=legacy,dc=example,dc=org');
    expect((error as Error).message).toContain('give the DN instead');
  });

  it('finds either group by its DN', async () => {
    expect(await source.findGroup('cn=developers,ou=legacy,dc=example,dc=org')).toMatchObject({ id: '00000000-0000-4000-8000-0000000000d2', name: 'developers' });
  });
});

describe('LdifSource: values that are not UTF-8', () => {
  const file = writeLdif(
    'latin1.ldif',
    `${HEAD}
dn: uid=latin,ou=people,dc=example,dc=org
objectClass: inetOrgPerson
uid: latin
mail: latin@example.org
displayName:: ${Buffer.from([0x5a, 0xf6, 0x65]).toString('base64')}
entryUUID: 00000000-0000-4000-8000-0000000000e1

dn: uid=fine,ou=people,dc=example,dc=org
objectClass: inetOrgPerson
uid: fine
mail: fine@example.org
entryUUID: 00000000-0000-4000-8000-0000000000e2

dn: cn=latin-team,ou=groups,dc=example,dc=org
objectClass: groupOfNames
cn: latin-team
member: uid=latin,ou=people,dc=example,dc=org
member: uid=fine,ou=people,dc=example,dc=org
entryUUID: 00000000-0000-4000-8000-0000000000e3

dn: cn=latin-bad,ou=groups,dc=example,dc=org
objectClass: groupOfNames
cn: latin-bad
description:: ${Buffer.from([0xe9, 0x74, 0xe9]).toString('base64')}
member: uid=fine,ou=people,dc=example,dc=org
entryUUID: 00000000-0000-4000-8000-0000000000e4
`,
  );

  it('skips a user and a group whose base64 value is not UTF-8, naming the DN and the attribute', async () => {
    const snapshot = validateSnapshot(await new LdifSource({ file, attributes: {} }).read({ groupFilter: '(cn=latin-*)', groupRefs: [] }));
    expect(snapshot.groups.map((g) => g.name)).toEqual(['latin-team']);
    expect(members(snapshot, 'latin-team')).toEqual(['fine']);
    const why = (attribute: string, byte: string) => `${attribute} holds a byte that is not UTF-8 (${byte}), which the store cannot keep; fix the value in the directory`;
    expect(snapshot.skipped).toEqual([
      { ref: 'uid=latin,ou=people,dc=example,dc=org', id: '00000000-0000-4000-8000-0000000000e1', kind: 'user', reason: why('displayName', '0xF6') },
      { ref: 'cn=latin-bad,ou=groups,dc=example,dc=org', id: '00000000-0000-4000-8000-0000000000e4', kind: 'group', reason: why('description', '0xE9') },
    ]);
  });
});

describe('LdifSource: member values', () => {
  const person = (uid: string, n: number) =>
    `dn: uid=${uid},ou=people,dc=example,dc=org\nobjectClass: inetOrgPerson\nuid: ${uid}\nmail: ${uid}@example.org\nentryUUID: 00000000-0000-4000-8000-0000000001${String(n).padStart(2, '0')}\n`;
  const file = writeLdif(
    'members.ldif',
    `${HEAD}
${person('uida', 1)}
${person('uidb', 2)}
dn: cn=uid-team,ou=groups,dc=example,dc=org
objectClass: groupOfUniqueNames
cn: uid-team
uniqueMember: uid=uida,ou=people,dc=example,dc=org#'0101'B
uniqueMember: UID=uidb, ou=People, dc=example, dc=org#''B
uniqueMember: uid=ghost,ou=people,dc=example,dc=org
uniqueMember: not a dn
entryUUID: 00000000-0000-4000-8000-0000000001f1

dn: cn=many-ghosts,ou=groups,dc=example,dc=org
objectClass: groupOfUniqueNames
cn: many-ghosts
uniqueMember: uid=uida,ou=people,dc=example,dc=org
${Array.from({ length: 60 }, (_, k) => `uniqueMember: uid=ghost${String(k).padStart(2, '0')},ou=people,dc=example,dc=org\n`).join('')}entryUUID: 00000000-0000-4000-8000-0000000001f2
`,
  );
  const source = new LdifSource({ file, attributes: {} });

  it("resolves uniqueMember values with an optional UID (#'bits'B) and names each value it cannot resolve, with its group", async () => {
    const snapshot = await source.read({ groupFilter: '(cn=uid-team)', groupRefs: [] });
    expect(members(snapshot, 'uid-team')).toEqual(['uida', 'uidb']);
    expect(snapshot.skipped).toEqual([
      { ref: 'cn=uid-team,ou=groups,dc=example,dc=org', kind: 'member', reason: 'member "uid=ghost,ou=people,dc=example,dc=org" names no entry (dangling); left out of the group' },
      { ref: 'cn=uid-team,ou=groups,dc=example,dc=org', kind: 'member', reason: 'member "not a dn" is not a DN ("not a dn" is not type=value); left out of the group' },
    ]);
    expect(snapshot.stats).toMatchObject({ danglingMembers: 1 });
  });

  it('lists the first 50 member values it cannot resolve and gives the count of the rest', async () => {
    const snapshot = await source.read({ groupFilter: '(cn=many-ghosts)', groupRefs: [] });
    expect(members(snapshot, 'many-ghosts')).toEqual(['uida']);
    expect(snapshot.skipped).toHaveLength(51);
    expect(snapshot.skipped[0]).toEqual({ ref: 'cn=many-ghosts,ou=groups,dc=example,dc=org', kind: 'member', reason: 'member "uid=ghost00,ou=people,dc=example,dc=org" names no entry (dangling); left out of the group' });
    expect(snapshot.skipped[50]).toEqual({ ref: 'member values', kind: 'member', reason: '10 more member values name no entry or are not DNs (60 in all); the first 50 are listed' });
  });
});

describe('parseLdif', () => {
  it.each([
    {
      what: 'folded lines, base64 values, comments and a version line',
      text: 'version: 1\n\n# a person\ndn: cn=Zo\n ë,dc=org\ncn:: Wm/Dqw==\ndescription: a long\n  line\n',
      entries: [{ dn: 'cn=Zoë,dc=org', attrs: { cn: ['Zoë'], description: ['a long line'] } }],
    },
    {
      what: 'attribute names folded to lower case, values kept in order',
      text: 'dn: cn=g,dc=org\nobjectClass: top\nobjectClass: groupOfNames\nMember: uid=b,dc=org\nmember: uid=a,dc=org\n',
      entries: [{ dn: 'cn=g,dc=org', attrs: { objectclass: ['top', 'groupOfNames'], member: ['uid=b,dc=org', 'uid=a,dc=org'] } }],
    },
    {
      what: 'CRLF line ends and several blank lines between records',
      text: 'dn: cn=a,dc=org\r\ncn: a\r\n\r\n\r\ndn: cn=b,dc=org\r\ncn: b\r\n',
      entries: [
        { dn: 'cn=a,dc=org', attrs: { cn: ['a'] } },
        { dn: 'cn=b,dc=org', attrs: { cn: ['b'] } },
      ],
    },
  ])('$what', ({ text, entries }) => {
    expect(parseLdif(text).map((e) => ({ dn: e.dn, attrs: Object.fromEntries(e.attrs) }))).toEqual(entries);
  });

  it('refuses a line that is not "attribute: value", quoting it', () => {
    expect(() => parseLdif('dn: cn=a,dc=org\nthis is not ldif\n')).toThrow(/LDIF line is not "attribute: value": this is not ldif/);
  });
});
