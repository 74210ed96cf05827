/**
 * Incidents: one open per connection, link and cause (a partial unique index), resolved on
 * recovery; and the outbox of their alerts, claimed by conditional UPDATEs so that one process
 * of many posts or updates each alert.
 */
import { and, desc, eq, isNotNull, isNull, lt, sql } from 'drizzle-orm';
import type { Executor } from './db.ts';
import { incidents } from './schema.ts';

export type IncidentRow = typeof incidents.$inferSelect;

export interface IncidentKey {
  readonly connection: string;
  readonly linkId: number | null;
  readonly cause: string;
}

/** Opens an incident; null when one is already open for the same connection, link and cause. */
export async function insertIncident(db: Executor, key: IncidentKey, details: Record<string, unknown>, runId: number | null, now: Date): Promise<IncidentRow | null> {
  const [row] = await db
    .insert(incidents)
    .values({ ...key, runId, details, openedAt: now })
    .onConflictDoNothing()
    .returning();
  return row ?? null;
}

/** Resolves the open incident of that key, adding `resolution` to its details; null when none was open. */
export async function resolveIncident(db: Executor, key: IncidentKey, resolution: Record<string, unknown>, now: Date): Promise<IncidentRow | null> {
  const [row] = await db
    .update(incidents)
    .set({ status: 'resolved', resolvedAt: now, details: sql`${incidents.details} || ${JSON.stringify({ resolution })}::jsonb` })
    .where(
      and(
        eq(incidents.connection, key.connection),
        key.linkId === null ? sql`${incidents.linkId} is null` : eq(incidents.linkId, key.linkId),
        eq(incidents.cause, key.cause),
        eq(incidents.status, 'open'),
      ),
    )
    .returning();
  return row ?? null;
}

/** Replaces an open incident's details and bumps its version; null when it is not open. */
export async function updateIncidentDetails(db: Executor, id: number, details: Record<string, unknown>): Promise<IncidentRow | null> {
  const [row] = await db
    .update(incidents)
    .set({ details, version: sql`${incidents.version} + 1` })
    .where(and(eq(incidents.id, id), eq(incidents.status, 'open')))
    .returning();
  return row ?? null;
}

export async function getIncident(db: Executor, id: number): Promise<IncidentRow | null> {
  const [row] = await db.select().from(incidents).where(eq(incidents.id, id));
  return row ?? null;
}

/** Claims the posting of an incident's alert: the row when this process claimed it, null when another did. */
export async function claimOpenedAlert(db: Executor, id: number, now: Date): Promise<IncidentRow | null> {
  const [row] = await db
    .update(incidents)
    .set({ alertedAt: now, alertedVersion: sql`${incidents.version}` })
    .where(and(eq(incidents.id, id), isNull(incidents.alertedAt)))
    .returning();
  return row ?? null;
}

/** Claims the update of a posted alert to the incident's current version. */
export async function claimUpdatedAlert(db: Executor, id: number): Promise<IncidentRow | null> {
  const [row] = await db
    .update(incidents)
    .set({ alertedVersion: sql`${incidents.version}` })
    .where(and(eq(incidents.id, id), eq(incidents.status, 'open'), isNotNull(incidents.alertedAt), lt(incidents.alertedVersion, incidents.version)))
    .returning();
  return row ?? null;
}

/** Claims the update of a resolved incident's alert; one never posted counts as posted at its resolution. */
export async function claimResolvedAlert(db: Executor, id: number, now: Date): Promise<boolean> {
  const rows = await db
    .update(incidents)
    .set({ resolveAlertedAt: now, alertedAt: sql`coalesce(${incidents.alertedAt}, ${incidents.resolvedAt})` })
    .where(and(eq(incidents.id, id), eq(incidents.status, 'resolved'), isNull(incidents.resolveAlertedAt)))
    .returning({ id: incidents.id });
  return rows.length > 0;
}

/** The outbox, oldest first: open incidents whose alert is not posted yet. */
export async function listUnpostedIncidents(db: Executor): Promise<IncidentRow[]> {
  return db.select().from(incidents).where(and(eq(incidents.status, 'open'), isNull(incidents.alertedAt))).orderBy(incidents.id);
}

/** The outbox, oldest first: open incidents changed since their alert was posted. */
export async function listChangedIncidents(db: Executor): Promise<IncidentRow[]> {
  return db
    .select()
    .from(incidents)
    .where(and(eq(incidents.status, 'open'), isNotNull(incidents.alertedAt), lt(incidents.alertedVersion, incidents.version)))
    .orderBy(incidents.id);
}

/** The outbox, oldest first: resolved incidents whose alert is not updated yet. */
export async function listUnannouncedResolutions(db: Executor): Promise<IncidentRow[]> {
  return db.select().from(incidents).where(and(eq(incidents.status, 'resolved'), isNull(incidents.resolveAlertedAt))).orderBy(incidents.id);
}

export type OpenIncident = Pick<IncidentRow, 'id' | 'connection' | 'linkId' | 'cause' | 'details'>;

export async function listOpenIncidents(db: Executor): Promise<OpenIncident[]> {
  return db
    .select({ id: incidents.id, connection: incidents.connection, linkId: incidents.linkId, cause: incidents.cause, details: incidents.details })
    .from(incidents)
    .where(eq(incidents.status, 'open'));
}

/** Incidents newest first: the open ones, or all. */
export async function listIncidents(db: Executor, options: { all: boolean; limit: number }): Promise<IncidentRow[]> {
  const query = db.select().from(incidents);
  const filtered = options.all ? query : query.where(eq(incidents.status, 'open'));
  return filtered.orderBy(desc(incidents.id)).limit(options.limit);
}

/** The details of the newest approval incident of a run (why it was held, the sample of removals). */
export async function approvalDetails(db: Executor, runId: number): Promise<Record<string, unknown> | null> {
  const [row] = await db
    .select({ details: incidents.details })
    .from(incidents)
    .where(and(eq(incidents.runId, runId), eq(incidents.cause, 'awaiting_approval')))
    .orderBy(desc(incidents.id))
    .limit(1);
  return (row?.details as Record<string, unknown> | undefined) ?? null;
}

/** Where an incident's alert was posted (per surface and conversation), so later changes update the same cards. */
export async function setIncidentDeliveries(db: Executor, id: number, deliveries: ReadonlyArray<Record<string, unknown>>): Promise<void> {
  await db.update(incidents).set({ deliveries: [...deliveries] }).where(eq(incidents.id, id));
}

export async function deleteIncidentsOf(tx: Executor, connection: string): Promise<void> {
  await tx.delete(incidents).where(eq(incidents.connection, connection));
}
