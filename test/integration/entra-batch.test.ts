/**
 * JSON batching (`POST /$batch`) against the loopback Microsoft Graph: the loopback's own batch
 * format (checked with plain fetch), then the Entra source reading users and linked groups by id
 * twenty to a batch with the real Graph client, per-item 429 and 404 answers, and a batch
 * endpoint that fails or is not there.
 */
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { type Driver, DRIVERS, type TestApp, createTestApp, entraConnection } from '../support/app.ts';
import { type GraphServer, guid, startGraphServer } from '../support/graph-server.ts';
import { membersOf, rows, storeFingerprint } from '../support/store.ts';

const U = (n: number) => guid(1, n);
const G = (n: number) => guid(2, n);

function seed(graph: GraphServer): void {
  for (let n = 1; n <= 120; n++) {
    const login = `u${String(n).padStart(3, '0')}`;
    graph.addUser({ id: U(n), userPrincipalName: `${login}@corp.example`, mail: `${login}@example.org`, displayName: login, accountEnabled: true });
  }
  graph.addGroup({ id: G(1), displayName: 'app-one', description: null, members: [U(1), U(2)] });
  graph.addGroup({ id: G(2), displayName: 'app-two', description: null, members: [U(3)] });
}

interface BatchAnswer {
  responses: Array<{ id: string; status: number; headers: Record<string, string>; body: Record<string, unknown> }>;
}

describe('the loopback Graph answers JSON batches as Graph does', () => {
  let graph: GraphServer;
  let token: string;

  beforeEach(async () => {
    const tls = inject('graphTls');
    graph = await startGraphServer({ certFile: tls.certFile, keyFile: tls.keyFile });
    seed(graph);
    const form = new URLSearchParams({ client_id: graph.clientId, client_secret: graph.clientSecret, grant_type: 'client_credentials', scope: `${graph.origin}/.default` });
    const answer = await fetch(`${graph.authorityHost}/${graph.tenantId}/oauth2/v2.0/token`, { method: 'POST', body: form });
    token = ((await answer.json()) as { access_token: string }).access_token;
  });
  afterEach(async () => {
    await graph?.stop();
  });

  const post = async (payload: unknown) => {
    const answer = await fetch(`${graph.graphBaseUrl}/$batch`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(payload),
    });
    return { status: answer.status, body: (await answer.json()) as BatchAnswer & { error?: { code: string; message: string } } };
  };

  it('answers each request by its id, with its own status, headers and body', async () => {
    graph.fault({ path: new RegExp(`/users/${U(2)}$`), status: 429, retryAfter: 7 });
    const { status, body } = await post({
      requests: [
        { id: 'a', method: 'GET', url: `/users/${U(1)}?$select=id,mail` },
        { id: 'b', method: 'GET', url: `/users/${U(2)}` },
        { id: 'c', method: 'GET', url: `users/${guid(1, 999)}` },
        { id: 'd', method: 'GET', url: `/groups/${G(1)}/transitiveMembers?$select=id&$top=1` },
      ],
    });
    expect(status).toBe(200);
    const byId = new Map(body.responses.map((r) => [r.id, r]));
    expect(byId.get('a')).toMatchObject({ status: 200, body: { id: U(1), mail: 'u001@example.org' } });
    expect(byId.get('a')!.body).not.toHaveProperty('displayName');
    expect(byId.get('b')).toMatchObject({ status: 429, headers: { 'Retry-After': '7' }, body: { error: { code: 'TooManyRequests' } } });
    expect(byId.get('c')).toMatchObject({ status: 404, body: { error: { code: 'Request_ResourceNotFound' } } });
    expect(byId.get('d')).toMatchObject({ status: 200, body: { value: [{ id: U(1) }], '@odata.nextLink': expect.stringContaining('$skiptoken=1') } });
    // Every request of the batch is recorded, with the number of its batch.
    expect(graph.graphRequests().filter((r) => r.batch === 1).map((r) => [r.path, r.status])).toEqual([
      [`/v1.0/users/${U(1)}`, 200],
      [`/v1.0/users/${U(2)}`, 429],
      [`/v1.0/users/${guid(1, 999)}`, 404],
      [`/v1.0/groups/${G(1)}/transitiveMembers`, 200],
    ]);
  });

  it('refuses more than 20 requests, none, and repeated ids', async () => {
    const get = (id: string) => ({ id, method: 'GET', url: `/users/${U(1)}` });
    const tooMany = await post({ requests: Array.from({ length: 21 }, (_, k) => get(String(k))) });
    expect(tooMany).toMatchObject({ status: 400, body: { error: { code: 'BadRequest', message: expect.stringMatching(/maximum of 20/) } } });
    expect((await post({ requests: [] })).status).toBe(400);
    expect((await post({ requests: [get('1'), get('1')] })).status).toBe(400);
    expect((await post({ requests: Array.from({ length: 20 }, (_, k) => get(String(k))) })).body.responses).toHaveLength(20);
    expect(graph.batches).toBe(1);
  });
});

describe.each(DRIVERS)('Entra source batching on %s', (driver: Driver) => {
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

  const sync = () => app.engine.sync({ connection: 'corp', trigger: 'manual', actor: 'test' });
  const connection = (overrides: Record<string, unknown> = {}) => entraConnection(graph, { groups: { filter: "startswith(displayName,'app-')" }, ...overrides });
  /** Users 4…(3 + n) join app-one, a flat group: a patch, with n users the model does not know. */
  const join = (n: number) => {
    for (let k = 0; k < n; k++) graph.addMember(G(1), U(4 + k));
  };

  it('reads the users a patched group gains twenty to a batch, not one request each', async () => {
    app = await createTestApp(driver, [connection()]);
    await sync();
    join(45);
    const mark = graph.requests.length;
    const result = await sync();
    expect(result.run.stats).toMatchObject({ readMode: 'delta', groupsPatched: 1, usersFetched: 45 });
    const made = graph.requests.slice(mark);
    expect(made.filter((r) => r.batch === undefined && /^\/v1.0\/users\/[^/]+$/.test(r.path) && r.path !== '/v1.0/users/delta')).toEqual([]);
    const batches = made.filter((r) => r.path === '/v1.0/$batch');
    expect(batches).toHaveLength(3); // ceil(45 / 20)
    expect(batches.every((r) => r.method === 'POST' && r.status === 200)).toBe(true);
    const items = made.filter((r) => r.batch !== undefined);
    expect(items).toHaveLength(45);
    expect(new Set(items.map((r) => r.path)).size).toBe(45);
    expect(items.every((r) => r.query.get('$select') === 'id,userPrincipalName,mail,displayName,accountEnabled')).toBe(true);
    const members = await membersOf(app, 'app-one');
    expect(members).toHaveLength(47);
    expect(members).toContain('u048@corp.example');
  });

  it('sends a user throttled inside a batch (429) again after its Retry-After', async () => {
    app = await createTestApp(driver, [connection({ retryDelay: '10ms' })]);
    await sync();
    join(25);
    graph.fault({ path: new RegExp(`/users/${U(10)}$`), status: 429, retryAfter: 1 });
    const result = await sync();
    expect(result.run.status).toBe('success');
    expect(result.run.stats).toMatchObject({ usersFetched: 25, throttled: 1, retries: 1 });
    const tries = graph.requests.filter((r) => r.path === `/v1.0/users/${U(10)}`);
    expect(tries.map((r) => r.status)).toEqual([429, 200]);
    expect(tries[0]!.batch).not.toBe(tries[1]!.batch);
    expect(tries[1]!.at - tries[0]!.at).toBeGreaterThanOrEqual(1000);
    expect(await membersOf(app, 'app-one')).toContain('u010@corp.example');
  });

  it('leaves out a user deleted between the delta and the batch (404), as a single read did', async () => {
    app = await createTestApp(driver, [connection()]);
    await sync();
    join(3); // users 4, 5, 6
    graph.users.delete(U(5)); // gone before it is read, its removal not yet in the delta
    const result = await sync();
    expect(result.run.status).toBe('success');
    expect(graph.requests.find((r) => r.path === `/v1.0/users/${U(5)}`)).toMatchObject({ status: 404, batch: expect.any(Number) });
    expect(await membersOf(app, 'app-one')).toEqual(['u001@corp.example', 'u002@corp.example', 'u004@corp.example', 'u006@corp.example']);
    expect(await rows(app, `select 1 from local_users where login = 'u005@corp.example'`)).toEqual([]);
  });

  it('a batch endpoint that keeps failing fails the run with a clear error and applies nothing', async () => {
    app = await createTestApp(driver, [connection({ maxRetries: 1, retryDelay: '10ms' })]);
    await sync();
    join(3);
    const before = await storeFingerprint(app);
    graph.fault({ path: /\/\$batch$/, status: 500, times: Infinity });
    const mark = graph.requests.length;
    const failed = await sync();
    expect(failed.run).toMatchObject({ status: 'failed', errorCode: 'DIRECTORY_READ_FAILED' });
    expect(failed.run.error).toMatch(/answered 500.*\$batch of 3 requests/);
    expect(await storeFingerprint(app)).toBe(before);
    expect(graph.requests.slice(mark).filter((r) => r.path === '/v1.0/$batch')).toHaveLength(2); // 1 + maxRetries
  });

  it('a Graph without $batch (404 or 405) is read one request per object instead', async () => {
    app = await createTestApp(driver, [connection()]);
    await sync();
    join(3);
    graph.fault({ path: /\/\$batch$/, status: 405, times: Infinity, code: 'Request_BadRequest' });
    const result = await sync();
    expect(result.run.status).toBe('success');
    expect(result.run.stats).toMatchObject({ usersFetched: 3, batchUnsupported: 405 });
    expect(graph.requests.filter((r) => r.batch === undefined && r.path === `/v1.0/users/${U(4)}`)).toHaveLength(1);
    expect(await membersOf(app, 'app-one')).toHaveLength(5);
  });

  it('reads groups linked by id, and the members of groups, twenty to a batch', async () => {
    for (let n = 10; n < 35; n++) graph.addGroup({ id: G(n), displayName: `app-g${n}`, description: null, members: [U(n)] });
    const ids = Array.from({ length: 25 }, (_, k) => G(10 + k));
    app = await createTestApp(driver, [connection({ groups: { ids: [...ids, guid(2, 999)] } })]);
    const result = await sync();
    expect(result.run).toMatchObject({ status: 'success', groupsCreated: 25 });
    const byId = graph.graphRequests(/^\/v1.0\/groups\/[^/]+$/).filter((r) => r.path !== '/v1.0/groups/delta');
    expect(byId).toHaveLength(26);
    expect(byId.every((r) => r.batch !== undefined)).toBe(true);
    // 26 ids: 2 batches; the members of 25 groups: 2 batches (their first pages; each fits in one).
    expect(graph.graphRequests(/^\/v1.0\/\$batch$/)).toHaveLength(4);
    expect(graph.graphRequests(/\/transitiveMembers$/).every((r) => r.batch !== undefined)).toBe(true);
    expect(await membersOf(app, 'app-g34')).toEqual(['u034@corp.example']);
    const names = await rows<{ name: string }>(app, `select name from local_groups order by name`);
    expect(names.map((n) => n.name)).toEqual(ids.map((_, k) => `app-g${10 + k}`));
  });
});
