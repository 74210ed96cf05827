/**
 * The RFC 4533 change tracker (refreshOnly) for servers that announce the Sync Request control in
 * the root DSE's supportedControl (OpenLDAP with the syncprov overlay). A refresh from a cookie
 * names the entries added or changed since (whole, with their entryUUID), and either the
 * deletions (the provider's session log: syncIdSet with refreshDeletes) or, when the log does not
 * reach back that far, every entry still present (a present phase: syncIdSet without
 * refreshDeletes, and the Sync Done control without refreshDeletes). Both become EntryChanges.
 */
import { type Client, ResultCodeError, UnwillingToPerformError } from 'ldapts';
import { type ChangeTracker, CookieRejectedError, type EntryChanges, type TrackRequest } from './changes.ts';
import { SYNC_REFRESH_REQUIRED, type SyncMessage, syncSearch } from './sync-search.ts';
import { type RawEntry, toRawEntry } from './transform.ts';

export { SYNC_REQUEST_OID } from './sync-search.ts';

/** A filter no entry matches: the sync search that only fetches a cookie. */
const NOTHING = '(objectClass=groupsync-matches-nothing)';
/** syncprov's cookie: `rid=NNN[,sid=NNN],csn=…`. Anything else was not written by this tracker. */
const COOKIE = /^rid=\d{3}(,sid=[0-9a-f]{3})?(,csn=[0-9A-Za-z.#]+(;[0-9A-Za-z.#]+)*)?$/;

function rejected(error: unknown): CookieRejectedError | null {
  if (error instanceof ResultCodeError && error.code === SYNC_REFRESH_REQUIRED) return new CookieRejectedError('syncRefreshRequired', { cause: error });
  // slapd: "consumer state is newer than provider!" — a cookie from another server or a restored one.
  if (error instanceof UnwillingToPerformError && /newer than provider/i.test(error.message)) return new CookieRejectedError('cookieNewerThanServer', { cause: error });
  return null;
}

function withId(entry: RawEntry, idAttribute: string, uuid: string): RawEntry {
  const name = idAttribute.toLowerCase();
  if ((entry.attrs.get(name)?.length ?? 0) > 0) return entry;
  const attrs = new Map(entry.attrs);
  attrs.set(name, [uuid]);
  return { dn: entry.dn, attrs };
}

/** EntryChanges from the messages of one refresh. */
export function toEntryChanges(
  messages: readonly SyncMessage[],
  done: { cookie: string | null; refreshDeletes: boolean },
  request: { cookie: string | null; idAttribute: string },
): EntryChanges {
  const entries: RawEntry[] = [];
  const deletedIds: string[] = [];
  const present: string[] = [];
  for (const m of messages) {
    if (m.type === 'entry') {
      if (m.state === 'delete') deletedIds.push(m.uuid);
      else if (m.state === 'present') present.push(m.uuid);
      else {
        entries.push(withId(toRawEntry(m.entry), request.idAttribute, m.uuid));
        present.push(m.uuid);
      }
    } else if (m.type === 'idSet') {
      (m.refreshDeletes ? deletedIds : present).push(...m.uuids);
    }
  }
  const kind = request.cookie === null ? 'refresh' : 'delta';
  return {
    kind,
    entries,
    partial: false,
    deletedIds,
    // Without refreshDeletes, a refresh from a cookie was a present phase: what it did not name is gone.
    presentIds: kind === 'delta' && !done.refreshDeletes ? present : null,
    cookie: done.cookie ?? request.cookie ?? '',
  };
}

export interface SyncreplOptions {
  readonly idAttribute: string;
  readonly countRequest?: () => void;
}

export function createSyncreplTracker(client: Client, options: SyncreplOptions): ChangeTracker {
  const search = async (request: Omit<TrackRequest, 'onPage'>) => {
    if (request.cookie !== null && !COOKIE.test(request.cookie)) throw new CookieRejectedError('malformedCookie');
    options.countRequest?.();
    try {
      const result = await syncSearch(client, {
        base: request.base,
        filter: request.filter,
        attributes: request.attributes,
        cookie: request.cookie === null ? null : Buffer.from(request.cookie, 'latin1'),
      });
      return { messages: result.messages, done: { cookie: result.done.cookie?.toString('latin1') ?? null, refreshDeletes: result.done.refreshDeletes } };
    } catch (error) {
      throw rejected(error) ?? error;
    }
  };
  return {
    mechanism: 'syncrepl',
    async read(request: TrackRequest): Promise<EntryChanges> {
      const { messages, done } = await search(request);
      const changes = toEntryChanges(messages, done, { cookie: request.cookie, idAttribute: options.idAttribute });
      request.onPage?.(changes.entries.length);
      return changes;
    },
    async begin(request): Promise<string> {
      const { done } = await search({ ...request, filter: NOTHING, cookie: null });
      if (!done.cookie) throw new Error('the server answered a sync request without a cookie');
      return done.cookie;
    },
  };
}
