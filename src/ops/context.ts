/** What every operation works with: the store, the engine, the directory sources and the clock. */
import type { ConnectionConfig } from '../config.ts';
import type { SourceFactory } from '../directory/index.ts';
import type { ConnectionHealthInput } from '../health/health.ts';
import type { IncidentManager } from '../notify/incidents.ts';
import type { Db } from '../store/db.ts';
import type { HealthDetail } from '../store/health-state.ts';
import type { SyncEngine } from '../sync/engine.ts';

export interface OpsContext {
  readonly db: Db;
  readonly engine: SyncEngine;
  readonly createSource: SourceFactory;
  readonly incidents: IncidentManager;
  readonly now: () => Date;
  /**
   * The health rules' inputs of these connections (with their links unless `links` is false), one
   * load shared by concurrent callers (shared-reads.ts). `detail: 'alerts'` loads only what the
   * rules need (see HealthDetail).
   */
  readonly healthInputs: (configs: readonly ConnectionConfig[], links?: boolean, detail?: HealthDetail) => Promise<ConnectionHealthInput[]>;
}

export interface Page<T> {
  readonly items: readonly T[];
  readonly total: number;
  readonly offset: number;
  readonly limit: number;
}
