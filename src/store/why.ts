/** What `why` reads from the store: a connection's links with their local groups, a user's local groups, and the last change of one membership. */
import { sql } from 'drizzle-orm';
import { type Executor, queryRows } from './db.ts';
import { p } from './sql.ts';

export interface WhyLink {
  readonly id: number;
  readonly directoryId: string;
  readonly dn: string | null;
  readonly name: string;
  readonly kind: string;
  readonly origin: string;
  readonly state: 'active' | 'unlinked';
  readonly localGroupId: number | null;
  readonly localGroupName: string | null;
  readonly lastRunId: number | null;
}

/** The connection's links (active first, then by name), each with the name of its local group. */
export async function listLinksWithGroups(db: Executor, connection: string): Promise<WhyLink[]> {
  return queryRows<WhyLink>(
    db,
    sql`select l.id, l.directory_id as "directoryId", l.dn, l.name, l.kind, l.origin, l.state, l.local_group_id as "localGroupId",
               g.name as "localGroupName", l.last_run_id as "lastRunId"
          from group_links l left join local_groups g on g.id = l.local_group_id
         where l.connection = ${p(connection)}
         order by l.state = 'unlinked', lower(l.name)`,
  );
}

/** The local groups a local user is a member of, by name. */
export async function listGroupsOfUser(db: Executor, localUserId: number): Promise<Array<{ id: number; name: string }>> {
  return queryRows(db, sql`select g.id, g.name from memberships m join local_groups g on g.id = m.group_id where m.user_id = ${p(localUserId)} order by lower(g.name)`);
}

export interface MembershipChange {
  readonly auditId: number;
  readonly at: Date;
  readonly actor: string;
  readonly runId: number | null;
  readonly added: boolean;
}

/** The newest audit entry that added the user to the group or removed it (null: none recorded, e.g. a bulk first sync). */
export async function lastMembershipChange(db: Executor, localGroupId: number, localUserId: number): Promise<MembershipChange | null> {
  const [row] = await queryRows<{ id: string | number; at: Date | string; actor: string; run_id: number | null; added: boolean }>(
    db,
    sql`select id, at, actor, run_id, coalesce(after->'added', '[]'::jsonb) @> to_jsonb(${p(localUserId)}::int) as added
          from audit_log
         where action = 'group.members_changed' and target_type = 'group' and target_id = ${p(String(localGroupId))}
           and (coalesce(after->'added', '[]'::jsonb) @> to_jsonb(${p(localUserId)}::int) or coalesce(before->'removed', '[]'::jsonb) @> to_jsonb(${p(localUserId)}::int))
         order by id desc limit 1`,
  );
  return row ? { auditId: Number(row.id), at: new Date(row.at), actor: row.actor, runId: row.run_id, added: row.added } : null;
}
