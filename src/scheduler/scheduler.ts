/**
 * The scheduler: node-cron ticks every minute; each tick claims the connections that are due
 * with one conditional UPDATE (so with several processes on one database, exactly one runs each
 * due slot), runs them, and re-evaluates health for the alert policy. Schedule state lives in
 * the database and survives restarts. Time is injected: tests call `tick(now)`.
 */
import cron, { type ScheduledTask } from 'node-cron';
import type { ConnectionConfig } from '../config.ts';
import { describeError, isGroupsyncError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { Notifier, SyncEvent } from '../notify/port.ts';
import { getConnection } from '../store/connections.ts';
import type { Db } from '../store/db.ts';
import type { SyncRunner } from '../sync/runner.ts';
import { failInterruptedRuns, failStaleDryRuns, listHeldRuns, setNextRun } from '../store/runs.ts';
import { claimDueRun, countScheduleFailure, recordScheduleFailure, recordScheduleSuccess } from '../store/schedule.ts';
import type { SyncEngine } from '../sync/engine.ts';
import { describePause } from '../sync/paused.ts';
import { type BackoffPolicy, initialRun, nextAfterFailure, nextAfterSuccess, scheduleKey } from '../domain/schedule.ts';

export function backoffOf(c: ConnectionConfig): BackoffPolicy {
  return { quarantineAfter: c.backoff.quarantineAfter, retryMs: c.backoff.retry, quarantineRetryMs: c.backoff.quarantineRetry };
}

const FORCED = new Set(['manual', 'chat', 'api']);

/**
 * Keeps each connection's schedule state in step with its runs: next run, consecutive failures,
 * quarantine. A notifier, so it sees every run however it was started.
 */
export function createScheduleRecorder(db: Db, configs: readonly ConnectionConfig[], now: () => Date): Notifier {
  return {
    async notify(event: SyncEvent) {
      const config = configs.find((c) => c.name === event.run.connection);
      if (!config) return;
      const run = event.run;
      const finished = run.finishedAt ?? now();
      const full = run.kindFilter === null && run.groupFilter.length === 0;
      const forced = FORCED.has(run.trigger);
      if (event.type === 'run.succeeded' || event.type === 'run.awaiting_approval') {
        // A forced full sync resets an interval schedule; a sync of some groups only does not.
        const next = config.schedule && (full || !forced) ? { nextRunAt: nextAfterSuccess(config.schedule, finished), scheduleKey: scheduleKey(config.schedule) } : null;
        await recordScheduleSuccess(db, config.name, next);
      } else if (event.type === 'run.failed') {
        const row = await countScheduleFailure(db, config.name);
        if (!row || !config.schedule) return;
        const { next, quarantined } = nextAfterFailure(config.schedule, finished, row.failures, backoffOf(config));
        // An admin forcing a run releases the quarantine, whatever its outcome.
        const quarantinedAt = forced ? null : quarantined ? (row.quarantinedAt ?? finished) : null;
        await recordScheduleFailure(db, config.name, { nextRunAt: next, scheduleKey: scheduleKey(config.schedule), quarantinedAt, ...(forced ? { failures: Math.min(row.failures, 1) } : {}) });
      }
    },
  };
}

export interface SchedulerDeps {
  readonly db: Db;
  readonly engine: SyncEngine;
  /** Where syncs run (sync/runner.ts); the engine in process by default. */
  readonly runner?: Pick<SyncRunner, 'sync'>;
  readonly logger: Logger;
  readonly now?: () => Date;
  /** Called after each tick with the time, for health and incidents. */
  readonly afterTick?: (now: Date) => Promise<void>;
  /** Told of runs found interrupted (their process died): the same listeners as the engine's. */
  readonly notifier?: Notifier;
}

export interface TickResult {
  readonly started: string[];
  readonly skipped: Array<{ connection: string; reason: string }>;
}

export class Scheduler {
  readonly #deps: SchedulerDeps;
  readonly #now: () => Date;
  #task: ScheduledTask | null = null;
  #ticking: Promise<TickResult> | null = null;

  constructor(deps: SchedulerDeps) {
    this.#deps = deps;
    this.#now = deps.now ?? (() => new Date());
  }

  /** Starts ticking every minute (and once now). */
  start(): void {
    if (this.#task) return;
    this.#task = cron.schedule('* * * * *', () => void this.#safeTick(), { name: 'groupsync-scheduler', noOverlap: true });
    void this.#safeTick();
  }

  async stop(): Promise<void> {
    await this.#task?.stop();
    this.#task = null;
    await this.#ticking?.catch(() => {});
  }

  async #safeTick(): Promise<void> {
    try {
      this.#ticking = this.tick(this.#now());
      await this.#ticking;
    } catch (error) {
      this.#deps.logger.error({ err: describeError(error) }, 'scheduler tick failed');
    } finally {
      this.#ticking = null;
    }
  }

  /**
   * A run whose process died (kill -9, a crash) stays `running` until someone looks: each tick
   * marks such runs failed once their lease has expired, and reports the failure, so it is
   * alerted and the schedule retries with its back-off instead of at the next regular time.
   */
  async #closeInterrupted(connection: string, now: Date): Promise<void> {
    for (const run of await failInterruptedRuns(this.#deps.db, connection, now)) {
      this.#deps.logger.warn({ connection, runId: run.id }, `run #${run.id} of ${connection} was interrupted (its process stopped): marked failed`);
      await this.#deps.notifier?.notify({ type: 'run.failed', run });
    }
    const dry = await failStaleDryRuns(this.#deps.db, connection, now);
    if (dry) this.#deps.logger.warn({ connection, count: dry }, `${dry} dry run(s) of ${connection} gave no result for an hour (their process stopped): marked failed`);
  }

  /** One pass: initialise missing schedule state, claim and run what is due, then re-check health. */
  async tick(now: Date): Promise<TickResult> {
    const { db, engine, logger } = this.#deps;
    const started: string[] = [];
    const skipped: Array<{ connection: string; reason: string }> = [];
    await engine.registerConnections();
    for (const c of engine.connections) await this.#closeInterrupted(c.name, now);
    for (const c of engine.connections) {
      if (!c.enabled || !c.schedule) continue;
      const row = await getConnection(db, c.name);
      if (!row) continue;
      if (row.pausedAt) {
        // Paused by an admin: no scheduled run until resumed; a slot missed meanwhile runs at the next tick after it.
        skipped.push({ connection: c.name, reason: describePause(c.name, { at: row.pausedAt, by: row.pausedBy ?? 'unknown' }) });
        continue;
      }
      let due = row.nextRunAt;
      const key = scheduleKey(c.schedule);
      // No state yet, or the config file's schedule changed since the next run was computed (a
      // state from before schedule keys were kept has none: it is adopted as it is).
      if (!due || (row.scheduleKey !== null && row.scheduleKey !== key)) {
        const first = initialRun(c.schedule, row.lastRunAt, now);
        if (due) logger.info({ connection: c.name, from: row.scheduleKey, to: key, nextRunAt: first.toISOString() }, 'schedule changed: next run computed again');
        await setNextRun(db, c.name, first, key, due);
        due = first;
      } else if (row.scheduleKey === null) {
        await setNextRun(db, c.name, due, key, due);
      }
      if (due.getTime() > now.getTime()) continue;
      const [waiting] = await listHeldRuns(db, c.name);
      if (waiting) {
        skipped.push({ connection: c.name, reason: `run #${waiting.id} awaits approval` });
        continue;
      }
      // Claim the slot: only the process whose UPDATE still sees the old due time runs it. The
      // claim moves the slot to the next regular time, so a crash mid-run does not repeat it at once.
      if (!(await claimDueRun(db, c.name, due, { nextRunAt: nextAfterSuccess(c.schedule, now), scheduleKey: key }))) {
        skipped.push({ connection: c.name, reason: 'claimed by another process' });
        continue;
      }
      started.push(c.name);
      try {
        const result = await (this.#deps.runner ?? engine).sync({ connection: c.name, trigger: 'schedule', actor: 'scheduler' });
        const r = result.run;
        logger.info(
          { connection: c.name, runId: r.id, status: r.status, groupsCreated: r.groupsCreated, usersCreated: r.usersCreated, usersDeactivated: r.usersDeactivated, membershipsAdded: r.membershipsAdded, membershipsRemoved: r.membershipsRemoved, skipped: r.skipped.length, error: r.error },
          `scheduled sync of ${c.name}: ${r.status}`,
        );
      } catch (error) {
        if (isGroupsyncError(error, 'ALREADY_RUNNING') || isGroupsyncError(error, 'AWAITING_APPROVAL')) skipped.push({ connection: c.name, reason: describeError(error) });
        else logger.error({ connection: c.name, err: describeError(error) }, 'scheduled sync could not start');
      }
    }
    await this.#deps.afterTick?.(now);
    return { started, skipped };
  }
}
