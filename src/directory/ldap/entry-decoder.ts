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
 * searches) go to ldapts unchanged. A search may also name attributes whose values repeat across
 * entries (member values): their ASCII values, and the entries' DNs, come from a value interner,
 * one string per distinct value, and the entry carries their numbers (value-interner.ts).
 *
 * The one extension point used is the one sync-search.ts uses: the message parser's
 * `_getMessageFromProtocolOperation`. A change in that private method fails loudly here.
 */
import { isUtf8 } from 'node:buffer';
import { Ber, type BerReader, type Client, type Control, type Entry, SearchEntry } from 'ldapts';
import { hookMessageParser } from './parser-hook.ts';
import type { RawEntry, RawValue } from './transform.ts';
import type { ValueInterner } from './value-interner.ts';

const OP_SEARCH_ENTRY = 0x64;
const SET = 0x31;
const EMPTY = Buffer.alloc(0);

/** Attributes whose values repeat across entries, and the interner that gives one string per value. */
export interface InternedValues {
  /** Lowercase names; a ranged `member;range=…` is named by its base name. */
  readonly attributes: ReadonlySet<string>;
  readonly values: ValueInterner;
}

/** The explicitBufferAttributes lists of searches to decode here (the list ldapts keeps on its SearchRequest). */
const tagged = new WeakMap<readonly string[], InternedValues | null>();

/**
 * A buffer-attribute list that marks the searches given it for decoding here. With `interned`, the
 * values of those attributes and the entries' DNs go through its interner (value-interner.ts).
 */
export function leanBufferAttributes(names: readonly string[], interned: InternedValues | null = null): string[] {
  const list = [...names];
  tagged.set(list, interned);
  return list;
}

/** What an entry's interned values are numbered as, by the interner that numbered them. */
export interface InternedIds {
  readonly by: ValueInterner;
  /** The entry's DN (-1: not interned). */
  readonly name: number;
  /** The values of the interned attributes, by attribute key (the order of the strings). */
  readonly values: ReadonlyMap<string, Int32Array>;
}

/** An entry decoded by LeanSearchEntry: toObject hands it over as it is. */
export class DecodedEntry implements RawEntry {
  readonly dn: string;
  readonly attrs: Map<string, readonly RawValue[]>;
  readonly interned: InternedIds | null;
  constructor(dn: string, attrs: Map<string, readonly RawValue[]>, interned: InternedIds | null = null) {
    this.dn = dn;
    this.attrs = attrs;
    this.interned = interned;
  }
}

/** The numbers of an entry's interned values of `key`, if it was decoded with them. */
export function internedIds(entry: RawEntry, key: string): { by: ValueInterner; ids: Int32Array } | null {
  if (!(entry instanceof DecodedEntry) || !entry.interned) return null;
  const ids = entry.interned.values.get(key);
  return ids ? { by: entry.interned.by, ids } : null;
}

/** The entry without the numbers of its interned values (one kept beyond its read). */
export function withoutNumbers(entry: RawEntry): RawEntry {
  return entry instanceof DecodedEntry && entry.interned ? new DecodedEntry(entry.dn, entry.attrs) : entry;
}

/** The number of an entry's interned DN, if it was decoded with one. */
export function internedName(entry: RawEntry): { by: ValueInterner; id: number } | null {
  if (!(entry instanceof DecodedEntry) || !entry.interned || entry.interned.name < 0) return null;
  return { by: entry.interned.by, id: entry.interned.name };
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

/** The numbers of a set's values that ends at `end`; null (the reader where it was) when one cannot be interned. */
function internedSet(reader: BerReader, end: number, interner: ValueInterner): Int32Array | null {
  const start = reader.offset;
  const out: number[] = [];
  while (reader.offset < end) {
    const id = interner.read(reader);
    if (id < 0) {
      reader.offset = start;
      return null;
    }
    out.push(id);
  }
  return Int32Array.from(out);
}

class LeanSearchEntry extends SearchEntry {
  readonly #request: SearchRequestLike;
  readonly #interned: InternedValues | null;
  #decoded: DecodedEntry | null = null;

  constructor(messageId: number, request: SearchRequestLike, interned: InternedValues | null) {
    super({ messageId });
    this.#request = request;
    this.#interned = interned;
  }

  override parseMessage(reader: BerReader): void {
    const interned = this.#interned;
    const name = interned ? interned.values.read(reader) : -1;
    this.name = name >= 0 ? interned!.values.string(name) : (reader.readString() ?? '');
    const ids = interned ? new Map<string, Int32Array>() : null;
    const buffers = this.#request.explicitBufferAttributes ?? [];
    const attrs = new Map<string, readonly RawValue[]>();
    reader.readSequence();
    const end = reader.offset + reader.length;
    while (reader.offset < end) {
      reader.readSequence();
      const type = reader.readString() ?? '';
      const key = type.toLowerCase();
      const asBytes = buffers.includes(type) || /;binary$/i.test(type);
      const values: Buffer[] = [];
      if (reader.peek() === SET && reader.readSequence(SET)) {
        const setEnd = reader.offset + reader.length;
        const numbers = interned && !asBytes && interned.attributes.has(baseName(key)) ? internedSet(reader, setEnd, interned.values) : null;
        if (numbers) {
          const strings = new Array<string>(numbers.length);
          for (let k = 0; k < numbers.length; k++) strings[k] = interned!.values.string(numbers[k]!);
          attrs.set(key, strings);
          ids!.set(key, numbers);
          continue;
        }
        while (reader.offset < setEnd) values.push(reader.readString(Ber.OctetString, true) ?? EMPTY);
      }
      ids?.delete(key);
      attrs.set(key, decodeValues(values, asBytes));
    }
    for (const name of this.#request.attributes ?? []) {
      const key = name.toLowerCase();
      if (!attrs.has(key)) attrs.set(key, []);
    }
    this.#decoded = new DecodedEntry(this.name, attrs, interned ? { by: interned.values, name, values: ids! } : null);
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
    const message = new LeanSearchEntry(messageId, request!, tagged.get(list) ?? null);
    message.parse(reader, request!.controls ?? []);
    return message;
  });
}

/** An attribute's name without its options (`member;range=0-1499` → `member`). */
function baseName(key: string): string {
  const cut = key.indexOf(';');
  return cut < 0 ? key : key.slice(0, cut);
}

/** An entry of a search as RawEntry: decoded here already, or converted from ldapts' object. */
export function rawEntryOf(entry: Entry, convert: (entry: Entry) => RawEntry): RawEntry {
  return entry instanceof DecodedEntry ? entry : convert(entry);
}
