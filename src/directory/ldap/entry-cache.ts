/**
 * The tracked entries of an LDAP directory as last read (users and groups under the connection's
 * base DN, with the attributes the reader needs), keyed by stable id, with an index by normalised
 * DN. A change tracker's EntryChanges are applied to it; the snapshot is then read from it by the
 * same readScope as a full read (cache-access.ts), so both give the same result.
 *
 * Encoding (a section of the kept state, codec.ts): integer columns (per entry its id, DN,
 * normalised DN and attributes; per attribute its name and values) over one string table; a
 * member value that is the DN of a cached entry shares that entry's string. Decoding builds only
 * the index by id: an entry is made an object when it is first asked for, so an incremental read
 * that touches a few entries never builds the others.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { IntList, Reader, type StringTable, Writer } from './codec.ts';
import type { EntryChanges } from './changes.ts';
import { DnSyntaxError, normalizeDn } from './dn.ts';
import type { RawEntry, RawValue } from './transform.ts';

export const CACHE_VERSION = 2;

/** A key column value: the normalised DN is computed when first needed. */
export const NOT_COMPUTED = -2;

export interface CachedEntry {
  readonly id: string;
  readonly entry: RawEntry;
  /** Normalised DN (computed when first asked); null when the DN cannot be parsed (the entry is then found by no search). */
  readonly key: string | null;
}

/** A cached entry whose normalised DN is computed on first use: a search needs it only for DNs it cannot place by their spelling. */
class Cached implements CachedEntry {
  readonly id: string;
  readonly entry: RawEntry;
  #key: string | null | undefined;
  constructor(id: string, entry: RawEntry, key?: string | null) {
    this.id = id;
    this.entry = entry;
    this.#key = key;
  }
  get key(): string | null {
    if (this.#key === undefined) this.#key = keyOf(this.entry.dn);
    return this.#key;
  }
}

export interface ApplyCounts {
  readonly changed: number;
  readonly deleted: number;
}

/** Entries as decoded, made objects one by one when asked for. */
export class Base {
  readonly r: StringTable;
  /** The table holds the entries' strings alone (a cache built by a full read): write() can take it whole. */
  readonly ownTable: boolean;
  /** Per entry: id, dn, key (-1: none; -2: not computed yet), first attribute; one more row ends the last. */
  readonly entries: Int32Array;
  /** Per attribute: name, first value; one more row ends the last. */
  readonly attrs: Int32Array;
  /** A string index; a binary value is -(index + 2) of its latin1 text. */
  readonly values: Int32Array;
  constructor(r: StringTable, entries: Int32Array, attrs: Int32Array, values: Int32Array, ownTable = false) {
    this.r = r;
    this.ownTable = ownTable;
    this.entries = entries;
    this.attrs = attrs;
    this.values = values;
  }

  get count(): number {
    return this.entries.length / 4 - 1;
  }

  id(k: number): string {
    return this.r.str(this.entries[k * 4]!)!;
  }

  entry(k: number): Cached {
    const e = this.entries;
    const attrs = new Map<string, RawValue[]>();
    for (let a = e[k * 4 + 3]!; a < e[k * 4 + 7]!; a++) {
      const values: RawValue[] = [];
      for (let v = this.attrs[a * 2 + 1]!; v < this.attrs[a * 2 + 3]!; v++) {
        const at = this.values[v]!;
        values.push(at >= 0 ? this.r.str(at)! : Buffer.from(this.r.str(-at - 2)!, 'latin1'));
      }
      attrs.set(this.r.str(this.attrs[a * 2]!)!, values);
    }
    return new Cached(this.id(k), { dn: this.r.str(e[k * 4 + 1]!)!, attrs }, e[k * 4 + 2] === NOT_COMPUTED ? undefined : this.r.str(e[k * 4 + 2]!));
  }

  key(k: number): string | null {
    const at = this.entries[k * 4 + 2]!;
    return at === NOT_COMPUTED ? keyOf(this.r.str(this.entries[k * 4 + 1]!)!) : this.r.str(at);
  }
}

function keyOf(dn: string): string | null {
  try {
    return normalizeDn(dn);
  } catch (error) {
    if (error instanceof DnSyntaxError) return null;
    throw error;
  }
}

function sameValues(a: readonly RawValue[], b: readonly RawValue[]): boolean {
  if (a.length !== b.length) return false;
  const text = (v: RawValue) => (typeof v === 'string' ? v : `\u0000${v.toString('base64')}`);
  const sa = a.map(text).sort();
  const sb = b.map(text).sort();
  return sa.every((v, k) => v === sb[k]);
}

/** Two entries hold the same DN and the same values (in any order) for every attribute either has. */
export function sameEntry(a: RawEntry, b: RawEntry): boolean {
  if (a.dn !== b.dn) return false;
  const names = new Set([...a.attrs.keys(), ...b.attrs.keys()]);
  for (const name of names) {
    if (!sameValues(a.attrs.get(name) ?? [], b.attrs.get(name) ?? [])) return false;
  }
  return true;
}

/** What apply() changed, by id (for the kept snapshot). */
export interface AppliedIds {
  readonly changed: string[];
  readonly deleted: string[];
  /** The normalised DN each changed or deleted entry had before (undefined: not kept before). */
  readonly oldKeys: Map<string, string | null | undefined>;
}

interface Columns {
  readonly entries: Int32Array;
  readonly attrs: IntList;
  readonly values: IntList;
}

/** An entry's attribute rows copied from the base whose string table the writer took. */
function copyAttrs(base: Base, k: number, out: Columns): void {
  for (let a = base.entries[k * 4 + 3]!; a < base.entries[k * 4 + 7]!; a++) {
    out.attrs.push(base.attrs[a * 2]!, out.values.length);
    for (let v = base.attrs[a * 2 + 1]!; v < base.attrs[a * 2 + 3]!; v++) out.values.push(base.values[v]!);
  }
}

/** An entry's attributes written string by string: object classes and DN values share a string. */
function writeAttrs(w: Writer, entry: RawEntry, out: Columns, shared: { names: Map<string, number>; dns: Map<string, number>; classes: Map<string, number> }): void {
  for (const [name, list] of entry.attrs) {
    let n = shared.names.get(name);
    if (n === undefined) shared.names.set(name, (n = w.str(name)));
    out.attrs.push(n, out.values.length);
    const strings = name === 'objectclass' ? shared.classes : shared.dns;
    for (const v of list) {
      if (typeof v !== 'string') out.values.push(-w.str(v.toString('latin1')) - 2);
      else {
        let at = strings.get(v);
        if (at === undefined) {
          at = w.str(v);
          if (strings === shared.classes) shared.classes.set(v, at);
        }
        out.values.push(at);
      }
    }
  }
}

export class EntryCache {
  /** An entry, or its row in the decoded base until first asked for. */
  readonly #byId = new Map<string, CachedEntry | number>();
  #base: Base | null = null;
  /** Normalised DN → id. */
  #byKey: Map<string, string> | null = null;

  get size(): number {
    return this.#byId.size;
  }

  #at(id: string, slot: CachedEntry | number | undefined): CachedEntry | undefined {
    if (typeof slot !== 'number') return slot;
    const cached = this.#base!.entry(slot);
    this.#byId.set(id, cached);
    return cached;
  }

  *values(): IterableIterator<CachedEntry> {
    for (const [id, slot] of this.#byId) yield this.#at(id, slot)!;
  }

  /** Every entry, those not yet made objects made one at a time and not kept (a search over all of them). */
  *scan(): IterableIterator<CachedEntry> {
    for (const slot of this.#byId.values()) yield typeof slot === 'number' ? this.#base!.entry(slot) : slot;
  }

  ids(): IterableIterator<string> {
    return this.#byId.keys();
  }

  get(id: string): CachedEntry | undefined {
    return this.#at(id, this.#byId.get(id));
  }

  has(id: string): boolean {
    return this.#byId.has(id);
  }

  #keyOfSlot(slot: CachedEntry | number): string | null {
    if (typeof slot !== 'number') return slot.key;
    return this.#base!.key(slot);
  }

  /** The entry at a normalised DN (not kept as an object when not one already). */
  atKey(key: string): CachedEntry | undefined {
    if (!this.#byKey) {
      this.#byKey = new Map();
      for (const [id, slot] of this.#byId) {
        const k = this.#keyOfSlot(slot);
        if (k !== null) this.#byKey.set(k, id);
      }
    }
    const id = this.#byKey.get(key);
    // Made an object for the caller alone: a read over the whole cache keeps it compact.
    return id === undefined ? undefined : this.#peek(id);
  }

  set(id: string, entry: RawEntry): void {
    const old = this.get(id);
    const key = old && old.entry.dn === entry.dn ? old.key : keyOf(entry.dn);
    const cached: CachedEntry = new Cached(id, entry, key);
    if (old && old.key !== null && old.key !== key && this.#byKey?.get(old.key) === id) this.#byKey.delete(old.key);
    this.#byId.set(id, cached);
    if (key !== null) this.#byKey?.set(key, id);
  }

  delete(id: string): boolean {
    const slot = this.#byId.get(id);
    if (slot === undefined) return false;
    const key = this.#keyOfSlot(slot);
    this.#byId.delete(id);
    if (key !== null && this.#byKey?.get(key) === id) this.#byKey.delete(key);
    return true;
  }

  /**
   * Applies what a tracker returned. `idOf` gives an entry's stable id (entries without one are
   * not kept). A refresh replaces everything; a delta merges (a partial entry replaces only the
   * attributes it carries), removes deletedIds, and with presentIds keeps only the entries listed
   * or changed. `record` receives the ids changed and deleted.
   */
  apply(changes: EntryChanges, idOf: (entry: RawEntry) => string | null, record?: AppliedIds): ApplyCounts {
    let deleted = 0;
    if (changes.kind === 'refresh') {
      deleted = this.#byId.size;
      this.#byId.clear();
      this.#byKey = null;
    }
    const touched = new Set<string>();
    const remember = (id: string) => {
      if (record && !record.oldKeys.has(id)) {
        const slot = this.#byId.get(id);
        record.oldKeys.set(id, slot === undefined ? undefined : this.#keyOfSlot(slot));
      }
    };
    for (const entry of changes.entries) {
      const id = idOf(entry);
      if (!id) continue;
      remember(id);
      touched.add(id);
      const old = this.get(id);
      if (changes.partial && old) {
        const attrs = new Map(old.entry.attrs);
        for (const [name, values] of entry.attrs) attrs.set(name, values);
        this.set(id, { dn: entry.dn || old.entry.dn, attrs });
      } else {
        this.set(id, entry);
      }
    }
    const drop = (id: string) => {
      remember(id);
      if (!this.delete(id)) return;
      deleted++;
      record?.deleted.push(id);
    };
    for (const id of changes.deletedIds) drop(id);
    if (changes.presentIds) {
      const present = new Set(changes.presentIds);
      for (const id of [...this.#byId.keys()]) if (!present.has(id) && !touched.has(id)) drop(id);
    }
    record?.changed.push(...touched);
    return { changed: touched.size, deleted: changes.kind === 'refresh' ? Math.max(0, deleted - touched.size) : deleted };
  }

  /** An entry without keeping it as an object (it is made one again when asked for). */
  #peek(id: string): CachedEntry | undefined {
    const slot = this.#byId.get(id);
    return typeof slot === 'number' ? this.#base!.entry(slot) : slot;
  }

  /** How many entries differ between two caches (present in one only, or with other values). */
  countDifferences(other: EntryCache, ignore: ReadonlySet<string> = new Set()): number {
    let diffs = 0;
    for (const id of this.#byId.keys()) {
      if (ignore.has(id)) continue;
      const theirs = other.#peek(id);
      if (!theirs || !sameEntry(this.#peek(id)!.entry, theirs.entry)) diffs++;
    }
    for (const id of other.#byId.keys()) if (!ignore.has(id) && !this.#byId.has(id)) diffs++;
    return diffs;
  }

  /**
   * Writes the entries (a section of the kept state). A cache a full read built writes its string
   * table as it is and copies its columns; entries made objects are written string by string.
   */
  write(w: Writer): void {
    const base = this.#base?.ownTable && w.adopt(this.#base.r) ? this.#base : null;
    const columns = { entries: new Int32Array((this.#byId.size + 1) * 4), attrs: new IntList(), values: new IntList() };
    const names = new Map<string, number>();
    const dns = new Map<string, number>();
    const classes = new Map<string, number>();
    const order: [string, CachedEntry | number][] = [...this.#byId];
    let k = 0;
    for (const [id, slot] of order) {
      const row = k++ * 4;
      if (base && typeof slot === 'number') {
        columns.entries.set(base.entries.subarray(slot * 4, slot * 4 + 3), row);
        if (base.entries[slot * 4 + 2] === NOT_COMPUTED) columns.entries[row + 2] = w.str(base.key(slot));
        continue;
      }
      const dn = typeof slot === 'number' ? this.#base!.r.str(this.#base!.entries[slot * 4 + 1]!)! : slot.entry.dn;
      const at = w.str(dn);
      dns.set(dn, at);
      columns.entries[row] = w.str(id);
      columns.entries[row + 1] = at;
      columns.entries[row + 2] = w.str(this.#keyOfSlot(slot));
    }
    k = 0;
    for (const [, slot] of order) {
      columns.entries[k++ * 4 + 3] = columns.attrs.length / 2;
      if (base && typeof slot === 'number') copyAttrs(base, slot, columns);
      else writeAttrs(w, typeof slot === 'number' ? this.#base!.entry(slot).entry : slot.entry, columns, { names, dns, classes });
    }
    columns.entries[k * 4 + 3] = columns.attrs.length / 2;
    columns.attrs.push(-1, columns.values.length);
    w.ints(columns.entries);
    w.ints(columns.attrs.view());
    w.ints(columns.values.view());
  }

  /** The entries alone, compressed (tests; the kept state holds them with the snapshot: incremental.ts). */
  encode(): Uint8Array {
    const w = new Writer();
    w.json({ v: CACHE_VERSION });
    this.write(w);
    return gzipSync(w.finish(), { level: 1 });
  }

  /** What encode() wrote, or null when it is missing, unreadable or from another version. */
  static decode(bytes: Uint8Array | null): EntryCache | null {
    if (!bytes) return null;
    try {
      const r = new Reader(gunzipSync(bytes));
      if (r.json<{ v: number }>().v !== CACHE_VERSION) return null;
      return EntryCache.read(r);
    } catch {
      return null;
    }
  }

  /** A cache over columns a builder filled (entries made objects when first asked for). */
  static fromColumns(base: Base, rows: ReadonlyMap<string, number>): EntryCache {
    const cache = new EntryCache();
    cache.#base = base;
    for (const [id, row] of rows) cache.#byId.set(id, row);
    return cache;
  }

  /** Reads what write() wrote; entries are made objects when first asked for. */
  static read(r: Reader): EntryCache {
    const cache = new EntryCache();
    const base = new Base(r, r.ints(), r.ints(), r.ints());
    cache.#base = base;
    for (let k = 0; k < base.count; k++) cache.#byId.set(base.id(k), k);
    return cache;
  }
}
