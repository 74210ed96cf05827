/**
 * The LDAP directory source: owns binding (LDAP, LDAPS, StartTLS), paging, failover between
 * URLs, the certificate seen, and the wrapping of ldapts errors into groupsync's codes.
 */
import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import {
  Client,
  InvalidCredentialsError,
  NoSuchObjectError,
  type Entry,
  type ClientOptions,
} from 'ldapts';
import type {
  CertificateInfo,
  DirectoryGroupRef,
  DirectoryRequestStats,
  DirectorySnapshot,
  DirectorySource,
  DirectoryVendor,
  DirectoryState,
  SourceReadOptions,
  UnchangedRead,
  ReadProgress,
  ReadScope,
} from '../../domain/types.ts';
import { CertificateError, GroupsyncError, oneLine } from '../../errors.ts';
import type { ChangeTracker } from './changes.ts';
import { readIncremental } from './incremental.ts';
import { findMemberPath } from './member-path.ts';
import { type EntryAccess, findGroupEntries, type ReadLayout } from './read.ts';
import { readAhead } from './read-ahead.ts';
import { enableLeanEntries, leanBufferAttributes, rawEntryOf } from './entry-decoder.ts';
import { SYNC_REQUEST_OID, createSyncreplTracker } from './syncrepl.ts';
import { createDirSyncTracker } from './dirsync.ts';
import { supportsDirSync } from './dirsync-dse.ts';
import { createTimestampTracker } from './timestamp.ts';
import { type RawEntry, firstString, stableId, toRawEntry } from './transform.ts';
import { type AttributeOverrides, type RootDse, type VendorProfile, detectVendor, resolveProfile } from './vendors.ts';

export interface LdapSourceOptions {
  readonly urls: readonly string[];
  readonly bindDn: string;
  readonly password: string;
  readonly startTls: boolean;
  readonly baseDn: string;
  readonly userBase?: string | undefined;
  readonly userFilter?: string | undefined;
  readonly groupBase?: string | undefined;
  readonly vendor: 'auto' | 'active-directory' | 'openldap' | '389ds' | 'generic';
  readonly attributes: AttributeOverrides;
  readonly caFile?: string | undefined;
  readonly verify: boolean;
  readonly pageSize: number;
  readonly timeoutSeconds: number;
  /** Incremental reads where the server offers a change tracker (default true). */
  /** true or `detect` (the default), `entries`, false or `off`: see the config's `incremental`. */
  readonly incremental?: boolean | 'detect' | 'entries' | 'off';
  /** Milliseconds between full reconciliation reads (default 24 h). */
  readonly fullReadEvery?: number;
  /** The clock (tests). */
  readonly now?: () => Date;
  /** The modifyTimestamp tracker's safety window in seconds (tests; default 60). */
  readonly timestampWindowSeconds?: number;
}

interface Session {
  readonly client: Client;
  readonly url: string;
  certificate: CertificateInfo | null;
}

const TLS_CODES = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|ERR_SSL|HOSTNAME|ALTNAME/i;
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE']);

function errorCode(error: unknown): string {
  const e = error as { code?: unknown; cause?: unknown };
  if (typeof e?.code === 'string') return e.code;
  if (e?.cause) return errorCode(e.cause);
  return '';
}

/** What to do about a TLS failure: a CA file does not help with an expired or misnamed certificate. */
function tlsHint(code: string): string {
  if (code === 'CERT_HAS_EXPIRED') return 'the server certificate has expired: renew it on the directory server';
  if (code === 'CERT_NOT_YET_VALID') return 'the server certificate is not valid yet: check the clocks of both machines';
  if (/ALTNAME|HOSTNAME/i.test(code)) return "the URL's host name is not one the server certificate names: use a name it lists";
  return 'set tls.caFile to the CA that signed the server certificate';
}

/** Wraps a foreign error once, with a sentence an admin can act on. */
export function wrapLdapError(error: unknown, url: string, doing: string): GroupsyncError {
  if (error instanceof GroupsyncError) return error;
  const message = oneLine((error as Error)?.message ?? String(error));
  const code = errorCode(error);
  if (error instanceof InvalidCredentialsError) {
    return new GroupsyncError('DIRECTORY_AUTH_FAILED', `${url}: the bind DN or password was refused (invalid credentials); check bindDn and the password variable`, { cause: error });
  }
  if (TLS_CODES.test(code) || /certificate|self.signed|TLS/i.test(message)) {
    return new GroupsyncError('DIRECTORY_TLS_FAILED', `${url}: TLS failed while ${doing}: ${message} (${code || 'tls'}); ${tlsHint(code)}`, { cause: error });
  }
  if (NETWORK_CODES.has(code) || /timeout|timed out|connection closed|socket|ECONN/i.test(message)) {
    return new GroupsyncError('DIRECTORY_UNREACHABLE', `${url}: directory unreachable while ${doing}: ${message}`, { cause: error });
  }
  return new GroupsyncError('DIRECTORY_READ_FAILED', `${url}: ${doing} failed: ${message}`, { cause: error });
}

function describeCertificate(socket: tls.TLSSocket, verify: boolean): CertificateInfo | null {
  const cert = socket.getPeerCertificate();
  if (!cert || !cert.valid_to) return null;
  const authorizationError = socket.authorizationError ? String(socket.authorizationError) : null;
  return {
    subject: cert.subject?.CN ? `CN=${cert.subject.CN}` : JSON.stringify(cert.subject ?? {}),
    issuer: cert.issuer?.CN ? `CN=${cert.issuer.CN}` : JSON.stringify(cert.issuer ?? {}),
    validTo: new Date(cert.valid_to),
    trusted: socket.authorized,
    error: socket.authorized ? null : authorizationError ?? (verify ? 'not verified' : 'verification disabled'),
  };
}

export class LdapSource implements DirectorySource {
  readonly kind = 'ldap' as const;
  readonly #options: LdapSourceOptions;
  readonly #ca: Buffer | undefined;
  #profile: VendorProfile | null = null;
  #controls: readonly string[] | null = null;
  /** LDAP operations sent (binds, searches, pages); retries: another URL tried after one failed. */
  readonly #requests = { requests: 0, retries: 0 };

  constructor(options: LdapSourceOptions) {
    if (options.urls.length === 0) throw new GroupsyncError('CONFIG_INVALID', 'an LDAP connection needs at least one URL');
    this.#options = options;
    this.#ca = options.caFile ? readFileSync(options.caFile) : undefined;
  }

  async #connect(): Promise<Session> {
    const o = this.#options;
    let lastError: GroupsyncError | null = null;
    for (const url of o.urls) {
      if (lastError) this.#requests.retries++;
      const session: Session = { client: undefined as unknown as Client, url, certificate: null };
      const tlsOptions: tls.ConnectionOptions = {
        rejectUnauthorized: o.verify,
        ...(this.#ca ? { ca: [this.#ca] } : {}),
        minVersion: 'TLSv1.2',
      };
      const capture: typeof tls.connect = ((...args: Parameters<typeof tls.connect>) => {
        const socket = tls.connect(...args);
        // Node checks the chain on 'secure' and destroys a refused socket there: a listener put
        // before its own reads the certificate while it can, so a refused one is still reported.
        socket.prependOnceListener('secure', () => {
          session.certificate = describeCertificate(socket, o.verify);
        });
        socket.once('secureConnect', () => {
          session.certificate = describeCertificate(socket, o.verify);
        });
        return socket;
      }) as typeof tls.connect;
      const clientOptions: ClientOptions = {
        url,
        timeout: o.timeoutSeconds * 1000,
        connectTimeout: Math.min(o.timeoutSeconds, 10) * 1000,
        // ldapts treats any tlsOptions as "connect with TLS": give them only to ldaps:// URLs;
        // StartTLS gets them in startTLS().
        ...(/^ldaps:/i.test(url) ? { tlsOptions } : {}),
        strictDN: false,
        createSecureConnection: capture,
      };
      const client = new Client(clientOptions);
      (session as { client: Client }).client = client;
      try {
        this.#requests.requests += o.startTls ? 2 : 1;
        if (o.startTls) await client.startTLS(tlsOptions);
        await client.bind(o.bindDn, o.password);
        return session;
      } catch (error) {
        await client.unbind().catch(() => {});
        lastError = wrapLdapError(error, url, o.startTls ? 'starting TLS and binding' : 'binding');
        const seen = session.certificate;
        if (lastError.code === 'DIRECTORY_TLS_FAILED' && seen && !seen.trusted) {
          lastError = new CertificateError(lastError.message, { ...seen, error: errorCode(error) || seen.error }, { cause: error });
        }
        // Wrong credentials are the same on every replica: do not hammer the others.
        if (lastError.code === 'DIRECTORY_AUTH_FAILED') throw lastError;
      }
    }
    throw lastError!;
  }

  async #rootDse(client: Client): Promise<RootDse> {
    this.#requests.requests++;
    const { searchEntries } = await client.search('', {
      scope: 'base',
      filter: '(objectClass=*)',
      attributes: ['supportedCapabilities', 'vendorName', 'objectClass', 'defaultNamingContext', 'namingContexts'],
    });
    const raw = searchEntries[0] ? toRawEntry(searchEntries[0]) : { dn: '', attrs: new Map() };
    const strings = (name: string) => (raw.attrs.get(name.toLowerCase()) ?? []).map(String);
    return {
      supportedCapabilities: strings('supportedCapabilities'),
      vendorName: firstString(raw, 'vendorName'),
      objectClass: strings('objectClass'),
      defaultNamingContext: firstString(raw, 'defaultNamingContext'),
      namingContexts: strings('namingContexts'),
    };
  }

  async #profileFor(client: Client): Promise<VendorProfile> {
    if (this.#profile) return this.#profile;
    const o = this.#options;
    const vendor = o.vendor === 'auto' ? detectVendor(await this.#rootDse(client)) : o.vendor;
    this.#profile = resolveProfile(vendor, o.attributes);
    return this.#profile;
  }

  #access(session: Session, profile: VendorProfile): EntryAccess {
    const { client } = session;
    const pageSize = this.#options.pageSize;
    // An attribute comes as bytes only when its name matches one listed here exactly (case included;
    // AD spells it `objectGUID` whatever the configuration says); the list marks these searches for entry-decoder.ts.
    enableLeanEntries(client);
    const buffers = leanBufferAttributes(profile.idIsGuid ? [...new Set([profile.id, 'objectGUID', profile.id.toLowerCase()])] : []);
    const counter = this.#requests;
    return {
      async *search(base, filter, attributes) {
        const pages = client.searchPaginated(base, {
          scope: 'sub',
          filter,
          attributes: [...attributes],
          paged: { pageSize },
          explicitBufferAttributes: buffers,
        });
        // The next page is asked for as soon as one arrives (read-ahead.ts); one request per page.
        try {
          for await (const page of readAhead(pages, () => counter.requests++)) {
            yield page.searchEntries.map((e: Entry) => rawEntryOf(e, toRawEntry));
          }
        } catch (error) {
          // The server says only "Code: 0x20" (AD adds a multi-line diagnostic): name the base searched.
          if (error instanceof NoSuchObjectError) {
            throw new GroupsyncError(
              'DIRECTORY_NOT_FOUND',
              `${session.url}: the search base "${base}" does not exist (noSuchObject); check baseDn (or users.baseDn, groups.baseDn) of the connection: it must be an entry of the directory`,
              { cause: error },
            );
          }
          throw error;
        }
      },
      async readEntry(dn, attributes) {
        counter.requests++;
        try {
          const { searchEntries } = await client.search(dn, {
            scope: 'base',
            filter: '(objectClass=*)',
            attributes: [...attributes],
            explicitBufferAttributes: buffers,
          });
          return searchEntries[0] ? rawEntryOf(searchEntries[0], toRawEntry) : null;
        } catch (error) {
          if (error instanceof NoSuchObjectError) return null;
          throw error;
        }
      },
    };
  }

  #layout(profile: VendorProfile): ReadLayout {
    const o = this.#options;
    return {
      profile,
      userBase: o.userBase ?? o.baseDn,
      userFilter: o.userFilter ? `(&${profile.userFilter}${o.userFilter.startsWith('(') ? o.userFilter : `(${o.userFilter})`})` : profile.userFilter,
      groupBase: o.groupBase ?? o.baseDn,
    };
  }

  async #withSession<T>(doing: string, work: (session: Session, profile: VendorProfile) => Promise<T>): Promise<T> {
    const session = await this.#connect();
    try {
      const profile = await this.#profileFor(session.client);
      return await work(session, profile);
    } catch (error) {
      throw wrapLdapError(error, session.url, doing);
    } finally {
      await session.client.unbind().catch(() => {});
    }
  }

  async probe(): Promise<{ vendor: DirectoryVendor; certificate: CertificateInfo | null }> {
    return this.#withSession('reading the root DSE', async (session, profile) => ({
      vendor: profile.vendor,
      certificate: session.certificate,
    }));
  }

  /** The supportedControl values of the root DSE (asked once per source). */
  async #supportedControls(client: Client): Promise<readonly string[]> {
    if (this.#controls) return this.#controls;
    this.#requests.requests++;
    const { searchEntries } = await client.search('', { scope: 'base', filter: '(objectClass=*)', attributes: ['supportedControl'] });
    const raw = searchEntries[0] ? toRawEntry(searchEntries[0]) : { dn: '', attrs: new Map() };
    const controls = (raw.attrs.get('supportedcontrol') ?? []).map(String);
    this.#controls = controls;
    return controls;
  }

  /** The change tracker the server offers, or why there is none. */
  async #tracker(session: Session, profile: VendorProfile): Promise<{ tracker: ChangeTracker | null; reason?: string }> {
    if (this.#options.incremental === false || this.#options.incremental === 'off') return { tracker: null, reason: 'disabled' };
    const controls = await this.#supportedControls(session.client);
    if (controls.includes(SYNC_REQUEST_OID)) {
      const counter = this.#requests;
      return { tracker: createSyncreplTracker(session.client, { idAttribute: profile.id, countRequest: () => counter.requests++ }) };
    }
    // DirSync names objects by objectGUID: it serves connections whose stable id is objectGUID.
    if (supportsDirSync({ supportedControl: controls })) {
      if (profile.id.toLowerCase() !== 'objectguid') return { tracker: null, reason: 'dirsyncNeedsObjectGuid' };
      return { tracker: createDirSyncTracker({ client: session.client }) };
    }
    // Neither: modifyTimestamp filters and a present phase (timestamp.ts).
    const windowSeconds = this.#options.timestampWindowSeconds;
    const now = () => (this.#options.now?.() ?? new Date()).getTime();
    return { tracker: createTimestampTracker({ access: this.#access(session, profile), profile, now, ...(windowSeconds === undefined ? {} : { windowSeconds }) }) };
  }

  /** Without `allowUnchanged`, always a snapshot. */
  read(scope: ReadScope, onProgress?: (progress: ReadProgress) => void, state?: DirectoryState | null, options?: SourceReadOptions & { allowUnchanged?: false }): Promise<DirectorySnapshot>;
  read(scope: ReadScope, onProgress?: (progress: ReadProgress) => void, state?: DirectoryState | null, options?: SourceReadOptions): Promise<DirectorySnapshot | UnchangedRead>;
  async read(scope: ReadScope, onProgress?: (progress: ReadProgress) => void, state?: DirectoryState | null, options?: SourceReadOptions): Promise<DirectorySnapshot | UnchangedRead> {
    return this.#withSession('reading the directory', async (session, profile) => {
      const o = this.#options;
      const { tracker, reason } = await this.#tracker(session, profile);
      const result = await readIncremental(
        {
          server: this.#access(session, profile),
          tracker,
          ...(reason ? { noTrackerReason: reason } : {}),
          layout: this.#layout(profile),
          scope,
          state: state ?? null,
          full: options?.full ?? false,
          allowUnchanged: options?.allowUnchanged ?? false,
          keep: o.incremental === 'entries' ? 'entries' : 'detect',
          fullReadEvery: o.fullReadEvery ?? 24 * 3600_000,
          now: o.now?.() ?? new Date(),
          keyParts: [...o.urls].sort(),
          onProgress,
        },
        o.baseDn,
      );
      if (result.unchanged) return { unchanged: true, vendor: profile.vendor, certificate: session.certificate, stats: result.stats, nextState: result.nextState };
      return {
        vendor: profile.vendor,
        groups: result.read.groups,
        users: result.read.users,
        skipped: result.read.skipped,
        certificate: session.certificate,
        stats: { ...result.read.stats, ...result.stats },
        ...(result.nextState ? { nextState: result.nextState } : {}),
      };
    });
  }

  async findGroup(ref: string): Promise<DirectoryGroupRef | null> {
    return this.#withSession(`looking up group "${ref}"`, async (session, profile) => {
      const layout = this.#layout(profile);
      const attributes = ['objectClass', profile.id, profile.groupName, profile.groupDescription];
      const found = await findGroupEntries(this.#access(session, profile), ref, layout, attributes);
      return toGroupRef(found, profile, ref);
    });
  }

  async memberPath(group: { id: string; dn: string | null }, user: { id: string; dn: string | null }): Promise<string[] | null> {
    if (!group.dn || !user.dn) return null;
    const [groupDn, userDn] = [group.dn, user.dn];
    return this.#withSession(`tracing ${userDn} in ${groupDn}`, async (session, profile) => findMemberPath(this.#access(session, profile), this.#layout(profile), groupDn, userDn));
  }

  requestStats(): DirectoryRequestStats {
    return { ...this.#requests };
  }

  async close(): Promise<void> {
    // Sessions are opened per operation and closed at its end.
  }
}

export function toGroupRef(found: readonly RawEntry[], profile: VendorProfile, ref: string): DirectoryGroupRef | null {
  if (found.length === 0) return null;
  if (found.length > 1) {
    throw new GroupsyncError('AMBIGUOUS', `"${ref}" names ${found.length} groups: ${found.map((e) => e.dn).join('; ')}; give the DN instead`);
  }
  const entry = found[0]!;
  const id = stableId(entry, profile);
  const name = firstString(entry, profile.groupName);
  if (!id || !name) throw new GroupsyncError('DIRECTORY_READ_FAILED', `group ${entry.dn} has no ${!id ? profile.id : profile.groupName}`);
  return { id, dn: entry.dn, name, description: firstString(entry, profile.groupDescription) };
}
