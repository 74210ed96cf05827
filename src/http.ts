/**
 * The one HTTP server of the process: GET /healthz, and the routes the chat surfaces mount
 * (Teams: POST /api/messages; Slack: POST /slack/events). Node's own server; each surface reads
 * its request as its framework needs (Slack verifies the signature over the raw body).
 */
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import { sql } from 'drizzle-orm';
import type { App } from './app.ts';
import { describeError } from './errors.ts';
import type { Logger } from './logger.ts';

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
      app.store.db
        .execute(sql`select 1`)
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

/** Reads a JSON body (at most `limit` bytes). */
export async function readJson(req: IncomingMessage, limit = 1_000_000): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw Object.assign(new Error(`request body larger than ${limit} bytes`), { status: 413 });
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    throw Object.assign(new Error('request body is not JSON'), { status: 400 });
  }
}
