/**
 * The digest-assisted half of loadStoreState: the snapshot's digests are compared with those the
 * last full-scope run stored, and only what may have changed is loaded.
 *
 * A snapshot user is intact when user_digests holds a digest for it (whatever its value) and its
 * mapping is mapped, in scope, to a local user that exists. The trigger on `mappings` deletes the
 * digest when an admin or another run changes the row's status, local user, scope or attributes
 * (and the local user's deletion sets the row's local user to null): so an intact user's local
 * user is the one its groups' memberships were last written with, whatever its attributes now.
 * It is stable when, besides, the stored digest equals the read one and its local user still has
 * the mapping's login, mail, display name and active = enabled (checked here, so an edit of the
 * local user by anyone is seen): nothing about it is to be written, and its mapping is not loaded.
 *
 * A linked group is unchanged when group_digests holds the same member digest for its link and
 * every member is intact: its memberships are then what the last run left, whichever members'
 * attributes changed, and they are not loaded. A changed group's stable members are not loaded
 * either: their local users come with the digests (StoreState.stableUsers).
 */
import { sql } from 'drizzle-orm';
import type { DirectorySnapshot, MatchKey } from '../domain/types.ts';
import type { LinkState, SnapshotDigests, StoreState } from '../domain/plan.ts';
import { type Executor, queryRows } from './db.ts';
import { type LoadedMappings, loadCandidates, loadMappings, loadMemberships, loadShared, pendingKeys } from './sync-rows.ts';
import { p } from './sql.ts';
import { NOT_A_USER, membersOf, snapshotIndex } from '../domain/snapshot-index.ts';

type ChangedState = Omit<StoreState, 'links' | 'unlinked' | 'duplicates' | 'localGroupsByName'>;

export async function loadChangedState(
  db: Executor,
  connection: string,
  snapshot: DirectorySnapshot,
  matchKey: MatchKey,
  links: readonly LinkState[],
  unlinked: ReadonlySet<string>,
  digests: SnapshotDigests,
): Promise<ChangedState> {
  const ids = [...digests.users.keys()];
  const { stable, intact } = await vouchedUsers(db, connection, snapshot, digests);
  const { unchanged, unloadedMemberships } = unchangedGroups(snapshot, links, digests, intact);
  forgetUnsynced(snapshot, links, unlinked, stable);
  const mappings = await loadUserRows(db, connection, ids, stable);
  const localUsers = new Map(mappings.locals);
  const candidatesByKey = await loadCandidates(db, matchKey, pendingKeys(snapshot, mappings, stable, matchKey), localUsers);
  await loadClaims(db, connection, candidatesByKey, mappings, stable);
  for (const [id, local] of mappings.locals) localUsers.set(id, local);
  // Shared local users matter for those who left the scope; looked up for the loaded ones (all after a fallback: no list).
  const sharedLocalUsers = await loadShared(db, connection, stable.size ? [...mappings.locals.keys()] : null);
  const changedGroups = links.flatMap((l) => (l.localGroupId === null || unchanged.has(l.directoryId) ? [] : [l.localGroupId]));
  const memberships = await loadMemberships(db, connection, links, changedGroups);
  return { mappings: mappings.states, localUsers, candidatesByKey, sharedLocalUsers, memberships, stableUsers: stable, unchangedGroups: unchanged, unloadedMemberships };
}

/**
 * The mappings of the users not stable and of those who left the scope. When most users changed,
 * one scan of the connection's mappings is cheaper than looking each up: every mapping is then
 * loaded, and planned as a full load would (`stable` emptied); unchanged groups stay unchanged.
 */
async function loadUserRows(db: Executor, connection: string, ids: readonly string[], stable: Map<string, number>): Promise<LoadedMappings> {
  const load = ids.filter((id) => !stable.has(id));
  if (load.length * 2 > ids.length) {
    stable.clear();
    return loadMappings(db, sql`m.connection = ${p(connection)}`);
  }
  const mappings = await loadMappings(db, sql`m.connection = ${p(connection)} and m.directory_id = any(${p(load)}::text[])`);
  const departed = await departedUsers(db, connection, ids, stable.size + [...mappings.states.values()].filter((m) => m.inScope).length);
  return departed.length ? loadMappings(db, sql`m.connection = ${p(connection)} and m.directory_id = any(${p(departed)}::text[])`, mappings) : mappings;
}

/**
 * Users who left the scope (in scope until now, not in the snapshot): deactivated or refreshed.
 * None when the connection has no more users in scope than the snapshot's (`inScopeRead`), the
 * common case, found by one count; otherwise the in-scope ids are compared here (an anti-join
 * against a parameter array can be planned as a nested loop, quadratic on a large directory).
 */
async function departedUsers(db: Executor, connection: string, ids: readonly string[], inScopeRead: number): Promise<string[]> {
  const [count] = await queryRows<{ n: number }>(db, sql`select count(*)::int as n from mappings where connection = ${p(connection)} and in_scope`);
  if ((count?.n ?? 0) <= inScopeRead) return [];
  const read = new Set(ids);
  const rows = await queryRows<{ id: string }>(db, sql`select directory_id as id from mappings where connection = ${p(connection)} and in_scope`);
  return rows.map((r) => r.id).filter((id) => !read.has(id));
}

/**
 * The snapshot users whose stored digest vouches for them (see the module comment): the stable
 * ones, with their local users, and flags over the snapshot's users for the intact ones. The
 * vouched digests of the connection are read in one hash join and compared here, cheaper than
 * looking each snapshot user up.
 */
async function vouchedUsers(db: Executor, connection: string, snapshot: DirectorySnapshot, digests: SnapshotDigests): Promise<{ stable: Map<string, number>; intact: Uint8Array }> {
  const stable = new Map<string, number>();
  const intact = new Uint8Array(snapshot.users.length);
  if (!digests.users.size) return { stable, intact };
  const rows = await queryRows<{ id: string; d: string; lu: number; same: boolean }>(
    db,
    sql`select d.directory_id as id, d.digest as d, m.local_user_id as lu,
               (u.active = m.enabled and u.login is not distinct from m.login and u.mail is not distinct from m.mail
                and u.display_name is not distinct from m.display_name) as same
        from user_digests d
        join mappings m on m.connection = d.connection and m.directory_id = d.directory_id
        join local_users u on u.id = m.local_user_id
        where d.connection = ${p(connection)} and m.status = 'mapped' and m.in_scope`,
  );
  const { userIndex } = snapshotIndex(snapshot);
  for (const r of rows) {
    const i = userIndex.get(r.id);
    if (i === undefined) continue;
    intact[i] = 1;
    if (r.same && digests.users.get(r.id) === r.d) stable.set(r.id, r.lu);
  }
  return { stable, intact };
}

/** Linked groups whose memberships need no planning: the same member digest, every member intact. */
function unchangedGroups(snapshot: DirectorySnapshot, links: readonly LinkState[], digests: SnapshotDigests, intact: Uint8Array) {
  const linkOf = new Map(links.map((l) => [l.directoryId, l]));
  // A group id read twice: the last record counts, in the place of the first (as a Map keeps it).
  const byId = new Map(snapshot.groups.map((g, i) => [g.id, i]));
  const { members } = snapshotIndex(snapshot);
  const unchanged = new Set<string>();
  let unloadedMemberships = 0;
  for (const i of byId.values()) {
    const g = snapshot.groups[i]!;
    const link = linkOf.get(g.id);
    const same = !!link && link.localGroupId !== null && link.memberDigest != null && link.memberDigest === digests.groups.get(g.id) && allFlagged(members[i]!, intact);
    if (same) {
      unchanged.add(g.id);
      unloadedMemberships += g.memberIds.length;
    }
  }
  return { unchanged, unloadedMemberships };
}

/**
 * Stable users that no linked group has as a member are loaded after all: they may have left the
 * scope (their group unlinked, or now a duplicate), and only a loaded mapping is deactivated or
 * refreshed. A member of a linked group is synced: its group is a target of the plan.
 */
function forgetUnsynced(snapshot: DirectorySnapshot, links: readonly LinkState[], unlinked: ReadonlySet<string>, stable: Map<string, number>): void {
  if (!stable.size) return;
  const linked = new Set(links.flatMap((l) => (l.localGroupId === null || unlinked.has(l.directoryId) ? [] : [l.directoryId])));
  const { userIndex } = snapshotIndex(snapshot);
  const synced = membersOf(snapshot, linked);
  for (const id of stable.keys()) if (!synced[userIndex.get(id)!]) stable.delete(id);
}

/** Whether every member is a user of the snapshot with its flag set. */
function allFlagged(members: Int32Array, flags: Uint8Array): boolean {
  for (let k = 0; k < members.length; k++) {
    const i = members[k]!;
    if (i === NOT_A_USER || !flags[i]) return false;
  }
  return true;
}

/** Mappings (in this connection) of the local users that are match candidates: a claimed candidate is not free. */
async function loadClaims(db: Executor, connection: string, candidatesByKey: ReadonlyMap<string, readonly number[]>, mappings: LoadedMappings, stable: Map<string, number>): Promise<void> {
  const candidates = [...new Set([...candidatesByKey.values()].flat())];
  if (!candidates.length) return;
  const before = new Set(mappings.states.keys());
  await loadMappings(db, sql`m.connection = ${p(connection)} and m.status = 'mapped' and m.local_user_id = any(${p(candidates)}::int[])`, mappings);
  for (const id of mappings.states.keys()) if (!before.has(id)) stable.delete(id);
}
