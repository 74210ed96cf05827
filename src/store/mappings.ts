/** Mappings: each directory user of a connection, its status and the local user it is mapped to. */
import { and, eq, inArray, isNotNull, or, sql } from 'drizzle-orm';
import { type Executor, queryRows } from './db.ts';
import { mappings } from './schema.ts';
import { p } from './sql.ts';

export type MappingRow = typeof mappings.$inferSelect;

export interface MappingKey {
  readonly connection: string;
  readonly directoryId: string;
}

const byKey = (key: MappingKey) => and(eq(mappings.connection, key.connection), eq(mappings.directoryId, key.directoryId));

/** One page of a connection's users in scope that are in conflict (first) or unmapped, by login, and the total. */
export async function listUnsynced(db: Executor, connection: string, offset: number, limit: number): Promise<{ rows: MappingRow[]; total: number }> {
  const rows = await db
    .select()
    .from(mappings)
    .where(and(eq(mappings.connection, connection), inArray(mappings.status, ['conflict', 'unmapped']), eq(mappings.inScope, true)))
    .orderBy(sql`${mappings.status} = 'unmapped'`, mappings.login, mappings.directoryId)
    .offset(offset)
    .limit(limit);
  const [total] = await queryRows<{ n: number }>(
    db,
    sql`select count(*)::int as n from mappings where connection = ${p(connection)} and status in ('conflict', 'unmapped') and in_scope`,
  );
  return { rows, total: total?.n ?? 0 };
}

/** A connection's users by status: synced, in conflict and unmapped (in scope), ignored. */
export async function countMappingStates(db: Executor, connection: string): Promise<{ synced: number; conflicts: number; unmapped: number; ignored: number }> {
  const [counts] = await queryRows<{ synced: number; conflicts: number; unmapped: number; ignored: number }>(
    db,
    sql`select count(*) filter (where status = 'mapped' and in_scope)::int as synced,
               count(*) filter (where status = 'conflict' and in_scope)::int as conflicts,
               count(*) filter (where status = 'unmapped' and in_scope)::int as unmapped,
               count(*) filter (where status = 'ignored')::int as ignored
        from mappings where connection = ${p(connection)}`,
  );
  return counts ?? { synced: 0, conflicts: 0, unmapped: 0, ignored: 0 };
}

/**
 * Directory users (of one connection, or all) whose id, login, mail or DN (as text, any case) is
 * `ref`, or whose stored DN `sameDn` accepts (a DN compared as a DN, which SQL cannot do); at most `limit`.
 */
export async function findMappings(db: Executor, ref: string, connection: string | null, sameDn: ((dn: string) => boolean) | null, limit: number): Promise<MappingRow[]> {
  const inConnection = connection ? eq(mappings.connection, connection) : undefined;
  const withDn = sameDn === null ? [] : await db
    .select({ connection: mappings.connection, directoryId: mappings.directoryId, dn: mappings.dn })
    .from(mappings)
    .where(and(inConnection, isNotNull(mappings.dn)));
  const byDn = sameDn === null ? [] : withDn.filter((m) => sameDn(m.dn!)).slice(0, limit);
  return db
    .select()
    .from(mappings)
    .where(
      and(
        inConnection,
        or(
          sql`(${mappings.directoryId} = ${ref} or lower(${mappings.login}) = lower(${ref}) or lower(${mappings.mail}) = lower(${ref}) or lower(${mappings.dn}) = lower(${ref}))`,
          ...byDn.map((m) => byKey(m)),
        ),
      ),
    )
    .limit(limit);
}

/** A directory user's mapping, locked until the transaction ends. */
export async function lockMapping(tx: Executor, key: MappingKey): Promise<MappingRow | null> {
  const [row] = await tx.select().from(mappings).where(byKey(key)).for('update');
  return row ?? null;
}

/** The directory user of a connection mapped to a local user, if any. */
export async function findMappedTo(db: Executor, connection: string, localUserId: number): Promise<MappingRow | null> {
  const [row] = await db
    .select()
    .from(mappings)
    .where(and(eq(mappings.connection, connection), eq(mappings.localUserId, localUserId), eq(mappings.status, 'mapped')));
  return row ?? null;
}

export interface MappingDecision {
  readonly status: 'mapped' | 'ignored' | 'unmapped';
  readonly localUserId: number | null;
  readonly reason: string | null;
}

/** An admin's decision on a directory user (mapped to a local user, ignored, unignored); candidates are cleared. */
export async function decideMapping(db: Executor, key: MappingKey, decision: MappingDecision, actor: string, now: Date): Promise<void> {
  await db
    .update(mappings)
    .set({ ...decision, candidates: [], resolvedBy: actor, resolvedAt: now, updatedAt: now })
    .where(byKey(key));
}
