/**
 * Reads a scope from any LDAP-shaped directory through a small entry-access port:
 * the linked groups, their members expanded through nested groups (cycles are safe), and the
 * users reached. Entries are consumed page by page and reduced at once to compact records:
 * member DNs are interned once as integer nodes, raw pages are dropped as soon as read.
 */
import { AndFilter, EqualityFilter, type Filter, FilterParser, escapeFilter } from 'ldapts';
import type { DirectoryGroup, DirectoryUser, ReadProgress, ReadScope, SkippedEntry } from '../../domain/types.ts';
import { CollectionPace } from '../../memory.ts';
import { normalizeDn } from './dn.ts';
import { type ClassifyCounters, addGroup, addUser, newCounters, resolvePending } from './read/classify.ts';
import { answer } from './read/expand.ts';
import { LINKED_BY_DN, LINKED_BY_FILTER, LINKED_BY_REF, ScopeGraph, UNKNOWN } from './read/graph.ts';
import { type RawEntry, encodeObjectGuid, hasClass } from './transform.ts';
import type { VendorProfile } from './vendors.ts';

export interface EntryAccess {
  /** A paged subtree search; yields each page as it arrives. */
  search(base: string, filter: string | Filter, attributes: readonly string[]): AsyncIterable<RawEntry[]>;
  /** A base-scope read of one entry; null when it does not exist. */
  readEntry(dn: string, attributes: readonly string[]): Promise<RawEntry | null>;
}

export interface ReadLayout {
  readonly profile: VendorProfile;
  readonly userBase: string;
  readonly userFilter: string;
  readonly groupBase: string;
  /** Member lists above this many distinct DNs are resolved by one paged user scan instead of per-entry reads. */
  readonly scanThreshold?: number;
  readonly concurrency?: number;
}

export interface ScopeRead {
  readonly groups: DirectoryGroup[];
  readonly users: DirectoryUser[];
  readonly skipped: SkippedEntry[];
  readonly stats: { entries: number; danglingMembers: number; rangedReads: number; scanned: boolean };
}

export { UNRESOLVED_LISTED } from './read/expand.ts';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function looksLikeDn(ref: string): boolean {
  return /^[a-z][a-z0-9-]*\s*=|^\d+(\.\d+)+\s*=/i.test(ref) && ref.includes('=');
}

/** The attributes a scope read asks for: of users, of groups, of an entry that may be either. */
export function scopeAttributes(p: VendorProfile): { userAttributes: string[]; groupAttributes: string[]; anyAttributes: string[] } {
  // The user scan's filter names users: their objectClass values (four a user on OpenLDAP) are not needed.
  const userAttributes = unique([p.id, p.login, p.mail, p.displayName, 'cn', ...(p.disabled ? [p.disabled] : [])]);
  const groupAttributes = unique(['objectClass', p.id, p.groupName, p.groupDescription, ...p.member]);
  return { userAttributes, groupAttributes, anyAttributes: unique(['objectClass', ...userAttributes, ...groupAttributes]) };
}

/** The filter selecting the linked groups of a scope (under the group base), or null. */
export function linkFilter(scope: ReadScope, p: VendorProfile): string | null {
  return scope.groupFilter ? `(&${p.groupFilter}${wrap(scope.groupFilter)})` : null;
}

export interface GraphRead {
  readonly graph: ScopeGraph;
  readonly counters: ClassifyCounters;
  readonly scanned: boolean;
}

export async function readScope(
  access: EntryAccess,
  scope: ReadScope,
  layout: ReadLayout,
  onProgress?: (progress: ReadProgress) => void,
): Promise<ScopeRead> {
  return answerOf(await readScopeGraph(access, scope, layout, onProgress));
}

export function answerOf(read: GraphRead, expansions?: Map<number, Int32Array>): ScopeRead {
  const { groups, users, skipped } = answer(read.graph, expansions);
  const c = read.counters;
  return { groups, users, skipped, stats: { entries: c.entries, danglingMembers: c.dangling, rangedReads: c.rangedReads, scanned: read.scanned } };
}

/** The steps of a read: linked groups, members by a user scan, the rest by DN; the graph they build. */
export async function readScopeGraph(
  access: EntryAccess,
  scope: ReadScope,
  layout: ReadLayout,
  onProgress?: (progress: ReadProgress) => void,
): Promise<GraphRead> {
  const p = layout.profile;
  const { userAttributes, groupAttributes, anyAttributes } = scopeAttributes(p);
  const graph = new ScopeGraph();
  const counters = newCounters();
  // The pages' garbage is collected as the read goes on (src/memory.ts).
  const pace = new CollectionPace(VALUES_PER_COLLECTION, COLLECTION_GROWTH);
  await readLinked(graph, access, scope, layout, groupAttributes, counters, pace, onProgress);
  // Members: one paged user scan when there are many, else per-entry reads.
  let scanned = false;
  if (graph.pending().length > (layout.scanThreshold ?? 200)) {
    scanned = true;
    await scanUsers(graph, access, layout, userAttributes, counters, pace, onProgress);
  }
  // Whatever is still unknown: nested groups outside the scope, users outside the user base.
  await resolvePending(graph, access, p, anyAttributes, counters, layout.concurrency ?? 8, onProgress);
  return { graph, counters, scanned };
}

/**
 * The first full collection of a read comes after this many values decoded (about half of a
 * 100,000-user directory's), the next ones each time a quarter as many again as before were
 * (src/memory.ts). A forced collection costs far more than its marking (100k users, a full read:
 * one collection kept the time, 5.2–5.6 s for 5.5–5.7 s without, and took peak RSS from 296–302 to
 * 249–260 MB; three, from 400,000 values on, took it to 233 MB but the time to 6.3–7.2 s). At a
 * million users the pace from 400,000 values made 14 collections and a peak of 1.6 GB; a pace
 * doubling each time made 6 and left 2.1 GB, a fixed one 38 (1.5 GB, ~30 s more reading).
 */
export const VALUES_PER_COLLECTION = 800_000;
const COLLECTION_GROWTH = 0.25;

/** How many attribute values a page holds (what its decoding allocated, roughly). */
export function valuesIn(page: readonly RawEntry[]): number {
  let n = 0;
  for (const entry of page) for (const values of entry.attrs.values()) n += values.length;
  return n;
}

/** The linked groups: by the scope filter, then by explicit reference. */
async function readLinked(
  graph: ScopeGraph,
  access: EntryAccess,
  scope: ReadScope,
  layout: ReadLayout,
  groupAttributes: readonly string[],
  counters: ClassifyCounters,
  pace: CollectionPace,
  onProgress?: (progress: ReadProgress) => void,
): Promise<void> {
  const p = layout.profile;
  const filter = linkFilter(scope, p);
  if (filter) {
    for await (const page of access.search(layout.groupBase, filter, groupAttributes)) {
      for (const entry of page) {
        counters.entries++;
        await addGroup(graph, entry, LINKED_BY_FILTER, access, p, counters);
      }
      pace.read(valuesIn(page));
      onProgress?.({ phase: 'groups', count: graph.linked.size });
    }
  }
  for (const ref of scope.groupRefs) {
    for (const entry of await findGroupEntries(access, ref, layout, groupAttributes)) {
      counters.entries++;
      await addGroup(graph, entry, looksLikeDn(ref) ? LINKED_BY_DN : LINKED_BY_REF, access, p, counters);
    }
  }
  onProgress?.({ phase: 'groups', count: graph.linked.size });
}

/** One paged scan of the user base: unknown nodes it finds become users. */
async function scanUsers(
  graph: ScopeGraph,
  access: EntryAccess,
  layout: ReadLayout,
  userAttributes: readonly string[],
  counters: ClassifyCounters,
  pace: CollectionPace,
  onProgress?: (progress: ReadProgress) => void,
): Promise<void> {
  let seen = 0;
  for await (const page of access.search(layout.userBase, layout.userFilter, userAttributes)) {
    for (const entry of page) {
      counters.entries++;
      // A member value spelled as the entry's DN names its node: no DN to normalise.
      let node = graph.spelled(entry.dn);
      if (node === undefined) {
        try {
          node = graph.nodeIndex.get(normalizeDn(entry.dn));
        } catch {
          continue; // not reached by any group
        }
      }
      if (node !== undefined && graph.nodeKind[node] === UNKNOWN) addUser(graph, node, entry, layout.profile);
    }
    seen += page.length;
    pace.read(valuesIn(page));
    onProgress?.({ phase: 'users', count: seen });
  }
}

/** Attribute names without repeats, compared case-insensitively (the first spelling kept). */
export function unique(values: readonly string[]): string[] {
  const seen = new Set<string>();
  return values.filter((v) => {
    const k = v.toLowerCase();
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** A filter in parentheses, as a component of `(&…)`. */
export function wrap(filter: string): string {
  const f = filter.trim();
  return f.startsWith('(') ? f : `(${f})`;
}

/** The filter finding the groups a reference by stable id or name names (under the group base). */
export function refFilter(ref: string, p: VendorProfile): string | Filter {
  if (GUID.test(ref)) {
    // A binary objectGUID goes as bytes in a filter object: ldapts would UTF-8-encode `\xx` escapes.
    return p.idIsGuid
      ? new AndFilter({ filters: [FilterParser.parseString(p.groupFilter), new EqualityFilter({ attribute: p.id, value: encodeObjectGuid(ref) })] })
      : `(&${p.groupFilter}${escapeFilter`(${p.id}=${ref.toLowerCase()})`})`;
  }
  return `(&${p.groupFilter}${escapeFilter`(${p.groupName}=${ref})`})`;
}

/** Finds group entries for a reference: a DN, a stable id, or a name (escaped into the filter). */
export async function findGroupEntries(
  access: EntryAccess,
  ref: string,
  layout: ReadLayout,
  attributes: readonly string[],
): Promise<RawEntry[]> {
  const p = layout.profile;
  if (looksLikeDn(ref.trim())) {
    // A DN pasted with spaces around it: the directory reads the DN without them.
    const entry = await access.readEntry(ref.trim(), attributes);
    return entry && hasClass(entry, p.groupClasses) ? [entry] : [];
  }
  const filter = refFilter(ref, p);
  const out: RawEntry[] = [];
  for await (const page of access.search(layout.groupBase, filter, attributes)) out.push(...page);
  return out;
}
