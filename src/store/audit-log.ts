/**
 * The audit log as an admin reads it: filtered by connection, user, group, actor and time,
 * newest first, one page at a time, with the names of the users, groups and links the entries
 * are about (joined on the page only) and of chat actors recorded without a name.
 */
import { type SQL, sql } from 'drizzle-orm';
import { likePattern } from './directory-users.ts';
import { type Executor, queryRows } from './db.ts';
import { p } from './sql.ts';

/** What the entries are about: local ids (users, groups) and directory ids (directory users, linked groups). */
export interface AuditSubject {
  readonly localIds: readonly number[];
  readonly directoryIds: readonly string[];
}

export interface AuditFilter {
  readonly connection: string | null;
  readonly user: AuditSubject | null;
  readonly group: AuditSubject | null;
  /** Part of the actor, without regard to case (a display name, a chat id, "cli:root"). */
  readonly actor: string | null;
  readonly since: Date | null;
  /** The entries one run wrote. */
  readonly runId?: number | null;
}

export interface AuditPageRow {
  readonly id: number;
  readonly at: Date;
  readonly actor: string;
  /** A name for an actor recorded without one (a Teams user's directory display name), or null. */
  readonly actorName: string | null;
  readonly action: string;
  readonly connection: string | null;
  readonly runId: number | null;
  readonly targetType: string;
  readonly targetId: string;
  readonly before: unknown;
  readonly after: unknown;
  /** The target's login or name and display name, from the store as it is now (null when gone). */
  readonly targetName: string | null;
  readonly targetDisplayName: string | null;
}

const ids = (list: readonly number[]) => p(list.map(String));

function subjectCondition(s: AuditSubject, local: 'user' | 'group', directory: 'directory_user' | 'directory_group'): SQL {
  const members =
    local === 'user'
      ? sql` or case when a.action = 'group.members_changed' then exists (
          select 1 from jsonb_array_elements_text(coalesce(a.after->'added', '[]'::jsonb) || coalesce(a.before->'removed', '[]'::jsonb)) x
           where x = any(${ids(s.localIds)}::text[])) else false end`
      : sql``;
  return sql`((a.target_type = ${p(local)} and a.target_id = any(${ids(s.localIds)}::text[]))
    or (a.target_type = ${p(directory)} and a.target_id = any(${p([...s.directoryIds])}::text[]))${members})`;
}

function whereOf(f: AuditFilter): SQL {
  const parts: SQL[] = [sql`true`];
  if (f.connection) parts.push(sql`a.connection = ${p(f.connection)}`);
  if (f.user) parts.push(subjectCondition(f.user, 'user', 'directory_user'));
  if (f.group) parts.push(subjectCondition(f.group, 'group', 'directory_group'));
  if (f.actor) parts.push(sql`a.actor ilike ${p(likePattern(f.actor))}`);
  if (f.runId != null) parts.push(sql`a.run_id = ${p(f.runId)}`);
  if (f.since) parts.push(sql`a.at >= ${p(f.since.toISOString())}::timestamptz`);
  return sql.join(parts, sql` and `);
}

interface Raw {
  id: string | number;
  at: Date | string;
  actor: string;
  actor_name: string | null;
  action: string;
  connection: string | null;
  run_id: number | null;
  target_type: string;
  target_id: string;
  before: unknown;
  after: unknown;
  target_name: string | null;
  target_display: string | null;
}

/** One page of the audit log, newest first, and how many entries match. */
export async function listAudit(db: Executor, filter: AuditFilter, offset: number, limit: number): Promise<{ rows: AuditPageRow[]; total: number }> {
  const where = whereOf(filter);
  const raw = await queryRows<Raw>(
    db,
    sql`with page as (select * from audit_log a where ${where} order by a.id desc offset ${p(offset)} limit ${p(limit)})
        select a.id, a.at, a.actor, an.name as actor_name, a.action, a.connection, a.run_id, a.target_type, a.target_id, a.before, a.after,
               coalesce(u.login, m.login, g.name, l.name, d.name) as target_name,
               coalesce(u.display_name, m.display_name) as target_display
          from page a
          left join local_users u on a.target_type = 'user' and u.id::text = a.target_id
          left join mappings m on a.target_type = 'directory_user' and m.connection = a.connection and m.directory_id = a.target_id
          left join local_groups g on a.target_type = 'group' and g.id::text = a.target_id
          left join group_links l on a.target_type = 'directory_group' and l.connection = a.connection and l.directory_id = a.target_id
          left join duplicates d on a.target_type = 'directory_group' and d.connection = a.connection and d.directory_id = a.target_id
          left join lateral (
            select display_name as name from mappings
             where a.actor ~ '^[a-z]+:\\(' and directory_id = substring(a.actor from '\\(([^()]*)\\)$') and display_name is not null
             limit 1) an on true
         order by a.id desc`,
  );
  const [count] = await queryRows<{ n: number }>(db, sql`select count(*)::int as n from audit_log a where ${where}`);
  return { rows: raw.map(toRow), total: count?.n ?? 0 };
}

function toRow(r: Raw): AuditPageRow {
  return {
    id: Number(r.id),
    at: r.at instanceof Date ? r.at : new Date(r.at),
    actor: r.actor,
    actorName: r.actor_name,
    action: r.action,
    connection: r.connection,
    runId: r.run_id,
    targetType: r.target_type,
    targetId: r.target_id,
    before: r.before,
    after: r.after,
    targetName: r.target_name,
    targetDisplayName: r.target_display,
  };
}

/**
 * The local and directory ids a reference (login, mail, directory id, `#12`) names among users;
 * `sameDn` (given when the reference is a DN) compares the stored DNs as DNs, which SQL cannot.
 */
export async function findUserSubject(db: Executor, ref: string, connection: string | null, sameDn: ((dn: string) => boolean) | null = null): Promise<AuditSubject> {
  const local = /^#\d{1,9}$/.test(ref) ? Number(ref.slice(1)) : null;
  const rows = await queryRows<{ local_id: number | null; directory_id: string | null }>(
    db,
    sql`select local_user_id as local_id, directory_id from mappings
         where (${p(connection)}::text is null or connection = ${p(connection)})
           and (lower(login) = lower(${p(ref)}) or lower(mail) = lower(${p(ref)}) or directory_id = ${p(ref)} or lower(dn) = lower(${p(ref)}))
        union
        select id, null from local_users where id = ${p(local)} or lower(login) = lower(${p(ref)}) or lower(mail) = lower(${p(ref)})`,
  );
  const byDn = sameDn === null ? [] : await queryRows<{ local_id: number | null; directory_id: string; dn: string }>(
    db,
    sql`select local_user_id as local_id, directory_id, dn from mappings where dn is not null and (${p(connection)}::text is null or connection = ${p(connection)})`,
  );
  return subjectOf([...rows, ...byDn.filter((r) => sameDn!(r.dn))]);
}

/** The local and directory ids a reference (name, DN, directory id, `#12`) names among groups and links; `sameDn` as for users. */
export async function findGroupSubject(db: Executor, ref: string, connection: string | null, sameDn: ((dn: string) => boolean) | null = null): Promise<AuditSubject> {
  const local = /^#\d{1,9}$/.test(ref) ? Number(ref.slice(1)) : null;
  const rows = await queryRows<{ local_id: number | null; directory_id: string | null }>(
    db,
    sql`select local_group_id as local_id, directory_id from group_links
         where (${p(connection)}::text is null or connection = ${p(connection)})
           and (lower(name) = lower(${p(ref)}) or lower(dn) = lower(${p(ref)}) or directory_id = ${p(ref)})
        union
        select id, null from local_groups where id = ${p(local)} or lower(name) = lower(${p(ref)})`,
  );
  const byDn = sameDn === null ? [] : await queryRows<{ local_id: number | null; directory_id: string; dn: string }>(
    db,
    sql`select local_group_id as local_id, directory_id, dn from group_links where dn is not null and (${p(connection)}::text is null or connection = ${p(connection)})`,
  );
  return subjectOf([...rows, ...byDn.filter((r) => sameDn!(r.dn))]);
}

function subjectOf(rows: ReadonlyArray<{ local_id: number | null; directory_id: string | null }>): AuditSubject {
  return {
    localIds: [...new Set(rows.flatMap((r) => (r.local_id === null ? [] : [r.local_id])))],
    directoryIds: [...new Set(rows.flatMap((r) => (r.directory_id === null ? [] : [r.directory_id])))],
  };
}
