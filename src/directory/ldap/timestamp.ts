/**
 * The modifyTimestamp change tracker, for servers that offer neither RFC 4533 content
 * synchronisation nor DirSync (OpenLDAP without the syncprov overlay, 389 DS, others).
 *
 * The cookie holds a high-water mark (the greatest modifyTimestamp seen), the count and digest of
 * the present set (every tracked entry's stable id), and a hash of each entry within the safety
 * window below the mark. A read from it is two searches:
 * - the present phase: every tracked entry, asking for its id only. Same count and digest: nothing
 *   was deleted or moved out; otherwise the ids are returned as `presentIds` (the cache drops what
 *   they do not name; detect mode reads in full);
 * - the changed entries: `(&<tracked>(modifyTimestamp>=mark - window))`, whole. An entry within the
 *   window whose content hash is the one kept was already seen (timestamps have one second and one
 *   server's clock: an entry changed in the mark's second, or written late by another provider
 *   with a clock up to the window behind, is read again and its content decides).
 * The present phase runs first: an entry added between the two searches is then named by the
 * second and found missing from the digest the next time, never lost.
 *
 * What it cannot see: a change stamped more than the window before the mark (a provider's clock
 * further behind, a server restored from a backup whose clock went back): the scheduled full read
 * (fullReadEvery) repairs it. The entry holding the mark must come back from every search: when it
 * does not, the server stopped returning modifyTimestamp to this account (the tracker is refused,
 * `noModifyTimestamp`) or the entry's stamp went back (the cookie is refused: a full read).
 */
import { GroupsyncError } from '../../errors.ts';
import { type ChangeTracker, CookieRejectedError, type EntryChanges, type TrackRequest, type TrackerRefused } from './changes.ts';
import type { EntryAccess } from './read.ts';
import { unique, wrap } from './read.ts';
import {
  type TimestampCookie,
  contentHash,
  decodeTimestampCookie,
  encodeTimestampCookie,
  formatGeneralizedTime,
  idsDigest,
  pairsDigest,
  parseGeneralizedTime,
  windowHashes,
} from './timestamp-cookie.ts';
import { type RawEntry, stableId } from './transform.ts';
import type { VendorProfile } from './vendors.ts';

const MTIME = 'modifyTimestamp';
/** Seconds below the mark read again every time (clock skew between providers, late commits). */
export const DEFAULT_WINDOW_SECONDS = 60;

/** The server gives this account no modifyTimestamp: the connection is read in full, saying why. */
export class NoModifyTimestampError extends GroupsyncError implements TrackerRefused {
  readonly trackerRefused = true as const;
  readonly reason = 'noModifyTimestamp';
  constructor(detail: string) {
    super('DIRECTORY_READ_FAILED', `the directory does not let the bind account read or search modifyTimestamp (${detail}): grant read access to it, or every sync reads in full`);
    this.name = 'NoModifyTimestampError';
  }
}

export interface TimestampTrackerOptions {
  readonly access: EntryAccess;
  readonly profile: VendorProfile;
  readonly windowSeconds?: number;
  /** Window entries kept one by one (default WINDOW_CAP); beyond, one digest of them all. */
  readonly windowCap?: number;
  /** groupsync's clock (ms): the window closes once it is two windows past the mark. */
  readonly now?: () => number;
}

/** An entry of the changed search with what the cookie needs of it. */
interface Seen {
  readonly entry: RawEntry;
  readonly id: string;
  readonly mtime: number;
  readonly hash: string;
}

export function createTimestampTracker(options: TimestampTrackerOptions): ChangeTracker {
  const run = new TimestampRun(options);
  return { mechanism: 'timestamp', read: (request) => run.read(request), begin: (request) => run.begin(request) };
}

type Tracked = Omit<TrackRequest, 'cookie' | 'onPage'>;

class TimestampRun {
  readonly #access: EntryAccess;
  readonly #profile: VendorProfile;
  readonly #window: number;
  readonly #windowCap: number | undefined;
  readonly #now: () => number;

  constructor(options: TimestampTrackerOptions) {
    this.#access = options.access;
    this.#profile = options.profile;
    this.#window = (options.windowSeconds ?? DEFAULT_WINDOW_SECONDS) * 1000;
    this.#windowCap = options.windowCap;
    this.#now = options.now ?? Date.now;
  }

  /** A cookie for now: the present phase with each entry's stamp (for the mark), then the window's entries. */
  async begin(request: Tracked): Promise<string> {
    const ids: string[] = [];
    let mark = 0;
    let stamped = 0;
    for await (const page of this.#access.search(request.base, request.filter, [this.#profile.id, MTIME])) {
      for (const entry of page) {
        const id = stableId(entry, this.#profile);
        if (!id) continue;
        ids.push(id);
        const mtime = stampOf(entry);
        if (mtime === null) continue;
        stamped++;
        mark = Math.max(mark, mtime);
      }
    }
    if (ids.length > 0 && stamped === 0) throw new NoModifyTimestampError(`none of ${ids.length} entries came with it`);
    const seen = ids.length ? await this.#changedSince(request, mark - this.#window) : [];
    if (ids.length > 0 && seen.length === 0) throw new NoModifyTimestampError('a search on it found nothing');
    return encodeTimestampCookie(this.#cookie(ids, seen, mark));
  }

  async read(request: TrackRequest): Promise<EntryChanges> {
    if (request.cookie === null) return this.#refresh(request);
    const previous = decodeTimestampCookie(request.cookie);
    const ids = await this.#presentIds(request);
    const seen = await this.#changedSince(request, previous.closed ? previous.mark : previous.mark - this.#window, request.onPage);
    checkAnchor(previous, ids, seen);
    const same = ids.length === previous.count && idsDigest(ids) === previous.digest;
    return {
      kind: 'delta',
      entries: reported(previous, seen).map((s) => this.#requested(s.entry, request.attributes)),
      partial: false,
      deletedIds: [],
      presentIds: same ? null : ids,
      cookie: encodeTimestampCookie(this.#cookie(ids, seen, previous.mark)),
    };
  }

  /** Everything, whole (a read without a cookie). */
  async #refresh(request: TrackRequest): Promise<EntryChanges> {
    const seen = await this.#changedSince(request, 0, request.onPage);
    if (seen.length === 0) {
      // Nothing came back: an empty directory, or a server that refuses the filter on modifyTimestamp.
      if ((await this.#presentIds(request)).length > 0) throw new NoModifyTimestampError('a search on it found nothing');
    }
    const cookie = this.#cookie(seen.map((s) => s.id), seen, 0);
    return { kind: 'refresh', entries: seen.map((s) => this.#requested(s.entry, request.attributes)), partial: false, deletedIds: [], presentIds: null, cookie: encodeTimestampCookie(cookie) };
  }

  /** The present phase: every tracked entry's id, nothing else. */
  async #presentIds(request: Tracked): Promise<string[]> {
    const ids: string[] = [];
    for await (const page of this.#access.search(request.base, request.filter, [this.#profile.id])) {
      for (const entry of page) {
        const id = stableId(entry, this.#profile);
        if (id) ids.push(id);
      }
    }
    return ids;
  }

  /** The tracked entries stamped at or after `since`, whole, with their id, stamp and content hash. */
  async #changedSince(request: Tracked, since: number, onPage?: (entries: number) => void): Promise<Seen[]> {
    const filter = since > 0 ? `(&${wrap(request.filter)}(${MTIME}>=${formatGeneralizedTime(since)}))` : request.filter;
    const attributes = unique([...request.attributes, this.#profile.id, MTIME]);
    const seen: Seen[] = [];
    for await (const page of this.#access.search(request.base, filter, attributes)) {
      for (const entry of page) {
        const id = stableId(entry, this.#profile);
        if (!id) continue;
        const mtime = stampOf(entry);
        if (mtime === null) throw new NoModifyTimestampError(`${entry.dn} came without it`);
        seen.push({ entry, id, mtime, hash: contentHash(entry, request.attributes) });
      }
      onPage?.(page.length);
    }
    return seen;
  }

  /** The next cookie: the mark moved to the newest stamp seen, and the entries within the window below it. */
  #cookie(ids: readonly string[], seen: readonly Seen[], previousMark: number): TimestampCookie {
    let mark = previousMark;
    let anchor: string | null = null;
    for (const s of seen) {
      if (s.mtime >= mark) {
        mark = s.mtime;
        anchor = s.id;
      }
    }
    // Two windows past the mark on this clock (one for the stamps' skew, one for this clock's), no write can be stamped below the mark any more.
    const closed = this.#now() >= mark + 2 * this.#window;
    const since = closed ? Math.floor(mark / 1000) * 1000 : mark - this.#window;
    const window = seen.filter((s) => s.mtime >= since).map((s) => [s.id, s.hash] as const);
    return { mark, anchor, count: ids.length, digest: idsDigest(ids), window: windowHashes(window, this.#windowCap), closed };
  }

  /** The entry with the requested attributes only (the stamp was asked for the tracker's own use). */
  #requested(entry: RawEntry, attributes: readonly string[]): RawEntry {
    if (attributes.some((a) => a.toLowerCase() === MTIME.toLowerCase())) return entry;
    const attrs = new Map(entry.attrs);
    attrs.delete(MTIME.toLowerCase());
    return { dn: entry.dn, attrs };
  }
}

function stampOf(entry: RawEntry): number | null {
  const value = entry.attrs.get(MTIME.toLowerCase())?.[0];
  return value === undefined ? null : parseGeneralizedTime(typeof value === 'string' ? value : value.toString('utf8'));
}

/**
 * The entry holding the mark is stamped at or after it: if it is still present, the search must
 * have returned it. Nothing returned at all: the server no longer lets the account search the
 * stamp. Others returned: its stamp went back (a provider with a clock behind changed it).
 */
function checkAnchor(previous: TimestampCookie, ids: readonly string[], seen: readonly Seen[]): void {
  const anchor = previous.anchor;
  if (anchor === null || seen.some((s) => s.id === anchor) || !ids.includes(anchor)) return;
  if (seen.length === 0) throw new NoModifyTimestampError('a search on it found nothing');
  throw new CookieRejectedError('modifyTimestampWentBack');
}

/** What changed: the window entries whose content is the one kept are left out. */
function reported(previous: TimestampCookie, seen: readonly Seen[]): readonly Seen[] {
  const window = previous.window;
  if (window.kind === 'each') return seen.filter((s) => window.hashes.get(s.id) !== s.hash);
  // Too many to keep one by one: all of them are unchanged, or all are reported again.
  const older = seen.filter((s) => s.mtime <= previous.mark);
  if (older.length === window.count && pairsDigest(older.map((s) => [s.id, s.hash] as const)) === window.digest) return seen.filter((s) => s.mtime > previous.mark);
  return seen;
}
