/**
 * Runs each sync in a worker thread of its own (sync/worker.ts), with its own PostgreSQL
 * connection, so that reading, planning and applying a large directory never hold up the event
 * loop that serves /slack/events, /api/messages and /healthz.
 *
 * A thread rather than a child process: it starts faster, its messages are structured clones (no
 * JSON of Dates), and it shares the process's environment and log stream. One worker per sync
 * rather than a pool: a sync is minutes apart from the next, and a worker that ends gives the
 * memory of a large read back at once; a crash (or an out-of-memory) takes one run with it.
 *
 * A worker that stops without an answer leaves its run recorded as failed (unless its result was
 * already committed), the run lease released and `run.failed` notified, here in the main thread.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { ConnectionConfig } from '../config.ts';
import { GroupsyncError, type ErrorCode, describeError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { Notifier, SyncEvent } from '../notify/port.ts';
import type { Db } from '../store/db.ts';
import { failRunIfRunning, getRun, releaseLock } from '../store/runs.ts';
import type { SyncEngine, SyncRequest, SyncResult } from './engine.ts';
import { type ProgressEvent, formatElapsed } from './progress.ts';
import { type RunningSync, RunningSyncs, type SyncRunner } from './runner.ts';

/** What a worker is started with: structured-cloneable data only (no functions). */
export interface WorkerData {
  readonly url: string;
  readonly connections: readonly ConnectionConfig[];
  readonly holder: string;
  readonly lockTtlMs: number | null;
  readonly request: Omit<SyncRequest, 'onProgress'>;
}

export type LogLevel = 'info' | 'warn' | 'error' | 'debug';

export type ToMain =
  | { readonly type: 'log'; readonly level: LogLevel; readonly obj: object; readonly msg: string }
  | { readonly type: 'progress'; readonly event: ProgressEvent }
  | { readonly type: 'notify'; readonly id: number; readonly event: SyncEvent }
  | { readonly type: 'done'; readonly result: SyncResult }
  | { readonly type: 'error'; readonly code: ErrorCode | null; readonly message: string; readonly details: Record<string, unknown> };

/** The acknowledgement of a `notify`: the main thread's listeners have run. */
export type ToWorker = { readonly type: 'notified'; readonly id: number };

export interface WorkerRunnerDeps {
  /** The store's postgres:// URL: the worker connects to it. */
  readonly url: string;
  /** The main thread's store: a run whose worker crashed is recorded here. */
  readonly db: Db;
  readonly engine: SyncEngine;
  readonly connections: readonly ConnectionConfig[];
  readonly notifier: Notifier;
  readonly logger: Logger;
  /** This process's name in leases; each worker holds a lease as `<holder>/sync<n>`. */
  readonly holder: string;
  readonly lockTtlMs?: number;
  /** The module the worker runs: this file's sibling worker.ts unless the service runs from its bundle. */
  readonly workerUrl?: URL;
}

const WORKER_URL = new URL('./worker.ts', import.meta.url);

interface Live {
  readonly worker: Worker;
  readonly done: Promise<unknown>;
  stopReason: string | null;
}

export class WorkerRunner implements SyncRunner {
  readonly #deps: WorkerRunnerDeps;
  readonly #running = new RunningSyncs();
  readonly #live = new Set<Live>();
  #count = 0;
  #saidBuildRemoved = false;

  constructor(deps: WorkerRunnerDeps) {
    this.#deps = deps;
  }

  async sync(request: SyncRequest): Promise<SyncResult> {
    const name = this.#deps.engine.connection(request.connection).name;
    return this.#running.track({ ...request, connection: name }, (r) => this.#inWorker(r));
  }

  running(connection: string): RunningSync | null {
    return this.#running.get(connection);
  }

  /**
   * Stops every worker now; their runs are recorded as failed with `reason`. The service calls it
   * on shutdown ("the service stopped during the sync").
   */
  async stop(reason: string): Promise<void> {
    const live = [...this.#live];
    for (const l of live) {
      l.stopReason = reason;
      void l.worker.terminate();
    }
    await Promise.allSettled(live.map((l) => l.done));
  }

  close(): Promise<void> {
    return this.stop('the service stopped during the sync');
  }

  #inWorker(request: SyncRequest): Promise<SyncResult> {
    const { onProgress, ...plain } = request;
    const holder = `${this.#deps.holder}/sync${++this.#count}`;
    const data: WorkerData = {
      url: this.#deps.url,
      connections: this.#deps.connections,
      holder,
      lockTtlMs: this.#deps.lockTtlMs ?? null,
      request: plain,
    };
    const worker = new Worker(this.#workerModule(), { workerData: data, name: `groupsync sync of ${request.connection}` });
    let last: ProgressEvent | null = null;
    let settled = false;
    let thrown: unknown = null;
    const done = new Promise<SyncResult>((resolve, reject) => {
      const settle = (fn: () => void) => {
        settled = true;
        fn();
      };
      worker.on('message', (message: ToMain) => {
        if (message.type === 'log') {
          this.#deps.logger[message.level](message.obj, message.msg);
        } else if (message.type === 'progress') {
          last = message.event;
          onProgress?.(message.event);
        } else if (message.type === 'notify') {
          void this.#deps.notifier.notify(message.event).finally(() => worker.postMessage({ type: 'notified', id: message.id } satisfies ToWorker));
        } else if (message.type === 'done') {
          settle(() => resolve(message.result));
        } else {
          settle(() => reject(message.code ? new GroupsyncError(message.code, message.message, { details: message.details }) : new Error(message.message)));
        }
      });
      worker.on('error', (error) => (thrown = error));
      worker.on('exit', (code) => {
        this.#live.delete(live);
        if (settled) return;
        const why = live.stopReason ?? `the sync worker stopped unexpectedly (${thrown ? describeError(thrown) : `exit code ${code}`})`;
        this.#recordStopped(request, holder, last, why).then(resolve, reject);
      });
    });
    const live: Live = { worker, done: done.catch(() => {}), stopReason: null };
    this.#live.add(live);
    return done;
  }

  /**
   * The module this sync's worker runs: the service's build, or the sources when that build was
   * removed while the service ran (an admin cleaning dist/: a later build never removes a build
   * its service holds), said once, with the fix.
   */
  #workerModule(): URL {
    const url = this.#deps.workerUrl;
    if (!url || url.protocol !== 'file:' || existsSync(url) || !existsSync(WORKER_URL)) return url ?? WORKER_URL;
    if (!this.#saidBuildRemoved) {
      this.#saidBuildRemoved = true;
      const build = path.dirname(fileURLToPath(url));
      this.#deps.logger.warn(
        { build },
        `the service's build ${build} was removed while the service runs (dist/cli/ cleaned?): syncs run from the TypeScript sources, slower, until the service is restarted; restart it to run from a new build`,
      );
    }
    return WORKER_URL;
  }

  /** A worker ended without an answer: its run is failed (unless it committed), its lease released, `run.failed` notified. */
  async #recordStopped(request: SyncRequest, holder: string, last: ProgressEvent | null, why: string): Promise<SyncResult> {
    const { db, logger } = this.#deps;
    await releaseLock(db, { connection: request.connection, holder }).catch((error: unknown) => logger.warn({ err: describeError(error) }, 'lock release failed'));
    logger.error({ connection: request.connection, runId: last?.runId ?? null, phase: last?.phase ?? null }, why);
    if (!last) throw new GroupsyncError('SYNC_WORKER_FAILED', `the sync of "${request.connection}" did not start: ${why}`);
    const phase = last.phase;
    const failed = await failRunIfRunning(db, last.runId, {
      finishedAt: new Date(),
      errorCode: 'WORKER_FAILED',
      error: `${why} while ${phase}, after ${formatElapsed(Date.now() - last.startedAt)}; nothing was applied`,
      stats: { phase, ms: Date.now() - last.startedAt },
    });
    if (!failed) {
      // It committed its result before it stopped: that result stands.
      const run = await getRun(db, last.runId);
      if (!run) throw new GroupsyncError('SYNC_WORKER_FAILED', `the sync of "${request.connection}" stopped: ${why}`);
      return { run, plan: null, counts: null, verdict: null };
    }
    if (!request.dryRun) await this.#deps.notifier.notify({ type: 'run.failed', run: failed }).catch(() => {});
    return { run: failed, plan: null, counts: null, verdict: null };
  }
}
