/**
 * The digests a full-scope run stores with what it applied (same transaction), and their
 * clearing after a run that cannot vouch for its groups' memberships (see sync/plan/digest.ts).
 * They live in tables of their own (user_digests, group_digests), so storing them adds no
 * version of a mapping or link row; triggers on mappings and group_links delete the ones whose
 * rows change or go (migrations/0009_sync_digests.sql, 0012_digests_without_foreign_keys.sql,
 * 0013_link_digests_rekeyed.sql).
 * No foreign key checks each digest: the triggers keep none without its row.
 */
import { sql } from 'drizzle-orm';
import type { DigestWrites } from '../domain/plan.ts';
import { bulkInsert } from './copy.ts';
import { type Executor, queryRows } from './db.ts';
import { p } from './sql.ts';

export async function saveDigests(tx: Executor, connection: string, writes: DigestWrites): Promise<void> {
  const { users, newUsers, groups } = writes;
  // Users whose mapping row this transaction inserted (applyMappings, just before): new digest rows.
  await bulkInsert(tx, 'user_digests', ['connection', 'directory_id', 'digest'], newUsers.ids.length, (k) => [connection, newUsers.ids[k]!, newUsers.digests[k]!]);
  if (users.ids.length) {
    await queryRows(
      tx,
      sql`insert into user_digests (connection, directory_id, digest)
          select ${p(connection)}, s.id, s.d from unnest(${p(users.ids)}::text[], ${p(users.digests)}::text[]) as s(id, d)
          join mappings m on m.connection = ${p(connection)} and m.directory_id = s.id
          on conflict (connection, directory_id) do update set digest = excluded.digest
          where user_digests.digest is distinct from excluded.digest`,
    );
  }
  if (groups.ids.length) {
    await queryRows(
      tx,
      sql`insert into group_digests (link_id, digest)
          select l.id, s.d from unnest(${p(groups.ids)}::text[], ${p(groups.digests)}::text[]) as s(id, d)
          join group_links l on l.connection = ${p(connection)} and l.directory_id = s.id
                            and l.state = 'active' and l.local_group_id is not null
          on conflict (link_id) do update set digest = excluded.digest
          where group_digests.digest is distinct from excluded.digest`,
    );
  }
}

/** Forgets the member digests of a connection's links: their groups are planned in full at the next run. */
export async function clearMemberDigests(tx: Executor, connection: string): Promise<void> {
  await queryRows(tx, sql`delete from group_digests where link_id in (select id from group_links where connection = ${p(connection)})`);
}
