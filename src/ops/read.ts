/**
 * Read-only questions an admin asks: the directory's users with their mapping status, the audit
 * log as sentences, and the open incidents with the failure context of their connection. Plain
 * data out (dates as Date, no rendering), so chat views and a CLI `--json` print the same thing.
 */
import { dnKeyOf } from '../domain/dn.ts';
import { GroupsyncError } from '../errors.ts';
import type { IncidentRow } from '../notify/incidents.ts';
import { type AuditFilter, findGroupSubject, findUserSubject, listAudit } from '../store/audit-log.ts';
import { getConnection } from '../store/connections.ts';
import { type DirectoryUserRow, type UserStatusFilter, listDirectoryUsers } from '../store/directory-users.ts';
import { getLocalUsers } from '../store/local-users.ts';
import { actorDisplay, auditDetails, auditSentence, memberIdsOf, parseSince } from './audit-text.ts';
import type { OpsContext, Page } from './context.ts';

export type { DirectoryUserRow, UserStatusFilter } from '../store/directory-users.ts';

export interface UsersQuery {
  readonly status?: UserStatusFilter | null;
  readonly search?: string | null;
}

/** One page of a connection's directory users, filtered by status and a search over login, name and mail. */
export async function listUsers(ctx: OpsContext, name: string, query: UsersQuery, offset: number, limit: number): Promise<Page<DirectoryUserRow> & { connection: string }> {
  const connection = ctx.engine.connection(name).name;
  const { rows, total } = await listDirectoryUsers(ctx.db, connection, { status: query.status ?? null, search: query.search?.trim() || null }, offset, limit);
  return { connection, items: rows, total, offset, limit };
}

export interface AuditQuery {
  readonly connection?: string | null;
  readonly user?: string | null;
  readonly group?: string | null;
  readonly actor?: string | null;
  /** `2h`, `7d`, or an ISO date. */
  readonly since?: string | null;
  /** The entries one run wrote. */
  readonly runId?: number | null;
}

/** An audit entry as read: who (display name), what (a sentence with names), when; ids in `details`. */
export interface AuditItem {
  readonly id: number;
  readonly at: Date;
  readonly actor: string;
  readonly actorName: string;
  readonly action: string;
  readonly connection: string | null;
  readonly runId: number | null;
  readonly targetType: string;
  readonly targetId: string;
  readonly text: string;
  readonly details: string;
  readonly before: unknown;
  readonly after: unknown;
}

/** For a reference typed as a DN: whether a stored DN is the same DN (escapes, case, spaces, RDN order); null otherwise. */
function sameDnAs(ref: string): ((dn: string) => boolean) | null {
  const key = dnKeyOf(ref);
  return key === null ? null : (dn) => dnKeyOf(dn) === key;
}

async function auditFilter(ctx: OpsContext, q: AuditQuery): Promise<AuditFilter> {
  const connection = q.connection ? ctx.engine.connection(q.connection).name : null;
  let since: Date | null = null;
  if (q.since) {
    since = parseSince(q.since, ctx.now());
    if (!since) throw new GroupsyncError('INVALID_ARGUMENT', `--since takes a duration such as 2h or 7d, or a date such as 2026-03-01, not "${q.since}"`);
  }
  return {
    connection,
    user: q.user ? await findUserSubject(ctx.db, q.user, connection, sameDnAs(q.user)) : null,
    group: q.group ? await findGroupSubject(ctx.db, q.group, connection, sameDnAs(q.group)) : null,
    actor: q.actor?.trim() || null,
    since,
    runId: q.runId ?? null,
  };
}

/** One page of the audit log, newest first, as sentences. */
export async function auditPage(ctx: OpsContext, query: AuditQuery, offset: number, limit: number): Promise<Page<AuditItem>> {
  const { rows, total } = await listAudit(ctx.db, await auditFilter(ctx, query), offset, limit);
  const members = new Map((await getLocalUsers(ctx.db, [...new Set(rows.flatMap(memberIdsOf))])).map((u) => [u.id, u.login ?? u.mail ?? `#${u.id}`]));
  const items = rows.map((r) => ({
    id: r.id,
    at: r.at,
    actor: r.actor,
    actorName: actorDisplay(r.actor, r.actorName),
    action: r.action,
    connection: r.connection,
    runId: r.runId,
    targetType: r.targetType,
    targetId: r.targetId,
    text: auditSentence(r, members),
    details: auditDetails(r),
    before: r.before,
    after: r.after,
  }));
  return { items, total, offset, limit };
}

/** How a connection's syncs have gone lately: what an alert and the incident list show beside the cause. */
export interface FailureContext {
  readonly consecutiveFailures: number;
  /** The next scheduled run (the retry, after a failure); null when none is scheduled. */
  readonly nextRunAt: Date | null;
  readonly lastSuccessAt: Date | null;
}

export async function failureContext(ctx: Pick<OpsContext, 'db'>, connection: string): Promise<FailureContext> {
  const row = await getConnection(ctx.db, connection);
  return { consecutiveFailures: row?.consecutiveFailures ?? 0, nextRunAt: row?.nextRunAt ?? null, lastSuccessAt: row?.lastSuccessAt ?? null };
}

/** The open incidents (or all, newest first), each with its connection's failure context. */
export async function incidentsWithContext(ctx: OpsContext, options: { all?: boolean; limit?: number } = {}): Promise<Array<{ incident: IncidentRow; context: FailureContext }>> {
  const list = await ctx.incidents.list(options);
  const contexts = new Map<string, FailureContext>();
  for (const c of new Set(list.map((i) => i.connection))) contexts.set(c, await failureContext(ctx, c));
  return list.map((incident) => ({ incident, context: contexts.get(incident.connection)! }));
}
