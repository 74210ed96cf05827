/**
 * The database handle: PostgreSQL through postgres.js, either the server at DATABASE_URL or the
 * embedded server groupsync runs in its data folder (store/embedded.ts). One code path, one
 * schema, the same migrations. The handle is injected everywhere; nothing builds its own.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { SQL } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT, PgTransaction } from 'drizzle-orm/pg-core';
import { drizzle } from 'drizzle-orm/postgres-js';
import { migrate } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import { GroupsyncError } from '../errors.ts';
import { pgClient } from './client.ts';
import { openEmbeddedServer } from './embedded.ts';
import * as schema from './schema.ts';

export type Schema = typeof schema;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Db = PgDatabase<PgQueryResultHKT, Schema, any>;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Tx = PgTransaction<PgQueryResultHKT, Schema, any>;
export type Executor = Db | Tx;

export interface Store {
  readonly db: Db;
  /** `embedded`: the private server in the data folder; `postgres`: the server at DATABASE_URL. */
  readonly driver: 'embedded' | 'postgres';
  /** The connection URL (with its password: never log it), for a worker's own connections. */
  readonly url: string;
  /** Where the data lives, for the start-up log (never the password). */
  readonly location: string;
  close(): Promise<void>;
}

export const MIGRATIONS_DIR = path.resolve(import.meta.dirname, '..', '..', 'migrations');

export interface OpenStoreOptions {
  /** postgres:// URL; when absent, the embedded server in `dataDir`. */
  readonly databaseUrl?: string | null;
  readonly dataDir?: string;
  readonly maxConnections?: number;
  /** Told what the embedded server did (initialised, started, attached, recovered, stopped). */
  readonly onEvent?: (message: string) => void;
  /** How long PostgreSQL at `databaseUrl` has to answer a first query (default FIRST_ANSWER_MS). */
  readonly firstAnswerMs?: number;
}

/**
 * The first query's deadline. postgres.js gives up on a silent server after its connect_timeout
 * (30 s), but connects again for ever to a port whose server closes the connection (an HTTP or
 * LDAP server on the port given): past this, the server is not taken for PostgreSQL.
 */
export const FIRST_ANSWER_MS = 35_000;

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
      return `no answer (${String(e.code)})${at}; check the host, port and firewall (is another service listening on that port?)`;
    case 'NO_POSTGRES_ANSWER':
      return `${message}${at}: the connection was closed or left unanswered; check the host and port in DATABASE_URL (another service may be listening there, not PostgreSQL)`;
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

/** A pool on an already migrated database (a sync worker's own connections), with its postgres.js client. */
export function connectDb(url: string, maxConnections: number): { db: Db; client: postgres.Sql; close(): Promise<void> } {
  const client = pgClient(url, maxConnections);
  return { db: drizzle(client, { schema }) as unknown as Db, client, close: () => client.end({ timeout: 5 }) };
}

/** The migrations in the journal drizzle-kit writes: name and timestamp (drizzle records it as created_at). */
function journal(): Array<{ tag: string; when: number }> {
  return (JSON.parse(readFileSync(path.join(MIGRATIONS_DIR, 'meta', '_journal.json'), 'utf8')) as { entries: Array<{ tag: string; when: number }> }).entries;
}

/** The timestamp of the newest migration applied; 0 on a new database. One query, without the migration lock. */
async function appliedUpTo(client: postgres.Sql): Promise<number> {
  try {
    const [row] = await client<Array<{ newest: string | null }>>`select max(created_at)::text as newest from drizzle.__drizzle_migrations`;
    return Number(row?.newest ?? 0);
  } catch {
    return 0; // no migrations table yet: a new database
  }
}

/** Any constant: the advisory lock that makes processes opening one database migrate it one at a time. */
const MIGRATE_LOCK = 0x67736d6967;

/**
 * Applies pending migrations while holding an advisory lock on a connection of its own, so that
 * processes starting together on a new database do not create the same tables at once (the
 * others wait, then find nothing pending).
 */
async function migrateOnce(url: string, db: Db, client: postgres.Sql): Promise<string> {
  const entries = journal();
  if ((await appliedUpTo(client)) >= Math.max(...entries.map((e) => e.when))) return `store schema up to date (${entries.length} migrations)`;
  const lock = pgClient(url, 1, 'groupsync-migrate');
  try {
    await lock`select pg_advisory_lock(${MIGRATE_LOCK})`;
    // Read again under the lock: another process may have applied them meanwhile.
    const before = await appliedUpTo(client);
    await migrate(db as never, { migrationsFolder: MIGRATIONS_DIR });
    const applied = entries.filter((e) => e.when > before).map((e) => e.tag);
    return applied.length ? `store schema: applied ${applied.length} migration${applied.length === 1 ? '' : 's'}: ${applied.join(', ')}` : `store schema up to date (${entries.length} migrations)`;
  } finally {
    await lock.end({ timeout: 5 });
  }
}

/** A first query answered within `ms`, or a NO_POSTGRES_ANSWER error naming the address asked. */
async function firstAnswer(client: postgres.Sql, url: string, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const { hostname, port } = new URL(url);
  const deadline = new Promise<never>((_, reject) => {
    const error = Object.assign(new Error(`nothing answered as PostgreSQL within ${Math.round(ms / 100) / 10} s`), { code: 'NO_POSTGRES_ANSWER', address: hostname, port: Number(port || 5432) });
    timer = setTimeout(() => reject(error), ms);
  });
  try {
    await Promise.race([client`select 1`, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** Opens PostgreSQL at `url` and applies pending migrations; a failure says why and what to do. */
async function openPostgres(
  url: string,
  maxConnections: number,
  shown: string,
  onClose: () => Promise<void>,
  onEvent?: (message: string) => void,
  firstAnswerMs = FIRST_ANSWER_MS,
): Promise<{ db: Db; close(): Promise<void> }> {
  const { db, client } = connectDb(url, maxConnections);
  const close = async () => {
    await client.end({ timeout: 5 });
    await onClose();
  };
  const fail = async (error: unknown): Promise<never> => {
    await client.end({ timeout: 1 });
    await onClose();
    throw new GroupsyncError('STORE_FAILED', `cannot open PostgreSQL at ${shown}: ${describeConnectFailure(error)}`, { cause: error });
  };
  // Connect first: a connection that fails says why (not "Failed query: CREATE SCHEMA …").
  await firstAnswer(client, url, firstAnswerMs).then(() => undefined, fail);
  try {
    // Migrated whether or not anyone listens (an optional call would skip its argument).
    const said = await migrateOnce(url, db, client);
    onEvent?.(said);
  } catch (error) {
    // drizzle wraps the server's error as "Failed query: <sql>": its cause says what went wrong.
    await fail(error instanceof Error && error.message.startsWith('Failed query:') && error.cause ? error.cause : error);
  }
  return { db, close };
}

/**
 * Opens the store and applies pending migrations: PostgreSQL at `databaseUrl`, or the embedded
 * PostgreSQL server of `dataDir` (started, or attached to, by store/embedded.ts).
 */
export async function openStore(options: OpenStoreOptions): Promise<Store> {
  const max = options.maxConnections ?? 10;
  if (options.databaseUrl) {
    checkDatabaseUrl(options.databaseUrl);
    const shown = redactUrl(options.databaseUrl);
    const { db, close } = await openPostgres(options.databaseUrl, max, shown, async () => {}, options.onEvent, options.firstAnswerMs);
    return { db, driver: 'postgres', url: options.databaseUrl, location: shown, close };
  }
  const dataDir = path.resolve(options.dataDir ?? 'data');
  const server = await openEmbeddedServer(dataDir, options.onEvent ? { onEvent: options.onEvent } : {});
  const { db, close } = await openPostgres(server.url, max, `the embedded server (${server.location})`, () => server.detach(), options.onEvent);
  return { db, driver: 'embedded', url: server.url, location: server.location, close };
}

/** Rows of a raw `execute` (postgres.js answers with an array of rows). */
export async function queryRows<T>(executor: Executor, query: SQL): Promise<T[]> {
  const rows = (await executor.execute(query)) as unknown as T[];
  // postgres.js 3.4.x does not reset its row counter when a statement fails after sending some
  // rows (a timeout, a cancel, an error in a row): the next result on that connection comes back
  // with as many empty slots ahead of its rows. They are dropped here.
  return rows.length > 0 && !(0 in rows) ? rows.filter(() => true) : rows;
}

interface CursorClient {
  unsafe(query: string, params: unknown[]): { cursor(rows: number, each: (rows: unknown[]) => void): Promise<void> };
}

/**
 * Hands the rows of `query` to `each` in batches of `batch` (a postgres.js cursor on the
 * executor's connection), so that a result of a hundred thousand rows is never one array.
 */
export async function forEachRow<T>(executor: Executor, query: SQL, each: (row: T) => void, batch = 2000): Promise<void> {
  const internals = executor as unknown as { dialect: { sqlToQuery(q: SQL): { sql: string; params: unknown[] } }; session?: { client?: CursorClient } };
  const client = internals.session?.client;
  if (!client || typeof client.unsafe !== 'function') throw new Error('forEachRow: not a postgres.js connection');
  const { sql: text, params } = internals.dialect.sqlToQuery(query);
  await client.unsafe(text, params).cursor(batch, (rows) => {
    // postgres.js 3.4 leaves holes at the start of a connection's first batch after a statement
    // that failed midway through its rows (its row counter is not reset): they are no rows.
    for (const row of rows) if (row !== undefined) each(row as T);
  });
}
