/**
 * The Microsoft Graph client of the Entra source: app-only authentication (client credentials,
 * secret or certificate, through @azure/identity: tokens cached and renewed by MSAL), the Graph
 * client with a middleware chain of our own (authentication → retry → HTTP), paging through
 * `@odata.nextLink` to the end, and the wrapping of foreign errors into groupsync's codes.
 *
 * Retries: 429 and 5xx answers and network errors are retried up to `maxRetries` times; a
 * `Retry-After` header (seconds or an HTTP date) is waited for as given, otherwise the delay
 * doubles from `retryDelayMs`. The body is read to its end inside the retry loop, so a connection
 * cut after the headers is a network error like any other (same budget). The Graph client's own
 * RetryHandler is left out of the chain: it retries neither 500 nor network errors.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import {
  AuthenticationError,
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
import { GroupsyncError } from '../../errors.ts';
import { defaultGraphScope, isGraphHost } from './scope.ts';

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
}

export interface GraphPage<T> {
  readonly value: T[];
  /** Set on the last page of a delta query. */
  readonly deltaLink: string | null;
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);
const TLS_CODES = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|ERR_SSL|HOSTNAME|ALTNAME/i;

/** Every error code on the cause chain (fetch hides the socket's code under `cause`). */
function causeCodes(error: unknown): string[] {
  const codes: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current && depth < 6; depth++) {
    const e = current as { code?: unknown; cause?: unknown; name?: unknown };
    if (typeof e.code === 'string') codes.push(e.code);
    if (typeof e.name === 'string' && (e.name === 'TimeoutError' || e.name === 'AbortError')) codes.push(e.name);
    current = e.cause;
  }
  return codes;
}

function causeMessages(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current && depth < 6; depth++) {
    if (current instanceof Error) parts.push(current.message);
    current = (current as { cause?: unknown }).cause;
  }
  return parts.join(': ');
}

function isTransient(error: unknown): boolean {
  const codes = causeCodes(error);
  if (codes.some((c) => TLS_CODES.test(c))) return false;
  return codes.some((c) => NETWORK_CODES.has(c) || c === 'TimeoutError') || /fetch failed|socket hang up|other side closed/i.test(causeMessages(error));
}

/** Retry-After as milliseconds: delta-seconds or an HTTP date; null when absent or unreadable. */
export function retryAfterMs(value: string | null, now = Date.now()): number | null {
  if (value === null || value.trim() === '') return null;
  if (/^\d+(\.\d+)?$/.test(value.trim())) return Math.round(Number(value) * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

/** The body of an answer could not be read to its end (the connection was cut after the headers). */
export class BodyReadError extends Error {
  readonly status: number;
  constructor(status: number, cause: unknown) {
    super(`the answer (${status}) was cut after its headers`, { cause });
    this.name = 'BodyReadError';
    this.status = status;
  }
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
  context.response = new Response(bytes, { status: response.status, statusText: response.statusText, headers: response.headers });
}

/** The longest Retry-After honoured; beyond it the read fails rather than stalling the run. */
const MAX_RETRY_AFTER_MS = 5 * 60_000;
/** The longest back-off between two attempts when the server says nothing. */
const MAX_BACKOFF_MS = 60_000;

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
  readonly stats: GraphStats = { requests: 0, pages: 0, retries: 0, throttled: 0, waitedMs: 0 };
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

type ErrorContext = Pick<GraphClientOptions, 'tenantId' | 'clientId' | 'authorityHost' | 'graphBaseUrl' | 'scope' | 'maxRetries'>;

/** The token endpoint knows no resource for the scope (AADSTS500011): a scope problem, not a credential one. */
function scopeRefused(error: unknown, o: ErrorContext, doing: string, refusal: string): GroupsyncError {
  const host = new URL(o.graphBaseUrl).hostname;
  const fix =
    o.scope === defaultGraphScope(o.graphBaseUrl) && !isGraphHost(o.graphBaseUrl)
      ? `the scope is derived from graphBaseUrl, and ${host} is not a Microsoft Graph host: set scope to the resource of the Graph behind it, such as ${GRAPH_SCOPE_EXAMPLE}`
      : `set scope to the resource of Microsoft Graph in the tenant's cloud, such as ${GRAPH_SCOPE_EXAMPLE}`;
  return new GroupsyncError('DIRECTORY_AUTH_FAILED', `Entra tenant ${o.tenantId}: the token endpoint knows no resource for the scope ${o.scope} (${refusal}) while ${doing}; ${fix}`, { cause: error });
}

const GRAPH_SCOPE_EXAMPLE = 'https://graph.microsoft.com/.default';

const IDENTITY_ERRORS = new Set(['AuthenticationError', 'AuthenticationRequiredError', 'CredentialUnavailableError']);

/** Wraps a foreign error once, with a sentence an admin can act on. Never includes a secret. */
export function wrapGraphError(
  error: unknown,
  o: ErrorContext,
  doing: string,
): GroupsyncError {
  if (error instanceof GroupsyncError) return error;
  if (error instanceof BodyReadError) {
    const retried = isTransient(error) ? `, after ${o.maxRetries} retries` : '';
    return new GroupsyncError(
      'DIRECTORY_UNREACHABLE',
      `Entra: Microsoft Graph at ${hostOf(o.graphBaseUrl)} cut the connection after the headers of its answer (${error.status}) while ${doing}${retried}: ${firstLine(causeMessages(error.cause))}; check the network and any proxy between groupsync and Graph`,
      { cause: error },
    );
  }
  const codes = causeCodes(error);
  const messages = causeMessages(error);
  const tls = codes.find((c) => TLS_CODES.test(c)) ?? (/certificate|self.signed|UNABLE_TO_VERIFY/i.test(messages) ? 'tls' : null);
  if (tls) {
    return new GroupsyncError('DIRECTORY_TLS_FAILED', `Entra (${hostOf(o.graphBaseUrl)}): TLS failed while ${doing}: ${firstLine(messages)} (${tls}); the server certificate must be trusted by Node (NODE_EXTRA_CA_CERTS for a private CA)`, { cause: error });
  }
  // @azure/identity's errors, by name: it ships ESM and CommonJS builds (two classes each), and
  // wraps MSAL's errors as AuthenticationError, AuthenticationRequiredError or CredentialUnavailableError.
  if (error instanceof AuthenticationError || (error instanceof Error && IDENTITY_ERRORS.has(error.name))) {
    const response = (error as Partial<AuthenticationError>).errorResponse;
    const oauth = response?.error ?? /\b(invalid_client|unauthorized_client|invalid_request|invalid_grant|invalid_scope|invalid_resource)\b/.exec(messages)?.[1];
    const aadsts = /AADSTS\d+/.exec(response?.errorDescription ?? messages)?.[0];
    if (!oauth && !aadsts) {
      return new GroupsyncError(
        'DIRECTORY_UNREACHABLE',
        `Entra: no token: the authority ${o.authorityHost} is unreachable, or its certificate is not trusted, while ${doing} (${firstLine(messages).slice(0, 160)}); check authorityHost and the network`,
        { cause: error },
      );
    }
    const refusal = [oauth, aadsts].filter(Boolean).join(' ');
    if (oauth === 'invalid_resource' || aadsts === 'AADSTS500011') return scopeRefused(error, o, doing, refusal);
    return new GroupsyncError(
      'DIRECTORY_AUTH_FAILED',
      `Entra tenant ${o.tenantId}: the token endpoint refused the credentials of client ${o.clientId} (${refusal}); check tenantId, clientId and the client secret or certificate`,
      { cause: error },
    );
  }
  if (error instanceof GraphError && error.statusCode > 0) {
    const code = error.code ? ` ${error.code}` : '';
    if (error.statusCode === 401) {
      return new GroupsyncError('DIRECTORY_AUTH_FAILED', `Entra: Microsoft Graph refused the token (401${code}) while ${doing}; check that the tenant and the Graph URL belong together`, { cause: error });
    }
    if (error.statusCode === 403) {
      return new GroupsyncError(
        'DIRECTORY_AUTH_FAILED',
        `Entra: Microsoft Graph denied access (403${code}) while ${doing}; grant the application the Group.Read.All and User.Read.All application permissions, with admin consent`,
        { cause: error },
      );
    }
    const retried = error.statusCode === 429 || error.statusCode >= 500 ? ' (after the configured retries, or asked to wait more than 5 minutes)' : '';
    return new GroupsyncError('DIRECTORY_READ_FAILED', `Entra: Microsoft Graph answered ${error.statusCode}${code} while ${doing}${retried}: ${firstLine(error.message)}`, { cause: error });
  }
  if (isTransient(error) || codes.some((c) => NETWORK_CODES.has(c))) {
    const timeout = codes.includes('TimeoutError') ? ' (timed out)' : '';
    return new GroupsyncError('DIRECTORY_UNREACHABLE', `Entra: Microsoft Graph at ${hostOf(o.graphBaseUrl)} is unreachable${timeout} while ${doing}: ${firstLine(messages)}`, { cause: error });
  }
  return new GroupsyncError('DIRECTORY_READ_FAILED', `Entra: ${doing} failed: ${firstLine(messages) || String(error)}`, { cause: error });
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

function firstLine(text: string): string {
  return text.split('\n')[0]!.slice(0, 300);
}
