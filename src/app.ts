/**
 * Builds groupsync's parts from a config: store → sources → engine → operations. Shared by the
 * long-lived service and the CLI, so both run the same code.
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { AppConfig } from './config.ts';
import { type SourceFactory, createSource } from './directory/index.ts';
import type { Logger } from './logger.ts';
import { type Notifier, nullNotifier } from './notify/port.ts';
import { Operations } from './ops/operations.ts';
import { type Store, openStore } from './store/db.ts';
import { SyncEngine } from './sync/engine.ts';

export interface App {
  readonly config: AppConfig;
  readonly store: Store;
  readonly engine: SyncEngine;
  readonly ops: Operations;
  close(): Promise<void>;
}

export interface AppOptions {
  readonly logger: Logger;
  readonly notifier?: Notifier;
  readonly createSource?: SourceFactory;
  readonly now?: () => Date;
  readonly store?: Store;
}

export function processHolder(): string {
  return `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
}

export async function createApp(config: AppConfig, options: AppOptions): Promise<App> {
  const store = options.store ?? (await openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir }));
  const sourceFactory = options.createSource ?? createSource;
  const engine = new SyncEngine({
    db: store.db,
    connections: config.connections,
    createSource: sourceFactory,
    notifier: options.notifier ?? nullNotifier,
    logger: options.logger,
    holder: processHolder(),
    ...(options.now ? { now: options.now } : {}),
  });
  await engine.registerConnections();
  const ops = new Operations({ db: store.db, engine, createSource: sourceFactory, ...(options.now ? { now: options.now } : {}) });
  return { config, store, engine, ops, close: () => store.close() };
}
