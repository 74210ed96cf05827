/**
 * Builds the directory source for a configured connection. Each kind's module (ldapts for LDAP and
 * LDIF; the Graph client and @azure/identity for Entra) is imported at the source's first use, so
 * that a process that never reads a directory (`groupsync status`, `--help`) never loads them.
 */
import type { ConnectionConfig } from '../config.ts';
import { GroupsyncError } from '../errors.ts';
import type { DirectoryGroupRef, DirectorySnapshot, DirectorySource, DirectoryState, SourceReadOptions, ReadProgress, ReadScope, UnchangedRead } from '../domain/types.ts';

export type SourceFactory = (connection: ConnectionConfig) => DirectorySource;

async function loadSource(c: ConnectionConfig): Promise<DirectorySource> {
  if (c.kind === 'ldif') {
    const { LdifSource } = await import('./ldif/source.ts');
    return new LdifSource({ file: c.file, attributes: c.attributes });
  }
  if (c.kind === 'entra') {
    const { EntraSource } = await import('./entra/source.ts');
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
  const { LdapSource } = await import('./ldap/client.ts');
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
    incremental: c.incremental,
    fullReadEvery: c.fullReadEvery,
  });
}

/** A source that builds the real one (importing its module) when first asked to do something. */
class DeferredSource implements DirectorySource {
  readonly kind: DirectorySource['kind'];
  readonly #config: ConnectionConfig;
  #source: Promise<DirectorySource> | null = null;
  #loaded: DirectorySource | null = null;

  constructor(config: ConnectionConfig) {
    // An LDIF file is read as an LDAP directory.
    this.kind = config.kind === 'entra' ? 'entra' : 'ldap';
    this.#config = config;
  }

  #get(): Promise<DirectorySource> {
    this.#source ??= loadSource(this.#config).then((source) => (this.#loaded = source));
    return this.#source;
  }

  async probe(): ReturnType<DirectorySource['probe']> {
    return (await this.#get()).probe();
  }

  async read(scope: ReadScope, onProgress?: (progress: ReadProgress) => void, state?: DirectoryState | null, options?: SourceReadOptions): Promise<DirectorySnapshot | UnchangedRead> {
    return (await this.#get()).read(scope, onProgress, state, options);
  }

  async findGroup(ref: string): Promise<DirectoryGroupRef | null> {
    return (await this.#get()).findGroup(ref);
  }

  async memberPath(...args: Parameters<NonNullable<DirectorySource['memberPath']>>): Promise<string[] | null> {
    const source = await this.#get();
    if (!source.memberPath) throw new GroupsyncError('INVALID_STATE', `${this.kind === 'entra' ? 'an Entra ID' : 'this'} directory cannot trace nested groups for one user`, { details: { unsupported: true } });
    return source.memberPath(...args);
  }

  requestStats(): ReturnType<NonNullable<DirectorySource['requestStats']>> {
    return this.#loaded?.requestStats?.();
  }

  async close(): Promise<void> {
    // A source that failed to build (its module or its options) has nothing to close.
    const source = await this.#source?.catch(() => null);
    await source?.close();
  }
}

export const createSource: SourceFactory = (c) => new DeferredSource(c);
