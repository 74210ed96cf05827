/**
 * The one HTTP server of the process: GET /healthz, and the routes the chat surfaces mount
 * (Teams: POST /api/messages; Slack: POST /slack/events). Node's own server; each surface reads
 * its request as its framework needs (Slack verifies the signature over the raw body).
 */
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { App } from './app.ts';
import { describeError } from './errors.ts';
import type { Logger } from './logger.ts';
import { pingStore } from './store/transaction.ts';

export type RouteHandler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

export interface Route {
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly handler: RouteHandler;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

export function createHttpServer(app: App, logger: Logger, routes: readonly Route[] = []): Server {
  return createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method === 'GET' && url.pathname === '/healthz') {
      pingStore(app.store.db)
        .then(() => json(res, 200, { status: 'ok', store: app.store.driver, connections: app.config.connections.map((c) => c.name) }))
        .catch((error: unknown) => {
          logger.error({ err: describeError(error) }, 'health check: store unavailable');
          json(res, 503, { status: 'unavailable', reason: 'store' });
        });
      return;
    }
    const route = routes.find((r) => r.path === url.pathname);
    if (!route) return json(res, 404, { error: 'not found' });
    if (route.method !== req.method) {
      res.setHeader('allow', route.method);
      return json(res, 405, { error: `use ${route.method}` });
    }
    Promise.resolve()
      .then(() => route.handler(req, res))
      .catch((error: unknown) => {
        logger.error({ path: url.pathname, err: describeError(error) }, 'request failed');
        json(res, 500, { error: 'internal error' });
      });
  });
}

/** The largest request body a chat route reads; a larger one is answered 413 without reading the rest. */
export const MAX_BODY_BYTES = 1_000_000;

/**
 * Reads a request body of at most `limit` bytes. A declared length over the limit fails before
 * anything is read, a longer stream as soon as it passes it (status 413 either way); the caller
 * answers with `connection: close` so the rest is never read.
 */
export async function readBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<Buffer> {
  const tooLarge = () => Object.assign(new Error(`request body larger than ${limit} bytes`), { status: 413 });
  if (Number(req.headers['content-length']) > limit) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw tooLarge();
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Answers a refused request with a short JSON error; a 413 also closes the connection (its body is left unread). */
export function refuse(res: ServerResponse, status: number, error: string): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'content-type': 'application/json', ...(status === 413 ? { connection: 'close' } : {}) });
  res.end(JSON.stringify({ error }));
}

/** Reads a JSON body (at most `limit` bytes). */
export async function readJson(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<unknown> {
  const text = (await readBody(req, limit)).toString('utf8');
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    throw Object.assign(new Error('request body is not JSON'), { status: 400 });
  }
}
