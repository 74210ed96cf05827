/**
 * What /metrics reads from the store at each scrape: open incidents, each connection's last
 * successful sync, the runs recorded (by any process: the service, a replica, the CLI) and the
 * duration of each connection's last finished run.
 */
import { count, desc, eq, isNotNull, notInArray } from 'drizzle-orm';
import type { Executor } from './db.ts';
import { connections, incidents, runs } from './schema.ts';

export interface MetricsState {
  readonly openIncidents: ReadonlyArray<{ readonly connection: string; readonly cause: string; readonly count: number }>;
  readonly lastSuccess: ReadonlyArray<{ readonly connection: string; readonly at: Date | null }>;
  /** Finished runs by connection, trigger and final status (a run running or held has no final status yet). */
  readonly runsRecorded: ReadonlyArray<{ readonly connection: string; readonly trigger: string; readonly status: string; readonly count: number }>;
  readonly lastRun: ReadonlyArray<{ readonly connection: string; readonly startedAt: Date; readonly finishedAt: Date | null }>;
}

/** Statuses a run leaves: counted only once final, so that each series only grows. */
const NOT_FINAL = ['running', 'awaiting_approval'] as const;

export async function readMetricsState(db: Executor): Promise<MetricsState> {
  const [openIncidents, lastSuccess, runsRecorded, lastRun] = await Promise.all([
    db
      .select({ connection: incidents.connection, cause: incidents.cause, count: count() })
      .from(incidents)
      .where(eq(incidents.status, 'open'))
      .groupBy(incidents.connection, incidents.cause),
    db.select({ connection: connections.name, at: connections.lastSuccessAt }).from(connections),
    db
      .select({ connection: runs.connection, trigger: runs.trigger, status: runs.status, count: count() })
      .from(runs)
      .where(notInArray(runs.status, [...NOT_FINAL]))
      .groupBy(runs.connection, runs.trigger, runs.status),
    db
      .selectDistinctOn([runs.connection], { connection: runs.connection, startedAt: runs.startedAt, finishedAt: runs.finishedAt })
      .from(runs)
      .where(isNotNull(runs.finishedAt))
      .orderBy(runs.connection, desc(runs.finishedAt)),
  ]);
  return { openIncidents, lastSuccess, runsRecorded, lastRun };
}
