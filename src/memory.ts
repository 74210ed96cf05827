/**
 * A full garbage collection, where the process runs with `--expose-gc` (npm start, npm run cli,
 * groupsync's sync and approve): between the phases of a run (sync/run.ts) and during a long read
 * (CollectionPace, below). What a phase leaves behind (a read's decoded pages, a plan's
 * intermediate maps) lived long enough to reach V8's old generation, which is collected only when
 * it has grown by a factor of what survived the last collection: without a collection here, the
 * next phase allocates on top of the last one's garbage. Measured on a first sync of 100,000
 * users: peak RSS 365 → 310 MB for about 0.1 s of marking the ~80 MB that is live (`npm run
 * bench`). Without the flag, nothing is done.
 */
export function collectGarbage(): void {
  // Looked up at each call: the flag's gc() is a global, installed before any module runs.
  (globalThis as { gc?: () => void }).gc?.();
}

/**
 * Full collections during a long read. Each page a directory answers is decoded into a string
 * (and on Graph an object) per value, garbage once the page is read; it lives long enough to
 * reach the old generation, so over a read of a large directory it piles up on the live data until
 * the read ends: on LDAP, 100,000 users and 700,000 member values left the heap at 176 MB for 77 MB
 * live (peak RSS 317 MB; with these collections 261 MB). A collection marks everything live, so
 * a fixed pace costs more the larger the directory (at a million users, one every 400,000 values
 * was ~38 collections of ~1 s): the pace grows with the read instead. A collection comes once
 * the values read since the last one reach `first`, and `growth` times all read before it: with
 * a growth of 1, at `first`, twice, four times… `first` (log2 of the read's values over `first`
 * collections, the garbage left under what was read before). Without `--expose-gc`, nothing.
 */
export class CollectionPace {
  readonly #first: number;
  readonly #growth: number;
  #since = 0;
  #before = 0;

  constructor(first: number, growth: number) {
    this.#first = first;
    this.#growth = growth;
  }

  read(values: number): void {
    this.#since += values;
    if (this.#since < Math.max(this.#first, this.#before * this.#growth)) return;
    this.#before += this.#since;
    this.#since = 0;
    collectGarbage();
  }
}
