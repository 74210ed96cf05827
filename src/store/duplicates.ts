/** Duplicates: directory groups whose name a local group already has, waiting for an admin to link or ignore them. */
import { eq, sql } from 'drizzle-orm';
import { type Executor, queryRows } from './db.ts';
import { duplicates } from './schema.ts';
import { p } from './sql.ts';

export type DuplicateRow = typeof duplicates.$inferSelect;

export interface PendingDuplicate {
  readonly id: number;
  readonly directoryId: string;
  readonly dn: string | null;
  readonly name: string;
  readonly localGroupId: number | null;
  readonly localGroupName: string | null;
  readonly localMembers: number;
  /** The connection whose link feeds the local group, when one does. */
  readonly owner: string | null;
  readonly detectedAt: Date;
}

/** One page of a connection's pending duplicates by name, with their local group and its member count, and the total. */
export async function listPendingDuplicates(db: Executor, connection: string, offset: number, limit: number): Promise<{ items: PendingDuplicate[]; total: number }> {
  const rows = await queryRows<{
    id: number; directory_id: string; dn: string | null; name: string; local_group_id: number | null;
    local_name: string | null; members: number; owner: string | null; detected_at: string | Date;
  }>(
    db,
    sql`select d.id, d.directory_id, d.dn, d.name, d.local_group_id, g.name as local_name,
               (select count(*) from memberships m where m.group_id = d.local_group_id)::int as members,
               (select l.connection from group_links l where l.local_group_id = d.local_group_id and l.state = 'active' order by l.id limit 1) as owner,
               d.detected_at
        from duplicates d left join local_groups g on g.id = d.local_group_id
        where d.connection = ${p(connection)} and d.status = 'pending'
        order by d.name, d.id offset ${p(offset)} limit ${p(limit)}`,
  );
  const [total] = await queryRows<{ n: number }>(db, sql`select count(*)::int as n from duplicates where connection = ${p(connection)} and status = 'pending'`);
  const items = rows.map((r) => ({
    id: r.id,
    directoryId: r.directory_id,
    dn: r.dn,
    name: r.name,
    localGroupId: r.local_group_id,
    localGroupName: r.local_name,
    localMembers: r.members,
    owner: r.owner,
    detectedAt: new Date(r.detected_at),
  }));
  return { items, total: total?.n ?? 0 };
}

/** A duplicate, locked until the transaction ends. */
export async function lockDuplicate(tx: Executor, id: number): Promise<DuplicateRow | null> {
  const [row] = await tx.select().from(duplicates).where(eq(duplicates.id, id)).for('update');
  return row ?? null;
}

export async function resolveDuplicateRow(tx: Executor, id: number, status: 'linked' | 'ignored', actor: string, now: Date): Promise<void> {
  await tx.update(duplicates).set({ status, resolvedBy: actor, resolvedAt: now }).where(eq(duplicates.id, id));
}

/**
 * Creates the local group a duplicate is synced into under a name of its own: "Sales (corp)", or
 * "Sales (corp) 2", 3… when that one is taken too (names are unique in any case). Returns it.
 */
export async function insertSeparateLocalGroup(tx: Executor, name: string, connection: string, kind: 'group' | 'security', now: Date): Promise<{ id: number; name: string }> {
  const base = `${name} (${connection})`;
  const taken = await queryRows<{ name: string }>(tx, sql`select lower(name) as name from local_groups where lower(name) like lower(${p(base.replace(/[\\%_]/g, (c) => `\\${c}`))}) || '%'`);
  const used = new Set(taken.map((r) => r.name));
  let chosen = base;
  for (let n = 2; used.has(chosen.toLowerCase()); n++) chosen = `${base} ${n}`;
  const [row] = await queryRows<{ id: number; name: string }>(
    tx,
    sql`insert into local_groups (name, kind, created_at, updated_at) values (${p(chosen)}, ${p(kind)}, ${p(now.toISOString())}::timestamptz, ${p(now.toISOString())}::timestamptz) returning id, name`,
  );
  return row!;
}
