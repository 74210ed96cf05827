/** The audit log: every change, by whom, in which run; written in bulk, read per run. */
import { asc, eq, sql } from 'drizzle-orm';
import { bulkInsert } from './copy.ts';
import { type Executor, queryRows } from './db.ts';
import { auditLog } from './schema.ts';
import { p, unnest } from './sql.ts';

export type AuditLogRow = typeof auditLog.$inferSelect;

export interface AuditRow {
  readonly action: string;
  readonly targetType: string;
  readonly targetId: string;
  readonly before: unknown;
  readonly after: unknown;
}

const json = (v: unknown) => (v === null || v === undefined ? null : JSON.stringify(v));

export async function insertAudit(
  tx: Executor,
  actor: string,
  connection: string | null,
  runId: number | null,
  rows: readonly AuditRow[],
): Promise<void> {
  await bulkInsert(
    tx,
    'audit_log',
    ['actor', 'action', 'connection', 'run_id', 'target_type', 'target_id', 'before', 'after'],
    rows.length,
    (k) => {
      const r = rows[k]!;
      return [actor, r.action, connection, runId, r.targetType, r.targetId, json(r.before), json(r.after)];
    },
    (from, to) => {
      const slice = rows.slice(from, to);
      return sql`insert into audit_log (actor, action, connection, run_id, target_type, target_id, before, after)
      select ${p(actor)}, a, ${p(connection)}, ${p(runId)}::int, tt, ti, b::jsonb, af::jsonb from ${unnest([
        [slice.map((r) => r.action), 'text'],
        [slice.map((r) => r.targetType), 'text'],
        [slice.map((r) => r.targetId), 'text'],
        [slice.map((r) => json(r.before)), 'text'],
        [slice.map((r) => json(r.after)), 'text'],
      ])} as t(a, tt, ti, b, af)`;
    },
  );
}

/** The first `limit` audit entries of a run, in order, and how many it has. */
export async function listRunAudit(db: Executor, runId: number, limit: number): Promise<{ entries: AuditLogRow[]; total: number }> {
  const entries = await db.select().from(auditLog).where(eq(auditLog.runId, runId)).orderBy(asc(auditLog.id)).limit(limit);
  const [total] = await queryRows<{ n: number }>(db, sql`select count(*)::int as n from audit_log where run_id = ${p(runId)}`);
  return { entries, total: total?.n ?? 0 };
}
