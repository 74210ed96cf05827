/** Connections: status, health of everything, removal. */
import { eq, sql } from 'drizzle-orm';
import type { ConnectionConfig } from '../config.ts';
import type { SslState } from '../domain/types.ts';
import { GroupsyncError } from '../errors.ts';
import { type ConnectionHealth, type HealthReason, evaluateConnection, evaluateHealth, sslOf } from '../health/health.ts';
import { queryRows } from '../store/db.ts';
import { loadHealthInputs } from '../store/health-state.ts';
import { type RunRow, listRuns } from '../store/runs.ts';
import { connections, incidents } from '../store/schema.ts';
import { insertAudit } from '../store/audit.ts';
import { type OpsContext, p } from './context.ts';

export interface ConnectionStatus {
  readonly name: string;
  readonly kind: string;
  readonly vendor: string | null;
  readonly enabled: boolean;
  readonly schedule: string;
  readonly linkedGroups: number;
  readonly syncedUsers: number;
  readonly conflicts: number;
  readonly unmapped: number;
  readonly ignored: number;
  readonly pendingDuplicates: number;
  readonly ssl: { readonly state: SslState; readonly validTo: string | null; readonly detail: string | null };
  readonly lastSyncAt: Date | null;
  readonly lastRunAt: Date | null;
  readonly runningSince: Date | null;
  readonly lastAttempts: ReadonlyArray<Pick<RunRow, 'id' | 'status' | 'startedAt' | 'finishedAt' | 'trigger' | 'error'>>;
  readonly health: 'green' | 'red';
  readonly reasons: readonly HealthReason[];
  readonly nextRunAt: Date | null;
  readonly quarantinedAt: Date | null;
  readonly consecutiveFailures: number;
}

export function sslState(
  certificate: { validTo: string; trusted: boolean; error: string | null } | null,
  now: Date,
): { state: SslState; validTo: string | null; detail: string | null } {
  const ssl = sslOf(certificate, now);
  const r = ssl.reason;
  const detail =
    r?.code === 'cert_untrusted' ? r.detail : r?.code === 'cert_expiring' ? `expires in ${r.days} days` : r?.code === 'cert_expired' ? `expired ${r.validTo.toISOString()}` : null;
  return { state: ssl.state, validTo: certificate?.validTo ?? null, detail };
}

export function describeSchedule(c: ConnectionConfig): string {
  if (!c.schedule) return 'none';
  if ('cron' in c.schedule) return `cron ${c.schedule.cron}${c.schedule.timezone ? ` (${c.schedule.timezone})` : ''}`;
  const h = c.schedule.interval / 3_600_000;
  return `every ${Number.isInteger(h) ? `${h} h` : `${Math.round(c.schedule.interval / 60_000)} min`} after the last sync`;
}

export async function status(ctx: OpsContext, name: string): Promise<ConnectionStatus> {
  const config = ctx.engine.connection(name);
  await ctx.engine.registerConnections();
  const [row] = await ctx.db.select().from(connections).where(eq(connections.name, config.name));
  const [counts] = await queryRows<{ synced: number; conflicts: number; unmapped: number; ignored: number }>(
    ctx.db,
    sql`select count(*) filter (where status = 'mapped' and in_scope)::int as synced,
               count(*) filter (where status = 'conflict' and in_scope)::int as conflicts,
               count(*) filter (where status = 'unmapped' and in_scope)::int as unmapped,
               count(*) filter (where status = 'ignored')::int as ignored
        from mappings where connection = ${p(config.name)}`,
  );
  const [groups] = await queryRows<{ linked: number; duplicates: number }>(
    ctx.db,
    sql`select (select count(*) from group_links where connection = ${p(config.name)} and state = 'active')::int as linked,
               (select count(*) from duplicates where connection = ${p(config.name)} and status = 'pending')::int as duplicates`,
  );
  const attempts = await listRuns(ctx.db, config.name, 10);
  const now = ctx.now();
  const [input] = await loadHealthInputs(ctx.db, [config]);
  const health = evaluateConnection(input!, now);
  const running = row?.lockHolder && row.lockExpiresAt && row.lockExpiresAt > now ? row.lockedAt : null;
  return {
    name: config.name,
    kind: config.kind,
    vendor: row?.vendor ?? null,
    enabled: config.enabled,
    schedule: describeSchedule(config),
    linkedGroups: groups?.linked ?? 0,
    syncedUsers: counts?.synced ?? 0,
    conflicts: counts?.conflicts ?? 0,
    unmapped: counts?.unmapped ?? 0,
    ignored: counts?.ignored ?? 0,
    pendingDuplicates: groups?.duplicates ?? 0,
    ssl: sslState(row?.certificate ?? null, now),
    lastSyncAt: row?.lastSuccessAt ?? null,
    lastRunAt: row?.lastRunAt ?? null,
    runningSince: running ?? null,
    lastAttempts: attempts.map((r) => ({ id: r.id, status: r.status, startedAt: r.startedAt, finishedAt: r.finishedAt, trigger: r.trigger, error: r.error })),
    health: health.status,
    reasons: health.reasons,
    nextRunAt: health.nextRunAt,
    quarantinedAt: row?.quarantinedAt ?? null,
    consecutiveFailures: row?.consecutiveFailures ?? 0,
  };
}

/** Every connection and linked group, red first, with the reasons. */
export async function health(ctx: OpsContext): Promise<ConnectionHealth[]> {
  await ctx.engine.registerConnections();
  return evaluateHealth(await loadHealthInputs(ctx.db, ctx.engine.connections), ctx.now());
}

/**
 * Removes a connection's state, links, mappings, duplicates, runs and incidents. Local users and
 * groups stay (accounts are never deleted). Only with an explicit confirmation; audited.
 */
export async function removeConnection(ctx: OpsContext, name: string, actor: string, confirm: boolean) {
  const [row] = await ctx.db.select().from(connections).where(sql`lower(${connections.name}) = lower(${name})`);
  if (!row) throw new GroupsyncError('NOT_FOUND', `no connection "${name}" in the store`);
  const [counts] = await queryRows<{ links: number; mappings: number; runs: number; duplicates: number }>(
    ctx.db,
    sql`select (select count(*) from group_links where connection = ${p(row.name)})::int as links,
               (select count(*) from mappings where connection = ${p(row.name)})::int as mappings,
               (select count(*) from runs where connection = ${p(row.name)})::int as runs,
               (select count(*) from duplicates where connection = ${p(row.name)})::int as duplicates`,
  );
  if (!confirm) {
    throw new GroupsyncError(
      'INVALID_ARGUMENT',
      `removing "${row.name}" deletes ${counts?.links ?? 0} links, ${counts?.mappings ?? 0} user mappings, ${counts?.runs ?? 0} runs and its history ` +
        '(local users and groups stay); repeat with --confirm to do it',
    );
  }
  const stillConfigured = ctx.engine.connections.some((c) => c.name === row.name);
  await ctx.db.transaction(async (tx) => {
    await tx.execute(sql`select 1 from connections where name = ${p(row.name)} for update`);
    if (row.lockHolder && row.lockExpiresAt && row.lockExpiresAt > ctx.now()) {
      throw new GroupsyncError('ALREADY_RUNNING', `a sync of "${row.name}" is running since ${row.lockedAt?.toISOString()}; remove it when it has finished`);
    }
    await tx.delete(incidents).where(eq(incidents.connection, row.name));
    await tx.delete(connections).where(eq(connections.name, row.name));
    await insertAudit(tx, actor, row.name, null, [
      { action: 'connection.removed', targetType: 'connection', targetId: row.name, before: { kind: row.kind, ...counts }, after: null },
    ]);
  });
  return { name: row.name, removed: counts, stillConfigured };
}
