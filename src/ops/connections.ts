/** Connections: status, health of everything, removal. */
import type { ConnectionConfig } from '../config.ts';
import type { SslState } from '../domain/types.ts';
import { GroupsyncError } from '../errors.ts';
import { formatTime } from '../format.ts';
import { type ConnectionHealth, type HealthReason, evaluateConnection, evaluateHealth, sslOf } from '../health/health.ts';
import { insertAudit } from '../store/audit.ts';
import { countConnectionData, countLinksAndDuplicates, deleteConnection, findConnection, getConnection, lockConnectionRow } from '../store/connections.ts';
import { deleteIncidentsOf } from '../store/incidents.ts';
import { countMappingStates } from '../store/mappings.ts';
import type { HealthDetail } from '../store/health-state.ts';
import { type Attempt, listAttempts } from '../store/runs.ts';
import { withTransaction } from '../store/transaction.ts';
import type { OpsContext } from './context.ts';

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
  readonly lastAttempts: readonly Attempt[];
  readonly health: 'green' | 'red';
  readonly reasons: readonly HealthReason[];
  readonly nextRunAt: Date | null;
  readonly quarantinedAt: Date | null;
  readonly consecutiveFailures: number;
  /** Paused by an admin (`pause`), with when and by whom; null when it runs. */
  readonly paused?: { readonly since: Date; readonly by: string } | null;
  /** The file an LDIF connection reads (its name shows in the AD type). */
  readonly file?: string | null;
}

export function sslState(
  certificate: { validTo: string; trusted: boolean; error: string | null } | null,
  now: Date,
): { state: SslState; validTo: string | null; detail: string | null } {
  const ssl = sslOf(certificate, now);
  const r = ssl.reason;
  const detail =
    r?.code === 'cert_untrusted' ? r.detail : r?.code === 'cert_expiring' ? `expires in ${r.days} days` : r?.code === 'cert_expired' ? `expired ${formatTime(r.validTo)}` : null;
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
  const row = await getConnection(ctx.db, config.name);
  const counts = await countMappingStates(ctx.db, config.name);
  const groups = await countLinksAndDuplicates(ctx.db, config.name);
  const attempts = await listAttempts(ctx.db, config.name, 10);
  const now = ctx.now();
  // The connection's own health: its links' inputs (thousands of rows) are not needed here.
  const [input] = await ctx.healthInputs([config], false);
  const health = evaluateConnection(input!, now);
  const running = row?.lockHolder && row.lockExpiresAt && row.lockExpiresAt > now ? row.lockedAt : null;
  return {
    name: config.name,
    kind: config.kind,
    vendor: row?.vendor ?? null,
    file: config.kind === 'ldif' ? config.file : null,
    enabled: config.enabled,
    schedule: describeSchedule(config),
    linkedGroups: groups.linked,
    syncedUsers: counts.synced,
    conflicts: counts.conflicts,
    unmapped: counts.unmapped,
    ignored: counts.ignored,
    pendingDuplicates: groups.duplicates,
    ssl: sslState(row?.certificate ?? null, now),
    lastSyncAt: row?.lastSuccessAt ?? null,
    lastRunAt: row?.lastRunAt ?? null,
    runningSince: running ?? null,
    lastAttempts: attempts,
    health: health.status,
    reasons: health.reasons,
    nextRunAt: health.nextRunAt,
    quarantinedAt: row?.quarantinedAt ?? null,
    consecutiveFailures: row?.consecutiveFailures ?? 0,
    paused: input!.paused ?? null,
  };
}

/** Every connection and linked group, red first, with the reasons. */
export async function health(ctx: OpsContext, detail: HealthDetail = 'full'): Promise<ConnectionHealth[]> {
  await ctx.engine.registerConnections();
  return evaluateHealth(await ctx.healthInputs(ctx.engine.connections, true, detail), ctx.now());
}

/**
 * Removes a connection's state, links, mappings, duplicates, runs and incidents. Local users and
 * groups stay (accounts are never deleted). Only with an explicit confirmation; audited.
 */
export async function removeConnection(ctx: OpsContext, name: string, actor: string, confirm: boolean) {
  const row = await findConnection(ctx.db, name);
  if (!row) throw new GroupsyncError('NOT_FOUND', `no connection "${name}" in the store`);
  const counts = await countConnectionData(ctx.db, row.name);
  if (!confirm) {
    throw new GroupsyncError(
      'INVALID_ARGUMENT',
      `removing "${row.name}" deletes ${counts.links} links, ${counts.mappings} user mappings, ${counts.runs} runs and its history ` +
        '(local users and groups stay); repeat with --confirm to do it',
    );
  }
  const stillConfigured = ctx.engine.connections.some((c) => c.name === row.name);
  await withTransaction(ctx.db, async (tx) => {
    await lockConnectionRow(tx, row.name);
    if (row.lockHolder && row.lockExpiresAt && row.lockExpiresAt > ctx.now()) {
      throw new GroupsyncError('ALREADY_RUNNING', `a sync of "${row.name}" is running since ${formatTime(row.lockedAt)}; remove it when it has finished`);
    }
    await deleteIncidentsOf(tx, row.name);
    await deleteConnection(tx, row.name);
    await insertAudit(tx, actor, row.name, null, [
      { action: 'connection.removed', targetType: 'connection', targetId: row.name, before: { kind: row.kind, ...counts }, after: null },
    ]);
  });
  return { name: row.name, removed: counts, stillConfigured };
}
