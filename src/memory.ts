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
 * Full collections during a long read, one each time another `every` values were decoded. Each
 * page a directory answers is decoded into a string (and on Graph an object) per value, garbage
 * once the page is read; it lives long enough to reach the old generation, so over a read of a
 * large directory it piles up on the live data until the read ends: on LDAP, 100,000 users and
 * 700,000 member values left the heap at 176 MB for 77 MB live (peak RSS 317 MB; collecting
 * every 400,000 values: 269 MB, for about 0.2 s of marking). Without `--expose-gc`, nothing.
 */
export class CollectionPace {
  readonly #every: number;
  #since = 0;

  constructor(every: number) {
    this.#every = every;
  }

  read(values: number): void {
    this.#since += values;
    if (this.#since < this.#every) return;
    this.#since = 0;
    collectGarbage();
  }
}
