/**
 * The sync engine against a real OpenLDAP slapd, on PostgreSQL:
 * every seed scenario of DESIGN.md §2.
 */
import { sql } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Driver, DRIVERS, type TestApp, createTestApp, ldapConnection } from '../support/app.ts';
import { FIXTURE_LDIF, type SlapdHandle, startSlapd } from '../support/slapd.ts';
import { rows, membersOf, storeFingerprint } from '../support/store.ts';

const people = (uid: string) => `uid=${uid},ou=people,dc=example,dc=org`;
const group = (cn: string, ou = 'groups') => `cn=${cn},ou=${ou},dc=example,dc=org`;




describe.each(DRIVERS)('sync engine on %s', (driver: Driver) => {
  let ldap: SlapdHandle;
  let app: TestApp;

  beforeEach(async () => {
    ldap = await startSlapd({ ldif: [FIXTURE_LDIF.scenarios, FIXTURE_LDIF.bigGroup] });
  });
  afterEach(async () => {
    await app?.close();
    await ldap?.stop();
  });

  const sync = (extra: Partial<Parameters<TestApp['engine']['sync']>[0]> = {}) =>
    app.engine.sync({ connection: 'corp', trigger: 'manual', actor: 'test', ...extra });

  it('reads nested, cyclic, escaped, mixed-case and large groups completely', async () => {
    app = await createTestApp(driver, [ldapConnection(ldap)]);
    const result = await sync();
    expect(result.run.status).toBe('partial'); // dave has no mail
    expect(result.run.skipped).toEqual(expect.arrayContaining([expect.objectContaining({ ref: expect.stringMatching(/uid=dave/) })]));
    expect(await membersOf(app, 'app-admins')).toEqual(['alice', 'bob', 'carol']);
    expect(await membersOf(app, 'cycle-a')).toEqual(['frank', 'grace']);
    expect(await membersOf(app, 'cycle-b')).toEqual(['frank', 'grace']);
    expect(await membersOf(app, 'mixed-case-members')).toEqual(['alice', 'bob', 'carol']);
    const special = await rows<{ mail: string }>(
      app,
      `select u.mail from memberships m join local_groups g on g.id = m.group_id join local_users u on u.id = m.user_id
       where g.name = 'special-chars' order by u.mail`,
    );
    expect(special.map((r) => r.mail)).toEqual(['bslash@example.org', 'jsmith@example.org', 'pminus@example.org', 'rtables@example.org', 'zoe.angstrom@example.org']);
    expect((await membersOf(app, 'big-group')).length).toBe(1600);
    expect(await membersOf(app, 'dangling-member')).toEqual(['alice']);
    // A disabled directory account is a deactivated local user.
    const [erin] = await rows<{ active: boolean }>(app, `select active from local_users where login = 'erin'`);
    expect(erin?.active).toBe(false);
    // Stable ids are entryUUIDs.
    const ids = await rows<{ directory_id: string }>(app, `select directory_id from mappings limit 5`);
    for (const r of ids) expect(r.directory_id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('creates users with the connection defaults and records counters and audit', async () => {
    app = await createTestApp(driver, [ldapConnection(ldap, { groups: { list: ['app-ops'] }, userDefaults: { active: true, attributes: { locale: 'fr' } } })]);
    const result = await sync();
    expect(result.run.error ?? result.run.status).toBe("success");
    expect(result.run).toMatchObject({ groupsCreated: 1, usersCreated: 2, membershipsAdded: 2, groupsDeleted: 0, usersDeactivated: 0 });
    expect(result.run.summary).toMatchObject({ users: { impacted: 2, success: 2 }, groups: { impacted: 1, success: 1 } });
    const users = await rows<{ login: string; attributes: Record<string, string>; created_by_connection: string }>(app, `select login, attributes, created_by_connection from local_users order by login`);
    expect(users).toEqual([
      { login: 'bob', attributes: { locale: 'fr' }, created_by_connection: 'corp' },
      { login: 'carol', attributes: { locale: 'fr' }, created_by_connection: 'corp' },
    ]);
    const audit = await rows<{ action: string; actor: string }>(app, `select action, actor from audit_log where run_id = ${result.run.id} order by id`);
    expect(audit.map((a) => a.action)).toEqual(['group.created', 'user.created', 'user.created', 'group.members_changed']);
    expect(new Set(audit.map((a) => a.actor))).toEqual(new Set(['test']));
  });

  it('a sync creating more than 1,000 objects records them in one audit entry, and the created rows name the run', async () => {
    app = await createTestApp(driver, [ldapConnection(ldap)]);
    const result = await sync();
    const audit = await rows<{ action: string; target_id: string; after: Record<string, number> }>(app, `select action, target_id, after from audit_log where run_id = ${result.run.id} order by id`);
    const [summary, ...rest] = audit;
    expect(summary).toEqual({
      action: 'run.bulk_created',
      target_id: String(result.run.id),
      after: { users: result.run.usersCreated, groups: result.run.groupsCreated, memberships: result.run.membershipsAdded, createdRunId: result.run.id },
    });
    // Nothing else was created one by one; the per-object entries of other changes stay.
    expect(rest.filter((a) => ['user.created', 'group.created', 'group.members_changed'].includes(a.action))).toEqual([]);
    const [users] = await rows<{ n: number }>(app, `select count(*)::int as n from local_users where created_run_id = ${result.run.id}`);
    const [groups] = await rows<{ n: number }>(app, `select count(*)::int as n from local_groups where created_run_id = ${result.run.id}`);
    expect([users?.n, groups?.n]).toEqual([result.run.usersCreated, result.run.groupsCreated]);

    // A later change is audited object by object.
    await ldap.load(`dn: ${group('app-ops')}\nchangetype: modify\nadd: member\nmember: ${people('heidi')}\n`);
    const second = await sync();
    const later = await rows<{ action: string }>(app, `select action from audit_log where run_id = ${second.run.id} order by id`);
    expect(later.length).toBeGreaterThan(0); // app-ops and the groups that nest it
    expect(new Set(later.map((a) => a.action))).toEqual(new Set(['group.members_changed']));
  });

  it('a second sync with no change writes nothing', async () => {
    app = await createTestApp(driver, [ldapConnection(ldap)]);
    await sync();
    const before = await storeFingerprint(app);
    const second = await sync();
    expect(second.run).toMatchObject({ groupsCreated: 0, groupsModified: 0, usersCreated: 0, usersUpdated: 0, membershipsAdded: 0, membershipsRemoved: 0 });
    expect(await storeFingerprint(app)).toBe(before);
  });

  it('skips an unchanged group by its digests; a full plan finds a membership another application removed', async () => {
    app = await createTestApp(driver, [ldapConnection(ldap, { groups: { list: ['app-ops'] } })]);
    expect((await sync()).run.status).toBe('success');
    expect(await membersOf(app, 'app-ops')).toEqual(['bob', 'carol']);
    await app.store.db.execute(sql`delete from memberships where user_id = (select id from local_users where login = 'carol')`);
    // The directory group did not change: its digest vouches for it, its memberships are not planned.
    expect((await sync()).run).toMatchObject({ status: 'success', membershipsAdded: 0 });
    expect(await membersOf(app, 'app-ops')).toEqual(['bob']);
    const full = await sync({ fullPlan: true });
    expect(full.run).toMatchObject({ status: 'success', membershipsAdded: 1 });
    expect(await membersOf(app, 'app-ops')).toEqual(['bob', 'carol']);
  });

  it('a full plan stores the digests again, so the next sync is vouched by them', async () => {
    app = await createTestApp(driver, [ldapConnection(ldap, { groups: { list: ['app-ops'] } })]);
    await sync();
    const digests = async () => (await rows<{ n: number }>(app, `select (select count(*) from user_digests)::int + (select count(*) from group_digests)::int as n`))[0]!.n;
    const stored = await digests();
    expect(stored).toBe(3); // bob, carol and app-ops
    await app.store.db.execute(sql`delete from user_digests`);
    await app.store.db.execute(sql`delete from group_digests`);
    expect((await sync({ fullPlan: true })).run).toMatchObject({ status: 'success', membershipsAdded: 0, usersUpdated: 0 });
    expect(await digests()).toBe(stored);
    // Vouched by the digests the full plan stored: a membership removed behind its back is not seen.
    await app.store.db.execute(sql`delete from memberships where user_id = (select id from local_users where login = 'carol')`);
    expect((await sync()).run).toMatchObject({ status: 'success', membershipsAdded: 0 });
  });

  it('applies a rename and a description change to the same local group', async () => {
    app = await createTestApp(driver, [ldapConnection(ldap)]);
    await sync();
    const [{ id } = { id: 0 }] = await rows<{ id: number }>(app, `select id from local_groups where name = 'app-admins'`);
    await ldap.load(`dn: ${group('app-admins')}\nchangetype: modrdn\nnewrdn: cn=app-administrators\ndeleteoldrdn: 1\n\ndn: cn=app-administrators,ou=groups,dc=example,dc=org\nchangetype: modify\nreplace: description\ndescription: Renamed admin team\n`);
    const result = await sync();
    expect(result.run).toMatchObject({ groupsModified: 1, groupsCreated: 0, groupsDeleted: 0 });
    const [renamed] = await rows<{ id: number; name: string; description: string }>(app, `select id, name, description from local_groups where id = ${id}`);
    expect(renamed).toEqual({ id, name: 'app-administrators', description: 'Renamed admin team' });
    expect(await membersOf(app, 'app-administrators')).toEqual(['alice', 'bob', 'carol']);
    const [audit] = await rows<{ before: { name: string }; after: { name: string } }>(app, `select before, after from audit_log where action = 'group.modified'`);
    expect(audit).toMatchObject({ before: { name: 'app-admins' }, after: { name: 'app-administrators' } });
  });

  it('deletes the local group of a group gone from the directory, and deactivates users who left', async () => {
    app = await createTestApp(driver, [ldapConnection(ldap, { groups: { filter: '(|(cn=cycle-*)(cn=app-*))' } })]);
    await sync();
    await ldap.load(`dn: ${group('cycle-b')}\nchangetype: delete\n\ndn: ${group('cycle-a')}\nchangetype: modify\ndelete: member\nmember: ${group('cycle-b')}\n`);
    const result = await sync();
    expect(result.run).toMatchObject({ status: 'success', groupsDeleted: 1, usersDeactivated: 1 });
    expect(await rows(app, `select 1 from local_groups where name = 'cycle-b'`)).toEqual([]);
    const [grace] = await rows<{ active: boolean }>(app, `select active from local_users where login = 'grace'`);
    expect(grace?.active).toBe(false); // deactivated, never deleted
    expect(await membersOf(app, 'cycle-a')).toEqual(['frank']);
  });

  it('counts the members of a deleted group as removed memberships, and records them in its audit entry', async () => {
    app = await createTestApp(driver, [ldapConnection(ldap, { groups: { filter: '(|(cn=cycle-*)(cn=app-*))' } })]);
    await sync();
    const count = async () => Number((await rows<{ n: number }>(app, `select count(*)::int as n from memberships`))[0]?.n);
    const before = await count();
    await ldap.load(`dn: ${group('cycle-b')}\nchangetype: delete\n\ndn: ${group('cycle-a')}\nchangetype: modify\ndelete: member\nmember: ${group('cycle-b')}\n`);
    const result = await sync();
    // cycle-b lost frank and grace with the group; grace also left cycle-a.
    expect(result.run).toMatchObject({ groupsDeleted: 1, membershipsAdded: 0, membershipsRemoved: 3 });
    expect(before - (await count())).toBe(result.run.membershipsRemoved);
    const [audit] = await rows<{ before: { name: string; members: number } }>(app, `select before from audit_log where action = 'group.deleted' and run_id = ${result.run.id}`);
    expect(audit?.before).toMatchObject({ name: 'cycle-b', members: 2 });
  });

  it('adds and removes members', async () => {
    app = await createTestApp(driver, [ldapConnection(ldap, { groups: { list: ['app-ops', 'all-staff'] } })]);
    await sync();
    await ldap.load(`dn: ${group('app-ops')}\nchangetype: modify\nadd: member\nmember: ${people('heidi')}\n-\ndelete: member\nmember: ${people('bob')}\n`);
    const result = await sync();
    expect(result.run).toMatchObject({ membershipsAdded: 1, membershipsRemoved: 1, usersDeactivated: 0 });
    expect(await membersOf(app, 'app-ops')).toEqual(['carol', 'heidi']);
  });

  it('does not sync a duplicate group until it is linked, then syncs it into the existing group', async () => {
    const { store } = await createTestApp(driver, [ldapConnection(ldap)]).then(async (a) => {
      await a.store.db.execute(sql`insert into local_groups (name, description) values ('Developers', 'made by hand')`);
      return a;
    });
    app = await createTestApp(driver, [ldapConnection(ldap, { groups: { filter: '(cn=developers)' } })], { store });
    const first = await sync();
    expect(first.run.groupsDuplicated).toBe(2); // both directory groups named developers
    expect(await membersOf(app, 'Developers')).toEqual([]);
    const page = await app.ops.duplicates('corp');
    expect(page.items.map((d) => d.dn).sort()).toEqual([group('developers'), group('developers', 'legacy')]);
    const current = page.items.find((d) => d.dn === group('developers'))!;
    await app.ops.resolveDuplicate(current.id, 'link', 'admin:ann');
    await expect(app.ops.resolveDuplicate(current.id, 'ignore', 'admin:bob')).rejects.toThrow(/already linked by admin:ann/);
    const legacy = page.items.find((d) => d.dn !== group('developers'))!;
    await app.ops.resolveDuplicate(legacy.id, 'ignore', 'admin:ann');
    const second = await sync();
    expect(second.run.groupsDuplicated).toBe(0);
    // Linked to the existing local group: same id, its name and description now follow the directory.
    const [developers] = await rows<{ id: number; name: string }>(app, `select id, name from local_groups where lower(name) = 'developers'`);
    expect(developers).toEqual({ id: current.localGroupId, name: 'developers' });
    expect(await membersOf(app, 'developers')).toEqual(['alice', 'bob']);
    expect((await app.ops.duplicates('corp')).total).toBe(0);
  });

  it('puts a user matching two local users in conflict until an admin maps it', async () => {
    const seed = await createTestApp(driver, [ldapConnection(ldap)]);
    await seed.store.db.execute(sql`insert into local_users (login, mail) values ('jdoe1', 'shared@example.org'), ('jdoe2', 'SHARED@example.org')`);
    app = await createTestApp(driver, [ldapConnection(ldap, { groups: { list: ['edge-users'] } })], { store: seed.store });
    const first = await sync();
    expect(first.run.usersConflicts).toBe(1);
    const conflicts = await app.ops.conflicts('corp');
    const jdoe = conflicts.items.find((c) => c.login === 'jdoe')!;
    expect(jdoe.status).toBe('conflict');
    expect(jdoe.candidates.map((c) => c.login)).toEqual(['jdoe1', 'jdoe2']);
    expect(await membersOf(app, 'edge-users')).toEqual(['erin']);
    await app.ops.map('jdoe', `#${jdoe.candidates[1]!.id}`, 'admin:ann', { onlyIfPending: true });
    await expect(app.ops.map('jdoe', `#${jdoe.candidates[0]!.id}`, 'admin:bob', { onlyIfPending: true })).rejects.toThrow(/already resolved by admin:ann/);
    const second = await sync();
    expect(second.run.usersConflicts).toBe(0);
    const members = await rows<{ user_id: number }>(app, `select m.user_id from memberships m join local_groups g on g.id = m.group_id where g.name = 'edge-users' order by 1`);
    expect(members.map((m) => m.user_id)).toContain(jdoe.candidates[1]!.id);
    expect(members.map((m) => m.user_id)).not.toContain(jdoe.candidates[0]!.id);
    const [audit] = await rows<{ actor: string; before: { status: string }; after: { status: string } }>(app, `select actor, before, after from audit_log where action = 'user.mapped' and actor = 'admin:ann'`);
    expect(audit).toMatchObject({ before: { status: 'conflict' }, after: { status: 'mapped' } });
  });

  it('skips ignored users, and ignoring a mapped user removes its mapping and memberships', async () => {
    app = await createTestApp(driver, [ldapConnection(ldap, { groups: { list: ['app-ops'] } })]);
    await sync();
    const ignored = await app.ops.ignore('bob', 'admin:ann');
    expect(ignored.removedMemberships).toBe(1);
    expect(await membersOf(app, 'app-ops')).toEqual(['carol']);
    const [mapping] = await rows<{ status: string; local_user_id: number | null }>(app, `select status, local_user_id from mappings where login = 'bob'`);
    expect(mapping).toEqual({ status: 'ignored', local_user_id: null });
    const next = await sync();
    expect(next.run).toMatchObject({ usersIgnored: 1, membershipsAdded: 0, usersCreated: 0 });
    expect(await membersOf(app, 'app-ops')).toEqual(['carol']);
    await app.ops.unignore('bob', 'admin:ann');
    await sync();
    expect(await membersOf(app, 'app-ops')).toEqual(['bob', 'carol']); // matched again by mail
  });

  it('holds a run above the deletion threshold until an admin approves or rejects it', async () => {
    app = await createTestApp(driver, [ldapConnection(ldap, { deletionThreshold: { maxCount: 2, maxPercent: 100, minObjects: 0 } })]);
    await sync();
    const before = await storeFingerprint(app);
    await ldap.load(['cycle-a', 'cycle-b', 'app-ops', 'developers'].map((cn) => `dn: ${group(cn)}\nchangetype: delete\n`).join('\n'));
    await ldap.load(`dn: ${group('app-admins')}\nchangetype: modify\ndelete: member\nmember: ${group('app-ops')}\n`);
    const held = await sync();
    expect(held.run.status).toBe('awaiting_approval');
    expect(held.run.error).toMatch(/exceed the limit of 2/);
    expect(await storeFingerprint(app)).toBe(before);
    expect(app.notifier.events.map((e) => e.type)).toContain('run.awaiting_approval');
    const approved = await app.ops.approve(held.run.id, 'admin:ann');
    expect(approved.run).toMatchObject({ status: 'partial', decidedBy: 'admin:ann', groupsDeleted: 4 }); // partial: dave has no mail
    expect(await rows(app, `select 1 from local_groups where name in ('cycle-a','cycle-b','app-ops','developers')`)).toEqual([]);
    await expect(app.ops.reject(held.run.id, 'admin:bob')).rejects.toThrow(/not awaiting approval: it is partial by admin:ann/);
  });

  it('holds a run that removes more memberships than their threshold, with the removed memberships in its sample', async () => {
    app = await createTestApp(driver, [ldapConnection(ldap)]); // the default thresholds
    const bulk = Array.from({ length: 600 }, (_, k) => `member: ${people(`bulk-user-${String(k + 1).padStart(4, '0')}`)}`);
    await ldap.load(`dn: ${group('bulk-copy')}\nchangetype: add\nobjectClass: groupOfNames\ncn: bulk-copy\n${bulk.join('\n')}\n`);
    await sync();
    expect((await membersOf(app, 'bulk-copy')).length).toBe(600);
    const before = await storeFingerprint(app);
    // The 600 users stay in scope (big-group): only their memberships of bulk-copy go.
    await ldap.load(`dn: ${group('bulk-copy')}\nchangetype: modify\ndelete: member\n${bulk.join('\n')}\n-\nadd: member\nmember: ${people('alice')}\n`);
    const held = await sync();
    expect(held.run).toMatchObject({ status: 'awaiting_approval', groupsDeleted: 0, usersDeactivated: 0, membershipsRemoved: 600 });
    expect(held.run.error).toMatch(/600 removed memberships exceed the limit of 500/);
    expect(await storeFingerprint(app)).toBe(before);
    const event = app.notifier.events.find((e) => e.type === 'run.awaiting_approval');
    const sample = event?.type === 'run.awaiting_approval' ? event.sample : [];
    expect(sample).toHaveLength(10);
    for (const line of sample) expect(line).toMatch(/^member bulk-user-\d{4} of bulk-copy$/);
    const approved = await app.ops.approve(held.run.id, 'admin:ann');
    expect(approved.run).toMatchObject({ decidedBy: 'admin:ann', membershipsRemoved: 600 });
    expect(await membersOf(app, 'bulk-copy')).toEqual(['alice']);
  });

  it('keeps one held run per connection: further syncs answer that it awaits approval, dry runs still plan', async () => {
    app = await createTestApp(driver, [ldapConnection(ldap, { groups: { filter: '(cn=cycle-*)' }, deletionThreshold: { maxCount: 0, maxPercent: 100, minObjects: 0 } })]);
    await sync();
    await ldap.load(`dn: ${group('cycle-b')}\nchangetype: delete\n`);
    const held = await sync();
    expect(held.run.status).toBe('awaiting_approval');
    const runCount = async () => (await rows(app, `select id from runs`)).length;
    const before = await runCount();
    for (const trigger of ['manual', 'chat', 'api', 'schedule'] as const) {
      const refused = sync({ trigger });
      await expect(refused).rejects.toMatchObject({ code: 'AWAITING_APPROVAL', details: { runId: held.run.id } });
      await expect(refused).rejects.toThrow(new RegExp(`run #${held.run.id} of "corp" awaits approval since .*\\d\\d:\\d\\d UTC: approve or reject it first`));
    }
    expect(await runCount()).toBe(before); // no run recorded, no plan held
    expect((await sync({ dryRun: true })).run.status).toBe('dry_run');
    await app.ops.reject(held.run.id, 'admin:ann');
    expect((await sync()).run.status).toBe('awaiting_approval'); // decided: syncs plan again
  });

  it('with several held runs (left by an older version), the approval incident closes only when none awaits', async () => {
    app = await createTestApp(driver, [ldapConnection(ldap, { groups: { filter: '(cn=cycle-*)' }, deletionThreshold: { maxCount: 0, maxPercent: 100, minObjects: 0 } })]);
    await sync();
    await ldap.load(`dn: ${group('cycle-b')}\nchangetype: delete\n\ndn: ${group('cycle-a')}\nchangetype: modify\ndelete: member\nmember: ${group('cycle-b')}\n`);
    const first = await sync();
    // What an older version left: a second run held while the first was waiting.
    await app.store.db.execute(sql`update runs set status = 'rejected' where id = ${first.run.id}`);
    const second = await sync();
    await app.store.db.execute(sql`update runs set status = 'awaiting_approval' where id = ${first.run.id}`);
    expect(second.run.status).toBe('awaiting_approval');
    // The approval card of the second held run shows what it would remove too (the open incident is the first run's).
    expect((await app.ops.heldDetails(second.run.id)).sample[0]).toMatch(/^group cycle-b \(2 members\)$/);
    const approvalOpen = async () => (await app.ops.incidents()).some((i) => i.cause === 'awaiting_approval');
    await expect(sync()).rejects.toThrow(new RegExp(`run #${first.run.id} of "corp" awaits approval .*; run #${second.run.id} awaits approval too`));
    const approved = await app.ops.approve(first.run.id, 'admin:ann');
    expect(approved.run).toMatchObject({ status: 'success', groupsDeleted: 1 });
    expect(await approvalOpen()).toBe(true); // run #second still waits
    await expect(app.ops.approve(first.run.id, 'admin:bob')).rejects.toThrow(new RegExp(`not awaiting approval: it is success by admin:ann.*; run #${second.run.id} of "corp" awaits approval`));
    // The second plan, re-checked against the store, has nothing left to do: the group is gone.
    const rest = await app.ops.approve(second.run.id, 'admin:ann');
    expect(rest.run).toMatchObject({ status: 'success', groupsDeleted: 0 });
    expect(await approvalOpen()).toBe(false);
    expect((await sync()).run.status).toBe('success');
  });

  it('a rejected run applies nothing', async () => {
    app = await createTestApp(driver, [ldapConnection(ldap, { groups: { filter: '(cn=cycle-*)' }, deletionThreshold: { maxCount: 0, maxPercent: 100, minObjects: 0 } })]);
    await sync();
    await ldap.load(`dn: ${group('cycle-b')}\nchangetype: delete\n`);
    const held = await sync();
    expect(held.run.status).toBe('awaiting_approval');
    const before = await storeFingerprint(app);
    const rejected = await app.ops.reject(held.run.id, 'admin:ann');
    expect(rejected).toMatchObject({ status: 'rejected', decidedBy: 'admin:ann' });
    expect(await storeFingerprint(app)).toBe(before);
  });

  it('a directory that stops answering mid-read leaves the store untouched', async () => {
    app = await createTestApp(driver, [ldapConnection(ldap, { timeoutSeconds: 2, pageSize: 100 })]);
    await sync();
    await ldap.load(`dn: ${group('app-ops')}\nchangetype: modify\ndelete: member\nmember: ${people('bob')}\n`);
    const before = await storeFingerprint(app);
    let paused = false;
    const result = await sync({
      onProgress: (event) => {
        if (!paused && event.step === 'read') {
          paused = true;
          ldap.pause();
        }
      },
    });
    ldap.resume();
    expect(paused).toBe(true);
    expect(result.run.status).toBe('failed');
    expect(result.run.errorCode).toMatch(/DIRECTORY_(UNREACHABLE|READ_FAILED)/);
    // The failed run says how far it got: the phase, what was read, the directory requests made.
    expect(result.run.stats).toMatchObject({ phase: 'read', readPhase: expect.any(String), readCount: expect.any(Number), requests: expect.any(Number), retries: 0 });
    expect(result.run.stats.requests).toBeGreaterThanOrEqual(3); // bind, root DSE, a page at least
    expect(await storeFingerprint(app)).toBe(before);
    expect(app.notifier.events.at(-1)?.type).toBe('run.failed');
  });

  it('a run that fails while applying records the apply phase, everything it read and its directory requests', async () => {
    app = await createTestApp(driver, [ldapConnection(ldap, { groups: { list: ['app-ops'] } })]);
    // The store refuses every new local user (a trigger of the PostgreSQL server): the apply fails.
    await app.store.db.execute(sql.raw(`create function refuse_user() returns trigger language plpgsql as $$ begin raise exception 'no new users today'; end $$`));
    await app.store.db.execute(sql.raw(`create trigger refuse_user before insert on local_users for each row execute function refuse_user()`));
    const before = await storeFingerprint(app);
    const result = await sync();
    expect(result.run.status).toBe('failed');
    expect(result.run.error).toMatch(/no new users today/);
    expect(result.run.stats).toMatchObject({ phase: 'apply', readPhase: expect.any(String), readCount: expect.any(Number), requests: expect.any(Number), retries: 0, ms: expect.any(Number) });
    expect(result.run.stats.readCount).toBeGreaterThan(0);
    expect(result.run.stats.requests).toBeGreaterThanOrEqual(3);
    expect(await storeFingerprint(app)).toBe(before);
  });

  it('a directory killed mid-read leaves the store untouched', async () => {
    app = await createTestApp(driver, [ldapConnection(ldap, { pageSize: 100 })]);
    const before = await storeFingerprint(app);
    let killed = false;
    const result = await sync({
      onProgress: () => {
        if (!killed) {
          killed = true;
          ldap.kill();
        }
      },
    });
    expect(result.run.status).toBe('failed');
    expect(await storeFingerprint(app)).toBe(before);
  });

  it('reports a wrong password and an unreachable directory as failed runs with clear errors', async () => {
    app = await createTestApp(driver, [
      ldapConnection(ldap, { name: 'wrongpw', passwordEnv: 'WRONG_PW' }),
      ldapConnection(ldap, { name: 'down', url: 'ldap://127.0.0.1:9' }),
    ], { env: { WRONG_PW: 'nope' } });
    const wrong = await app.engine.sync({ connection: 'wrongpw', trigger: 'manual', actor: 'test' });
    expect(wrong.run).toMatchObject({ status: 'failed', errorCode: 'DIRECTORY_AUTH_FAILED' });
    expect(wrong.run.error).toMatch(/invalid credentials/);
    expect(wrong.run.error).not.toContain('nope');
    const down = await app.engine.sync({ connection: 'down', trigger: 'manual', actor: 'test' });
    expect(down.run).toMatchObject({ status: 'failed', errorCode: 'DIRECTORY_UNREACHABLE' });
  });

  it('a dry run plans and changes nothing', async () => {
    app = await createTestApp(driver, [ldapConnection(ldap)]);
    const before = await storeFingerprint(app);
    const result = await sync({ dryRun: true });
    expect(result.run.status).toBe('dry_run');
    expect(result.plan?.groups.create.length).toBeGreaterThan(5);
    expect(result.run.groupsCreated).toBe(result.plan?.groups.create.length);
    expect(await storeFingerprint(app)).toBe(before);
  });

  it('syncs selected groups only, and only links of one kind', async () => {
    app = await createTestApp(driver, [ldapConnection(ldap, { groups: { filter: '(|(cn=app-*)(cn=cycle-*))' } })]);
    await sync();
    await ldap.load(`dn: ${group('app-ops')}\nchangetype: modify\ndelete: member\nmember: ${people('bob')}\n\ndn: ${group('cycle-a')}\nchangetype: modify\ndelete: member\nmember: ${people('frank')}\n`);
    const selected = await sync({ groups: ['app-ops'] });
    expect(selected.run).toMatchObject({ status: 'success', membershipsRemoved: 1, groupsDeleted: 0, usersDeactivated: 0 });
    expect(await membersOf(app, 'app-ops')).toEqual(['carol']);
    expect(await membersOf(app, 'cycle-a')).toEqual(['frank', 'grace']); // not selected: untouched
    // No link is of kind security: said, and nothing is synced (no run is recorded).
    await expect(sync({ kind: 'security' })).rejects.toThrow(/no group is linked to "corp" as security; nothing to sync/);
    expect(await membersOf(app, 'cycle-a')).toEqual(['frank', 'grace']);
    const groupKind = await sync({ kind: 'group' });
    // bob leaves app-admins (through the nested app-ops); frank leaves cycle-a and, through it, cycle-b.
    expect(groupKind.run.membershipsRemoved).toBe(3);
    expect(await membersOf(app, 'app-admins')).toEqual(['alice', 'carol']);
    expect(await membersOf(app, 'cycle-b')).toEqual(['grace']);
    await expect(sync({ groups: ['no-such-group'] })).rejects.toThrow(/"no-such-group" is not a group linked to "corp"/);
  });

  it('links and unlinks groups one by one', async () => {
    app = await createTestApp(driver, [ldapConnection(ldap, { groups: { list: [] } })]);
    const linked = await app.ops.link('corp', 'app-ops', 'admin:ann', 'security');
    expect(linked.group.dn).toBe(group('app-ops'));
    await expect(app.ops.link('corp', 'developers', 'admin:ann')).rejects.toThrow(/names 2 groups/);
    await expect(app.ops.link('corp', 'nope', 'admin:ann')).rejects.toThrow(/no group "nope"/);
    await sync();
    expect(await membersOf(app, 'app-ops')).toEqual(['bob', 'carol']);
    const [g] = await rows<{ kind: string }>(app, `select kind from local_groups where name = 'app-ops'`);
    expect(g?.kind).toBe('security');
    await app.ops.unlink('corp', 'app-ops', 'admin:ann');
    const after = await sync();
    expect(after.run.groupsDeleted).toBe(0); // unlinked groups are kept as they are
    expect(await membersOf(app, 'app-ops')).toEqual(['bob', 'carol']);
  });

  it('applies a plan atomically: a failure in the middle of apply leaves the store as before', async () => {
    app = await createTestApp(driver, [ldapConnection(ldap)]);
    await app.store.db.execute(sql.raw(`
      create function fail_on_big_group() returns trigger language plpgsql as $$
      begin if (select count(*) from memberships) > 1000 then raise exception 'simulated crash during apply'; end if; return new; end $$`));
    await app.store.db.execute(sql.raw(`create trigger crash after insert on memberships for each statement execute function fail_on_big_group()`));
    const before = await storeFingerprint(app);
    const result = await sync();
    expect(result.run.status).toBe('failed');
    expect(result.run.error).toMatch(/simulated crash/);
    expect(await storeFingerprint(app)).toBe(before);
  });
});
