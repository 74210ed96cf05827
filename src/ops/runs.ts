/** Run history, one run with its audit entries, and what a held run would remove. */
import { and, desc, eq, sql } from 'drizzle-orm';
import { GroupsyncError } from '../errors.ts';
import { queryRows } from '../store/db.ts';
import { type RunRow, getRun, listRuns } from '../store/runs.ts';
import { auditLog, incidents, runs as runsTable } from '../store/schema.ts';
import { type OpsContext, type Page, p } from './context.ts';

export async function listRunsOf(ctx: OpsContext, name: string, limit = 20, beforeId?: number): Promise<RunRow[]> {
  const config = ctx.engine.connection(name);
  return listRuns(ctx.db, config.name, limit, beforeId);
}

/** One page of a connection's runs, newest first, with the total. */
export async function runsPage(ctx: OpsContext, name: string, offset: number, limit: number): Promise<Page<RunRow>> {
  const config = ctx.engine.connection(name);
  const items = await ctx.db.select().from(runsTable).where(eq(runsTable.connection, config.name)).orderBy(desc(runsTable.id)).offset(offset).limit(limit);
  const [total] = await queryRows<{ n: number }>(ctx.db, sql`select count(*)::int as n from runs where connection = ${p(config.name)}`);
  return { items, total: total?.n ?? 0, offset, limit };
}

/** Why a run was held and the sample of removals shown on its approval card. */
export async function heldDetails(ctx: OpsContext, runId: number): Promise<{ reason: string | null; sample: string[] }> {
  const [row] = await ctx.db
    .select({ details: incidents.details })
    .from(incidents)
    .where(and(eq(incidents.runId, runId), eq(incidents.cause, 'awaiting_approval')))
    .orderBy(desc(incidents.id))
    .limit(1);
  const details = (row?.details ?? {}) as { reason?: string; sample?: string[] };
  return { reason: details.reason ?? null, sample: details.sample ?? [] };
}

export async function runDetail(ctx: OpsContext, id: number, auditLimit = 50): Promise<{ run: RunRow; audit: Array<typeof auditLog.$inferSelect>; auditTotal: number }> {
  const run = await getRun(ctx.db, id);
  if (!run) throw new GroupsyncError('NOT_FOUND', `run #${id} does not exist`);
  const audit = await ctx.db.select().from(auditLog).where(eq(auditLog.runId, id)).orderBy(auditLog.id).limit(auditLimit);
  const [total] = await queryRows<{ n: number }>(ctx.db, sql`select count(*)::int as n from audit_log where run_id = ${p(id)}`);
  return { run, audit, auditTotal: total?.n ?? 0 };
}
