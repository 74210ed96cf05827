/**
 * A connection's row: what the status shows (vendor, certificate, last runs, lease), and its
 * removal with everything that belongs to it. The run lease and schedule state are in runs.ts
 * and schedule.ts.
 */
import { eq, sql } from 'drizzle-orm';
import type { DirectorySnapshot } from '../domain/types.ts';
import { type Executor, queryRows } from './db.ts';
import { connections } from './schema.ts';
import { p } from './sql.ts';

export type ConnectionRow = typeof connections.$inferSelect;

export async function getConnection(db: Executor, name: string): Promise<ConnectionRow | null> {
  const [row] = await db.select().from(connections).where(eq(connections.name, name));
  return row ?? null;
}

/** A connection by name in any case (one removed from the config file is still in the store). */
export async function findConnection(db: Executor, name: string): Promise<ConnectionRow | null> {
  const [row] = await db.select().from(connections).where(sql`lower(${connections.name}) = lower(${name})`);
  return row ?? null;
}

/** Active links and pending duplicates of a connection. */
export async function countLinksAndDuplicates(db: Executor, connection: string): Promise<{ linked: number; duplicates: number }> {
  const [row] = await queryRows<{ linked: number; duplicates: number }>(
    db,
    sql`select (select count(*) from group_links where connection = ${p(connection)} and state = 'active')::int as linked,
               (select count(*) from duplicates where connection = ${p(connection)} and status = 'pending')::int as duplicates`,
  );
  return row ?? { linked: 0, duplicates: 0 };
}

export interface ConnectionData {
  readonly links: number;
  readonly mappings: number;
  readonly runs: number;
  readonly duplicates: number;
}

/** What removing a connection deletes. */
export async function countConnectionData(db: Executor, connection: string): Promise<ConnectionData> {
  const [row] = await queryRows<ConnectionData>(
    db,
    sql`select (select count(*) from group_links where connection = ${p(connection)})::int as links,
               (select count(*) from mappings where connection = ${p(connection)})::int as mappings,
               (select count(*) from runs where connection = ${p(connection)})::int as runs,
               (select count(*) from duplicates where connection = ${p(connection)})::int as duplicates`,
  );
  return row ?? { links: 0, mappings: 0, runs: 0, duplicates: 0 };
}

/** Locks a connection's row until the transaction ends (a sync taking its lease waits). */
export async function lockConnectionRow(tx: Executor, name: string): Promise<void> {
  await tx.execute(sql`select 1 from connections where name = ${p(name)} for update`);
}

/** Deletes a connection's row; its links, mappings, duplicates, runs and state go with it (foreign keys). */
export async function deleteConnection(tx: Executor, name: string): Promise<void> {
  await tx.delete(connections).where(eq(connections.name, name));
}

/** Records the directory's certificate as last seen (null: none, plain LDAP) and its vendor when known. */
export async function recordCertificate(db: Executor, name: string, cert: DirectorySnapshot['certificate'], vendor: DirectorySnapshot['vendor'] | undefined, now: Date): Promise<void> {
  await db
    .update(connections)
    .set({
      ...(vendor ? { vendor } : {}),
      certificate: cert ? { subject: cert.subject, issuer: cert.issuer, validTo: cert.validTo.toISOString(), trusted: cert.trusted, error: cert.error } : null,
      certificateCheckedAt: now,
    })
    .where(eq(connections.name, name));
}

/** Records an applied run: its time, and for a run of the whole scope its success. */
export async function recordAppliedRun(db: Executor, name: string, now: Date, fullScope: boolean): Promise<void> {
  await db
    .update(connections)
    .set(fullScope ? { lastRunAt: now, lastSuccessAt: now } : { lastRunAt: now })
    .where(eq(connections.name, name));
}
