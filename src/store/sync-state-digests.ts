/**
 * The digest-assisted half of loadStoreState: the snapshot's digests are compared with those the
 * last full-scope run stored, and only what may have changed is loaded.
 *
 * A snapshot user is stable when user_digests holds the same attribute digest for it, its mapping is mapped and in
 * scope, and its local user still exists with the mapping's login, mail, display name and
 * active = enabled (checked here, so an edit of the local user by anyone is seen). The trigger on
 * `mappings` deletes the digest when an admin or another run changes the row, so a stable
 * user's local user is the one its groups' member digests were stored with.
 *
 * A linked group is unchanged when group_digests holds the same member digest for its link and every member is
 * stable: its memberships are then what the last run left, and not loaded. Stable users are
 * loaded anyway when a changed group has them as members (their local user is needed) or their
 * local user is a match candidate (the claim is needed).
 */
import { sql } from 'drizzle-orm';
import type { DirectorySnapshot, MatchKey } from '../domain/types.ts';
import type { LinkState, SnapshotDigests, StoreState } from '../domain/plan.ts';
import { type Executor, queryRows } from './db.ts';
import { type LoadedMappings, loadCandidates, loadMappings, loadMemberships, loadShared, pendingKeys } from './sync-rows.ts';
import { p } from './sql.ts';
import { NOT_A_USER, snapshotIndex, userFlags } from '../domain/snapshot-index.ts';

/**
 * Whether the digests can spare enough to pay for comparing them: the groups whose stored member
 * digest equals the read one must hold at least `minShare` of the read's memberships (after a
 * large change, a plain full load is cheaper than the comparison plus loading nearly everything).
 */
export function digestsWorthIt(snapshot: DirectorySnapshot, links: readonly LinkState[], digests: SnapshotDigests, minShare: number): boolean {
  const stored = new Map(links.map((l) => [l.directoryId, l.memberDigest]));
  let same = 0;
  let total = 0;
  for (const g of snapshot.groups) {
    total += g.memberIds.length;
    if (stored.get(g.id) != null && stored.get(g.id) === digests.groups.get(g.id)) same += g.memberIds.length;
  }
  return total > 0 && same >= total * minShare;
}

type ChangedState = Omit<StoreState, 'links' | 'unlinked' | 'duplicates' | 'localGroupsByName'>;

export async function loadChangedState(
  db: Executor,
  connection: string,
  snapshot: DirectorySnapshot,
  matchKey: MatchKey,
  links: readonly LinkState[],
  digests: SnapshotDigests,
): Promise<ChangedState> {
  const ids = [...digests.users.keys()];
  const stable = await stableUsers(db, connection, ids, digests);
  const { unchanged, unloadedMemberships, needed } = unchangedGroups(snapshot, links, digests, stable);
  for (const id of needed) stable.delete(id);
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
async function loadUserRows(db: Executor, connection: string, ids: readonly string[], stable: Set<string>): Promise<LoadedMappings> {
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
 * Snapshot users whose stored digest vouches for them (see the module comment): the vouched
 * digests of the connection are read in one hash join and compared here, cheaper than looking
 * each snapshot user up.
 */
async function stableUsers(db: Executor, connection: string, ids: readonly string[], digests: SnapshotDigests): Promise<Set<string>> {
  const stable = new Set<string>();
  if (!ids.length) return stable;
  const rows = await queryRows<{ id: string; d: string }>(
    db,
    sql`select d.directory_id as id, d.digest as d from user_digests d
        join mappings m on m.connection = d.connection and m.directory_id = d.directory_id
        join local_users u on u.id = m.local_user_id
        where d.connection = ${p(connection)} and m.status = 'mapped' and m.in_scope and u.active = m.enabled
          and u.login is not distinct from m.login and u.mail is not distinct from m.mail
          and u.display_name is not distinct from m.display_name`,
  );
  for (const r of rows) if (digests.users.get(r.id) === r.d) stable.add(r.id);
  return stable;
}

/** Linked groups whose memberships need no planning, and the stable members of the others (their local users are needed). */
function unchangedGroups(snapshot: DirectorySnapshot, links: readonly LinkState[], digests: SnapshotDigests, stable: ReadonlySet<string>) {
  const linkOf = new Map(links.map((l) => [l.directoryId, l]));
  // A group id read twice: the last record counts, in the place of the first (as a Map keeps it).
  const byId = new Map(snapshot.groups.map((g, i) => [g.id, i]));
  const { members } = snapshotIndex(snapshot);
  const isStable = userFlags(snapshot, stable);
  const unchanged = new Set<string>();
  const needed = new Set<string>();
  let unloadedMemberships = 0;
  for (const i of byId.values()) {
    const g = snapshot.groups[i]!;
    const link = linkOf.get(g.id);
    const same = !!link && link.localGroupId !== null && link.memberDigest != null && link.memberDigest === digests.groups.get(g.id) && allFlagged(members[i]!, isStable);
    if (same) {
      unchanged.add(g.id);
      unloadedMemberships += g.memberIds.length;
    } else {
      for (const id of g.memberIds) if (stable.has(id)) needed.add(id);
    }
  }
  return { unchanged, unloadedMemberships, needed };
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
async function loadClaims(db: Executor, connection: string, candidatesByKey: ReadonlyMap<string, readonly number[]>, mappings: LoadedMappings, stable: Set<string>): Promise<void> {
  const candidates = [...new Set([...candidatesByKey.values()].flat())];
  if (!candidates.length) return;
  const before = new Set(mappings.states.keys());
  await loadMappings(db, sql`m.connection = ${p(connection)} and m.status = 'mapped' and m.local_user_id = any(${p(candidates)}::int[])`, mappings);
  for (const id of mappings.states.keys()) if (!before.has(id)) stable.delete(id);
}
