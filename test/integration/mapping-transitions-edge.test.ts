/**
 * Mapping transitions the state matrix (mapping-transitions.test.ts) does not reach, against a real
 * slapd: match keys with capitals outside ASCII (the store's lower() depends on the server's
 * locale: ASCII only under the C locale the suite's PostgreSQL runs), a conflict between two
 * local users another application created, and users who become creatable in a run held for
 * approval (its plan is applied by upserting mapping rows, not bulk-inserting them).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestApp, createTestApp, ldapConnection } from '../support/app.ts';
import { type SlapdHandle, startSlapd } from '../support/slapd.ts';
import { rows, storeFingerprint } from '../support/store.ts';

const BASE = 'dc=example,dc=org';
const userDn = (uid: string) => `uid=${uid},ou=people,${BASE}`;
const groupDn = (cn: string) => `cn=${cn},ou=groups,${BASE}`;
const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');

function person(uid: string, mail: string | null): string {
  return `dn: ${userDn(uid)}\nobjectClass: inetOrgPerson\nuid: ${uid}\ncn: ${uid}\nsn: ${uid}\n${mail === null ? '' : `mail:: ${b64(mail)}\n`}`;
}
function groupOf(cn: string, uids: readonly string[]): string {
  return `dn: ${groupDn(cn)}\nobjectClass: groupOfNames\ncn: ${cn}\n${uids.map((u) => `member: ${userDn(u)}`).join('\n')}\n`;
}
/** A user named by cn, its login (uid) outside ASCII: mail is an IA5 (ASCII) string on OpenLDAP, uid a UTF-8 one. */
function personByCn(cn: string, uid: string): string {
  return `dn: cn=${cn},ou=people,${BASE}\nobjectClass: inetOrgPerson\ncn: ${cn}\nsn: ${cn}\nuid:: ${b64(uid)}\nmail: ${cn}@example.org\n`;
}
function groupOfCn(cn: string, members: readonly string[]): string {
  return `dn: ${groupDn(cn)}\nobjectClass: groupOfNames\ncn: ${cn}\n${members.map((m) => `member: cn=${m},ou=people,${BASE}`).join('\n')}\n`;
}
const setMail = (uid: string, mail: string | null) =>
  `dn: ${userDn(uid)}\nchangetype: modify\nreplace: mail\n${mail === null ? '' : `mail:: ${b64(mail)}\n`}`;

describe('mapping transitions at the edges', () => {
  let ldap: SlapdHandle;
  let app: TestApp;
  const names = ['uni', 'variant', 'locals', 'held', 'heldconflict', 'fresh', 'freshconflict'];

  beforeAll(async () => {
    ldap = await startSlapd();
    const connections = names.map((n) =>
      ldapConnection(ldap, {
        name: n,
        groups: { filter: `(cn=${n}-*)` },
        deletionThreshold: { maxCount: 0, maxPercent: 100, minObjects: 0 },
        ...(n === 'uni' || n === 'variant' ? { matchKey: 'login' } : {}),
      }),
    );
    app = await createTestApp('postgres', connections);
  });
  afterAll(async () => {
    await app?.close();
    await ldap?.stop();
  });

  async function sync(connection: string) {
    const result = await app.engine.sync({ connection, trigger: 'manual', actor: 'test' });
    expect(result.run.error ?? null).toBeNull();
    return result;
  }
  async function mappingOfCn(cn: string) {
    const [m] = await rows<{ status: string; local_user_id: number | null }>(app, `select status, local_user_id from mappings where dn = 'cn=${cn},ou=people,${BASE}'`);
    return m;
  }
  async function mappingOf(login: string) {
    const [m] = await rows<{ status: string; local_user_id: number | null }>(app, `select status, local_user_id from mappings where login = '${login}'`);
    return m;
  }
  const localUsersWith = async (mail: string) =>
    rows<{ id: number }>(app, `select id from local_users where mail = '${mail}' order by id`);
  async function unlink(connection: string, login: string) {
    await app.ops.ignore(login, 'admin', { connection });
    await app.ops.unignore(login, 'admin', { connection });
  }

  it('a user whose login has capitals outside ASCII maps back to its own local user after an unlink, never to a second one', async () => {
    const login = 'ÄNNE.ÖZ-ÇELIK';
    await ldap.load([personByCn('uni-t', login), groupOfCn('uni-g', ['uni-t'])].join('\n'));
    await sync('uni');
    const first = await mappingOfCn('uni-t');
    expect(first?.status).toBe('mapped');
    await unlink('uni', `cn=uni-t,ou=people,${BASE}`);
    expect((await sync('uni')).run.usersCreated).toBe(0);
    expect(await mappingOfCn('uni-t')).toEqual({ status: 'mapped', local_user_id: first!.local_user_id });
    expect(await rows(app, `select id from local_users where login = '${login}'`)).toEqual([{ id: first!.local_user_id }]);
  });

  it.each([
    { n: 1, local: 'JÖRG.MÜLLER', directory: 'jörg.müller' },
    { n: 2, local: 'ΟΔΥΣΣΕΑΣ', directory: 'οδυσσεας' }, // a word's last sigma lowers to ς
    { n: 3, local: 'ДМИТРИЙ', directory: 'Дмитрий' },
  ])('a directory login and a local login that differ only in the case of letters outside ASCII are one key: $directory', async ({ n, local, directory }) => {
    // A local user another application created, its login in capitals.
    const [made] = await rows<{ id: number }>(app, `insert into local_users (login, mail) values ('${local}', 'variant${n}@example.org') returning id`);
    await ldap.load([personByCn(`variant-t${n}`, directory), groupOfCn(`variant-g${n}`, [`variant-t${n}`])].join('\n'));
    expect((await sync('variant')).run.usersCreated).toBe(0);
    expect(await mappingOfCn(`variant-t${n}`)).toEqual({ status: 'mapped', local_user_id: made!.id });
  });

  it('a directory group whose name differs from a local group only by capitals outside ASCII is its duplicate, not a second group', async () => {
    await rows(app, `insert into local_groups (name) values ('UNI-ÄRZTE') returning id`);
    await ldap.load(groupOfCn('uni-ärzte', ['uni-t']));
    const result = await sync('uni');
    expect(result.run).toMatchObject({ groupsCreated: 0, groupsDuplicated: 1 });
    expect(await rows(app, `select name from local_groups where name in ('UNI-ÄRZTE', 'uni-ärzte') order by name`)).toEqual([{ name: 'UNI-ÄRZTE' }]);
  });

  it('a conflict between two local users with one key is mapped when one of them goes, and a third user with that key is a conflict', async () => {
    const made = await rows<{ id: number }>(
      app,
      `insert into local_users (login, mail) values ('dup-a', 'dup@example.org'), ('dup-b', 'DUP@example.org') returning id`,
    );
    await ldap.load([person('locals-t', 'Dup@Example.org'), groupOf('locals-g', ['locals-t'])].join('\n'));
    await sync('locals');
    const [conflict] = await rows<{ status: string; candidates: number[] }>(app, `select status, candidates from mappings where login = 'locals-t'`);
    expect(conflict).toEqual({ status: 'conflict', candidates: made.map((r) => r.id) });
    await rows(app, `delete from local_users where id = ${made[0]!.id}`);
    expect((await sync('locals')).run.usersCreated).toBe(0);
    expect(await mappingOf('locals-t')).toEqual({ status: 'mapped', local_user_id: made[1]!.id });
    // A second directory user with the same key: the local user is taken, so a conflict, not a copy.
    await ldap.load([person('locals-u', 'dup@EXAMPLE.org'), `dn: ${groupDn('locals-g')}\nchangetype: modify\nadd: member\nmember: ${userDn('locals-u')}\n`].join('\n'));
    await sync('locals');
    expect((await mappingOf('locals-u'))?.status).toBe('conflict');
    expect(await rows(app, `select id from local_users where lower(mail) = 'dup@example.org' order by id`)).toEqual([{ id: made[1]!.id }]);
  });

  it.each([
    { what: 'unmapped (no mail)', connection: 'fresh', before: [null, 'fresh-p@example.org'] as const },
    { what: 'in conflict (a shared mail)', connection: 'freshconflict', before: ['fresh-shared@example.org', 'fresh-shared@example.org'] as const },
  ])('a user $what since its first sync, never given a local user, is created when it becomes creatable', async ({ connection, before }) => {
    // The matrix's users were created at their first sync; this one never was: its mapping row
    // exists (unmapped or conflict) when the run that creates its local user writes it.
    const [t, p] = [`${connection}-t`, `${connection}-p`];
    await ldap.load([person(t, before[0]), person(p, before[1]), groupOf(`${connection}-g`, [t, p])].join('\n'));
    await sync(connection);
    expect(await mappingOf(t)).toEqual({ status: before[0] === null ? 'unmapped' : 'conflict', local_user_id: null });
    await ldap.load([setMail(t, `${t}@example.org`), setMail(p, `${p}@example.org`)].join('\n'));
    const result = await sync(connection);
    expect(result.run.usersCreated).toBe(before[0] === null ? 1 : 2);
    for (const login of [t, p]) {
      const m = await mappingOf(login);
      expect(m?.status).toBe('mapped');
      expect(await localUsersWith(`${login}@example.org`)).toEqual([{ id: m!.local_user_id }]);
    }
    const fingerprint = await storeFingerprint(app);
    expect((await sync(connection)).run.status).toBe('success');
    expect(await storeFingerprint(app)).toBe(fingerprint);
  });

  it.each([
    { what: 'unmapped (no mail)', connection: 'held', before: [null, 'held-p@example.org'] as const },
    { what: 'in conflict (a shared mail)', connection: 'heldconflict', before: ['shared@example.org', 'shared@example.org'] as const },
  ])('a user $what who becomes creatable in a run held for approval is created when it is approved', async ({ connection, before }) => {
    const [t, p] = [`${connection}-t`, `${connection}-p`];
    await ldap.load([person(t, before[0]), person(p, before[1]), groupOf(`${connection}-g`, [t, p]), groupOf(`${connection}-gone`, [p])].join('\n'));
    await sync(connection);
    expect((await mappingOf(t))?.status).toBe(before[0] === null ? 'unmapped' : 'conflict');
    // t becomes creatable (p gets a mail of its own) in the run that deletes a linked group: held.
    await ldap.load([setMail(t, `${t}@example.org`), setMail(p, `${p}@example.org`), `dn: ${groupDn(`${connection}-gone`)}\nchangetype: delete\n`].join('\n'));
    const held = await app.engine.sync({ connection, trigger: 'manual', actor: 'test' });
    expect(held.run.status).toBe('awaiting_approval');
    const approved = await app.ops.approve(held.run.id, 'admin:ann');
    expect(approved.run.error ?? approved.run.status).toBe('success');
    const m = await mappingOf(t);
    expect(m?.status).toBe('mapped');
    expect(await localUsersWith(`${t}@example.org`)).toEqual([{ id: m!.local_user_id }]);
    // Nothing left to do.
    const fingerprint = await storeFingerprint(app);
    expect((await sync(connection)).run.status).toBe('success');
    expect(await storeFingerprint(app)).toBe(fingerprint);
  });
});
