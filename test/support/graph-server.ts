/**
 * A loopback Microsoft Graph for tests and the bench: HTTPS (certificate from graph-tls.ts),
 * the Entra token endpoint (refusing a scope whose resource it does not know) and its OpenID discovery document
 * (an unknown tenant answered AADSTS90002, as Entra does), and the Graph v1.0 shapes of
 * `/groups`, `/groups/{id}`, `/groups/{id}/transitiveMembers`, `/users`, `/users/{id}`, `/users/delta`,
 * `/groups/delta` and `/organization`: `$select`, `$top` with `@odata.nextLink` paging, a small
 * `$filter` (eq, startswith, and/or), delta links (`$deltatoken=latest` included) over a change
 * log (groups with `members@delta`), and JSON batching (`POST /$batch`, 20 requests at most, each
 * answered with its own status, headers and body). Faults can be injected (429 + Retry-After, 503, 500, an answer cut after its
 * headers, expired delta links → 410 syncStateNotFound; on a request inside a batch too), and every
 * request is recorded with its time (a request inside a batch with its batch's number).
 */
import { readFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';

export interface GraphUser {
  id: string;
  userPrincipalName: string;
  mail: string | null;
  displayName: string;
  accountEnabled: boolean;
}

export interface GraphGroup {
  id: string;
  displayName: string;
  description: string | null;
  /** Direct members: user or group ids. */
  members: string[];
}

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly at: number;
  status: number;
  readonly authorized: boolean;
  /** For a request inside a JSON batch: the sequence number of its batch (1, 2, …). */
  readonly batch?: number;
}

export interface Fault {
  /** Matched against the path (without the query). */
  readonly path: RegExp;
  readonly status: number;
  /** Retry-After header value in seconds. */
  readonly retryAfter?: number;
  /** How many requests it answers; Infinity for all. */
  times: number;
  readonly code?: string;
  /** Send the status line and headers and the start of the body, then destroy the socket (a reset mid-body). */
  readonly cutBody?: boolean;
}

export interface GraphServerOptions {
  readonly certFile: string;
  readonly keyFile: string;
  readonly tenantId?: string;
  readonly clientId?: string;
  readonly clientSecret?: string;
  /** Page size when the client gives no $top (Graph: 100). */
  readonly defaultPageSize?: number;
  /** Token lifetime in seconds. */
  readonly tokenLifetime?: number;
  /** Skip recording requests (the bench's millions of rows would not help anyone). */
  readonly record?: boolean;
}

/** An answer to one Graph request, alone or inside a batch. */
interface Answer {
  readonly status: number;
  readonly body: unknown;
  readonly headers?: Record<string, string>;
  /** Send the status line, the headers and the start of the body, then reset the connection. */
  readonly cut?: boolean;
}

const CONTENT_TYPE = 'application/json;odata.metadata=minimal;charset=utf-8';
/** Requests in one JSON batch at most (Graph's limit). */
export const MAX_BATCH = 20;

function errorAnswer(status: number, code: string, message: string, headers?: Record<string, string>): Answer {
  return { status, body: { error: { code, message, innerError: { 'request-id': 'test', date: new Date().toISOString() } } }, ...(headers ? { headers } : {}) };
}

function faultAnswer(fault: Fault): Answer {
  const headers: Record<string, string> = fault.retryAfter !== undefined ? { 'Retry-After': String(fault.retryAfter) } : {};
  const code = fault.code ?? (fault.status === 429 ? 'TooManyRequests' : fault.status === 503 ? 'serviceNotAvailable' : 'generalException');
  return errorAnswer(fault.status, code, `injected fault ${fault.status}`, headers);
}

export const TEST_TENANT = '11111111-2222-4333-8444-555555555555';
export const TEST_CLIENT = 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee';
export const TEST_SECRET = 'test-client-secret';

/** A GUID from a number: stable, readable ids for tests. */
export const guid = (prefix: number, n: number) =>
  `${String(prefix).padStart(8, '0')}-0000-4000-8000-${String(n).padStart(12, '0')}`;

type Predicate = (o: Record<string, unknown>) => boolean;

/** The OData filters the product sends: `a eq 'x'`, `a eq true`, `startswith(a,'x')`, joined by and/or. */
export function parseFilter(text: string): Predicate {
  const orParts = text.split(/\s+or\s+/i);
  const terms = orParts.map((part) =>
    part.split(/\s+and\s+/i).map((term): Predicate => {
      const t = term.trim().replace(/^\((.*)\)$/, '$1');
      let m = /^startswith\((\w+),\s*'((?:[^']|'')*)'\)$/i.exec(t);
      if (m) {
        const [, attr, value] = m;
        const v = value!.replace(/''/g, "'").toLowerCase();
        return (o) => String(o[attr!] ?? '').toLowerCase().startsWith(v);
      }
      m = /^(\w+)\s+eq\s+(?:'((?:[^']|'')*)'|(true|false))$/i.exec(t);
      if (m) {
        const [, attr, str, bool] = m;
        if (bool !== undefined) return (o) => o[attr!] === (bool.toLowerCase() === 'true');
        const v = str!.replace(/''/g, "'").toLowerCase();
        return (o) => String(o[attr!] ?? '').toLowerCase() === v;
      }
      throw new Error(`unsupported filter term: ${t}`);
    }),
  );
  return (o) => terms.some((and) => and.every((p) => p(o)));
}

export class GraphServer {
  readonly users = new Map<string, GraphUser>();
  readonly groups = new Map<string, GraphGroup>();
  readonly requests: RecordedRequest[] = [];
  readonly faults: Fault[] = [];
  readonly tenantId: string;
  readonly clientId: string;
  clientSecret: string;
  /** Delta tokens below this are answered 410 syncStateNotFound. */
  expiredBefore = 0;
  tokensIssued = 0;
  /** JSON batches answered so far. */
  batches = 0;
  /** Resources a token may be asked for (`<resource>/.default`); the server's own origin is added at start. */
  readonly resources = new Set<string>(['https://graph.microsoft.com']);
  readonly #server: https.Server;
  readonly #options: GraphServerOptions;
  readonly #log: Array<{ seq: number; type: 'user' | 'group'; id: string; member?: { id: string; removed: boolean } }> = [];
  #seq = 0;
  #tokens = new Set<string>();
  origin = '';

  constructor(options: GraphServerOptions) {
    this.#options = options;
    this.tenantId = options.tenantId ?? TEST_TENANT;
    this.clientId = options.clientId ?? TEST_CLIENT;
    this.clientSecret = options.clientSecret ?? TEST_SECRET;
    this.#server = https.createServer({ cert: readFileSync(options.certFile), key: readFileSync(options.keyFile), keepAlive: true }, (req, res) => {
      this.#handle(req, res).catch((error: unknown) => {
        if (!res.headersSent) this.#json(res, 500, { error: { code: 'generalException', message: String(error) } });
      });
    });
  }

  async start(port = 0): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(port, '127.0.0.1', resolve));
    this.origin = `https://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    this.resources.add(this.origin);
    return this;
  }

  async stop(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  get graphBaseUrl(): string {
    return `${this.origin}/v1.0`;
  }

  get authorityHost(): string {
    return this.origin;
  }

  // --- directory changes (each one logged for delta queries) ----------------------------------

  #changed(type: 'user' | 'group', id: string, member?: { id: string; removed: boolean }): void {
    this.#log.push({ seq: ++this.#seq, type, id, ...(member ? { member } : {}) });
  }

  addUser(user: GraphUser): GraphUser {
    this.users.set(user.id, user);
    this.#changed('user', user.id);
    return user;
  }

  updateUser(id: string, patch: Partial<Omit<GraphUser, 'id'>>): void {
    const user = this.users.get(id);
    if (!user) throw new Error(`no user ${id}`);
    Object.assign(user, patch);
    this.#changed('user', id);
  }

  /** Deletes a user; Graph removes it from every group too. */
  deleteUser(id: string): void {
    this.users.delete(id);
    this.#changed('user', id);
    for (const g of this.groups.values()) if (g.members.includes(id)) this.removeMember(g.id, id);
  }

  addGroup(group: GraphGroup): GraphGroup {
    this.groups.set(group.id, group);
    this.#changed('group', group.id);
    return group;
  }

  updateGroup(id: string, patch: Partial<Omit<GraphGroup, 'id' | 'members'>>): void {
    const group = this.groups.get(id);
    if (!group) throw new Error(`no group ${id}`);
    Object.assign(group, patch);
    this.#changed('group', id);
  }

  deleteGroup(id: string): void {
    this.groups.delete(id);
    this.#changed('group', id);
    for (const g of this.groups.values()) if (g.members.includes(id)) this.removeMember(g.id, id);
  }

  addMember(groupId: string, memberId: string): void {
    const group = this.groups.get(groupId)!;
    if (!group.members.includes(memberId)) group.members.push(memberId);
    this.#changed('group', groupId, { id: memberId, removed: false });
  }

  removeMember(groupId: string, memberId: string): void {
    const group = this.groups.get(groupId)!;
    group.members = group.members.filter((m) => m !== memberId);
    this.#changed('group', groupId, { id: memberId, removed: true });
  }

  /** Every delta link handed out so far stops working (as after Graph's retention period). */
  expireDeltaTokens(): void {
    this.expiredBefore = this.#seq + 1;
  }

  fault(fault: Omit<Fault, 'times'> & { times?: number }): void {
    this.faults.push({ times: 1, ...fault });
  }

  /** Recorded Graph requests (not the token endpoint) whose path matches. */
  graphRequests(path?: RegExp): RecordedRequest[] {
    return this.requests.filter((r) => r.path.startsWith('/v1.0/') && (!path || path.test(r.path)));
  }

  // --- HTTP -----------------------------------------------------------------------------------

  #json(res: import('node:http').ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': CONTENT_TYPE, 'content-length': Buffer.byteLength(text), ...headers });
    res.end(text);
  }

  async #handle(req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.origin);
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const auth = req.headers.authorization ?? '';
    const authorized = auth.startsWith('Bearer ') && this.#tokens.has(auth.slice(7));
    const record: RecordedRequest = { method: req.method ?? 'GET', path: url.pathname, query: url.searchParams, at: performance.now(), status: 0, authorized };
    if (this.#options.record !== false) this.requests.push(record);
    const send = (status: number, payload: unknown, headers?: Record<string, string>) => {
      record.status = status;
      this.#json(res, status, payload, headers);
    };
    const fail = (status: number, code: string, message: string, headers?: Record<string, string>) => {
      const answer = errorAnswer(status, code, message, headers);
      send(answer.status, answer.body, answer.headers);
    };

    const fault = this.#takeFault(url.pathname);
    if (fault) {
      if (fault.cutBody) {
        record.status = fault.status;
        return this.#cut(res, fault.status);
      }
      const answer = faultAnswer(fault);
      return send(answer.status, answer.body, answer.headers);
    }

    // Entra ID: OpenID discovery and the token endpoint.
    const tenantPath = `/${this.tenantId}`;
    if (url.pathname === `${tenantPath}/v2.0/.well-known/openid-configuration`) {
      const base = `${this.origin}${tenantPath}`;
      return send(200, {
        token_endpoint: `${base}/oauth2/v2.0/token`,
        authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
        end_session_endpoint: `${base}/oauth2/v2.0/logout`,
        jwks_uri: `${this.origin}/common/discovery/v2.0/keys`,
        issuer: `${this.origin}/${this.tenantId}/v2.0`,
        response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
        token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
      });
    }
    if (url.pathname === `${tenantPath}/oauth2/v2.0/token` && req.method === 'POST') {
      const form = new URLSearchParams(body);
      const secretOk = form.get('client_secret') === this.clientSecret;
      const assertionOk = form.get('client_assertion_type') === 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer' && !!form.get('client_assertion');
      if (form.get('client_id') !== this.clientId) {
        record.status = 400;
        return this.#json(res, 400, { error: 'unauthorized_client', error_description: `AADSTS700016: Application with identifier '${form.get('client_id')}' was not found in the directory.`, error_codes: [700016] });
      }
      if (form.get('grant_type') !== 'client_credentials' || !(secretOk || assertionOk)) {
        record.status = 401;
        return this.#json(res, 401, { error: 'invalid_client', error_description: 'AADSTS7000215: Invalid client secret provided.', error_codes: [7000215] });
      }
      const resource = (form.get('scope') ?? '').split(' ').find((s) => s.endsWith('/.default'))?.slice(0, -'/.default'.length) ?? '';
      if (!this.resources.has(resource)) {
        record.status = 400;
        return this.#json(res, 400, {
          error: 'invalid_resource',
          error_description: `AADSTS500011: The resource principal named ${resource} was not found in the tenant named ${this.tenantId}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.`,
          error_codes: [500011],
        });
      }
      const token = `tok-${++this.tokensIssued}-${Math.random().toString(36).slice(2)}`;
      this.#tokens.add(token);
      const lifetime = this.#options.tokenLifetime ?? 3599;
      return send(200, { token_type: 'Bearer', expires_in: lifetime, ext_expires_in: lifetime, access_token: token });
    }

    // Another tenant: Entra's answers for a tenant id it does not know (the discovery document and the token endpoint alike).
    const other = /^\/([^/]+)\/(?:v2\.0\/\.well-known\/openid-configuration|oauth2\/v2\.0\/token)$/.exec(url.pathname);
    if (other) {
      record.status = 400;
      return this.#json(res, 400, {
        error: url.pathname.endsWith('/token') ? 'invalid_request' : 'invalid_tenant',
        error_description: `AADSTS90002: Tenant '${decodeURIComponent(other[1]!)}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`,
        error_codes: [90002],
      });
    }
    if (!url.pathname.startsWith('/v1.0/')) return fail(404, 'NotFound', `no route ${url.pathname}`);
    if (!authorized) return fail(401, 'InvalidAuthenticationToken', 'Access token is empty or invalid.');
    const answer = url.pathname === '/v1.0/$batch' && req.method === 'POST' ? this.#batch(body) : this.#route(req.method ?? 'GET', url);
    record.status = answer.status;
    if (answer.cut) return this.#cut(res, answer.status);
    this.#json(res, answer.status, answer.body, answer.headers);
  }

  /** The status line, the headers and the start of the body, then the socket destroyed (a reset mid-body). */
  #cut(res: import('node:http').ServerResponse, status: number): void {
    res.writeHead(status, { 'content-type': CONTENT_TYPE, 'content-length': 65536 });
    res.write('{"@odata.context":"cut","value":[', () => res.destroy());
  }

  /** A Graph request below /v1.0 (not $batch), answered as a value: the same for a request alone and inside a batch. */
  #route(method: string, url: URL): Answer {
    const path = url.pathname.slice('/v1.0'.length);
    const q = url.searchParams;
    const ok = (body: unknown): Answer => ({ status: 200, body });
    const notFound = (id: string): Answer =>
      errorAnswer(404, 'Request_ResourceNotFound', `Resource '${id}' does not exist or one of its queried reference-property objects are not present.`);
    if (method !== 'GET') return errorAnswer(405, 'Request_BadRequest', `${method} is not supported on ${path}`);
    let m: RegExpExecArray | null;
    if (path === '/organization') return ok({ value: [{ id: this.tenantId }] });
    if (path === '/users/delta') return this.#delta(q, 'user', path);
    if (path === '/groups/delta') return this.#delta(q, 'group', path);
    if (path === '/users') {
      const filter = q.get('$filter') ? parseFilter(q.get('$filter')!) : () => true;
      const all = [...this.users.values()].filter((u) => filter(u as unknown as Record<string, unknown>));
      return this.#page(q, path, all.map((u) => this.#select(u, q, '#microsoft.graph.user')));
    }
    if (path === '/groups') {
      const filter = q.get('$filter') ? parseFilter(q.get('$filter')!) : () => true;
      const all = [...this.groups.values()].filter((g) => filter(g as unknown as Record<string, unknown>));
      return this.#page(q, path, all.map((g) => this.#select(g, q, '#microsoft.graph.group')));
    }
    if ((m = /^\/users\/([^/]+)$/.exec(path))) {
      const user = this.users.get(decodeURIComponent(m[1]!));
      return user ? ok(this.#select(user, q, '#microsoft.graph.user')) : notFound(m[1]!);
    }
    if ((m = /^\/groups\/([^/]+)$/.exec(path))) {
      const group = this.groups.get(decodeURIComponent(m[1]!));
      return group ? ok(this.#select(group, q, '#microsoft.graph.group')) : notFound(m[1]!);
    }
    if ((m = /^\/groups\/([^/]+)\/transitiveMembers$/.exec(path))) {
      const group = this.groups.get(decodeURIComponent(m[1]!));
      if (!group) return notFound(m[1]!);
      return this.#page(q, path, this.#transitive(group).map((o) => ('userPrincipalName' in o ? this.#select(o, q, '#microsoft.graph.user') : { '@odata.type': '#microsoft.graph.group', id: o.id })));
    }
    return errorAnswer(400, 'BadRequest', `unsupported path ${path}`);
  }

  /**
   * JSON batching (POST /$batch): up to 20 requests `{id, method, url}` with urls relative to the
   * service root, each answered `{id, status, headers, body}`, in an order of the server's (here:
   * reversed, so a client must match answers by id). The batch itself answers 200 whatever its
   * items answer; a malformed batch (no requests, more than 20, ids missing or repeated) 400.
   * Faults apply to each item by its path (a 429 item carries its Retry-After; an item's answer
   * cut after its headers cuts the whole batch's answer); every item is recorded, with the
   * sequence number of its batch.
   */
  #batch(text: string): Answer {
    let payload: { requests?: unknown };
    try {
      payload = JSON.parse(text) as { requests?: unknown };
    } catch {
      return errorAnswer(400, 'BadRequest', 'Invalid batch payload format.');
    }
    const requests = payload.requests;
    if (!Array.isArray(requests) || requests.length === 0) return errorAnswer(400, 'BadRequest', 'Invalid batch payload format.');
    if (requests.length > MAX_BATCH) return errorAnswer(400, 'BadRequest', `Number of batch request steps exceeds the maximum of ${MAX_BATCH}.`);
    const ids = new Set<string>();
    for (const r of requests as Array<Record<string, unknown>>) {
      if (typeof r.id !== 'string' || r.id === '' || typeof r.method !== 'string' || typeof r.url !== 'string') {
        return errorAnswer(400, 'BadRequest', 'Each batch request needs an id, a method and a url.');
      }
      if (ids.has(r.id)) return errorAnswer(400, 'BadRequest', `Batch request id '${r.id}' is repeated.`);
      ids.add(r.id);
    }
    const batch = ++this.batches;
    let cut = false;
    const responses = (requests as Array<{ id: string; method: string; url: string }>).map((r) => {
      const url = new URL(`${this.graphBaseUrl}${r.url.startsWith('/') ? '' : '/'}${r.url}`);
      const record: RecordedRequest = { method: r.method, path: url.pathname, query: url.searchParams, at: performance.now(), status: 0, authorized: true, batch };
      if (this.#options.record !== false) this.requests.push(record);
      const fault = this.#takeFault(url.pathname);
      // An item's answer cut after its headers cuts the batch's answer, which carries it.
      if (fault?.cutBody) cut = true;
      const answer = fault && !fault.cutBody ? faultAnswer(fault) : this.#route(r.method, url);
      record.status = answer.status;
      return { id: r.id, status: answer.status, headers: { 'Content-Type': CONTENT_TYPE, ...(answer.headers ?? {}) }, body: answer.body };
    });
    return { status: 200, body: { responses: responses.reverse() }, ...(cut ? { cut } : {}) };
  }

  #takeFault(path: string): Fault | undefined {
    const fault = this.faults.find((f) => f.times > 0 && f.path.test(path));
    if (fault) fault.times--;
    return fault;
  }

  /** Users and groups reached from a group, each once (cycles included), in a stable order. */
  #transitive(group: GraphGroup): Array<GraphUser | GraphGroup> {
    const out: Array<GraphUser | GraphGroup> = [];
    const seen = new Set<string>([group.id]);
    const stack = [group];
    while (stack.length) {
      const g = stack.pop()!;
      for (const id of g.members) {
        if (seen.has(id)) continue;
        seen.add(id);
        const user = this.users.get(id);
        if (user) out.push(user);
        const nested = this.groups.get(id);
        if (nested) {
          out.push(nested);
          stack.push(nested);
        }
      }
    }
    return out;
  }

  #select(o: GraphUser | GraphGroup, q: URLSearchParams, type: string): Record<string, unknown> {
    const select = q.get('$select')?.split(',').map((s) => s.trim()).filter((s) => s !== 'members');
    const out: Record<string, unknown> = { '@odata.type': type, id: o.id };
    for (const key of select ?? Object.keys(o)) if (key in o && key !== 'members') out[key] = (o as unknown as Record<string, unknown>)[key];
    return out;
  }

  #page(q: URLSearchParams, path: string, all: unknown[]): Answer {
    const top = Math.min(Number(q.get('$top') ?? this.#options.defaultPageSize ?? 100), 999);
    const offset = Number(q.get('$skiptoken') ?? 0);
    const value = all.slice(offset, offset + top);
    const body: Record<string, unknown> = { '@odata.context': `${this.graphBaseUrl}/$metadata`, value };
    if (offset + top < all.length) {
      const next = new URLSearchParams(q);
      next.set('$skiptoken', String(offset + top));
      body['@odata.nextLink'] = `${this.graphBaseUrl}${path}?${decodeURIComponent(next.toString()).replace(/ /g, '%20')}`;
    }
    return { status: 200, body };
  }

  #delta(q: URLSearchParams, type: 'user' | 'group', path: string): Answer {
    const token = q.get('$deltatoken');
    const link = (seq: number) => `${this.graphBaseUrl}${path}?$deltatoken=${seq}${q.get('$select') ? `&$select=${q.get('$select')}` : ''}`;
    if (token === 'latest') return { status: 200, body: { value: [], '@odata.deltaLink': link(this.#seq) } };
    let ids: string[];
    /** Net member changes per group since the token: member id → removed. */
    const memberChanges = new Map<string, Map<string, boolean>>();
    if (token === null) {
      ids = type === 'user' ? [...this.users.keys()] : [...this.groups.keys()];
    } else {
      const since = Number(token);
      if (!Number.isFinite(since) || since < this.expiredBefore) {
        return errorAnswer(410, 'syncStateNotFound', 'The sync state generation is not found. Delta token is expired or invalid.');
      }
      const changes = this.#log.filter((c) => c.seq > since && c.type === type);
      ids = [...new Set(changes.map((c) => c.id))];
      for (const c of changes) {
        if (!c.member) continue;
        const net = memberChanges.get(c.id) ?? new Map<string, boolean>();
        net.set(c.member.id, c.member.removed);
        memberChanges.set(c.id, net);
      }
    }
    // One page per 200 changes, then the delta link.
    const offset = Number(q.get('$skiptoken') ?? 0);
    const slice = ids.slice(offset, offset + 200);
    const value = slice.map((id) => {
      const o = type === 'user' ? this.users.get(id) : this.groups.get(id);
      if (!o) return { id, '@removed': { reason: 'deleted' } };
      if (type === 'user') return this.#select(o, q, '#microsoft.graph.user');
      // members@delta: the members added, and those removed (`@removed`), as Graph reports them.
      const net = memberChanges.get(id);
      const membersDelta = net
        ? [...net].map(([m, removed]) => ({
            '@odata.type': this.groups.has(m) ? '#microsoft.graph.group' : '#microsoft.graph.user',
            id: m,
            ...(removed ? { '@removed': { reason: 'deleted' } } : {}),
          }))
        : null;
      return { ...this.#select(o, q, '#microsoft.graph.group'), ...(membersDelta ? { 'members@delta': membersDelta } : {}) };
    });
    if (offset + 200 < ids.length) {
      const next = new URLSearchParams(q);
      next.set('$skiptoken', String(offset + 200));
      return { status: 200, body: { value, '@odata.nextLink': `${this.graphBaseUrl}${path}?${decodeURIComponent(next.toString())}` } };
    }
    return { status: 200, body: { value, '@odata.deltaLink': link(this.#seq) } };
  }
}

export async function startGraphServer(options: GraphServerOptions): Promise<GraphServer> {
  return new GraphServer(options).start();
}
