/**
 * Applies a plan in one transaction: after a crash the store is as before the run or as after
 * it, never half-written. Writes are set-based (`unnest` of column arrays), so a large
 * directory costs a few statements per table, not one per object.
 */
import { type SQL, sql } from 'drizzle-orm';
import { GroupsyncError } from '../errors.ts';
import { bulkInsert } from '../store/copy.ts';
import { type Executor, type Tx, queryRows } from '../store/db.ts';
import type { GroupFields, Ref, SyncPlan, UserFields } from './plan.ts';

const p = sql.param;
const CHUNK = 20_000;

type Column = readonly [values: readonly unknown[], pgType: string];

function unnest(columns: readonly Column[]): SQL {
  // postgres.js sends a JS array of booleans as a scalar: booleans travel as text and are cast.
  const parts = columns.map(([values, type]) =>
    type === 'bool'
      ? sql`${p(values.map((v) => (v === null || v === undefined ? null : v ? 'true' : 'false')))}::text[]::bool[]`
      : sql`${p(values)}::${sql.raw(type)}[]`,
  );
  return sql`unnest(${sql.join(parts, sql`, `)})`;
}

/** Runs `build` over chunks of the row indexes [0, n). */
async function chunked(n: number, run: (from: number, to: number) => Promise<void>): Promise<void> {
  for (let from = 0; from < n; from += CHUNK) await run(from, Math.min(n, from + CHUNK));
}

async function allocateIds(tx: Executor, sequence: 'local_users_id_seq' | 'local_groups_id_seq', n: number): Promise<number[]> {
  if (n === 0) return [];
  const rows = await queryRows<{ id: number }>(
    tx,
    sql`select nextval(${p(sequence)}::regclass)::int as id from generate_series(1, ${p(n)}::int)`,
  );
  return rows.map((r) => r.id);
}

export interface AuditRow {
  readonly action: string;
  readonly targetType: string;
  readonly targetId: string;
  readonly before: unknown;
  readonly after: unknown;
}

export async function insertAudit(
  tx: Executor,
  actor: string,
  connection: string | null,
  runId: number | null,
  rows: readonly AuditRow[],
): Promise<void> {
  const json = (v: unknown) => (v === null || v === undefined ? null : JSON.stringify(v));
  await bulkInsert(
    tx,
    'audit_log',
    ['actor', 'action', 'connection', 'run_id', 'target_type', 'target_id', 'before', 'after'],
    rows.length,
    (k) => {
      const r = rows[k]!;
      return [actor, r.action, connection, runId, r.targetType, r.targetId, json(r.before), json(r.after)];
    },
    (from, to) => {
      const slice = rows.slice(from, to);
      return sql`insert into audit_log (actor, action, connection, run_id, target_type, target_id, before, after)
      select ${p(actor)}, a, ${p(connection)}, ${p(runId)}::int, tt, ti, b::jsonb, af::jsonb from ${unnest([
        [slice.map((r) => r.action), 'text'],
        [slice.map((r) => r.targetType), 'text'],
        [slice.map((r) => r.targetId), 'text'],
        [slice.map((r) => json(r.before)), 'text'],
        [slice.map((r) => json(r.after)), 'text'],
      ])} as t(a, tt, ti, b, af)`;
    },
  );
}

interface MappingRow extends UserFields {
  readonly status: 'mapped' | 'unmapped' | 'conflict' | 'ignored' | null;
  readonly localUserId: number | null;
  readonly candidates: readonly number[] | null;
  readonly reason: string | null;
  readonly inScope: boolean;
  readonly viaGroups?: readonly string[];
}

/** Upserts mapping rows. A null status is a refresh: only the cached directory state and scope change. */
async function upsertMappings(tx: Executor, connection: string, rows: readonly MappingRow[]): Promise<void> {
  const full = rows.filter((r) => r.status !== null);
  const refresh = rows.filter((r) => r.status === null);
  await chunked(full.length, async (from, to) => {
    const s = full.slice(from, to);
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
  await chunked(refresh.length, async (from, to) => {
    const s = refresh.slice(from, to);
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
      where m.connection = ${p(connection)} and m.directory_id = t.d`);
  });
}

async function insertFreshMappings(tx: Executor, c: string, users: readonly UserFields[], localId: ReadonlyMap<string, number>): Promise<void> {
  await bulkInsert(
    tx,
    'mappings',
    ['connection', 'directory_id', 'dn', 'login', 'mail', 'display_name', 'enabled', 'in_scope', 'status', 'local_user_id'],
    users.length,
    (k) => {
      const u = users[k]!;
      return [c, u.directoryId, u.dn, u.login, u.mail, u.displayName, u.enabled, true, 'mapped', localId.get(u.directoryId)!];
    },
    (from, to) => {
      const s = users.slice(from, to);
      return sql`insert into mappings (connection, directory_id, dn, login, mail, display_name, enabled, in_scope, status, local_user_id)
        select ${p(c)}, d, dn, lg, ml, dname, en, true, 'mapped', lu from ${unnest([
          [s.map((u) => u.directoryId), 'text'],
          [s.map((u) => u.dn), 'text'],
          [s.map((u) => u.login), 'text'],
          [s.map((u) => u.mail), 'text'],
          [s.map((u) => u.displayName), 'text'],
          [s.map((u) => u.enabled), 'bool'],
          [s.map((u) => localId.get(u.directoryId)!), 'int'],
        ])} as t(d, dn, lg, ml, dname, en, lu)`;
    },
  );
}

/** Deletes local groups with their memberships; returns how many members each group lost. */
async function deleteLocalGroups(tx: Executor, ids: readonly number[]): Promise<Map<number, number>> {
  if (!ids.length) return new Map();
  const rows = await queryRows<{ group_id: number; n: number }>(
    tx,
    sql`with gone as (delete from memberships where group_id = any(${p(ids)}::int[]) returning group_id)
        select group_id, count(*)::int as n from gone group by group_id`,
  );
  await tx.execute(sql`delete from local_groups where id = any(${p(ids)}::int[])`);
  return new Map(rows.map((r) => [r.group_id, r.n]));
}

export interface ApplyResult {
  readonly createdGroups: number;
  readonly createdUsers: number;
  readonly audit: number;
}

/** Applies `plan` inside `tx`. The caller owns the transaction and the run record. */
export async function applyPlan(
  tx: Tx,
  plan: SyncPlan,
  context: {
    actor: string;
    runId: number;
    now: Date;
    defaults: { active: boolean; attributes: Record<string, string> };
    /** The plan was made now, under the run lock: its new rows cannot exist yet (bulk COPY). False for a held plan. */
    bulk: boolean;
  },
): Promise<ApplyResult> {
  const c = plan.connection;
  const audit: AuditRow[] = [];

  // ---- groups ----------------------------------------------------------------------------
  const newGroupId = new Map<string, number>();
  const toCreate: GroupFields[] = [...plan.groups.create, ...plan.groups.relink.map((r) => r.fields)];
  const groupIds = await allocateIds(tx, 'local_groups_id_seq', toCreate.length);
  toCreate.forEach((g, k) => newGroupId.set(g.directoryId, groupIds[k]!));
  await chunked(toCreate.length, async (from, to) => {
    const s = toCreate.slice(from, to);
    await tx.execute(sql`insert into local_groups (id, name, description, kind)
      select * from ${unnest([
        [groupIds.slice(from, to), 'int'],
        [s.map((g) => g.name), 'text'],
        [s.map((g) => g.description), 'text'],
        [s.map((g) => g.kind), 'text'],
      ])}`);
  });
  const created = plan.groups.create;
  await chunked(created.length, async (from, to) => {
    const s = created.slice(from, to);
    await tx.execute(sql`insert into group_links (connection, created_at, directory_id, dn, name, description, kind, origin, local_group_id)
      select ${p(c)}, ${p(context.now.toISOString())}::timestamptz, * from ${unnest([
        [s.map((g) => g.directoryId), 'text'],
        [s.map((g) => g.dn), 'text'],
        [s.map((g) => g.name), 'text'],
        [s.map((g) => g.description), 'text'],
        [s.map((g) => g.kind), 'text'],
        [s.map((g) => g.origin), 'text'],
        [s.map((g) => newGroupId.get(g.directoryId)!), 'int'],
      ])}
      on conflict (connection, directory_id) do update set state = 'active', local_group_id = excluded.local_group_id,
        name = excluded.name, description = excluded.description, dn = excluded.dn, updated_at = now()`);
  });
  for (const g of created) {
    audit.push({ action: 'group.created', targetType: 'group', targetId: String(newGroupId.get(g.directoryId)), before: null, after: g });
  }
  for (const r of plan.groups.relink) {
    await tx.execute(sql`update group_links set local_group_id = ${p(newGroupId.get(r.fields.directoryId)!)}, updated_at = now() where id = ${p(r.linkId)}`);
    audit.push({ action: 'group.recreated', targetType: 'group', targetId: String(newGroupId.get(r.fields.directoryId)), before: null, after: r.fields });
  }
  for (const u of plan.groups.update) {
    if (u.localGroupId !== null) {
      await tx.execute(sql`update local_groups set name = ${p(u.after.name)}, description = ${p(u.after.description)}, updated_at = now()
                           where id = ${p(u.localGroupId)}`);
    }
    await tx.execute(sql`update group_links set name = ${p(u.after.name)}, description = ${p(u.after.description)}, dn = ${p(u.after.dn)},
                           updated_at = now() where id = ${p(u.linkId)}`);
    audit.push({ action: 'group.modified', targetType: 'group', targetId: String(u.localGroupId), before: u.before, after: u.after });
  }
  if (plan.groups.delete.length) {
    const localIds = plan.groups.delete.map((d) => d.localGroupId).filter((id): id is number => id !== null);
    await tx.execute(sql`delete from group_links where id = any(${p(plan.groups.delete.map((d) => d.linkId))}::int[])`);
    const lost = await deleteLocalGroups(tx, localIds);
    for (const d of plan.groups.delete) {
      const members = d.localGroupId === null ? 0 : (lost.get(d.localGroupId) ?? 0);
      audit.push({ action: 'group.deleted', targetType: 'group', targetId: String(d.localGroupId), before: { name: d.name, directoryId: d.directoryId, members }, after: null });
    }
  }
  if (plan.groups.duplicates.length) {
    const s = plan.groups.duplicates;
    await tx.execute(sql`insert into duplicates (connection, detected_at, directory_id, dn, name, local_group_id)
      select ${p(c)}, ${p(context.now.toISOString())}::timestamptz, * from ${unnest([
        [s.map((d) => d.directoryId), 'text'],
        [s.map((d) => d.dn), 'text'],
        [s.map((d) => d.name), 'text'],
        [s.map((d) => (typeof d.localGroupId === 'number' ? d.localGroupId : newGroupId.get(d.localGroupId) ?? null)), 'int'],
      ])} on conflict (connection, directory_id) do nothing`);
    for (const d of s) {
      const local = typeof d.localGroupId === 'number' ? d.localGroupId : newGroupId.get(d.localGroupId);
      audit.push({ action: 'group.duplicate_detected', targetType: 'group', targetId: String(local), before: null, after: { ...d, localGroupId: local } });
    }
  }

  // ---- users -----------------------------------------------------------------------------
  const newUserId = new Map<string, number>();
  const createdUsers = plan.users.create;
  const userIds = await allocateIds(tx, 'local_users_id_seq', createdUsers.length);
  createdUsers.forEach((u, k) => newUserId.set(u.directoryId, userIds[k]!));
  const attributes = JSON.stringify(context.defaults.attributes);
  await bulkInsert(
    tx,
    'local_users',
    ['id', 'login', 'mail', 'display_name', 'active', 'attributes', 'created_by_connection'],
    createdUsers.length,
    (k) => {
      const u = createdUsers[k]!;
      return [userIds[k]!, u.login, u.mail, u.displayName, u.enabled && context.defaults.active, attributes, c];
    },
    (from, to) => {
      const s = createdUsers.slice(from, to);
      return sql`insert into local_users (id, login, mail, display_name, active, attributes, created_by_connection)
      select i, lg, ml, dn, ac, ${p(attributes)}::jsonb, ${p(c)} from ${unnest([
        [userIds.slice(from, to), 'int'],
        [s.map((u) => u.login), 'text'],
        [s.map((u) => u.mail), 'text'],
        [s.map((u) => u.displayName), 'text'],
        [s.map((u) => u.enabled && context.defaults.active), 'bool'],
      ])} as t(i, lg, ml, dn, ac)`;
    },
  );
  for (const { known: _known, ...u } of createdUsers) {
    audit.push({ action: 'user.created', targetType: 'user', targetId: String(newUserId.get(u.directoryId)), before: null, after: u });
  }

  const updates = plan.users.update;
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
      ])} as t(i, lg, ml, dn, ac) where u.id = t.i`);
  });
  for (const x of updates) {
    audit.push({
      action: x.before.active && !x.after.active ? 'user.disabled' : !x.before.active && x.after.active ? 'user.reactivated' : 'user.updated',
      targetType: 'user',
      targetId: String(x.localUserId),
      before: { login: x.before.login, mail: x.before.mail, displayName: x.before.displayName, active: x.before.active },
      after: { login: x.after.login, mail: x.after.mail, displayName: x.after.displayName, active: x.after.active },
    });
  }
  const deactivate = plan.users.deactivate;
  if (deactivate.length) {
    await chunked(deactivate.length, async (from, to) => {
      const ids = deactivate.slice(from, to).map((d) => d.localUserId);
      await tx.execute(sql`update local_users set active = false, deactivated_at = now(), updated_at = now()
                           where id = any(${p(ids)}::int[]) and active`);
      const dirIds = deactivate.slice(from, to).map((d) => d.directoryId);
      await tx.execute(sql`update mappings set in_scope = false, updated_at = now()
                           where connection = ${p(c)} and directory_id = any(${p(dirIds)}::text[])`);
    });
    for (const d of deactivate) {
      audit.push({ action: 'user.deactivated', targetType: 'user', targetId: String(d.localUserId), before: { active: true, login: d.login }, after: { active: false, reason: d.reason } });
    }
  }

  // Mappings of users seen for the first time are new rows: bulk-inserted (under the run lock).
  // A user created now who already has a row (unmapped or in conflict before, or whose local
  // user vanished) and every row of a held plan are upserted.
  const fresh = context.bulk ? createdUsers.filter((u) => !u.known) : [];
  await insertFreshMappings(tx, c, fresh, newUserId);
  const mappingRows: MappingRow[] = [];
  for (const u of createdUsers) {
    if (context.bulk && !u.known) continue;
    mappingRows.push({ ...u, status: 'mapped', localUserId: newUserId.get(u.directoryId)!, candidates: [], reason: null, inScope: true });
  }
  for (const u of plan.users.map) {
    mappingRows.push({ ...u, status: 'mapped', localUserId: u.localUserId, candidates: [], reason: null, inScope: true });
    audit.push({ action: 'user.mapped', targetType: 'user', targetId: String(u.localUserId), before: null, after: { directoryId: u.directoryId, by: 'match key' } });
  }
  for (const x of updates) mappingRows.push({ ...x.after, status: null, localUserId: null, candidates: null, reason: null, inScope: true });
  for (const u of plan.users.conflicts) {
    if (u.unchanged) continue;
    mappingRows.push({ ...u, status: 'conflict', localUserId: null, candidates: u.candidates, reason: `${u.candidates.length} local candidates`, inScope: true });
    audit.push({ action: 'user.conflict', targetType: 'directory_user', targetId: u.directoryId, before: null, after: { candidates: u.candidates } });
  }
  for (const u of plan.users.unmapped) {
    if (u.unchanged) continue;
    mappingRows.push({ ...u, status: 'unmapped', localUserId: null, candidates: [], reason: u.reason, inScope: true });
  }
  for (const u of plan.users.refresh) mappingRows.push({ ...u, status: null, localUserId: null, candidates: null, reason: null });
  await upsertMappings(tx, c, mappingRows);

  // ---- memberships -----------------------------------------------------------------------
  const resolveGroup = (ref: Ref): number => (typeof ref === 'number' ? ref : newGroupId.get(ref)!);
  const resolveUser = (ref: Ref): number => (typeof ref === 'number' ? ref : newUserId.get(ref)!);
  const m = plan.memberships;
  const addG = m.addGroup.map(resolveGroup);
  const addU = m.addUser.map(resolveUser);
  if (addG.some((g) => g === undefined) || addU.some((u) => u === undefined)) {
    throw new GroupsyncError('INVALID_STATE', 'the plan references an object it does not create; nothing was applied');
  }
  // The plan adds only pairs it found absent, under the run lock: a plain bulk insert. A held plan
  // applied later (context.bulk false) may meet pairs added meanwhile, so it tolerates them.
  if (context.bulk) {
    await bulkInsert(tx, 'memberships', ['group_id', 'user_id'], addG.length, (k) => [addG[k]!, addU[k]!], (from, to) =>
      sql`insert into memberships (group_id, user_id) select * from ${unnest([[addG.slice(from, to), 'int'], [addU.slice(from, to), 'int']])}`,
    );
  } else {
    await chunked(addG.length, async (from, to) => {
      await tx.execute(sql`insert into memberships (group_id, user_id)
        select * from ${unnest([[addG.slice(from, to), 'int'], [addU.slice(from, to), 'int']])} on conflict do nothing`);
    });
  }
  await chunked(m.removeGroup.length, async (from, to) => {
    await tx.execute(sql`delete from memberships ms using ${unnest([[m.removeGroup.slice(from, to), 'int'], [m.removeUser.slice(from, to), 'int']])} as d(g, u)
      where ms.group_id = d.g and ms.user_id = d.u`);
  });
  // One audit entry per group whose members changed: who was added and removed.
  const perGroup = new Map<number, { added: number[]; removed: number[] }>();
  const entry = (g: number) => {
    let e = perGroup.get(g);
    if (!e) perGroup.set(g, (e = { added: [], removed: [] }));
    return e;
  };
  addG.forEach((g, k) => entry(g).added.push(addU[k]!));
  m.removeGroup.forEach((g, k) => entry(g).removed.push(m.removeUser[k]!));
  for (const [g, e] of perGroup) audit.push({ action: 'group.members_changed', targetType: 'group', targetId: String(g), before: { removed: e.removed }, after: { added: e.added } });

  await insertAudit(tx, context.actor, c, context.runId, audit);
  return { createdGroups: toCreate.length, createdUsers: createdUsers.length, audit: audit.length };
}
