/**
 * Posting and updating Slack messages: chat.postMessage and chat.update where the bot may post,
 * the request's response_url where it may not (a slash command in a channel the bot is not in),
 * ephemeral answers for the clicker alone, and the AlertChannel that posts incidents to
 * subscribed channels and updates the same message (channel + ts) when they are resolved.
 * The Web API client retries after a 429's Retry-After and on 5xx; posts to a response URL
 * (bolt's respond, which does not retry) are retried the same way here.
 */
import type { RespondFn, webApi } from '@slack/bolt';
import type { Logger } from '../../logger.ts';
import { withThrottleRetry } from '../throttle.ts';
import type { ConversationRow } from '../../store/conversations.ts';
import type { AlertChannel } from '../alerts.ts';
import type { View } from '../views/types.ts';
import { renderBlocks } from './blocks.ts';

export interface MessageTarget {
  readonly channel: string;
  /** Answer in the thread the request came from. */
  readonly threadTs: string | null;
}

/** A message that was posted and can be updated in place. */
export interface Posted {
  update(view: View): Promise<void>;
}

/** Slack's error code of a failed Web API call ("not_in_channel"), if it is one. */
export function slackErrorOf(error: unknown): string | null {
  const data = (error as { data?: { error?: unknown } } | null)?.data;
  return typeof data?.error === 'string' ? data.error : null;
}

/** Where the bot cannot post by itself, but the request's response_url can. */
const NOT_POSTABLE = new Set(['not_in_channel', 'channel_not_found', 'is_archived', 'restricted_action']);

/** A message id for the alert store: channel and ts (the ts alone is unique only within its channel). */
export const messageIdOf = (channel: string, ts: string) => `${channel}:${ts}`;

export function parseMessageId(messageId: string, fallbackChannel: string): { channel: string; ts: string } {
  const at = messageId.lastIndexOf(':');
  return at > 0 ? { channel: messageId.slice(0, at), ts: messageId.slice(at + 1) } : { channel: fallbackChannel, ts: messageId };
}

export function createSender(deps: { client: webApi.WebClient; logger: Logger }) {
  const { client, logger } = deps;
  const message = (view: View) => {
    const m = renderBlocks(view);
    return { text: m.text, blocks: m.blocks as webApi.KnownBlock[] };
  };

  /** A post to the request's response URL, retried after a 429's Retry-After and on 5xx. */
  const toResponseUrl = async (respond: RespondFn, body: Parameters<RespondFn>[0]): Promise<void> => {
    await withThrottleRetry(() => respond(body), logger, 3, 'Slack (response URL)');
  };

  const updater = (channel: string, ts: string): Posted => ({
    async update(view: View) {
      await client.chat.update({ channel, ts, ...message(view) });
    },
  });

  const responder = (respond: RespondFn): Posted => ({
    async update(view: View) {
      await toResponseUrl(respond, { replace_original: true, ...message(view) });
    },
  });

  return {
    /** Posts a new message where a command came from. */
    async post(where: MessageTarget, view: View, respond: RespondFn | null): Promise<Posted> {
      try {
        const r = await client.chat.postMessage({ channel: where.channel, ...(where.threadTs ? { thread_ts: where.threadTs } : {}), ...message(view) });
        return updater(r.channel ?? where.channel, r.ts!);
      } catch (error) {
        const code = slackErrorOf(error);
        if (!respond || !code || !NOT_POSTABLE.has(code)) throw error;
        logger.info({ channel: where.channel, error: code }, 'Slack: the bot cannot post here; answering through the response URL');
        await toResponseUrl(respond, { response_type: 'in_channel', replace_original: false, ...message(view) });
        return responder(respond);
      }
    },

    /** Replaces the clicked message: chat.update when it is known, else through the response URL. */
    async replace(target: { channel: string; ts: string } | null, view: View, respond: RespondFn | null): Promise<Posted> {
      if (target) {
        const posted = updater(target.channel, target.ts);
        await posted.update(view);
        return posted;
      }
      if (!respond) throw new Error('Slack sent a click without a message or a response URL; nothing to update');
      const posted = responder(respond);
      await posted.update(view);
      return posted;
    },

    /** An answer only the clicker sees; the message it clicked stays as it is. */
    async ephemeral(where: { channel: string | null; user: string }, view: View, respond: RespondFn | null): Promise<void> {
      if (respond) {
        await toResponseUrl(respond, { response_type: 'ephemeral', replace_original: false, ...message(view) });
        return;
      }
      if (!where.channel) throw new Error('Slack sent a click without a channel or a response URL; the answer cannot be shown');
      await client.chat.postEphemeral({ channel: where.channel, user: where.user, ...message(view) });
    },

    alertChannel: {
      surface: 'slack',
      async post(conversation: ConversationRow, view: View) {
        const channel = String((conversation.reference as { channel?: unknown }).channel ?? conversation.conversationKey);
        const r = await client.chat.postMessage({ channel, ...message(view) });
        if (!r.ts) throw new Error('Slack did not return a message ts for the alert');
        return { messageId: messageIdOf(r.channel ?? channel, r.ts) };
      },
      async update(conversation: ConversationRow, messageId: string, view: View) {
        const { channel, ts } = parseMessageId(messageId, conversation.conversationKey);
        await client.chat.update({ channel, ts, ...message(view) });
      },
    } satisfies AlertChannel,
  };
}
