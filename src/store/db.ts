/**
 * The database handle: PostgreSQL through postgres.js when a URL is given, otherwise PGlite in a
 * local data folder. The same drizzle schema and migrations serve both. The handle is injected
 * everywhere; nothing builds its own.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import type { SQL } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT, PgTransaction } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import lockfile from 'proper-lockfile';
import { GroupsyncError } from '../errors.ts';
import * as schema from './schema.ts';

export type Schema = typeof schema;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Db = PgDatabase<PgQueryResultHKT, Schema, any>;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Tx = PgTransaction<PgQueryResultHKT, Schema, any>;
export type Executor = Db | Tx;

export interface Store {
  readonly db: Db;
  readonly driver: 'pglite' | 'postgres';
  /** Where the data lives, for the start-up log (never the password). */
  readonly location: string;
  close(): Promise<void>;
}

export const MIGRATIONS_DIR = path.resolve(import.meta.dirname, '..', '..', 'migrations');

export interface OpenStoreOptions {
  /** postgres:// URL; when absent, PGlite in `dataDir` (or in memory when dataDir is 'memory://'). */
  readonly databaseUrl?: string | null;
  readonly dataDir?: string;
  readonly maxConnections?: number;
}

function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres (unparsable URL)';
  }
}

/** Opens the store and applies pending migrations. */
export async function openStore(options: OpenStoreOptions): Promise<Store> {
  if (options.databaseUrl) {
    const client = postgres(options.databaseUrl, {
      max: options.maxConnections ?? 10,
      onnotice: () => {},
      connection: { application_name: 'groupsync' },
    });
    const db = drizzlePostgres(client, { schema }) as unknown as Db;
    try {
      await migratePostgres(db as never, { migrationsFolder: MIGRATIONS_DIR });
    } catch (error) {
      await client.end({ timeout: 1 });
      throw new GroupsyncError('STORE_FAILED', `cannot open PostgreSQL at ${redactUrl(options.databaseUrl)}: ${(error as Error).message}`, { cause: error });
    }
    return {
      db,
      driver: 'postgres',
      location: redactUrl(options.databaseUrl),
      close: () => client.end({ timeout: 5 }),
    };
  }
  const dataDir = options.dataDir ?? 'memory://';
  let client: PGlite;
  let unlock: (() => Promise<void>) | null = null;
  if (dataDir.startsWith('memory://')) {
    client = new PGlite();
  } else {
    const dir = path.resolve(dataDir, 'pglite');
    mkdirSync(dir, { recursive: true });
    // PGlite is one process's database: a second process opening the same folder would corrupt it.
    try {
      unlock = await lockfile.lock(dir, { lockfilePath: path.join(dir, '..', 'pglite.lock'), stale: 15_000, update: 5_000 });
    } catch (error) {
      throw new GroupsyncError(
        'STORE_FAILED',
        `the embedded store in ${dir} is in use by another groupsync process (the service?). Stop it first, ` +
          'or set DATABASE_URL so that several processes share one PostgreSQL database',
        { cause: error },
      );
    }
    client = new PGlite(dir);
  }
  const db = drizzlePglite(client, { schema }) as unknown as Db;
  const closeAll = async () => {
    await client.close();
    await unlock?.();
  };
  try {
    await migratePglite(db as never, { migrationsFolder: MIGRATIONS_DIR });
  } catch (error) {
    await closeAll();
    throw new GroupsyncError('STORE_FAILED', `cannot open the embedded store in ${dataDir}: ${(error as Error).message}`, { cause: error });
  }
  return {
    db,
    driver: 'pglite',
    location: dataDir.startsWith('memory://') ? 'in memory' : path.resolve(dataDir, 'pglite'),
    close: closeAll,
  };
}

/** Rows of a raw `execute`, whichever driver answered (postgres.js returns an array, PGlite `{ rows }`). */
export async function queryRows<T>(executor: Executor, query: SQL): Promise<T[]> {
  const result: unknown = await executor.execute(query);
  if (Array.isArray(result)) return result as T[];
  return ((result as { rows?: T[] }).rows ?? []) as T[];
}
