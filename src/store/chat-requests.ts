/**
 * Once-only chat requests: a request's key (a digest of a signed Slack request, a Slack event id,
 * a Teams activity id) is claimed in the store before the request is acted on. Kept for an hour,
 * longer than Slack's window for a signed request (five minutes either way) and its event
 * retries, so a replay or a retry reaching any process of the service finds it claimed.
 */
import { lt } from 'drizzle-orm';
import type { Db } from './db.ts';
import { chatRequests } from './schema.ts';

export const CHAT_REQUEST_RETENTION_MS = 60 * 60 * 1000;

/** True the first time `key` is claimed; false when it was claimed already (a replay or a retry). */
export async function claimChatRequest(db: Db, key: string, now: Date): Promise<boolean> {
  await db.delete(chatRequests).where(lt(chatRequests.seenAt, new Date(now.getTime() - CHAT_REQUEST_RETENTION_MS)));
  const rows = await db.insert(chatRequests).values({ key, seenAt: now }).onConflictDoNothing().returning({ key: chatRequests.key });
  return rows.length > 0;
}
