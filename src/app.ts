/**
 * Builds groupsync's parts from a config: store → sources → engine → schedule, health and
 * incidents → operations. Shared by the long-lived service and the CLI, so both run the same code.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { AppConfig } from './config.ts';
import { type SourceFactory, createSource } from './directory/index.ts';
import { describeError } from './errors.ts';
import type { Logger } from './logger.ts';
import { type AlertSink, IncidentManager } from './notify/incidents.ts';
import { type Notifier, combineNotifiers } from './notify/port.ts';
import { Operations } from './ops/operations.ts';
import { Scheduler, createScheduleRecorder } from './scheduler/scheduler.ts';
import { type Store, openStore } from './store/db.ts';
import { SyncEngine } from './sync/engine.ts';
import { InProcessRunner, type SyncRunner } from './sync/runner.ts';
import { WorkerRunner } from './sync/worker-runner.ts';

export interface App {
  readonly config: AppConfig;
  readonly store: Store;
  readonly engine: SyncEngine;
  /** Where syncs run: a worker thread (a PostgreSQL store) or this thread. */
  readonly runner: SyncRunner;
  readonly ops: Operations;
  readonly incidents: IncidentManager;
  readonly scheduler: Scheduler;
  close(): Promise<void>;
}

export interface AppOptions {
  readonly logger: Logger;
  /** Extra run-event listeners (tests record events here). */
  readonly notifier?: Notifier;
  /** Where opened and resolved incidents are delivered (the chat surfaces). */
  readonly alertSink?: AlertSink;
  readonly createSource?: SourceFactory;
  readonly now?: () => Date;
  readonly store?: Store;
  /** This process's name in leases; defaults to host:pid:random. */
  readonly holder?: string;
  /** Told what the embedded store's server did (store/embedded.ts); logged at info by default. */
  readonly onStoreEvent?: (message: string) => void;
  /**
   * Where syncs run: 'worker' (a worker thread with its own database connection, so the event
   * loop stays free; the service and the CLI) or 'process' (this thread). A store without a URL
   * (PGlite), a test's own directory factory or clock run in process whatever is asked.
   */
  readonly syncIn?: 'worker' | 'process';
  /** The module a sync's worker thread runs: sync/worker.ts, or its bundle (bin/bundle.mjs). */
  readonly workerUrl?: URL;
}

export function processHolder(): string {
  return `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
}

export async function createApp(config: AppConfig, options: AppOptions): Promise<App> {
  const store =
    options.store ?? (await openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, onEvent: options.onStoreEvent ?? ((message) => options.logger.info(message)) }));
  const now = options.now ?? (() => new Date());
  const sourceFactory = options.createSource ?? createSource;
  const logger = options.logger;
  const incidents = new IncidentManager({ db: store.db, logger, now, ...(options.alertSink ? { sink: options.alertSink } : {}) });
  let ops: Operations | null = null;
  // After each run, health is re-evaluated at once: a link that turned red alerts now, not at the next tick.
  const healthAfterRun: Notifier = { notify: async () => (ops ? incidents.reconcile(await ops.healthForAlerts()) : undefined) };
  const notifier = combineNotifiers(
    [createScheduleRecorder(store.db, config.connections, now), incidents, healthAfterRun, ...(options.notifier ? [options.notifier] : [])],
    (error) => logger.error({ err: describeError(error) }, 'run event listener failed'),
  );
  const holder = options.holder ?? processHolder();
  const engine = new SyncEngine({ db: store.db, connections: config.connections, createSource: sourceFactory, notifier, logger, holder, now });
  await engine.registerConnections();
  const inWorker = options.syncIn === 'worker' && !options.createSource && !options.now;
  const runner: SyncRunner = inWorker
    ? new WorkerRunner({ url: store.url, db: store.db, engine, connections: config.connections, notifier, logger, holder, ...(options.workerUrl ? { workerUrl: options.workerUrl } : {}) })
    : new InProcessRunner(engine);
  ops = new Operations({ db: store.db, engine, runner, createSource: sourceFactory, now, incidents });
  const operations = ops;
  const scheduler = new Scheduler({
    db: store.db,
    engine,
    runner,
    notifier,
    logger,
    now,
    afterTick: async () => {
      await incidents.reconcile(await operations.healthForAlerts());
      // Alerts of incidents opened or resolved where they could not be posted (the CLI).
      await incidents.deliverPending();
    },
  });
  return {
    config,
    store,
    engine,
    runner,
    ops: operations,
    incidents,
    scheduler,
    close: async () => {
      await scheduler.stop();
      await runner.close();
      await store.close();
    },
  };
}
