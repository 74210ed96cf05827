/**
 * The tracked entries of an LDAP directory as last read (users and groups under the connection's
 * base DN, with the attributes the reader needs), keyed by stable id, with an index by normalised
 * DN. A change tracker's EntryChanges are applied to it; the snapshot is then read from it by the
 * same readScope as a full read (cache-access.ts), so both give the same result.
 *
 * Encoding (kept in DirectoryState.cache): gzip of a JSON document with one table of attribute
 * names and, per entry, its DN and (name index, values) pairs; a value that is the DN of a cached
 * entry (a member) is written as that entry's index, so the hundreds of thousands of member values
 * of a large directory cost a few bytes each and are decoded without allocating a string.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import type { EntryChanges } from './changes.ts';
import { DnSyntaxError, normalizeDn } from './dn.ts';
import type { RawEntry, RawValue } from './transform.ts';

export const CACHE_VERSION = 1;

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

type EncodedValue = string | number | { b: string };
interface EncodedCache {
  v: number;
  names: string[];
  /** [dn, id, nameIndex, values, nameIndex, values, …] */
  entries: (string | number | EncodedValue[])[][];
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

export class EntryCache {
  readonly #byId = new Map<string, CachedEntry>();
  #byKey: Map<string, CachedEntry> | null = null;

  get size(): number {
    return this.#byId.size;
  }

  values(): IterableIterator<CachedEntry> {
    return this.#byId.values();
  }

  get(id: string): CachedEntry | undefined {
    return this.#byId.get(id);
  }

  /** The entry at a normalised DN. */
  atKey(key: string): CachedEntry | undefined {
    if (!this.#byKey) {
      this.#byKey = new Map();
      for (const c of this.#byId.values()) if (c.key !== null) this.#byKey.set(c.key, c);
    }
    return this.#byKey.get(key);
  }

  set(id: string, entry: RawEntry): void {
    const old = this.#byId.get(id);
    const key = old && old.entry.dn === entry.dn ? old.key : keyOf(entry.dn);
    const cached: CachedEntry = new Cached(id, entry, key);
    if (old && old.key !== null && old.key !== key && this.#byKey?.get(old.key) === old) this.#byKey.delete(old.key);
    this.#byId.set(id, cached);
    if (key !== null) this.#byKey?.set(key, cached);
  }

  delete(id: string): boolean {
    const old = this.#byId.get(id);
    if (!old) return false;
    this.#byId.delete(id);
    if (old.key !== null && this.#byKey?.get(old.key) === old) this.#byKey.delete(old.key);
    return true;
  }

  /**
   * Applies what a tracker returned. `idOf` gives an entry's stable id (entries without one are
   * not kept). A refresh replaces everything; a delta merges (a partial entry replaces only the
   * attributes it carries), removes deletedIds, and with presentIds keeps only the entries listed
   * or changed.
   */
  apply(changes: EntryChanges, idOf: (entry: RawEntry) => string | null): ApplyCounts {
    let deleted = 0;
    if (changes.kind === 'refresh') {
      deleted = this.#byId.size;
      this.#byId.clear();
      this.#byKey = null;
    }
    const touched = new Set<string>();
    for (const entry of changes.entries) {
      const id = idOf(entry);
      if (!id) continue;
      touched.add(id);
      const old = this.#byId.get(id);
      if (changes.partial && old) {
        const attrs = new Map(old.entry.attrs);
        for (const [name, values] of entry.attrs) attrs.set(name, values);
        this.set(id, { dn: entry.dn || old.entry.dn, attrs });
      } else {
        this.set(id, entry);
      }
    }
    for (const id of changes.deletedIds) if (this.delete(id)) deleted++;
    if (changes.presentIds) {
      const present = new Set(changes.presentIds);
      for (const id of [...this.#byId.keys()]) {
        if (!present.has(id) && !touched.has(id) && this.delete(id)) deleted++;
      }
    }
    return { changed: touched.size, deleted: changes.kind === 'refresh' ? Math.max(0, deleted - touched.size) : deleted };
  }

  /** How many entries differ between two caches (present in one only, or with other values). */
  countDifferences(other: EntryCache, ignore: ReadonlySet<string> = new Set()): number {
    let diffs = 0;
    for (const [id, mine] of this.#byId) {
      if (ignore.has(id)) continue;
      const theirs = other.#byId.get(id);
      if (!theirs || !sameEntry(mine.entry, theirs.entry)) diffs++;
    }
    for (const id of other.#byId.keys()) if (!ignore.has(id) && !this.#byId.has(id)) diffs++;
    return diffs;
  }

  encode(): Uint8Array {
    const names: string[] = [];
    const nameIndex = new Map<string, number>();
    const dnIndex = new Map<string, number>();
    const all = [...this.#byId.values()];
    all.forEach((c, k) => dnIndex.set(c.entry.dn, k));
    const entries = all.map((c) => {
      const row: (string | number | EncodedValue[])[] = [c.entry.dn, c.id];
      for (const [name, values] of c.entry.attrs) {
        let n = nameIndex.get(name);
        if (n === undefined) {
          n = names.length;
          names.push(name);
          nameIndex.set(name, n);
        }
        row.push(n, values.map((v) => (typeof v === 'string' ? (dnIndex.get(v) ?? v) : { b: v.toString('base64') })));
      }
      return row;
    });
    const doc: EncodedCache = { v: CACHE_VERSION, names, entries };
    return gzipSync(JSON.stringify(doc), { level: 1 });
  }

  /** The stored cache, or null when it is missing, unreadable or from another version (then: a full read). */
  static decode(bytes: Uint8Array | null): EntryCache | null {
    if (!bytes) return null;
    let doc: EncodedCache;
    try {
      doc = JSON.parse(gunzipSync(bytes).toString('utf8')) as EncodedCache;
    } catch {
      return null;
    }
    if (doc?.v !== CACHE_VERSION || !Array.isArray(doc.entries)) return null;
    const dns = doc.entries.map((row) => row[0] as string);
    const cache = new EntryCache();
    for (const row of doc.entries) {
      const attrs = new Map<string, RawValue[]>();
      for (let k = 2; k < row.length; k += 2) {
        const values = row[k + 1] as EncodedValue[];
        attrs.set(
          doc.names[row[k] as number]!,
          values.map((v) => (typeof v === 'number' ? dns[v]! : typeof v === 'string' ? v : Buffer.from(v.b, 'base64'))),
        );
      }
      const dn = row[0] as string;
      cache.#byId.set(row[1] as string, new Cached(row[1] as string, { dn, attrs }));
    }
    return cache;
  }
}
