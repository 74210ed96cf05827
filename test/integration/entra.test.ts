/**
 * The sync engine with the real Entra source (real @azure/identity and Graph client) against a
 * loopback Microsoft Graph over HTTPS, on both stores (PGlite and PostgreSQL): the engine's
 * scenarios of DESIGN.md §2, paging, delta sync, throttling and faults.
 */
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { type Driver, DRIVERS, type TestApp, createTestApp, entraConnection } from '../support/app.ts';
import { type GraphServer, guid, startGraphServer } from '../support/graph-server.ts';
import { membersOf, rows, storeFingerprint } from '../support/store.ts';

const U = (n: number) => guid(1, n);
const G = (n: number) => guid(2, n);
const BIG = 2500;

/** The directory of these scenarios (ids: users 1…, groups 2…). */
function seed(graph: GraphServer): void {
  const user = (n: number, login: string, extra: Partial<{ mail: string | null; accountEnabled: boolean }> = {}) =>
    graph.addUser({ id: U(n), userPrincipalName: `${login}@corp.example`, mail: `${login}@example.org`, displayName: login, accountEnabled: true, ...extra });
  user(1, 'alice');
  user(2, 'bob');
  user(3, 'carol');
  user(4, 'dave', { mail: null });
  user(5, 'erin', { accountEnabled: false });
  user(6, 'frank');
  user(7, 'grace');
  user(8, 'heidi');
  user(9, 'ivan');
  for (let k = 0; k < BIG; k++) user(1000 + k, `big${String(k).padStart(4, '0')}`);
  const group = (n: number, displayName: string, members: string[], description: string | null = null) =>
    graph.addGroup({ id: G(n), displayName, description, members });
  group(1, 'app-ops', [U(2), U(3)], 'Operations');
  group(2, 'team-core', [U(8)]); // outside the scope filter, nested in app-admins
  group(3, 'app-admins', [U(1), G(1), G(2)], 'Administrators');
  group(4, 'app-cycle-a', [U(6), G(5)]);
  group(5, 'app-cycle-b', [U(7), G(4)]);
  group(6, 'app-edge', [U(4), U(5), U(9)]);
  group(7, 'app-big', Array.from({ length: BIG }, (_, k) => U(1000 + k)));
  group(8, 'other-sales', [U(9)]);
}

describe.each(DRIVERS)('Entra ID source on %s', (driver: Driver) => {
  let graph: GraphServer;
  let app: TestApp;

  beforeEach(async () => {
    const tls = inject('graphTls');
    graph = await startGraphServer({ certFile: tls.certFile, keyFile: tls.keyFile });
    seed(graph);
  });
  afterEach(async () => {
    await app?.close();
    await graph?.stop();
  });

  const sync = (extra: Partial<Parameters<TestApp['engine']['sync']>[0]> = {}) =>
    app.engine.sync({ connection: 'corp', trigger: 'manual', actor: 'test', ...extra });
  const connection = (overrides: Record<string, unknown> = {}) =>
    entraConnection(graph, { groups: { filter: "startswith(displayName,'app-')" }, ...overrides });

  it('reads linked groups, nested and cyclic, and their users completely, asking only for what it needs', async () => {
    app = await createTestApp(driver, [connection()]);
    const result = await sync();
    expect(result.run.status).toBe('partial'); // dave has no mail
    expect(result.run).toMatchObject({ groupsCreated: 6, usersCreated: 8 + BIG });
    expect(await membersOf(app, 'app-admins')).toEqual(['alice@corp.example', 'bob@corp.example', 'carol@corp.example', 'heidi@corp.example']);
    expect(await membersOf(app, 'app-cycle-a')).toEqual(['frank@corp.example', 'grace@corp.example']);
    expect(await membersOf(app, 'app-cycle-b')).toEqual(['frank@corp.example', 'grace@corp.example']);
    expect((await membersOf(app, 'app-big')).length).toBe(BIG);
    expect(await rows(app, `select 1 from local_groups where name in ('team-core', 'other-sales')`)).toEqual([]);
    // A disabled account is a deactivated local user; stable ids are Graph ids.
    const [erin] = await rows<{ active: boolean }>(app, `select active from local_users where login = 'erin@corp.example'`);
    expect(erin?.active).toBe(false);
    const [mapping] = await rows<{ directory_id: string }>(app, `select directory_id from mappings where login = 'alice@corp.example'`);
    expect(mapping?.directory_id).toBe(U(1));
    // $select of what is used, $top at 999, every page of the big group.
    const members = graph.graphRequests(/transitiveMembers$/);
    for (const r of members) {
      expect(r.query.get('$select')).toBe('id,userPrincipalName,mail,displayName,accountEnabled');
      expect(r.query.get('$top')).toBe('999');
    }
    const big = members.filter((r) => r.path.includes(G(7)));
    expect(big.map((r) => r.query.get('$skiptoken'))).toEqual([null, '999', '1998']);
    const list = graph.graphRequests(/^\/v1.0\/groups$/);
    expect(list[0]?.query.get('$select')).toBe('id,displayName,description');
    expect(graph.requests.every((r) => !r.path.startsWith('/v1.0/') || r.authorized)).toBe(true);
    expect(graph.tokensIssued).toBe(1); // the token is cached for the whole read
    expect(result.run.stats).toMatchObject({ readMode: 'full', readReason: 'noState' });
    const status = await app.ops.status('corp');
    expect(status).toMatchObject({ kind: 'entra', vendor: 'entra' });
  });

  it('follows @odata.nextLink across small pages', async () => {
    app = await createTestApp(driver, [connection({ pageSize: 100 })]);
    const result = await sync();
    expect(result.run.status).toBe('partial');
    expect((await membersOf(app, 'app-big')).length).toBe(BIG);
    const big = graph.graphRequests(/transitiveMembers$/).filter((r) => r.path.includes(G(7)));
    expect(big.length).toBe(BIG / 100);
    expect(big.every((r) => r.query.get('$top') === '100')).toBe(true);
  });
});
