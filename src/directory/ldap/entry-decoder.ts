/**
 * Search entries decoded once, straight into RawEntry. ldapts builds each entry three times over:
 * an Attribute object per attribute holding every value twice (the bytes and a string from a
 * fatal TextDecoder), then a plain object (toObject), which toRawEntry turned into the Map the
 * readers use. For the searches of a read (tagged by `leanBufferAttributes`) a SearchEntry
 * subclass reads the attribute list from the BER reader into the Map directly, with the same
 * values ldapts would give: a value as a string when every value of the attribute is valid UTF-8
 * (a leading byte-order mark dropped, as TextDecoder does), as bytes (no copy) when one is not,
 * when the attribute is `;binary`, or when its name is listed as a buffer attribute; a requested
 * attribute the server did not send as an empty list. Other searches (root DSE, sync and DirSync
 * searches) go to ldapts unchanged.
 *
 * The one extension point used is the one sync-search.ts uses: the message parser's
 * `_getMessageFromProtocolOperation`. A change in that private method fails loudly here.
 */
import { isUtf8 } from 'node:buffer';
import { Ber, type BerReader, type Client, type Control, type Entry, SearchEntry } from 'ldapts';
import { hookMessageParser } from './parser-hook.ts';
import type { RawEntry, RawValue } from './transform.ts';

const OP_SEARCH_ENTRY = 0x64;
const SET = 0x31;
const EMPTY = Buffer.alloc(0);

/** The explicitBufferAttributes lists of searches to decode here (the list ldapts keeps on its SearchRequest). */
const tagged = new WeakSet<readonly string[]>();

/** A buffer-attribute list that marks the searches given it for decoding here. */
export function leanBufferAttributes(names: readonly string[]): string[] {
  const list = [...names];
  tagged.add(list);
  return list;
}

/** An entry decoded by LeanSearchEntry: toObject hands it over as it is. */
export class DecodedEntry implements RawEntry {
  readonly dn: string;
  readonly attrs: Map<string, readonly RawValue[]>;
  constructor(dn: string, attrs: Map<string, readonly RawValue[]>) {
    this.dn = dn;
    this.attrs = attrs;
  }
}

interface SearchRequestLike {
  readonly controls?: Control[];
  readonly attributes?: readonly string[];
  readonly explicitBufferAttributes?: readonly string[];
}

/** A value list: strings when all are valid UTF-8, else the bytes. */
function decodeValues(values: Buffer[], asBytes: boolean): RawValue[] {
  if (asBytes) return values;
  const out: string[] = new Array<string>(values.length);
  for (let k = 0; k < values.length; k++) {
    const bytes = values[k]!;
    if (!isUtf8(bytes)) return values;
    const bom = bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf;
    out[k] = bytes.toString('utf8', bom ? 3 : 0);
  }
  return out;
}

class LeanSearchEntry extends SearchEntry {
  readonly #request: SearchRequestLike;
  #decoded: DecodedEntry | null = null;

  constructor(messageId: number, request: SearchRequestLike) {
    super({ messageId });
    this.#request = request;
  }

  override parseMessage(reader: BerReader): void {
    this.name = reader.readString() ?? '';
    const buffers = this.#request.explicitBufferAttributes ?? [];
    const attrs = new Map<string, readonly RawValue[]>();
    reader.readSequence();
    const end = reader.offset + reader.length;
    while (reader.offset < end) {
      reader.readSequence();
      const type = reader.readString() ?? '';
      const values: Buffer[] = [];
      if (reader.peek() === SET && reader.readSequence(SET)) {
        const setEnd = reader.offset + reader.length;
        while (reader.offset < setEnd) values.push(reader.readString(Ber.OctetString, true) ?? EMPTY);
      }
      attrs.set(type.toLowerCase(), decodeValues(values, buffers.includes(type) || /;binary$/i.test(type)));
    }
    for (const name of this.#request.attributes ?? []) {
      const key = name.toLowerCase();
      if (!attrs.has(key)) attrs.set(key, []);
    }
    this.#decoded = new DecodedEntry(this.name, attrs);
  }

  override toObject(): Entry {
    return this.#decoded as unknown as Entry;
  }
}

const HOOKED = Symbol('leanEntries');

/** Lets `client` decode the entries of tagged searches here (see the module comment). */
export function enableLeanEntries(client: Client): void {
  hookMessageParser<SearchRequestLike>(client, HOOKED, 'search entries cannot be decoded', (next) => (messageId, operation, reader, request) => {
    const list = request?.explicitBufferAttributes;
    if (operation !== OP_SEARCH_ENTRY || !list || !tagged.has(list)) return next(messageId, operation, reader, request);
    const message = new LeanSearchEntry(messageId, request!);
    message.parse(reader, request!.controls ?? []);
    return message;
  });
}

/** An entry of a search as RawEntry: decoded here already, or converted from ldapts' object. */
export function rawEntryOf(entry: Entry, convert: (entry: Entry) => RawEntry): RawEntry {
  return entry instanceof DecodedEntry ? entry : convert(entry);
}
