/** A new entry cache from a full read, entry by entry (entry-cache.ts holds the cache itself). */
import { IntList, TableBuilder } from './codec.ts';
import { Base, EntryCache, NOT_COMPUTED } from './entry-cache.ts';
import type { RawEntry } from './transform.ts';

/**
 * Entries added one by one into integer columns over a string table (a full read): the cache it
 * builds holds no entry object until one is asked for, and attribute names, object classes, DNs
 * and member values each hold one string however many entries name them.
 */
export class EntryCacheBuilder {
  readonly #table = new TableBuilder();
  readonly #entries = new IntList();
  readonly #attrs = new IntList();
  readonly #values = new IntList();
  readonly #rows = new Map<string, number>();
  readonly #shared = new Map<string, number>();
  readonly #sharedAttributes: ReadonlySet<string>;

  constructor(memberAttributes: readonly string[]) {
    this.#sharedAttributes = new Set(['objectclass', ...memberAttributes.map((a) => a.toLowerCase())]);
  }

  get size(): number {
    return this.#rows.size;
  }

  #share(value: string): number {
    let at = this.#shared.get(value);
    if (at === undefined) this.#shared.set(value, (at = this.#table.add(value)));
    return at;
  }

  /** Adds an entry (a second entry with the same id replaces the first). */
  add(id: string, entry: RawEntry): void {
    const row = this.#entries.length / 4;
    this.#entries.push(this.#table.add(id), this.#share(entry.dn), NOT_COMPUTED, this.#attrs.length / 2);
    for (const [name, list] of entry.attrs) {
      this.#attrs.push(this.#share(name), this.#values.length);
      const shared = this.#sharedAttributes.has(name);
      for (const v of list) {
        if (typeof v !== 'string') this.#values.push(-this.#table.add(v.toString('latin1')) - 2);
        else this.#values.push(shared ? this.#share(v) : this.#table.add(v));
      }
    }
    this.#rows.set(id, row);
  }

  build(): EntryCache {
    this.#entries.push(-1, -1, -1, this.#attrs.length / 2);
    this.#attrs.push(-1, this.#values.length);
    this.#shared.clear();
    const base = new Base(this.#table.finish(), this.#entries.view(), this.#attrs.view(), this.#values.view(), true);
    return EntryCache.fromColumns(base, this.#rows);
  }
}
