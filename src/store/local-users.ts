/** Local users: the accounts groupsync provisions (never deleted, only deactivated). */
import { eq, inArray, sql } from 'drizzle-orm';
import type { Executor } from './db.ts';
import { localUsers } from './schema.ts';

export type LocalUserRow = typeof localUsers.$inferSelect;

/** Local users whose id (`12`, `#12`) is `ref`, or whose login or mail is, in any case; at most `limit`. */
export async function findLocalUsers(db: Executor, ref: string, limit: number): Promise<LocalUserRow[]> {
  const id = /^#?\d+$/.test(ref) ? Number(ref.replace('#', '')) : null;
  return db
    .select()
    .from(localUsers)
    .where(id !== null ? eq(localUsers.id, id) : sql`(lower(${localUsers.login}) = lower(${ref}) or lower(${localUsers.mail}) = lower(${ref}))`)
    .limit(limit);
}

export async function getLocalUsers(db: Executor, ids: readonly number[]): Promise<LocalUserRow[]> {
  if (!ids.length) return [];
  return db.select().from(localUsers).where(inArray(localUsers.id, [...ids]));
}
