/**
 * Full garbage collections during a read of many members, where the process runs with
 * `--expose-gc` (npm start, npm run cli, groupsync's sync: see src/memory.ts; sync/run.ts collects
 * between a run's phases). Each page Graph answers is decoded into a string and an object per
 * member, garbage as soon as the page is read; it lives long enough to reach V8's old generation,
 * which is collected only once it has grown by a factor of what survived the last collection.
 * Through a read of 700,000 memberships that garbage reached ~100 MB over a live model of ~50 MB;
 * a collection every MEMBERS_PER_COLLECTION members read keeps it to what that many leave.
 * Without the flag, nothing is done.
 */
import { collectGarbage } from '../../memory.ts';

/** Member objects read between two collections: about 10 MB of Graph's JSON (five properties each). */
export const MEMBERS_PER_COLLECTION = 50_000;

/** Counts the member objects read and collects each time another MEMBERS_PER_COLLECTION were. */
export class CollectionPace {
  #since = 0;

  read(objects: number): void {
    this.#since += objects;
    if (this.#since < MEMBERS_PER_COLLECTION) return;
    this.#since = 0;
    collectGarbage();
  }
}
