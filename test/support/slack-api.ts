/**
 * A loopback Slack Web API: the methods groupsync calls (auth.test, chat.postMessage,
 * chat.update, chat.postEphemeral, users.info, views.publish) answered with Slack's JSON shapes,
 * plus response_url endpoints. A published Home tab is validated (type home, at most 100 blocks,
 * Block Kit's text limits) and kept by user. Every call is recorded with its arrival time; messages are kept by
 * channel and ts so a test reads what a channel shows now. 429 with Retry-After on demand.
 */
import { type IncomingMessage, type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ApiCall {
  /** Web API method (chat.update) or `response_url` for a POST to a response URL. */
  readonly method: string;
  /** The form or JSON fields, with `blocks` parsed. */
  readonly params: Record<string, unknown>;
  /** The response URL id, for response_url calls. */
  readonly responseId: string | null;
  readonly status: number;
  /** What the server answered (Slack's JSON). */
  readonly response: Record<string, unknown>;
  readonly at: number;
}

export interface SlackMessageState {
  readonly channel: string;
  readonly ts: string;
  readonly text: string;
  readonly blocks: unknown[];
  readonly threadTs: string | null;
  /** How many times chat.update changed it. */
  readonly updates: number;
}

export interface SlackUser {
  readonly id: string;
  readonly name: string;
  readonly realName: string;
  readonly email: string | null;
}

export const BOT = { userId: 'UBOT0001', botId: 'BBOT0001', teamId: 'T0EXAMPLE' } as const;

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function parseParams(req: IncomingMessage, text: string): Record<string, unknown> {
  const type = req.headers['content-type'] ?? '';
  const params: Record<string, unknown> = type.includes('application/json') ? (text ? (JSON.parse(text) as Record<string, unknown>) : {}) : Object.fromEntries(new URLSearchParams(text));
  if (typeof params.blocks === 'string') params.blocks = JSON.parse(params.blocks);
  if (typeof params.view === 'string') params.view = JSON.parse(params.view);
  return params;
}

export class SlackApi {
  readonly calls: ApiCall[] = [];
  readonly users = new Map<string, SlackUser>();
  /** What apps.connections.open answers (Socket Mode), when set. */
  socketUrl: string | null = null;
  /** Channels the bot is not a member of: chat.postMessage answers not_in_channel. */
  readonly notIn = new Set<string>();
  readonly #messages = new Map<string, SlackMessageState>();
  /** The Home tab each user sees now, and how many times it was published. */
  readonly #homes = new Map<string, { blocks: unknown[]; publishes: number }>();
  #server: Server | null = null;
  #clock = 1_700_000_000;
  #seq = 0;
  #throttle = new Map<string, { count: number; retryAfter: number }>();
  #failures = new Map<string, { count: number; error: string }>();
  #waiters: Array<() => void> = [];

  get url(): string {
    return `http://127.0.0.1:${(this.#server!.address() as AddressInfo).port}/api/`;
  }

  /** A response_url on this server. */
  responseUrl(id: string): string {
    return `http://127.0.0.1:${(this.#server!.address() as AddressInfo).port}/response/${encodeURIComponent(id)}`;
  }

  /** The next `count` calls of `method` get HTTP 429 with Retry-After (seconds). */
  throttleNext(method: string, count: number, retryAfterSeconds: number): void {
    this.#throttle.set(method, { count, retryAfter: retryAfterSeconds });
  }

  /** The next `count` calls of `method` answer `{ ok: false, error }` (HTTP 200, as Slack does). */
  failNext(method: string, count: number, error: string): void {
    this.#failures.set(method, { count, error });
  }

  addUser(user: SlackUser): void {
    this.users.set(user.id, user);
  }

  async start(): Promise<this> {
    this.#server = createServer((req, res) => {
      void this.#handle(req).then(
        ({ status, payload, headers }) => {
          res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
          res.end(JSON.stringify(payload));
        },
        (error: unknown) => {
          res.writeHead(500, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ ok: false, error: String(error) }));
        },
      );
    });
    await new Promise<void>((resolve) => this.#server!.listen(0, '127.0.0.1', resolve));
    return this;
  }

  async stop(): Promise<void> {
    if (!this.#server) return;
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server!.close(() => resolve()));
  }

  /** What a channel shows now for a message. */
  message(channel: string, ts: string): SlackMessageState | undefined {
    return this.#messages.get(`${channel}/${ts}`);
  }

  /** The messages of a channel, oldest first. */
  messages(channel: string): SlackMessageState[] {
    return [...this.#messages.values()].filter((m) => m.channel === channel);
  }

  /** The Home tab a user sees now (the last valid views.publish for them). */
  home(userId: string): { blocks: unknown[]; publishes: number } | undefined {
    return this.#homes.get(userId);
  }

  /** Successful calls of a method. */
  ok(method: string): ApiCall[] {
    return this.calls.filter((c) => c.method === method && c.status === 200);
  }

  async #handle(req: IncomingMessage): Promise<{ status: number; payload: unknown; headers?: Record<string, string> }> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const text = await readBody(req);
    const params = parseParams(req, text);
    const responseMatch = /^\/response\/(.+)$/.exec(url.pathname);
    const method = responseMatch ? 'response_url' : url.pathname.replace(/^\/api\//, '');
    const record = (status: number, response: Record<string, unknown>) => {
      this.calls.push({ method, params, responseId: responseMatch ? decodeURIComponent(responseMatch[1]!) : null, status, response, at: Date.now() });
      for (const w of this.#waiters.splice(0)) w();
    };
    const throttle = this.#throttle.get(method);
    if (throttle && throttle.count > 0) {
      throttle.count--;
      const payload = { ok: false, error: 'ratelimited' };
      record(429, payload);
      return { status: 429, payload, headers: { 'retry-after': String(throttle.retryAfter) } };
    }
    const failure = this.#failures.get(method);
    if (failure && failure.count > 0) {
      failure.count--;
      const payload = { ok: false, error: failure.error };
      record(200, payload);
      return { status: 200, payload };
    }
    if (responseMatch) {
      record(200, { ok: true });
      return { status: 200, payload: { ok: true } };
    }
    const auth = req.headers.authorization ?? (params.token ? `Bearer ${String(params.token)}` : '');
    // Socket Mode: the app-level token opens a WebSocket connection.
    if (method === 'apps.connections.open') {
      const answer = auth.startsWith('Bearer xapp-') && this.socketUrl ? { ok: true, url: this.socketUrl } : { ok: false, error: 'invalid_auth' };
      record(200, answer);
      return { status: 200, payload: answer };
    }
    if (!auth.startsWith('Bearer xoxb-')) {
      record(200, { ok: false, error: 'not_authed' });
      return { status: 200, payload: { ok: false, error: 'not_authed' } };
    }
    const answer = this.#answer(method, params);
    record(200, answer);
    return { status: 200, payload: answer };
  }

  #answer(method: string, p: Record<string, unknown>): Record<string, unknown> {
    switch (method) {
      case 'auth.test':
        return { ok: true, url: 'https://example.slack.com/', team: 'Example', user: 'groupsync', team_id: BOT.teamId, user_id: BOT.userId, bot_id: BOT.botId, is_enterprise_install: false };
      case 'chat.postMessage': {
        const channel = String(p.channel ?? '');
        if (!channel) return { ok: false, error: 'channel_not_found' };
        if (this.notIn.has(channel)) return { ok: false, error: 'not_in_channel' };
        const ts = `${this.#clock + ++this.#seq}.${String(this.#seq).padStart(6, '0')}`;
        const state: SlackMessageState = { channel, ts, text: String(p.text ?? ''), blocks: (p.blocks as unknown[]) ?? [], threadTs: p.thread_ts ? String(p.thread_ts) : null, updates: 0 };
        this.#messages.set(`${channel}/${ts}`, state);
        return { ok: true, channel, ts, message: { type: 'message', subtype: 'bot_message', text: state.text, blocks: state.blocks, user: BOT.userId, bot_id: BOT.botId, ts } };
      }
      case 'chat.update': {
        const channel = String(p.channel ?? '');
        const ts = String(p.ts ?? '');
        const current = this.#messages.get(`${channel}/${ts}`);
        if (!current) return { ok: false, error: 'message_not_found' };
        const next: SlackMessageState = { ...current, text: String(p.text ?? ''), blocks: (p.blocks as unknown[]) ?? [], updates: current.updates + 1 };
        this.#messages.set(`${channel}/${ts}`, next);
        return { ok: true, channel, ts, text: next.text, message: { type: 'message', text: next.text, blocks: next.blocks, user: BOT.userId, bot_id: BOT.botId } };
      }
      case 'chat.postEphemeral':
        return { ok: true, message_ts: `${this.#clock + ++this.#seq}.000000` };
      case 'views.publish': {
        const user = String(p.user_id ?? '');
        if (!this.users.has(user) && !/^U[A-Z0-9]+$/.test(user)) return { ok: false, error: 'invalid_arguments' };
        const errors = homeViolations(p.view);
        if (errors.length) return { ok: false, error: 'invalid_blocks', response_metadata: { messages: errors } };
        const view = p.view as { blocks: unknown[] };
        this.#homes.set(user, { blocks: view.blocks, publishes: (this.#homes.get(user)?.publishes ?? 0) + 1 });
        return { ok: true, view: { id: `V0HOME${user}`, type: 'home', blocks: view.blocks } };
      }
      case 'users.info': {
        const u = this.users.get(String(p.user ?? ''));
        if (!u) return { ok: false, error: 'user_not_found' };
        return {
          ok: true,
          user: { id: u.id, team_id: BOT.teamId, name: u.name, real_name: u.realName, deleted: false, is_bot: false, profile: { real_name: u.realName, display_name: u.name, ...(u.email ? { email: u.email } : {}) } },
        };
      }
      default:
        return { ok: false, error: 'unknown_method' };
    }
  }

  /** Waits until `predicate` holds over the calls (checked on every new call). */
  async waitFor<T>(predicate: (calls: readonly ApiCall[]) => T | undefined | false | null, timeoutMs = 15_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = predicate(this.calls);
      if (found) return found;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for the Slack bot; calls so far: ${JSON.stringify(this.calls.map((c) => `${c.method} ${c.status}`))}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 250));
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }
}

/** Block Kit's limits for a Home tab view (100 blocks) and its blocks; returns what breaks them. */
export function homeViolations(view: unknown): string[] {
  const v = view as { type?: unknown; blocks?: unknown } | null;
  if (!v || v.type !== 'home') return [`view type ${String(v?.type)} is not home`];
  if (!Array.isArray(v.blocks)) return ['no blocks'];
  const out: string[] = [];
  if (v.blocks.length > 100) out.push(`${v.blocks.length} blocks (at most 100)`);
  (v.blocks as Array<{ type?: string; text?: { text: string }; fields?: Array<{ text: string }>; elements?: Array<{ text?: string }> }>).forEach((b, i) => {
    if (b.type === 'header' && (!b.text || b.text.text.length > 150)) out.push(`header ${i}`);
    if (b.type === 'section') {
      if (!b.text && !b.fields) out.push(`section ${i} is empty`);
      if (b.text && (!b.text.text.length || b.text.text.length > 3000)) out.push(`section ${i} text ${b.text.text.length}`);
      if ((b.fields?.length ?? 0) > 10) out.push(`section ${i} fields`);
      for (const f of b.fields ?? []) if (f.text.length > 2000) out.push(`section ${i} field too long`);
    }
    if (b.type === 'actions' && (!b.elements?.length || b.elements.length > 25)) out.push(`actions ${i} has ${b.elements?.length}`);
    if (b.type === 'context' && (!b.elements?.length || b.elements.length > 10 || b.elements.some((e) => !e.text || e.text.length > 3000))) out.push(`context ${i}`);
    if (!['header', 'section', 'actions', 'context', 'divider'].includes(String(b.type))) out.push(`block ${i} type ${String(b.type)}`);
  });
  const ids = new Set<string>();
  for (const button of blockButtons(v.blocks)) {
    if (button.label.length > 75) out.push(`button ${button.actionId} label`);
    if (button.value.length > 2000) out.push(`button ${button.actionId} value`);
    if (ids.has(button.actionId)) out.push(`button ${button.actionId} repeated`);
    ids.add(button.actionId);
  }
  return out;
}

/** Every text of a Block Kit message (header, sections, fields, context), in order: what a person reads. */
export function blockTexts(blocks: unknown): string[] {
  const out: string[] = [];
  for (const b of (blocks ?? []) as Array<Record<string, unknown>>) {
    const text = (b.text as { text?: string } | undefined)?.text;
    if (text !== undefined) out.push(text);
    for (const f of (b.fields ?? []) as Array<{ text: string }>) out.push(f.text);
    if (b.type === 'context') for (const el of (b.elements ?? []) as Array<{ text?: string }>) if (el.text !== undefined) out.push(el.text);
  }
  return out;
}

export interface BlockButton {
  readonly actionId: string;
  readonly label: string;
  readonly value: string;
  readonly verb: string;
  readonly data: Record<string, unknown>;
  readonly style: string | null;
}

/** Every button of a Block Kit message (actions blocks and section accessories). */
export function blockButtons(blocks: unknown): BlockButton[] {
  const out: BlockButton[] = [];
  const add = (el: Record<string, unknown>) => {
    if (el.type !== 'button') return;
    const actionId = String(el.action_id);
    out.push({
      actionId,
      label: String((el.text as { text: string }).text),
      value: String(el.value ?? ''),
      verb: actionId.slice(0, actionId.lastIndexOf(':')),
      data: el.value ? (JSON.parse(String(el.value)) as Record<string, unknown>) : {},
      style: typeof el.style === 'string' ? el.style : null,
    });
  };
  for (const b of (blocks ?? []) as Array<Record<string, unknown>>) {
    if (b.type === 'actions') for (const el of b.elements as Array<Record<string, unknown>>) add(el);
    if (b.accessory) add(b.accessory as Record<string, unknown>);
  }
  return out;
}

/** Slack's mrkdwn entities back to characters, for comparing with plain data. */
export function unescapeMrkdwn(text: string): string {
  return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

/** Every external_select of a message: its dataset, what its choice does (verb and data) and the data key the choice goes to (kept in block_id). */
export function blockPicks(blocks: unknown): Array<{ dataset: string; verb: string; data: Record<string, unknown>; field: string }> {
  const out: Array<{ dataset: string; verb: string; data: Record<string, unknown>; field: string }> = [];
  for (const b of (blocks ?? []) as Array<Record<string, unknown>>) {
    if (b.type !== 'actions') continue;
    for (const el of b.elements as Array<Record<string, unknown>>) {
      if (el.type !== 'external_select') continue;
      const id = String(el.action_id);
      const pick = JSON.parse(String(b.block_id)) as { q: string; f: string; d: Record<string, unknown> };
      out.push({ dataset: pick.q, verb: id.slice(0, id.lastIndexOf(':')), data: pick.d, field: pick.f });
    }
  }
  return out;
}
