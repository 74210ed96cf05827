/**
 * The alert policy: a failed run, a run held for approval and a link or connection turning red
 * open an incident (one per cause per connection or link); recovery resolves it. The store's
 * partial unique index makes "open" happen once across restarts and processes, so an incident
 * never alerts twice. Delivery is the surfaces' job, behind the AlertSink port.
 */
import { and, desc, eq, isNull, sql } from 'drizzle-orm';
import { describeError } from '../errors.ts';
import { CONNECTION_CAUSES, type ConnectionHealth, describeReason, type HealthReason } from '../health/health.ts';
import type { Logger } from '../logger.ts';
import type { Db, Executor } from '../store/db.ts';
import { listHeldRuns } from '../store/runs.ts';
import { incidents } from '../store/schema.ts';
import type { Notifier, SyncEvent } from './port.ts';

export type IncidentRow = typeof incidents.$inferSelect;

export type IncidentCause =
  | 'run_failed'
  | 'awaiting_approval'
  | 'link_red'
  | 'stale'
  | 'quarantined'
  | 'cert_expiring'
  | 'cert_expired'
  | 'cert_untrusted';

/** Receives incidents as they open and resolve: the chat surfaces post and update alert cards. */
export interface AlertSink {
  opened(incident: IncidentRow): Promise<void>;
  resolved(incident: IncidentRow): Promise<void>;
}

export const nullSink: AlertSink = { opened: async () => {}, resolved: async () => {} };

/** Connection-level health causes that are incidents of their own (run outcomes come from run events). */
const CONNECTION_INCIDENTS: ReadonlySet<string> = new Set(['stale', 'quarantined', 'cert_expiring', 'cert_expired', 'cert_untrusted']);

function serializeReason(r: HealthReason): Record<string, unknown> {
  return { ...r, text: describeReason(r) };
}

export class IncidentManager implements Notifier {
  readonly #db: Db;
  readonly #sink: AlertSink;
  readonly #logger: Logger;
  readonly #now: () => Date;
  /** False without an alert sink (the CLI): incidents are left in the outbox for the service. */
  readonly #delivers: boolean;

  constructor(deps: { db: Db; sink?: AlertSink; logger: Logger; now?: () => Date }) {
    this.#db = deps.db;
    this.#sink = deps.sink ?? nullSink;
    this.#delivers = deps.sink !== undefined;
    this.#logger = deps.logger;
    this.#now = deps.now ?? (() => new Date());
  }

  /** Opens an incident unless one is already open for the same cause; returns it only when opened now. */
  async open(connection: string, linkId: number | null, cause: IncidentCause, details: Record<string, unknown>, runId: number | null = null, db: Executor = this.#db): Promise<IncidentRow | null> {
    const [row] = await db
      .insert(incidents)
      .values({ connection, linkId, cause, runId, details, openedAt: this.#now() })
      .onConflictDoNothing()
      .returning();
    if (!row) return null;
    this.#logger.warn({ connection, linkId, cause, incident: row.id }, 'incident opened');
    await this.#deliverOpened(row);
    return row;
  }

  /** Resolves the open incident of that cause, if any; returns it only when resolved now. */
  async resolve(connection: string, linkId: number | null, cause: IncidentCause, details: Record<string, unknown> = {}): Promise<IncidentRow | null> {
    const [row] = await this.#db
      .update(incidents)
      .set({ status: 'resolved', resolvedAt: this.#now(), details: sql`${incidents.details} || ${JSON.stringify({ resolution: details })}::jsonb` })
      .where(
        and(
          eq(incidents.connection, connection),
          linkId === null ? sql`${incidents.linkId} is null` : eq(incidents.linkId, linkId),
          eq(incidents.cause, cause),
          eq(incidents.status, 'open'),
        ),
      )
      .returning();
    if (!row) return null;
    this.#logger.info({ connection, linkId, cause, incident: row.id }, 'incident resolved');
    await this.#deliverResolved(row);
    return row;
  }

  async #deliver(send: () => Promise<void>, row: IncidentRow): Promise<void> {
    try {
      await send();
    } catch (error) {
      this.#logger.error({ incident: row.id, err: describeError(error) }, 'alert delivery failed');
    }
  }

  /**
   * Posts an opened incident, once: the claim (a conditional UPDATE) makes one process of many
   * post it. A process without chat surfaces (the CLI) claims nothing and leaves it to the service.
   */
  async #deliverOpened(row: IncidentRow): Promise<void> {
    if (!this.#delivers) return;
    const [claimed] = await this.#db
      .update(incidents)
      .set({ alertedAt: this.#now() })
      .where(and(eq(incidents.id, row.id), isNull(incidents.alertedAt)))
      .returning();
    if (claimed) await this.#deliver(() => this.#sink.opened(claimed), claimed);
  }

  /** Updates a resolved incident's alert, once; one that was never posted is closed quietly. */
  async #deliverResolved(row: IncidentRow): Promise<void> {
    if (!this.#delivers) return;
    const [claimed] = await this.#db
      .update(incidents)
      .set({ resolveAlertedAt: this.#now(), alertedAt: sql`coalesce(${incidents.alertedAt}, ${incidents.resolvedAt})` })
      .where(and(eq(incidents.id, row.id), eq(incidents.status, 'resolved'), isNull(incidents.resolveAlertedAt)))
      .returning({ id: incidents.id });
    // Never posted (opened and resolved before any process could post it): nothing to update.
    if (!claimed || row.alertedAt === null) return;
    // The row as it is now (its deliveries were written after it was posted).
    const [current] = await this.#db.select().from(incidents).where(eq(incidents.id, row.id));
    if (current) await this.#deliver(() => this.#sink.resolved(current), current);
  }

  /**
   * The outbox: posts what was opened, and updates what was resolved, by a process that could
   * not (the CLI) or before this one started. Run by the service after each scheduler tick.
   */
  async deliverPending(): Promise<{ opened: number; resolved: number }> {
    if (!this.#delivers) return { opened: 0, resolved: 0 };
    const opened = await this.#db.select().from(incidents).where(and(eq(incidents.status, 'open'), isNull(incidents.alertedAt))).orderBy(incidents.id);
    for (const row of opened) await this.#deliverOpened(row);
    const resolved = await this.#db.select().from(incidents).where(and(eq(incidents.status, 'resolved'), isNull(incidents.resolveAlertedAt))).orderBy(incidents.id);
    for (const row of resolved) await this.#deliverResolved(row);
    return { opened: opened.length, resolved: resolved.length };
  }

  /** Run outcomes. */
  async notify(event: SyncEvent): Promise<void> {
    const run = event.run;
    switch (event.type) {
      case 'run.failed':
        await this.open(run.connection, null, 'run_failed', { runId: run.id, code: run.errorCode, error: run.error, trigger: run.trigger }, run.id);
        break;
      case 'run.awaiting_approval':
        await this.open(run.connection, null, 'awaiting_approval', { runId: run.id, reason: event.reason, counts: event.counts, sample: event.sample }, run.id);
        break;
      case 'run.succeeded':
        await this.resolve(run.connection, null, 'run_failed', { runId: run.id });
        if (run.decidedBy) await this.#resolveApproval(run.connection, { runId: run.id, decidedBy: run.decidedBy, status: run.status });
        break;
      case 'run.rejected':
        await this.#resolveApproval(run.connection, { runId: run.id, decidedBy: run.decidedBy, status: 'rejected' });
        break;
    }
  }

  /** The approval incident closes only when no run of the connection awaits approval any more. */
  async #resolveApproval(connection: string, details: Record<string, unknown>): Promise<void> {
    if ((await listHeldRuns(this.#db, connection)).length) return;
    await this.resolve(connection, null, 'awaiting_approval', details);
  }

  /**
   * Health changes: a link red for a cause of its own (a pending duplicate, conflicts) opens a
   * `link_red` incident; connection-wide causes (stale, quarantined, certificate) open one each
   * on the connection, so a failing directory raises one alert, not one per link.
   */
  async reconcile(health: readonly ConnectionHealth[]): Promise<void> {
    // One read of what is open; then only the incidents that change are written, so a steady
    // state with thousands of links costs one query, not one per link.
    const open = new Set(
      (await this.#db.select({ connection: incidents.connection, linkId: incidents.linkId, cause: incidents.cause }).from(incidents).where(eq(incidents.status, 'open'))).map(
        (i) => `${i.connection}|${i.linkId ?? 0}|${i.cause}`,
      ),
    );
    const isOpen = (connection: string, linkId: number | null, cause: string) => open.has(`${connection}|${linkId ?? 0}|${cause}`);
    for (const c of health) {
      for (const cause of CONNECTION_INCIDENTS) {
        const reason = c.reasons.find((r) => r.code === cause);
        if (reason && !isOpen(c.name, null, cause)) await this.open(c.name, null, cause as IncidentCause, serializeReason(reason));
        else if (!reason && isOpen(c.name, null, cause)) await this.resolve(c.name, null, cause as IncidentCause);
      }
      for (const link of c.links) {
        const own = link.reasons.filter((r) => !CONNECTION_CAUSES.has(r.code));
        if (own.length && !isOpen(c.name, link.id, 'link_red')) {
          await this.open(c.name, link.id, 'link_red', { link: link.name, dn: link.dn, reasons: own.map(serializeReason) });
        } else if (!own.length && isOpen(c.name, link.id, 'link_red')) {
          await this.resolve(c.name, link.id, 'link_red');
        }
      }
    }
    // Incidents of links that no longer exist (unlinked, deleted) are resolved too.
    const links = new Set(health.flatMap((c) => c.links.map((l) => `${c.name}|${l.id}`)));
    for (const key of open) {
      const [connection, linkId, cause] = key.split('|') as [string, string, string];
      if (cause === 'link_red' && !links.has(`${connection}|${linkId}`) && health.some((c) => c.name === connection)) {
        await this.resolve(connection, Number(linkId), 'link_red', { reason: 'link removed' });
      }
    }
  }

  async list(options: { all?: boolean; limit?: number } = {}): Promise<IncidentRow[]> {
    const query = this.#db.select().from(incidents);
    const filtered = options.all ? query : query.where(eq(incidents.status, 'open'));
    return filtered.orderBy(desc(incidents.id)).limit(options.limit ?? 100);
  }
}
