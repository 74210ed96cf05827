/**
 * The Entra ID directory source: the DirectorySource port over Microsoft Graph. Reads in full, or
 * incrementally from the state of the last applied run (see delta.ts for the design); either way
 * the snapshot is complete, and a read that cannot complete throws (nothing is applied).
 */
import type {
  CertificateInfo,
  DirectoryGroupRef,
  DirectoryRequestStats,
  DirectorySnapshot,
  DirectorySource,
  DirectoryState,
  DirectoryVendor,
  SourceReadOptions,
  ReadProgress,
  ReadScope,
  UnchangedRead,
} from '../../domain/types.ts';
import { type EntraCredential, GraphHttp, type GraphClientOptions } from './client.ts';
import { wrapGraphError } from './errors.ts';
import {
  CURSOR_VERSION,
  type DeltaCursor,
  DeltaExpiredError,
  type DeltaLinks,
  findChanges,
  latestDeltaLinks,
  linkedDigest,
  parseCursor,
  readDelta,
} from './delta.ts';
import { collectGarbage } from '../../memory.ts';
import { decodeModel, encodeModel } from './model-codec.ts';
import { type ReadOptions, findGroup, readFull } from './read.ts';
import { type DirectoryModel, materialize, scopeKey } from './transform.ts';

export interface EntraSourceOptions {
  readonly tenantId: string;
  readonly clientId: string;
  readonly credential: EntraCredential;
  readonly authorityHost: string;
  readonly graphBaseUrl: string;
  readonly scope: string;
  readonly trustedHosts: readonly string[];
  readonly usersFilter?: string | undefined;
  readonly pageSize: number;
  readonly timeoutSeconds: number;
  readonly maxRetries: number;
  readonly retryDelayMs: number;
  /** Incremental reads with delta queries (default on). */
  readonly delta: boolean;
  /** Groups whose members are read at the same time (default 4). */
  readonly concurrency?: number;
}

type ReadStats = Record<string, number | boolean | string>;

export class EntraSource implements DirectorySource {
  readonly kind = 'entra' as const;
  readonly #options: EntraSourceOptions;
  readonly #graph: GraphHttp;

  constructor(options: EntraSourceOptions) {
    this.#options = options;
    const graphOptions: GraphClientOptions = options;
    this.#graph = new GraphHttp(graphOptions);
  }

  get #readOptions(): ReadOptions {
    return { pageSize: this.#options.pageSize, usersFilter: this.#options.usersFilter ?? null, concurrency: this.#options.concurrency ?? 4 };
  }

  async #wrap<T>(doing: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      throw await wrapGraphError(error, this.#options, doing);
    }
  }

  async probe(): Promise<{ vendor: DirectoryVendor; certificate: CertificateInfo | null }> {
    // One group, with the permission the read needs anyway (Group.Read.All): /organization would need another.
    return this.#wrap('checking access to the groups', async () => {
      await this.#graph.get('/groups?$top=1&$select=id');
      return { vendor: 'entra' as const, certificate: null };
    });
  }

  read(scope: ReadScope, onProgress?: (progress: ReadProgress) => void, state?: DirectoryState | null, options?: SourceReadOptions & { allowUnchanged?: false }): Promise<DirectorySnapshot>;
  read(scope: ReadScope, onProgress?: (progress: ReadProgress) => void, state?: DirectoryState | null, options?: SourceReadOptions): Promise<DirectorySnapshot | UnchangedRead>;
  async read(scope: ReadScope, onProgress?: (progress: ReadProgress) => void, state?: DirectoryState | null, options?: SourceReadOptions): Promise<DirectorySnapshot | UnchangedRead> {
    const o = this.#options;
    const key = scopeKey(scope, o.usersFilter ?? null, o.graphBaseUrl, o.tenantId);
    return this.#wrap('reading the directory', async () => {
      const cursor = parseCursor(state);
      let fullReason: string | null = null;
      if (!o.delta) fullReason = 'deltaDisabled';
      else if (options?.full) fullReason = 'requested';
      else if (!cursor) fullReason = 'noState';
      else if (cursor.scopeKey !== key) fullReason = 'scopeChanged';
      else if (o.usersFilter) fullReason = 'usersFilter';
      if (fullReason !== null) return this.#readFull(scope, key, onProgress, { readReason: fullReason });
      try {
        // The engine may use "nothing changed": the deltas are asked before the kept directory is read.
        const found = options?.allowUnchanged ? await findChanges(this.#graph, cursor!, scope, this.#readOptions) : null;
        if (found?.unchanged) return this.#unchanged(cursor!, found.changes.links);
        // The kept directory is decoded for a delta read only: a full read is not made next to it.
        const previous = decodeModel(state?.cache ?? (await state?.loadCache?.()) ?? null);
        if (!previous) return this.#readFull(scope, key, onProgress, { readReason: 'noState' });
        collectGarbage(); // the decoded text (15 MB for 100,000 users), before the delta read
        const delta = await readDelta(this.#graph, cursor!, previous, scope, this.#readOptions, onProgress, found);
        return this.#snapshot(delta.model, delta.links, key, { readMode: 'delta', ...delta.stats });
      } catch (error) {
        if (!(error instanceof DeltaExpiredError)) throw error;
        // An expired or invalid delta link: read everything again, and say so on the run.
        return this.#readFull(scope, key, onProgress, { readReason: error.reason, deltaFallback: error.reason });
      }
    });
  }

  /** Nothing changed since the cursor: the new delta links are all that is kept (the kept directory stays as stored). */
  #unchanged(cursor: DeltaCursor, links: DeltaLinks): UnchangedRead {
    const next: DeltaCursor = { ...cursor, ...links, readMode: 'delta', readAt: new Date().toISOString() };
    const stats = { readMode: 'delta', usersChanged: 0, groupsChanged: 0, ...this.#requestStats() };
    return { unchanged: true, vendor: 'entra', certificate: null, stats, nextState: { cursor: { ...next }, cache: null } };
  }

  #requestStats(): ReadStats {
    const g = this.#graph.stats;
    return {
      requests: g.requests,
      pages: g.pages,
      batches: g.batches,
      retries: g.retries,
      throttled: g.throttled,
      retryWaitMs: g.waitedMs,
      ...(g.batchUnsupported !== null ? { batchUnsupported: g.batchUnsupported } : {}),
    };
  }

  async #readFull(scope: ReadScope, key: string, onProgress: ((progress: ReadProgress) => void) | undefined, stats: ReadStats): Promise<DirectorySnapshot> {
    // Taken before the read: a change made while it runs is reported by the next delta.
    const links = this.#options.delta ? await latestDeltaLinks(this.#graph) : null;
    const model = await readFull(this.#graph, scope, this.#readOptions, onProgress);
    return this.#snapshot(model, links, key, { readMode: 'full', ...stats });
  }

  #snapshot(model: DirectoryModel, links: DeltaLinks | null, key: string, stats: ReadStats): DirectorySnapshot {
    // The read's last pages are garbage (memory.ts); then the state first, and its transient
    // strings collected before the snapshot's objects are made.
    collectGarbage();
    const cache = links ? encodeModel(model) : null;
    if (cache) collectGarbage();
    const cursor: DeltaCursor | null = links
      ? { version: CURSOR_VERSION, scopeKey: key, ...links, readMode: stats.readMode as 'full' | 'delta', readAt: new Date().toISOString(), linked: linkedDigest(model.groups.values()) }
      : null;
    const { groups, users, skipped } = materialize(model);
    return {
      vendor: 'entra',
      groups,
      users,
      skipped,
      certificate: null,
      stats: { ...stats, ...this.#requestStats() },
      ...(cursor ? { nextState: { cursor: { ...cursor }, cache } } : {}),
    };
  }

  async findGroup(ref: string): Promise<DirectoryGroupRef | null> {
    return this.#wrap(`looking up group "${ref}"`, () => findGroup(this.#graph, ref, this.#options.pageSize));
  }

  requestStats(): DirectoryRequestStats {
    return { requests: this.#graph.stats.requests, retries: this.#graph.stats.retries };
  }

  async close(): Promise<void> {
    // Nothing held open between requests: fetch keeps its own connection pool.
  }
}
