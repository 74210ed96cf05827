/**
 * ldapts builds every response message in its message parser's private
 * `_getMessageFromProtocolOperation` (ldapts 8.x). Two readers need messages ldapts does not build
 * as they want them: RFC 4533 sync searches (sync-search.ts) and the read's lean entries
 * (entry-decoder.ts). Each wraps that method once per client, handling its own requests and handing
 * every other message to the method it wrapped; the two chain when both are installed.
 */
import type { BerReader, Client } from 'ldapts';

export type BuildMessage<Request> = (messageId: number, operation: number, reader: BerReader, request: Request | undefined) => unknown;

interface ParserInternals {
  _getMessageFromProtocolOperation?: BuildMessage<unknown>;
  [key: symbol]: true | undefined;
}

/**
 * Installs `wrap` on the client's parser (once per `key`). `purpose` completes the error when this
 * ldapts has no such method: "this ldapts version has no message parser hook: <purpose>".
 */
export function hookMessageParser<Request>(client: Client, key: symbol, purpose: string, wrap: (next: BuildMessage<Request>) => BuildMessage<Request>): void {
  const parser = (client as unknown as { messageParser?: ParserInternals }).messageParser;
  const build = parser?._getMessageFromProtocolOperation;
  if (!parser || typeof build !== 'function') throw new Error(`this ldapts version has no message parser hook: ${purpose} (pin ldapts 8.x)`);
  if (parser[key]) return;
  parser[key] = true;
  const next: BuildMessage<Request> = (messageId, operation, reader, request) => build.call(parser, messageId, operation, reader, request);
  parser._getMessageFromProtocolOperation = wrap(next) as BuildMessage<unknown>;
}
