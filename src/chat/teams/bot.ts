/**
 * The Teams surface: a teams-ai Application on botbuilder's CloudAdapter at POST /api/messages.
 * Messages (personal chat, channel @mentions) and Action.Execute clicks go to the shared command
 * layer; views come back as Adaptive Cards. Proactive alerts and follow-up updates use the
 * conversation reference stored in the database.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AdaptiveCardActionExecuteResponseType, Application, TeamsAdapter, TurnState } from '@microsoft/teams-ai';
import { type Activity, ActivityTypes, CallerIdConstants, CardFactory, type ConversationReference, MessageFactory, TeamsInfo, TurnContext } from 'botbuilder';
import type { TeamsConfig } from '../../config.ts';
import { describeError } from '../../errors.ts';
import { readJson, refuse, type Route } from '../../http.ts';
import type { Logger } from '../../logger.ts';
import { claimChatRequest } from '../../store/chat-requests.ts';
import type { ConversationInput, ConversationRow } from '../../store/conversations.ts';
import type { Db } from '../../store/db.ts';
import type { AlertChannel } from '../alerts.ts';
import type { ChatUser } from '../auth.ts';
import type { Reply } from '../commands/context.ts';
import type { ChatService, Invocation } from '../service.ts';
import type { View } from '../views/types.ts';
import { fallbackText, renderCard } from './cards.ts';
import { withThrottleRetry } from '../throttle.ts';

export interface TeamsSurfaceDeps {
  readonly config: TeamsConfig;
  readonly chat: ChatService;
  readonly logger: Logger;
  /** The store, where activities already acted on are remembered. */
  readonly db: Db;
}

export interface TeamsSurface {
  /** Local mode: no app id, requests are not authenticated (Agents Playground, tests). */
  readonly localMode: boolean;
  readonly route: Route;
  readonly channel: AlertChannel;
  /** Background work started by a turn (sync follow-ups); tests and shutdown wait for it. */
  idle(): Promise<void>;
}

/** 127.0.0.0/8 and ::1, also as IPv4-mapped IPv6. */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (!address) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  return v4 === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4);
}

/** The message activity carrying a view as an Adaptive Card, with fallback text. */
export function messageOf(view: View): Partial<Activity> {
  const activity = MessageFactory.attachment(CardFactory.adaptiveCard(renderCard(view)));
  activity.summary = fallbackText(view);
  return activity;
}

function userOf(context: TurnContext): ChatUser {
  const from = context.activity.from;
  return {
    surface: 'teams',
    id: from.id,
    aadObjectId: from.aadObjectId ?? null,
    name: from.name ?? null,
    // Only asked when a directory admin group decides; a failure means "no mail known".
    email: async () => {
      try {
        const member = await TeamsInfo.getMember(context, from.id);
        return member.email ?? member.userPrincipalName ?? null;
      } catch {
        return null;
      }
    },
  };
}

/**
 * The conversation to post alerts to. A channel message's conversation id names its thread
 * (";messageid=…"); alerts go to the channel as new posts, so the key and the stored reference
 * name the channel, and the reference carries no activity to reply to.
 */
function conversationOf(context: TurnContext): ConversationInput {
  const a = context.activity;
  const { activityId: _reply, ...reference } = TurnContext.getConversationReference(a);
  const key = a.conversation.id.split(';')[0]!;
  const label = a.conversation.conversationType === 'personal' ? `personal chat with ${a.from.name ?? a.from.id}` : (a.conversation.name ?? key);
  return { surface: 'teams', key, reference: { ...reference, conversation: { ...reference.conversation, id: key } } as unknown as Record<string, unknown>, label };
}

/** What botbuilder answered: kept, not written, so a refusal is answered without its internals. */
interface BotAnswer {
  status: number;
  body: unknown;
}

/** botbuilder's process() expects an express/restify-like response; this one records the answer. */
function botResponse(res: ServerResponse, answer: BotAnswer) {
  return {
    socket: res.socket,
    status(code: number) {
      answer.status = code;
      return this;
    },
    header(name: string, value: unknown) {
      if (!res.headersSent) res.setHeader(name, String(value));
      return this;
    },
    send(body?: unknown) {
      answer.body = body;
      return this;
    },
    end() {
      return this;
    },
  };
}

const hasId = (value: unknown): boolean => !!value && typeof value === 'object' && typeof (value as { id?: unknown }).id === 'string' && !!(value as { id: string }).id;

/**
 * An activity has a type, and one the bot answers has the conversation and the sender it comes
 * from; anything else is the sender's mistake (400), not the bot's (500).
 */
function activityProblem(body: unknown): string | null {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return 'the request body is not an activity (a JSON object)';
  const activity = body as { type?: unknown; conversation?: unknown; from?: unknown };
  if (typeof activity.type !== 'string' || !activity.type) return 'the activity has no type';
  if (!hasId(activity.conversation)) return 'the activity has no conversation.id';
  if (!hasId(activity.from)) return 'the activity has no from.id';
  return null;
}

function writeJson(res: ServerResponse, status: number, body: unknown): void {
  if (res.writableEnded) return;
  if (body === undefined || body === null) {
    res.writeHead(status);
    res.end();
    return;
  }
  const text = typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': typeof body === 'object' && !Buffer.isBuffer(body) ? 'application/json' : 'text/plain; charset=utf-8' });
  res.end(text);
}

/**
 * The public cloud's Bot Framework settings with another OpenID metadata document: botbuilder takes
 * any one of them as a custom cloud that needs them all (its defaults apply only when none is set).
 */
function publicCloudWith(openIdMetadataUrl: string) {
  return {
    ValidateAuthority: true,
    ToChannelFromBotLoginUrl: 'https://login.microsoftonline.com/botframework.com',
    ToChannelFromBotOAuthScope: 'https://api.botframework.com',
    ToBotFromChannelTokenIssuer: 'https://api.botframework.com',
    OAuthUrl: 'https://api.botframework.com',
    ToBotFromChannelOpenIdMetadataUrl: openIdMetadataUrl,
    ToBotFromEmulatorOpenIdMetadataUrl: 'https://login.microsoftonline.com/common/v2.0/.well-known/openid-configuration',
    CallerId: CallerIdConstants.PublicAzureChannel,
  };
}

export function createTeamsSurface(deps: TeamsSurfaceDeps): TeamsSurface {
  const { config, chat } = deps;
  const logger = deps.logger.child({ surface: 'teams' });
  const appId = config.appId ?? '';
  const adapter = new TeamsAdapter(
    config.appId
      ? {
          MicrosoftAppId: config.appId,
          MicrosoftAppPassword: config.appPassword ?? undefined,
          MicrosoftAppType: config.appType,
          MicrosoftAppTenantId: config.tenantId ?? undefined,
          ...(config.openIdMetadataUrl ? publicCloudWith(config.openIdMetadataUrl) : {}),
        }
      : {},
  );
  adapter.onTurnError = async (context, error) => {
    logger.error({ err: describeError(error), activity: context.activity.type }, 'Teams turn failed');
  };
  const app = new Application<TurnState>({
    adapter,
    botAppId: appId,
    removeRecipientMention: true,
    startTypingTimer: false,
    longRunningMessages: false,
    turnStateFactory: () => new TurnState(),
    // A click updates the card for everyone in the conversation: it shows the current state.
    adaptiveCards: { actionExecuteResponseType: AdaptiveCardActionExecuteResponseType.REPLACE_FOR_ALL },
  });

  const background = new Set<Promise<void>>();
  const track = (work: Promise<void>) => {
    const p = work.catch((error: unknown) => logger.error({ err: describeError(error) }, 'follow-up failed')).finally(() => background.delete(p));
    background.add(p);
  };

  /** Runs `logic` in a stored conversation (proactively), with back-off when Teams throttles. */
  const inConversation = (reference: Partial<ConversationReference>, logic: (ctx: TurnContext) => Promise<void>) =>
    withThrottleRetry(() => adapter.continueConversationAsync(appId, reference, logic), logger);

  const updateMessage = async (reference: Partial<ConversationReference>, activityId: string, view: View) => {
    await inConversation(reference, async (ctx) => {
      await ctx.updateActivity({ ...messageOf(view), id: activityId });
    });
  };

  const postMessage = async (reference: Partial<ConversationReference>, view: View): Promise<string | undefined> => {
    let id: string | undefined;
    await inConversation(reference, async (ctx) => {
      id = (await ctx.sendActivity(messageOf(view)))?.id;
    });
    return id;
  };

  /**
   * Runs the reply's follow-up (a sync) whatever became of the first answer: its progress and
   * result update that answer, or, when it could not be posted (or Teams gave it no id), go in
   * a message of their own.
   */
  const startFollowUp = (reference: Partial<ConversationReference>, reply: Reply, activityId: string | undefined) => {
    if (!reply.followUp) return;
    let id = activityId;
    track(
      reply.followUp(async (view) => {
        if (id) await updateMessage(reference, id, view);
        else id = await postMessage(reference, view);
      }),
    );
  };

  /** Sends the first answer with `send`; a failure to post it is logged and does not stop the follow-up. */
  const sendFirst = async (reply: Reply, send: (view: View) => Promise<string | undefined>): Promise<string | undefined> => {
    try {
      return await send(reply.view);
    } catch (error) {
      if (!reply.followUp) throw error;
      logger.warn({ err: describeError(error) }, 'the first answer could not be posted; the follow-up posts its own message');
      return undefined;
    }
  };

  const invocation = (context: TurnContext): Invocation => ({ user: userOf(context), conversation: conversationOf(context) });

  /**
   * A message is acknowledged at once: the command runs after the turn, and its answer (and any
   * follow-up) is posted into the conversation. Teams waits for the HTTP answer of every message;
   * a `health` over thousands of links must not hold it, nor the requests queued behind it.
   */
  app.activity(ActivityTypes.Message, async (context) => {
    const text = context.activity.text ?? '';
    const who = invocation(context);
    const reference = TurnContext.getConversationReference(context.activity);
    track(
      (async () => {
        const reply = await chat.handleText(who, text);
        startFollowUp(reference, reply, await sendFirst(reply, (view) => postMessage(reference, view)));
      })(),
    );
  });

  app.conversationUpdate('membersAdded', async (context) => {
    const added = context.activity.membersAdded ?? [];
    if (!added.some((m) => m.id === context.activity.recipient.id)) return;
    const reply = await chat.handleText(invocation(context), 'help');
    await context.sendActivity(messageOf(reply.view));
  });

  app.adaptiveCards.actionExecute<Record<string, unknown>>(/.*/, async (context, _state, data) => {
    const verb = String((context.activity.value as { action?: { verb?: unknown } } | undefined)?.action?.verb ?? '');
    const reply = await chat.handleAction(invocation(context), verb, data);
    // An answer for the clicker alone (a refusal) leaves the card as it is.
    if (!reply.replace) return fallbackText(reply.view);
    if (reply.asNewMessage) {
      // The clicked card stays; the answer is a card of its own, updated by the follow-up.
      const reference = TurnContext.getConversationReference(context.activity);
      startFollowUp(reference, reply, await sendFirst(reply, async (view) => (await context.sendActivity(messageOf(view)))?.id));
      return fallbackText(reply.view);
    }
    startFollowUp(TurnContext.getConversationReference(context.activity), reply, context.activity.replyToId);
    return renderCard(reply.view) as never;
  });

  // A typeahead on a card (Input.ChoiceSet with Data.Query) asks for its choices with an invoke
  // application/search; the answer is a searchResponse of { title, value }.
  app.adaptiveCards.search(/.*/, async (context, _state, query) => {
    const results = await chat.search(invocation(context), query.parameters.dataset, query.parameters.queryText);
    return results.slice(0, Math.max(1, Math.min(query.count, 50)));
  });

  /**
   * A message or a click acts once: its activity id (unique in its conversation) is claimed in the
   * store after the request is authenticated. The same activity again (a channel retry, a replay)
   * is answered and nothing runs; a click is told it was done already.
   */
  const firstTime = async (context: TurnContext): Promise<boolean> => {
    const a = context.activity;
    if ((a.type !== ActivityTypes.Message && a.type !== ActivityTypes.Invoke) || !a.id) return true;
    if (await claimChatRequest(deps.db, [`teams:${a.conversation?.id ?? ''}:${a.id}`], new Date())) return true;
    logger.info({ activity: a.type, id: a.id }, 'Teams activity already acted on (a retry or a replay): answered, nothing done');
    if (a.type === ActivityTypes.Invoke) {
      await context.sendActivity({ type: ActivityTypes.InvokeResponse, value: { status: 200, body: { statusCode: 200, type: 'application/vnd.microsoft.activity.message', value: 'This was done already.' } } });
    }
    return false;
  };

  const route: Route = {
    method: 'POST',
    path: '/api/messages',
    handler: async (req: IncomingMessage, res: ServerResponse) => {
      // Without an app id nothing authenticates a request, so the sender's identity (and with it
      // the admin check) could be forged: local mode serves this machine only.
      if (!config.appId && !isLoopbackAddress(req.socket.remoteAddress)) {
        res.writeHead(401, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: 'groupsync runs in Teams local mode (no MICROSOFT_APP_ID): it accepts requests from this machine only' }));
        return;
      }
      let body: unknown;
      try {
        body = await readJson(req);
      } catch (error) {
        refuse(res, (error as { status?: number }).status ?? 400, describeError(error));
        return;
      }
      const problem = activityProblem(body);
      if (problem) {
        logger.warn({ problem }, 'Teams request refused');
        refuse(res, 400, problem);
        return;
      }
      // botbuilder authenticates the request (the Bot Framework token) before the turn runs; any
      // failure before the turn, also when its key endpoint cannot be reached, is a refusal (401)
      // whose cause is logged, never sent back. A failure inside the turn is ours (500, logged).
      const request = { body: body as Record<string, unknown>, headers: req.headers, method: req.method ?? 'POST' };
      const answer: BotAnswer = { status: 200, body: undefined };
      let turnStarted = false;
      await adapter.process(request, botResponse(res, answer), async (context) => {
        turnStarted = true;
        if (await firstTime(context)) await app.run(context);
      });
      if (!turnStarted && answer.status >= 400) {
        logger.warn({ status: answer.status, cause: typeof answer.body === 'string' ? answer.body.slice(0, 300) : answer.body }, 'Teams request refused: not authenticated');
        refuse(res, 401, 'not authenticated');
        return;
      }
      if (answer.status >= 500) {
        logger.error({ status: answer.status, cause: typeof answer.body === 'string' ? answer.body.slice(0, 300) : answer.body }, 'Teams request failed');
        refuse(res, answer.status, 'internal error');
        return;
      }
      writeJson(res, answer.status, answer.body);
    },
  };

  const channel: AlertChannel = {
    surface: 'teams',
    async post(conversation: ConversationRow, view: View) {
      let id: string | undefined;
      await inConversation(conversation.reference as Partial<ConversationReference>, async (ctx) => {
        id = (await ctx.sendActivity(messageOf(view)))?.id;
      });
      if (!id) throw new Error('Teams did not return an activity id for the alert');
      return { messageId: id };
    },
    async update(conversation: ConversationRow, messageId: string, view: View) {
      await updateMessage(conversation.reference as Partial<ConversationReference>, messageId, view);
    },
  };

  return {
    localMode: !config.appId,
    route,
    channel,
    idle: async () => {
      while (background.size) await Promise.all([...background]);
    },
  };
}
