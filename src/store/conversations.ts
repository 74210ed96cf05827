/**
 * Chat conversations groupsync may post to, kept in the database (never in memory) so alerts
 * reach them after a restart and from any process. The reference is the surface's own data
 * (a Bot Framework conversation reference, a Slack channel id), stored as JSON and opaque here.
 */
import { and, eq } from 'drizzle-orm';
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
