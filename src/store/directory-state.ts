/**
 * The per-connection state of a directory source (Entra: delta links and the directory as last
 * read). Loaded before a full-scope read, saved in the transaction that applies the run: a
 * failed, held, dry or partial-scope run never moves it.
 */
import { eq, sql } from 'drizzle-orm';
import type { DirectoryState } from '../domain/types.ts';
import type { Executor } from './db.ts';
import { directoryState } from './schema.ts';

export async function loadDirectoryState(db: Executor, connection: string): Promise<DirectoryState | null> {
  const [row] = await db.select().from(directoryState).where(eq(directoryState.connection, connection));
  if (!row) return null;
  return { cursor: row.cursor, cache: row.cache ? new Uint8Array(row.cache) : null };
}

export async function saveDirectoryState(db: Executor, connection: string, state: DirectoryState, runId: number, now: Date): Promise<void> {
  const { cache } = state;
  // The cache (megabytes) goes once, as base64 text decoded by the server: postgres.js would send
  // a bytea as hex text (twice its size), copied into several message buffers. The update takes
  // the row proposed (excluded), not the same values as parameters again.
  const cacheText = cache ? Buffer.from(cache.buffer, cache.byteOffset, cache.byteLength).toString('base64') : null;
  await db
    .insert(directoryState)
    .values({ connection, cursor: { ...state.cursor }, cache: cacheText === null ? null : sql`decode(${cacheText}, 'base64')`, runId, updatedAt: now })
    .onConflictDoUpdate({
      target: directoryState.connection,
      set: { cursor: sql`excluded.cursor`, cache: sql`excluded.cache`, runId: sql`excluded.run_id`, updatedAt: sql`excluded.updated_at` },
    });
}

/** The cursor alone, with the cache fetched only if the source asks for it (a read that may find nothing changed). */
export async function loadDirectoryCursor(db: Executor, connection: string): Promise<DirectoryState | null> {
  const [row] = await db.select({ cursor: directoryState.cursor }).from(directoryState).where(eq(directoryState.connection, connection));
  if (!row) return null;
  const loadCache = async () => {
    const [bytes] = await db.select({ cache: directoryState.cache }).from(directoryState).where(eq(directoryState.connection, connection));
    return bytes?.cache ? new Uint8Array(bytes.cache) : null;
  };
  return { cursor: row.cursor, cache: null, loadCache };
}

/** A new cursor for the kept cache (a run that found nothing changed): the cache is not written again. */
export async function saveDirectoryCursor(db: Executor, connection: string, cursor: Readonly<Record<string, unknown>>, runId: number, now: Date): Promise<void> {
  await db.update(directoryState).set({ cursor: { ...cursor }, runId, updatedAt: now }).where(eq(directoryState.connection, connection));
}
