/** The directory users of a connection as the store last read them, with their mapping and local user: listed, filtered, paged. */
import { type SQL, sql } from 'drizzle-orm';
import { type Executor, queryRows } from './db.ts';
import { p } from './sql.ts';

import type { UserStatusFilter } from '../domain/user-status.ts';

// In domain/: the command table (loaded by `groupsync --help`) reads them without loading the store.
export { USER_STATUSES, type UserStatusFilter } from '../domain/user-status.ts';

export interface DirectoryUserRow {
  readonly directoryId: string;
  readonly dn: string | null;
  readonly login: string | null;
  readonly displayName: string | null;
  readonly mail: string | null;
  readonly status: 'mapped' | 'unmapped' | 'conflict' | 'ignored';
  readonly enabled: boolean;
  readonly inScope: boolean;
  readonly reason: string | null;
  /** Local users with its match key (a conflict's candidates). */
  readonly candidates: number;
  readonly localUser: { readonly id: number; readonly login: string | null; readonly displayName: string | null; readonly active: boolean } | null;
}

/** `%`, `_` and `\` taken literally in a LIKE pattern. */
export function likePattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

function statusCondition(status: UserStatusFilter | null): SQL {
  switch (status) {
    case null:
      return sql`true`;
    case 'active':
      return sql`m.enabled and m.in_scope and m.status <> 'ignored'`;
    case 'inactive':
      return sql`not (m.enabled and m.in_scope)`;
    default:
      return sql`m.status = ${p(status)}`;
  }
}

interface Raw {
  directory_id: string;
  dn: string | null;
  login: string | null;
  display_name: string | null;
  mail: string | null;
  status: DirectoryUserRow['status'];
  enabled: boolean;
  in_scope: boolean;
  reason: string | null;
  candidates: number;
  local_id: number | null;
  local_login: string | null;
  local_name: string | null;
  local_active: boolean | null;
}

/** One page of a connection's directory users, by login (then name, mail, id) without regard to case, and how many match. */
export async function listDirectoryUsers(
  db: Executor,
  connection: string,
  filter: { status: UserStatusFilter | null; search: string | null },
  offset: number,
  limit: number,
): Promise<{ rows: DirectoryUserRow[]; total: number }> {
  const like = filter.search ? likePattern(filter.search) : null;
  const where = sql`m.connection = ${p(connection)} and ${statusCondition(filter.status)}
    and (${p(like)}::text is null or m.login ilike ${p(like)} or m.display_name ilike ${p(like)} or m.mail ilike ${p(like)})`;
  const raw = await queryRows<Raw>(
    db,
    sql`select m.directory_id, m.dn, m.login, m.display_name, m.mail, m.status, m.enabled, m.in_scope, m.reason, jsonb_array_length(m.candidates)::int as candidates,
               u.id as local_id, u.login as local_login, u.display_name as local_name, u.active as local_active
          from mappings m left join local_users u on u.id = m.local_user_id
         where ${where}
         order by lower(coalesce(m.login, m.display_name, m.mail, m.directory_id)), m.directory_id
         offset ${p(offset)} limit ${p(limit)}`,
  );
  const [count] = await queryRows<{ n: number }>(db, sql`select count(*)::int as n from mappings m where ${where}`);
  return { rows: raw.map(toRow), total: count?.n ?? 0 };
}

function toRow(r: Raw): DirectoryUserRow {
  return {
    directoryId: r.directory_id,
    dn: r.dn,
    login: r.login,
    displayName: r.display_name,
    mail: r.mail,
    status: r.status,
    enabled: r.enabled,
    inScope: r.in_scope,
    reason: r.reason,
    candidates: r.candidates,
    localUser: r.local_id === null ? null : { id: r.local_id, login: r.local_login, displayName: r.local_name, active: r.local_active ?? false },
  };
}
