/**
 * Connections' state, the run lock (a lease in the database, so it holds across processes), run
 * records and the plans of runs held for approval.
 */
import { and, asc, desc, eq, isNull, lt, sql } from 'drizzle-orm';
import { GroupsyncError } from '../errors.ts';
import type { SyncPlan } from '../domain/plan.ts';
import { type Executor, queryRows } from './db.ts';
import { connections, heldPlans, runs } from './schema.ts';
import { p } from './sql.ts';

export type RunRow = typeof runs.$inferSelect;

/** The first key of the advisory locks that order apply transactions, one per connection (any constant: "gsap"). */
const APPLY_LOCK_SPACE = 0x67736170;

/**
 * Registers a connection (or its new kind). Read first: a row already as it should be is not
 * written, so that `status`, `health` and a second sync never wait on the row lock a running
 * sync holds on it through its apply transaction.
 */
export async function ensureConnection(db: Executor, name: string, kind: string): Promise<void> {
  const [row] = await db.select({ kind: connections.kind }).from(connections).where(eq(connections.name, name));
  if (row?.kind === kind) return;
  await db.insert(connections).values({ name, kind }).onConflictDoUpdate({ target: connections.name, set: { kind }, where: sql`${connections.kind} <> ${kind}` });
}

export interface Lease {
  readonly connection: string;
  readonly holder: string;
}

/**
 * Takes the run lock of a connection for `ttlMs`. Fails with ALREADY_RUNNING ("already running
 * since …") when another live holder has it; a lease whose holder died expires by itself.
 */
export async function acquireLock(db: Executor, connection: string, holder: string, ttlMs: number, now: Date): Promise<Lease> {
  const expires = new Date(now.getTime() + ttlMs);
  const taken = await db
    .update(connections)
    .set({ lockHolder: holder, lockedAt: now, lockExpiresAt: expires, lockRunId: null })
    .where(and(eq(connections.name, connection), sql`(${connections.lockHolder} is null or ${connections.lockExpiresAt} < ${now.toISOString()}::timestamptz)`))
    .returning({ name: connections.name });
  if (taken.length === 1) return { connection, holder };
  const [row] = await db.select().from(connections).where(eq(connections.name, connection));
  if (!row) throw new GroupsyncError('NOT_FOUND', `connection "${connection}" is not known to the store`);
  throw new GroupsyncError('ALREADY_RUNNING', alreadyRunning(connection, row, now));
}

/**
 * "Already running since …", with who holds the lease and when it expires: the holder may have
 * stopped (killed, crashed) without releasing it, and then the lease is all that blocks a sync.
 */
function alreadyRunning(connection: string, row: typeof connections.$inferSelect, now: Date): string {
  const since = row.lockedAt ? row.lockedAt.toISOString() : 'an unknown time';
  const run = row.lockRunId ? ` (run #${row.lockRunId})` : '';
  const holder = row.lockHolder ? ` in process ${row.lockHolder}` : '';
  const expires = row.lockExpiresAt
    ? `; if that process stopped, its lease expires at ${row.lockExpiresAt.toISOString()} (in ${Math.max(0, Math.ceil((row.lockExpiresAt.getTime() - now.getTime()) / 1000))} s); a sync can start then`
    : '';
  return `a sync of "${connection}" is already running since ${since}${run}${holder}${expires}`;
}

export async function setLockRun(db: Executor, lease: Lease, runId: number): Promise<void> {
  await db.update(connections).set({ lockRunId: runId }).where(and(eq(connections.name, lease.connection), eq(connections.lockHolder, lease.holder)));
}

/** Extends the lease; false when it was lost (expired and taken by another holder). */
export async function renewLock(db: Executor, lease: Lease, ttlMs: number, now: Date): Promise<boolean> {
  const rows = await db
    .update(connections)
    .set({ lockExpiresAt: new Date(now.getTime() + ttlMs) })
    .where(and(eq(connections.name, lease.connection), eq(connections.lockHolder, lease.holder)))
    .returning({ name: connections.name });
  return rows.length === 1;
}

export async function releaseLock(db: Executor, lease: Lease): Promise<void> {
  await db
    .update(connections)
    .set({ lockHolder: null, lockedAt: null, lockExpiresAt: null, lockRunId: null })
    .where(and(eq(connections.name, lease.connection), eq(connections.lockHolder, lease.holder)));
}

/**
 * Inside the apply transaction: a check that this process still holds the lease, after waiting
 * for any other apply transaction of the connection. Apply transactions of one connection are
 * ordered by a transaction-scoped advisory lock, not by a lock on the connection's row: the
 * heartbeat (renewLock, on another session) updates that row while the apply runs, so the lease
 * stays live through an apply longer than it (minutes on a large first sync), `status` sees the
 * sync running and a second process is refused at once instead of queueing behind the apply.
 */
export async function fenceLock(db: Executor, lease: Lease): Promise<void> {
  await db.execute(sql`select pg_advisory_xact_lock(${APPLY_LOCK_SPACE}, hashtext(${lease.connection}))`);
  // Read after the wait: a lease another process took meanwhile is seen. Key share keeps the row.
  const rows = await db.execute(sql`select lock_holder from connections where name = ${lease.connection} for key share`);
  const list = Array.isArray(rows) ? rows : (rows as { rows: unknown[] }).rows;
  const holder = (list[0] as { lock_holder?: string } | undefined)?.lock_holder;
  if (holder !== lease.holder) {
    throw new GroupsyncError('INVALID_STATE', `the run lock of "${lease.connection}" was lost (its lease expired); nothing was applied`);
  }
}

/**
 * Sets the next run computed for the schedule `key`, unless another process moved it meanwhile
 * (`expected` is the next run this one read). True when this process set it.
 */
export async function setNextRun(db: Executor, connection: string, next: Date, key: string, expected: Date | null): Promise<boolean> {
  const rows = await db
    .update(connections)
    .set({ nextRunAt: next, scheduleKey: key })
    .where(and(eq(connections.name, connection), expected ? eq(connections.nextRunAt, expected) : isNull(connections.nextRunAt)))
    .returning({ name: connections.name });
  return rows.length === 1;
}

export interface NewRun {
  readonly connection: string;
  readonly trigger: RunRow['trigger'];
  readonly actor: string;
  readonly dryRun: boolean;
  readonly kindFilter: string | null;
  readonly groupFilter: readonly string[];
  readonly startedAt: Date;
}

export async function createRun(db: Executor, run: NewRun): Promise<RunRow> {
  const [row] = await db
    .insert(runs)
    .values({ ...run, groupFilter: [...run.groupFilter], status: 'running' })
    .returning();
  return row!;
}

export type RunUpdate = Partial<Omit<RunRow, 'id' | 'connection' | 'startedAt'>>;

export async function updateRun(db: Executor, id: number, update: RunUpdate): Promise<RunRow> {
  const [row] = await db.update(runs).set(update).where(eq(runs.id, id)).returning();
  if (!row) throw new GroupsyncError('NOT_FOUND', `run #${id} does not exist`);
  return row;
}

/** Marks a run failed unless it finished meanwhile (its result committed): null then. */
export async function failRunIfRunning(db: Executor, id: number, update: RunUpdate): Promise<RunRow | null> {
  const [row] = await db
    .update(runs)
    .set({ ...update, status: 'failed' })
    .where(and(eq(runs.id, id), eq(runs.status, 'running')))
    .returning();
  return row ?? null;
}

export async function getRun(db: Executor, id: number): Promise<RunRow | null> {
  const [row] = await db.select().from(runs).where(eq(runs.id, id));
  return row ?? null;
}

export async function listRuns(db: Executor, connection: string, limit: number, beforeId?: number): Promise<RunRow[]> {
  const where = beforeId ? and(eq(runs.connection, connection), lt(runs.id, beforeId)) : eq(runs.connection, connection);
  return db.select().from(runs).where(where).orderBy(desc(runs.id)).limit(limit);
}

export type Attempt = Pick<RunRow, 'id' | 'status' | 'startedAt' | 'finishedAt' | 'trigger' | 'error'>;

/** The last `limit` runs of a connection, only what a list of attempts shows (not their skipped entries or statistics). */
export async function listAttempts(db: Executor, connection: string, limit: number): Promise<Attempt[]> {
  return db
    .select({ id: runs.id, status: runs.status, startedAt: runs.startedAt, finishedAt: runs.finishedAt, trigger: runs.trigger, error: runs.error })
    .from(runs)
    .where(eq(runs.connection, connection))
    .orderBy(desc(runs.id))
    .limit(limit);
}

/** How long a dry run (it holds no lease) may stay `running` before it is taken for interrupted. */
export const DRY_RUN_GIVE_UP_MS = 3_600_000;

/** A run found `running` whose process stopped: failed, nothing applied. */
const interrupted = (now: Date, error = 'the process running this sync stopped before it finished; nothing was applied') =>
  ({ status: 'failed', finishedAt: now, errorCode: 'INTERRUPTED', error }) as const;

/** The start time before which a dry run still `running` is taken for interrupted. */
const dryRunGivenUpBefore = (now: Date) => sql`${new Date(now.getTime() - DRY_RUN_GIVE_UP_MS).toISOString()}::timestamptz`;

/** Runs left as `running` by a process that died: marked failed so history does not lie. */
export async function failOrphanedRuns(db: Executor, connection: string, now: Date): Promise<number> {
  const rows = await db
    .update(runs)
    .set(interrupted(now))
    // A dry run holds no lock: one started within the hour may still be running in another process.
    .where(and(eq(runs.connection, connection), eq(runs.status, 'running'), sql`not (${runs.dryRun} and ${runs.startedAt} > ${dryRunGivenUpBefore(now)})`))
    .returning({ id: runs.id });
  return rows.length;
}

/**
 * Runs left `running` by a process that died, found without taking the lease: only while nobody
 * holds it (a live lease means the run is going on somewhere). Marked failed, and returned so
 * their failure can be reported like any other.
 */
export async function failInterruptedRuns(db: Executor, connection: string, now: Date): Promise<RunRow[]> {
  return db
    .update(runs)
    .set(interrupted(now))
    .where(
      and(
        eq(runs.connection, connection),
        eq(runs.status, 'running'),
        eq(runs.dryRun, false),
        sql`not exists (select 1 from connections c where c.name = ${runs.connection} and c.lock_expires_at > ${now.toISOString()}::timestamptz)`,
      ),
    )
    .returning();
}

/**
 * Dry runs left `running` by a process that died: a dry run takes no lease, so nothing shows it
 * is still going on; one running for more than an hour is marked failed (nothing to alert or retry).
 */
export async function failStaleDryRuns(db: Executor, connection: string, now: Date): Promise<number> {
  const rows = await db
    .update(runs)
    .set(interrupted(now, 'the process running this dry run stopped before it finished (no result after an hour); nothing was applied'))
    .where(
      and(
        eq(runs.connection, connection),
        eq(runs.status, 'running'),
        eq(runs.dryRun, true),
        sql`${runs.startedAt} <= ${dryRunGivenUpBefore(now)}`,
      ),
    )
    .returning({ id: runs.id });
  return rows.length;
}

/** The runs of a connection held for approval, oldest first (one, unless an older version held more). */
export async function listHeldRuns(db: Executor, connection: string): Promise<RunRow[]> {
  return db.select().from(runs).where(and(eq(runs.connection, connection), eq(runs.status, 'awaiting_approval'))).orderBy(asc(runs.id));
}

/** One page of a connection's runs, newest first, with the total. */
export async function listRunsPage(db: Executor, connection: string, offset: number, limit: number): Promise<{ items: RunRow[]; total: number }> {
  const items = await db.select().from(runs).where(eq(runs.connection, connection)).orderBy(desc(runs.id)).offset(offset).limit(limit);
  const [total] = await queryRows<{ n: number }>(db, sql`select count(*)::int as n from runs where connection = ${p(connection)}`);
  return { items, total: total?.n ?? 0 };
}

/** Keeps the plan of a run held for approval until it is approved or rejected. */
export async function saveHeldPlan(db: Executor, runId: number, plan: SyncPlan): Promise<void> {
  await db.insert(heldPlans).values({ runId, plan });
}

/** The held plan of a run; null when it has none (decided, or never held). */
export async function getHeldPlan(db: Executor, runId: number): Promise<SyncPlan | null> {
  const [held] = await db.select().from(heldPlans).where(eq(heldPlans.runId, runId));
  return held ? (held.plan as SyncPlan) : null;
}

export async function deleteHeldPlan(db: Executor, runId: number): Promise<void> {
  await db.delete(heldPlans).where(eq(heldPlans.runId, runId));
}
