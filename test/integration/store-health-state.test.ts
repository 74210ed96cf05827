/** store/health-state.ts on the real PostgreSQL server: the health rules' inputs, with and without the links. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadHealthInputs } from '../../src/store/health-state.ts';
import { type TestApp, createTestApp, ldapConnection } from '../support/app.ts';
import { FIXTURE_LDIF, type SlapdHandle, startSlapd } from '../support/slapd.ts';

let ldap: SlapdHandle;
let app: TestApp;
beforeAll(async () => {
  ldap = await startSlapd({ ldif: [FIXTURE_LDIF.scenarios] });
  app = await createTestApp('postgres', [ldapConnection(ldap, { groups: { filter: '(|(cn=app-*)(cn=edge-users))' } })]);
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
    expect(full!.links.every((l) => l.members > 0)).toBe(true);
    const [lean] = await loadHealthInputs(app.store.db, app.config.connections, { links: false });
    expect(lean!.links).toEqual([]);
    expect({ ...lean, links: full!.links }).toEqual(full);
  });
});
