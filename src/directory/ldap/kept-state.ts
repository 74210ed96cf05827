/**
 * The kept state of an incremental LDAP read: the tracked entries (entry-cache.ts) and the
 * snapshot built from them (snapshot.ts), in one compressed container (codec.ts), stored with the
 * run that applied.
 */
import { gunzipSync } from 'node:zlib';
import { Reader, Writer } from './codec.ts';
import { CACHE_VERSION, EntryCache } from './entry-cache.ts';
import { type KeptSnapshot, decodeSnapshot, encodeSnapshot } from './snapshot.ts';

export interface KeptState {
  readonly cache: EntryCache;
  readonly snapshot: KeptSnapshot | null;
}

/** The kept state: the entries and the snapshot in one compressed container (codec.ts). */
export async function encodeState(cache: EntryCache, snapshot: KeptSnapshot | null): Promise<Uint8Array> {
  const w = new Writer();
  w.json({ v: CACHE_VERSION, snapshot: snapshot !== null });
  cache.write(w);
  if (snapshot) encodeSnapshot(w, snapshot);
  return w.gzip();
}

/** The kept state, or null when it is missing, unreadable or from another version (then: a full read). */
export function decodeState(bytes: Uint8Array | null): KeptState | null {
  if (!bytes) return null;
  try {
    const r = new Reader(gunzipSync(bytes));
    const head = r.json<{ v: number; snapshot: boolean }>();
    if (head.v !== CACHE_VERSION) return null;
    const cache = EntryCache.read(r);
    return { cache, snapshot: head.snapshot ? decodeSnapshot(r) : null };
  } catch {
    return null;
  }
}
