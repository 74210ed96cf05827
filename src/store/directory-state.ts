/**
 * The per-connection state of a directory source (Entra: delta links and the directory as last
 * read). Loaded before a full-scope read, saved in the transaction that applies the run: a
 * failed, held, dry or partial-scope run never moves it.
 */
import { eq } from 'drizzle-orm';
import type { DirectoryState } from '../domain/types.ts';
import type { Executor } from './db.ts';
import { directoryState } from './schema.ts';

export async function loadDirectoryState(db: Executor, connection: string): Promise<DirectoryState | null> {
  const [row] = await db.select().from(directoryState).where(eq(directoryState.connection, connection));
  if (!row) return null;
  return { cursor: row.cursor, cache: row.cache ? new Uint8Array(row.cache) : null };
}

export async function saveDirectoryState(db: Executor, connection: string, state: DirectoryState, runId: number, now: Date): Promise<void> {
  const values = { cursor: { ...state.cursor }, cache: state.cache ? Buffer.from(state.cache) : null, runId, updatedAt: now };
  await db
    .insert(directoryState)
    .values({ connection, ...values })
    .onConflictDoUpdate({ target: directoryState.connection, set: values });
}
