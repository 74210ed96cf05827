/**
 * Where a sync runs. The rest of the app (operations, scheduler, chat, CLI) calls `sync(request)`
 * and does not know: `InProcessRunner` calls the engine on this thread (the embedded PGlite store,
 * tests with their own directory factory); `WorkerRunner` (sync/worker-runner.ts) runs each sync
 * in a worker thread with its own database connection, so the event loop that serves HTTP stays
 * free. Both consult the registry of the syncs this process runs first: a second sync of the same
 * connection is answered "already running since …" at once, without touching the store (the run
 * lease in the store still serialises syncs across processes).
 */
import { GroupsyncError } from '../errors.ts';
import { formatTime } from '../format.ts';
import type { SyncEngine, SyncRequest, SyncResult } from './engine.ts';
import type { ProgressEvent, SyncPhase } from './progress.ts';

export interface SyncRunner {
  sync(request: SyncRequest): Promise<SyncResult>;
  /** The sync of `connection` this process runs now, if any (dry runs are not counted). */
  running(connection: string): RunningSync | null;
  /** Stops what it runs (workers) and waits for it; runs cut short are recorded as failed. */
  close(): Promise<void>;
}

export interface RunningSync {
  readonly connection: string;
  readonly since: Date;
  runId: number | null;
  phase: SyncPhase;
}

/** The syncs (not dry runs: they take no lease and may overlap) this process runs, by connection. */
export class RunningSyncs {
  readonly #byConnection = new Map<string, RunningSync>();

  get(connection: string): RunningSync | null {
    return this.#byConnection.get(connection.toLowerCase()) ?? null;
  }

  /**
   * Runs `work` as the sync of `connection`, or throws ALREADY_RUNNING at once when this process
   * runs one; the entry follows the run's progress (its id, its phase) until the work ends.
   */
  async track<T>(request: SyncRequest, work: (request: SyncRequest) => Promise<T>): Promise<T> {
    if (request.dryRun) return work(request);
    const key = request.connection.toLowerCase();
    const busy = this.#byConnection.get(key);
    if (busy) throw alreadyRunningHere(busy);
    const entry: RunningSync = { connection: request.connection, since: new Date(), runId: null, phase: 'starting' };
    this.#byConnection.set(key, entry);
    const end = () => {
      if (this.#byConnection.get(key) === entry) this.#byConnection.delete(key);
    };
    const onProgress = (event: ProgressEvent) => {
      entry.runId = event.runId;
      entry.phase = event.phase;
      // Recorded, lease released: the next sync may start (while this one's ANALYZE runs).
      if (event.phase === 'finished') end();
      request.onProgress?.(event);
    };
    try {
      return await work({ ...request, onProgress });
    } finally {
      end();
    }
  }
}

/** "already running since 2026-12-07 01:02:03 UTC (run #12, reading users)". */
export function alreadyRunningHere(running: RunningSync): GroupsyncError {
  const since = formatTime(running.since);
  const what = running.runId === null ? running.phase : `run #${running.runId}, ${running.phase}`;
  return new GroupsyncError('ALREADY_RUNNING', `a sync of "${running.connection}" is already running since ${since} (${what}); its card shows its progress`, {
    details: running.runId === null ? {} : { runId: running.runId },
  });
}

/** The engine on this thread. */
export class InProcessRunner implements SyncRunner {
  readonly #engine: SyncEngine;
  readonly #running = new RunningSyncs();

  constructor(engine: SyncEngine) {
    this.#engine = engine;
  }

  async sync(request: SyncRequest): Promise<SyncResult> {
    const name = this.#engine.connection(request.connection).name;
    return this.#running.track({ ...request, connection: name }, (r) => this.#engine.sync(r));
  }

  running(connection: string): RunningSync | null {
    return this.#running.get(connection);
  }

  async close(): Promise<void> {}
}
