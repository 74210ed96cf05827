/**
 * A loopback Bot Connector: the REST paths a bot calls on its serviceUrl (send, reply, update,
 * get member), answering as the service does and recording every call, with 429 throttling on
 * demand. Activities sent to the bot are built from the recorded Teams payloads in
 * test/fixtures/teams.
 */
import { type IncomingMessage, type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ConnectorCall {
  readonly method: string;
  readonly kind: 'send' | 'reply' | 'update' | 'member' | 'create' | 'other';
  readonly conversationId: string;
  /** The activity sent (send, reply: the new id) or updated. */
  readonly activityId: string | null;
  readonly body: Record<string, unknown> | null;
  readonly status: number;
  readonly at: number;
}

export interface Member {
  readonly id: string;
  readonly name: string;
  readonly aadObjectId: string;
  readonly email?: string;
}

async function body(req: IncomingMessage): Promise<Record<string, unknown> | null> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? (JSON.parse(text) as Record<string, unknown>) : null;
}

export class BotConnector {
  readonly calls: ConnectorCall[] = [];
  readonly members = new Map<string, Member>();
  #server: Server | null = null;
  #next = 1;
  #throttle: { count: number; retryAfter: string; kind: ConnectorCall['kind'] | null } | null = null;
  #waiters: Array<() => void> = [];
  #fail: { count: number; kind: ConnectorCall['kind']; status: number | 'no-id' } | null = null;

  get url(): string {
    return `http://127.0.0.1:${(this.#server!.address() as AddressInfo).port}/`;
  }

  /** The next `count` calls of `kind` fail with `status` (a service error), or answer 200 without an id (`status` 'no-id'). */
  failNext(count: number, kind: ConnectorCall['kind'], status: number | 'no-id'): void {
    this.#fail = { count, kind, status };
  }

  /** The next `count` calls (of one kind, if given) get 429 with this Retry-After (seconds). */
  throttleNext(count: number, retryAfterSeconds: number, kind: ConnectorCall['kind'] | null = null): void {
    this.#throttle = { count, retryAfter: String(retryAfterSeconds), kind };
  }

  async start(): Promise<this> {
    this.#server = createServer((req, res) => {
      void this.#handle(req).then(({ status, payload, headers }) => {
        res.writeHead(status, { 'content-type': 'application/json', ...headers });
        res.end(JSON.stringify(payload));
      });
    });
    await new Promise<void>((resolve) => this.#server!.listen(0, '127.0.0.1', resolve));
    return this;
  }

  async stop(): Promise<void> {
    if (this.#server) await new Promise<void>((resolve) => this.#server!.close(() => resolve()));
  }

  async #handle(req: IncomingMessage): Promise<{ status: number; payload: unknown; headers?: Record<string, string> }> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    const data = await body(req);
    const record = (kind: ConnectorCall['kind'], conversationId: string, activityId: string | null, status: number) => {
      this.calls.push({ method: req.method ?? '', kind, conversationId, activityId, body: data, status, at: Date.now() });
      for (const w of this.#waiters.splice(0)) w();
    };
    // parts: v3 conversations {id} activities {activityId} | members {memberId}
    const [, , conversationId = '', sub, subId] = parts;
    const kind: ConnectorCall['kind'] =
      req.method === 'POST' && parts.length === 2 ? 'create'
      : sub === 'activities' && req.method === 'POST' && !subId ? 'send'
      : sub === 'activities' && req.method === 'POST' ? 'reply'
      : sub === 'activities' && req.method === 'PUT' ? 'update'
      : sub === 'members' && req.method === 'GET' ? 'member'
      : 'other';
    if (this.#throttle && this.#throttle.count > 0 && kind !== 'member' && (this.#throttle.kind === null || this.#throttle.kind === kind)) {
      this.#throttle.count--;
      const retryAfter = this.#throttle.retryAfter;
      if (this.#throttle.count === 0) this.#throttle = null;
      record(kind, conversationId, subId ?? null, 429);
      return { status: 429, payload: { error: { code: 'TooManyRequests', message: 'throttled' } }, headers: { 'retry-after': retryAfter } };
    }
    if (this.#fail && this.#fail.count > 0 && this.#fail.kind === kind) {
      const { status } = this.#fail;
      if (--this.#fail.count === 0) this.#fail = null;
      record(kind, conversationId, null, status === 'no-id' ? 200 : status);
      if (status === 'no-id') return { status: 200, payload: {} };
      return { status, payload: { error: { code: 'ServiceError', message: 'the service failed' } } };
    }
    if (kind === 'member') {
      const m = this.members.get(subId ?? '');
      record(kind, conversationId, null, m ? 200 : 404);
      if (!m) return { status: 404, payload: { error: { code: 'MemberNotFoundInConversation', message: 'member not found' } } };
      return { status: 200, payload: { id: m.id, name: m.name, aadObjectId: m.aadObjectId, email: m.email, userPrincipalName: m.email } };
    }
    if (kind === 'update') {
      record(kind, conversationId, subId ?? null, 200);
      return { status: 200, payload: { id: subId } };
    }
    const id = `activity-${this.#next++}`;
    record(kind, conversationId, id, 201);
    return { status: 201, payload: { id } };
  }

  /**
   * New messages in a conversation (send, or reply: a proactive send through
   * continueConversationAsync goes out as a reply to the continuation event's id, and Teams
   * posts it as a new message).
   */
  static isPost(c: ConnectorCall): boolean {
    return c.method === 'POST' && (c.kind === 'send' || c.kind === 'reply');
  }

  /** Calls that carried an Adaptive Card, with the card. */
  cards(filter: (c: ConnectorCall) => boolean = () => true): Array<ConnectorCall & { card: Record<string, unknown> }> {
    return this.calls
      .filter((c) => c.status < 300 && filter(c))
      .flatMap((c) => {
        const attachments = (c.body?.attachments ?? []) as Array<{ contentType: string; content: Record<string, unknown> }>;
        const card = attachments.find((a) => a.contentType === 'application/vnd.microsoft.card.adaptive')?.content;
        return card ? [{ ...c, card }] : [];
      });
  }

  /** Waits until `predicate` holds over the calls (checked on every new call). */
  async waitFor<T>(predicate: (calls: readonly ConnectorCall[]) => T | undefined | false, timeoutMs = 15_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = predicate(this.calls);
      if (found) return found;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for the bot; calls so far: ${JSON.stringify(this.calls.map((c) => `${c.method} ${c.kind} ${c.status}`))}`);
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
