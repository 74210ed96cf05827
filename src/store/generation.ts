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

/** What the last applying full-scope run left: its run, the generation after it, the key of the settings it planned with. */
export interface PlanMark {
  readonly runId: number | null;
  readonly plannedGeneration: number | null;
  readonly planKey: string | null;
}

export async function loadPlanMark(db: Executor, connection: string): Promise<PlanMark | null> {
  const [row] = await db
    .select({ runId: directoryState.runId, plannedGeneration: directoryState.plannedGeneration, planKey: directoryState.planKey })
    .from(directoryState)
    .where(eq(directoryState.connection, connection));
  return row ? { runId: row.runId, plannedGeneration: row.plannedGeneration === null ? null : Number(row.plannedGeneration), planKey: row.planKey } : null;
}

/** Records the mark with the directory state saved by the same transaction (saveDirectoryState first). */
export async function savePlanMark(tx: Tx, connection: string, mark: { plannedGeneration: number | null; planKey: string }): Promise<void> {
  await tx.update(directoryState).set({ plannedGeneration: mark.plannedGeneration, planKey: mark.planKey }).where(eq(directoryState.connection, connection));
}
