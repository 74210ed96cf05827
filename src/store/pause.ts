/** A connection paused by an admin: kept on its row, so every process and every restart sees it. */
import { eq } from 'drizzle-orm';
import type { Executor } from './db.ts';
import { connections } from './schema.ts';

export interface PauseState {
  readonly at: Date;
  readonly by: string;
}

export async function getPause(db: Executor, connection: string): Promise<PauseState | null> {
  const [row] = await db.select({ at: connections.pausedAt, by: connections.pausedBy }).from(connections).where(eq(connections.name, connection));
  return row?.at ? { at: row.at, by: row.by ?? 'unknown' } : null;
}

/** Locks the connection's row and returns its pause state, for a change in the same transaction. */
export async function lockPause(tx: Executor, connection: string): Promise<PauseState | null> {
  const [row] = await tx.select({ at: connections.pausedAt, by: connections.pausedBy }).from(connections).where(eq(connections.name, connection)).for('update');
  return row?.at ? { at: row.at, by: row.by ?? 'unknown' } : null;
}

/** Pauses (a state) or resumes (null) a connection. */
export async function setPause(tx: Executor, connection: string, pause: PauseState | null): Promise<void> {
  await tx
    .update(connections)
    .set({ pausedAt: pause?.at ?? null, pausedBy: pause?.by ?? null })
    .where(eq(connections.name, connection));
}
