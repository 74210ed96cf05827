/** Builds the directory source for a configured connection. */
import type { ConnectionConfig } from '../config.ts';
import type { DirectorySource } from '../domain/types.ts';
import { LdapSource } from './ldap/client.ts';
import { LdifSource } from './ldif/source.ts';
import { EntraSource } from './entra/source.ts';

export type SourceFactory = (connection: ConnectionConfig) => DirectorySource;

export const createSource: SourceFactory = (c) => {
  if (c.kind === 'ldif') return new LdifSource({ file: c.file, attributes: c.attributes });
  if (c.kind === 'entra') {
    return new EntraSource({
      tenantId: c.tenantId,
      clientId: c.clientId,
      credential: c.credential,
      authorityHost: c.authorityHost,
      graphBaseUrl: c.graphBaseUrl,
      scope: c.scope,
      trustedHosts: c.trustedHosts,
      usersFilter: c.users.filter,
      pageSize: c.pageSize,
      timeoutSeconds: c.timeoutSeconds,
      maxRetries: c.maxRetries,
      retryDelayMs: c.retryDelay,
      delta: c.delta,
    });
  }
  return new LdapSource({
    urls: c.urls,
    bindDn: c.bindDn,
    password: c.password,
    startTls: c.startTls,
    baseDn: c.baseDn,
    userBase: c.users.baseDn,
    userFilter: c.users.filter,
    groupBase: c.groups.baseDn,
    vendor: c.vendor,
    attributes: c.attributes,
    caFile: c.tls.caFile,
    verify: c.tls.verify,
    pageSize: c.pageSize,
    timeoutSeconds: c.timeoutSeconds,
  });
};
