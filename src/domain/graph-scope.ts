/**
 * The scope of the app-only token for Microsoft Graph. Entra issues a token for a resource, named
 * by its identifier URI followed by `/.default`; for Microsoft's Graph hosts that URI is the host
 * itself. A Graph reached under another host name (a proxy, a private endpoint) still needs the
 * token of the Graph behind it, which only the `scope` setting can say.
 */

/** Microsoft Graph in the global cloud, US Government (L4, L5/DoD) and China (21Vianet). */
export const GRAPH_HOSTS: readonly string[] = ['graph.microsoft.com', 'graph.microsoft.us', 'dod-graph.microsoft.us', 'microsoftgraph.chinacloudapi.cn'];

/** Whether the service root is on one of Microsoft's Graph hosts. */
export function isGraphHost(graphBaseUrl: string): boolean {
  return GRAPH_HOSTS.includes(new URL(graphBaseUrl).hostname.toLowerCase());
}

/**
 * The scope when none is set: `https://<host>/.default` for Microsoft's Graph hosts; for another
 * host the origin of `graphBaseUrl` likewise, which Entra refuses (AADSTS500011) unless an
 * application in the tenant has that identifier URI.
 */
export function defaultGraphScope(graphBaseUrl: string): string {
  return `${new URL(graphBaseUrl).origin}/.default`;
}

/** What a scope setting must look like: a resource followed by `/.default` (the characters @azure/identity accepts). */
export const SCOPE_PATTERN = /^[A-Za-z0-9._:/-]+\/\.default$/;
