/**
 * Incremental reads from Active Directory (and Samba AD) with the DirSync control.
 *
 * How a read goes:
 * - Without a cookie (`refresh`): a DirSync search of the naming context that holds the base,
 *   with the caller's filter; entries outside the base and tombstones are dropped. DirSync never
 *   returns the RDN attribute (`cn` of `CN=…`): it is put back from the DN.
 * - With a cookie (`delta`): DirSync says *which* objects changed: a search of the naming context
 *   for every object (`(objectClass=*)`) whose tracked attributes, filter attributes or name (a
 *   rename or a move) changed since the cookie. Tombstones (`isDeleted`) become `deletedIds`. The
 *   others are read again, whole, by objectGUID in batches, under the base and with the caller's
 *   filter: those found are the entries (complete, `partial: false`); those not found were moved
 *   out of the base or no longer match the filter, and become `deletedIds` too (an id the cache
 *   never held may be among them: dropping it is a no-op). A renamed or moved container (an OU)
 *   is all AD reports when the DNs of everything under it change: the entries under it are read
 *   again (or, now outside the base, become `deletedIds`).
 *
 * Why changed objects are read again instead of returning DirSync's changed attributes: ldapts
 * gives a requested attribute the server did not send as `[]`, the same as one it sent with no
 * values, so a removed value (a `mail` cleared, a group emptied) could not be told from an
 * unchanged attribute; an object entering the filter through an untracked attribute would come
 * with that attribute only; and a Windows DC may cut `member` into ranges. The extra read costs one
 * search per `batchSize` (200) changed objects, nothing when nothing changed.
 *
 * What DirSync does not report (the cache must derive it, the reconciliation read repairs it):
 * a group whose member was deleted or renamed is not returned (AD removes or renames the link
 * without touching the group); a filter on a back-link such as `memberOf` is not tracked.
 *
 * Flags: none. Without LDAP_DIRSYNC_OBJECT_SECURITY the account needs the "Replicating Directory
 * Changes" right on the naming context (Domain Admins have it); lacking it, the DC answers
 * insufficientAccessRights and the tracker throws DirSyncRefusedError. OBJECT_SECURITY (per-object
 * read checks instead of the right) is not used: a plain account then does not see tombstones, so
 * deletions go unreported (on Windows unless it may read CN=Deleted Objects), and Samba returns no
 * entry at all for a named attribute list in that mode; a silent partial answer is worse than a
 * refusal. (Samba hides tombstones from a non-administrator even with the right.) INCREMENTAL_VALUES
 * is not used: groups are read whole. ANCESTORS_FIRST_ORDER is not needed (entries are keyed by
 * objectGUID) and Samba ignores it.
 *
 * The stable id is objectGUID, formatted as transform.ts decodeObjectGuid does: a connection whose
 * id attribute is overridden to another attribute cannot be tracked with DirSync.
 */
import {
  AndFilter,
  EqualityFilter,
  type Client,
  type Entry,
  FilterParser,
  InsufficientAccessError,
  OrFilter,
  ResultCodeError,
} from 'ldapts';
import { createHash } from 'node:crypto';
import { GroupsyncError } from '../../errors.ts';
import { type ChangeTracker, CookieRejectedError, type EntryChanges, type TrackRequest } from './changes.ts';
import {
  type DirSyncCookie,
  DirSyncControl,
  decodeDirSyncCookie,
  encodeDirSyncCookie,
} from './dirsync-control.ts';
import { isUnder, normalizeDn } from './dn.ts';
import { type DirSyncDse, namingContextOf, readDirSyncDse, supportsDirSync } from './dirsync-dse.ts';
import { ID, guidOf, isTombstone, plainDns, requestedOnly, withRdnAttribute } from './dirsync-entries.ts';
import { filterAttributes } from './filter-match.ts';
import { unique, wrap } from './read.ts';
import { type RawEntry, type RawValue, encodeObjectGuid, memberChunks, toRawEntry } from './transform.ts';

/**
 * The account may not use DirSync: it lacks the "Replicating Directory Changes" right on the
 * naming context. The caller reads in full (or by another mechanism) and says why.
 */
export class DirSyncRefusedError extends GroupsyncError {
  /** The source reads in full instead (changes.ts isTrackerRefused). */
  readonly trackerRefused = true as const;
  constructor(namingContext: string, options?: { cause?: unknown }) {
    super(
      'DIRECTORY_READ_FAILED',
      `the bind account may not use DirSync: grant it the "Replicating Directory Changes" right on ${namingContext} (or read in full)`,
      options,
    );
    this.name = 'DirSyncRefusedError';
  }
}

export interface DirSyncTrackerOptions {
  /** A bound client; the tracker neither binds nor unbinds it. */
  readonly client: Client;
  /** Changed objects read again per search (default 200). */
  readonly batchSize?: number;
  /** maxBytes sent with the control (default 2^31-1: the server's own limit applies). */
  readonly maxBytes?: number;
}

export function createDirSyncTracker(options: DirSyncTrackerOptions): ChangeTracker {
  const run = new DirSyncRun(options);
  return {
    mechanism: 'dirsync',
    read: (request) => run.read(request),
    begin: (request) => run.begin(request),
  };
}

const BROAD_FILTER = '(objectClass=*)';
/** Matches no object: a DirSync search for its cookie alone. */
const NOTHING_FILTER = '(&(objectClass=*)(!(objectClass=*)))';
/** Result codes a DC answers a cookie it cannot use with (Samba: 12 "Unable to unmarshall cookie"). */
const COOKIE_CODES = new Set([1, 2, 12, 53]);

interface SyncPass {
  readonly entries: Entry[];
  readonly cookie: Buffer;
}

class DirSyncRun {
  readonly #client: Client;
  readonly #batchSize: number;
  readonly #maxBytes: number;

  constructor(options: DirSyncTrackerOptions) {
    this.#client = options.client;
    this.#batchSize = options.batchSize ?? 200;
    this.#maxBytes = options.maxBytes ?? 0x7fffffff;
  }

  /**
   * A cookie for "now" without reading the directory: DirSync over a filter that matches nothing.
   * A later read from it reports what changed after it (the cookie is the DC's update position;
   * the filter only selects what one answer returns).
   */
  async begin(request: Omit<TrackRequest, 'cookie' | 'onPage'>): Promise<string> {
    const at = await this.#where(request);
    const pass = await this.#dirSync(at.namingContext, NOTHING_FILTER, [ID], null);
    return this.#cookie(at, pass);
  }

  async read(request: TrackRequest): Promise<EntryChanges> {
    const at = await this.#where(request);
    const previous = request.cookie === null ? null : checkCookie(decodeDirSyncCookie(request.cookie), at.dse, at.namingContext, at.scope);
    const result = previous ? await this.#delta(request, at.namingContext, previous) : await this.#refresh(request, at.namingContext);
    return { ...result.changes, cookie: this.#cookie(at, result.pass) };
  }

  /** The DC as it is now, the naming context holding the base, and the digest of what is tracked. */
  async #where(request: Omit<TrackRequest, 'cookie' | 'onPage'>): Promise<{ dse: DirSyncDse; namingContext: string; scope: string }> {
    const dse = await readDirSyncDse(this.#client);
    if (!supportsDirSync(dse)) throw new GroupsyncError('DIRECTORY_READ_FAILED', 'the directory does not announce the DirSync control (1.2.840.113556.1.4.841)');
    return { dse, namingContext: namingContextOf(request.base, dse.namingContexts), scope: scopeDigest(request) };
  }

  #cookie(at: { dse: DirSyncDse; namingContext: string; scope: string }, pass: SyncPass): string {
    return encodeDirSyncCookie({ server: pass.cookie, invocationId: at.dse.invocationId ?? '', usn: at.dse.highestCommittedUsn, namingContext: at.namingContext, scope: at.scope });
  }

  async #refresh(request: TrackRequest, namingContext: string): Promise<{ changes: Omit<EntryChanges, 'cookie'>; pass: SyncPass }> {
    const attributes = unique([...request.attributes, ID, 'isDeleted']);
    const filter = `(&${wrap(request.filter)}(!(isDeleted=TRUE)))`;
    const pass = await this.#dirSync(namingContext, filter, attributes, null, request.onPage);
    const baseKey = normalizeDn(request.base);
    const entries: RawEntry[] = [];
    for (const found of pass.entries) {
      const entry = toRawEntry(found);
      if (isTombstone(entry) || !guidOf(entry) || !isUnder(normalizeDn(entry.dn), baseKey)) continue;
      entries.push(plainDns(requestedOnly(await this.#completeRanges(withRdnAttribute(entry, attributes), request.attributes), request.attributes)));
    }
    return { changes: { kind: 'refresh', entries, partial: false, deletedIds: [], presentIds: null }, pass };
  }

  async #delta(request: TrackRequest, namingContext: string, previous: DirSyncCookie): Promise<{ changes: Omit<EntryChanges, 'cookie'>; pass: SyncPass }> {
    const watched = unique([...request.attributes, ...filterAttributes(FilterParser.parseString(wrap(request.filter))), ID, 'isDeleted', 'name']);
    const pass = await this.#dirSync(namingContext, BROAD_FILTER, watched, previous.server, request.onPage);
    const deleted = new Set<string>();
    /** Changed objects, with their DN when their name or parent changed (a rename or a move). */
    const changed = new Map<string, string | null>();
    for (const found of pass.entries) {
      const entry = toRawEntry(found);
      const id = guidOf(entry);
      if (!id) continue;
      if (isTombstone(entry)) deleted.add(id);
      else changed.set(id, (entry.attrs.get('name')?.length ?? 0) > 0 ? entry.dn : null);
    }
    const entries = await this.#readByGuid(request, [...changed.keys()]);
    const present = new Set(entries.map((e) => guidOf(e)));
    const movedContainers: string[] = [];
    for (const [id, movedDn] of changed) {
      if (present.has(id)) continue;
      deleted.add(id);
      if (movedDn !== null) movedContainers.push(movedDn);
    }
    await this.#readUnder(request, movedContainers, entries, deleted, present);
    return { changes: { kind: 'delta', entries, partial: false, deletedIds: [...deleted], presentIds: null, linkedMembers: true }, pass };
  }

  /**
   * A renamed or moved container (an OU) is the only object AD reports, but every entry under it
   * has a new DN: those under the base are read again whole, those now outside it are gone.
   */
  async #readUnder(request: TrackRequest, containers: readonly string[], entries: RawEntry[], deleted: Set<string>, present: Set<string | null>): Promise<void> {
    const baseKey = normalizeDn(request.base);
    const attributes = unique([...request.attributes, ID]);
    for (const dn of containers) {
      const inside = isUnder(normalizeDn(dn), baseKey);
      const { searchEntries } = await this.#client.search(dn, { scope: 'sub', filter: request.filter, attributes: inside ? attributes : [ID], explicitBufferAttributes: [ID], paged: { pageSize: 500 } });
      for (const found of searchEntries) {
        const entry = toRawEntry(found);
        const id = guidOf(entry);
        if (!id || present.has(id)) continue;
        present.add(id);
        if (inside) entries.push(await this.#completeRanges(entry, request.attributes));
        else deleted.add(id);
      }
    }
  }

  /** DirSync searches until the server has no more results (Windows honours maxBytes; Samba answers at once). */
  async #dirSync(base: string, filter: string, attributes: readonly string[], cookie: Buffer | null, onPage?: (entries: number) => void): Promise<SyncPass> {
    const entries: Entry[] = [];
    let next = cookie ?? Buffer.alloc(0);
    for (;;) {
      const control = new DirSyncControl({ flags: 0, maxBytes: this.#maxBytes, cookie: next });
      try {
        const { searchEntries } = await this.#client.search(base, { scope: 'sub', filter, attributes: [...attributes], explicitBufferAttributes: [ID] }, [control]);
        entries.push(...searchEntries);
        onPage?.(searchEntries.length);
      } catch (error) {
        if (error instanceof InsufficientAccessError) throw new DirSyncRefusedError(base, { cause: error });
        throw cookie !== null ? cookieError(error) : error;
      }
      if (!control.response) throw new GroupsyncError('DIRECTORY_READ_FAILED', 'the directory answered a DirSync search without the DirSync response control');
      next = control.response.cookie;
      if (!control.response.moreResults) return { entries, cookie: next };
    }
  }

  /** The changed objects, whole, that are under the base and match the filter. */
  async #readByGuid(request: TrackRequest, ids: readonly string[]): Promise<RawEntry[]> {
    const attributes = unique([...request.attributes, ID]);
    const filter = FilterParser.parseString(wrap(request.filter));
    const out: RawEntry[] = [];
    for (let k = 0; k < ids.length; k += this.#batchSize) {
      const guids = ids.slice(k, k + this.#batchSize).map((id) => new EqualityFilter({ attribute: ID, value: encodeObjectGuid(id) }));
      const { searchEntries } = await this.#client.search(request.base, {
        scope: 'sub',
        filter: new AndFilter({ filters: [filter, new OrFilter({ filters: guids })] }),
        attributes,
        explicitBufferAttributes: [ID],
        paged: { pageSize: this.#batchSize },
      });
      for (const found of searchEntries) out.push(await this.#completeRanges(toRawEntry(found), request.attributes));
    }
    return out;
  }

  /** A multi-valued attribute the server cut (`member;range=0-1499`) read to its end, under its plain name. */
  async #completeRanges(entry: RawEntry, requested: readonly string[]): Promise<RawEntry> {
    const ranged = [...entry.attrs.keys()].filter((key) => key.includes(';range='));
    if (ranged.length === 0) return entry;
    const wanted = new Set(requested.map((a) => a.toLowerCase()));
    const bases = [...new Set(ranged.map((key) => key.slice(0, key.indexOf(';'))))].filter((base) => wanted.has(base));
    const attrs = new Map(entry.attrs);
    for (const [attribute, chunk] of memberChunks(entry, bases)) {
      const values: RawValue[] = [...chunk.values];
      let start = chunk.nextStart;
      while (start !== null) {
        const { searchEntries } = await this.#client.search(entry.dn, { scope: 'base', filter: '(objectClass=*)', attributes: [`${attribute};range=${start}-*`] });
        const part = searchEntries[0] ? memberChunks(toRawEntry(searchEntries[0]), [attribute]).get(attribute) : undefined;
        if (!part || part.values.length === 0) break;
        values.push(...part.values);
        start = part.nextStart;
      }
      attrs.set(attribute, values);
    }
    for (const key of ranged) attrs.delete(key);
    return { dn: entry.dn, attrs };
  }
}

/** Refuses a cookie taken from another DC, a DC since restored, another naming context or another scope. */
function checkCookie(cookie: DirSyncCookie, dse: DirSyncDse, namingContext: string, scope: string): DirSyncCookie {
  if (cookie.scope !== scope) throw new CookieRejectedError('the tracked base, filter or attributes changed since the cookie was taken');
  if (normalizeDn(cookie.namingContext) !== normalizeDn(namingContext)) throw new CookieRejectedError(`the cookie was taken in another naming context (${cookie.namingContext})`);
  if (dse.invocationId && cookie.invocationId !== dse.invocationId) {
    throw new CookieRejectedError(`the cookie was taken from another domain controller, or before this one was restored (invocationId ${cookie.invocationId}, now ${dse.invocationId})`);
  }
  if (dse.highestCommittedUsn < cookie.usn) {
    throw new CookieRejectedError(`the domain controller's update sequence went back (highestCommittedUSN ${dse.highestCommittedUsn}, the cookie was taken at ${cookie.usn}): it was restored from a backup`);
  }
  return cookie;
}

function cookieError(error: unknown): unknown {
  if (error instanceof ResultCodeError && COOKIE_CODES.has(error.code)) {
    return new CookieRejectedError(`the domain controller refused the cookie: ${error.message.replace(/\s+/g, ' ').trim()}`, { cause: error });
  }
  return error;
}

function scopeDigest(request: Omit<TrackRequest, 'cookie' | 'onPage'>): string {
  const attributes = unique([...request.attributes]).map((a) => a.toLowerCase()).sort();
  return createHash('sha256').update(normalizeDn(request.base)).update('\0').update(request.filter.trim()).update('\0').update(attributes.join(',')).digest('hex').slice(0, 24);
}

/** Attribute names a filter tests, so a change to one of them is seen. */
