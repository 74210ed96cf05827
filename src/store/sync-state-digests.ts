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
import type { SnapshotDigests } from '../sync/plan/digest.ts';
import type { LinkState, StoreState } from '../sync/plan.ts';
import { type Executor, queryRows } from './db.ts';
import { type LoadedMappings, loadCandidates, loadMappings, loadMemberships, loadShared, pendingKeys } from './sync-rows.ts';
import { p } from './sql.ts';

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
  const load = ids.filter((id) => !stable.has(id));
  const mappings = await loadMappings(db, sql`m.connection = ${p(connection)} and m.directory_id = any(${p(load)}::text[])`);
  // Users who left the scope (not in the snapshot, in scope until now): deactivated or refreshed.
  await loadMappings(
    db,
    sql`m.connection = ${p(connection)} and m.in_scope
        and not exists (select 1 from unnest(${p(ids)}::text[]) as s(id) where s.id = m.directory_id)`,
    mappings,
  );
  const localUsers = new Map(mappings.locals);
  const candidatesByKey = await loadCandidates(db, matchKey, pendingKeys(snapshot, mappings, stable, matchKey), localUsers);
  await loadClaims(db, connection, candidatesByKey, mappings, stable);
  for (const [id, local] of mappings.locals) localUsers.set(id, local);
  const sharedLocalUsers = await loadShared(db, connection, [...mappings.locals.keys()]);
  const changedGroups = links.flatMap((l) => (l.localGroupId === null || unchanged.has(l.directoryId) ? [] : [l.localGroupId]));
  const memberships = await loadMemberships(db, connection, links, changedGroups);
  return { mappings: mappings.states, localUsers, candidatesByKey, sharedLocalUsers, memberships, stableUsers: stable, unchangedGroups: unchanged, unloadedMemberships };
}

/** Snapshot users whose stored digest vouches for them (see the module comment). */
async function stableUsers(db: Executor, connection: string, ids: readonly string[], digests: SnapshotDigests): Promise<Set<string>> {
  const stable = new Set(ids);
  if (!ids.length) return stable;
  const unstable = await queryRows<{ id: string }>(
    db,
    sql`select s.id from unnest(${p(ids)}::text[], ${p([...digests.users.values()])}::text[]) as s(id, d)
        where not exists (
          select 1 from user_digests d
          join mappings m on m.connection = d.connection and m.directory_id = d.directory_id
          join local_users u on u.id = m.local_user_id
          where d.connection = ${p(connection)} and d.directory_id = s.id and d.digest = s.d
            and m.status = 'mapped' and m.in_scope and u.active = m.enabled
            and u.login is not distinct from m.login and u.mail is not distinct from m.mail
            and u.display_name is not distinct from m.display_name)`,
  );
  for (const r of unstable) stable.delete(r.id);
  return stable;
}

/** Linked groups whose memberships need no planning, and the stable members of the others (their local users are needed). */
function unchangedGroups(snapshot: DirectorySnapshot, links: readonly LinkState[], digests: SnapshotDigests, stable: ReadonlySet<string>) {
  const linkOf = new Map(links.map((l) => [l.directoryId, l]));
  const byId = new Map(snapshot.groups.map((g) => [g.id, g]));
  const unchanged = new Set<string>();
  const needed = new Set<string>();
  let unloadedMemberships = 0;
  for (const g of byId.values()) {
    const link = linkOf.get(g.id);
    const same = !!link && link.localGroupId !== null && link.memberDigest != null && link.memberDigest === digests.groups.get(g.id) && g.memberIds.every((id) => stable.has(id));
    if (same) {
      unchanged.add(g.id);
      unloadedMemberships += g.memberIds.length;
    } else {
      for (const id of g.memberIds) if (stable.has(id)) needed.add(id);
    }
  }
  return { unchanged, unloadedMemberships, needed };
}

/** Mappings (in this connection) of the local users that are match candidates: a claimed candidate is not free. */
async function loadClaims(db: Executor, connection: string, candidatesByKey: ReadonlyMap<string, readonly number[]>, mappings: LoadedMappings, stable: Set<string>): Promise<void> {
  const candidates = [...new Set([...candidatesByKey.values()].flat())];
  if (!candidates.length) return;
  const before = new Set(mappings.states.keys());
  await loadMappings(db, sql`m.connection = ${p(connection)} and m.status = 'mapped' and m.local_user_id = any(${p(candidates)}::int[])`, mappings);
  for (const id of mappings.states.keys()) if (!before.has(id)) stable.delete(id);
}
