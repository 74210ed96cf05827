/**
 * Transactions and maintenance of the store: callers outside src/store open a transaction here
 * and hand its handle to the store modules' functions, never to a query of their own.
 */
import { sql } from 'drizzle-orm';
import type { Db, Executor, Tx } from './db.ts';

/** Runs `work` in one transaction: committed when it resolves, rolled back when it throws. */
export async function withTransaction<T>(db: Db, work: (tx: Tx) => Promise<T>): Promise<T> {
  return db.transaction(work);
}

/** One round trip to the database: throws when it cannot answer. */
export async function pingStore(db: Executor): Promise<void> {
  await db.execute(sql`select 1`);
}

/**
 * Fresh planner statistics for the tables a sync writes, after a large write. The digests too: the
 * next run joins every mapping with its digest, a join planned for a few hundred digests (a table
 * never analysed) and run over 100,000.
 */
export async function analyzeSyncTables(db: Executor): Promise<void> {
  await db.execute(sql`analyze local_users, local_groups, memberships, mappings, group_links, user_digests, group_digests`);
}
