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

/**
 * Claims a request's keys (one statement, after expired keys are pruned): true when none was
 * claimed before; false when one was (a replay or a retry), the new ones being claimed now.
 */
export async function claimChatRequest(db: Db, keys: readonly string[], now: Date): Promise<boolean> {
  await db.delete(chatRequests).where(lt(chatRequests.seenAt, new Date(now.getTime() - CHAT_REQUEST_RETENTION_MS)));
  const rows = await db.insert(chatRequests).values(keys.map((key) => ({ key, seenAt: now }))).onConflictDoNothing().returning({ key: chatRequests.key });
  return rows.length === keys.length;
}
