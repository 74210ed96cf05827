/**
 * Foreign errors of the Entra source wrapped once, into groupsync's codes, with a sentence an admin
 * can act on (never a secret); and the tests on a failure the retry loop needs (transient or not).
 *
 * When @azure/identity cannot resolve the authority's endpoints, MSAL drops the cause: a tenant id
 * the authority does not know (AADSTS90002), a certificate Node does not trust and a host out of
 * reach all read "endpoints_resolution_error". The authority's discovery document is then asked
 * once more, with the same fetch as Graph requests, to tell which it is.
 */
import { AuthenticationError } from '@azure/identity';
import { GraphError } from '@microsoft/microsoft-graph-client';
import { GroupsyncError } from '../../errors.ts';
import type { GraphClientOptions } from './client.ts';
import { defaultGraphScope, isGraphHost } from '../../domain/graph-scope.ts';

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

export function isTransient(error: unknown): boolean {
  const codes = causeCodes(error);
  if (codes.some((c) => TLS_CODES.test(c))) return false;
  return codes.some((c) => NETWORK_CODES.has(c) || c === 'TimeoutError') || /fetch failed|socket hang up|other side closed/i.test(causeMessages(error));
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

type ErrorContext = Pick<GraphClientOptions, 'tenantId' | 'clientId' | 'authorityHost' | 'graphBaseUrl' | 'scope' | 'maxRetries' | 'timeoutSeconds'>;

/** No token: the token endpoint's refusal when it gave one, otherwise what the authority's discovery document says. */
async function tokenFailure(error: Error, o: ErrorContext, doing: string, messages: string): Promise<GroupsyncError> {
  const response = (error as Partial<AuthenticationError>).errorResponse;
  const oauth = response?.error ?? /\b(invalid_client|unauthorized_client|invalid_request|invalid_grant|invalid_scope|invalid_resource|invalid_tenant)\b/.exec(messages)?.[1];
  const aadsts = /AADSTS\d+/.exec(response?.errorDescription ?? messages)?.[0];
  if (!oauth && !aadsts) return authorityFailure(error, o, doing, messages, await diagnoseAuthority(o));
  const refusal = [oauth, aadsts].filter(Boolean).join(' ');
  if (oauth === 'invalid_tenant' || aadsts === 'AADSTS90002') return tenantUnknown(error, o, doing, refusal);
  if (oauth === 'invalid_resource' || aadsts === 'AADSTS500011') return scopeRefused(error, o, doing, refusal);
  return new GroupsyncError(
    'DIRECTORY_AUTH_FAILED',
    `Entra tenant ${o.tenantId}: the token endpoint refused the credentials of client ${o.clientId} (${refusal}); check tenantId, clientId and the client secret or certificate`,
    { cause: error },
  );
}

/** What the authority's discovery document (`<authorityHost>/<tenantId>/v2.0/.well-known/openid-configuration`) says. */
type AuthorityDiagnosis =
  | { readonly kind: 'tenant'; readonly refusal: string }
  | { readonly kind: 'tls'; readonly code: string }
  | { readonly kind: 'unreachable'; readonly code: string }
  | { readonly kind: 'answered'; readonly status: number };

async function diagnoseAuthority(o: ErrorContext): Promise<AuthorityDiagnosis> {
  const url = `${o.authorityHost}/${encodeURIComponent(o.tenantId)}/v2.0/.well-known/openid-configuration`;
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(o.timeoutSeconds * 1000) });
  } catch (error) {
    const codes = causeCodes(error);
    const tls = codes.find((c) => TLS_CODES.test(c));
    if (tls) return { kind: 'tls', code: tls };
    const code = codes.find((c) => NETWORK_CODES.has(c) || c === 'TimeoutError') ?? firstLine(causeMessages(error)).slice(0, 120);
    return { kind: 'unreachable', code };
  }
  const body = (await response.json().catch(() => null)) as { error?: unknown; error_description?: unknown } | null;
  const aadsts = /AADSTS\d+/.exec(String(body?.error_description ?? ''))?.[0];
  if (body?.error === 'invalid_tenant' || aadsts === 'AADSTS90002') return { kind: 'tenant', refusal: [body?.error, aadsts].filter(Boolean).join(' ') };
  return { kind: 'answered', status: response.status };
}

function authorityFailure(error: Error, o: ErrorContext, doing: string, messages: string, diagnosis: AuthorityDiagnosis): GroupsyncError {
  const options = { cause: error };
  switch (diagnosis.kind) {
    case 'tenant':
      return tenantUnknown(error, o, doing, diagnosis.refusal);
    case 'tls':
      return new GroupsyncError(
        'DIRECTORY_TLS_FAILED',
        `Entra: the certificate of the authority ${o.authorityHost} is not trusted (${diagnosis.code}) while ${doing}; trust the CA that issued it through NODE_EXTRA_CA_CERTS (a private authority's, or a TLS-inspecting proxy's), or correct authorityHost`,
        options,
      );
    case 'unreachable':
      return new GroupsyncError('DIRECTORY_UNREACHABLE', `Entra: the authority ${o.authorityHost} is unreachable (${diagnosis.code}) while ${doing}; check the network (DNS, firewall, proxy) and authorityHost`, options);
    case 'answered':
      return new GroupsyncError(
        'DIRECTORY_UNREACHABLE',
        `Entra: no token from the authority ${o.authorityHost} while ${doing} (${firstLine(messages).slice(0, 160)}; its discovery document answered ${diagnosis.status}); check authorityHost`,
        options,
      );
  }
}

/** The authority does not know the tenant (AADSTS90002). */
function tenantUnknown(error: Error, o: ErrorContext, doing: string, refusal: string): GroupsyncError {
  return new GroupsyncError(
    'DIRECTORY_AUTH_FAILED',
    `Entra: the authority ${o.authorityHost} knows no tenant ${o.tenantId} (${refusal}) while ${doing}; check tenantId: the directory (tenant) id of the app registration (a GUID, or a domain such as contoso.onmicrosoft.com), in the cloud of authorityHost`,
    { cause: error },
  );
}

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
export async function wrapGraphError(error: unknown, o: ErrorContext, doing: string): Promise<GroupsyncError> {
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
  if (error instanceof AuthenticationError || (error instanceof Error && IDENTITY_ERRORS.has(error.name))) return tokenFailure(error, o, doing, messages);
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
