/**
 * The statements that apply a sync plan, each set-based (`unnest` of column arrays, or COPY for
 * rows that cannot conflict), so a large directory costs a few statements per table, not one per
 * object. The caller (sync/apply.ts) owns the transaction, the order and the audit entries.
 */
import { sql } from 'drizzle-orm';
import type { GroupFields, UserFields } from '../domain/plan.ts';
import { bulkInsert } from './copy.ts';
import { type BulkLoadOptions, loadMemberships } from './bulk-load.ts';
import { type Executor, queryRows } from './db.ts';
import { chunked, p, unnest } from './sql.ts';

/** `n` new ids of local users or local groups, taken from their sequence. */
export async function allocateIds(tx: Executor, table: 'local_users' | 'local_groups', n: number): Promise<number[]> {
  if (n === 0) return [];
  const sequence = table === 'local_users' ? 'local_users_id_seq' : 'local_groups_id_seq';
  // One row of n ids (not n rows: a first sync allocates a hundred thousand).
  const [row] = await queryRows<{ ids: number[] }>(
    tx,
    sql`select array_agg(nextval(${p(sequence)}::regclass)::int) as ids from generate_series(1, ${p(n)}::int)`,
  );
  return row!.ids;
}

/** Inserts local groups with the ids allocated for them (`ids[k]` for `groups[k]`), created by run `runId`. */
export async function insertLocalGroups(tx: Executor, ids: readonly number[], groups: readonly GroupFields[], runId: number | null = null): Promise<void> {
  await chunked(groups.length, async (from, to) => {
    const s = groups.slice(from, to);
    await tx.execute(sql`insert into local_groups (created_run_id, id, name, description, kind)
      select ${p(runId)}::int, * from ${unnest([
        [ids.slice(from, to), 'int'],
        [s.map((g) => g.name), 'text'],
        [s.map((g) => g.description), 'text'],
        [s.map((g) => g.kind), 'text'],
      ])}`);
  });
}

/** Links directory groups to their new local groups; a link unlinked before is made active again. */
export async function insertGroupLinks(tx: Executor, connection: string, now: Date, groups: readonly GroupFields[], localId: ReadonlyMap<string, number>): Promise<void> {
  await chunked(groups.length, async (from, to) => {
    const s = groups.slice(from, to);
    await tx.execute(sql`insert into group_links (connection, created_at, directory_id, dn, name, description, kind, origin, local_group_id)
      select ${p(connection)}, ${p(now.toISOString())}::timestamptz, * from ${unnest([
        [s.map((g) => g.directoryId), 'text'],
        [s.map((g) => g.dn), 'text'],
        [s.map((g) => g.name), 'text'],
        [s.map((g) => g.description), 'text'],
        [s.map((g) => g.kind), 'text'],
        [s.map((g) => g.origin), 'text'],
        [s.map((g) => localId.get(g.directoryId)!), 'int'],
      ])}
      on conflict (connection, directory_id) do update set state = 'active', local_group_id = excluded.local_group_id,
        name = excluded.name, description = excluded.description, dn = excluded.dn, updated_at = now()`);
  });
}

/** Points a link at a new local group (its own vanished). */
export async function relinkGroup(tx: Executor, linkId: number, localGroupId: number): Promise<void> {
  await tx.execute(sql`update group_links set local_group_id = ${p(localGroupId)}, updated_at = now() where id = ${p(linkId)}`);
}

/**
 * A renamed or redescribed directory group: its link, and its local group when it has one. The
 * local group takes the new name only when it had the link's name: one synced under a name of its
 * own (a duplicate resolved as "Sales (corp)") keeps it.
 */
export async function updateGroup(tx: Executor, linkId: number, localGroupId: number | null, after: GroupFields): Promise<void> {
  if (localGroupId !== null) {
    await tx.execute(sql`update local_groups g set description = ${p(after.description)}, updated_at = now(),
                           name = case when lower(g.name) = lower(l.name) then ${p(after.name)} else g.name end
                         from group_links l where l.id = ${p(linkId)} and g.id = ${p(localGroupId)}`);
  }
  await tx.execute(sql`update group_links set name = ${p(after.name)}, description = ${p(after.description)}, dn = ${p(after.dn)},
                         updated_at = now() where id = ${p(linkId)}`);
}

/** Deletes links and their local groups with the groups' memberships; returns how many members each group lost. */
export async function deleteGroups(tx: Executor, linkIds: readonly number[], localGroupIds: readonly number[]): Promise<Map<number, number>> {
  await tx.execute(sql`delete from group_links where id = any(${p(linkIds)}::int[])`);
  if (!localGroupIds.length) return new Map();
  const rows = await queryRows<{ group_id: number; n: number }>(
    tx,
    sql`with gone as (delete from memberships where group_id = any(${p(localGroupIds)}::int[]) returning group_id)
        select group_id, count(*)::int as n from gone group by group_id`,
  );
  await tx.execute(sql`delete from local_groups where id = any(${p(localGroupIds)}::int[])`);
  return new Map(rows.map((r) => [r.group_id, r.n]));
}

export interface DuplicateWrite {
  readonly directoryId: string;
  readonly dn: string | null;
  readonly name: string;
  readonly localGroupId: number | null;
}

/** Records directory groups whose name is taken by a local group; one already recorded stays as it is. */
export async function insertDuplicates(tx: Executor, connection: string, now: Date, rows: readonly DuplicateWrite[]): Promise<void> {
  if (!rows.length) return;
  await tx.execute(sql`insert into duplicates (connection, detected_at, directory_id, dn, name, local_group_id)
    select ${p(connection)}, ${p(now.toISOString())}::timestamptz, * from ${unnest([
      [rows.map((d) => d.directoryId), 'text'],
      [rows.map((d) => d.dn), 'text'],
      [rows.map((d) => d.name), 'text'],
      [rows.map((d) => d.localGroupId), 'int'],
    ])} on conflict (connection, directory_id) do nothing`);
}

export interface NewLocalUser {
  readonly login: string | null;
  readonly mail: string | null;
  readonly displayName: string | null;
  readonly active: boolean;
}

type NewLocalUserFields = Omit<NewLocalUser, 'active'>;

/**
 * Inserts local users with the ids allocated for them (COPY), created by `connection` in run
 * `runId`; active as `activeOf` says (a plan's users as they are, with no copy of each to say it).
 */
export async function insertLocalUsers(tx: Executor, connection: string, ids: readonly number[], users: readonly NewLocalUser[], attributes: Record<string, string>, runId?: number | null): Promise<void>;
export async function insertLocalUsers<U extends NewLocalUserFields>(
  tx: Executor,
  connection: string,
  ids: readonly number[],
  users: readonly U[],
  attributes: Record<string, string>,
  runId: number | null,
  activeOf: (u: U) => boolean,
): Promise<void>;
export async function insertLocalUsers<U extends NewLocalUserFields>(
  tx: Executor,
  connection: string,
  ids: readonly number[],
  users: readonly U[],
  attributes: Record<string, string>,
  runId: number | null = null,
  activeOf: (u: U) => boolean = (u) => (u as unknown as NewLocalUser).active,
): Promise<void> {
  const json = JSON.stringify(attributes);
  await bulkInsert(
    tx,
    'local_users',
    ['id', 'login', 'mail', 'display_name', 'active', 'attributes', 'created_by_connection', 'created_run_id'],
    users.length,
    (k) => {
      const u = users[k]!;
      return [ids[k]!, u.login, u.mail, u.displayName, activeOf(u), json, connection, runId];
    },
  );
}

/** New values of local users; one turning inactive gets its deactivation time, one turning active loses it. */
export async function updateLocalUsers(tx: Executor, updates: ReadonlyArray<{ localUserId: number; after: NewLocalUser }>): Promise<void> {
  await chunked(updates.length, async (from, to) => {
    const s = updates.slice(from, to);
    await tx.execute(sql`update local_users u set login = t.lg, mail = t.ml, display_name = t.dn, active = t.ac,
        deactivated_at = case when t.ac then null when u.active then now() else u.deactivated_at end, updated_at = now()
      from ${unnest([
        [s.map((x) => x.localUserId), 'int'],
        [s.map((x) => x.after.login), 'text'],
        [s.map((x) => x.after.mail), 'text'],
        [s.map((x) => x.after.displayName), 'text'],
        [s.map((x) => x.after.active), 'bool'],
      ])} as t(i, lg, ml, dn, ac)
      where u.id = any(${p(s.map((x) => x.localUserId))}::int[]) and u.id = t.i`);
  });
}

/** Deactivates local users that left the scope, and marks their mappings out of scope. */
export async function deactivateUsers(tx: Executor, connection: string, users: ReadonlyArray<{ localUserId: number; directoryId: string }>): Promise<void> {
  await chunked(users.length, async (from, to) => {
    const ids = users.slice(from, to).map((d) => d.localUserId);
    await tx.execute(sql`update local_users set active = false, deactivated_at = now(), updated_at = now()
                         where id = any(${p(ids)}::int[]) and active`);
    const dirIds = users.slice(from, to).map((d) => d.directoryId);
    await tx.execute(sql`update mappings set in_scope = false, updated_at = now()
                         where connection = ${p(connection)} and directory_id = any(${p(dirIds)}::text[])`);
  });
}

export interface MappingWrite extends UserFields {
  readonly status: 'mapped' | 'unmapped' | 'conflict' | 'ignored' | null;
  readonly localUserId: number | null;
  readonly candidates: readonly number[] | null;
  readonly reason: string | null;
  readonly inScope: boolean;
  readonly viaGroups?: readonly string[];
}

/** Upserts mapping rows. A null status is a refresh: only the cached directory state and scope change. */
export async function upsertMappings(tx: Executor, connection: string, rows: readonly MappingWrite[]): Promise<void> {
  await writeMappings(tx, connection, rows.filter((r) => r.status !== null));
  await refreshMappings(tx, connection, rows.filter((r) => r.status === null));
}

async function writeMappings(tx: Executor, connection: string, rows: readonly MappingWrite[]): Promise<void> {
  await chunked(rows.length, async (from, to) => {
    const s = rows.slice(from, to);
    await tx.execute(sql`insert into mappings (connection, directory_id, dn, login, mail, display_name, enabled, in_scope,
                                          status, local_user_id, candidates, reason, via_groups, updated_at)
      select ${p(connection)}, d, dn, lg, ml, dname, en, sc, st, lu, cd::jsonb, rs, vg::jsonb, now()
      from ${unnest([
        [s.map((r) => r.directoryId), 'text'],
        [s.map((r) => r.dn), 'text'],
        [s.map((r) => r.login), 'text'],
        [s.map((r) => r.mail), 'text'],
        [s.map((r) => r.displayName), 'text'],
        [s.map((r) => r.enabled), 'bool'],
        [s.map((r) => r.inScope), 'bool'],
        [s.map((r) => r.status), 'text'],
        [s.map((r) => r.localUserId), 'int'],
        [s.map((r) => JSON.stringify(r.candidates ?? [])), 'text'],
        [s.map((r) => r.reason), 'text'],
        [s.map((r) => JSON.stringify(r.viaGroups ?? [])), 'text'],
      ])} as t(d, dn, lg, ml, dname, en, sc, st, lu, cd, rs, vg)
      on conflict (connection, directory_id) do update set
        dn = excluded.dn, login = excluded.login, mail = excluded.mail, display_name = excluded.display_name,
        enabled = excluded.enabled, in_scope = excluded.in_scope, status = excluded.status,
        local_user_id = excluded.local_user_id, candidates = excluded.candidates, reason = excluded.reason,
        via_groups = excluded.via_groups, updated_at = now()`);
  });
}

async function refreshMappings(tx: Executor, connection: string, rows: readonly MappingWrite[]): Promise<void> {
  await chunked(rows.length, async (from, to) => {
    const s = rows.slice(from, to);
    await tx.execute(sql`update mappings m set dn = t.dn, login = t.lg, mail = t.ml, display_name = t.dname,
        enabled = t.en, in_scope = t.sc, updated_at = now()
      from ${unnest([
        [s.map((r) => r.directoryId), 'text'],
        [s.map((r) => r.dn), 'text'],
        [s.map((r) => r.login), 'text'],
        [s.map((r) => r.mail), 'text'],
        [s.map((r) => r.displayName), 'text'],
        [s.map((r) => r.enabled), 'bool'],
        [s.map((r) => r.inScope), 'bool'],
      ])} as t(d, dn, lg, ml, dname, en, sc)
      where m.connection = ${p(connection)} and m.directory_id = any(${p(s.map((r) => r.directoryId))}::text[]) and m.directory_id = t.d`);
  });
}

/** Mappings of users seen for the first time, to the local users created for them: new rows, bulk-inserted. */
export async function insertFreshMappings(tx: Executor, connection: string, users: readonly UserFields[], localId: ReadonlyMap<string, number>): Promise<void> {
  await bulkInsert(
    tx,
    'mappings',
    ['connection', 'directory_id', 'dn', 'login', 'mail', 'display_name', 'enabled', 'in_scope', 'status', 'local_user_id'],
    users.length,
    (k) => {
      const u = users[k]!;
      return [connection, u.directoryId, u.dn, u.login, u.mail, u.displayName, u.enabled, true, 'mapped', localId.get(u.directoryId)!];
    },
  );
}

/**
 * Adds memberships (`groups[k]`, `users[k]`). `bulk`: the pairs were found absent under the run
 * lock: copied (a large load without per-row checks, store/bulk-load.ts); otherwise (a held plan
 * applied later) pairs added meanwhile are tolerated.
 */
export async function addMemberships(tx: Executor, groups: ArrayLike<number>, users: ArrayLike<number>, bulk: boolean, options?: BulkLoadOptions): Promise<void> {
  if (bulk) {
    await loadMemberships(tx, groups, users, options);
    return;
  }
  await chunked(groups.length, async (from, to) => {
    await tx.execute(sql`insert into memberships (group_id, user_id)
      select * from ${unnest([[slice(groups, from, to), 'int'], [slice(users, from, to), 'int']])} on conflict do nothing`);
  });
}

/** Removes memberships (`groups[k]`, `users[k]`). */
export async function removeMemberships(tx: Executor, groups: readonly number[], users: readonly number[]): Promise<void> {
  await chunked(groups.length, async (from, to) => {
    await tx.execute(sql`delete from memberships ms using ${unnest([[groups.slice(from, to), 'int'], [users.slice(from, to), 'int']])} as d(g, u)
      where ms.group_id = d.g and ms.user_id = d.u`);
  });
}

const slice = (values: ArrayLike<number>, from: number, to: number): number[] => Array.from({ length: to - from }, (_, k) => values[from + k]!);
