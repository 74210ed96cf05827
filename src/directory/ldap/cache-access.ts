/**
 * An EntryAccess backed by the entry cache: readScope runs over it exactly as over the server.
 * A subtree search returns the cached entries under the base that match the filter (evaluated as
 * the server would: filter-match.ts); a read by DN returns the cached entry. An entry the cache
 * does not track (a member that is neither user nor group, one outside the tracked base, a
 * dangling DN) is read from `fallback`, the server, when one is given, so that the answer is
 * the server's.
 */
import { type Filter, FilterParser } from 'ldapts';
import type { CachedEntry, EntryCache } from './entry-cache.ts';
import { DnSyntaxError, isUnder, normalizeDn } from './dn.ts';
import { isEvaluable, matchFilter } from './filter-match.ts';
import type { EntryAccess } from './read.ts';
import type { RawEntry } from './transform.ts';

const PAGE = 1000;

/**
 * Whether a DN is under the base, from its spelling when that is plain (no escapes, no spaces,
 * no multi-valued RDN: its lower case is its normalised form), else from its normalised DN.
 */
function under(entry: CachedEntry, base: string): boolean {
  const dn = entry.entry.dn;
  if (/^[A-Za-z0-9=,.\-_]*$/.test(dn)) return isUnder(dn.toLowerCase(), base);
  return entry.key !== null && isUnder(entry.key, base);
}

export interface CacheAccessOptions {
  /** Where entries the cache does not hold are read; none: they do not exist. */
  readonly fallback?: EntryAccess | undefined;
  /** The tracked subtree (a normalised DN): a DN under it that the cache lacks is read from `fallback` too. */
  readonly onFallback?: () => void;
}

export function cacheAccess(cache: EntryCache, options: CacheAccessOptions = {}): EntryAccess {
  return {
    async *search(base: string, filter: string | Filter, attributes: readonly string[]): AsyncIterable<RawEntry[]> {
      const parsed = typeof filter === 'string' ? FilterParser.parseString(filter) : filter;
      // A filter the cache cannot evaluate as the server would (a binary objectGUID, a DN-valued
      // attribute) is the server's to answer: a group linked by its objectGUID is looked up there.
      if (options.fallback && !isEvaluable(parsed)) {
        options.onFallback?.();
        yield* options.fallback.search(base, filter, attributes);
        return;
      }
      const baseKey = normalizeDn(base);
      let page: RawEntry[] = [];
      // Entries are made objects for the search alone: the cache keeps its compact columns.
      for (const c of cache.scan()) {
        if (!under(c, baseKey) || !matchFilter(parsed, c.entry)) continue;
        page.push(c.entry);
        if (page.length === PAGE) {
          yield page;
          page = [];
        }
      }
      if (page.length) yield page;
    },
    async readEntry(dn: string, attributes: readonly string[]): Promise<RawEntry | null> {
      let key: string;
      try {
        key = normalizeDn(dn);
      } catch (error) {
        if (error instanceof DnSyntaxError) return null;
        throw error;
      }
      const cached = cache.atKey(key);
      if (cached) return cached.entry;
      if (!options.fallback) return null;
      options.onFallback?.();
      return options.fallback.readEntry(dn, attributes);
    },
  };
}
