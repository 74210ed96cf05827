/**
 * Signed Slack requests for tests, built from the recorded payloads in test/fixtures/slack with
 * the parts a test varies. Signatures are Slack's v0 scheme: HMAC-SHA256 of `v0:{ts}:{body}`
 * with the signing secret, hex, in x-slack-signature; the seconds in x-slack-request-timestamp.
 */
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';

const FIXTURES = path.resolve(import.meta.dirname, '..', 'fixtures', 'slack');
const load = (name: string) => JSON.parse(readFileSync(path.join(FIXTURES, `${name}.json`), 'utf8')) as Record<string, unknown>;

export const SIGNING_SECRET = '8f742231b10e8888abcd99yyyzzz85a5';
export const BOT_TOKEN = 'xoxb-17653672481-19874698323-pdFZKVeTuE8sk7oOcBrzbqgy';

export interface SlackPerson {
  readonly id: string;
  readonly name: string;
}

export const ADMIN: SlackPerson = { id: 'UADMIN1', name: 'alice' };
export const VIEWER: SlackPerson = { id: 'UVIEW01', name: 'victor' };
export const STRANGER: SlackPerson = { id: 'UNOBODY9', name: 'mallory' };

export const CHANNEL = { id: 'C0ALERTS01', name: 'groupsync-alerts' } as const;

export interface SlackRequest {
  readonly body: string;
  readonly contentType: string;
}

export function sign(body: string, timestampSeconds: number, secret = SIGNING_SECRET): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${timestampSeconds}:${body}`).digest('hex')}`;
}

let counter = 0;

export function slashCommand(text: string, options: { user?: SlackPerson; channel?: { id: string; name: string }; responseUrl: string }): SlackRequest {
  const f = load('slash-command');
  const user = options.user ?? ADMIN;
  const channel = options.channel ?? CHANNEL;
  const fields = { ...f, text, user_id: user.id, user_name: user.name, channel_id: channel.id, channel_name: channel.name, response_url: options.responseUrl, trigger_id: `${++counter}.738474920.8088930838d88f008e0` };
  return { body: new URLSearchParams(fields as Record<string, string>).toString(), contentType: 'application/x-www-form-urlencoded' };
}

export interface Click {
  readonly actionId: string;
  readonly value: string;
  readonly label?: string;
}

export function blockAction(click: Click, options: { user?: SlackPerson; channel?: string; messageTs: string; responseUrl: string; ephemeral?: boolean }): SlackRequest {
  const p = load('block-actions');
  const user = options.user ?? ADMIN;
  const channel = options.channel ?? CHANNEL.id;
  const [action] = p.actions as Array<Record<string, unknown>>;
  const payload = {
    ...p,
    user: { ...(p.user as object), id: user.id, username: user.name, name: user.name },
    container: { type: 'message', message_ts: options.messageTs, channel_id: channel, is_ephemeral: options.ephemeral ?? false },
    channel: { id: channel, name: channel === CHANNEL.id ? CHANNEL.name : 'other' },
    ...(options.ephemeral ? { message: undefined } : { message: { ...(p.message as object), ts: options.messageTs } }),
    response_url: options.responseUrl,
    trigger_id: `${++counter}.1395872398.7bd0a9e0e1f9e1d1b2a7b2b6d8a7f2e3`,
    actions: [{ ...action, action_id: click.actionId, value: click.value, text: { type: 'plain_text', text: click.label ?? click.actionId, emoji: true }, action_ts: `${Date.now() / 1000}` }],
  };
  return { body: `payload=${encodeURIComponent(JSON.stringify(payload))}`, contentType: 'application/x-www-form-urlencoded' };
}

/** What Slack sends when someone types into an external_select: a block_suggestion (answered with the options in the HTTP response). */
export function blockSuggestion(select: { actionId: string; blockId: string; value: string }, options: { user?: SlackPerson; channel?: string; messageTs: string }): SlackRequest {
  const p = load('block-actions');
  const user = options.user ?? ADMIN;
  const payload = {
    type: 'block_suggestion',
    user: { ...(p.user as object), id: user.id, username: user.name, name: user.name },
    container: { type: 'message', message_ts: options.messageTs, channel_id: options.channel ?? CHANNEL.id, is_ephemeral: false },
    api_app_id: p.api_app_id,
    token: p.token,
    team: p.team,
    enterprise: null,
    is_enterprise_install: false,
    channel: { id: options.channel ?? CHANNEL.id, name: CHANNEL.name },
    action_id: select.actionId,
    block_id: select.blockId,
    value: select.value,
  };
  return { body: `payload=${encodeURIComponent(JSON.stringify(payload))}`, contentType: 'application/x-www-form-urlencoded' };
}

/** A choice in an external_select: a block_actions request whose action carries the block_id and the selected option. */
export function selectAction(select: { actionId: string; blockId: string; value: string; text: string }, options: { user?: SlackPerson; channel?: string; messageTs: string; responseUrl: string }): SlackRequest {
  const base = JSON.parse(decodeURIComponent(blockAction({ actionId: select.actionId, value: '' }, options).body.slice('payload='.length))) as Record<string, unknown>;
  const action = {
    type: 'external_select',
    action_id: select.actionId,
    block_id: select.blockId,
    selected_option: { text: { type: 'plain_text', text: select.text, emoji: true }, value: select.value },
    placeholder: { type: 'plain_text', text: 'Search', emoji: true },
    action_ts: `${Date.now() / 1000}`,
  };
  return { body: `payload=${encodeURIComponent(JSON.stringify({ ...base, actions: [action] }))}`, contentType: 'application/x-www-form-urlencoded' };
}

export function appMention(text: string, options: { user?: SlackPerson; channel?: string } = {}): SlackRequest {
  const p = load('event-app-mention');
  const event = p.event as Record<string, unknown>;
  const id = ++counter;
  const body = {
    ...p,
    event_id: `Ev0MENTION${id}`,
    event: { ...event, text: `<@UBOT0001> ${text}`, user: (options.user ?? ADMIN).id, channel: options.channel ?? CHANNEL.id, ts: `1700001000.${String(id).padStart(6, '0')}` },
  };
  return { body: JSON.stringify(body), contentType: 'application/json' };
}

export function directMessage(text: string, options: { user?: SlackPerson; channel?: string; eventId?: string } = {}): SlackRequest {
  const p = load('event-message-im');
  const event = p.event as Record<string, unknown>;
  const id = ++counter;
  const body = {
    ...p,
    event_id: options.eventId ?? `Ev0DIRECT${id}`,
    event: { ...event, text, user: (options.user ?? ADMIN).id, channel: options.channel ?? 'D0ALICE01', ts: `1700002000.${String(id).padStart(6, '0')}` },
  };
  return { body: JSON.stringify(body), contentType: 'application/json' };
}

export function urlVerification(): SlackRequest & { challenge: string } {
  const p = load('url-verification');
  return { body: JSON.stringify(p), contentType: 'application/json', challenge: String(p.challenge) };
}

/** POSTs a request to the bot, signed unless told otherwise. */
export async function postSlack(
  url: string,
  request: SlackRequest,
  options: { secret?: string; timestampSeconds?: number; signature?: string; retryNum?: number } = {},
): Promise<{ status: number; body: string; ms: number }> {
  const ts = options.timestampSeconds ?? Math.floor(Date.now() / 1000);
  const headers: Record<string, string> = {
    'content-type': request.contentType,
    'x-slack-request-timestamp': String(ts),
    'x-slack-signature': options.signature ?? sign(request.body, ts, options.secret),
    ...(options.retryNum ? { 'x-slack-retry-num': String(options.retryNum), 'x-slack-retry-reason': 'http_timeout' } : {}),
  };
  const started = Date.now();
  const res = await fetch(url, { method: 'POST', headers, body: request.body });
  const body = await res.text();
  return { status: res.status, body, ms: Date.now() - started };
}

/** Someone opened the app's Home tab (Events API app_home_opened, tab "home"). */
export function appHomeOpened(options: { user?: SlackPerson; tab?: 'home' | 'messages' } = {}): SlackRequest {
  const p = load('event-app-home-opened');
  const event = p.event as Record<string, unknown>;
  const id = ++counter;
  const body = { ...p, event_id: `Ev0HOME${id}`, event: { ...event, user: (options.user ?? ADMIN).id, tab: options.tab ?? 'home', event_ts: `1700003000.${String(id).padStart(6, '0')}` } };
  return { body: JSON.stringify(body), contentType: 'application/json' };
}

/** A button clicked on the Home tab: a block_actions with a view container, no channel, message or response_url. */
export function homeAction(click: Click, options: { user?: SlackPerson } = {}): SlackRequest {
  const p = load('block-actions');
  const user = options.user ?? ADMIN;
  const [action] = p.actions as Array<Record<string, unknown>>;
  const { channel: _channel, message: _message, response_url: _url, ...rest } = p;
  const viewId = `V0HOME${user.id}`;
  const payload = {
    ...rest,
    user: { ...(p.user as object), id: user.id, username: user.name, name: user.name },
    container: { type: 'view', view_id: viewId },
    view: { id: viewId, type: 'home', blocks: [], callback_id: '', state: { values: {} }, hash: '1700003000.abcdef', app_id: p.api_app_id, team_id: 'T0EXAMPLE', bot_id: 'BBOT0001' },
    trigger_id: `${++counter}.1395872398.7bd0a9e0e1f9e1d1b2a7b2b6d8a7f2e3`,
    actions: [{ ...action, block_id: 'home', action_id: click.actionId, value: click.value, text: { type: 'plain_text', text: click.label ?? click.actionId, emoji: true }, action_ts: `${Date.now() / 1000}` }],
  };
  return { body: `payload=${encodeURIComponent(JSON.stringify(payload))}`, contentType: 'application/x-www-form-urlencoded' };
}
