/** Memberships of local users in local groups, as the connections' links see them. */
import { sql } from 'drizzle-orm';
import { type Executor, queryRows } from './db.ts';
import { p } from './sql.ts';

/** Removes a local user from the active linked groups of a connection; returns how many memberships went. */
export async function removeFromLinkedGroups(tx: Executor, localUserId: number, connection: string): Promise<number> {
  const removed = await queryRows<{ group_id: number }>(
    tx,
    sql`delete from memberships where user_id = ${p(localUserId)}
        and group_id in (select local_group_id from group_links where connection = ${p(connection)} and state = 'active')
        returning group_id`,
  );
  return removed.length;
}

export interface LinkedGroupMember {
  /** The connection (any case) and its linked group by name, DN (any case) or directory id. */
  readonly connection: string;
  readonly group: string;
  /** The directory user by Entra object id, or by mail (compared with mail and login, any case). */
  readonly directoryId: string | null;
  readonly mail: string | null;
}

/** Is a mapped, enabled directory user a member of the linked group's local group (as of the last sync)? */
export async function isMemberOfLinkedGroup(db: Executor, who: LinkedGroupMember): Promise<boolean> {
  const { connection, group } = who;
  const id = who.directoryId ?? '';
  const mail = who.mail ?? '';
  const rows = await queryRows<{ ok: number }>(
    db,
    sql`select 1 as ok
        from group_links l
        join memberships ms on ms.group_id = l.local_group_id
        join mappings m on m.local_user_id = ms.user_id and m.connection = l.connection and m.status = 'mapped' and m.enabled
        where lower(l.connection) = lower(${connection}) and l.state = 'active'
          and (lower(l.name) = lower(${group}) or lower(l.dn) = lower(${group}) or l.directory_id = ${group})
          and (m.directory_id = ${id} or (${mail} <> '' and (lower(m.mail) = lower(${mail}) or lower(m.login) = lower(${mail}))))
        limit 1`,
  );
  return rows.length > 0;
}
