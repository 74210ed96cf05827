/**
 * The sync engine orchestrates one run: lock → read → plan → guard → apply → record → notify.
 * Each step lives in its own module; this file only sequences them and records the outcome.
 */
import type { ConnectionConfig } from '../config.ts';
import type { DirectorySnapshot, LinkKind, RunTrigger } from '../domain/types.ts';
import type { SourceFactory } from '../directory/index.ts';
import { GroupsyncError, clip, describeError } from '../errors.ts';
import { formatTime } from '../format.ts';
import type { Logger } from '../logger.ts';
import type { Notifier } from '../notify/port.ts';
import type { Db } from '../store/db.ts';
import {
  type Lease,
  type RunRow,
  acquireLock,
  createRun,
  deleteHeldPlan,
  ensureConnection,
  failOrphanedRuns,
  fenceLock,
  getHeldPlan,
  getRun,
  listHeldRuns,
  releaseLock,
  renewLock,
  setLockRun,
  updateRun,
} from '../store/runs.ts';
import { recordAppliedRun, recordCertificate } from '../store/connections.ts';
import { analyzeSyncTables, withTransaction } from '../store/transaction.ts';
import { listManualLinkIds } from '../store/links.ts';
import { loadLinks } from '../store/sync-state.ts';
import { insertAudit } from '../store/audit.ts';
import { clearMemberDigests } from '../store/digests.ts';
import { applyPlan } from './apply.ts';
import type { GuardVerdict } from './guard.ts';
import { type PlanCounts, type SyncPlan, countPlan } from './plan.ts';
import { type ProgressEvent, ProgressReporter } from './progress.ts';
import { recheckPlan } from './recheck.ts';
import { counters, failedEntries, summarize } from './record.ts';
import { Run } from './run.ts';
import { isPartialRequest, selectScope, wholeScope } from './selection-scope.ts';
import { refuseWhilePaused } from './paused.ts';

export interface SyncRequest {
  readonly connection: string;
  readonly trigger: RunTrigger;
  readonly actor: string;
  readonly dryRun?: boolean;
  /** Read the directory in full even when it could be read incrementally (`sync --full`). */
  readonly full?: boolean;
  /** Sync only these linked groups (names, DNs or directory ids). */
  readonly groups?: readonly string[];
  readonly kind?: LinkKind;
  /**
   * Plan against the whole store state, not only what the stored digests leave (a full
   * reconciliation: finds a membership another application changed). Digests are still stored.
   */
  readonly fullPlan?: boolean;
  readonly onProgress?: (event: ProgressEvent) => void;
}

export type { ProgressEvent } from './progress.ts';

export interface SyncResult {
  readonly run: RunRow;
  readonly plan: SyncPlan | null;
  readonly counts: PlanCounts | null;
  readonly verdict: GuardVerdict | null;
}

export interface EngineDeps {
  readonly db: Db;
  readonly connections: readonly ConnectionConfig[];
  readonly createSource: SourceFactory;
  readonly notifier: Notifier;
  readonly logger: Logger;
  /** This process's name in leases: host:pid:random. */
  readonly holder: string;
  readonly now?: () => Date;
  readonly lockTtlMs?: number;
}

export class SyncEngine {
  readonly #deps: EngineDeps;
  readonly #now: () => Date;
  readonly #ttl: number;

  constructor(deps: EngineDeps) {
    this.#deps = deps;
    this.#now = deps.now ?? (() => new Date());
    this.#ttl = deps.lockTtlMs ?? 60_000;
  }

  get connections(): readonly ConnectionConfig[] {
    return this.#deps.connections;
  }

  connection(name: string): ConnectionConfig {
    const found = this.#deps.connections.find((c) => c.name.toLowerCase() === name.toLowerCase());
    if (!found) {
      const known = this.#deps.connections.map((c) => c.name).join(', ') || 'none';
      throw new GroupsyncError('NOT_FOUND', `no connection named "${clip(name)}" (configured: ${known})`);
    }
    return found;
  }

  /** Registers every configured connection in the store. */
  async registerConnections(): Promise<void> {
    for (const c of this.#deps.connections) await ensureConnection(this.#deps.db, c.name, c.kind);
  }

  async #withLease<T>(connection: string, work: (lease: Lease) => Promise<T>): Promise<T> {
    const { db, holder } = this.#deps;
    const lease = await acquireLock(db, connection, holder, this.#ttl, this.#now());
    const heartbeat = setInterval(() => {
      renewLock(db, lease, this.#ttl, this.#now()).catch((error: unknown) => this.#deps.logger.warn({ err: describeError(error) }, 'lock renewal failed'));
    }, Math.max(1000, Math.floor(this.#ttl / 3)));
    heartbeat.unref();
    try {
      return await work(lease);
    } finally {
      clearInterval(heartbeat);
      await releaseLock(db, lease).catch((error: unknown) => this.#deps.logger.warn({ err: describeError(error) }, 'lock release failed'));
    }
  }

  async sync(request: SyncRequest): Promise<SyncResult> {
    const config = this.connection(request.connection);
    const { db } = this.#deps;
    if (!config.enabled && request.trigger === 'schedule') {
      throw new GroupsyncError('INVALID_STATE', `connection "${config.name}" is disabled`);
    }
    await ensureConnection(db, config.name, config.kind);
    let analyze = false;
    const reporter: { current: ProgressReporter | null } = { current: null };
    // A dry run writes nothing but its own run record, so it takes no run lock: it neither waits
    // for a sync nor holds one up (its plan is against the store as it is when it reads it).
    const guarded = <T>(work: (lease: Lease | null) => Promise<T>): Promise<T> => (request.dryRun ? work(null) : this.#withLease(config.name, work));
    const result = await guarded(async (lease) => {
      if (lease) {
        await failOrphanedRuns(db, config.name, this.#now());
        // One held run per connection: a sync that could apply plans nothing until it is decided.
        await this.#refuseWhileHeld(config.name);
        // Paused by an admin (any process): nothing that could apply runs until it is resumed.
        await refuseWhilePaused(db, config.name);
      }
      // Resolve the selection before anything is recorded: a wrong group name is the caller's error.
      const selection = isPartialRequest(request) ? selectScope(config, await loadLinks(db, config.name), request) : wholeScope(config, await listManualLinkIds(db, config.name));
      const run = await createRun(db, {
        connection: config.name,
        trigger: request.trigger,
        actor: request.actor,
        dryRun: request.dryRun ?? false,
        kindFilter: request.kind ?? null,
        groupFilter: request.groups ?? [],
        startedAt: this.#now(),
      });
      if (lease) await setLockRun(db, lease, run.id);
      const log = this.#deps.logger.child({ runId: run.id, connection: config.name });
      log.info({ trigger: request.trigger, actor: request.actor, dryRun: !!request.dryRun, full: !!request.full }, 'sync started');
      const progress = new ProgressReporter(run.id, request.onProgress);
      reporter.current = progress;
      const execution = new Run({
        db,
        config,
        request,
        selection,
        lease,
        run,
        log,
        progress,
        createSource: this.#deps.createSource,
        now: this.#now,
        notify: (event) => this.#notify(event),
        recordCertificate: (cert, vendor) => this.#recordCertificate(config.name, cert, vendor),
      });
      const outcome = await execution.execute();
      analyze = execution.analyze;
      return outcome;
    });
    // The run is recorded and its lease released: the connection is free for the next sync.
    reporter.current?.finish();
    // After a large write, fresh statistics keep the planner off nested loops over the new rows.
    // Maintenance, not the run: done once the lease is released, so a slow ANALYZE (or a process
    // killed during it) does not block the connection's next sync.
    if (analyze) {
      await analyzeSyncTables(db).catch((error: unknown) =>
        this.#deps.logger.warn({ connection: config.name, err: describeError(error) }, 'analyze after a large sync failed'),
      );
    }
    return result;
  }

  async #recordCertificate(connection: string, cert: DirectorySnapshot['certificate'], vendor?: DirectorySnapshot['vendor']): Promise<void> {
    await recordCertificate(this.#deps.db, connection, cert, vendor, this.#now());
  }

  async #notify(event: Parameters<Notifier['notify']>[0]): Promise<void> {
    try {
      await this.#deps.notifier.notify(event);
    } catch (error) {
      this.#deps.logger.warn({ err: describeError(error), event: event.type }, 'notifier failed');
    }
  }

  /** Applies a held plan, re-checked against the store. */
  async approve(runId: number, actor: string): Promise<SyncResult> {
    const { db } = this.#deps;
    const run = await this.#heldRun(runId);
    const config = this.connection(run.connection);
    return this.#withLease(run.connection, async (lease) => {
      const plan = await getHeldPlan(db, runId);
      if (!plan) throw new GroupsyncError('INVALID_STATE', `run #${runId} has no held plan`);
      const links = await loadLinks(db, run.connection);
      const { plan: checked, dropped } = await recheckPlan(db, plan, links, config.matchKey);
      const counts = countPlan(checked);
      const result = await withTransaction(db, async (tx) => {
        await fenceLock(tx, lease);
        const current = await getRun(tx, runId);
        if (current?.status !== 'awaiting_approval') throw new GroupsyncError('INVALID_STATE', `run #${runId} was decided meanwhile`);
        await applyPlan(tx, checked, { actor, runId, now: this.#now(), defaults: config.userDefaults, bulk: false });
        await clearMemberDigests(tx, run.connection); // a re-checked plan may leave a group short of its members
        await insertAudit(tx, actor, run.connection, runId, [
          { action: 'run.approved', targetType: 'run', targetId: String(runId), before: { status: 'awaiting_approval' }, after: { status: 'applied', dropped } },
        ]);
        await deleteHeldPlan(tx, runId);
        const now = this.#now();
        await recordAppliedRun(tx, run.connection, now, true);
        return updateRun(tx, runId, {
          status: checked.skipped.length ? 'partial' : 'success',
          decidedBy: actor,
          decidedAt: now,
          ...counters(counts),
          summary: summarize(counts, failedEntries(checked)),
          error: dropped ? `approved; ${dropped} stale changes dropped on re-check` : null,
          errorCode: null,
        });
      });
      await this.#notify({ type: 'run.succeeded', run: result, counts });
      return { run: result, plan: checked, counts, verdict: null };
    });
  }

  async reject(runId: number, actor: string): Promise<RunRow> {
    const { db } = this.#deps;
    const run = await this.#heldRun(runId);
    const rejected = await withTransaction(db, async (tx) => {
      const current = await getRun(tx, runId);
      if (current?.status !== 'awaiting_approval') throw new GroupsyncError('INVALID_STATE', `run #${runId} was decided meanwhile`);
      await deleteHeldPlan(tx, runId);
      await insertAudit(tx, actor, run.connection, runId, [
        { action: 'run.rejected', targetType: 'run', targetId: String(runId), before: { status: 'awaiting_approval' }, after: { status: 'rejected' } },
      ]);
      return updateRun(tx, runId, { status: 'rejected', decidedBy: actor, decidedAt: this.#now() });
    });
    await this.#notify({ type: 'run.rejected', run: rejected });
    return rejected;
  }

  async #heldRun(runId: number): Promise<RunRow> {
    const run = await getRun(this.#deps.db, runId);
    if (!run) throw new GroupsyncError('NOT_FOUND', `run #${runId} does not exist`);
    if (run.status !== 'awaiting_approval') {
      const who = run.decidedBy ? ` by ${run.decidedBy} (${formatTime(run.decidedAt)})` : '';
      const [waiting] = await listHeldRuns(this.#deps.db, run.connection);
      const next = waiting ? `; run #${waiting.id} of "${run.connection}" awaits approval` : '';
      throw new GroupsyncError('INVALID_STATE', `run #${runId} is not awaiting approval: it is ${run.status}${who}${next}`, waiting ? { details: { runId: waiting.id } } : {});
    }
    return run;
  }

  /** Refuses a sync while a run of the connection awaits approval, naming it (and any other an older version held). */
  async #refuseWhileHeld(connection: string): Promise<void> {
    const [held, ...others] = await listHeldRuns(this.#deps.db, connection);
    if (!held) return;
    const since = formatTime(held.finishedAt ?? held.startedAt);
    const too = others.length ? `; ${others.map((r) => `run #${r.id}`).join(', ')} await${others.length === 1 ? 's' : ''} approval too` : '';
    throw new GroupsyncError(
      'AWAITING_APPROVAL',
      `run #${held.id} of "${connection}" awaits approval since ${since}: approve or reject it first (approve ${held.id} / reject ${held.id})${too}`,
      { details: { runId: held.id } },
    );
  }
}
