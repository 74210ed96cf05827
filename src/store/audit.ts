/** The audit log: every change, by whom, in which run; written in bulk, read per run. */
import { asc, eq, sql } from 'drizzle-orm';
import { bulkInsert } from './copy.ts';
import { type Executor, queryRows } from './db.ts';
import { auditLog } from './schema.ts';
import { p } from './sql.ts';

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
  );
}

/** The first `limit` audit entries of a run, in order, and how many it has. */
export async function listRunAudit(db: Executor, runId: number, limit: number): Promise<{ entries: AuditLogRow[]; total: number }> {
  const entries = await db.select().from(auditLog).where(eq(auditLog.runId, runId)).orderBy(asc(auditLog.id)).limit(limit);
  const [total] = await queryRows<{ n: number }>(db, sql`select count(*)::int as n from audit_log where run_id = ${p(runId)}`);
  return { entries, total: total?.n ?? 0 };
}
