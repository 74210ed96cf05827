/**
 * One held run per connection (issue 10 #3), in sequences engine.test.ts does not play: syncs
 * started at once, held/approved/rejected in turn, syncs of selected groups or of one kind, and
 * the approval incident over rejections.
 */
import { sql } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type TestApp, createTestApp, ldapConnection } from '../support/app.ts';
import { FIXTURE_LDIF, type SlapdHandle, startSlapd } from '../support/slapd.ts';
import { rows } from '../support/store.ts';

const group = (cn: string) => `cn=${cn},ou=groups,dc=example,dc=org`;
const HOLD_ALL = { maxCount: 0, maxPercent: 100, minObjects: 0 };

describe('one held run per connection', () => {
  let ldap: SlapdHandle;
  let app: TestApp;

  beforeEach(async () => {
    ldap = await startSlapd({ ldif: [FIXTURE_LDIF.scenarios] });
  });
  afterEach(async () => {
    await app?.close();
    await ldap?.stop();
  });

  const sync = (extra: Partial<Parameters<TestApp['engine']['sync']>[0]> = {}) => app.engine.sync({ connection: 'corp', trigger: 'manual', actor: 'test', ...extra });
  const heldIds = async () => (await rows<{ id: number }>(app, `select id from runs where status = 'awaiting_approval' order by id`)).map((r) => r.id);
  const approvalOpen = async () => (await app.ops.incidents()).some((i) => i.cause === 'awaiting_approval');

  it('syncs started at once hold at most one run; the others are refused', async () => {
    app = await createTestApp('postgres', [ldapConnection(ldap, { groups: { filter: '(cn=cycle-*)' }, deletionThreshold: HOLD_ALL })]);
    await sync();
    await ldap.load(`dn: ${group('cycle-b')}\nchangetype: delete\n`);
    const outcomes = await Promise.allSettled(Array.from({ length: 4 }, () => sync()));
    const held = outcomes.filter((o) => o.status === 'fulfilled');
    expect(held).toHaveLength(1);
    for (const o of outcomes) {
      if (o.status === 'rejected') expect((o.reason as { code?: string }).code).toMatch(/^(AWAITING_APPROVAL|ALREADY_RUNNING)$/);
    }
    expect(await heldIds()).toHaveLength(1);
  });

  it('held, approved, held again, rejected, held again: never more than one waits, and syncs of selected groups or one kind are refused too', async () => {
    app = await createTestApp('postgres', [ldapConnection(ldap, { groups: { filter: '(|(cn=cycle-*)(cn=app-*))' }, deletionThreshold: HOLD_ALL })]);
    await sync();
    await ldap.load(`dn: ${group('cycle-b')}\nchangetype: delete\n\ndn: ${group('cycle-a')}\nchangetype: modify\ndelete: member\nmember: ${group('cycle-b')}\n`);
    const first = await sync();
    expect(first.run.status).toBe('awaiting_approval');
    await expect(sync({ groups: ['app-ops'] })).rejects.toMatchObject({ code: 'AWAITING_APPROVAL', details: { runId: first.run.id } });
    await expect(sync({ kind: 'security' })).rejects.toMatchObject({ code: 'AWAITING_APPROVAL' });
    await app.ops.approve(first.run.id, 'admin:ann');
    expect(await approvalOpen()).toBe(false);

    await ldap.load(`dn: ${group('app-ops')}\nchangetype: delete\n\ndn: ${group('app-admins')}\nchangetype: modify\ndelete: member\nmember: ${group('app-ops')}\n`);
    const second = await sync();
    expect(second.run.status).toBe('awaiting_approval');
    expect(await heldIds()).toEqual([second.run.id]);
    expect(await approvalOpen()).toBe(true);
    await expect(sync()).rejects.toMatchObject({ code: 'AWAITING_APPROVAL', details: { runId: second.run.id } });
    await app.ops.reject(second.run.id, 'admin:ann');
    expect(await approvalOpen()).toBe(false);

    const third = await sync();
    expect(third.run.status).toBe('awaiting_approval');
    expect(await heldIds()).toEqual([third.run.id]);
  });

  it('with several held runs (left by an older version), rejecting one keeps the approval incident open until the last is decided', async () => {
    app = await createTestApp('postgres', [ldapConnection(ldap, { groups: { filter: '(cn=cycle-*)' }, deletionThreshold: HOLD_ALL })]);
    await sync();
    await ldap.load(`dn: ${group('cycle-b')}\nchangetype: delete\n\ndn: ${group('cycle-a')}\nchangetype: modify\ndelete: member\nmember: ${group('cycle-b')}\n`);
    const first = await sync();
    // What an older version left: a second run held while the first was waiting.
    await app.store.db.execute(sql`update runs set status = 'rejected' where id = ${first.run.id}`);
    const second = await sync();
    await app.store.db.execute(sql`update runs set status = 'awaiting_approval' where id = ${first.run.id}`);
    expect(await heldIds()).toEqual([first.run.id, second.run.id]);
    expect(await approvalOpen()).toBe(true);
    await app.ops.reject(second.run.id, 'admin:ann');
    expect(await approvalOpen()).toBe(true); // the first still waits
    await app.ops.reject(first.run.id, 'admin:bob');
    expect(await approvalOpen()).toBe(false);
    expect((await sync()).run.status).toBe('awaiting_approval');
  });
});
