/**
 * A directory group that two connections both read: the first creates the local group, the
 * second finds it taken (a duplicate). The duplicates list names the owner; linking into another
 * connection's group is refused (one source per local group); "sync as a separate group" creates
 * "app-ops (corp-ad)" (or the next free name) and the link turns green at the next sync.
 */
import { sql } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { queryRows } from '../../src/store/db.ts';
import { type TestApp, createTestApp, ldapConnection } from '../support/app.ts';
import { FIXTURE_LDIF, type SlapdHandle, startSlapd } from '../support/slapd.ts';

describe('duplicates across connections', () => {
  let ldap: SlapdHandle;
  let app: TestApp;

  beforeEach(async () => {
    ldap = await startSlapd({ ldif: [FIXTURE_LDIF.scenarios] });
  });
  afterEach(async () => {
    await app?.close();
    await ldap?.stop();
  });

  it('names the owner, refuses a second source, and syncs the duplicate as a separately named group that turns green', async () => {
    const scope = { groups: { filter: '(cn=app-ops)' } };
    app = await createTestApp('postgres', [ldapConnection(ldap, { name: 'corp', ...scope }), ldapConnection(ldap, { name: 'corp-ad', ...scope })]);
    await app.store.db.execute(sql`insert into local_groups (name) values ('app-ops (corp-ad)')`); // the first choice of name is taken
    expect((await app.ops.sync({ connection: 'corp', trigger: 'manual', actor: 'ann' })).run.status).toBe('success');
    expect((await app.ops.sync({ connection: 'corp-ad', trigger: 'manual', actor: 'ann' })).run.groupsDuplicated).toBe(1);

    const page = await app.ops.duplicates('corp-ad');
    expect(page.items).toEqual([expect.objectContaining({ name: 'app-ops', owner: 'corp', localGroupName: 'app-ops' })]);
    const dup = page.items[0]!;
    await expect(app.ops.resolveDuplicate(dup.id, 'link', 'ann', { connection: 'corp-ad' })).rejects.toMatchObject({
      code: 'INVALID_STATE',
      message: expect.stringContaining('is fed by corp (app-ops); a local group has one source'),
    });

    const r = await app.ops.resolveDuplicate(dup.id, 'separate', 'ann', { connection: 'corp-ad' });
    expect(r.localGroup).toEqual({ id: expect.any(Number), name: 'app-ops (corp-ad) 2' });
    await expect(app.ops.resolveDuplicate(dup.id, 'separate', 'bob', { connection: 'corp-ad' })).rejects.toMatchObject({ code: 'INVALID_STATE', message: expect.stringMatching(/already linked by ann/) });

    const again = (await app.ops.sync({ connection: 'corp-ad', trigger: 'manual', actor: 'ann' })).run;
    expect([again.status, again.error]).toEqual(['success', null]);
    const health = (await app.ops.health()).find((c) => c.name === 'corp-ad')!;
    expect(health.links.map((l) => [l.name, l.status, l.members])).toEqual([['app-ops', 'green', expect.any(Number)]]);
    const groups = await queryRows<{ name: string; members: number }>(
      app.store.db,
      sql`select g.name, (select count(*) from memberships m where m.group_id = g.id)::int as members from local_groups g order by g.name`,
    );
    const byName = Object.fromEntries(groups.map((g) => [g.name, g.members]));
    expect(byName['app-ops (corp-ad) 2']).toBe(byName['app-ops']);
    expect(byName['app-ops']).toBeGreaterThan(0);
    expect(byName['app-ops (corp-ad)']).toBe(0);
    const audit = await queryRows<{ action: string; after: { localGroupName?: string } }>(app.store.db, sql`select action, after from audit_log where action like 'duplicate.%'`);
    expect(audit).toEqual([{ action: 'duplicate.separated', after: expect.objectContaining({ status: 'linked', localGroupName: 'app-ops (corp-ad) 2' }) }]);
  });
});
