/**
 * The cursor an incremental LDAP read keeps per connection: the tracker's cookie, the scope it
 * was taken for (a key over base, filters and attributes: another scope means a full read) and
 * when the last full read ran.
 */
import { createHash } from 'node:crypto';
import type { DirectoryState, ReadScope } from '../../domain/types.ts';
import { normalizeDn } from './dn.ts';
import { filterAttributes } from './filter-match.ts';
import { type ReadLayout, scopeAttributes, wrap } from './read.ts';

export const LDAP_CURSOR_VERSION = 1;

export interface LdapCursor {
  readonly version: number;
  readonly mechanism: string;
  readonly scopeKey: string;
  readonly cookie: string;
  /** When the last full read ran (ISO): the reconciliation schedule counts from it. */
  readonly lastFullReadAt: string;
  readonly readMode: 'full' | 'incremental';
  readonly readAt: string;
  /** Entries in the cache (absent in cursors written before it was kept). */
  readonly size?: number;
  /**
   * `detect`: only the cookie is kept (no entries); `plain`: no tracker, nothing but the graph
   * digest is kept (the cookie is empty); absent: the entries are kept.
   */
  readonly mode?: 'detect' | 'plain';
  /** The digest of the last full read's graph (read/graph-digest.ts), when it had one. */
  readonly graphDigest?: string;
}

export interface TrackedSet {
  readonly base: string;
  readonly filter: string;
  readonly attributes: readonly string[];
}

/** What the tracker follows: every user and group under the base DN, with what the read and its filters need. */
export function trackedSet(layout: ReadLayout, scope: ReadScope, baseDn: string): TrackedSet {
  const p = layout.profile;
  const { anyAttributes } = scopeAttributes(p);
  const extra = [...filterAttributes(layout.userFilter), ...(scope.groupFilter ? filterAttributes(wrap(scope.groupFilter)) : [])];
  const seen = new Set<string>();
  const attributes = [...anyAttributes, ...extra].filter((a) => {
    const k = a.toLowerCase();
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
  return { base: baseDn, filter: `(|${p.userFilter}${p.groupFilter})`, attributes };
}

export function scopeKey(tracked: TrackedSet, layout: ReadLayout, scope: ReadScope, mechanism: string, parts: readonly string[] = []): string {
  const key = {
    mechanism,
    base: normalizeDn(tracked.base),
    filter: tracked.filter,
    attributes: tracked.attributes.map((a) => a.toLowerCase()).sort(),
    id: layout.profile.id.toLowerCase(),
    userBase: normalizeDn(layout.userBase),
    groupBase: normalizeDn(layout.groupBase),
    userFilter: layout.userFilter,
    groupFilter: scope.groupFilter,
    parts,
  };
  return createHash('sha256').update(JSON.stringify(key)).digest('hex').slice(0, 32);
}

export function parseLdapCursor(state: DirectoryState | null | undefined): LdapCursor | null {
  const c = state?.cursor as Partial<LdapCursor> | undefined;
  if (!c || c.version !== LDAP_CURSOR_VERSION || typeof c.cookie !== 'string' || typeof c.scopeKey !== 'string' || typeof c.lastFullReadAt !== 'string') return null;
  return c as LdapCursor;
}
