/**
 * The sync engine against a real Active Directory domain controller (Samba 4 AD, see
 * test/support/samba-ad.ts), on PostgreSQL: vendor detection from the root DSE, objectGUID ids,
 * userAccountControl, nested groups, a 2,000-member group, deletions, linking by name and by
 * objectGUID, and a refused bind.
 *
 * One Samba DC per machine (it binds 127.0.0.1:389): it is started once for this file, and the
 * tests share its directory. They run in order and build on each other (the first sync creates
 * what the deletion tests remove).
 */
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestApp, createTestApp } from '../support/app.ts';
import { type SambaAdHandle, startSambaAd } from '../support/samba-ad.ts';
import { rows, membersOf } from '../support/store.ts';

const BULK = 2000;
const bulkName = (i: number) => `gs-u${String(i).padStart(5, '0')}`;
const GUID_TEXT = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * objectGUID bytes → text, written here independently of src/: the first three groups are
 * little-endian (bytes 3 2 1 0 - 5 4 - 7 6), the last two are in byte order.
 */
function guidText(b: Buffer): string {
  expect(b.length).toBe(16);
  const hex = (indices: number[]) => indices.map((i) => b[i]!.toString(16).padStart(2, '0')).join('');
  return `${hex([3, 2, 1, 0])}-${hex([5, 4])}-${hex([7, 6])}-${hex([8, 9])}-${hex([10, 11, 12, 13, 14, 15])}`;
}



describe('sync engine against Samba Active Directory', () => {
  let ad: SambaAdHandle;
  let app: TestApp;
  /** Users and groups alike live in CN=Users. */
  const dnOf = (cn: string) => `CN=${cn},${ad.usersDn}`;

  const connection = (overrides: Record<string, unknown> = {}) => ({
    name: 'corp',
    kind: 'ldap',
    url: ad.url,
    vendor: 'auto',
    bindDn: ad.bindDn,
    passwordEnv: 'SAMBA_PASSWORD',
    baseDn: ad.baseDn,
    groups: { filter: '(&(cn=gs-*)(!(cn=gs-link-*)))' },
    timeoutSeconds: 30,
    // The kept-entries mode: DirSync changes merged into the kept users and groups.
    incremental: 'entries',
    ...overrides,
  });
  const env = () => ({ SAMBA_PASSWORD: ad.password, WRONG_PASSWORD: 'not-the-password' });
  const sync = (connectionName = 'corp') => app.engine.sync({ connection: connectionName, trigger: 'manual', actor: 'test' });

  /** The objectGUID of one entry as ldapts returns it with explicitBufferAttributes, decoded here. */
  async function guidOf(dn: string): Promise<string> {
    const client = await ad.client();
    try {
      const { searchEntries } = await client.search(dn, {
        scope: 'base',
        filter: '(objectClass=*)',
        attributes: ['objectGUID'],
        explicitBufferAttributes: ['objectGUID'],
      });
      const raw = searchEntries[0]?.objectGUID;
      expect(Buffer.isBuffer(raw)).toBe(true);
      return guidText(raw as Buffer);
    } finally {
      await client.unbind().catch(() => {});
    }
  }

  beforeAll(async () => {
    ad = await startSambaAd({ waitForPortMs: 60_000 });
    const user = (cn: string, uac: number, mail = `${cn}@gs.test`) =>
      // No unicodePwd: Samba accepts an enabled account without a password, and hashing costs ~20 ms a user.
      `dn: ${dnOf(cn)}\nobjectClass: user\nsAMAccountName: ${cn}\nuserAccountControl: ${uac}\nmail: ${mail}\ndisplayName: ${cn}\n`;
    const group = (cn: string, members: string[], description = `${cn} test group`) =>
      `dn: ${dnOf(cn)}\nobjectClass: group\nsAMAccountName: ${cn}\ndescription: ${description}\n${members.map((m) => `member: ${m}\n`).join('')}`;
    const ldif: string[] = [];
    for (let i = 0; i < BULK; i++) ldif.push(user(bulkName(i), 512));
    for (const cn of ['gs-alice', 'gs-bob', 'gs-carol', 'gs-dave', 'gs-enabled', 'gs-leaver', 'gs-lina', 'gs-gus']) ldif.push(user(cn, 512));
    ldif.push(user('gs-disabled', 514));
    // Children before parents: a member must exist when it is added.
    ldif.push(group('gs-grandchild', [dnOf('gs-carol')]));
    ldif.push(group('gs-child', [dnOf('gs-bob'), dnOf('gs-grandchild')]));
    ldif.push(group('gs-parent', [dnOf('gs-alice'), dnOf('gs-child')]));
    ldif.push(group('gs-flags', [dnOf('gs-enabled'), dnOf('gs-disabled'), dnOf('gs-leaver')]));
    ldif.push(group('gs-doomed', [dnOf('gs-dave')]));
    ldif.push(group('gs-big', [], `${BULK} members`));
    ldif.push(group('gs-link-name', [dnOf('gs-lina')]));
    ldif.push(group('gs-link-guid', [dnOf('gs-gus'), dnOf('gs-alice')]));
    await ad.addLdif(ldif.join('\n'));
    await ad.addMembers(dnOf('gs-big'), Array.from({ length: BULK }, (_, i) => dnOf(bulkName(i))), 500);
    app = await createTestApp(
      'postgres',
      [connection(), connection({ name: 'manual', groups: { list: [] } }), connection({ name: 'wrongpw', passwordEnv: 'WRONG_PASSWORD' })],
      { env: env() },
    );
  }, 120_000);

  afterAll(async () => {
    await app?.close();
    await ad?.stop();
  }, 30_000);

  it('detects Active Directory and reads objectGUIDs, userAccountControl, nested groups and a 2,000-member group', async () => {
    const result = await sync();
    expect(result.run.error ?? result.run.status).toBe('success');
    expect(result.run).toMatchObject({ groupsCreated: 6, groupsDeleted: 0, usersCreated: BULK + 7, usersDeactivated: 0 });
    // vendor: auto → Active Directory, from the root DSE's capabilities.
    expect((await app.ops.status('corp')).vendor).toBe('active-directory');
    const [conn] = await rows<{ vendor: string }>(app, `select vendor from connections where name = 'corp'`);
    expect(conn?.vendor).toBe('active-directory');

    // Stable ids are objectGUIDs in their usual text form.
    const [alice] = await rows<{ directory_id: string; dn: string }>(app, `select directory_id, dn from mappings where login = 'gs-alice'`);
    expect(alice?.directory_id).toBe(await guidOf(dnOf('gs-alice')));
    expect(alice?.directory_id).toMatch(GUID_TEXT);
    // The same bytes as ldapsearch prints (base64), so the test's decoding starts from the wire value.
    const ldapsearch = execFileSync(
      'ldapsearch',
      ['-x', '-LLL', '-H', ad.url, '-D', ad.bindDn, '-w', ad.password, '-b', dnOf('gs-alice'), '-s', 'base', '(objectClass=*)', 'objectGUID'],
      { encoding: 'utf8' },
    );
    const b64 = /^objectGUID:: (\S+)$/m.exec(ldapsearch)?.[1];
    expect(b64).toBeDefined();
    expect(guidText(Buffer.from(b64!, 'base64'))).toBe(alice?.directory_id);
    const ids = await rows<{ directory_id: string }>(app, `select directory_id from mappings where connection = 'corp'`);
    expect(ids).toHaveLength(BULK + 7);
    for (const r of ids) expect(r.directory_id).toMatch(GUID_TEXT);
    expect(new Set(ids.map((r) => r.directory_id)).size).toBe(ids.length);
    const [bigLink] = await rows<{ directory_id: string }>(app, `select directory_id from group_links where name = 'gs-big'`);
    expect(bigLink?.directory_id).toBe(await guidOf(dnOf('gs-big')));

    // userAccountControl: 514 (ACCOUNTDISABLE) → inactive, 512 → active.
    const flags = await rows<{ login: string; active: boolean }>(app, `select login, active from local_users where login in ('gs-enabled', 'gs-disabled') order by login`);
    expect(flags).toEqual([
      { login: 'gs-disabled', active: false },
      { login: 'gs-enabled', active: true },
    ]);
    expect(await membersOf(app, 'gs-flags')).toEqual(['gs-disabled', 'gs-enabled', 'gs-leaver']);

    // Nested groups are expanded through every level.
    expect(await membersOf(app, 'gs-parent')).toEqual(['gs-alice', 'gs-bob', 'gs-carol']);
    expect(await membersOf(app, 'gs-child')).toEqual(['gs-bob', 'gs-carol']);
    expect(await membersOf(app, 'gs-grandchild')).toEqual(['gs-carol']);

    // The big group is read completely (Samba sends `member` whole; Windows would cut it at 1,500).
    expect(await membersOf(app, 'gs-big')).toEqual(Array.from({ length: BULK }, (_, i) => bulkName(i)));
    // Groups outside the scope filter are not linked.
    expect(await rows(app, `select 1 from local_groups where name like 'gs-link-%' or name = 'Domain Users'`)).toEqual([]);
  });

  it('deactivates a user deleted from the directory on the next sync, and never deletes it', async () => {
    const [before] = await rows<{ id: number }>(app, `select id from local_users where login = 'gs-leaver'`);
    expect(before).toBeDefined();
    await ad.deleteDn(dnOf('gs-leaver'));
    const result = await sync();
    expect(result.run).toMatchObject({ status: 'success', usersDeactivated: 1, groupsDeleted: 0, membershipsRemoved: 1 });
    const [leaver] = await rows<{ id: number; active: boolean; deactivated_at: Date | null }>(
      app,
      `select id, active, deactivated_at from local_users where login = 'gs-leaver'`,
    );
    expect(leaver).toMatchObject({ id: before!.id, active: false });
    expect(leaver?.deactivated_at).not.toBeNull();
    expect(await membersOf(app, 'gs-flags')).toEqual(['gs-disabled', 'gs-enabled']);
    const [mapping] = await rows<{ in_scope: boolean }>(app, `select in_scope from mappings where login = 'gs-leaver'`);
    expect(mapping?.in_scope).toBe(false);
  });

  it('deletes the local group of a group deleted from the directory', async () => {
    expect(await membersOf(app, 'gs-doomed')).toEqual(['gs-dave']);
    await ad.deleteDn(dnOf('gs-doomed'));
    const result = await sync();
    expect(result.run).toMatchObject({ status: 'success', groupsDeleted: 1, groupsCreated: 0, usersDeactivated: 1 });
    expect(await rows(app, `select 1 from local_groups where name = 'gs-doomed'`)).toEqual([]);
    // Its only member left the scope: deactivated, kept.
    const [dave] = await rows<{ active: boolean }>(app, `select active from local_users where login = 'gs-dave'`);
    expect(dave?.active).toBe(false);
    // Everything else is as it was.
    expect((await membersOf(app, 'gs-big')).length).toBe(BULK);
    expect(await membersOf(app, 'gs-parent')).toEqual(['gs-alice', 'gs-bob', 'gs-carol']);
  });

  it('links groups one by one, by name and by objectGUID', async () => {
    // Connection `manual` links nothing by filter; its groups are outside corp's filter.
    const byName = await app.ops.link('manual', 'gs-link-name', 'admin:ann');
    expect(byName.group).toMatchObject({ name: 'gs-link-name', dn: dnOf('gs-link-name'), description: 'gs-link-name test group' });
    expect(byName.group.id).toBe(await guidOf(dnOf('gs-link-name')));

    const guid = await guidOf(dnOf('gs-link-guid'));
    const byGuid = await app.ops.link('manual', guid.toUpperCase(), 'admin:ann');
    expect(byGuid.group).toMatchObject({ id: guid, name: 'gs-link-guid', dn: dnOf('gs-link-guid') });
    // A GUID of no group finds nothing.
    await expect(app.ops.link('manual', '00000000-1111-2222-3333-444444444444', 'admin:ann')).rejects.toThrow(/no group/);

    const result = await sync('manual');
    expect(result.run.error ?? result.run.status).toBe('success');
    // gs-alice already has a local user (from corp): matched by mail, not created again.
    expect(result.run).toMatchObject({ groupsCreated: 2, usersCreated: 2, usersUpdated: 1, groupsDuplicated: 0 });
    expect(await membersOf(app, 'gs-link-name')).toEqual(['gs-lina']);
    expect(await membersOf(app, 'gs-link-guid')).toEqual(['gs-alice', 'gs-gus']);
    expect(await rows(app, `select 1 from local_users where login = 'gs-alice'`)).toHaveLength(1);
    const links = await rows<{ name: string; directory_id: string }>(app, `select name, directory_id from group_links where connection = 'manual' order by name`);
    expect(links).toEqual([
      { name: 'gs-link-guid', directory_id: guid },
      { name: 'gs-link-name', directory_id: byName.group.id },
    ]);
  });

  it('syncs incrementally with DirSync, and a full reconciliation after the incremental syncs finds nothing to change', async () => {
    const first = await sync();
    expect(first.run.stats).toMatchObject({ trackedBy: 'dirsync' });
    // A membership in a nested group and a changed mail: read as changes, not in full.
    await ad.modifyLdif(`dn: ${dnOf('gs-grandchild')}\nchangetype: modify\nadd: member\nmember: ${dnOf('gs-dave')}\n\ndn: ${dnOf('gs-alice')}\nchangetype: modify\nreplace: mail\nmail: alice.new@gs.test\n`);
    const changed = await sync();
    expect(changed.run.stats).toMatchObject({ readMode: 'incremental', trackedBy: 'dirsync' });
    expect(changed.run).toMatchObject({ status: 'success', membershipsAdded: 3, usersUpdated: 2 }); // dave reaches grandchild, child and parent; alice's mail; dave back in scope
    expect(await membersOf(app, 'gs-parent')).toEqual(['gs-alice', 'gs-bob', 'gs-carol', 'gs-dave']);
    // Nothing changed: nothing planned.
    const same = await sync();
    expect(same.plan).toBeNull();
    expect(same.run.stats).toMatchObject({ readMode: 'incremental', unchangedSince: changed.run.id });
    // A member deleted: AD drops it from its groups without reporting them, so this change is read in full.
    await ad.deleteDn(dnOf('gs-carol'));
    const deleted = await sync();
    expect(deleted.run.stats).toMatchObject({ readMode: 'full', readReason: 'linkedMembersMoved' });
    expect(deleted.run).toMatchObject({ status: 'success', usersDeactivated: 1 });
    await ad.modifyLdif(`dn: ${dnOf('gs-child')}\nchangetype: modify\ndelete: member\nmember: ${dnOf('gs-bob')}\n`);
    expect((await sync()).run.stats).toMatchObject({ readMode: 'incremental' });

    const reconcile = await app.engine.sync({ connection: 'corp', trigger: 'manual', actor: 'test', full: true });
    expect(reconcile.run.stats).toMatchObject({ readMode: 'full', readReason: 'requested', reconcileDiffs: 0 });
    expect(reconcile.counts).toMatchObject({ groupsCreated: 0, groupsModified: 0, groupsDeleted: 0, usersCreated: 0, usersUpdated: 0, usersDeactivated: 0, membershipsAdded: 0, membershipsRemoved: 0 });
  });

  it('in detect mode, a change DirSync reports on a user no linked group reaches plans nothing (the graph read is the one kept); a member\'s change is planned', async () => {
    const detect = await createTestApp('postgres', [connection({ incremental: 'detect' })], { env: env() });
    try {
      const run = () => detect.engine.sync({ connection: 'corp', trigger: 'manual', actor: 'test' });
      const first = await run();
      expect(first.run.error ?? null).toBeNull();
      expect(first.run.stats).toMatchObject({ readMode: 'full', trackedBy: 'dirsync' });
      // gs-lina is only in gs-link-name, which the scope filter leaves out.
      await ad.modifyLdif(`dn: ${dnOf('gs-lina')}\nchangetype: modify\nreplace: displayName\ndisplayName: Lina elsewhere\n`);
      const quiet = await run();
      expect(quiet.plan).toBeNull();
      expect(quiet.run.stats).toMatchObject({ readMode: 'full', readReason: 'changed', trackedBy: 'dirsync', sameGraph: true, unchangedSince: first.run.id });
      await ad.modifyLdif(`dn: ${dnOf('gs-alice')}\nchangetype: modify\nreplace: displayName\ndisplayName: Alice renamed\n`);
      const planned = await run();
      expect(planned.run.stats?.['sameGraph']).toBeUndefined();
      expect(planned.plan!.users.update.map((u) => [u.after.login, u.after.displayName])).toEqual([['gs-alice', 'Alice renamed']]);
    } finally {
      await detect.close();
    }
  });

  it('a wrong password is a failed run with DIRECTORY_AUTH_FAILED', async () => {
    const before = await rows(app, `select count(*)::int as n from local_users`);
    const result = await sync('wrongpw');
    expect(result.run).toMatchObject({ status: 'failed', errorCode: 'DIRECTORY_AUTH_FAILED' });
    expect(result.run.error).toMatch(/invalid credentials/);
    expect(result.run.error).not.toContain('not-the-password');
    expect(await rows(app, `select count(*)::int as n from local_users`)).toEqual(before);
  });
});
