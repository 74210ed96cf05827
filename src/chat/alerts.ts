/**
 * Alert delivery: the incident policy (notify/incidents.ts) says when; this says where. Each
 * incident is posted once to every subscribed conversation of every surface, and where it was
 * posted is stored on the incident, so recovery updates the same card even after a restart or
 * from another process. Surfaces plug in as AlertChannels; no chat framework type here.
 */
import { eq } from 'drizzle-orm';
import { describeError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { AlertSink, IncidentRow } from '../notify/incidents.ts';
import { type ConversationRow, type Surface, getConversation, listSubscribed } from '../store/conversations.ts';
import type { Db } from '../store/db.ts';
import { incidents } from '../store/schema.ts';
import { buildAlert } from './views/incidents.ts';
import type { View } from './views/types.ts';

/** One surface's way to post and update a message in a stored conversation. */
export interface AlertChannel {
  readonly surface: Surface;
  /** Posts the view; returns the id the message can be updated by. */
  post(conversation: ConversationRow, view: View): Promise<{ messageId: string }>;
  update(conversation: ConversationRow, messageId: string, view: View): Promise<void>;
}

export type Delivery = {
  readonly surface: Surface;
  readonly conversationId: number;
  readonly messageId: string;
  readonly at: string;
};

export class ChatAlerts implements AlertSink {
  readonly #db: Db;
  readonly #logger: Logger;
  readonly #channels: AlertChannel[] = [];

  constructor(deps: { db: Db; logger: Logger }) {
    this.#db = deps.db;
    this.#logger = deps.logger;
  }

  register(channel: AlertChannel): void {
    this.#channels.push(channel);
  }

  async opened(incident: IncidentRow): Promise<void> {
    const view = buildAlert(incident);
    const deliveries: Delivery[] = [];
    for (const channel of this.#channels) {
      for (const conversation of await listSubscribed(this.#db, channel.surface)) {
        try {
          const { messageId } = await channel.post(conversation, view);
          deliveries.push({ surface: channel.surface, conversationId: conversation.id, messageId, at: new Date().toISOString() });
        } catch (error) {
          // One unreachable conversation must not keep the alert from the others.
          this.#logger.error({ incident: incident.id, surface: channel.surface, conversation: conversation.id, err: describeError(error) }, 'alert not delivered');
        }
      }
    }
    if (deliveries.length) await this.#db.update(incidents).set({ deliveries }).where(eq(incidents.id, incident.id));
    this.#logger.info({ incident: incident.id, cause: incident.cause, deliveries: deliveries.length }, 'alert posted');
  }

  async resolved(incident: IncidentRow): Promise<void> {
    const view = buildAlert(incident);
    // The row returned by resolve() carries the deliveries recorded when it opened.
    const deliveries = (incident.deliveries ?? []) as unknown as Delivery[];
    for (const d of deliveries) {
      const channel = this.#channels.find((c) => c.surface === d.surface);
      const conversation = channel ? await getConversation(this.#db, d.conversationId) : null;
      if (!channel || !conversation) continue;
      try {
        await channel.update(conversation, d.messageId, view);
      } catch (error) {
        this.#logger.error({ incident: incident.id, surface: d.surface, conversation: d.conversationId, err: describeError(error) }, 'resolved alert not updated');
      }
    }
    this.#logger.info({ incident: incident.id, cause: incident.cause, updated: deliveries.length }, 'alert resolved');
  }
}
