/** Who opened the Slack Home tab, and when it was last published for them. */
import { eq, gte } from 'drizzle-orm';
import type { Executor } from './db.ts';
import { slackHomeUsers } from './schema.ts';

/** Remembers that a user opened the Home tab now. */
export async function recordHomeOpened(db: Executor, userId: string, at: Date): Promise<void> {
  await db.insert(slackHomeUsers).values({ userId, openedAt: at }).onConflictDoUpdate({ target: slackHomeUsers.userId, set: { openedAt: at } });
}

export async function setHomePublished(db: Executor, userId: string, at: Date): Promise<void> {
  await db.update(slackHomeUsers).set({ publishedAt: at }).where(eq(slackHomeUsers.userId, userId));
}

/** The users who opened the Home tab since `since`. */
export async function listHomeUsers(db: Executor, since: Date): Promise<string[]> {
  const rows = await db.select({ userId: slackHomeUsers.userId }).from(slackHomeUsers).where(gte(slackHomeUsers.openedAt, since)).orderBy(slackHomeUsers.userId);
  return rows.map((r) => r.userId);
}
