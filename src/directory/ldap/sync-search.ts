/**
 * The wire side of RFC 4533 content synchronisation (refreshOnly) over an ldapts client.
 *
 * ldapts knows neither the Sync Request control nor the three messages a sync search answers
 * with: the Sync State control on each entry, the syncInfo Intermediate Response (which it does
 * not parse at all: an unknown protocol operation rejects the whole search) and the Sync Done
 * control on SearchResultDone. Its response controls are parsed by the request control of the same
 * type (one instance for every entry), so they cannot carry a state per entry either.
 *
 * The one extension point used: the client's message parser builds each response through
 * `_getMessageFromProtocolOperation(messageId, operation, reader, request)`. `enableSyncSearch`
 * wraps it on one client: for a request that carries a SyncRequestControl it builds the three
 * messages here (an entry and an intermediate response as SearchEntry subclasses, so ldapts
 * collects them in order like any entry; the done message as a SearchResponse that hands its
 * control to the request control); every other response goes to ldapts unchanged. A change in
 * that private method fails loudly here (test/integration/ldap-syncrepl.test.ts covers it).
 */
import { Ber, BerReader, BerWriter, type Client, Control, SearchEntry, SearchResponse, type Filter, type Entry } from 'ldapts';
import { hookMessageParser } from './parser-hook.ts';

export const SYNC_REQUEST_OID = '1.3.6.1.4.1.4203.1.9.1.1';
const SYNC_STATE_OID = '1.3.6.1.4.1.4203.1.9.1.2';
const SYNC_DONE_OID = '1.3.6.1.4.1.4203.1.9.1.3';

const OP_SEARCH_ENTRY = 0x64;
const OP_SEARCH_DONE = 0x65;
const OP_INTERMEDIATE = 0x79;
const CONTROLS = 0xa0;

/** RFC 4533 result code: the server cannot continue from the cookie; the client must refresh in full. */
export const SYNC_REFRESH_REQUIRED = 4096;

export type SyncState = 'present' | 'add' | 'modify' | 'delete';
const STATES: readonly SyncState[] = ['present', 'add', 'modify', 'delete'];

/** What a sync search answered, in the order the server sent it. */
export type SyncMessage =
  | { readonly type: 'entry'; readonly state: SyncState; readonly uuid: string; readonly entry: Entry }
  | { readonly type: 'idSet'; readonly refreshDeletes: boolean; readonly uuids: readonly string[] }
  | { readonly type: 'refreshDelete' | 'refreshPresent'; readonly refreshDone: boolean }
  | { readonly type: 'newCookie' };

export interface SyncDone {
  readonly cookie: Buffer | null;
  /** True: the refresh named deletions (entries it did not mention are unchanged); false: a present phase (entries it did not mention are gone). */
  readonly refreshDeletes: boolean;
}

export interface SyncSearchResult {
  readonly messages: readonly SyncMessage[];
  readonly done: SyncDone;
}

/** syncUUID (16 bytes) as the text form of entryUUID. */
export function formatUuid(bytes: Buffer): string {
  const h = bytes.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** syncRequestValue ::= SEQUENCE { mode ENUMERATED { refreshOnly(1) }, cookie OCTET STRING OPTIONAL, reloadHint BOOLEAN DEFAULT FALSE } */
export class SyncRequestControl extends Control {
  readonly cookie: Buffer | null;
  done: SyncDone | null = null;
  constructor(cookie: Buffer | null) {
    super(SYNC_REQUEST_OID, { critical: true });
    this.cookie = cookie;
  }
  override writeControl(writer: BerWriter): void {
    const value = new BerWriter();
    value.startSequence();
    value.writeEnumeration(1);
    if (this.cookie) value.writeBuffer(this.cookie, Ber.OctetString);
    value.endSequence();
    writer.writeBuffer(value.buffer, Ber.OctetString);
  }
}

interface RawControl {
  readonly type: string;
  readonly value: Buffer;
}

/** The controls after a response's protocol operation (ldapts' own parser keeps only those it knows). */
function readControls(reader: BerReader): RawControl[] {
  const out: RawControl[] = [];
  if (reader.peek() !== CONTROLS) return out;
  reader.readSequence();
  const end = reader.offset + reader.length;
  while (reader.offset < end) {
    reader.readSequence();
    const controlEnd = reader.offset + reader.length;
    const type = reader.readString() ?? '';
    if (reader.offset < controlEnd && reader.peek() === Ber.Boolean) reader.readBoolean();
    const value = reader.offset < controlEnd ? (reader.readString(Ber.OctetString, true) ?? Buffer.alloc(0)) : Buffer.alloc(0);
    reader.offset = controlEnd;
    out.push({ type, value });
  }
  return out;
}

/** An optional syncCookie, then an optional BOOLEAN, inside the current sequence ending at `end`. */
function readCookieAndFlag(reader: BerReader, end: number, flagDefault: boolean): { cookie: Buffer | null; flag: boolean } {
  let cookie: Buffer | null = null;
  let flag = flagDefault;
  if (reader.offset < end && reader.peek() === Ber.OctetString) cookie = reader.readString(Ber.OctetString, true);
  if (reader.offset < end && reader.peek() === Ber.Boolean) flag = reader.readBoolean() ?? flagDefault;
  return { cookie, flag };
}

const SYNC = Symbol('sync');
type Tagged = Entry & { [SYNC]?: SyncMessage };

/** A SearchResultEntry with its Sync State control: syncStateValue ::= SEQUENCE { state ENUMERATED, entryUUID OCTET STRING, cookie OPTIONAL } */
class SyncEntryMessage extends SearchEntry {
  state: SyncState = 'add';
  uuid = '';
  override parse(reader: BerReader): void {
    this.controls = [];
    this.parseMessage(reader);
    const control = readControls(reader).find((c) => c.type === SYNC_STATE_OID);
    if (!control) throw new Error(`the server sent ${this.name} without a Sync State control`);
    const value = new BerReader(control.value);
    value.readSequence();
    this.state = STATES[value.readEnumeration() ?? 1] ?? 'add';
    this.uuid = formatUuid(value.readString(Ber.OctetString, true) ?? Buffer.alloc(16));
  }
  override toObject(requestAttributes: string[], explicitBufferAttributes: string[]): Entry {
    const entry = super.toObject(requestAttributes, explicitBufferAttributes) as Tagged;
    entry[SYNC] = { type: 'entry', state: this.state, uuid: this.uuid, entry };
    return entry;
  }
}

/** A syncInfo Intermediate Response: IntermediateResponse ::= [APPLICATION 25] SEQUENCE { responseName [0] OPTIONAL, responseValue [1] OPTIONAL } */
class SyncInfoMessage extends SearchEntry {
  info: SyncMessage = { type: 'newCookie' };
  override parse(reader: BerReader): void {
    this.controls = [];
    const end = reader.offset + reader.length;
    let value: Buffer | null = null;
    while (reader.offset < end) {
      const tag = reader.peek();
      const bytes = reader.readString(tag ?? 0x80, true);
      if (tag === 0x81) value = bytes;
    }
    readControls(reader);
    if (value) this.info = parseSyncInfo(value);
  }
  override toObject(): Entry {
    return { dn: '', [SYNC]: this.info } as Tagged;
  }
}

/**
 * syncInfoValue ::= CHOICE { newcookie [0] syncCookie, refreshDelete [1] SEQUENCE { cookie OPTIONAL, refreshDone BOOLEAN DEFAULT TRUE },
 * refreshPresent [2] SEQUENCE { same }, syncIdSet [3] SEQUENCE { cookie OPTIONAL, refreshDeletes BOOLEAN DEFAULT FALSE, syncUUIDs SET OF OCTET STRING } }
 */
export function parseSyncInfo(bytes: Buffer): SyncMessage {
  const reader = new BerReader(bytes);
  const tag = reader.peek();
  if (tag === 0x80) return { type: 'newCookie' };
  reader.readSequence();
  const end = reader.offset + reader.length;
  if (tag === 0xa1 || tag === 0xa2) {
    const { flag } = readCookieAndFlag(reader, end, true);
    return { type: tag === 0xa1 ? 'refreshDelete' : 'refreshPresent', refreshDone: flag };
  }
  if (tag !== 0xa3) throw new Error(`unknown syncInfo choice 0x${(tag ?? 0).toString(16)}`);
  const { flag } = readCookieAndFlag(reader, end, false);
  const uuids: string[] = [];
  reader.readSequence(0x31);
  const setEnd = reader.offset + reader.length;
  while (reader.offset < setEnd) uuids.push(formatUuid(reader.readString(Ber.OctetString, true) ?? Buffer.alloc(16)));
  return { type: 'idSet', refreshDeletes: flag, uuids };
}

/** SearchResultDone with its Sync Done control: syncDoneValue ::= SEQUENCE { cookie OPTIONAL, refreshDeletes BOOLEAN DEFAULT FALSE } */
class SyncDoneMessage extends SearchResponse {
  readonly #request: SyncRequestControl;
  constructor(messageId: number, request: SyncRequestControl) {
    super({ messageId });
    this.#request = request;
  }
  override parse(reader: BerReader): void {
    this.controls = [];
    this.parseMessage(reader);
    const control = readControls(reader).find((c) => c.type === SYNC_DONE_OID);
    if (!control) return;
    const value = new BerReader(control.value);
    value.readSequence();
    const { cookie, flag } = readCookieAndFlag(value, value.offset + value.length, false);
    this.#request.done = { cookie: cookie && cookie.length ? Buffer.from(cookie) : null, refreshDeletes: flag };
  }
}

const HOOKED = Symbol('syncSearch');

/** Lets `client` run sync searches (see the module comment); other requests are untouched. */
export function enableSyncSearch(client: Client): void {
  hookMessageParser<{ controls?: Control[] }>(client, HOOKED, 'RFC 4533 content synchronisation cannot be read', (next) => (messageId, operation, reader, request) => {
    const control = request?.controls?.find((c): c is SyncRequestControl => c instanceof SyncRequestControl);
    if (!control) return next(messageId, operation, reader, request);
    let message: SyncEntryMessage | SyncInfoMessage | SyncDoneMessage;
    if (operation === OP_SEARCH_ENTRY) message = new SyncEntryMessage({ messageId });
    else if (operation === OP_INTERMEDIATE) message = new SyncInfoMessage({ messageId });
    else if (operation === OP_SEARCH_DONE) message = new SyncDoneMessage(messageId, control);
    else return next(messageId, operation, reader, request);
    message.parse(reader);
    return message;
  });
}

export interface SyncSearchRequest {
  readonly base: string;
  readonly filter: string | Filter;
  readonly attributes: readonly string[];
  readonly cookie: Buffer | null;
  readonly explicitBufferAttributes?: readonly string[];
}

/** One refreshOnly sync search, to its SearchResultDone. A rejected cookie throws ldapts' error (code 4096). */
export async function syncSearch(client: Client, request: SyncSearchRequest): Promise<SyncSearchResult> {
  enableSyncSearch(client);
  const control = new SyncRequestControl(request.cookie);
  const { searchEntries } = await client.search(
    request.base,
    {
      scope: 'sub',
      filter: request.filter,
      attributes: [...request.attributes],
      explicitBufferAttributes: [...(request.explicitBufferAttributes ?? [])],
    },
    control,
  );
  const messages = searchEntries.map((e) => (e as Tagged)[SYNC]).filter((m): m is SyncMessage => m !== undefined);
  for (const m of messages) if (m.type === 'entry') delete (m.entry as Tagged)[SYNC];
  return { messages, done: control.done ?? { cookie: null, refreshDeletes: false } };
}
