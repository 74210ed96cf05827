/**
 * Loads what the planner needs about one connection from the store, in a handful of set-based
 * queries (no per-object round trips).
 */
import { sql } from 'drizzle-orm';
import type { DirectorySnapshot, LinkKind, MatchKey } from '../domain/types.ts';
import type { LinkState, SnapshotDigests, StoreState } from '../domain/plan.ts';
import { loadChangedState } from './sync-state-digests.ts';
import { loadCandidates, loadMappings, loadMemberships, loadShared, pendingKeys } from './sync-rows.ts';
import { type Executor, queryRows } from './db.ts';
import { matchKeyCondition } from './match-keys.ts';
import { p, unnest } from './sql.ts';

export async function loadLinks(db: Executor, connection: string): Promise<LinkState[]> {
  const rows = await queryRows<{
    id: number;
    directory_id: string;
    dn: string | null;
    name: string;
    description: string | null;
    kind: LinkKind;
    origin: 'scope' | 'manual';
    local_group_id: number | null;
    member_digest: string | null;
  }>(
    db,
    sql`select l.id, l.directory_id, l.dn, l.name, l.description, l.kind, l.origin, l.local_group_id, d.digest as member_digest
        from group_links l left join group_digests d on d.link_id = l.id
        where l.connection = ${p(connection)} and l.state = 'active' order by l.id`,
  );
  return rows.map((r) => ({
    id: r.id,
    directoryId: r.directory_id,
    dn: r.dn,
    name: r.name,
    description: r.description,
    kind: r.kind,
    origin: r.origin,
    localGroupId: r.local_group_id,
    memberDigest: r.member_digest,
  }));
}

/**
 * What the planner needs about one connection. With `digests` (the snapshot's, sync/plan/digest.ts)
 * the rows the stored digests vouch unchanged are left out: the mappings of stable users and the
 * memberships of unchanged groups (see StoreState). The plan made of it equals the full one.
 */
export async function loadStoreState(
  db: Executor,
  connection: string,
  snapshot: DirectorySnapshot,
  matchKey: MatchKey,
  digests: SnapshotDigests | null = null,
): Promise<StoreState> {
  const links = await loadLinks(db, connection);
  const groups = await loadGroupState(db, connection, snapshot);
  if (digests) return { links, ...groups, ...(await loadChangedState(db, connection, snapshot, matchKey, links, groups.unlinked, digests)) };
  const known = new Map(snapshot.users.map((u) => [u.id, u]));
  const mappings = await loadMappings(db, sql`m.connection = ${p(connection)}`, undefined, known);
  known.clear();
  const localUsers = mappings.locals; // not copied: the candidates join the mapped users' map
  const candidatesByKey = await loadCandidates(db, matchKey, pendingKeys(snapshot, mappings, null, matchKey), localUsers);
  const sharedLocalUsers = await loadShared(db, connection, null);
  const memberships = await loadMemberships(db, connection, links, null);
  return { links, ...groups, mappings: mappings.states, localUsers, candidatesByKey, sharedLocalUsers, memberships };
}

type GroupState = Pick<StoreState, 'unlinked' | 'duplicates' | 'localGroupsByName'>;

async function loadGroupState(db: Executor, connection: string, snapshot: DirectorySnapshot): Promise<GroupState> {
  const unlinkedRows = await queryRows<{ directory_id: string }>(
    db,
    sql`select directory_id from group_links where connection = ${p(connection)} and state = 'unlinked'`,
  );
  const duplicateRows = await queryRows<{ directory_id: string; status: 'pending' | 'linked' | 'ignored'; local_group_id: number | null }>(
    db,
    sql`select directory_id, status, local_group_id from duplicates where connection = ${p(connection)} and status <> 'linked'`,
  );
  // Every name the snapshot uses: new groups may be duplicates, renamed ones may collide.
  const names = new Set(snapshot.groups.map((g) => g.name.toLowerCase()));
  // Names compared as the planner compares them (toLowerCase), whatever the server's locale.
  const byName = matchKeyCondition(sql`g.name`, names);
  const groupRows = byName
    ? (
        await queryRows<{ id: number; name: string; linked: boolean }>(
          db,
          sql`select g.id, g.name,
                     exists(select 1 from group_links l where l.local_group_id = g.id and l.state = 'active') as linked
              from local_groups g where ${byName}`,
        )
      ).filter((r) => names.has(r.name.toLowerCase()))
    : [];
  return {
    unlinked: new Set(unlinkedRows.map((r) => r.directory_id)),
    duplicates: new Map(duplicateRows.map((r) => [r.directory_id, { status: r.status, localGroupId: r.local_group_id }])),
    localGroupsByName: new Map(groupRows.map((r) => [r.name.toLowerCase(), { id: r.id, name: r.name, linked: r.linked }])),
  };
}

/** Names of local groups and users by id (a user's login, else mail or display name), for what admins are shown. */
export async function loadLocalNames(
  db: Executor,
  groupIds: readonly number[],
  userIds: readonly number[],
): Promise<{ groups: Map<number, string>; users: Map<number, string> }> {
  const groups = groupIds.length
    ? await queryRows<{ id: number; name: string }>(db, sql`select id, name from local_groups where id = any(${p([...groupIds])}::int[])`)
    : [];
  const users = userIds.length
    ? await queryRows<{ id: number; name: string | null }>(
        db,
        sql`select id, coalesce(login, mail, display_name) as name from local_users where id = any(${p([...userIds])}::int[])`,
      )
    : [];
  return {
    groups: new Map(groups.map((g) => [g.id, g.name])),
    users: new Map(users.filter((u) => u.name !== null).map((u) => [u.id, u.name!])),
  };
}

/** What a held plan is re-checked against on approval (see sync/recheck.ts). */
export interface RecheckState {
  /** Mappings of the plan's created, mapped and deactivated users, by directory id. */
  readonly mappings: ReadonlyMap<string, { directory_id: string; status: string; local_user_id: number | null; in_scope: boolean }>;
  /** Lower-case names (of those asked) a local group has now. */
  readonly takenNames: ReadonlySet<string>;
  /** Lower-case match keys (of those asked) a local user has now. */
  readonly takenKeys: ReadonlySet<string>;
  /** Local users (of those asked) that still exist, and whether they are active. */
  readonly activeUsers: ReadonlyMap<number, boolean>;
  /** Local users (of those asked) mapped in this connection now. */
  readonly claimed: ReadonlySet<number>;
  /** Local groups (of those asked) that still exist. */
  readonly groupsAlive: ReadonlySet<number>;
}

export async function loadRecheckState(
  db: Executor,
  connection: string,
  ask: { directoryIds: readonly string[]; groupNames: readonly string[]; matchKey?: MatchKey; userKeys?: readonly string[]; userIds: readonly number[]; groupIds: readonly number[] },
): Promise<RecheckState> {
  const { directoryIds, groupNames: names, userIds: userRefs, groupIds: groupRefs, userKeys = [] } = ask;
  const takenKeys = await loadTakenKeys(db, ask.matchKey === 'mail' ? 'mail' : 'login', userKeys);
  const mappingRows = directoryIds.length
    ? await queryRows<{ directory_id: string; status: string; local_user_id: number | null; in_scope: boolean }>(
        db,
        sql`select directory_id, status, local_user_id, in_scope from mappings
            where connection = ${p(connection)} and directory_id = any(${p([...directoryIds])}::text[])`,
      )
    : [];
  const byName = matchKeyCondition(sql`name`, names);
  const wanted = new Set(names);
  const takenNames = byName
    ? (await queryRows<{ n: string }>(db, sql`select name as n from local_groups where ${byName}`)).map((r) => r.n.toLowerCase()).filter((n) => wanted.has(n))
    : [];
  const activeUsers = userRefs.length
    ? (await queryRows<{ id: number; active: boolean }>(db, sql`select id, active from local_users where id = any(${p([...userRefs])}::int[])`)).map((r) => [r.id, r.active] as const)
    : [];
  const claimed = userRefs.length
    ? (await queryRows<{ id: number }>(
        db,
        sql`select local_user_id as id from mappings where connection = ${p(connection)} and status = 'mapped' and local_user_id = any(${p([...userRefs])}::int[])`,
      )).map((r) => r.id)
    : [];
  const groupsAlive = groupRefs.length ? (await queryRows<{ id: number }>(db, sql`select id from local_groups where id = any(${p([...groupRefs])}::int[])`)).map((r) => r.id) : [];
  return {
    mappings: new Map(mappingRows.map((r) => [r.directory_id, r])),
    takenNames: new Set(takenNames),
    takenKeys: new Set(takenKeys),
    activeUsers: new Map(activeUsers),
    claimed: new Set(claimed),
    groupsAlive: new Set(groupsAlive),
  };
}

/** The keys (lower case, as toLowerCase gives them) of `keys` that a local user has. */
async function loadTakenKeys(db: Executor, column: 'mail' | 'login', keys: readonly string[]): Promise<string[]> {
  const condition = matchKeyCondition(sql`${sql.identifier(column)}`, keys);
  if (!condition) return [];
  const wanted = new Set(keys);
  const found = await queryRows<{ v: string }>(db, sql`select distinct ${sql.identifier(column)} as v from local_users where ${condition}`);
  return found.map((r) => r.v.toLowerCase()).filter((k) => wanted.has(k));
}

/** What a held plan's membership removals meet now: the members each deleted group has, and the pairs (group, user) still present. */
export async function loadRemovalState(
  db: Executor,
  deletedGroupIds: readonly number[],
  pairs: { readonly groups: readonly number[]; readonly users: readonly number[] },
): Promise<{ memberCounts: ReadonlyMap<number, number>; present: ReadonlySet<string> }> {
  const counts = deletedGroupIds.length
    ? await queryRows<{ g: number; n: number }>(db, sql`select group_id as g, count(*)::int as n from memberships where group_id = any(${p([...deletedGroupIds])}::int[]) group by group_id`)
    : [];
  const present = pairs.groups.length
    ? await queryRows<{ g: number; u: number }>(
        db,
        sql`select m.group_id as g, m.user_id as u from memberships m join ${unnest([[pairs.groups, 'int'], [pairs.users, 'int']])} as d(g, u) on m.group_id = d.g and m.user_id = d.u`,
      )
    : [];
  return { memberCounts: new Map(counts.map((r) => [r.g, r.n])), present: new Set(present.map((r) => `${r.g}:${r.u}`)) };
}
