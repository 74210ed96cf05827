/**
 * Which local user each directory user's memberships follow (a local user id, or its own
 * directory id for a user this plan creates), by the user's index in the snapshot
 * (domain/snapshot-index.ts). The memberships step reads it once per member of every planned
 * group (705,000 times on a first sync of 100,000 users): an Int32Array read where a string-keyed
 * Map cost a hash lookup each.
 */
import { NOT_A_USER, snapshotIndex } from '../../domain/snapshot-index.ts';
import type { DirectorySnapshot } from '../../domain/types.ts';
import type { Ref } from '../../domain/plan.ts';

const NONE = -1;
/** Created by this plan: the ref is the user's own directory id. */
const CREATED = -2;

export class MemberRefs {
  readonly #snapshot: DirectorySnapshot;
  readonly #userIndex: ReadonlyMap<string, number>;
  readonly #local: Int32Array;

  constructor(snapshot: DirectorySnapshot) {
    this.#snapshot = snapshot;
    this.#userIndex = snapshotIndex(snapshot).userIndex;
    this.#local = new Int32Array(snapshot.users.length).fill(NONE);
  }

  /** The user at snapshot index `i` follows local user `localUserId`. */
  setAt(i: number, localUserId: number): void {
    this.#local[i] = localUserId;
  }

  /** The user `id` of the snapshot follows local user `ref`, or is created (`ref` its own id). */
  set(id: string, ref: Ref): void {
    const i = this.#userIndex.get(id);
    if (i === undefined) return;
    if (typeof ref === 'number') this.#local[i] = ref;
    else if (ref === id) this.#local[i] = CREATED;
    else throw new Error(`a created user's memberships follow itself, not ${ref}`);
  }

  /** The ref of the user at snapshot index `i` (NOT_A_USER: none). */
  at(i: number): Ref | undefined {
    if (i === NOT_A_USER) return undefined;
    const local = this.#local[i]!;
    if (local === NONE) return undefined;
    return local === CREATED ? this.#snapshot.users[i]!.id : local;
  }

  /** [directory id, ref] of every user that has one, in the snapshot's order. */
  *entries(): IterableIterator<[string, Ref]> {
    for (let i = 0; i < this.#local.length; i++) {
      const ref = this.at(i);
      if (ref !== undefined) yield [this.#snapshot.users[i]!.id, ref];
    }
  }
}
