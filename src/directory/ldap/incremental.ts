/**
 * Incremental LDAP reads: the read modes of the LDAP source.
 *
 * The planner needs a complete snapshot, and a change tracker only says what changed. So the
 * source keeps the tracked entries (users and groups under the base DN, with the attributes the
 * read needs) in an entry cache, stored compressed with the run that applied, next to the
 * tracker's cookie. A read is then one of:
 * - incremental: the tracker's changes since the cookie are merged into the cache, and the
 *   snapshot is read from the cache by readScope (as a full read would read it from the server);
 * - full: a cookie is taken first (so a change made during the read is reported again by the
 *   next incremental read, never lost), every tracked entry is read (paged) into a new cache, and
 *   the snapshot is read from it. Reasons: `noState`, `scopeChanged` (another base, filter or
 *   attribute set), `cookieRejected:<why>`, `requested` (`sync --full`), `reconcile` (the
 *   connection's fullReadEvery has passed since the last full read);
 * - plain: the server offers no tracker (or incremental is off, or a filter cannot be evaluated on
 *   cached entries): today's read from the server (`noTracker`, `disabled`, `filterNotEvaluable`,
 *   `baseOutsideTracked`), nothing kept but the digest of the graph read.
 * A full read from the server (plain, or detect mode's) compares its graph's digest with the one
 * kept (read/graph-digest.ts): the same, where the caller allows "unchanged", no answer is built.
 * A reconciliation (and a requested full read) also brings the old cache up to date from its
 * cookie and counts the entries on which it differs from the full read (`reconcileDiffs`; entries
 * changed while the full read ran are not counted); the snapshot comes from the full read.
 */
import { FilterParser } from 'ldapts';
import type { DirectoryState, ReadProgress, ReadScope } from '../../domain/types.ts';
import { cacheAccess } from './cache-access.ts';
import { type ChangeTracker, isTrackerRefused, CookieRejectedError, type EntryChanges } from './changes.ts';
import { isUnder, normalizeDn } from './dn.ts';
import { type AppliedIds, EntryCache } from './entry-cache.ts';
import { LDAP_CURSOR_VERSION, type LdapCursor, type TrackedSet, parseLdapCursor, scopeKey, trackedSet } from './cursor.ts';
import { type KeptState, decodeState, encodeState } from './kept-state.ts';
import { loadTracked } from './load-tracked.ts';
import { isEvaluable } from './filter-match.ts';
import { type EntryAccess, type ReadLayout, type ScopeRead, answerOf, readScopeGraph, wrap } from './read.ts';
import { graphDigest, idsUnique, uniqueUserIds } from './read/graph-digest.ts';
import { type KeptSnapshot, PatchFallback, keptOf, patchSnapshot } from './snapshot.ts';
import { type RawEntry, stableId } from './transform.ts';

export interface IncrementalRead {
  readonly server: EntryAccess;
  readonly tracker: ChangeTracker | null;
  /** Why there is no tracker, when there is none. */
  readonly noTrackerReason?: string;
  readonly layout: ReadLayout;
  readonly scope: ReadScope;
  readonly state: DirectoryState | null;
  readonly full: boolean;
  /** Milliseconds between full reconciliation reads. */
  readonly fullReadEvery: number;
  readonly now: Date;
  /** The caller can use an answer of "no change" instead of a snapshot (SourceReadOptions.allowUnchanged). */
  readonly allowUnchanged?: boolean;
  /**
   * `detect` (the default): the tracker only tells whether anything changed since the kept
   * cookie; a change is read in full from the server. `entries`: every tracked entry is kept and
   * a change is merged into them (see the module comment).
   */
  readonly keep?: 'detect' | 'entries';
  /** Extra parts of the scope key (the server URLs). */
  readonly keyParts?: readonly string[];
  readonly onProgress?: ((progress: ReadProgress) => void) | undefined;
}

export type ReadStats = Record<string, number | boolean | string>;

export type IncrementalResult =
  | { readonly unchanged?: undefined; readonly read: ScopeRead; readonly stats: ReadStats; readonly nextState?: DirectoryState }
  /** The tracker reported no change since the cookie (asked for with allowUnchanged): no snapshot was built. */
  | { readonly unchanged: true; readonly stats: ReadStats; readonly nextState: DirectoryState };

function under(dn: string, base: string): boolean {
  return isUnder(normalizeDn(dn), normalizeDn(base));
}

/** Why the cache cannot serve this read, or null when it can. */
function unsupported(input: IncrementalRead, tracked: TrackedSet): string | null {
  if (!input.tracker) return input.noTrackerReason ?? 'noTracker';
  const { layout, scope } = input;
  if (!under(layout.userBase, tracked.base) || !under(layout.groupBase, tracked.base)) return 'baseOutsideTracked';
  if (!isEvaluable(FilterParser.parseString(layout.userFilter))) return 'filterNotEvaluable';
  if (scope.groupFilter && !isEvaluable(FilterParser.parseString(wrap(scope.groupFilter)))) return 'filterNotEvaluable';
  return null;
}

/** Reads the scope in the mode the state and the schedule allow (see the module comment). */
export async function readIncremental(input: IncrementalRead, baseDn: string): Promise<IncrementalResult> {
  try {
    return await readTracked(input, baseDn);
  } catch (error) {
    if (!isTrackerRefused(error)) throw error;
    // Nothing of the tracker's is kept: the next run asks again (the right may have been granted).
    return readPlain(input, baseDn, { readReason: error.reason ?? 'trackerRefused', trackerRefused: error.message });
  }
}

/**
 * A read of the whole scope from the server, nothing tracked: the cursor keeps the digest of its
 * graph alone (mode `plain`), and a read whose graph has the kept digest answers "unchanged"
 * where the caller allows it (graph-digest.ts).
 */
async function readPlain(input: IncrementalRead, baseDn: string, stats: ReadStats): Promise<IncrementalResult> {
  const key = scopeKey(trackedSet(input.layout, input.scope, baseDn), input.layout, input.scope, 'none', [...(input.keyParts ?? []), 'plain']);
  const cursor = parseLdapCursor(input.state);
  const known = cursor?.mode === 'plain' && cursor.scopeKey === key && !input.full ? (cursor.graphDigest ?? null) : null;
  const whole = await readWhole(input, known);
  const now = input.now.toISOString();
  const next: LdapCursor = { version: LDAP_CURSOR_VERSION, mechanism: 'none', scopeKey: key, cookie: '', lastFullReadAt: now, readMode: 'full', readAt: now, mode: 'plain', ...(whole.digest ? { graphDigest: whole.digest } : {}) };
  const nextState: DirectoryState = { cursor: { ...next }, cache: null };
  const all = { readMode: 'full', ...stats, ...whole.stats };
  return whole.read ? { read: whole.read, stats: all, nextState } : { unchanged: true, stats: all, nextState };
}

/**
 * A full read of the scope from the server and its graph's digest; no answer (read null) when the
 * caller allows "unchanged" and the digest is `known` (the one the cursor kept).
 */
async function readWhole(input: IncrementalRead, known: string | null): Promise<{ read: ScopeRead | null; digest: string | null; stats: ReadStats }> {
  const graphRead = await readScopeGraph(input.server, input.scope, input.layout, input.onProgress);
  const digest = graphDigest(graphRead.graph);
  if (input.allowUnchanged && digest !== null && digest === known && uniqueUserIds(graphRead.graph)) {
    const c = graphRead.counters;
    return { read: null, digest, stats: { sameGraph: true, entries: c.entries, rangedReads: c.rangedReads, scanned: graphRead.scanned } };
  }
  const read = answerOf(graphRead);
  return { read, digest: digest !== null && idsUnique(read.users) ? digest : null, stats: {} };
}

async function readTracked(input: IncrementalRead, baseDn: string): Promise<IncrementalResult> {
  const tracked = trackedSet(input.layout, input.scope, baseDn);
  const plain = unsupported(input, tracked);
  if (plain !== null) return readPlain(input, baseDn, { readReason: plain });
  const tracker = input.tracker!;
  if ((input.keep ?? 'detect') === 'detect') return readDetect(input, tracker, tracked);
  const key = scopeKey(tracked, input.layout, input.scope, tracker.mechanism, input.keyParts);
  const cursor = parseLdapCursor(input.state);
  const bytes = keptBytes(input.state);
  let reason: string | null = null;
  if (input.full) reason = 'requested';
  else if (!cursor || cursor.mode !== undefined || !(input.state?.cache || input.state?.loadCache)) reason = 'noState';
  else if (cursor.scopeKey !== key) reason = 'scopeChanged';
  else if (input.now.getTime() - Date.parse(cursor.lastFullReadAt) >= input.fullReadEvery) reason = 'reconcile';
  const context = { input, tracker, tracked, key };
  if (reason === null) {
    let changes: EntryChanges;
    try {
      changes = await track(context, cursor!.cookie);
    } catch (error) {
      if (!(error instanceof CookieRejectedError)) throw error;
      return readFull(context, `cookieRejected:${error.reason}`, null);
    }
    if (input.allowUnchanged && noChange(changes, cursor!)) {
      // Nothing to build: the stored cache stays as it is, with the new cookie.
      const stats = { readMode: 'incremental', trackedBy: tracker.mechanism, changedEntries: 0, deletedEntries: 0, cachedEntries: cursor!.size! };
      // The kept cache is neither read nor written: the new cookie is all that is saved.
      return { unchanged: true, stats, nextState: state(context, null, changes.cookie, 'incremental', cursor!.lastFullReadAt, cursor!.size) };
    }
    const stored = await bytes();
    const kept = decodeState(stored);
    if (kept) {
      const read = await readChanges(context, cursor!, { ...kept, bytes: stored! }, changes);
      if (typeof read !== 'string') return read;
      reason = read;
    } else reason = 'noState';
  }
  // A reconciliation compares with the old cache; a cache of another scope is not comparable.
  // Decoded only once the full read holds its entries (and let go before the snapshot is built).
  const previous = cursor && cursor.scopeKey === key ? { cursor, cache: async () => decodeState(await bytes())?.cache ?? null } : null;
  return readFull(context, reason, previous);
}

/**
 * Detect mode: the kept cookie says whether anything changed. Nothing (and the caller can use
 * that): no read at all. Anything, or no usable cookie: a plain full read of the scope from the
 * server, with the cookie taken before it (the tracker's answer, or begin()), so a change made
 * while it reads is reported again, never lost. Nothing but the cookie is kept.
 */
async function readDetect(input: IncrementalRead, tracker: ChangeTracker, tracked: TrackedSet): Promise<IncrementalResult> {
  const key = scopeKey(tracked, input.layout, input.scope, tracker.mechanism, [...(input.keyParts ?? []), 'detect']);
  const cursor = parseLdapCursor(input.state);
  let reason: string | null = null;
  if (input.full) reason = 'requested';
  else if (!cursor || cursor.mode !== 'detect') reason = 'noState';
  else if (cursor.scopeKey !== key) reason = 'scopeChanged';
  else if (input.now.getTime() - Date.parse(cursor.lastFullReadAt) >= input.fullReadEvery) reason = 'reconcile';
  const context: Context = { input, tracker, tracked, key };
  let cookie: string | null = null;
  let changed: ReadStats = {};
  if (reason === null) {
    try {
      const changes = await track(context, cursor!.cookie, detectRequest(context));
      cookie = changes.cookie;
      if (input.allowUnchanged && nothingNamed(changes)) {
        const stats = { readMode: 'incremental', trackedBy: tracker.mechanism, changedEntries: 0, deletedEntries: 0 };
        return { unchanged: true, stats, nextState: detectState(context, cookie, cursor!.lastFullReadAt, cursor!.graphDigest ?? null) };
      }
      const some = changes.entries.length + changes.deletedIds.length > 0 || changes.presentIds !== null;
      // planNeeded: the directory did not change, but the store did (the engine did not allow "unchanged").
      changed = { readReason: some ? 'changed' : 'planNeeded', changedEntries: changes.entries.length, deletedEntries: changes.deletedIds.length };
    } catch (error) {
      if (!(error instanceof CookieRejectedError)) throw error;
      reason = `cookieRejected:${error.reason}`;
    }
  }
  cookie ??= await firstCookie(context);
  // The graph is compared with the last one read unless the whole store is to be planned (`--full`, the reconciliation).
  const known = cursor?.mode === 'detect' && cursor.scopeKey === key && reason !== 'requested' && reason !== 'reconcile' ? (cursor.graphDigest ?? null) : null;
  const whole = await readWhole(input, known);
  const stats = { readMode: 'full', trackedBy: tracker.mechanism, ...(reason ? { readReason: reason } : {}), ...changed, ...whole.stats };
  const nextState = detectState(context, cookie, input.now.toISOString(), whole.digest);
  return whole.read ? { read: whole.read, stats, nextState } : { unchanged: true, stats, nextState };
}

/**
 * What detect mode asks the tracker for: it only counts what changed. RFC 4533 names an entry
 * that changed whatever attributes are asked, so only its id is (a changed group's member list
 * would otherwise come whole, to be dropped: 270,000 values after a 1 % change of 100,000 users).
 * DirSync reports changes to the attributes asked only, and the uSNChanged and modifyTimestamp
 * trackers read their high-water marks from what they are given: those get the tracked set.
 */
function detectRequest(c: Context): TrackedSet {
  return c.tracker.mechanism === 'syncrepl' ? { ...c.tracked, attributes: [c.input.layout.profile.id] } : c.tracked;
}

/** A cookie from now on: begin() where the tracker has it, else a refresh whose entries are dropped. */
async function firstCookie(c: Context): Promise<string> {
  if (c.tracker.begin) return c.tracker.begin(c.tracked);
  return (await track(c, null)).cookie;
}

/** `graphDigest`: the last full read's (kept as it was when the tracker reports nothing changed). */
function detectState(c: Context, cookie: string, lastFullReadAt: string, graphDigest: string | null): DirectoryState {
  const now = c.input.now.toISOString();
  const cursor: LdapCursor = { version: LDAP_CURSOR_VERSION, mechanism: c.tracker.mechanism, scopeKey: c.key, cookie, lastFullReadAt, readMode: 'full', readAt: now, mode: 'detect', ...(graphDigest ? { graphDigest } : {}) };
  return { cursor: { ...cursor }, cache: null };
}

interface Context {
  readonly input: IncrementalRead;
  readonly tracker: ChangeTracker;
  readonly tracked: TrackedSet;
  readonly key: string;
}

async function track(c: Context, cookie: string | null, set: TrackedSet = c.tracked): Promise<EntryChanges> {
  return c.tracker.read({ ...set, cookie });
}

/** An entry that was kept was deleted, renamed or moved: groups naming it changed on the server unreported. */
function membersMoved(cache: EntryCache, applied: AppliedIds): boolean {
  for (const id of applied.deleted) if (applied.oldKeys.get(id) !== undefined) return true;
  for (const id of applied.changed) {
    const before = applied.oldKeys.get(id);
    if (before !== undefined && before !== (cache.get(id)?.key ?? null)) return true;
  }
  return false;
}

/** The tracker reports nothing added, modified or deleted (a present phase listing exactly the cached entries). */
function noChange(changes: EntryChanges, cursor: LdapCursor): boolean {
  if (changes.kind !== 'delta' || changes.entries.length || changes.deletedIds.length || cursor.size === undefined) return false;
  // The timestamp tracker names the present set only when its digest changed: the same count may hide an entry that was not kept.
  return changes.presentIds === null || (changes.presentIds.length === cursor.size && cursor.mechanism !== 'timestamp');
}

/** The tracker named no change, and no present phase (which, with nothing kept, cannot show a deletion). */
function nothingNamed(changes: EntryChanges): boolean {
  return changes.kind === 'delta' && !changes.entries.length && !changes.deletedIds.length && changes.presentIds === null;
}

/**
 * The changes applied to the kept state and the snapshot patched; or why they need a full read:
 * `linkedMembersMoved`, or `presentNotKept` (the present phase names an entry that was neither kept
 * nor reported: one that entered the scope without its modifyTimestamp moving, an ACL granting it).
 */
/** `kept.bytes`: the stored state it was decoded from, saved again as it is when nothing changed. */
async function readChanges(c: Context, cursor: LdapCursor, kept: KeptState & { bytes: Uint8Array }, changes: EntryChanges): Promise<IncrementalResult | string> {
  const p = c.input.layout.profile;
  const { cache } = kept;
  const applied: AppliedIds = { changed: [], deleted: [], oldKeys: new Map() };
  const counts = cache.apply(changes, (e) => stableId(e, p), applied);
  if (changes.linkedMembers && membersMoved(cache, applied)) return 'linkedMembersMoved';
  if (changes.presentIds && changes.presentIds.some((id) => !cache.has(id))) return 'presentNotKept';
  const result = await patchedSnapshot(c, kept, changes.kind === 'refresh' ? 'refresh' : null, applied);
  return {
    read: result.read,
    stats: { readMode: 'incremental', trackedBy: c.tracker.mechanism, changedEntries: counts.changed, deletedEntries: counts.deleted, cachedEntries: cache.size, ...result.stats },
    // Nothing changed: the stored state is kept as it is, not encoded again.
    nextState: state(c, counts.changed + counts.deleted === 0 && result.stats['snapshot'] === 'patched' ? kept.bytes : await encodeState(cache, result.kept), changes.cookie, 'incremental', cursor.lastFullReadAt, cache.size),
  };
}

/** The snapshot patched from the kept one, or (saying why) read again from the kept entries. */
async function patchedSnapshot(c: Context, kept: KeptState, refused: string | null, applied: AppliedIds): Promise<{ read: ScopeRead; kept: KeptSnapshot; stats: ReadStats }> {
  let reason = refused ?? (kept.snapshot ? null : 'noSnapshot');
  if (reason === null) {
    let fallbackReads = 0;
    const access = cacheAccess(kept.cache, { fallback: c.input.server, onFallback: () => fallbackReads++ });
    const snapshot = kept.snapshot!;
    try {
      const patch = await patchSnapshot(snapshot, applied, kept.cache, access, c.input.scope, c.input.layout);
      const read = answerOf({ graph: snapshot.graph, counters: patch.counters, scanned: snapshot.scanned }, snapshot.expansions);
      return { read, kept: snapshot, stats: { snapshot: 'patched', reclassifiedNodes: patch.reclassified, reexpandedGroups: patch.reexpanded, fallbackReads } };
    } catch (error) {
      if (!(error instanceof PatchFallback)) throw error;
      reason = error.reason;
    }
  }
  const result = await snapshotFrom(c, kept.cache);
  return { read: result.read, kept: result.kept, stats: { snapshot: 'rebuilt', snapshotFallback: reason, fallbackReads: result.fallbackReads } };
}

/** The kept state a reconciliation compares with: its cursor, and its cache decoded when asked for (null: unreadable). */
interface Previous {
  readonly cursor: LdapCursor;
  readonly cache: () => Promise<EntryCache | null>;
}

async function readFull(c: Context, reason: string, previous: Previous | null): Promise<IncrementalResult> {
  const p = c.input.layout.profile;
  let cookie: string;
  let cache: EntryCache;
  if (c.tracker.begin) {
    // Taken before the read: a change made while it runs is reported again by the next read.
    cookie = await c.tracker.begin(c.tracked);
    cache = await loadTracked(c.input.server, c.tracked, c.input.layout, c.input.onProgress);
  } else {
    const refresh = await track(c, null);
    cache = new EntryCache();
    cache.apply(refresh, (e) => stableId(e, p));
    cookie = refresh.cookie;
  }
  // Only a reconciliation (scheduled or asked for) compares: after another full read the kept state is known stale.
  const reconcile = previous && (reason === 'reconcile' || reason === 'requested') ? await countDiffs(c, previous, cache, cookie) : null;
  const result = await snapshotFrom(c, cache);
  const stats: ReadStats = { readMode: 'full', readReason: reason, trackedBy: c.tracker.mechanism, cachedEntries: cache.size, fallbackReads: result.fallbackReads };
  if (reconcile !== null) Object.assign(stats, reconcile);
  return { read: result.read, stats, nextState: state(c, await encodeState(cache, result.kept), cookie, 'full', c.input.now.toISOString(), cache.size) };
}

/**
 * How many entries the incrementally kept cache (brought up to date from its cookie) has wrong
 * against the full read; entries changed since the full read's cookie are left out (either side
 * may have them as they were at another moment).
 */
async function countDiffs(c: Context, previous: Previous, full: EntryCache, fullCookie: string): Promise<ReadStats | null> {
  const p = c.input.layout.profile;
  const idOf = (e: RawEntry) => stableId(e, p);
  const old = await previous.cache();
  if (!old) return null;
  try {
    old.apply(await track(c, previous.cursor.cookie), idOf);
  } catch (error) {
    if (!(error instanceof CookieRejectedError)) throw error;
    return { reconcileSkipped: `cookieRejected:${error.reason}` };
  }
  const since = await track(c, fullCookie);
  const racing = new Set<string>(since.deletedIds);
  for (const e of since.entries) {
    const id = idOf(e);
    if (id) racing.add(id);
  }
  if (since.presentIds) {
    const present = new Set(since.presentIds);
    for (const id of full.ids()) if (!present.has(id)) racing.add(id);
  }
  return { reconcileDiffs: old.countDifferences(full, racing) };
}

async function snapshotFrom(c: Context, cache: EntryCache): Promise<{ read: ScopeRead; kept: KeptSnapshot; fallbackReads: number }> {
  let fallbackReads = 0;
  const access = cacheAccess(cache, { fallback: c.input.server, onFallback: () => fallbackReads++ });
  const graphRead = await readScopeGraph(access, c.input.scope, c.input.layout, c.input.onProgress);
  const expansions = new Map<number, Int32Array>();
  const read = answerOf(graphRead, expansions);
  return { read, kept: keptOf(graphRead, expansions), fallbackReads };
}

/** The kept state's bytes, loaded once when first asked for (the cursor may come without them). */
function keptBytes(state: DirectoryState | null): () => Promise<Uint8Array | null> {
  let loaded: Promise<Uint8Array | null> | null = null;
  return () => (loaded ??= state?.cache ? Promise.resolve(state.cache) : (state?.loadCache?.() ?? Promise.resolve(null)));
}

function state(c: Context, bytes: Uint8Array | null, cookie: string, readMode: LdapCursor['readMode'], lastFullReadAt: string, size: number | undefined): DirectoryState {
  const cursor: LdapCursor = {
    version: LDAP_CURSOR_VERSION,
    mechanism: c.tracker.mechanism,
    scopeKey: c.key,
    cookie,
    lastFullReadAt,
    readMode,
    readAt: c.input.now.toISOString(),
    ...(size === undefined ? {} : { size }),
  };
  return { cursor: { ...cursor }, cache: bytes };
}
