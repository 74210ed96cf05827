/**
 * Health rules: green or red, with the reasons as data, for every connection and group link.
 * A pure function of what the store says and the time; rendering is the surfaces' business.
 */
import type { SslState } from '../domain/types.ts';
import { formatUtc } from '../format.ts';

export type HealthReason =
  | { readonly code: 'disabled' }
  | { readonly code: 'paused'; readonly since: Date; readonly by: string }
  | { readonly code: 'no_schedule' }
  | { readonly code: 'never_synced' }
  | { readonly code: 'stale'; readonly lastSyncAt: Date; readonly limitMs: number }
  | { readonly code: 'last_run_failed'; readonly runId: number; readonly error: string | null }
  | { readonly code: 'awaiting_approval'; readonly runId: number }
  | { readonly code: 'quarantined'; readonly since: Date; readonly failures: number }
  | { readonly code: 'duplicate_pending'; readonly count: number }
  | { readonly code: 'conflicts_pending'; readonly count: number }
  | { readonly code: 'cert_expiring'; readonly validTo: Date; readonly days: number }
  | { readonly code: 'cert_expired'; readonly validTo: Date }
  | { readonly code: 'cert_untrusted'; readonly detail: string | null };

export type HealthCode = HealthReason['code'];

/** Causes that belong to the connection as a whole; a link red only for these raises no alert of its own. */
export const CONNECTION_CAUSES: ReadonlySet<HealthCode> = new Set(['disabled', 'paused', 'no_schedule', 'never_synced', 'stale', 'last_run_failed', 'awaiting_approval', 'quarantined']);

export interface Attempt {
  readonly id: number;
  readonly status: string;
  readonly startedAt: Date;
  readonly finishedAt: Date | null;
  readonly error: string | null;
  readonly full: boolean;
  /** A dry run changes nothing: its outcome never makes a connection red. */
  readonly dryRun?: boolean;
}

export interface ConnectionHealthInput {
  readonly name: string;
  readonly kind: string;
  readonly enabled: boolean;
  readonly hasSchedule: boolean;
  readonly staleAfterMs: number;
  readonly lastSuccessAt: Date | null;
  readonly nextRunAt: Date | null;
  readonly quarantinedAt: Date | null;
  /** Paused by an admin (`pause`): red with that reason, no next run, not stale meanwhile. */
  readonly paused?: { readonly since: Date; readonly by: string } | null;
  readonly consecutiveFailures: number;
  readonly certificate: { readonly validTo: string; readonly trusted: boolean; readonly error: string | null } | null;
  /** Newest first. */
  readonly attempts: readonly Attempt[];
  readonly syncedUsers: number;
  readonly conflicts: number;
  readonly pendingDuplicates: number;
  readonly links: readonly LinkHealthInput[];
}

export interface LinkHealthInput {
  readonly id: number;
  readonly name: string;
  readonly dn: string | null;
  readonly kind: string;
  readonly createdAt: Date;
  /** Last sync of this link alone (a selected-group run). */
  readonly lastSyncedAt: Date | null;
  readonly pendingDuplicate: boolean;
  readonly conflicts: number;
  /** Null while a running sync's bulk load holds the memberships table (counted again after it). */
  readonly members: number | null;
}

export interface LinkHealth {
  readonly id: number;
  readonly connection: string;
  readonly name: string;
  readonly dn: string | null;
  readonly kind: string;
  readonly status: 'green' | 'red';
  readonly reasons: readonly HealthReason[];
  readonly lastSyncAt: Date | null;
  readonly nextRunAt: Date | null;
  readonly members: number | null;
}

export interface ConnectionHealth {
  readonly name: string;
  readonly kind: string;
  readonly enabled: boolean;
  readonly status: 'green' | 'red';
  readonly reasons: readonly HealthReason[];
  readonly ssl: { readonly state: SslState; readonly validTo: Date | null };
  readonly syncedUsers: number;
  readonly conflicts: number;
  readonly lastSyncAt: Date | null;
  readonly nextRunAt: Date | null;
  readonly lastAttempts: readonly Attempt[];
  readonly links: readonly LinkHealth[];
}

const DAY = 86_400_000;

export function sslOf(certificate: ConnectionHealthInput['certificate'], now: Date): { state: SslState; reason: HealthReason | null; validTo: Date | null } {
  if (!certificate) return { state: 'none', reason: null, validTo: null };
  const validTo = new Date(certificate.validTo);
  if (validTo.getTime() <= now.getTime()) return { state: 'expired', reason: { code: 'cert_expired', validTo }, validTo };
  if (!certificate.trusted) return { state: 'untrusted', reason: { code: 'cert_untrusted', detail: certificate.error }, validTo };
  const days = Math.floor((validTo.getTime() - now.getTime()) / DAY);
  if (days <= 30) return { state: 'expiring', reason: { code: 'cert_expiring', validTo, days }, validTo };
  return { state: 'ok', reason: null, validTo };
}

export function evaluateConnection(input: ConnectionHealthInput, now: Date): ConnectionHealth {
  const common: HealthReason[] = [];
  if (!input.enabled) common.push({ code: 'disabled' });
  if (input.paused) common.push({ code: 'paused', since: input.paused.since, by: input.paused.by });
  if (!input.hasSchedule) common.push({ code: 'no_schedule' });
  if (input.quarantinedAt) common.push({ code: 'quarantined', since: input.quarantinedAt, failures: input.consecutiveFailures });
  const last = input.attempts.find((a) => !a.dryRun && a.status !== 'dry_run' && a.status !== 'running');
  if (last?.status === 'failed') common.push({ code: 'last_run_failed', runId: last.id, error: last.error });
  const waiting = input.attempts.find((a) => a.status === 'awaiting_approval');
  if (waiting) common.push({ code: 'awaiting_approval', runId: waiting.id });
  const stale = (lastSyncAt: Date | null): HealthReason | null => {
    if (!lastSyncAt) return { code: 'never_synced' };
    // A paused connection is not expected to sync: the pause is the reason, not the staleness (which would alert).
    if (input.paused) return null;
    return now.getTime() - lastSyncAt.getTime() > input.staleAfterMs ? { code: 'stale', lastSyncAt, limitMs: input.staleAfterMs } : null;
  };
  const ssl = sslOf(input.certificate, now);
  const connectionReasons: HealthReason[] = [...common];
  const staleness = stale(input.lastSuccessAt);
  if (staleness) connectionReasons.push(staleness);
  if (input.conflicts > 0) connectionReasons.push({ code: 'conflicts_pending', count: input.conflicts });
  if (input.pendingDuplicates > 0) connectionReasons.push({ code: 'duplicate_pending', count: input.pendingDuplicates });
  if (ssl.reason) connectionReasons.push(ssl.reason);
  // A disabled or unscheduled connection does not run, whatever its stored next_run_at says.
  const nextRunAt = input.enabled && input.hasSchedule && !input.paused ? input.nextRunAt : null;

  const links = input.links.map((l): LinkHealth => {
    // A link's last sync: a full successful sync after it was linked, or a sync of it alone.
    const full = input.lastSuccessAt && input.lastSuccessAt >= l.createdAt ? input.lastSuccessAt : null;
    const lastSyncAt = [full, l.lastSyncedAt].filter((d): d is Date => d !== null).sort((a, b) => b.getTime() - a.getTime())[0] ?? null;
    const reasons: HealthReason[] = [...common];
    const linkStale = stale(lastSyncAt);
    if (linkStale) reasons.push(linkStale);
    if (l.pendingDuplicate) reasons.push({ code: 'duplicate_pending', count: 1 });
    if (l.conflicts > 0) reasons.push({ code: 'conflicts_pending', count: l.conflicts });
    return {
      id: l.id,
      connection: input.name,
      name: l.name,
      dn: l.dn,
      kind: l.kind,
      status: reasons.length ? 'red' : 'green',
      reasons,
      lastSyncAt,
      nextRunAt,
      members: l.members,
    };
  });
  links.sort((a, b) => (a.status === b.status ? a.name.localeCompare(b.name) : a.status === 'red' ? -1 : 1));
  return {
    name: input.name,
    kind: input.kind,
    enabled: input.enabled,
    status: connectionReasons.length ? 'red' : 'green',
    reasons: connectionReasons,
    ssl: { state: ssl.state, validTo: ssl.validTo },
    syncedUsers: input.syncedUsers,
    conflicts: input.conflicts,
    lastSyncAt: input.lastSuccessAt,
    nextRunAt,
    lastAttempts: input.attempts.slice(0, 10),
    links,
  };
}

/** Every connection, red first. */
export function evaluateHealth(inputs: readonly ConnectionHealthInput[], now: Date): ConnectionHealth[] {
  return inputs
    .map((i) => evaluateConnection(i, now))
    .sort((a, b) => (a.status === b.status ? a.name.localeCompare(b.name) : a.status === 'red' ? -1 : 1));
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** A duration as people say it: "45 s", "30 min", "1 h 30 min", "48 h", "7 days 12 h" (hours up to 3 days). */
export function formatDuration(ms: number): string {
  if (ms < MINUTE) return `${Math.round(ms / 1000)} s`;
  if (ms < HOUR) return `${Math.round(ms / MINUTE)} min`;
  if (ms < 3 * DAY) {
    const minutes = Math.round(ms / MINUTE);
    const [h, m] = [Math.floor(minutes / 60), minutes % 60];
    return m ? `${h} h ${m} min` : `${h} h`;
  }
  const hours = Math.round(ms / HOUR);
  const [d, h] = [Math.floor(hours / 24), hours % 24];
  return h ? `${d} days ${h} h` : `${d} days`;
}

/** One line per reason, for logs, the CLI and card fallbacks. */
export function describeReason(r: HealthReason): string {
  switch (r.code) {
    case 'disabled':
      return 'connection disabled';
    case 'paused':
      return `paused since ${formatUtc(r.since)} by ${r.by}`;
    case 'no_schedule':
      return 'no schedule';
    case 'never_synced':
      return 'never synced';
    case 'stale':
      return `last sync ${r.lastSyncAt.toISOString()} is older than ${formatDuration(r.limitMs)}`;
    case 'last_run_failed':
      return `last run #${r.runId} failed${r.error ? `: ${r.error}` : ''}`;
    case 'awaiting_approval':
      return `run #${r.runId} awaits approval`;
    case 'quarantined':
      return `quarantined after ${r.failures} failed runs (since ${r.since.toISOString()})`;
    case 'duplicate_pending':
      return `${r.count} duplicate group${r.count === 1 ? '' : 's'} pending`;
    case 'conflicts_pending':
      return `${r.count} user conflict${r.count === 1 ? '' : 's'} pending`;
    case 'cert_expiring':
      return `certificate expires in ${r.days} days (${r.validTo.toISOString().slice(0, 10)})`;
    case 'cert_expired':
      return `certificate expired ${r.validTo.toISOString().slice(0, 10)}`;
    case 'cert_untrusted':
      return `certificate not trusted${r.detail ? ` (${r.detail})` : ''}`;
  }
}
