/** The store rows the planner reads (store/sync-state.ts), each by one set-based query. */
import { type SQL, sql } from 'drizzle-orm';
import type { DirectorySnapshot, DirectoryUser, MatchKey, MappingStatus } from '../domain/types.ts';
import type { LinkState, LocalUserState, MappingState, MemberIds } from '../domain/plan.ts';
import { SortedIds } from '../domain/sorted-ids.ts';
import { type Executor, forEachRow, queryRows } from './db.ts';
import { matchKeyCondition } from './match-keys.ts';
import { p } from './sql.ts';

export interface LoadedMappings {
  readonly states: Map<string, MappingState>;
  /** Local users of the mapped rows (those that still exist), by id. */
  readonly locals: Map<number, LocalUserState>;
}

interface MappingRow {
  directory_id: string;
  status: MappingStatus;
  local_user_id: number | null;
  dn: string | null;
  login: string | null;
  mail: string | null;
  display_name: string | null;
  enabled: boolean;
  in_scope: boolean;
  candidates: number[] | null;
  via_groups: string[] | null;
  digest: string | null;
  u_login: string | null;
  u_mail: string | null;
  u_display_name: string | null;
  u_active: boolean | null;
}

const STATUSES: ReadonlyMap<string, MappingStatus> = new Map((['mapped', 'unmapped', 'conflict', 'ignored'] as const).map((s) => [s, s]));
const NO_IDS: readonly never[] = Object.freeze([]);

/** `value`, or `same` when equal: one string kept where the row and the snapshot (or the mapping) have the same. */
const shared = (value: string | null, same: string | null | undefined): string | null => (value !== null && value === same ? same : value);

/**
 * Mapping rows (with their local user) matching `where` (over `m`), streamed (forEachRow). Strings
 * equal to those of the snapshot user of the same id (`known`) are the snapshot's, and a local
 * user's equal to its mapping's are the mapping's: a row costs no copy of what the run already holds.
 */
export async function loadMappings(
  db: Executor,
  where: SQL,
  into: LoadedMappings = { states: new Map(), locals: new Map() },
  known?: ReadonlyMap<string, DirectoryUser>,
): Promise<LoadedMappings> {
  await forEachRow<MappingRow>(
    db,
    sql`select m.directory_id, m.status, m.local_user_id, m.dn, m.login, m.mail, m.display_name, m.enabled,
               m.in_scope, m.candidates, m.via_groups, d.digest, u.login as u_login, u.mail as u_mail,
               u.display_name as u_display_name, u.active as u_active
        from mappings m left join local_users u on u.id = m.local_user_id
        left join user_digests d on d.connection = m.connection and d.directory_id = m.directory_id
        where ${where}`,
    (r) => addMapping(into, r, known?.get(r.directory_id)),
  );
  return into;
}

function addMapping(into: LoadedMappings, r: MappingRow, u: DirectoryUser | undefined): void {
  // A mapping whose local user was deleted by someone else is unmapped again.
  const status = r.status === 'mapped' && r.u_active === null ? 'unmapped' : (STATUSES.get(r.status) ?? r.status);
  const directoryId = u?.id ?? r.directory_id;
  const login = shared(r.login, u?.login);
  const mail = shared(r.mail, u?.mail);
  const displayName = shared(r.display_name, u?.displayName);
  into.states.set(directoryId, {
    directoryId,
    status,
    localUserId: r.u_active === null ? null : r.local_user_id,
    dn: shared(r.dn, u?.dn),
    login,
    mail,
    displayName,
    enabled: r.enabled,
    inScope: r.in_scope,
    candidates: r.candidates?.length ? r.candidates : NO_IDS,
    viaGroups: r.via_groups?.length ? r.via_groups : NO_IDS,
    digest: r.digest,
  });
  if (r.local_user_id !== null && r.u_active !== null) {
    const local = { id: r.local_user_id, login: shared(r.u_login, login), mail: shared(r.u_mail, mail), displayName: shared(r.u_display_name, displayName), active: r.u_active };
    into.locals.set(r.local_user_id, local);
  }
}

/** Match keys (lower case) of the snapshot users not mapped yet: their candidates are looked up. */
export function pendingKeys(snapshot: DirectorySnapshot, mappings: LoadedMappings, stable: ReadonlyMap<string, unknown> | null, matchKey: MatchKey): Set<string> {
  const keys = new Set<string>();
  for (const u of snapshot.users) {
    if (stable?.has(u.id)) continue;
    const m = mappings.states.get(u.id);
    if (m && (m.status === 'ignored' || (m.status === 'mapped' && m.localUserId !== null))) continue;
    const key = matchKey === 'mail' ? u.mail : u.login;
    if (key) keys.add(key.toLowerCase());
  }
  return keys;
}

/** Candidates for users not mapped yet, by the match key; their local users are added to `localUsers`. */
export async function loadCandidates(db: Executor, matchKey: MatchKey, keys: ReadonlySet<string>, localUsers: Map<number, LocalUserState>): Promise<Map<string, number[]>> {
  const candidatesByKey = new Map<string, number[]>();
  const condition = matchKeyCondition(matchKey === 'mail' ? sql`mail` : sql`login`, keys);
  if (!condition) return candidatesByKey;
  const rows = await queryRows<{ id: number; login: string | null; mail: string | null; display_name: string | null; active: boolean }>(
    db,
    sql`select id, login, mail, display_name, active from local_users where ${condition} order by id`,
  );
  for (const r of rows) {
    // The key as the planner computes it (toLowerCase), whatever the server's locale.
    const k = (matchKey === 'mail' ? r.mail : r.login)?.toLowerCase();
    if (k === undefined || !keys.has(k)) continue;
    const list = candidatesByKey.get(k) ?? [];
    list.push(r.id);
    candidatesByKey.set(k, list);
    localUsers.set(r.id, { id: r.id, login: r.login, mail: r.mail, displayName: r.display_name, active: r.active });
  }
  return candidatesByKey;
}

/** Local users mapped (in scope) by another connection too (of `only`, when given). */
export async function loadShared(db: Executor, connection: string, only: readonly number[] | null): Promise<Set<number>> {
  if (only?.length === 0) return new Set();
  const restrict = only ? sql`and m1.local_user_id = any(${p([...only])}::int[])` : sql``;
  const rows = await queryRows<{ local_user_id: number }>(
    db,
    sql`select distinct m2.local_user_id from mappings m1
        join mappings m2 on m2.local_user_id = m1.local_user_id
        where m1.connection = ${p(connection)} and m2.connection <> ${p(connection)}
          and m2.in_scope and m2.status = 'mapped' ${restrict}`,
  );
  return new Set(rows.map((r) => r.local_user_id));
}

/**
 * Members of the connection's linked local groups (of `only`, when given): one row per group,
 * its members aggregated by the server, kept as a sorted Int32Array (no object per membership).
 */
export async function loadMemberships(db: Executor, connection: string, links: readonly LinkState[], only: readonly number[] | null): Promise<Map<number, MemberIds>> {
  const memberships = new Map<number, MemberIds>();
  const wanted = only ?? links.flatMap((l) => (l.localGroupId === null ? [] : [l.localGroupId]));
  for (const id of wanted) memberships.set(id, SortedIds.EMPTY);
  if (!wanted.length) return memberships;
  const rows = await queryRows<{ group_id: number; user_ids: number[] }>(
    db,
    only
      ? sql`select group_id, array_agg(user_id) as user_ids from memberships where group_id = any(${p([...only])}::int[]) group by group_id`
      : sql`select ms.group_id, array_agg(ms.user_id) as user_ids from memberships ms
            where ms.group_id in (select local_group_id from group_links
                                  where connection = ${p(connection)} and state = 'active' and local_group_id is not null)
            group by ms.group_id`,
  );
  for (const r of rows) if (memberships.has(r.group_id)) memberships.set(r.group_id, SortedIds.of(r.user_ids));
  return memberships;
}
