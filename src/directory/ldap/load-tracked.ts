/** The full read of an incremental LDAP source: every tracked entry, into a new entry cache. */
import type { ReadProgress } from '../../domain/types.ts';
import type { EntryCache } from './entry-cache.ts';
import { EntryCacheBuilder } from './entry-cache-builder.ts';
import type { TrackedSet } from './cursor.ts';
import type { EntryAccess, ReadLayout } from './read.ts';
import { type RawEntry, type RawValue, memberChunks, stableId } from './transform.ts';

/**
 * Every tracked entry, paged, into a new cache (as columns: no entry object is kept); a member
 * list the server cut in ranges (AD) is read to its end.
 */
export async function loadTracked(server: EntryAccess, tracked: TrackedSet, layout: ReadLayout, onProgress?: (progress: ReadProgress) => void): Promise<EntryCache> {
  const p = layout.profile;
  const builder = new EntryCacheBuilder(p.member);
  for await (const page of server.search(tracked.base, tracked.filter, tracked.attributes)) {
    for (const entry of page) {
      const id = stableId(entry, p);
      if (id) builder.add(id, await completeMembers(server, entry, p.member));
    }
    onProgress?.({ phase: 'users', count: builder.size });
  }
  return builder.build();
}

async function completeMembers(server: EntryAccess, entry: RawEntry, memberAttributes: readonly string[]): Promise<RawEntry> {
  const chunks = memberChunks(entry, memberAttributes);
  if (![...chunks.values()].some((c) => c.nextStart !== null)) return entry;
  const attrs = new Map<string, readonly RawValue[]>();
  for (const [name, values] of entry.attrs) if (!name.includes(';range=')) attrs.set(name, values);
  for (const [attribute, chunk] of chunks) {
    const values: string[] = [...chunk.values];
    let next = chunk.nextStart;
    while (next !== null) {
      const more = await server.readEntry(entry.dn, [`${attribute};range=${next}-*`]);
      const part = more ? memberChunks(more, [attribute]).get(attribute) : undefined;
      if (!part || part.values.length === 0) break;
      values.push(...part.values);
      next = part.nextStart;
    }
    attrs.set(attribute, values);
  }
  return { dn: entry.dn, attrs };
}
