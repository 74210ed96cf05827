/**
 * Directory data that is valid for the directory but awkward for groupsync, against a real
 * OpenLDAP slapd on both stores: values PostgreSQL cannot store (a NUL byte), member values with
 * an RFC 4517 optional UID, dangling member values. One bad entry is skipped and named; the rest syncs.
 */
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { Authorizer } from '../../src/chat/auth.ts';
import { ChatService } from '../../src/chat/service.ts';
import { buildProgram } from '../../src/cli/main.ts';
import { silentLogger } from '../../src/logger.ts';
import { type Driver, DRIVERS, type TestApp, createTestApp, entraConnection, ldapConnection } from '../support/app.ts';
import { type GraphServer, guid, startGraphServer } from '../support/graph-server.ts';
import { type SlapdHandle, startSlapd } from '../support/slapd.ts';
import { membersOf, rows } from '../support/store.ts';

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
const person = (uid: string, extra = '') =>
  `dn: uid=${uid},ou=people,dc=example,dc=org\nobjectClass: inetOrgPerson\nuid: ${uid}\ncn: ${uid}\nsn: ${uid}\nmail: ${uid}@example.org\n${extra}`;

const LDIF = [
  person('nul-ann'),
  person('nul-ben'),
  person('nul-cat'),
  'dn: cn=nul-team,ou=groups,dc=example,dc=org\nobjectClass: groupOfNames\ncn: nul-team\n' +
    'member: uid=nul-ann,ou=people,dc=example,dc=org\nmember: uid=nul-ben,ou=people,dc=example,dc=org\n',
  'dn: cn=nul-other,ou=groups,dc=example,dc=org\nobjectClass: groupOfNames\ncn: nul-other\ndescription: fine\n' +
    'member: uid=nul-cat,ou=people,dc=example,dc=org\n',
].join('\n');

/** Entries whose DNs an admin may type in several spellings: an escaped comma, a multi-valued RDN. */
const DN_LDIF =
  'dn: cn=Smith\\, John,ou=people,dc=example,dc=org\nobjectClass: inetOrgPerson\ncn: Smith, John\nsn: Smith\nuid: jsmith\nmail: jsmith@example.org\n\n' +
  'dn: cn=Jane+uid=jdoe,ou=people,dc=example,dc=org\nobjectClass: inetOrgPerson\ncn: Jane\nsn: Doe\nuid: jdoe\nmail: jdoe@example.org\n\n' +
  'dn: cn=Team\\, Core,ou=groups,dc=example,dc=org\nobjectClass: groupOfNames\ncn: Team, Core\n' +
  'member: cn=Smith\\, John,ou=people,dc=example,dc=org\nmember: cn=Jane+uid=jdoe,ou=people,dc=example,dc=org\n\n' +
  'dn: cn=Ops+ou=Infra,ou=groups,dc=example,dc=org\nobjectClass: groupOfNames\ncn: Ops\nou: Infra\nmember: cn=Jane+uid=jdoe,ou=people,dc=example,dc=org\n';

describe.each(DRIVERS)('directory data on %s', (driver: Driver) => {
  let ldap: SlapdHandle;
  let app: TestApp;

  beforeEach(async () => {
    ldap = await startSlapd({ ldif: [LDIF] });
  });
  afterEach(async () => {
    await app?.close();
    await ldap?.stop();
  });

  const sync = () => app.engine.sync({ connection: 'corp', trigger: 'manual', actor: 'test' });

  it('skips a user or group holding a NUL byte, naming the DN and the attribute; the rest syncs and nothing is lost', async () => {
    app = await createTestApp(driver, [ldapConnection(ldap, { groups: { filter: '(cn=nul-*)' } })]);
    const first = await sync();
    expect(first.run.error ?? first.run.status).toBe('success');
    expect(await membersOf(app, 'nul-team')).toEqual(['nul-ann', 'nul-ben']);
    expect(await membersOf(app, 'nul-other')).toEqual(['nul-cat']);

    // A NUL byte in one user's displayName and in one group's description (base64 in LDIF).
    await ldap.load(
      `dn: uid=nul-ann,ou=people,dc=example,dc=org\nchangetype: modify\nreplace: displayName\ndisplayName:: ${b64('Ann\u0000Evil')}\n\n` +
        `dn: cn=nul-other,ou=groups,dc=example,dc=org\nchangetype: modify\nreplace: description\ndescription:: ${b64('bad\u0000value')}\n`,
    );
    const second = await sync();
    expect(second.run.error ?? second.run.status).toBe('partial');
    expect(second.run.skipped).toEqual(
      expect.arrayContaining([
        { ref: 'uid=nul-ann,ou=people,dc=example,dc=org', id: expect.any(String), kind: 'user', reason: expect.stringMatching(/^displayName holds a NUL byte/) },
        { ref: 'cn=nul-other,ou=groups,dc=example,dc=org', id: expect.any(String), kind: 'group', reason: expect.stringMatching(/^description holds a NUL byte/) },
      ]),
    );
    // The provisioning summary counts the skipped user and the skipped group each where it belongs.
    expect(second.run.summary).toMatchObject({ users: { failed: 1 }, groups: { failed: 1 } });
    expect(second.run).toMatchObject({ usersDeactivated: 0, groupsDeleted: 0, membershipsRemoved: 0 });
    // The skipped user keeps her account and memberships; the skipped group is kept with its members.
    expect(await membersOf(app, 'nul-team')).toEqual(['nul-ann', 'nul-ben']);
    expect(await membersOf(app, 'nul-other')).toEqual(['nul-cat']);
    const active = await rows<{ login: string; active: boolean }>(app, `select login, active from local_users order by login`);
    expect(active).toEqual([
      { login: 'nul-ann', active: true },
      { login: 'nul-ben', active: true },
      { login: 'nul-cat', active: true },
    ]);

    // The rest still syncs: a change elsewhere is applied in the same run.
    await ldap.load(`dn: uid=nul-ben,ou=people,dc=example,dc=org\nchangetype: modify\nreplace: displayName\ndisplayName: Ben B\n`);
    const third = await sync();
    expect(third.run.status).toBe('partial');
    const [ben] = await rows<{ display_name: string }>(app, `select display_name from local_users where login = 'nul-ben'`);
    expect(ben?.display_name).toBe('Ben B');
  });

  it("skips entries whose NUL byte is elsewhere: a new group's cn (its DN escaping it), a new user's mail, a synced user's mail", async () => {
    app = await createTestApp(driver, [ldapConnection(ldap, { groups: { filter: '(cn=nul-*)' } })]);
    expect((await sync()).run.status).toBe('success');
    await ldap.load(
      `${person('nul-dan').replace('mail: nul-dan@example.org', `mail:: ${b64('dan\u0000@example.org')}`)}\n` +
        `dn: cn=nul-zero\\00x,ou=groups,dc=example,dc=org\nobjectClass: groupOfNames\ncn:: ${b64('nul-zero\u0000x')}\nmember: uid=nul-ann,ou=people,dc=example,dc=org\n\n` +
        `dn: cn=nul-team,ou=groups,dc=example,dc=org\nchangetype: modify\nadd: member\nmember: uid=nul-dan,ou=people,dc=example,dc=org\n\n` +
        `dn: uid=nul-cat,ou=people,dc=example,dc=org\nchangetype: modify\nreplace: mail\nmail:: ${b64('cat\u0000@example.org')}\n`,
    );
    const result = await sync();
    expect(result.run.error ?? result.run.status).toBe('partial');
    const skipped = result.run.skipped as Array<{ ref: string; kind?: string; reason: string }>;
    const reasonOf = (ref: string) => skipped.find((s) => s.ref === ref)?.reason;
    expect(reasonOf('uid=nul-dan,ou=people,dc=example,dc=org')).toMatch(/^mail holds a NUL byte/);
    expect(reasonOf('uid=nul-cat,ou=people,dc=example,dc=org')).toMatch(/^mail holds a NUL byte/);
    expect(skipped.find((s) => s.kind === 'group')?.reason).toMatch(/^name holds a NUL byte/);
    for (const s of skipped) expect(JSON.stringify(s)).not.toContain('\\u0000');
    // The new user and the new group are not created; the synced user keeps her account and memberships.
    expect(await rows(app, `select 1 from local_groups where name like 'nul-zero%'`)).toEqual([]);
    expect(await rows(app, `select 1 from local_users where login = 'nul-dan'`)).toEqual([]);
    expect(await membersOf(app, 'nul-team')).toEqual(['nul-ann', 'nul-ben']);
    expect(await membersOf(app, 'nul-other')).toEqual(['nul-cat']);
    expect(result.run).toMatchObject({ usersDeactivated: 0, groupsDeleted: 0, membershipsRemoved: 0 });
  });

  it("resolves uniqueMember values with an optional UID (#'bits'B) and lists dangling member values with their group", async () => {
    await ldap.load(
      'dn: cn=uid-team,ou=groups,dc=example,dc=org\nobjectClass: groupOfUniqueNames\ncn: uid-team\n' +
        "uniqueMember: uid=nul-ann,ou=people,dc=example,dc=org#'0101'B\n" +
        'uniqueMember: uid=nul-ben,ou=people,dc=example,dc=org\n' +
        'uniqueMember: uid=ghost,ou=people,dc=example,dc=org\n',
    );
    app = await createTestApp(driver, [ldapConnection(ldap, { groups: { filter: '(cn=uid-team)' } })]);
    const result = await sync();
    expect(result.run.error ?? result.run.status).toBe('partial');
    expect(await membersOf(app, 'uid-team')).toEqual(['nul-ann', 'nul-ben']);
    expect(result.run.skipped).toEqual([
      { ref: 'cn=uid-team,ou=groups,dc=example,dc=org', kind: 'member', reason: 'member "uid=ghost,ou=people,dc=example,dc=org" names no entry (dangling); left out of the group' },
    ]);
    // A member value left out is listed, but it is no user or group that failed.
    expect(result.run.summary).toMatchObject({ users: { failed: 0 }, groups: { failed: 0 } });
  });

  it('resolves uniqueMember values with an optional UID of any length, in another spelling of the DN, and naming a nested group', async () => {
    await ldap.load(
      'dn: cn=uid-inner,ou=groups,dc=example,dc=org\nobjectClass: groupOfUniqueNames\ncn: uid-inner\n' +
        "uniqueMember: uid=nul-cat,ou=people,dc=example,dc=org#'1'B\n\n" +
        'dn: cn=uid-outer,ou=groups,dc=example,dc=org\nobjectClass: groupOfUniqueNames\ncn: uid-outer\n' +
        "uniqueMember: uid=nul-ann,ou=people,dc=example,dc=org#''B\n" +
        "uniqueMember: UID=Nul-Ben, OU=People,DC=Example,DC=ORG#'0110100111'B\n" +
        "uniqueMember: cn=uid-inner,ou=groups,dc=example,dc=org#'0'B\n" +
        "uniqueMember: uid=ghost,ou=people,dc=example,dc=org#'11'B\n",
    );
    app = await createTestApp(driver, [ldapConnection(ldap, { groups: { filter: '(cn=uid-outer)' } })]);
    const result = await sync();
    expect(result.run.error ?? result.run.status).toBe('partial');
    expect(await membersOf(app, 'uid-outer')).toEqual(['nul-ann', 'nul-ben', 'nul-cat']);
    expect(result.run.skipped).toEqual([
      { ref: 'cn=uid-outer,ou=groups,dc=example,dc=org', kind: 'member', reason: expect.stringMatching(/^member "uid=ghost,ou=people,dc=example,dc=org(#'11'B)?" names no entry \(dangling\); left out of the group$/) },
    ]);
  });

  it('finds a user or group typed as a DN however it is spelled (escapes, case, spaces, multi-valued RDN order)', async () => {
    await ldap.load(DN_LDIF);
    app = await createTestApp(driver, [ldapConnection(ldap, { groups: { filter: '(cn=Team*)' } })]);
    expect((await sync()).run.error ?? 'ok').toBe('ok');
    const [smith] = await rows<{ dn: string }>(app, `select dn from mappings where login = 'jsmith'`);
    const smithSpellings = [
      smith!.dn,
      'cn=Smith\\, John,ou=people,dc=example,dc=org',
      'cn=Smith\\2C John,ou=people,dc=example,dc=org',
      'CN = smith\\2c john , OU=People, DC=Example,DC=ORG',
      'cn=\\53mith\\, John,ou=people,dc=example,dc=org',
    ];
    for (const spelling of smithSpellings) expect((await app.ops.findDirectoryUser(spelling)).login, spelling).toBe('jsmith');
    for (const spelling of ['uid=jdoe+cn=Jane,ou=people,dc=example,dc=org', 'CN=jane + UID=JDOE,ou=people,dc=example,dc=org']) {
      expect((await app.ops.findDirectoryUser(spelling)).login, spelling).toBe('jdoe');
    }
    // ignore, unignore and map through the operations the CLI and chat share.
    expect(await app.ops.ignore(smithSpellings[1]!, 'test')).toMatchObject({ login: 'jsmith', status: 'ignored' });
    expect(await app.ops.unignore(smithSpellings[3]!, 'test')).toMatchObject({ login: 'jsmith', status: 'unmapped' });
    const [local] = await rows<{ id: number }>(app, `select id from local_users where login = 'jdoe'`);
    await app.ops.ignore('uid=jdoe+cn=Jane,ou=people,dc=example,dc=org', 'test');
    await app.ops.unignore('uid=jdoe+cn=Jane,ou=people,dc=example,dc=org', 'test');
    expect(await app.ops.map('uid=jdoe+cn=Jane,ou=people,dc=example,dc=org', `#${local!.id}`, 'test')).toMatchObject({ login: 'jdoe' });

    // A linked group, typed as a DN: sync it alone, then unlink it.
    const groupSpelling = 'CN=team\\2c core, OU=Groups,DC=example,DC=org';
    const selected = await app.engine.sync({ connection: 'corp', trigger: 'manual', actor: 'test', groups: [groupSpelling] });
    expect(selected.run.error ?? selected.run.status).toBe('success');
    expect(await app.ops.unlink('corp', 'cn=Team\\, Core,ou=groups,dc=example,dc=org', 'test')).toMatchObject({ name: 'Team, Core' });
  });

  it('why, audit and link take a DN however it is spelled, as map, ignore and unlink do', async () => {
    await ldap.load(DN_LDIF);
    app = await createTestApp(driver, [ldapConnection(ldap, { groups: { filter: '(cn=Team*)' } })]);
    expect((await sync()).run.error ?? 'ok').toBe('ok');
    const smith = ['cn=Smith\\2C John,ou=people,dc=example,dc=org', 'CN = smith\\, john , OU=People, DC=Example,DC=ORG', 'cn="Smith, John",ou=people,dc=example,dc=org'];
    const team = ['cn=Team\\2C Core,ou=groups,dc=example,dc=org', 'CN = team\\, core , OU=Groups, DC=Example,DC=ORG', 'cn="Team, Core",ou=groups,dc=example,dc=org'];
    for (const [user, group] of smith.map((u, i) => [u, team[i]!] as const)) {
      const answer = await app.ops.why(user, group);
      expect({ login: answer.user.login, groups: answer.groups.map((g) => [g.group, g.member]) }, `${user} / ${group}`).toEqual({ login: 'jsmith', groups: [['Team, Core', true]] });
    }
    // The audit log filtered by a user or a group typed as a DN: the same entries as by name.
    const byLogin = (await app.ops.audit({ user: 'jsmith' })).total;
    const byName = (await app.ops.audit({ group: 'Team, Core' })).total;
    expect(byLogin).toBeGreaterThan(0);
    expect(byName).toBeGreaterThan(0);
    for (const user of smith) expect((await app.ops.audit({ user })).total, user).toBe(byLogin);
    for (const group of team) expect((await app.ops.audit({ group })).total, group).toBe(byName);

    // link reads the group from the directory by the DN as typed: every spelling finds it.
    for (const [i, spelling] of [...team, 'ou=infra+CN=OPS,ou=groups,dc=example,dc=org'].entries()) {
      if (i < team.length) await app.ops.unlink('corp', team[(i + 1) % team.length]!, 'test');
      expect((await app.ops.link('corp', spelling, 'test')).group.name, spelling).toBe(i < team.length ? 'Team, Core' : 'Ops');
    }
    expect((await app.ops.why('uid=jdoe+cn=Jane,ou=people,dc=example,dc=org', 'CN=Ops + OU=Infra,ou=groups,dc=example,dc=org')).groups.map((g) => g.group)).toEqual(['Ops']);
    // Pasted with spaces around it.
    await app.ops.unlink('corp', 'Team, Core', 'test');
    expect((await app.ops.link('corp', '  cn=Team\\, Core , ou=groups,dc=example,dc=org ', 'test')).group.name).toBe('Team, Core');
  });

  it('stores text that could spoof (a bidi override, a control character) as it is and shows it neutralised in the CLI', async () => {
    await ldap.load(
      `dn: uid=rlo,ou=people,dc=example,dc=org\nobjectClass: inetOrgPerson\nuid: rlo\ncn: rlo\nsn: rlo\nmail: rlo@example.org\ndisplayName:: ${b64('Admin \u202Egnp.exe\u0001')}\n\n` +
        'dn: cn=rlo-team,ou=groups,dc=example,dc=org\nobjectClass: groupOfUniqueNames\ncn: rlo-team\n' +
        'uniqueMember: uid=rlo,ou=people,dc=example,dc=org\n' +
        `uniqueMember:: ${b64('uid=ghost\u202E,ou=people,dc=example,dc=org')}\n`,
    );
    app = await createTestApp(driver, [ldapConnection(ldap, { groups: { filter: '(cn=rlo-team)' } })], { chat: { admins: { slack: ['UADMIN1'] } } });
    const result = await sync();
    expect(result.run.status).toBe('partial');
    const [rlo] = await rows<{ display_name: string }>(app, `select display_name from local_users where login = 'rlo'`);
    expect(rlo?.display_name).toBe('Admin \u202Egnp.exe\u0001');

    const out: string[] = [];
    const cli = async (...args: string[]) => {
      out.length = 0;
      await buildProgram(async () => app, { out: (text) => out.push(text), err: process.stderr, setExit: () => {} }).parseAsync(args, { from: 'user' });
      return out.join('\n');
    };
    const shown = await cli('run', String(result.run.id));
    expect(shown).toContain('uid=ghost[U+202E],ou=people');
    expect(shown).not.toMatch(/[\u202E\u0001]/);
    // --json is for scripts: the values exactly as stored.
    expect(await cli('--json', 'run', String(result.run.id))).toContain('\u202E');

    // The pick list of local users (Teams Data.Query, Slack options) shows names from the directory too.
    const chat = new ChatService({ ops: app.ops, db: app.store.db, auth: new Authorizer({ db: app.store.db, chat: app.config.chat }), logger: silentLogger });
    const choices = await chat.search({ user: { surface: 'slack', id: 'UADMIN1', aadObjectId: null, name: 'Ana Admin' }, conversation: null }, 'localUsers', 'rlo');
    expect(choices.map((c) => c.title)).toEqual([expect.stringContaining('Admin [U+202E]gnp.exe[U+0001]')]);
  });
});

describe('directory data from Entra ID', () => {
  let graph: GraphServer;
  let app: TestApp;

  beforeEach(async () => {
    const tls = inject('graphTls');
    graph = await startGraphServer({ certFile: tls.certFile, keyFile: tls.keyFile });
  });
  afterEach(async () => {
    await app?.close();
    await graph?.stop();
  });

  it('skips a user whose displayName holds a NUL byte, by login, and leaves that user as it is', async () => {
    const [ann, ben] = [guid(1, 1), guid(1, 2)];
    graph.addUser({ id: ann, userPrincipalName: 'ann@corp.example', mail: 'ann@example.org', displayName: 'Ann', accountEnabled: true });
    graph.addUser({ id: ben, userPrincipalName: 'ben@corp.example', mail: 'ben@example.org', displayName: 'Ben', accountEnabled: true });
    graph.addGroup({ id: guid(2, 1), displayName: 'app-team', description: null, members: [ann, ben] });
    app = await createTestApp('postgres', [entraConnection(graph, { groups: { filter: "startswith(displayName,'app-')" } })]);
    const sync = () => app.engine.sync({ connection: 'corp', trigger: 'manual', actor: 'test' });
    expect((await sync()).run.status).toBe('success');

    graph.updateUser(ann, { displayName: 'Ann\u0000Evil' });
    const second = await sync();
    expect(second.run.error ?? second.run.status).toBe('partial');
    expect(second.run.skipped).toEqual([{ ref: 'ann@corp.example', kind: 'user', id: ann, reason: expect.stringMatching(/^displayName holds a NUL byte/) }]);
    expect(second.run).toMatchObject({ usersDeactivated: 0, membershipsRemoved: 0 });
    expect(await membersOf(app, 'app-team')).toEqual(['ann@corp.example', 'ben@corp.example']);
  });

  it("skips a synced group whose displayName and a new user whose mail hold a NUL byte; the group keeps its members", async () => {
    const [ann, ben, cat] = [guid(1, 1), guid(1, 2), guid(1, 3)];
    graph.addUser({ id: ann, userPrincipalName: 'ann@corp.example', mail: 'ann@example.org', displayName: 'Ann', accountEnabled: true });
    graph.addUser({ id: ben, userPrincipalName: 'ben@corp.example', mail: 'ben@example.org', displayName: 'Ben', accountEnabled: true });
    const team = graph.addGroup({ id: guid(2, 1), displayName: 'app-team', description: null, members: [ann] });
    graph.addGroup({ id: guid(2, 2), displayName: 'app-other', description: null, members: [ben] });
    app = await createTestApp('postgres', [entraConnection(graph, { groups: { filter: "startswith(displayName,'app-')" } })]);
    const sync = () => app.engine.sync({ connection: 'corp', trigger: 'manual', actor: 'test' });
    expect((await sync()).run.status).toBe('success');

    graph.updateGroup(team.id, { displayName: 'app-team\u0000' });
    graph.addUser({ id: cat, userPrincipalName: 'cat@corp.example', mail: 'cat\u0000@example.org', displayName: 'Cat', accountEnabled: true });
    graph.addMember(guid(2, 2), cat);
    graph.updateGroup(guid(2, 2), { description: 'still fine' });
    const second = await sync();
    expect(second.run.error ?? second.run.status).toBe('partial');
    const skipped = second.run.skipped as Array<{ ref: string; kind?: string; reason: string }>;
    expect(skipped.find((x) => x.kind === 'group')?.reason).toMatch(/^name holds a NUL byte/);
    expect(skipped.find((x) => x.kind === 'user')).toMatchObject({ ref: 'cat@corp.example', reason: expect.stringMatching(/^mail holds a NUL byte/) });
    expect(second.run).toMatchObject({ groupsDeleted: 0, membershipsRemoved: 0 });
    expect(await membersOf(app, 'app-team')).toEqual(['ann@corp.example']);
    expect(await rows(app, `select description from local_groups where name = 'app-other'`)).toEqual([{ description: 'still fine' }]);
  });
});
