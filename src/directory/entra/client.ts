/**
 * The Microsoft Graph client of the Entra source: app-only authentication (client credentials,
 * secret or certificate, through @azure/identity: tokens cached and renewed by MSAL), the Graph
 * client with a middleware chain of our own (authentication → retry → HTTP), paging through
 * `@odata.nextLink` to the end. Foreign errors are wrapped into groupsync's codes in errors.ts.
 *
 * Retries: 429 and 5xx answers and network errors are retried up to `maxRetries` times; a
 * `Retry-After` header (seconds or an HTTP date) is waited for as given, otherwise the delay
 * doubles from `retryDelayMs`. The body is read to its end inside the retry loop, so a connection
 * cut after the headers is a network error like any other (same budget). The Graph client's own
 * RetryHandler is left out of the chain: it retries neither 500 nor network errors.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import {
  ClientCertificateCredential,
  ClientSecretCredential,
  type TokenCredential,
} from '@azure/identity';
import {
  AuthenticationHandler,
  Client,
  type Context,
  GraphError,
  HTTPMessageHandler,
  type Middleware,
} from '@microsoft/microsoft-graph-client';
import { TokenCredentialAuthenticationProvider } from '@microsoft/microsoft-graph-client/authProviders/azureTokenCredentials/index.js';
import { BodyReadError, isTransient } from './errors.ts';

export type EntraCredential =
  | { readonly type: 'secret'; readonly secret: string }
  | { readonly type: 'certificate'; readonly pem: string; readonly sendChain: boolean };

export interface GraphClientOptions {
  readonly tenantId: string;
  readonly clientId: string;
  readonly credential: EntraCredential;
  /** https://login.microsoftonline.com, or a national cloud's (or a test server's) authority host. */
  readonly authorityHost: string;
  /** Service root with version: https://graph.microsoft.com/v1.0. */
  readonly graphBaseUrl: string;
  /** Scope of the app-only token: https://graph.microsoft.com/.default (see scope.ts). */
  readonly scope: string;
  /** Host names (no port) besides Microsoft's Graph hosts that may receive the token. */
  readonly trustedHosts: readonly string[];
  readonly timeoutSeconds: number;
  readonly maxRetries: number;
  readonly retryDelayMs: number;
}

/** Counters for the run record. */
export interface GraphStats {
  requests: number;
  pages: number;
  retries: number;
  throttled: number;
  waitedMs: number;
  /** JSON batches sent (each also counted in requests). */
  batches: number;
  /** The status with which Graph refused `$batch` (then: one request per object), or null. */
  batchUnsupported: number | null;
}

/** One request of a JSON batch; `url` is relative to the service root (`/users/{id}?…`). */
export interface BatchRequest {
  readonly id: string;
  readonly method: 'GET';
  readonly url: string;
}

/** One answer of a JSON batch, matched to its request by id (Graph answers in any order). */
export interface BatchResponse {
  readonly id: string;
  readonly status: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: unknown;
}

export interface GraphPage<T> {
  readonly value: T[];
  /** Set on the last page of a delta query. */
  readonly deltaLink: string | null;
}


/** Retry-After as milliseconds: delta-seconds or an HTTP date; null when absent or unreadable. */
export function retryAfterMs(value: string | null, now = Date.now()): number | null {
  if (value === null || value.trim() === '') return null;
  if (/^\d+(\.\d+)?$/.test(value.trim())) return Math.round(Number(value) * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}


/**
 * Reads the answer's body to its end and puts it back as a buffered Response, so that a failure
 * to read it happens here, inside the retry loop, and not later in the Graph client's response
 * handler (which reports it as "answered 200 TypeError: terminated", never retried).
 */
async function bufferBody(context: Context): Promise<void> {
  const response = context.response;
  if (!response?.body) return;
  let bytes: ArrayBuffer;
  try {
    bytes = await response.arrayBuffer();
  } catch (error) {
    throw new BodyReadError(response.status, error);
  }
  const init = { status: response.status, statusText: response.statusText, headers: response.headers };
  const parsed = parseJson(response.headers.get('content-type'), bytes);
  context.response = parsed === NOT_JSON ? new Response(bytes, init) : new ParsedResponse(parsed, init);
}

const NOT_JSON = Symbol('not JSON');

/** A JSON body as its value; NOT_JSON when it is another type or does not parse (the Graph client then says so as before). */
function parseJson(contentType: string | null, bytes: ArrayBuffer): unknown {
  // The Graph client's own test for a JSON answer (GraphResponseHandler): anything else goes its way.
  if (contentType?.split(';')[0] !== 'application/json' || bytes.byteLength === 0) return NOT_JSON;
  try {
    return JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    return NOT_JSON;
  }
}

/**
 * A JSON answer parsed once, from the bytes read: the Graph client's json() gets the value
 * instead of a body made of a copy of the bytes, read again into a third copy and decoded (a
 * $batch of twenty first pages of 999 members is about 4 MB).
 */
class ParsedResponse extends Response {
  constructor(value: unknown, init: ResponseInit) {
    super(null, init);
    // json is read-only in the Response type; the Graph client reads a JSON answer with it alone.
    Object.defineProperty(this, 'json', { value: () => Promise.resolve(value) });
  }
}

/** The longest Retry-After honoured; beyond it the read fails rather than stalling the run. */
export const MAX_RETRY_AFTER_MS = 5 * 60_000;
/** The longest back-off between two attempts when the server says nothing. */
export const MAX_BACKOFF_MS = 60_000;

class RetryMiddleware implements Middleware {
  #next: Middleware | undefined;
  readonly #options: GraphClientOptions;
  readonly #stats: GraphStats;

  constructor(options: GraphClientOptions, stats: GraphStats) {
    this.#options = options;
    this.#stats = stats;
  }

  setNext(next: Middleware): void {
    this.#next = next;
  }

  async execute(context: Context): Promise<void> {
    const { maxRetries, retryDelayMs, timeoutSeconds } = this.#options;
    for (let attempt = 0; ; attempt++) {
      context.options = { ...context.options, signal: AbortSignal.timeout(timeoutSeconds * 1000) };
      this.#stats.requests++;
      let failure: unknown = null;
      try {
        await this.#next!.execute(context);
        await bufferBody(context);
      } catch (error) {
        failure = error;
      }
      const response = failure ? undefined : context.response;
      const status = response?.status ?? 0;
      const retriable = failure ? isTransient(failure) : status === 429 || status >= 500;
      if (!retriable || attempt >= maxRetries) {
        if (failure) throw failure;
        return;
      }
      const told = response ? retryAfterMs(response.headers.get('retry-after')) : null;
      if (told !== null && told > MAX_RETRY_AFTER_MS) return; // the 429/503 surfaces as a failed read
      const delay = told ?? Math.min(retryDelayMs * 2 ** attempt, MAX_BACKOFF_MS);
      if (status === 429) this.#stats.throttled++;
      this.#stats.retries++;
      this.#stats.waitedMs += delay;
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}

/**
 * The Graph client turns any error thrown inside its middleware chain (a refused token, a failed
 * fetch) into a GraphError that keeps neither its class nor its cause. The first middleware keeps
 * the original for the call that is waiting for it (one holder per call, across concurrent calls).
 */
const failures = new AsyncLocalStorage<{ error: unknown }>();

class KeepFailureMiddleware implements Middleware {
  #next: Middleware | undefined;
  setNext(next: Middleware): void {
    this.#next = next;
  }
  async execute(context: Context): Promise<void> {
    try {
      await this.#next!.execute(context);
    } catch (error) {
      const holder = failures.getStore();
      if (holder) holder.error = error;
      throw error;
    }
  }
}

function createCredential(o: GraphClientOptions): TokenCredential {
  const common = {
    authorityHost: o.authorityHost,
    // The authority host is the one configured: no instance discovery at Microsoft's endpoint.
    disableInstanceDiscovery: true,
    retryOptions: { maxRetries: Math.min(o.maxRetries, 3), retryDelayInMs: o.retryDelayMs, maxRetryDelayInMs: 30_000 },
  };
  if (o.credential.type === 'secret') return new ClientSecretCredential(o.tenantId, o.clientId, o.credential.secret, common);
  return new ClientCertificateCredential(
    o.tenantId,
    o.clientId,
    { certificate: o.credential.pem },
    { ...common, sendCertificateChain: o.credential.sendChain },
  );
}

export class GraphHttp {
  readonly stats: GraphStats = { requests: 0, pages: 0, retries: 0, throttled: 0, waitedMs: 0, batches: 0, batchUnsupported: null };
  readonly #client: Client;
  readonly #options: GraphClientOptions;

  constructor(options: GraphClientOptions) {
    this.#options = options;
    const credential = createCredential(options);
    const authProvider = new TokenCredentialAuthenticationProvider(credential, { scopes: [options.scope] });
    const base = new URL(options.graphBaseUrl);
    this.#client = Client.initWithMiddleware({
      middleware: [new KeepFailureMiddleware(), new AuthenticationHandler(authProvider), new RetryMiddleware(options, this.stats), new HTTPMessageHandler()],
      baseUrl: base.origin,
      defaultVersion: base.pathname.replace(/^\/|\/$/g, ''),
      // The token goes only to Microsoft's Graph hosts and to these (host names, no port).
      customHosts: new Set([base.hostname, ...options.trustedHosts]),
    });
  }

  get graphBaseUrl(): string {
    return this.#options.graphBaseUrl;
  }

  /** How often, and after how long, a failed request is sent again (also for the requests of a batch). */
  get retryPolicy(): Pick<GraphClientOptions, 'maxRetries' | 'retryDelayMs'> {
    return { maxRetries: this.#options.maxRetries, retryDelayMs: this.#options.retryDelayMs };
  }

  /** A path below the service root (`/groups?…`) or a full URL (a next or delta link). */
  #url(pathOrUrl: string): string {
    return /^https:\/\//i.test(pathOrUrl) ? pathOrUrl : `${this.#options.graphBaseUrl}${pathOrUrl}`;
  }

  async get<T>(pathOrUrl: string): Promise<T> {
    const holder: { error: unknown } = { error: null };
    try {
      return (await failures.run(holder, () => this.#client.api(this.#url(pathOrUrl)).get())) as T;
    } catch (error) {
      // An HTTP error answer is a GraphError with its status; anything else: the original error.
      throw holder.error ?? error;
    }
  }

  /**
   * One JSON batch (`POST /$batch`, at most 20 requests). The batch itself is retried as any
   * request; its answers, each with its own status, are the caller's (see batch.ts).
   */
  async postBatch(requests: readonly BatchRequest[]): Promise<BatchResponse[]> {
    const holder: { error: unknown } = { error: null };
    this.stats.batches++;
    try {
      const body = (await failures.run(holder, () => this.#client.api(this.#url('/$batch')).post({ requests }))) as { responses?: BatchResponse[] } | null;
      return body?.responses ?? [];
    } catch (error) {
      throw holder.error ?? error;
    }
  }

  /** Every page of a collection, following `@odata.nextLink` to the end. */
  async *pages<T>(pathOrUrl: string): AsyncGenerator<GraphPage<T>> {
    let next: string | null = this.#url(pathOrUrl);
    while (next) {
      const body: { value?: T[]; '@odata.nextLink'?: string; '@odata.deltaLink'?: string } = await this.get(next);
      this.stats.pages++;
      next = body['@odata.nextLink'] ?? null;
      yield { value: body.value ?? [], deltaLink: body['@odata.deltaLink'] ?? null };
    }
  }
}

/** Whether a Graph error says the delta link can no longer be used (expired or invalid): read in full. */
export function deltaExpiredReason(error: unknown): string | null {
  if (!(error instanceof GraphError)) return null;
  const code = error.code ?? '';
  if (/^(syncStateNotFound|resyncRequired|syncStateInvalid)$/i.test(code)) return code;
  if (error.statusCode === 410) return code || 'gone';
  if (error.statusCode === 400 && /delta ?token|skip ?token|sync state/i.test(error.message)) return code || 'invalidDeltaToken';
  return null;
}
