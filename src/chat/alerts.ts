/**
 * Alert delivery: the incident policy (notify/incidents.ts) says when; this says where. Each
 * incident is posted once to every subscribed conversation of every surface, and where it was
 * posted is stored on the incident, so a change (links joining or leaving a grouped alert) and
 * recovery update the same card even after a restart or from another process. Surfaces plug in
 * as AlertChannels; no chat framework type here.
 *
 * A cap keeps a conversation from being flooded: at most `cap.posts` new alert messages per
 * window (a minute); beyond it, one "N more alerts" message per window, updated in place as N
 * grows. Updates of posted alerts are never capped: they add no message.
 */
import { describeError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { AlertSink, IncidentRow } from '../notify/incidents.ts';
import { type ConversationRow, type Surface, claimAlertPost, countAlertOverflow, getConversation, listSubscribed, setAlertOverflowMessage } from '../store/conversations.ts';
import type { Db } from '../store/db.ts';
import { setIncidentDeliveries } from '../store/incidents.ts';
import { failureContext } from '../ops/read.ts';
import { buildAlert, buildAlertOverflow } from './views/incidents.ts';
import type { View } from './views/types.ts';

/** New alert messages per conversation and window; see README "Schedule, health and alerts". */
export interface AlertCap {
  readonly posts: number;
  readonly windowMs: number;
}

export const DEFAULT_ALERT_CAP: AlertCap = { posts: 5, windowMs: 60_000 };

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
  readonly #cap: AlertCap;
  readonly #now: () => Date;

  constructor(deps: { db: Db; logger: Logger; cap?: AlertCap; now?: () => Date }) {
    this.#db = deps.db;
    this.#logger = deps.logger;
    this.#cap = deps.cap ?? DEFAULT_ALERT_CAP;
    this.#now = deps.now ?? (() => new Date());
  }

  register(channel: AlertChannel): void {
    this.#channels.push(channel);
  }

  async opened(incident: IncidentRow): Promise<void> {
    const view = buildAlert(incident, await failureContext({ db: this.#db }, incident.connection));
    const deliveries: Delivery[] = [];
    let capped = 0;
    for (const channel of this.#channels) {
      for (const conversation of await listSubscribed(this.#db, channel.surface)) {
        try {
          if (!(await claimAlertPost(this.#db, conversation.id, this.#now(), this.#cap))) {
            capped++;
            await this.#overflow(channel, conversation);
            continue;
          }
          const { messageId } = await channel.post(conversation, view);
          deliveries.push({ surface: channel.surface, conversationId: conversation.id, messageId, at: this.#now().toISOString() });
        } catch (error) {
          // One unreachable conversation must not keep the alert from the others.
          this.#logger.error({ incident: incident.id, surface: channel.surface, conversation: conversation.id, err: describeError(error) }, 'alert not delivered');
        }
      }
    }
    if (deliveries.length) await setIncidentDeliveries(this.#db, incident.id, deliveries);
    this.#logger.info({ incident: incident.id, cause: incident.cause, deliveries: deliveries.length, capped }, 'alert posted');
  }

  /** An alert over the conversation's cap: counted on the window's "N more alerts" message. */
  async #overflow(channel: AlertChannel, conversation: ConversationRow): Promise<void> {
    const { count, messageId } = await countAlertOverflow(this.#db, conversation.id);
    const view = buildAlertOverflow(count, this.#cap);
    if (messageId) {
      await channel.update(conversation, messageId, view);
      return;
    }
    const posted = await channel.post(conversation, view);
    await setAlertOverflowMessage(this.#db, conversation.id, posted.messageId);
  }

  async updated(incident: IncidentRow): Promise<void> {
    await this.#updateDeliveries(incident, 'alert not updated');
    this.#logger.info({ incident: incident.id, cause: incident.cause, version: incident.version }, 'alert updated');
  }

  async resolved(incident: IncidentRow): Promise<void> {
    const updated = await this.#updateDeliveries(incident, 'resolved alert not updated');
    this.#logger.info({ incident: incident.id, cause: incident.cause, updated }, 'alert resolved');
  }

  /** Rewrites every posted card of the incident with its current view; returns how many. */
  async #updateDeliveries(incident: IncidentRow, failure: string): Promise<number> {
    const view = buildAlert(incident, incident.status === 'open' ? await failureContext({ db: this.#db }, incident.connection) : undefined);
    // The row carries the deliveries recorded when it opened.
    const deliveries = (incident.deliveries ?? []) as unknown as Delivery[];
    for (const d of deliveries) {
      const channel = this.#channels.find((c) => c.surface === d.surface);
      const conversation = channel ? await getConversation(this.#db, d.conversationId) : null;
      if (!channel || !conversation) continue;
      try {
        await channel.update(conversation, d.messageId, view);
      } catch (error) {
        this.#logger.error({ incident: incident.id, surface: d.surface, conversation: d.conversationId, err: describeError(error) }, failure);
      }
    }
    return deliveries.length;
  }
}
