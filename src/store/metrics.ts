/** What /metrics reads from the store at each scrape: open incidents, and each connection's last successful sync. */
import { count, eq } from 'drizzle-orm';
import type { Executor } from './db.ts';
import { connections, incidents } from './schema.ts';

export interface MetricsState {
  readonly openIncidents: ReadonlyArray<{ readonly connection: string; readonly cause: string; readonly count: number }>;
  readonly lastSuccess: ReadonlyArray<{ readonly connection: string; readonly at: Date | null }>;
}

export async function readMetricsState(db: Executor): Promise<MetricsState> {
  const [openIncidents, lastSuccess] = await Promise.all([
    db
      .select({ connection: incidents.connection, cause: incidents.cause, count: count() })
      .from(incidents)
      .where(eq(incidents.status, 'open'))
      .groupBy(incidents.connection, incidents.cause),
    db.select({ connection: connections.name, at: connections.lastSuccessAt }).from(connections),
  ]);
  return { openIncidents, lastSuccess };
}
