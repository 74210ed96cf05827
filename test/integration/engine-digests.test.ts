/**
 * Digests through the engine against a real slapd, on a connection that reads in full every run
 * (incremental off, so plain syncs plan with the digests): after each change (admin decisions,
 * other applications' edits, directory moves, renames, disabling, unlink and relink, the
 * connection removed and added again) a plain sync plans what a `--full` sync would, and a
 * `--full` sync after it finds nothing to write. Alerts evaluate health without member counts:
 * the same statuses and reasons as the full health, with incidents opened and resolved after runs
 * and ticks. Conflict and unmapped users reached through several groups (one a duplicate, not
 * synced) keep their sorted via groups, written only when they change.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONNECTION_CAUSES, type ConnectionHealth } from '../../src/health/health.ts';
import type { SyncPlan } from '../../src/sync/plan.ts';
import { isEmptyPlan } from '../../src/sync/plan/counts.ts';
import { type TestApp, createTestApp, ldapConnection } from '../support/app.ts';
import { canonical } from '../support/plan-state.ts';
import { type SlapdHandle, startSlapd } from '../support/slapd.ts';
import { rows, storeFingerprint } from '../support/store.ts';

const BASE = 'dc=example,dc=org';
const BULK = 30;
const dnU = (uid: string) => `uid=${uid},ou=people,${BASE}`;
const dnG = (cn: string) => `cn=${cn},ou=groups,${BASE}`;
const person = (uid: string, mail: string | null = `${uid}@example.org`) =>
  `dn: ${dnU(uid)}\nobjectClass: inetOrgPerson\nuid: ${uid}\ncn: ${uid}\nsn: ${uid}\ndisplayName: User ${uid}${mail ? `\nmail: ${mail}` : ''}`;
const group = (cn: string, members: string[]) => `dn: ${dnG(cn)}\nobjectClass: groupOfNames\ncn: ${cn}\n${members.map((m) => `member: ${dnU(m)}`).join('\n')}`;
const modify = (dn: string, ...changes: string[]) => `dn: ${dn}\nchangetype: modify\n${changes.join('\n-\n')}\n`;
/** How a run found nothing to plan: by its read's graph (sameGraph), by its snapshot's digest (sameDigest); null: it planned. */
const unchangedBy = (stats: Readonly<Record<string, unknown>> | null | undefined): string | null => (stats?.['sameGraph'] ? 'sameGraph' : stats?.['sameDigest'] ? 'sameDigest' : null);

/** A big group of users nobody touches (so the digests are worth using), and c1/c2 (one mail) and n1 (none) reached through several groups. */
function ldif(): string {
  const bulk = Array.from({ length: BULK }, (_, k) => `b${k}`);
  return [
    ...[...bulk, 'u1', 'u2', 'u3', 'u4', 'u5'].map((u) => person(u)),
    person('c1', 'shared@example.org'),
    person('c2', 'shared@example.org'),
    person('n1', null),
    group('pg-big', bulk),
    group('pg-b', ['u3', 'c1', 'c2', 'n1']),
    group('pg-a', ['u1', 'u2', 'c1', 'n1']),
    group('pg-c', ['u4', 'u5', 'c2']),
    group('pg-dup', ['c1', 'n1', 'u5']),
  ].join('\n\n');
}

/** What alerts act on: statuses and reasons of connections, and the links red for reasons of their own (not their connection's). */
const alertShape = (health: readonly ConnectionHealth[]) =>
  health.map((c) => ({
    name: c.name,
    status: c.status,
    reasons: c.reasons,
    conflicts: c.conflicts,
    links: c.links
      .map((l) => ({ name: l.name, own: l.reasons.filter((r) => !CONNECTION_CAUSES.has(r.code)) }))
      .filter((l) => l.own.length > 0),
  }));

describe('digests and alerts through the engine', () => {
  let ldap: SlapdHandle;
  let app: TestApp;
  let clock = Date.parse('2026-06-01T08:00:00Z');
  beforeAll(async () => {
    ldap = await startSlapd({ ldif: [ldif()] });
    const connection = ldapConnection(ldap, { groups: { filter: '(cn=pg-*)' }, incremental: false, schedule: { cron: '0 0 1 1 *' }, staleAfter: '2h' });
    app = await createTestApp('postgres', [connection], { now: () => new Date(clock) });
    await rows(app, `insert into local_users (login, mail) values ('l-shared1', 'shared@example.org'), ('l-shared2', 'shared@example.org')`);
    await rows(app, `insert into local_groups (name) values ('pg-dup')`);
  });
  afterAll(async () => {
    await app?.close();
    await ldap?.stop();
  });

  const sync = (extra: Record<string, unknown> = {}) => app.engine.sync({ connection: 'corp', trigger: 'manual', actor: 'test', ...extra });
  const digestCount = async () => (await rows<{ n: number }>(app, `select (select count(*) from user_digests where connection = 'corp')::int as n`))[0]!.n;
  const openCauses = async () => (await app.ops.incidents()).map((i) => i.cause).sort();

  /** A plain sync plans what --full would; --full then writes nothing; the alert health says what the full health says. */
  async function check(label: string): Promise<SyncPlan> {
    const expected = await sync({ dryRun: true, full: true });
    const actual = await sync();
    expect(actual.run.error ?? null, label).toBeNull();
    if (actual.plan === null) {
      // Read as the last applying run read it, the store as it left it: nothing planned, and the whole plan changes nothing.
      expect(unchangedBy(actual.run.stats), label).not.toBeNull();
      expect(isEmptyPlan(expected.plan!), `${label}: found unchanged, but --full plans changes`).toBe(true);
    } else expect(canonical(actual.plan), label).toEqual(canonical(expected.plan));
    const before = await storeFingerprint(app);
    const full = await sync({ full: true });
    expect(full.run.error ?? null, label).toBeNull();
    expect(await storeFingerprint(app), `${label}: --full found something to change`).toBe(before);
    expect(alertShape(await app.ops.healthForAlerts()), label).toEqual(alertShape(await app.ops.health()));
    return actual.plan ?? expected.plan!;
  }

  it('a plain sync after any change plans what --full would, and --full then writes nothing', async () => {
    await check('first sync');
    await check('nothing changed');
    expect(await digestCount()).toBeGreaterThanOrEqual(BULK);
    await app.ops.ignore('u1', 'admin', { connection: 'corp' });
    await check('u1 ignored');
    await app.ops.unignore('u1', 'admin', { connection: 'corp' });
    await check('u1 unignored');
    // Other applications edit, deactivate and delete local users, and delete a mapping.
    await rows(app, `update local_users set display_name = 'edited', active = false where login = 'b3'`);
    await check('b3 edited');
    await rows(app, `update local_users set active = false where login = 'b10'`);
    await check('b10 deactivated');
    await rows(app, `update local_users set login = 'b11-renamed' where login = 'b11'`);
    await check('b11 login changed');
    await rows(app, `update local_users set mail = 'other@example.org' where login = 'b4'`);
    await check('b4 mail changed');
    await rows(app, `delete from local_users where login = 'b5'`);
    await check('b5 deleted');
    await rows(app, `delete from mappings where connection = 'corp' and login = 'b6'`);
    await check("b6's mapping deleted");
    // The directory: a user moves between groups, is renamed, disabled, enabled again.
    await ldap.load(modify(dnG('pg-a'), `delete: member\nmember: ${dnU('u2')}`));
    await ldap.load(modify(dnG('pg-c'), `add: member\nmember: ${dnU('u2')}`));
    await check('u2 moved');
    await ldap.load(`dn: ${dnU('b7')}\nchangetype: modrdn\nnewrdn: uid=b7x\ndeleteoldrdn: 1\n`);
    await ldap.load(modify(dnG('pg-big'), `delete: member\nmember: ${dnU('b7')}`, `add: member\nmember: ${dnU('b7x')}`));
    await check('b7 renamed');
    await ldap.load(modify(dnU('b8'), 'replace: employeeType\nemployeeType: disabled'));
    await check('b8 disabled');
    await ldap.load(modify(dnU('b8'), 'delete: employeeType'));
    await check('b8 enabled');
    await app.ops.unlink('corp', 'pg-c', 'admin');
    await check('pg-c unlinked');
    await app.ops.link('corp', 'pg-c', 'admin');
    await check('pg-c relinked');
    // The connection removed and added again (same name, same directory): no digest survives it.
    expect(await digestCount()).toBeGreaterThanOrEqual(BULK);
    await app.ops.removeConnection('corp', 'admin', true);
    expect(await rows(app, `select * from user_digests`)).toEqual([]);
    expect(await rows(app, `select * from group_digests`)).toEqual([]);
    await rows(app, `update local_users set display_name = 'edited meanwhile', active = false where login = 'b9'`);
    await check('added again: every group a duplicate');
    for (const d of (await app.ops.duplicates('corp')).items) if (d.name !== 'pg-dup') await app.ops.resolveDuplicate(d.id, 'link', 'admin', { connection: 'corp' });
    await check('duplicates linked');
    await check('nothing changed again');
    const [b9] = await rows<{ display_name: string; active: boolean }>(app, `select display_name, active from local_users where login = 'b9'`);
    expect(b9).toEqual({ display_name: 'User b9', active: true });
    expect(await digestCount()).toBeGreaterThanOrEqual(BULK);
  });

  it('conflict and unmapped users keep sorted via groups (synced groups only), written only when they change', async () => {
    const groupId = async (name: string) => (await rows<{ directory_id: string }>(app, `select directory_id from group_links where name = '${name}'`))[0]!.directory_id;
    const [a, b, c] = [await groupId('pg-a'), await groupId('pg-b'), await groupId('pg-c')];
    const viaOf = async () => rows<{ login: string; status: string; via_groups: string[]; updated_at: string }>(app, `select login, status, via_groups, updated_at::text from mappings where login in ('c1', 'c2', 'n1') order by login`);
    const before = await viaOf();
    expect(before.map(({ updated_at: _, ...m }) => m)).toEqual([
      { login: 'c1', status: 'conflict', via_groups: [a, b].sort() },
      { login: 'c2', status: 'conflict', via_groups: [b, c].sort() },
      { login: 'n1', status: 'unmapped', via_groups: [a, b].sort() },
    ]);
    const plan = await check('via groups unchanged');
    expect([...plan.users.conflicts, ...plan.users.unmapped].map((u) => u.unchanged)).toEqual([true, true, true]);
    expect(await viaOf()).toEqual(before);
    // n1 joins pg-c: only its row is written, with pg-c among its groups.
    await ldap.load(modify(dnG('pg-c'), `add: member\nmember: ${dnU('n1')}`));
    const changed = await check('n1 joins pg-c');
    expect(changed.users.unmapped.map((u) => [u.viaGroups, u.unchanged])).toEqual([[[a, b, c].sort(), false]]);
    const after = await viaOf();
    expect(after.filter((m) => m.login !== 'n1')).toEqual(before.filter((m) => m.login !== 'n1'));
    expect(after.find((m) => m.login === 'n1')!.via_groups).toEqual([a, b, c].sort());
  });

  it('alerts: conflicts, a failed run, a stale connection open incidents after runs and ticks, and recovery resolves them', async () => {
    expect(await openCauses()).toEqual(['link_red']);
    // The conflicts are resolved: the links turn green at the next run.
    const [l1] = await rows<{ id: number }>(app, `select id from local_users where login = 'l-shared1'`);
    await app.ops.map('c1', `#${l1!.id}`, 'admin', { connection: 'corp' });
    await check('c1 mapped');
    expect(alertShape(await app.ops.healthForAlerts()).flatMap((h) => h.links)).toEqual([]);
    expect(await openCauses()).toEqual([]);
    // A failed run, then a successful one.
    ldap.kill();
    const failed = await sync();
    expect(failed.run.status).toBe('failed');
    expect(alertShape(await app.ops.healthForAlerts())).toEqual(alertShape(await app.ops.health()));
    expect(await openCauses()).toEqual(['run_failed']);
    await ldap.restart();
    await check('directory back');
    expect(await openCauses()).toEqual([]);
    // Stale: no run for longer than the limit; the tick opens the incident, the next run resolves it.
    clock += 3 * 3_600_000;
    await app.scheduler.tick(new Date(clock));
    expect(alertShape(await app.ops.healthForAlerts())).toEqual(alertShape(await app.ops.health()));
    expect((await app.ops.health())[0]!.reasons.map((r) => r.code)).toEqual(['stale', 'duplicate_pending']);
    expect(await openCauses()).toEqual(['stale']);
    await check('synced again');
    await app.scheduler.tick(new Date(clock));
    expect(await openCauses()).toEqual([]);
  });
  it('a full read that finds the directory as the last applying run read it, and the store as it left it, plans nothing', async () => {
    const applied = (await sync()).run;
    const base = (await sync()).run;
    const quiet = await sync();
    expect(quiet.plan).toBeNull();
    // The graph read has the digest the cursor kept: no answer built (the snapshot's digest is not needed).
    expect(quiet.run.stats).toMatchObject({ readMode: 'full', sameGraph: true, planMs: 0 });
    // Each unchanged run keeps the read's cursor (the graph's digest), and the next stands on it: the outcome is the applying run's.
    expect([base.stats?.['unchangedSince'], quiet.run.stats?.['unchangedSince']]).toEqual([applied.id, base.id]);
    expect([quiet.run.status, quiet.run.summary]).toEqual([base.status, base.summary]);
    // An attribute no plan reads changes the entry, not what was read.
    await ldap.load(modify(dnU('b20'), 'replace: sn\nsn: changed'));
    expect(unchangedBy((await sync()).run.stats)).toBe('sameGraph');
    // A group's description is read by the plan: planned.
    await ldap.load(modify(dnG('pg-a'), 'replace: description\ndescription: now described'));
    const described = await sync();
    expect(unchangedBy(described.run.stats)).toBeNull();
    expect(described.plan!.groups.update.map((u) => [u.after.name, u.after.description])).toEqual([['pg-a', 'now described']]);
    // The store moved (an admin's decision, another application): planned against it.
    await rows(app, `update local_users set display_name = 'edited again' where login = 'b21'`);
    const moved = await sync();
    expect(unchangedBy(moved.run.stats)).toBeNull();
    expect(moved.plan!.users.update.map((u) => u.after.login)).toEqual(['b21']);
    // Asked for in full: planned against the whole store, whatever the digests say.
    const full = await sync({ full: true });
    expect(full.plan).not.toBeNull();
    expect(isEmptyPlan(full.plan!)).toBe(true);
    expect(unchangedBy((await sync()).run.stats)).toBe('sameGraph');
  });
});
