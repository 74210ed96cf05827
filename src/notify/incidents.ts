/**
 * The alert policy: a failed run, a run held for approval and links or a connection turning red
 * open an incident (one per connection and cause); recovery resolves it. Red links are grouped:
 * one `link_red` incident per connection lists them, and is updated in place as links join or
 * leave it, so a run that turns 300 links red raises one alert, not 300. The store's partial
 * unique index makes "open" happen once across restarts and processes, so an incident never
 * alerts twice. Delivery is the surfaces' job, behind the AlertSink port.
 */
import { createHash } from 'node:crypto';
import { describeError } from '../errors.ts';
import { CONNECTION_CAUSES, type ConnectionHealth, describeReason, type HealthReason } from '../health/health.ts';
import type { Logger } from '../logger.ts';
import type { Db, Executor } from '../store/db.ts';
import {
  type IncidentRow,
  claimOpenedAlert,
  claimResolvedAlert,
  claimUpdatedAlert,
  getIncident,
  insertIncident,
  listIncidents,
  listChangedIncidents,
  listOpenIncidents,
  listUnannouncedResolutions,
  listUnpostedIncidents,
  resolveIncident,
  updateIncidentDetails,
} from '../store/incidents.ts';
import { listHeldRuns } from '../store/runs.ts';
import type { Notifier, SyncEvent } from './port.ts';

export type { IncidentRow } from '../store/incidents.ts';

export type IncidentCause =
  | 'run_failed'
  | 'awaiting_approval'
  | 'link_red'
  | 'stale'
  | 'quarantined'
  | 'cert_expiring'
  | 'cert_expired'
  | 'cert_untrusted';

/** Receives incidents as they open, change and resolve: the chat surfaces post and update alert cards. */
export interface AlertSink {
  opened(incident: IncidentRow): Promise<void>;
  /** An open incident's details changed (links joined or left it): its posted cards are updated. */
  updated(incident: IncidentRow): Promise<void>;
  resolved(incident: IncidentRow): Promise<void>;
}

export const nullSink: AlertSink = { opened: async () => {}, updated: async () => {}, resolved: async () => {} };

/** How many red links a grouped alert names; the rest are counted ("…and N more") and shown by `health`. */
export const ALERT_LINKS_SHOWN = 10;

/** The details of a grouped `link_red` incident: what its card shows, and a signature of the whole set. */
export interface LinkRedDetails {
  readonly total: number;
  /** The first ALERT_LINKS_SHOWN red links, by name. */
  readonly links: ReadonlyArray<{ readonly id: number; readonly name: string; readonly dn: string | null; readonly reasons: readonly string[] }>;
  /** How many red links have each cause (conflicts_pending, duplicate_pending). */
  readonly causes: Readonly<Record<string, number>>;
  /** Changes when a link joins or leaves, or a link's reasons change. */
  readonly signature: string;
}

/** Connection-level health causes that are incidents of their own (run outcomes come from run events). */
const CONNECTION_INCIDENTS: ReadonlySet<string> = new Set(['stale', 'quarantined', 'cert_expiring', 'cert_expired', 'cert_untrusted']);

function serializeReason(r: HealthReason): Record<string, unknown> {
  return { ...r, text: describeReason(r) };
}

type RedLink = { readonly link: ConnectionHealth['links'][number]; readonly own: readonly HealthReason[] };

/** The links of a connection red for a cause of their own (a pending duplicate, conflicts), by name. */
function redLinks(c: ConnectionHealth): RedLink[] {
  return c.links
    .map((link) => ({ link, own: link.reasons.filter((r) => !CONNECTION_CAUSES.has(r.code)) }))
    .filter((r) => r.own.length > 0)
    .sort((a, b) => a.link.name.localeCompare(b.link.name) || a.link.id - b.link.id);
}

function linkRedDetails(red: readonly RedLink[]): LinkRedDetails {
  const hash = createHash('sha256');
  const causes: Record<string, number> = {};
  for (const { link, own } of red) {
    hash.update(`${link.id}\t${link.name}\t${own.map(describeReason).join(';')}\n`);
    for (const r of own) causes[r.code] = (causes[r.code] ?? 0) + 1;
  }
  return {
    total: red.length,
    links: red.slice(0, ALERT_LINKS_SHOWN).map(({ link, own }) => ({ id: link.id, name: link.name, dn: link.dn, reasons: own.map(describeReason) })),
    causes,
    signature: hash.digest('hex').slice(0, 32),
  };
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
    const row = await insertIncident(db, { connection, linkId, cause }, details, runId, this.#now());
    if (!row) return null;
    this.#logger.warn({ connection, linkId, cause, incident: row.id }, 'incident opened');
    await this.#deliverOpened(row);
    return row;
  }

  /** Resolves the open incident of that cause, if any; returns it only when resolved now. */
  async resolve(connection: string, linkId: number | null, cause: IncidentCause, details: Record<string, unknown> = {}): Promise<IncidentRow | null> {
    const row = await resolveIncident(this.#db, { connection, linkId, cause }, details, this.#now());
    if (!row) return null;
    this.#logger.info({ connection, linkId, cause, incident: row.id }, 'incident resolved');
    await this.#deliverResolved(row);
    return row;
  }

  /** Replaces an open incident's details (links joined or left it) and updates its alert in place. */
  async update(id: number, details: Record<string, unknown>): Promise<IncidentRow | null> {
    const row = await updateIncidentDetails(this.#db, id, details);
    if (!row) return null;
    this.#logger.info({ connection: row.connection, cause: row.cause, incident: row.id, version: row.version }, 'incident updated');
    await this.#deliverUpdated(row);
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
    const claimed = await claimOpenedAlert(this.#db, row.id, this.#now());
    if (claimed) await this.#deliver(() => this.#sink.opened(claimed), claimed);
  }

  /**
   * Updates the posted alert of an open incident whose details changed, once per version: the
   * claim takes the version the cards will show. One not posted yet needs no update: it is
   * posted with its details as they are then.
   */
  async #deliverUpdated(row: IncidentRow): Promise<void> {
    if (!this.#delivers) return;
    const claimed = await claimUpdatedAlert(this.#db, row.id);
    if (claimed) await this.#deliver(() => this.#sink.updated(claimed), claimed);
  }

  /** Updates a resolved incident's alert, once; one that was never posted is closed quietly. */
  async #deliverResolved(row: IncidentRow): Promise<void> {
    if (!this.#delivers) return;
    const claimed = await claimResolvedAlert(this.#db, row.id, this.#now());
    // Never posted (opened and resolved before any process could post it): nothing to update.
    if (!claimed || row.alertedAt === null) return;
    // The row as it is now (its deliveries were written after it was posted).
    const current = await getIncident(this.#db, row.id);
    if (current) await this.#deliver(() => this.#sink.resolved(current), current);
  }

  /**
   * The outbox: posts what was opened, and updates what changed or was resolved, by a process
   * that could not (the CLI) or before this one started. Run by the service after each tick.
   */
  async deliverPending(): Promise<{ opened: number; updated: number; resolved: number }> {
    if (!this.#delivers) return { opened: 0, updated: 0, resolved: 0 };
    const opened = await listUnpostedIncidents(this.#db);
    for (const row of opened) await this.#deliverOpened(row);
    const updated = await listChangedIncidents(this.#db);
    for (const row of updated) await this.#deliverUpdated(row);
    const resolved = await listUnannouncedResolutions(this.#db);
    for (const row of resolved) await this.#deliverResolved(row);
    return { opened: opened.length, updated: updated.length, resolved: resolved.length };
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
   * Health changes: links red for a cause of their own (a pending duplicate, conflicts) open one
   * `link_red` incident per connection that lists them, updated as links join or leave it and
   * resolved when none is left; connection-wide causes (stale, quarantined, certificate) open one
   * each on the connection, so a failing directory raises one alert, not one per link.
   */
  async reconcile(health: readonly ConnectionHealth[]): Promise<void> {
    // One read of what is open; then only the incidents that change are written, so a steady
    // state with thousands of links costs one query, not one per link.
    const openRows = await listOpenIncidents(this.#db);
    const open = new Set(openRows.map((i) => `${i.connection}|${i.linkId ?? 0}|${i.cause}`));
    const isOpen = (connection: string, cause: string) => open.has(`${connection}|0|${cause}`);
    for (const c of health) {
      for (const cause of CONNECTION_INCIDENTS) {
        const reason = c.reasons.find((r) => r.code === cause);
        if (reason && !isOpen(c.name, cause)) await this.open(c.name, null, cause as IncidentCause, serializeReason(reason));
        else if (!reason && isOpen(c.name, cause)) await this.resolve(c.name, null, cause as IncidentCause);
      }
      const grouped = openRows.find((i) => i.connection === c.name && i.linkId === null && i.cause === 'link_red');
      await this.#reconcileLinks(c, grouped ?? null);
    }
    // Per-link incidents of earlier versions are closed: the grouped incident lists those links.
    for (const i of openRows) {
      if (i.cause === 'link_red' && i.linkId !== null && health.some((c) => c.name === i.connection)) {
        await this.resolve(i.connection, i.linkId, 'link_red', { reason: 'listed in one alert per connection' });
      }
    }
  }

  /** Opens, updates or resolves the connection's grouped `link_red` incident. */
  async #reconcileLinks(c: ConnectionHealth, current: { id: number; details: unknown } | null): Promise<void> {
    const red = redLinks(c);
    if (red.length === 0) {
      if (current) await this.resolve(c.name, null, 'link_red');
      return;
    }
    const details = linkRedDetails(red);
    if (!current) await this.open(c.name, null, 'link_red', { ...details });
    else if ((current.details as Partial<LinkRedDetails>).signature !== details.signature) await this.update(current.id, { ...details });
  }

  async list(options: { all?: boolean; limit?: number } = {}): Promise<IncidentRow[]> {
    return listIncidents(this.#db, { all: options.all ?? false, limit: options.limit ?? 100 });
  }
}
