/** Run history, one run with its audit entries, and what a held run would remove. */
import { GroupsyncError } from '../errors.ts';
import { approvalDetails } from '../store/incidents.ts';
import { type RunRow, getHeldPlan, getRun, listRuns, listRunsPage } from '../store/runs.ts';
import { removalSample } from '../sync/sample.ts';
import type { OpsContext, Page } from './context.ts';
import { type AuditItem, auditPage } from './read.ts';

export async function listRunsOf(ctx: OpsContext, name: string, limit = 20, beforeId?: number): Promise<RunRow[]> {
  const config = ctx.engine.connection(name);
  return listRuns(ctx.db, config.name, limit, beforeId);
}

/** One page of a connection's runs, newest first, with the total. */
export async function runsPage(ctx: OpsContext, name: string, offset: number, limit: number): Promise<Page<RunRow>> {
  const config = ctx.engine.connection(name);
  const { items, total } = await listRunsPage(ctx.db, config.name, offset, limit);
  return { items, total, offset, limit };
}

/**
 * Why a run was held and the sample of removals shown on its approval card: from its approval
 * incident, or, for a run held while another run's incident was open (one incident per
 * connection), from its held plan.
 */
export async function heldDetails(ctx: OpsContext, runId: number): Promise<{ reason: string | null; sample: string[] }> {
  const details = ((await approvalDetails(ctx.db, runId)) ?? {}) as { reason?: string; sample?: string[] };
  if (details.sample?.length) return { reason: details.reason ?? null, sample: details.sample };
  const plan = await getHeldPlan(ctx.db, runId);
  return { reason: details.reason ?? null, sample: plan ? await removalSample(ctx.db, plan) : [] };
}

/** One run and its first audit entries (oldest first), worded as the audit command words them. */
export async function runDetail(ctx: OpsContext, id: number, auditLimit = 50): Promise<{ run: RunRow; audit: AuditItem[]; auditTotal: number }> {
  const run = await getRun(ctx.db, id);
  if (!run) throw new GroupsyncError('NOT_FOUND', `run #${id} does not exist`);
  const page = await auditPage(ctx, { runId: id }, 0, auditLimit);
  return { run, audit: [...page.items].reverse(), auditTotal: page.total };
}
