/**
 * A snapshot's users numbered, and each group's members as those numbers: built once per
 * snapshot (memoised on the snapshot object, which is never changed once read) for the passes
 * that go over every membership of a run: the member digests (sync/plan/digest.ts), the groups
 * the digests vouch for (store/sync-state-digests.ts), the users in scope (membersOf) and each
 * member's local user (sync/plan/member-refs.ts). They read typed arrays where they
 * looked up each of ~700,000 member id strings in a hash (at 100,000 users, a few cache misses
 * each: ~0.5 µs a lookup, 0.4 s a pass).
 */
import type { DirectoryGroup, DirectorySnapshot, DirectoryUser } from './types.ts';

export interface SnapshotIndex {
  /** A user id → the index in `snapshot.users` of its first record. */
  readonly userIndex: ReadonlyMap<string, number>;
  /** `snapshot.groups[i]`'s members: user indexes, -1 for a member id no user of the snapshot has. */
  readonly members: readonly Int32Array[];
}

/** No user of the snapshot has the member id at this place. */
export const NOT_A_USER = -1;

const built = new WeakMap<DirectorySnapshot, SnapshotIndex>();

/**
 * Member numbers a reader already knows (it numbered the users itself), by the `groups` array it
 * returned, for the `users` array it returned with it. A snapshot holding both arrays (a copy
 * of the read with other fields: the same arrays) takes them instead of looking up every
 * member id; one with other arrays (narrowed, validated) builds its own.
 */
const given = new WeakMap<readonly DirectoryGroup[], { readonly users: readonly DirectoryUser[]; readonly members: readonly Int32Array[] }>();

/**
 * Records the members of `groups` as indexes into `users` (as snapshotIndex would number them:
 * the first record of each user id). The arrays must not change afterwards.
 */
export function provideMemberIndex(users: readonly DirectoryUser[], groups: readonly DirectoryGroup[], members: readonly Int32Array[]): void {
  given.set(groups, { users, members });
}

export function snapshotIndex(snapshot: DirectorySnapshot): SnapshotIndex {
  let index = built.get(snapshot);
  if (!index) {
    index = buildIndex(snapshot);
    built.set(snapshot, index);
  }
  return index;
}

function buildIndex(snapshot: DirectorySnapshot): SnapshotIndex {
  const userIndex = new Map<string, number>();
  snapshot.users.forEach((u, i) => {
    if (!userIndex.has(u.id)) userIndex.set(u.id, i);
  });
  const known = given.get(snapshot.groups);
  if (known && known.users === snapshot.users) return { userIndex, members: known.members };
  const members = snapshot.groups.map((g) => {
    const ids = g.memberIds;
    const out = new Int32Array(ids.length);
    for (let k = 0; k < ids.length; k++) out[k] = userIndex.get(ids[k]!) ?? NOT_A_USER;
    return out;
  });
  return { userIndex, members };
}

/** Flags over the snapshot's user indexes: the members of the groups whose id `groupIds` holds. */
export function membersOf(snapshot: DirectorySnapshot, groupIds: { has(id: string): boolean }): Uint8Array {
  const { members } = snapshotIndex(snapshot);
  const flags = new Uint8Array(snapshot.users.length);
  snapshot.groups.forEach((g, i) => {
    if (!groupIds.has(g.id)) return;
    for (const k of members[i]!) if (k !== NOT_A_USER) flags[k] = 1;
  });
  return flags;
}
