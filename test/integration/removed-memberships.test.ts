/**
 * Removed memberships against a real slapd (issue 10 #2 and #6): the guard holds a run by their
 * share of the connection's memberships too, the approval sample shows every kind of removal, and
 * the counter a run records is what the store lost, also when a held plan is approved after the
 * store moved on.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type TestApp, createTestApp, ldapConnection } from '../support/app.ts';
import { FIXTURE_LDIF, type SlapdHandle, startSlapd } from '../support/slapd.ts';
import { membersOf, rows } from '../support/store.ts';

const group = (cn: string) => `cn=${cn},ou=groups,dc=example,dc=org`;
/** cycle-b goes, and its member value in cycle-a with it: cycle-b loses frank and grace, grace leaves cycle-a (and the scope). */
const DELETE_CYCLE_B = `dn: ${group('cycle-b')}\nchangetype: delete\n\ndn: ${group('cycle-a')}\nchangetype: modify\ndelete: member\nmember: ${group('cycle-b')}\n`;

describe('removed memberships', () => {
  let ldap: SlapdHandle;
  let app: TestApp;

  beforeEach(async () => {
    ldap = await startSlapd({ ldif: [FIXTURE_LDIF.scenarios] });
  });
  afterEach(async () => {
    await app?.close();
    await ldap?.stop();
  });

  const sync = () => app.engine.sync({ connection: 'corp', trigger: 'manual', actor: 'test' });
  const membershipCount = async () => Number((await rows<{ n: number }>(app, 'select count(*)::int as n from memberships'))[0]!.n);

  it('holds a run whose removed memberships are above their percentage, under their count, and shows every kind of removal in its sample', async () => {
    app = await createTestApp('postgres', [
      ldapConnection(ldap, {
        groups: { filter: '(|(cn=cycle-*)(cn=app-*))' },
        // Deletions and deactivations allowed; removed memberships: at most 10 % once there are 5.
        deletionThreshold: { maxCount: 100, maxPercent: 100, minObjects: 0, memberships: { maxCount: 100, maxPercent: 10, minObjects: 5 } },
      }),
    ]);
    await sync();
    const total = await membershipCount();
    await ldap.load(DELETE_CYCLE_B);
    const held = await sync();
    expect(held.run).toMatchObject({ status: 'awaiting_approval', groupsDeleted: 1, usersDeactivated: 1, membershipsRemoved: 3 });
    expect(held.run.error).toBe(`3 removed memberships are ${((3 / total) * 100).toFixed(1)} % of ${total} memberships, above the limit of 10 %`);
    const event = app.notifier.events.find((e) => e.type === 'run.awaiting_approval');
    expect(event?.type === 'run.awaiting_approval' ? event.sample : []).toEqual(['group cycle-b (2 members)', 'user grace', 'member grace of cycle-a']);
  });

  it("records what the store lost when a held plan is approved after an admin removed one of the deleted group's members", async () => {
    app = await createTestApp('postgres', [ldapConnection(ldap, { groups: { filter: '(cn=cycle-*)' }, deletionThreshold: { maxCount: 0, maxPercent: 100, minObjects: 0 } })]);
    await sync();
    await ldap.load(DELETE_CYCLE_B);
    const held = await sync();
    expect(held.run).toMatchObject({ status: 'awaiting_approval', membershipsRemoved: 3 });
    // Meanwhile an admin ignores frank: his memberships of cycle-a and cycle-b go now.
    await app.ops.ignore('frank', 'admin:ann', { connection: 'corp' });
    expect(await membersOf(app, 'cycle-b')).toEqual(['grace']);
    const before = await membershipCount();
    const approved = await app.ops.approve(held.run.id, 'admin:ann');
    const lost = before - (await membershipCount());
    expect(lost).toBe(2); // grace's in cycle-b (with the group) and in cycle-a
    expect(approved.run.membershipsRemoved).toBe(lost);
    const [audit] = await rows<{ before: { members: number } }>(app, `select before from audit_log where action = 'group.deleted' and run_id = ${held.run.id}`);
    expect(audit?.before.members).toBe(1);
  });

  it('records what the store lost when a held plan is approved after another application added a member to a group it deletes', async () => {
    app = await createTestApp('postgres', [ldapConnection(ldap, { groups: { filter: '(cn=cycle-*)' }, deletionThreshold: { maxCount: 0, maxPercent: 100, minObjects: 0 } })]);
    await sync();
    await ldap.load(DELETE_CYCLE_B);
    const held = await sync();
    expect(held.run.status).toBe('awaiting_approval');
    await rows(
      app,
      `with u as (insert into local_users (login, mail) values ('outsider', 'outsider@example.org') returning id)
       insert into memberships (group_id, user_id) select g.id, u.id from local_groups g, u where g.name = 'cycle-b' returning group_id`,
    );
    const before = await membershipCount();
    const approved = await app.ops.approve(held.run.id, 'admin:ann');
    const lost = before - (await membershipCount());
    expect(lost).toBe(4);
    expect(approved.run.membershipsRemoved).toBe(lost);
  });
});
