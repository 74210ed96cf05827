/** store/health-state.ts on the real PostgreSQL server: the health rules' inputs, with and without the links. */
import { sql } from 'drizzle-orm';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evaluateHealth } from '../../src/health/health.ts';
import { loadHealthInputs } from '../../src/store/health-state.ts';
import { type TestApp, createTestApp, ldapConnection } from '../support/app.ts';
import { FIXTURE_LDIF, type SlapdHandle, startSlapd } from '../support/slapd.ts';

let ldap: SlapdHandle;
let app: TestApp;
beforeAll(async () => {
  ldap = await startSlapd({ ldif: [FIXTURE_LDIF.scenarios] });
  app = await createTestApp('postgres', [ldapConnection(ldap, { groups: { filter: '(|(cn=app-*)(cn=edge-users))' } })]);
  // Two local users with jdoe's mail: jdoe (in edge-users) is a conflict.
  await app.store.db.execute(sql`insert into local_users (login, mail) values ('jdoe1', 'shared@example.org'), ('jdoe2', 'SHARED@example.org')`);
  await app.ops.sync({ connection: 'corp', trigger: 'manual', actor: 'test' });
});
afterAll(async () => {
  await app?.close();
  await ldap?.stop();
});

describe('loadHealthInputs', () => {
  it('with the links: every active link with its members; without: the same connection figures and no links', async () => {
    const [full] = await loadHealthInputs(app.store.db, app.config.connections);
    expect(full!.links.map((l) => l.name).sort()).toEqual(['app-admins', 'app-ops', 'edge-users']);
    expect(full!.links.every((l) => (l.members ?? 0) > 0)).toBe(true);
    const [lean] = await loadHealthInputs(app.store.db, app.config.connections, { links: false });
    expect(lean!.links).toEqual([]);
    expect({ ...lean, links: full!.links }).toEqual(full);
  });

  it('for alerts: the same health of the connection, and of the links that can alert on their own (conflicts, a pending duplicate), without counting members or synced users', async () => {
    const now = new Date();
    const [full] = await loadHealthInputs(app.store.db, app.config.connections);
    const [alerts] = await loadHealthInputs(app.store.db, app.config.connections, { detail: 'alerts' });
    expect(full!.conflicts).toBeGreaterThan(0);
    expect(alerts!.conflicts).toBe(full!.conflicts);
    const alerting = full!.links.filter((l) => l.conflicts > 0 || l.pendingDuplicate);
    // The fixture has links of both kinds: healthy links are left out.
    expect(alerting.length).toBeGreaterThan(0);
    expect(alerting.length).toBeLessThan(full!.links.length);
    expect(alerts!.links.map((l) => [l.name, l.conflicts])).toEqual(alerting.map((l) => [l.name, l.conflicts]));
    expect(alerts!.links.every((l) => l.members === null)).toBe(true);
    const reasons = (inputs: typeof full) => evaluateHealth([inputs!], now).map((c) => [c.status, c.reasons, c.links.map((l) => [l.name, l.status, l.reasons])]);
    expect(reasons(alerts)).toEqual(reasons({ ...full!, links: alerting }));
  });

  it('a bulk load holding memberships (a first sync of a large directory) does not hold health up: the member counts are unknown meanwhile', async () => {
    const other = postgres(app.store.url, { max: 1, onnotice: () => {} });
    try {
      const locked = other.begin(async (tx) => {
        await tx`lock table memberships in access exclusive mode`;
        await new Promise((r) => setTimeout(r, 3_000));
      });
      await new Promise((r) => setTimeout(r, 200));
      const answered = await Promise.race([
        loadHealthInputs(app.store.db, app.config.connections).then((inputs) => ({ inputs })),
        locked.then(() => 'the lock was released first' as const),
      ]);
      expect(answered).not.toBe('the lock was released first');
      const [during] = (answered as { inputs: Awaited<ReturnType<typeof loadHealthInputs>> }).inputs;
      expect(during!.links.map((l) => l.name).sort()).toEqual(['app-admins', 'app-ops', 'edge-users']);
      expect(during!.links.every((l) => l.members === null)).toBe(true);
      await locked;
      const [after] = await loadHealthInputs(app.store.db, app.config.connections);
      expect(after!.links.every((l) => (l.members ?? 0) > 0)).toBe(true);
    } finally {
      await other.end();
    }
  });
});
