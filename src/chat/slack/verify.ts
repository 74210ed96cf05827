/**
 * The gate in front of bolt at POST /slack/events (HTTP mode). It reads at most 1 MB (413 past
 * it, the rest unread), checks Slack's v0 signature and refuses a timestamp more than five
 * minutes from now in either direction (bolt refuses only old ones), then acts once per signed
 * request: the request's digest, and an event's id, are claimed in the store, so a replayed
 * request, or Slack retrying one it thinks was lost, is answered 200 and nothing runs again.
 * What passes goes to bolt with its body already read (bolt verifies it once more).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse as parseQuery } from 'node:querystring';
import { verifySlackRequest } from '@slack/bolt';
import { describeError } from '../../errors.ts';
import { readBody, refuse } from '../../http.ts';
import type { Logger } from '../../logger.ts';
import { claimChatRequest } from '../../store/chat-requests.ts';
import type { Db } from '../../store/db.ts';

/** How far a request's timestamp may be from now, either way (Slack's own rule is five minutes). */
export const MAX_CLOCK_SKEW_SECONDS = 300;

export type SignatureCheck = { readonly ok: true; readonly digest: string } | { readonly ok: false; readonly reason: string };

const header = (req: IncomingMessage, name: string): string | null => {
  const value = req.headers[name];
  return typeof value === 'string' ? value : null;
};

/**
 * The timestamp within five minutes of `nowMs` either way (bolt's verifier refuses only old
 * ones), then Slack's v0 signature over `v0:{timestamp}:{body}`, checked by bolt's own verifier.
 */
export function checkSignature(secret: string, timestamp: string | null, signature: string | null, body: Buffer, nowMs: number): SignatureCheck {
  if (!timestamp || !/^\d{1,12}$/.test(timestamp)) return { ok: false, reason: 'no x-slack-request-timestamp' };
  const skew = Number(timestamp) - Math.floor(nowMs / 1000);
  if (Math.abs(skew) > MAX_CLOCK_SKEW_SECONDS) return { ok: false, reason: `timestamp ${skew > 0 ? 'in the future' : 'too old'} by ${Math.abs(skew)} s` };
  if (!signature?.startsWith('v0=')) return { ok: false, reason: 'no v0 x-slack-signature' };
  try {
    verifySlackRequest({
      signingSecret: secret,
      body: body.toString('utf8'),
      headers: { 'x-slack-signature': signature, 'x-slack-request-timestamp': Number(timestamp) },
      nowMilliseconds: nowMs,
    });
  } catch {
    return { ok: false, reason: 'signature mismatch' };
  }
  // A valid signature is the request's digest: the key under which it acts once.
  return { ok: true, digest: signature.slice(3) };
}

/** Slack's SSL check: unsigned by design; bolt answers it (and drops anything else in the body). */
function isSslCheck(req: IncomingMessage, body: Buffer): boolean {
  return req.headers['content-type'] === 'application/x-www-form-urlencoded' && parseQuery(body.toString('utf8')).ssl_check === '1';
}

/** The Events API id of an event callback (Slack retries an event with the same id and a new signature). */
function eventIdOf(req: IncomingMessage, body: Buffer): string | null {
  if (!String(req.headers['content-type'] ?? '').startsWith('application/json')) return null;
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { type?: unknown; event_id?: unknown } | null;
    return parsed?.type === 'event_callback' && typeof parsed.event_id === 'string' ? parsed.event_id : null;
  } catch {
    return null;
  }
}

export interface SlackGateDeps {
  readonly signingSecret: string;
  readonly db: Db;
  readonly logger: Logger;
  readonly now?: () => Date;
}

/**
 * Reads and checks a request. Returns its raw body when bolt should handle it; otherwise it has
 * answered the request itself (413, 401, or 200 for a request already acted on) and returns null.
 */
export async function admitSlackRequest(req: IncomingMessage, res: ServerResponse, deps: SlackGateDeps): Promise<Buffer | null> {
  const now = deps.now?.() ?? new Date();
  let body: Buffer;
  try {
    body = await readBody(req);
  } catch (error) {
    const status = (error as { status?: number }).status ?? 400;
    deps.logger.warn({ status, err: describeError(error) }, 'Slack request refused: body not read');
    refuse(res, status, describeError(error));
    return null;
  }
  if (isSslCheck(req, body)) return body;
  const check = checkSignature(deps.signingSecret, header(req, 'x-slack-request-timestamp'), header(req, 'x-slack-signature'), body, now.getTime());
  if (!check.ok) {
    deps.logger.warn({ reason: check.reason, remote: req.socket.remoteAddress }, 'Slack request refused: not signed by Slack');
    refuse(res, 401, 'not signed by Slack');
    return null;
  }
  const eventId = eventIdOf(req, body);
  const first = await claimChatRequest(deps.db, [`slack:v0:${check.digest}`, ...(eventId === null ? [] : [`slack:event:${eventId}`])], now);
  if (!first) {
    const retry = header(req, 'x-slack-retry-num');
    deps.logger.info({ ...(eventId ? { eventId } : {}), ...(retry ? { retry } : {}) }, 'Slack request already acted on (a replay or a retry): answered, nothing done');
    res.writeHead(200);
    res.end();
    return null;
  }
  return body;
}
