/**
 * Loads what the health rules need for every connection in a fixed number of set-based queries,
 * whatever the number of links.
 */
import { sql } from 'drizzle-orm';
import type { ConnectionConfig } from '../config.ts';
import type { Attempt, ConnectionHealthInput, LinkHealthInput } from '../health/health.ts';
import { type Executor, queryRows } from './db.ts';
import { isLockRefused } from './bulk-load.ts';
import { p } from './sql.ts';
const date = (v: string | Date | null): Date | null => (v === null ? null : v instanceof Date ? v : new Date(v));

/**
 * `full`: everything a health view shows. `alerts`: what the health rules need to open and resolve
 * incidents, evaluated after every run and scheduler tick: no member count per link (members
 * null: a count of every membership, seconds at a million users) and no count of synced users
 * (syncedUsers 0); conflicts are counted through the mappings' status index. Its links are only
 * those that can raise an alert of their own (a pending duplicate, conflicts: the other reasons a
 * link is red are its connection's, alerted once for the connection), so a run of a connection
 * with thousands of healthy links reads none of them.
 */
export type HealthDetail = 'full' | 'alerts';

/**
 * `links: false` leaves the links out (their inputs come to tens of thousands of rows and an
 * aggregate over every membership): what a connection's own health needs.
 */
export async function loadHealthInputs(db: Executor, configs: readonly ConnectionConfig[], options: { links?: boolean; detail?: HealthDetail } = {}): Promise<ConnectionHealthInput[]> {
  const alerts = options.detail === 'alerts';
  const names = configs.map((c) => c.name);
  if (names.length === 0) return [];
  const byName = await connectionRows(db, names);
  const attempts = await recentAttempts(db, names);
  const counts = await mappingCounts(db, names, alerts);
  const dups = await pendingDuplicates(db, names);
  const linkInputs = options.links === false ? new Map<string, LinkHealthInput[]>() : await loadLinkInputs(db, names, alerts ? 'alerts' : 'full');
  return configs.map((c) => {
    const row = byName.get(c.name);
    return {
      name: c.name,
      kind: c.kind,
      enabled: c.enabled,
      hasSchedule: c.schedule !== null,
      staleAfterMs: c.staleAfterMs,
      lastSuccessAt: date(row?.last_success_at ?? null),
      nextRunAt: date(row?.next_run_at ?? null),
      quarantinedAt: date(row?.quarantined_at ?? null),
      paused: row?.paused_at ? { since: date(row.paused_at)!, by: row.paused_by ?? 'unknown' } : null,
      consecutiveFailures: row?.consecutive_failures ?? 0,
      certificate: row?.certificate ?? null,
      attempts: attempts.get(c.name) ?? [],
      syncedUsers: counts.get(c.name)?.synced ?? 0,
      conflicts: counts.get(c.name)?.conflicts ?? 0,
      pendingDuplicates: dups.get(c.name) ?? 0,
      links: linkInputs.get(c.name) ?? [],
    };
  });
}

interface ConnectionRow {
  name: string;
  last_success_at: string | Date | null;
  next_run_at: string | Date | null;
  quarantined_at: string | Date | null;
  paused_at: string | Date | null;
  paused_by: string | null;
  consecutive_failures: number;
  certificate: ConnectionHealthInput['certificate'];
}

async function connectionRows(db: Executor, names: readonly string[]): Promise<Map<string, ConnectionRow>> {
  const rows = await queryRows<ConnectionRow>(
    db,
    sql`select name, last_success_at, next_run_at, quarantined_at, paused_at, paused_by, consecutive_failures, certificate
        from connections where name = any(${p(names)}::text[])`,
  );
  return new Map(rows.map((r) => [r.name, r]));
}

/** The last ten runs of each connection, newest first. */
async function recentAttempts(db: Executor, names: readonly string[]): Promise<Map<string, Attempt[]>> {
  const rows = await queryRows<{
    connection: string; id: number; status: string; started_at: string | Date; finished_at: string | Date | null;
    error: string | null; is_full: boolean; dry_run: boolean;
  }>(
    db,
    sql`select connection, id, status, started_at, finished_at, error, is_full, dry_run from (
          select connection, id, status, started_at, finished_at, error, dry_run,
                 (kind_filter is null and group_filter = '[]'::jsonb) as is_full,
                 row_number() over (partition by connection order by id desc) as n
          from runs where connection = any(${p(names)}::text[])) r
        where n <= 10 order by connection, id desc`,
  );
  const attempts = new Map<string, Attempt[]>();
  for (const r of rows) {
    const list = attempts.get(r.connection) ?? [];
    list.push({ id: r.id, status: r.status, startedAt: date(r.started_at)!, finishedAt: date(r.finished_at), error: r.error, full: r.is_full, dryRun: r.dry_run });
    attempts.set(r.connection, list);
  }
  return attempts;
}

/** Synced users and conflicts per connection; for alerts, conflicts alone (through the status index). */
async function mappingCounts(db: Executor, names: readonly string[], alerts: boolean): Promise<Map<string, { synced: number; conflicts: number }>> {
  const rows = await queryRows<{ connection: string; synced: number; conflicts: number }>(
    db,
    alerts
      ? sql`select connection, 0 as synced, count(*)::int as conflicts from mappings
            where connection = any(${p(names)}::text[]) and status = 'conflict' and in_scope group by connection`
      : sql`select connection,
               count(*) filter (where status = 'mapped' and in_scope)::int as synced,
               count(*) filter (where status = 'conflict' and in_scope)::int as conflicts
        from mappings where connection = any(${p(names)}::text[]) group by connection`,
  );
  return new Map(rows.map((r) => [r.connection, r]));
}

async function pendingDuplicates(db: Executor, names: readonly string[]): Promise<Map<string, number>> {
  const rows = await queryRows<{ connection: string; n: number }>(
    db,
    sql`select connection, count(*)::int as n from duplicates
        where status = 'pending' and connection = any(${p(names)}::text[]) group by connection`,
  );
  return new Map(rows.map((r) => [r.connection, r.n]));
}

interface LinkRow {
  id: number; connection: string; name: string; dn: string | null; kind: string; created_at: string | Date;
  last_synced_at: string | Date | null; directory_id: string; local_group_id: number | null;
}

/**
 * The inputs of the active links of these connections, by connection: every one (`full`), or
 * those with a pending duplicate or conflicts (`alerts`, see HealthDetail).
 */
async function loadLinkInputs(db: Executor, names: readonly string[], detail: HealthDetail): Promise<Map<string, LinkHealthInput[]>> {
  // Links and their counts come from separate simple queries joined here: one query joining
  // aggregates per link could get a nested-loop plan right after a bulk load (no statistics yet)
  // and rescan the memberships once per link.
  const pendingRows = await queryRows<{ connection: string; directory_id: string }>(
    db,
    sql`select connection, directory_id from duplicates where status = 'pending' and connection = any(${p(names)}::text[])`,
  );
  const conflictRows = await queryRows<{ connection: string; directory_id: string; n: number }>(
    db,
    sql`select mp.connection, g.value as directory_id, count(*)::int as n
        from mappings mp cross join lateral jsonb_array_elements_text(mp.via_groups) g
        where mp.status = 'conflict' and mp.in_scope and mp.connection = any(${p(names)}::text[]) group by 1, 2`,
  );
  const flagged = detail === 'alerts' ? [...new Set([...pendingRows, ...conflictRows].map((r) => r.directory_id))] : null;
  const linkRows = await activeLinkRows(db, names, flagged);
  const membersOf = detail === 'full' ? await memberCounts(db, names) : null;
  const pending = new Set(pendingRows.map((r) => `${r.connection}|${r.directory_id}`));
  const conflictsOf = new Map(conflictRows.map((r) => [`${r.connection}|${r.directory_id}`, r.n]));
  const links = new Map<string, LinkHealthInput[]>();
  for (const r of linkRows) {
    const list = links.get(r.connection) ?? [];
    list.push({
      id: r.id,
      name: r.name,
      dn: r.dn,
      kind: r.kind,
      createdAt: date(r.created_at)!,
      lastSyncedAt: date(r.last_synced_at),
      pendingDuplicate: pending.has(`${r.connection}|${r.directory_id}`),
      conflicts: conflictsOf.get(`${r.connection}|${r.directory_id}`) ?? 0,
      members: membersOf === null ? null : r.local_group_id === null ? 0 : (membersOf.get(r.local_group_id) ?? 0),
    });
    links.set(r.connection, list);
  }
  return links;
}

/** The connections' active links, or only those of these directory ids (none: no query). */
async function activeLinkRows(db: Executor, names: readonly string[], directoryIds: readonly string[] | null): Promise<LinkRow[]> {
  if (directoryIds?.length === 0) return [];
  const only = directoryIds ? sql` and directory_id = any(${p(directoryIds)}::text[])` : sql``;
  return queryRows<LinkRow>(
    db,
    sql`select id, connection, name, dn, kind, created_at, last_synced_at, directory_id, local_group_id
        from group_links where state = 'active' and connection = any(${p(names)}::text[])${only} order by connection, name`,
  );
}

/** How long health waits for the memberships table before it answers without the member counts. */
export const MEMBER_COUNT_LOCK_TIMEOUT_MS = 300;

/**
 * Members per linked local group; null while a bulk load (a first sync of a large directory,
 * bulk-load.ts) holds the table until its transaction ends: health answers at once without them.
 */
async function memberCounts(db: Executor, names: readonly string[]): Promise<Map<number, number> | null> {
  try {
    return await db.transaction(async (tx) => {
      await tx.execute(sql`select set_config('lock_timeout', ${p(`${MEMBER_COUNT_LOCK_TIMEOUT_MS}ms`)}, true)`);
      const rows = await queryRows<{ group_id: number; n: number }>(
        tx,
        sql`select group_id, count(*)::int as n from memberships
            where group_id in (select local_group_id from group_links where state = 'active' and connection = any(${p(names)}::text[]))
            group by group_id`,
      );
      return new Map(rows.map((r) => [r.group_id, r.n]));
    });
  } catch (error) {
    if (isLockRefused(error)) return null;
    throw error;
  }
}
