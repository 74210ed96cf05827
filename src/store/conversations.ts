/**
 * Chat conversations groupsync may post to, kept in the database (never in memory) so alerts
 * reach them after a restart and from any process. The reference is the surface's own data
 * (a Bot Framework conversation reference, a Slack channel id), stored as JSON and opaque here.
 */
import { and, eq, lt, or, sql } from 'drizzle-orm';
import type { Db } from './db.ts';
import { auditLog, conversations } from './schema.ts';

export type Surface = 'teams' | 'slack';
export type ConversationRow = typeof conversations.$inferSelect;

export interface ConversationInput {
  readonly surface: Surface;
  /** Stable key of the conversation on its surface (Teams conversation id, Slack channel id). */
  readonly key: string;
  readonly reference: Record<string, unknown>;
  /** What an admin reads in the audit log ("#alerts in Contoso", "personal chat with Alice"). */
  readonly label?: string;
}

/**
 * Subscribes or unsubscribes a conversation; returns whether it changed. The reference is
 * refreshed either way (a Teams service URL can change).
 */
export async function setSubscription(db: Db, input: ConversationInput, subscribed: boolean, actor: string, now: Date): Promise<{ changed: boolean }> {
  return db.transaction(async (tx) => {
    const [current] = await tx
      .select()
      .from(conversations)
      .where(and(eq(conversations.surface, input.surface), eq(conversations.conversationKey, input.key)))
      .for('update');
    const changed = (current?.subscribed ?? false) !== subscribed;
    await tx
      .insert(conversations)
      .values({ surface: input.surface, conversationKey: input.key, reference: input.reference, subscribed, updatedBy: actor, createdAt: now, updatedAt: now })
      .onConflictDoUpdate({
        target: [conversations.surface, conversations.conversationKey],
        set: { reference: input.reference, subscribed, updatedBy: actor, updatedAt: now },
      });
    if (changed) {
      await tx.insert(auditLog).values({
        at: now,
        actor,
        action: subscribed ? 'alerts.subscribed' : 'alerts.unsubscribed',
        connection: null,
        runId: null,
        targetType: 'conversation',
        targetId: `${input.surface}:${input.key}`,
        before: { subscribed: current?.subscribed ?? false },
        after: { subscribed, ...(input.label ? { label: input.label } : {}) },
      });
    }
    return { changed };
  });
}

export async function listSubscribed(db: Db, surface: Surface): Promise<ConversationRow[]> {
  return db
    .select()
    .from(conversations)
    .where(and(eq(conversations.surface, surface), eq(conversations.subscribed, true)))
    .orderBy(conversations.id);
}

export async function getConversation(db: Db, id: number): Promise<ConversationRow | null> {
  const [row] = await db.select().from(conversations).where(eq(conversations.id, id));
  return row ?? null;
}

/**
 * Takes one of a conversation's alert posts in the current window (which starts at the first
 * post and lasts `windowMs`): true when taken, false when `cap` posts were already made in it.
 * One conditional UPDATE, so processes sharing the database share the cap.
 */
export async function claimAlertPost(db: Db, id: number, now: Date, cap: { readonly posts: number; readonly windowMs: number }): Promise<boolean> {
  const cutoff = new Date(now.getTime() - cap.windowMs).toISOString();
  const expired = sql`(${conversations.alertWindowStart} is null or ${conversations.alertWindowStart} <= ${cutoff}::timestamptz)`;
  const [row] = await db
    .update(conversations)
    .set({
      alertPosts: sql`case when ${expired} then 1 else ${conversations.alertPosts} + 1 end`,
      alertWindowStart: sql`case when ${expired} then ${now.toISOString()}::timestamptz else ${conversations.alertWindowStart} end`,
      alertOverflow: sql`case when ${expired} then null else ${conversations.alertOverflow} end`,
    })
    .where(and(eq(conversations.id, id), or(expired, lt(conversations.alertPosts, cap.posts))))
    .returning({ id: conversations.id });
  return row !== undefined;
}

/**
 * Counts one alert not posted to a conversation over its cap; returns the window's count and
 * its "N more alerts" message, if one was posted already (null: post it, then record it).
 */
export async function countAlertOverflow(db: Db, id: number): Promise<{ count: number; messageId: string | null }> {
  const [row] = await db
    .update(conversations)
    .set({
      alertOverflow: sql`jsonb_build_object('messageId', ${conversations.alertOverflow}->'messageId', 'count', coalesce((${conversations.alertOverflow}->>'count')::int, 0) + 1)`,
    })
    .where(eq(conversations.id, id))
    .returning({ overflow: conversations.alertOverflow });
  const overflow = row?.overflow ?? null;
  return { count: overflow?.count ?? 1, messageId: overflow?.messageId ?? null };
}

/** Records the "N more alerts" message of a conversation's current window. */
export async function setAlertOverflowMessage(db: Db, id: number, messageId: string): Promise<void> {
  await db
    .update(conversations)
    .set({ alertOverflow: sql`jsonb_set(coalesce(${conversations.alertOverflow}, '{"count": 1}'::jsonb), '{messageId}', to_jsonb(${messageId}::text))` })
    .where(eq(conversations.id, id));
}
