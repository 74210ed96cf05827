/**
 * The Slack surface: a bolt App whose slash command (/groupsync), app mentions, direct messages
 * and button clicks go to the shared command layer; views come back as Block Kit. HTTP mode
 * mounts bolt's HTTPReceiver on the process's one HTTP server at POST /slack/events, behind a gate
 * (verify.ts: 1 MB cap, signature, timestamp within five minutes either way, once per signed
 * request); Socket Mode connects out with the app token instead.
 * Every request is acknowledged first, within Slack's 3 seconds, and the work runs after it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { App, type BlockAction, HTTPReceiver, type Receiver, type RespondFn, type SlackCommandMiddlewareArgs, SocketModeReceiver, type webApi } from '@slack/bolt';
import type { SlackConfig } from '../../config.ts';
import { describeError } from '../../errors.ts';
import type { Route } from '../../http.ts';
import type { Logger } from '../../logger.ts';
import type { ConversationInput } from '../../store/conversations.ts';
import type { Db } from '../../store/db.ts';
import type { AlertChannel } from '../alerts.ts';
import type { ChatUser } from '../auth.ts';
import type { Reply } from '../commands/context.ts';
import type { ChatService, Invocation } from '../service.ts';
import type { View } from '../views/types.ts';
import { pickOfBlockId, verbOfActionId } from './blocks.ts';
import { type HomePublisher, createHomePublisher } from './home.ts';
import { boltLogger } from './logger.ts';
import { type MessageTarget, type Posted, createSender } from './send.ts';
import { commandTextOf } from './text.ts';
import { admitSlackRequest } from './verify.ts';

export const SLACK_EVENTS_PATH = '/slack/events';

const clipText = (text: string, max: number) => (text.length <= max ? text : `${text.slice(0, max - 1)}…`);

/** A choice of a search list: the list's data (from its block_id) with the chosen value in its field. */
function pickedData(a: { block_id?: string; selected_option?: { value?: string } }): unknown {
  const pick = pickOfBlockId(a.block_id);
  return pick ? { ...pick.data, pickField: pick.field, [pick.field]: a.selected_option?.value ?? '' } : null;
}
export const SLASH_COMMAND = '/groupsync';

export interface SlackSurfaceDeps {
  readonly config: SlackConfig;
  readonly chat: ChatService;
  readonly logger: Logger;
  /** The store, where requests already acted on are remembered (HTTP mode). */
  readonly db: Db;
  /** Retry policy of the Web API client (tests shorten it); Retry-After of a 429 is always honoured. */
  readonly retry?: webApi.RetryOptions;
  /** The App Home's refresh window per user (slack/home.ts); tests shorten it. */
  readonly homeThrottleMs?: number;
}

export interface SlackSurface {
  readonly mode: SlackConfig['mode'];
  /** HTTP mode: POST /slack/events for the shared server; null in Socket Mode. */
  readonly route: Route | null;
  readonly channel: AlertChannel;
  /** The App Home: `changed()` refreshes the homes opened lately (throttled). */
  readonly home: Pick<HomePublisher, 'changed'>;
  /** Checks the bot token (auth.test, which also tells bolt the bot's own user id) and, in Socket Mode, connects. */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Work started by a request after its acknowledgement (replies, clicks, sync follow-ups). */
  idle(): Promise<void>;
}

/** Five retries, first after ~0.5 s, for network errors and 5xx; a 429 waits its Retry-After first. */
const DEFAULT_RETRY: webApi.RetryOptions = { retries: 5, factor: 2, minTimeout: 500, maxTimeout: 30_000, randomize: true };

type Profile = { name: string | null; email: string | null };

export function createSlackSurface(deps: SlackSurfaceDeps): SlackSurface {
  const { config, chat } = deps;
  const logger = deps.logger.child({ surface: 'slack' });
  const bolt = boltLogger(logger);
  const clientOptions: webApi.WebClientOptions = { retryConfig: deps.retry ?? DEFAULT_RETRY, ...(config.apiUrl ? { slackApiUrl: config.apiUrl } : {}) };

  let receiver: Receiver;
  let httpReceiver: HTTPReceiver | null = null;
  if (config.mode === 'socket') {
    if (!config.appToken) throw new Error('Slack Socket Mode needs the app-level token (SLACK_APP_TOKEN, xapp-…)');
    receiver = new SocketModeReceiver({ appToken: config.appToken, logger: bolt, installerOptions: { clientOptions } });
  } else {
    if (!config.signingSecret) throw new Error('Slack HTTP mode needs the signing secret (SLACK_SIGNING_SECRET) to verify requests');
    httpReceiver = new HTTPReceiver({ signingSecret: config.signingSecret, endpoints: [SLACK_EVENTS_PATH], logger: bolt, signatureVerification: true });
    receiver = httpReceiver;
  }
  const app = new App({
    token: config.botToken,
    receiver,
    logger: bolt,
    clientOptions,
    // auth.test runs in start(), where a bad token fails loudly, not in the constructor's background.
    deferInitialization: true,
  });
  const client = app.client;
  const send = createSender({ client, logger });

  const background = new Set<Promise<void>>();
  const track = (what: string, work: () => Promise<void>) => {
    const p: Promise<void> = work()
      .catch((error: unknown) => logger.error({ err: describeError(error), what }, 'Slack request failed after its acknowledgement'))
      .finally(() => background.delete(p));
    background.add(p);
  };
  // The receiver hands each verified request to app.processEvent, which acknowledges it and runs
  // the listeners; tracking it too means idle() also covers a request whose listener has not yet
  // started its work when Slack (or a test) already has the acknowledgement.
  const processEvent = app.processEvent.bind(app);
  receiver.init(
    Object.assign(Object.create(app) as App, {
      processEvent: (event: Parameters<App['processEvent']>[0]) => {
        const p = processEvent(event);
        track('request', () => p.catch(() => {})); // bolt's receiver reports its errors
        return p;
      },
    }),
  );

  // Names and mail of Slack users, from users.info: names for the audit actor of events (which
  // carry only the id), mail when an admin directory group decides. Kept ten minutes.
  const profiles = new Map<string, { at: number; profile: Promise<Profile> }>();
  const profileOf = (userId: string): Promise<Profile> => {
    const cached = profiles.get(userId);
    if (cached && Date.now() - cached.at < 600_000) return cached.profile;
    const profile = client.users
      .info({ user: userId })
      .then((r) => ({ name: r.user?.real_name || r.user?.name || null, email: r.user?.profile?.email ?? null }))
      .catch((error: unknown) => {
        logger.warn({ user: userId, err: describeError(error) }, 'users.info failed; the user is known by id only');
        profiles.delete(userId);
        return { name: null, email: null };
      });
    profiles.set(userId, { at: Date.now(), profile });
    return profile;
  };

  const userOf = async (id: string, name: string | null): Promise<ChatUser> => ({
    surface: 'slack',
    id,
    aadObjectId: null,
    name: name ?? (await profileOf(id)).name,
    email: async () => (await profileOf(id)).email,
  });

  const conversationOf = (channel: string, team: string | null, label: string): ConversationInput => ({
    surface: 'slack',
    key: channel,
    reference: { channel, ...(team ? { team } : {}) },
    label,
  });

  /**
   * Posts a reply where the request came from, then lets its follow-up update that message. When
   * the first post fails, the follow-up (a sync) runs all the same: its first update posts a new
   * message there, and the later ones update that one.
   */
  const answer = (reply: Reply, where: MessageTarget, respond: RespondFn | null): Promise<void> =>
    showThenFollow(reply, () => send.post(where, reply.view, respond), where, respond);

  /**
   * Shows a reply with `show` (a post, or the clicked message replaced), then runs its follow-up
   * against it. When `show` fails and there is a follow-up, the work goes on all the same, and its
   * first view is posted as a new message at `where` (the later ones update that one).
   */
  const showThenFollow = async (reply: Reply, show: () => Promise<Posted>, where: MessageTarget | null, respond: RespondFn | null): Promise<void> => {
    let shown: Posted | null = null;
    try {
      shown = await show();
    } catch (error) {
      if (!reply.followUp || !where) throw error;
      logger.warn({ channel: where.channel, err: describeError(error) }, 'Slack: the answer could not be shown; the work goes on and its next view is posted as a new message');
    }
    if (reply.followUp) await reply.followUp(updateOrPost(shown, where!, respond));
  };

  /** Updates the posted message; with none (its post failed), posts one first. */
  const updateOrPost = (posted: Posted | null, where: MessageTarget, respond: RespondFn | null) => async (view: View) => {
    if (posted) return posted.update(view);
    posted = await send.post(where, view, respond);
  };

  // Events are acknowledged by bolt before the listener runs; Slack retries one it thinks was
  // lost, so an event id seen already is not handled twice. In HTTP mode the gate (verify.ts)
  // already refuses it across processes (the id is claimed in the store); this in-process set
  // is what Socket Mode has.
  const seenEvents = new Set<string>();
  const firstTime = (eventId: unknown): boolean => {
    if (typeof eventId !== 'string') return true;
    if (seenEvents.has(eventId)) return false;
    seenEvents.add(eventId);
    if (seenEvents.size > 1000) seenEvents.delete(seenEvents.values().next().value!);
    return true;
  };

  app.command(SLASH_COMMAND, async ({ ack, command, respond }: SlackCommandMiddlewareArgs) => {
    await ack();
    track('slash command', async () => {
      const dm = command.channel_name === 'directmessage' || command.channel_id.startsWith('D');
      const label = dm ? `direct message with ${command.user_name}` : command.channel_name === 'privategroup' ? `private channel ${command.channel_id}` : `#${command.channel_name}`;
      const invocation: Invocation = {
        user: await userOf(command.user_id, command.user_name || null),
        conversation: conversationOf(command.channel_id, command.team_id || null, label),
      };
      const reply = await chat.handleText(invocation, command.text ?? '');
      await answer(reply, { channel: command.channel_id, threadTs: null }, respond);
    });
  });

  const onMessage = async (event: { user?: string; text?: string; channel: string; ts: string; thread_ts?: string; team?: string }, label: string) => {
    if (!event.user) return;
    const invocation: Invocation = { user: await userOf(event.user, null), conversation: conversationOf(event.channel, event.team ?? null, label) };
    const reply = await chat.handleText(invocation, commandTextOf(event.text ?? ''));
    await answer(reply, { channel: event.channel, threadTs: event.thread_ts ?? null }, null);
  };

  const home = createHomePublisher({ client, chat, db: deps.db, logger, userOf: (id) => userOf(id, null), track, ...(deps.homeThrottleMs ? { throttleMs: deps.homeThrottleMs } : {}) });

  app.event('app_home_opened', async ({ event, body }) => {
    if (event.tab !== 'home' || !firstTime(body.event_id)) return;
    track('home opened', () => home.opened(event.user));
  });

  app.event('app_mention', async ({ event, body }) => {
    // A mention in a direct message also arrives as message.im, which answers it.
    if (event.channel.startsWith('D') || !firstTime(body.event_id)) return;
    track('app mention', () => onMessage(event, `channel ${event.channel}`));
  });

  app.event('message', async ({ event, body }) => {
    const m = event as { channel_type?: string; subtype?: string; bot_id?: string; user?: string; text?: string; channel: string; ts: string; thread_ts?: string; team?: string };
    // Only what a person typed in a direct message to the bot: no edits, joins or bot messages.
    if (m.channel_type !== 'im' || m.subtype || m.bot_id || !firstTime(body.event_id)) return;
    track('direct message', () => onMessage(m, `direct message with ${m.user ?? 'unknown'}`));
  });

  app.action<BlockAction>(/.+/, async ({ ack, body, action, respond }) => {
    await ack();
    track('button', async () => {
      const a = action as { action_id: string; value?: string; block_id?: string; type?: string; selected_option?: { value?: string } };
      const verb = verbOfActionId(a.action_id);
      let data: unknown;
      try {
        data = a.type === 'external_select' ? pickedData(a) : a.value ? JSON.parse(a.value) : {};
      } catch {
        data = null; // the shared layer answers "sent data I cannot use"
      }
      if (body.view?.type === 'home') {
        // A click on the App Home: no message to update; a list or a run goes to the user's direct message with the app.
        const user = await userOf(body.user.id, body.user.name || body.user.username || null);
        await home.clicked(user, verb, data, (reply) => answer(reply, { channel: body.user.id, threadTs: null }, null));
        return;
      }
      const channel = body.channel?.id ?? body.container?.channel_id ?? null;
      const invocation: Invocation = {
        user: await userOf(body.user.id, body.user.name || body.user.username || null),
        conversation: channel ? conversationOf(channel, body.team?.id ?? null, body.channel?.name ? `#${body.channel.name}` : `channel ${channel}`) : null,
      };
      const reply = await chat.handleAction(invocation, verb, data);
      if (!reply.replace) {
        // Only for the clicker (a refusal): the message stays as it is.
        await send.ephemeral({ channel, user: body.user.id }, reply.view, respond);
        return;
      }
      if (reply.asNewMessage && channel) {
        // The clicked message stays; the answer is a message of its own, updated by the follow-up.
        await answer(reply, { channel, threadTs: body.message?.thread_ts ?? null }, respond);
        return;
      }
      const ts = body.container?.is_ephemeral ? null : (body.message?.ts ?? body.container?.message_ts ?? null);
      const where = channel ? { channel, threadTs: body.message?.thread_ts ?? null } : null;
      await showThenFollow(reply, () => send.replace(channel && ts ? { channel, ts } : null, reply.view, respond), where, respond);
    });
  });

  // The choices of a search list (external_select): Slack asks at the same request URL and waits
  // for the answer (options), so this one is answered in the request, not after it.
  app.options<'block_suggestion'>(/.+/, async ({ ack, body }) => {
    const pick = pickOfBlockId(body.block_id);
    const results = pick ? await chat.search({ user: await userOf(body.user.id, body.user.name || null), conversation: null }, pick.dataset, body.value ?? '') : [];
    await ack({ options: results.map((r) => ({ text: { type: 'plain_text' as const, text: clipText(r.title, 75) }, value: r.value.slice(0, 150) })) });
  });

  app.error(async (error) => {
    logger.error({ err: describeError(error) }, 'Slack listener failed');
  });

  const route: Route | null = httpReceiver
    ? {
        method: 'POST',
        path: SLACK_EVENTS_PATH,
        handler: async (req: IncomingMessage, res: ServerResponse) => {
          if (!started) {
            // Before auth.test has run bolt cannot authorize; Slack retries events later.
            res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '5' });
            res.end(JSON.stringify({ error: 'Slack surface not started' }));
            return;
          }
          // The gate reads the body (413 past 1 MB), verifies the signature and the timestamp (401)
          // and answers a request already acted on (200, nothing done); bolt gets the rest with its
          // body read, answers url_verification and acknowledges within 3 s.
          const body = await admitSlackRequest(req, res, { signingSecret: config.signingSecret!, db: deps.db, logger });
          if (!body) return;
          httpReceiver.requestListener(Object.assign(req, { rawBody: body }), res);
        },
      }
    : null;

  let started = false;
  return {
    mode: config.mode,
    route,
    channel: send.alertChannel,
    home,
    async start() {
      if (started) return;
      await app.init();
      if (config.mode === 'socket') await app.start();
      started = true;
      logger.info({ mode: config.mode, ...(config.apiUrl ? { apiUrl: config.apiUrl } : {}) }, config.mode === 'socket' ? 'Slack: connected in Socket Mode' : `Slack: requests verified with the signing secret at POST ${SLACK_EVENTS_PATH}`);
    },
    async stop() {
      home.stop();
      if (started && config.mode === 'socket') await app.stop();
      started = false;
    },
    idle: async () => {
      while (background.size) await Promise.all([...background]);
    },
  };
}
