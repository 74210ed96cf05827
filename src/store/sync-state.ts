/**
 * Loads what the planner needs about one connection from the store, in a handful of set-based
 * queries (no per-object round trips).
 */
import { sql } from 'drizzle-orm';
import type { DirectorySnapshot, LinkKind, MatchKey, MappingStatus } from '../domain/types.ts';
import type { LinkState, LocalUserState, MappingState, StoreState } from '../sync/plan.ts';
import { type Executor, queryRows } from './db.ts';
import { p } from './sql.ts';

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
  }>(
    db,
    sql`select id, directory_id, dn, name, description, kind, origin, local_group_id
        from group_links where connection = ${p(connection)} and state = 'active' order by id`,
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
  }));
}

export async function loadStoreState(
  db: Executor,
  connection: string,
  snapshot: DirectorySnapshot,
  matchKey: MatchKey,
): Promise<StoreState> {
  const links = await loadLinks(db, connection);
  const unlinkedRows = await queryRows<{ directory_id: string }>(
    db,
    sql`select directory_id from group_links where connection = ${p(connection)} and state = 'unlinked'`,
  );
  const duplicateRows = await queryRows<{ directory_id: string; status: 'pending' | 'linked' | 'ignored'; local_group_id: number | null }>(
    db,
    sql`select directory_id, status, local_group_id from duplicates where connection = ${p(connection)} and status <> 'linked'`,
  );
  // Every name the snapshot uses: new groups may be duplicates, renamed ones may collide.
  const names = [...new Set(snapshot.groups.map((g) => g.name.toLowerCase()))];
  const groupRows = names.length
    ? await queryRows<{ id: number; name: string; linked: boolean }>(
        db,
        sql`select g.id, g.name,
                   exists(select 1 from group_links l where l.local_group_id = g.id and l.state = 'active') as linked
            from local_groups g where lower(g.name) = any(${p(names)}::text[])`,
      )
    : [];
  const mappingRows = await queryRows<{
    directory_id: string;
    status: MappingStatus;
    local_user_id: number | null;
    dn: string | null;
    login: string | null;
    mail: string | null;
    display_name: string | null;
    enabled: boolean;
    in_scope: boolean;
    candidates: number[];
    via_groups: string[];
    u_login: string | null;
    u_mail: string | null;
    u_display_name: string | null;
    u_active: boolean | null;
  }>(
    db,
    sql`select m.directory_id, m.status, m.local_user_id, m.dn, m.login, m.mail, m.display_name, m.enabled,
               m.in_scope, m.candidates, m.via_groups, u.login as u_login, u.mail as u_mail, u.display_name as u_display_name,
               u.active as u_active
        from mappings m left join local_users u on u.id = m.local_user_id
        where m.connection = ${p(connection)}`,
  );
  const mappings = new Map<string, MappingState>();
  const localUsers = new Map<number, LocalUserState>();
  for (const r of mappingRows) {
    // A mapping whose local user was deleted by someone else is unmapped again.
    const status = r.status === 'mapped' && r.u_active === null ? 'unmapped' : r.status;
    mappings.set(r.directory_id, {
      directoryId: r.directory_id,
      status,
      localUserId: r.u_active === null ? null : r.local_user_id,
      dn: r.dn,
      login: r.login,
      mail: r.mail,
      displayName: r.display_name,
      enabled: r.enabled,
      inScope: r.in_scope,
      candidates: r.candidates ?? [],
      viaGroups: r.via_groups ?? [],
    });
    if (r.local_user_id !== null && r.u_active !== null) {
      localUsers.set(r.local_user_id, { id: r.local_user_id, login: r.u_login, mail: r.u_mail, displayName: r.u_display_name, active: r.u_active });
    }
  }
  // Candidates for users not mapped yet, by the match key.
  const keys = new Set<string>();
  for (const u of snapshot.users) {
    const m = mappings.get(u.id);
    if (m && (m.status === 'ignored' || (m.status === 'mapped' && m.localUserId !== null))) continue;
    const key = matchKey === 'mail' ? u.mail : u.login;
    if (key) keys.add(key.toLowerCase());
  }
  const candidatesByKey = new Map<string, number[]>();
  if (keys.size) {
    const column = matchKey === 'mail' ? sql`mail` : sql`login`;
    const rows = await queryRows<{ id: number; k: string; login: string | null; mail: string | null; display_name: string | null; active: boolean }>(
      db,
      sql`select id, lower(${column}) as k, login, mail, display_name, active from local_users
          where lower(${column}) = any(${p([...keys])}::text[]) order by id`,
    );
    for (const r of rows) {
      const list = candidatesByKey.get(r.k) ?? [];
      list.push(r.id);
      candidatesByKey.set(r.k, list);
      localUsers.set(r.id, { id: r.id, login: r.login, mail: r.mail, displayName: r.display_name, active: r.active });
    }
  }
  const sharedRows = await queryRows<{ local_user_id: number }>(
    db,
    sql`select distinct m2.local_user_id from mappings m1
        join mappings m2 on m2.local_user_id = m1.local_user_id
        where m1.connection = ${p(connection)} and m2.connection <> ${p(connection)}
          and m2.in_scope and m2.status = 'mapped'`,
  );
  const membershipRows = await queryRows<{ group_id: number; user_id: number }>(
    db,
    sql`select ms.group_id, ms.user_id from memberships ms
        where ms.group_id in (select local_group_id from group_links
                              where connection = ${p(connection)} and state = 'active' and local_group_id is not null)`,
  );
  const memberships = new Map<number, Set<number>>();
  for (const l of links) if (l.localGroupId !== null) memberships.set(l.localGroupId, new Set());
  for (const r of membershipRows) memberships.get(r.group_id)?.add(r.user_id);
  return {
    links,
    unlinked: new Set(unlinkedRows.map((r) => r.directory_id)),
    duplicates: new Map(duplicateRows.map((r) => [r.directory_id, { status: r.status, localGroupId: r.local_group_id }])),
    localGroupsByName: new Map(groupRows.map((r) => [r.name.toLowerCase(), { id: r.id, name: r.name, linked: r.linked }])),
    mappings,
    localUsers,
    candidatesByKey,
    sharedLocalUsers: new Set(sharedRows.map((r) => r.local_user_id)),
    memberships,
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
  const column = ask.matchKey === 'mail' ? sql`mail` : sql`login`;
  const takenKeys = userKeys.length
    ? (await queryRows<{ k: string }>(db, sql`select distinct lower(${column}) as k from local_users where lower(${column}) = any(${p([...userKeys])}::text[])`)).map((r) => r.k)
    : [];
  const mappingRows = directoryIds.length
    ? await queryRows<{ directory_id: string; status: string; local_user_id: number | null; in_scope: boolean }>(
        db,
        sql`select directory_id, status, local_user_id, in_scope from mappings
            where connection = ${p(connection)} and directory_id = any(${p([...directoryIds])}::text[])`,
      )
    : [];
  const takenNames = names.length
    ? (await queryRows<{ n: string }>(db, sql`select lower(name) as n from local_groups where lower(name) = any(${p([...names])}::text[])`)).map((r) => r.n)
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
