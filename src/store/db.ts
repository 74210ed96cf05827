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
  readonly url?: string;
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

const POSTGRES_URL = /^postgres(ql)?:\/\//i;

/** Refuses a URL postgres.js would misread (mysql://…, a bare host), before connecting; never echoes the password. */
function checkDatabaseUrl(url: string): void {
  if (POSTGRES_URL.test(url)) return;
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1];
  throw new GroupsyncError(
    'CONFIG_INVALID',
    `DATABASE_URL must be a postgres:// (or postgresql://) URL${scheme ? `, not ${scheme}://` : ''}, such as postgres://groupsync:PASSWORD@db.example.com:5432/groupsync`,
  );
}

type DriverError = { code?: unknown; message?: unknown; address?: unknown; port?: unknown; errors?: unknown };

/**
 * Why a connection to PostgreSQL failed, with the fix, in one sentence: the cause is a socket
 * error (ECONNREFUSED, ENOTFOUND…) or the server's SQLSTATE (3D000 no database, 28000 no role…).
 * Messages of the driver and the server name the user and the database, never the password.
 */
export function describeConnectFailure(error: unknown): string {
  const e = (error ?? {}) as DriverError;
  // Node answers a host with several addresses (localhost: ::1 and 127.0.0.1) with an AggregateError.
  const first = (Array.isArray(e.errors) && e.errors.length ? e.errors[e.errors.length - 1] : e) as DriverError;
  const message = typeof e.message === 'string' && e.message ? e.message : String(error);
  const at = typeof first.address === 'string' ? ` at ${first.address}${typeof first.port === 'number' ? `:${first.port}` : ''}` : '';
  switch (e.code ?? first.code) {
    case 'ECONNREFUSED':
      return `connection refused (ECONNREFUSED)${at}; is PostgreSQL running there? check the host and port in DATABASE_URL`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `host not found (${String(e.code)}); check the host name in DATABASE_URL`;
    case 'ETIMEDOUT':
    case 'CONNECT_TIMEOUT':
      return `no answer (${String(e.code)})${at}; check the host, port and firewall`;
    case 'ECONNRESET':
      return `the server closed the connection (ECONNRESET)${at}; check that DATABASE_URL points at PostgreSQL and whether it requires TLS (?sslmode=require)`;
    case '3D000': {
      const name = /database "([^"]+)"/.exec(message)?.[1] ?? 'DATABASE';
      return `${message}; create it (createdb ${name}) or fix the database name in DATABASE_URL`;
    }
    case '28000':
      return /role "([^"]+)" does not exist/.test(message)
        ? `${message}; create the role (createuser ${/role "([^"]+)"/.exec(message)![1]}) or fix the user name in DATABASE_URL`
        : `${message}; allow this host and user in the server's pg_hba.conf`;
    case '28P01':
      return `${message}; check the password in DATABASE_URL`;
    case '53300':
      return `${message}; raise max_connections on the server or run fewer groupsync processes`;
    case '57P03':
      return `${message}; the server is starting or stopping: try again when it is up`;
    case '42501':
      return `${message}; the user in DATABASE_URL needs CREATE on the database (GRANT CREATE ON DATABASE … TO …) to create groupsync's tables`;
    default:
      return message;
  }
}

/** Opens the store and applies pending migrations. */
export async function openStore(options: OpenStoreOptions): Promise<Store> {
  if (options.databaseUrl) {
    checkDatabaseUrl(options.databaseUrl);
    const client = postgres(options.databaseUrl, {
      max: options.maxConnections ?? 10,
      onnotice: () => {},
      connection: { application_name: 'groupsync' },
    });
    const db = drizzlePostgres(client, { schema }) as unknown as Db;
    const fail = async (error: unknown): Promise<never> => {
      await client.end({ timeout: 1 });
      throw new GroupsyncError('STORE_FAILED', `cannot open PostgreSQL at ${redactUrl(options.databaseUrl!)}: ${describeConnectFailure(error)}`, { cause: error });
    };
    // Connect first: a connection that fails says why (not "Failed query: CREATE SCHEMA …").
    await client`select 1`.then(() => undefined, fail);
    try {
      await migratePostgres(db as never, { migrationsFolder: MIGRATIONS_DIR });
    } catch (error) {
      // drizzle wraps the server's error as "Failed query: <sql>": its cause says what went wrong.
      await fail(error instanceof Error && error.message.startsWith('Failed query:') && error.cause ? error.cause : error);
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
    client = await memoryClient();
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

/**
 * In-memory stores start from one migrated template per process, cloned: a new PGlite costs
 * seconds (WASM start-up and every migration), a clone of the template a fraction of one.
 */
let memoryTemplate: Promise<PGlite> | null = null;

async function memoryClient(): Promise<PGlite> {
  memoryTemplate ??= (async () => {
    const template = new PGlite();
    await migratePglite(drizzlePglite(template, { schema }) as never, { migrationsFolder: MIGRATIONS_DIR });
    return template;
  })();
  try {
    return (await (await memoryTemplate).clone()) as PGlite;
  } catch (error) {
    memoryTemplate = null;
    throw error;
  }
}

/** Rows of a raw `execute`, whichever driver answered (postgres.js returns an array, PGlite `{ rows }`). */
export async function queryRows<T>(executor: Executor, query: SQL): Promise<T[]> {
  const result: unknown = await executor.execute(query);
  if (Array.isArray(result)) return result as T[];
  return ((result as { rows?: T[] }).rows ?? []) as T[];
}
