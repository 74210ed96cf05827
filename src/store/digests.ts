/**
 * The digests a full-scope run stores with what it applied (same transaction), and their
 * clearing after a run that cannot vouch for its groups' memberships (see sync/plan/digest.ts).
 */
import { sql } from 'drizzle-orm';
import type { DigestWrites } from '../sync/plan/digest.ts';
import { type Executor, queryRows } from './db.ts';
import { p } from './sql.ts';

export async function saveDigests(tx: Executor, connection: string, writes: DigestWrites): Promise<void> {
  const { users, groups } = writes;
  if (users.ids.length) {
    await queryRows(
      tx,
      sql`update mappings m set digest = s.d
          from unnest(${p(users.ids)}::text[], ${p(users.digests)}::text[]) as s(id, d)
          where m.connection = ${p(connection)} and m.directory_id = s.id and m.digest is distinct from s.d`,
    );
  }
  if (groups.ids.length) {
    await queryRows(
      tx,
      sql`update group_links l set member_digest = s.d
          from unnest(${p(groups.ids)}::text[], ${p(groups.digests)}::text[]) as s(id, d)
          where l.connection = ${p(connection)} and l.directory_id = s.id and l.state = 'active'
            and l.local_group_id is not null and l.member_digest is distinct from s.d`,
    );
  }
}

/** Forgets the member digests of a connection's links: their groups are planned in full at the next run. */
export async function clearMemberDigests(tx: Executor, connection: string): Promise<void> {
  await queryRows(tx, sql`update group_links set member_digest = null where connection = ${p(connection)} and member_digest is not null`);
}
