/**
 * The sync engine with the real Entra source (real @azure/identity and Graph client) against a
 * loopback Microsoft Graph over HTTPS, on PostgreSQL: the engine's
 * scenarios of DESIGN.md §2, paging, delta sync, throttling and faults.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { type Driver, DRIVERS, type TestApp, createTestApp, entraConnection } from '../support/app.ts';
import { type GraphServer, guid, startGraphServer } from '../support/graph-server.ts';
import { createClientPem, createTestTls } from '../support/graph-tls.ts';
import { createDatabase } from '../support/postgres.ts';
import { membersOf, rows, storeFingerprint } from '../support/store.ts';

const U = (n: number) => guid(1, n);

/** A loopback port nothing listens on (port 9, the usual choice, is one fetch refuses outright). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
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

  it('a second sync with no change reads only the deltas and writes nothing', async () => {
    app = await createTestApp(driver, [connection()]);
    const first = await sync();
    const before = await storeFingerprint(app);
    const mark = graph.requests.length;
    const second = await sync();
    // Known from the deltas and the linked groups' listing: no snapshot built, nothing planned.
    expect(second.run.stats).toMatchObject({ readMode: 'delta', usersChanged: 0, groupsChanged: 0, planMs: 0, unchangedSince: first.run.id });
    expect(second.run.stats).not.toHaveProperty('sameDigest');
    expect(second.run).toMatchObject({ groupsCreated: 0, groupsModified: 0, usersCreated: 0, usersUpdated: 0, usersDeactivated: 0, membershipsAdded: 0, membershipsRemoved: 0 });
    expect(await storeFingerprint(app)).toBe(before);
    const paths = graph.requests.slice(mark).map((r) => r.path);
    expect(paths.filter((p) => p.endsWith('/transitiveMembers'))).toEqual([]);
    expect(paths).toContain('/v1.0/users/delta');
    expect(paths).toContain('/v1.0/groups/delta');
    const [state] = await rows<{ cursor: { readMode: string; usersDeltaLink: string } }>(app, `select cursor from directory_state where connection = 'corp'`);
    expect(state?.cursor.readMode).toBe('delta');
    expect(state?.cursor.usersDeltaLink).toMatch(/\/users\/delta\?\$deltatoken=\d+/);
  });

  it('a delta sync applies added and removed members, nested changes, renames, disabled and deleted users', async () => {
    app = await createTestApp(driver, [connection()]);
    await sync();
    graph.addMember(G(2), U(9)); // ivan joins team-core, nested in app-admins
    graph.removeMember(G(1), U(2)); // bob leaves app-ops (and app-admins through it)
    graph.updateGroup(G(4), { displayName: 'app-cycle-alpha', description: 'renamed' });
    graph.updateUser(U(6), { accountEnabled: false }); // frank disabled
    graph.updateUser(U(1), { displayName: 'Alice A.' });
    graph.deleteUser(U(7)); // grace deleted
    const mark = graph.requests.length;
    const result = await sync();
    // app-ops (flat) is patched from members@delta; the groups with a changed nested group are read again.
    expect(result.run.stats).toMatchObject({ readMode: 'delta', groupsPatched: 1, groupsReread: 3 });
    expect(graph.requests.slice(mark).filter((r) => r.path.includes(G(7)))).toEqual([]); // the big group is not read again
    expect(await membersOf(app, 'app-admins')).toEqual(['alice@corp.example', 'carol@corp.example', 'heidi@corp.example', 'ivan@corp.example']);
    expect(await membersOf(app, 'app-ops')).toEqual(['carol@corp.example']);
    expect(await membersOf(app, 'app-cycle-alpha')).toEqual(['frank@corp.example']);
    expect(await membersOf(app, 'app-cycle-b')).toEqual(['frank@corp.example']);
    const users = await rows<{ login: string; active: boolean; display_name: string }>(
      app,
      `select login, active, display_name from local_users where login in ('alice@corp.example', 'frank@corp.example', 'grace@corp.example', 'bob@corp.example') order by login`,
    );
    expect(users).toEqual([
      { login: 'alice@corp.example', active: true, display_name: 'Alice A.' },
      { login: 'bob@corp.example', active: false, display_name: 'bob' }, // left the scope: deactivated
      { login: 'frank@corp.example', active: false, display_name: 'frank' }, // disabled
      { login: 'grace@corp.example', active: false, display_name: 'grace' }, // deleted: deactivated, never deleted
    ]);
    // The same result as a full read of the same directory.
    const full = await createTestApp(driver, [connection({ delta: false })]);
    try {
      await full.engine.sync({ connection: 'corp', trigger: 'manual', actor: 'test' });
      for (const name of ['app-admins', 'app-ops', 'app-cycle-alpha', 'app-cycle-b', 'app-edge', 'app-big']) {
        expect(await membersOf(app, name)).toEqual(await membersOf(full, name));
      }
    } finally {
      await full.close();
    }
  });

  it('a group newly matching the filter, and a linked group deleted, are seen by a delta sync', async () => {
    app = await createTestApp(driver, [connection()]);
    await sync();
    graph.addGroup({ id: G(20), displayName: 'app-new', description: null, members: [U(9), G(2)] });
    graph.deleteGroup(G(6)); // app-edge
    const result = await sync();
    expect(result.run).toMatchObject({ status: 'success', groupsCreated: 1, groupsDeleted: 1 });
    expect(result.run.stats).toMatchObject({ readMode: 'delta' });
    expect(await membersOf(app, 'app-new')).toEqual(['heidi@corp.example', 'ivan@corp.example']);
    expect(await rows(app, `select 1 from local_groups where name = 'app-edge'`)).toEqual([]);
  });

  it('an expired delta link falls back to a full read, and the run says so', async () => {
    app = await createTestApp(driver, [connection()]);
    await sync();
    graph.expireDeltaTokens();
    graph.removeMember(G(1), U(3));
    const result = await sync();
    expect(result.run.status).toBe('partial');
    expect(result.run.stats).toMatchObject({ readMode: 'full', deltaFallback: 'syncStateNotFound', readReason: 'syncStateNotFound' });
    expect(graph.requests.some((r) => r.status === 410)).toBe(true);
    expect(await membersOf(app, 'app-ops')).toEqual(['bob@corp.example']);
    const next = await sync();
    expect(next.run.stats).toMatchObject({ readMode: 'delta' });
  });

  it('waits as long as Retry-After says on 429 and 503, then completes', async () => {
    app = await createTestApp(driver, [connection({ retryDelay: '10ms' })]);
    graph.fault({ path: /transitiveMembers$/, status: 429, retryAfter: 1 });
    graph.fault({ path: /^\/v1.0\/groups$/, status: 503, retryAfter: 1 });
    const result = await sync();
    expect(result.run.status).toBe('partial');
    expect((await membersOf(app, 'app-big')).length).toBe(BIG);
    for (const status of [429, 503]) {
      const faulted = graph.requests.find((r) => r.status === status)!;
      const retry = graph.requests.find((r) => r.path === faulted.path && r.query.toString() === faulted.query.toString() && r.at > faulted.at)!;
      expect(retry.status).toBe(200);
      expect(retry.at - faulted.at).toBeGreaterThanOrEqual(1000);
    }
    expect(result.run.stats).toMatchObject({ throttled: 1, retries: 2 });
  });

  it('retries a 500 with back-off; a persistent one fails the run, applies nothing, keeps the delta link', async () => {
    app = await createTestApp(driver, [connection({ maxRetries: 2, retryDelay: '200ms' })]);
    graph.fault({ path: new RegExp(`${G(7)}/transitiveMembers$`), status: 500, times: 2 });
    expect((await sync()).run.status).toBe('partial'); // two 500s, then an answer
    // The same request three times, the delay doubling: 200 ms, then 400 ms.
    const [first] = graph.requests.filter((r) => r.status === 500);
    const same = graph.requests.filter((r) => r.path === first!.path && r.query.toString() === first!.query.toString());
    expect(same.map((r) => r.status)).toEqual([500, 500, 200]);
    expect(same[1]!.at - same[0]!.at).toBeGreaterThanOrEqual(200);
    expect(same[2]!.at - same[1]!.at).toBeGreaterThanOrEqual(400);
    const [before] = await rows<{ cursor: unknown }>(app, `select cursor from directory_state`);
    graph.removeMember(G(1), U(2));
    const fingerprint = await storeFingerprint(app);
    graph.fault({ path: /transitiveMembers$/, status: 500, times: Infinity });
    const failed = await sync();
    expect(failed.run).toMatchObject({ status: 'failed', errorCode: 'DIRECTORY_READ_FAILED' });
    expect(failed.run.error).toMatch(/answered 500.*after the configured retries/);
    // The failed run records how far it got and the Graph requests and retries it made.
    expect(failed.run.stats).toMatchObject({ phase: 'read', requests: expect.any(Number), retries: expect.any(Number) });
    expect(failed.run.stats.retries).toBeGreaterThanOrEqual(2);
    expect(failed.run.stats.requests).toBeGreaterThan(failed.run.stats.retries as number);
    expect(await storeFingerprint(app)).toBe(fingerprint);
    expect(app.notifier.events.at(-1)?.type).toBe('run.failed');
    const [after] = await rows<{ cursor: unknown }>(app, `select cursor from directory_state`);
    expect(after).toEqual(before);
    graph.faults.length = 0;
    const recovered = await sync();
    expect(recovered.run.stats).toMatchObject({ readMode: 'delta' });
    expect(await membersOf(app, 'app-ops')).toEqual(['carol@corp.example']);
  });

  it('retries an answer cut after its headers; a cut that persists fails the run with a clear error', async () => {
    app = await createTestApp(driver, [connection({ maxRetries: 2, retryDelay: '10ms' })]);
    const bigMembers = new RegExp(`${G(7)}/transitiveMembers$`);
    graph.fault({ path: bigMembers, status: 200, cutBody: true });
    const result = await sync();
    expect(result.run.status).toBe('partial');
    expect((await membersOf(app, 'app-big')).length).toBe(BIG);
    const firstPage = graph.requests.filter((r) => bigMembers.test(r.path) && r.query.get('$skiptoken') === null);
    expect(firstPage.length).toBe(2); // the cut answer, then the whole one
    expect(result.run.stats).toMatchObject({ retries: 1 });
    // Cut every time: the same budget as other network errors (maxRetries), then a failed run.
    graph.removeMember(G(1), U(2));
    const fingerprint = await storeFingerprint(app);
    graph.fault({ path: /^\/v1.0\/users\/delta$/, status: 200, cutBody: true, times: Infinity });
    const mark = graph.requests.length;
    const failed = await sync();
    expect(failed.run).toMatchObject({ status: 'failed', errorCode: 'DIRECTORY_UNREACHABLE' });
    expect(failed.run.error).toMatch(/cut the connection after the headers of its answer \(200\).*after 2 retries/);
    expect(failed.run.error).not.toMatch(/answered 200/);
    expect(graph.requests.slice(mark).filter((r) => r.path === '/v1.0/users/delta')).toHaveLength(3); // 1 + maxRetries
    expect(await storeFingerprint(app)).toBe(fingerprint);
  });

  it('reports a wrong client secret and an unreachable endpoint as failed runs with clear errors', async () => {
    app = await createTestApp(driver, [
      connection({ name: 'wrongsecret', clientSecretEnv: 'WRONG_SECRET' }),
      connection({ name: 'down', authorityHost: 'https://127.0.0.1:9', graphBaseUrl: 'https://127.0.0.1:9/v1.0', maxRetries: 1 }),
    ], { env: { WRONG_SECRET: 'not-the-secret' } });
    const wrong = await app.engine.sync({ connection: 'wrongsecret', trigger: 'manual', actor: 'test' });
    expect(wrong.run).toMatchObject({ status: 'failed', errorCode: 'DIRECTORY_AUTH_FAILED' });
    expect(wrong.run.error).toMatch(/refused the credentials.*invalid_client AADSTS7000215/);
    expect(wrong.run.error).not.toContain('not-the-secret');
    const down = await app.engine.sync({ connection: 'down', trigger: 'manual', actor: 'test' });
    expect(down.run).toMatchObject({ status: 'failed', errorCode: 'DIRECTORY_UNREACHABLE' });
    expect(down.run.error).toMatch(/unreachable/);
  });

  it('asks for a token of the configured scope: a Graph on another host name fails with the scope named, and works once scope is set', async () => {
    const proxied = graph.graphBaseUrl.replace('127.0.0.1', 'localhost'); // the same Graph under another host name
    app = await createTestApp(driver, [
      connection({ name: 'derived', graphBaseUrl: proxied }),
      connection({ name: 'set', graphBaseUrl: proxied, scope: 'https://graph.microsoft.com/.default' }),
    ]);
    const derived = await app.engine.sync({ connection: 'derived', trigger: 'manual', actor: 'test' });
    expect(derived.run).toMatchObject({ status: 'failed', errorCode: 'DIRECTORY_AUTH_FAILED' });
    expect(derived.run.error).toMatch(/scope https:\/\/localhost:\d+\/\.default .*invalid_resource AADSTS500011/);
    expect(derived.run.error).toMatch(/localhost is not a Microsoft Graph host.*set scope/);
    expect(derived.run.error).not.toMatch(/client secret/);
    const set = await app.engine.sync({ connection: 'set', trigger: 'manual', actor: 'test' });
    expect(set.run.status).toBe('partial');
    expect(await membersOf(app, 'app-ops')).toEqual(['bob@corp.example', 'carol@corp.example']);
    expect(graph.graphRequests().every((r) => r.authorized)).toBe(true);
  });

  it('tells a wrong tenant, an untrusted authority certificate and an unreachable authority apart, each with its fix', async () => {
    // A second loopback authority whose certificate comes from a CA this process does not trust.
    const untrustedTls = createTestTls(path.join(inject('graphTls').dir, 'untrusted'));
    const untrusted = await startGraphServer({ certFile: untrustedTls.certFile, keyFile: untrustedTls.keyFile });
    try {
      app = await createTestApp(driver, [
        connection({ name: 'tenant', tenantId: '99999999-2222-4333-8444-555555555555' }),
        connection({ name: 'untrusted', authorityHost: untrusted.authorityHost, graphBaseUrl: untrusted.graphBaseUrl }),
        connection({ name: 'down', authorityHost: `https://127.0.0.1:${await closedPort()}`, maxRetries: 1 }),
      ]);
      const run = async (name: string) => (await app.engine.sync({ connection: name, trigger: 'manual', actor: 'test' })).run;
      const tenant = await run('tenant');
      expect(tenant).toMatchObject({ status: 'failed', errorCode: 'DIRECTORY_AUTH_FAILED' });
      expect(tenant.error).toMatch(/tenant 99999999-2222-4333-8444-555555555555 .*AADSTS90002.*check tenantId/);
      expect(tenant.error).not.toMatch(/unreachable|certificate/);
      const cert = await run('untrusted');
      expect(cert).toMatchObject({ status: 'failed', errorCode: 'DIRECTORY_TLS_FAILED' });
      expect(cert.error).toMatch(/certificate of the authority https:\/\/127\.0\.0\.1:\d+ is not trusted.*NODE_EXTRA_CA_CERTS/);
      expect(cert.error).not.toMatch(/unreachable|tenantId/);
      const down = await run('down');
      expect(down).toMatchObject({ status: 'failed', errorCode: 'DIRECTORY_UNREACHABLE' });
      expect(down.error).toMatch(/authority https:\/\/127\.0\.0\.1:\d+ is unreachable \(ECONNREFUSED\).*check the network.*authorityHost/);
      expect(down.error).not.toMatch(/certificate|tenantId/);
      expect(untrusted.requests).toEqual([]); // no TLS handshake completed, so no request reached it
    } finally {
      await untrusted.stop();
    }
  });

  it('holds a run above the deletion threshold without moving the delta link; approval applies it', async () => {
    app = await createTestApp(driver, [connection({ deletionThreshold: { maxCount: 1, maxPercent: 100, minObjects: 0 } })]);
    await sync();
    const [before] = await rows<{ cursor: unknown }>(app, `select cursor from directory_state`);
    graph.deleteGroup(G(4));
    graph.deleteGroup(G(5));
    const held = await sync();
    expect(held.run.status).toBe('awaiting_approval');
    expect(held.run.stats).toMatchObject({ readMode: 'delta' });
    expect(await rows(app, `select cursor from directory_state`)).toEqual([before]);
    const approved = await app.ops.approve(held.run.id, 'admin:ann');
    expect(approved.run).toMatchObject({ groupsDeleted: 2 });
    // The next delta starts from the old link again: it sees the same deletions, now applied.
    const next = await sync();
    expect(next.run).toMatchObject({ status: 'partial', groupsDeleted: 0, groupsCreated: 0 });
    expect(next.run.stats).toMatchObject({ readMode: 'delta' });
  });

  it('a dry run and a sync of selected groups leave the delta state alone', async () => {
    app = await createTestApp(driver, [connection()]);
    const dry = await sync({ dryRun: true });
    expect(dry.run.status).toBe('dry_run');
    expect(await rows(app, `select 1 from directory_state`)).toEqual([]);
    await sync();
    const [before] = await rows<{ cursor: unknown }>(app, `select cursor from directory_state`);
    graph.removeMember(G(1), U(2));
    graph.removeMember(G(4), U(6));
    const selected = await sync({ groups: ['app-ops'] });
    expect(selected.run).toMatchObject({ status: 'success', membershipsRemoved: 1, groupsDeleted: 0, usersDeactivated: 0 });
    expect(selected.run.stats).toMatchObject({ readMode: 'full', partialScope: true });
    expect(await membersOf(app, 'app-cycle-a')).toEqual(['frank@corp.example', 'grace@corp.example']); // not selected: untouched
    expect(await rows(app, `select cursor from directory_state`)).toEqual([before]);
    const all = await sync();
    expect(all.run.stats).toMatchObject({ readMode: 'delta' });
    expect(await membersOf(app, 'app-admins')).toEqual(['alice@corp.example', 'carol@corp.example', 'heidi@corp.example']);
    expect(await membersOf(app, 'app-cycle-a')).toEqual(['grace@corp.example']);
  });

  it('links groups one by one by name or id; a scope change reads in full', async () => {
    app = await createTestApp(driver, [connection({ groups: { ids: [G(1)] } })]);
    await sync();
    expect(await membersOf(app, 'app-ops')).toEqual(['bob@corp.example', 'carol@corp.example']);
    graph.addGroup({ id: G(30), displayName: 'app-ops', description: 'a second one', members: [] });
    await expect(app.ops.link('corp', 'app-ops', 'admin:ann')).rejects.toThrow(/names 2 groups/);
    await expect(app.ops.link('corp', 'nope', 'admin:ann')).rejects.toThrow(/no group "nope"/);
    const linked = await app.ops.link('corp', 'other-sales', 'admin:ann', 'security');
    expect(linked.group).toMatchObject({ id: G(8), name: 'other-sales' });
    const result = await sync();
    expect(result.run.stats).toMatchObject({ readMode: 'full', readReason: 'scopeChanged' });
    expect(await membersOf(app, 'other-sales')).toEqual(['ivan@corp.example']);
    const [g] = await rows<{ kind: string }>(app, `select kind from local_groups where name = 'other-sales'`);
    expect(g?.kind).toBe('security');
  });

  it('does not sync a duplicate group, and puts a user matching two local users in conflict', async () => {
    const seedApp = await createTestApp(driver, [connection()]);
    await seedApp.store.db.execute(sql`insert into local_groups (name, description) values ('app-ops', 'made by hand')`);
    await seedApp.store.db.execute(sql`insert into local_users (login, mail) values ('a1', 'alice@example.org'), ('a2', 'ALICE@example.org')`);
    app = await createTestApp(driver, [connection()], { store: seedApp.store });
    const first = await sync();
    expect(first.run).toMatchObject({ groupsDuplicated: 1, usersConflicts: 1 });
    expect(await membersOf(app, 'app-ops')).toEqual([]);
    const conflicts = await app.ops.conflicts('corp');
    expect(conflicts.items.find((c) => c.login === 'alice@corp.example')?.candidates.map((c) => c.login)).toEqual(['a1', 'a2']);
  });

  it('authenticates with a certificate instead of a secret', async () => {
    const pem = createClientPem(inject('graphTls').dir);
    const { clientSecretEnv: _secret, ...withoutSecret } = connection();
    app = await createTestApp(driver, [{ ...withoutSecret, certificate: { file: pem } }]);
    const result = await sync();
    expect(result.run.status).toBe('partial');
    expect(graph.tokensIssued).toBe(1);
    expect(await membersOf(app, 'app-ops')).toEqual(['bob@corp.example', 'carol@corp.example']);
  });

  it('a Graph that goes away mid-read fails the run after the retries, leaving the store untouched', async () => {
    app = await createTestApp(driver, [connection({ pageSize: 500 })]);
    await sync();
    graph.removeMember(G(1), U(2));
    const before = await storeFingerprint(app);
    graph.expireDeltaTokens(); // a full read, long enough to be cut
    let stopped = false;
    const result = await sync({
      onProgress: (event) => {
        if (!stopped && event.step === 'read') {
          stopped = true;
          void graph.stop();
        }
      },
    });
    expect(stopped).toBe(true);
    expect(result.run).toMatchObject({ status: 'failed', errorCode: 'DIRECTORY_UNREACHABLE' });
    expect(result.run.error).toMatch(/unreachable/);
    expect(await storeFingerprint(app)).toBe(before);
  });

  it('skips ignored users, and matches them again once unignored', async () => {
    app = await createTestApp(driver, [connection({ groups: { ids: [G(1)] } })]);
    await sync();
    await app.ops.ignore('bob@corp.example', 'admin:ann');
    expect(await membersOf(app, 'app-ops')).toEqual(['carol@corp.example']);
    const next = await sync();
    expect(next.run).toMatchObject({ usersIgnored: 1, membershipsAdded: 0, usersCreated: 0 });
    await app.ops.unignore('bob@corp.example', 'admin:ann');
    await sync();
    expect(await membersOf(app, 'app-ops')).toEqual(['bob@corp.example', 'carol@corp.example']);
  });

  it('a users filter narrows the users, and always reads in full', async () => {
    app = await createTestApp(driver, [connection({ users: { filter: 'accountEnabled eq true' } })]);
    await sync();
    expect(await membersOf(app, 'app-edge')).toEqual(['ivan@corp.example']); // dave has no mail: unmapped
    expect(await rows(app, `select 1 from mappings where login = 'erin@corp.example'`)).toEqual([]); // disabled: out of scope
    expect(await rows(app, `select 1 from mappings where login = 'dave@corp.example'`)).toHaveLength(1);
    const users = graph.graphRequests(/^\/v1.0\/users$/);
    expect(users[0]?.query.get('$filter')).toBe('accountEnabled eq true');
    expect(users[0]?.query.get('$select')).toBe('id');
    const second = await sync();
    expect(second.run.stats).toMatchObject({ readMode: 'full', readReason: 'usersFilter' });
  });

  it('patches a flat group from members@delta, reading only the users it does not know', async () => {
    app = await createTestApp(driver, [connection()]);
    await sync();
    graph.addUser({ id: U(50), userPrincipalName: 'judy@corp.example', mail: 'judy@example.org', displayName: 'judy', accountEnabled: true });
    graph.addMember(G(7), U(50)); // app-big: 2,500 members, not read again
    graph.removeMember(G(7), U(1000));
    graph.addMember(G(1), U(1)); // alice joins app-ops: known already
    const mark = graph.requests.length;
    const result = await sync();
    expect(result.run.stats).toMatchObject({ readMode: 'delta', groupsPatched: 2, usersFetched: 1 });
    const paths = graph.requests.slice(mark).map((r) => r.path);
    expect(paths).toContain(`/v1.0/users/${U(50)}`);
    // app-admins holds app-ops, which changed: read again; app-big and app-ops are patched.
    expect(paths.filter((p) => p.endsWith('/transitiveMembers'))).toEqual([`/v1.0/groups/${G(3)}/transitiveMembers`]);
    const big = await membersOf(app, 'app-big');
    expect(big).toHaveLength(BIG);
    expect(big).toContain('judy@corp.example');
    expect(big).not.toContain('big0000@corp.example');
    expect(await membersOf(app, 'app-ops')).toEqual(['alice@corp.example', 'bob@corp.example', 'carol@corp.example']);
    const [big0] = await rows<{ active: boolean }>(app, `select active from local_users where login = 'big0000@corp.example'`);
    expect(big0?.active).toBe(false); // left the scope
  });
});

describe('groupsync CLI with an entra connection', () => {
  it('syncs and shows the connection as kind entra (a child process trusting the loopback CA)', async () => {
    const tls = inject('graphTls');
    const graph = await startGraphServer({ certFile: tls.certFile, keyFile: tls.keyFile });
    const dir = mkdtempSync(path.join(tmpdir(), 'groupsync-entra-cli-'));
    try {
      seed(graph);
      const configFile = path.join(dir, 'groupsync.json');
      writeFileSync(configFile, JSON.stringify({ connections: [entraConnection(graph, { name: 'cloud', groups: { ids: [G(1), G(3)] } })] }));
      const env = { ...process.env, GROUPSYNC_CONFIG: configFile, DATABASE_URL: await createDatabase(inject('pgUrl')), TEST_ENTRA_SECRET: graph.clientSecret, LOG_LEVEL: 'silent' };
      const cli = (...args: string[]) =>
        new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
          execFile(process.execPath, [path.resolve(import.meta.dirname, '../../src/cli/main.ts'), ...args], { env, timeout: 60_000 }, (error, stdout, stderr) => {
            resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
          });
        });
      const synced = await cli('--json', 'sync', 'cloud');
      expect(synced.stderr).toBe('');
      expect(synced.code).toBe(0);
      expect(JSON.parse(synced.stdout)).toMatchObject({ run: { status: 'success', groupsCreated: 2 } });
      const status = await cli('--json', 'status', 'cloud');
      expect(status.code).toBe(0);
      expect(JSON.parse(status.stdout)).toMatchObject({ name: 'cloud', kind: 'entra', vendor: 'entra', linkedGroups: 2, syncedUsers: 4 });
      const text = await cli('status', 'cloud');
      expect(text.stdout).toMatch(/^cloud {2}(GREEN|RED)\n(.*\n)*.*AD type: Azure/);
    } finally {
      await graph.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
