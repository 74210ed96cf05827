/**
 * A connection's schedule state: the next run, consecutive failures and quarantine. A due slot
 * is claimed with one conditional UPDATE, so with several processes on one database exactly one
 * runs it.
 */
import { and, eq, sql } from 'drizzle-orm';
import type { Executor } from './db.ts';
import { connections } from './schema.ts';

export interface NextRun {
  readonly nextRunAt: Date;
  readonly scheduleKey: string;
}

/** After a success (or a held run): failures reset, quarantine lifted, and the next run when given. */
export async function recordScheduleSuccess(db: Executor, connection: string, next: NextRun | null): Promise<void> {
  await db
    .update(connections)
    .set({ consecutiveFailures: 0, quarantinedAt: null, ...(next ?? {}) })
    .where(eq(connections.name, connection));
}

/** Counts one more consecutive failure; returns the count and when the connection was quarantined (null: it is not). */
export async function countScheduleFailure(db: Executor, connection: string): Promise<{ failures: number; quarantinedAt: Date | null } | null> {
  const [row] = await db
    .update(connections)
    .set({ consecutiveFailures: sql`${connections.consecutiveFailures} + 1` })
    .where(eq(connections.name, connection))
    .returning({ failures: connections.consecutiveFailures, quarantinedAt: connections.quarantinedAt });
  return row ?? null;
}

/** After a failure: the retry time and the quarantine; `failures` when an admin's run resets the count. */
export async function recordScheduleFailure(db: Executor, connection: string, state: NextRun & { quarantinedAt: Date | null; failures?: number }): Promise<void> {
  const { failures, ...rest } = state;
  await db
    .update(connections)
    .set({ ...rest, ...(failures === undefined ? {} : { consecutiveFailures: failures }) })
    .where(eq(connections.name, connection));
}

/**
 * Claims the due slot `due` of a connection by moving its next run on: true only for the process
 * whose UPDATE still saw `due`.
 */
export async function claimDueRun(db: Executor, connection: string, due: Date, next: NextRun): Promise<boolean> {
  const claimed = await db
    .update(connections)
    .set(next)
    .where(and(eq(connections.name, connection), eq(connections.nextRunAt, due)))
    .returning({ name: connections.name });
  return claimed.length > 0;
}
