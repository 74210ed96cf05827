/**
 * The store's generation: a counter that every statement writing what a plan reads (local users
 * and groups, memberships, mappings, group links, duplicates) moves, through statement triggers
 * (migration 0009), by whoever writes: a run of any connection, an admin's decision, an approval.
 * The bump updates one row, so it also orders those writers: a transaction that has bumped holds
 * the row until it commits, and the next writer waits for it.
 *
 * A run reads the generation before it loads the store to plan, and locks it when its apply
 * transaction begins: a different value means the store moved while it planned (another
 * connection created the same people, an admin mapped a user), and the run plans again against
 * the store as it is now. The applying run stores the generation it leaves (`planned_generation`
 * of its directory state): a later run that finds the same value knows nothing it plans from has
 * changed since, and when the directory reports no change either, it has nothing to plan.
 */
import { eq, sql } from 'drizzle-orm';
import type { Executor, Tx } from './db.ts';
import { queryRows } from './db.ts';
import { directoryState } from './schema.ts';

/** The generation now (committed writes only). */
export async function storeGeneration(db: Executor): Promise<number> {
  const [row] = await queryRows<{ n: string }>(db, sql`select n from store_generation`);
  return Number(row!.n);
}

/** Locks the generation for this transaction (writers of the planned tables wait) and returns it. */
export async function lockGeneration(tx: Tx): Promise<number> {
  const [row] = await queryRows<{ n: string }>(tx, sql`select n from store_generation for update`);
  return Number(row!.n);
}

/**
 * What the last applying full-scope run left: its run, the generation after it, the key of the
 * settings it planned with, and the digest of what it read (null when none could be taken).
 */
export interface PlanMark {
  readonly runId: number | null;
  readonly plannedGeneration: number | null;
  readonly planKey: string | null;
  readonly snapshotDigest: string | null;
}

export async function loadPlanMark(db: Executor, connection: string): Promise<PlanMark | null> {
  const [row] = await db
    .select({ runId: directoryState.runId, plannedGeneration: directoryState.plannedGeneration, planKey: directoryState.planKey, snapshotDigest: directoryState.snapshotDigest })
    .from(directoryState)
    .where(eq(directoryState.connection, connection));
  if (!row) return null;
  return { ...row, plannedGeneration: row.plannedGeneration === null ? null : Number(row.plannedGeneration) };
}

/**
 * Records the mark of the applying run `runId`, in the transaction that applied it, after the
 * directory state it keeps (saveDirectoryState). A source that keeps no state gets a row with an
 * empty cursor (which no source takes for its own) to hold the mark.
 */
export async function savePlanMark(tx: Tx, connection: string, runId: number, mark: Omit<PlanMark, 'runId'>, now: Date): Promise<void> {
  const values = { plannedGeneration: mark.plannedGeneration, planKey: mark.planKey, snapshotDigest: mark.snapshotDigest };
  await tx
    .insert(directoryState)
    .values({ connection, cursor: {}, cache: null, runId, updatedAt: now, ...values })
    .onConflictDoUpdate({ target: directoryState.connection, set: { runId, ...values } });
}
