// Where the sync benchmark's groupsync writes: BENCH_STORE=postgres (default: a private
// PostgreSQL server started by the bench, with pg_stat_statements, one database per store) or
// BENCH_STORE=embedded (groupsync's own embedded PostgreSQL: no DATABASE_URL, one data folder per
// store). For the embedded store the bench attaches to the folder's server itself, as the
// service would, so the CLI runs beside it and the bench can read the server's table statistics;
// the server's start is measured apart.
import { chmodSync } from 'node:fs';
import { join } from 'node:path';
import postgres from 'postgres';
import { type EmbeddedServer, openEmbeddedServer } from '../src/store/embedded.ts';
import { type PostgresHandle, createDatabase, startPostgres, withDatabase } from '../test/support/postgres.ts';

export type StoreKind = 'postgres' | 'embedded';

/** One groupsync store: the URL the bench reads it with, and the environment the CLI gets. */
export interface StoreTarget {
  readonly url: string;
  readonly cliEnv: Readonly<Record<string, string>>;
}

export interface BenchStore {
  readonly kind: StoreKind;
  /** Superuser connection to the server's `postgres` database. */
  readonly admin: postgres.Sql;
  /** Milliseconds the first embedded server took to initialise and start (null for postgres). */
  readonly startMs: number | null;
  /** A new, empty store. */
  fresh(name: string): Promise<StoreTarget>;
  /** A new database on the same server, for the floor's COPY. */
  database(name: string): Promise<string>;
  stop(): Promise<void>;
}

const adminClient = (url: string) => postgres(url, { max: 1, onnotice: () => {}, connection: { application_name: 'groupsync-bench' } });

/** The environment without the variables that choose groupsync's store (each target sets its own). */
export function withoutStoreEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { DATABASE_URL: _url, GROUPSYNC_DATA_DIR: _dir, ...rest } = env;
  return rest;
}

export function storeKind(): StoreKind {
  const kind = process.env.BENCH_STORE ?? 'postgres';
  if (kind !== 'postgres' && kind !== 'embedded') throw new Error(`BENCH_STORE must be postgres or embedded, got "${kind}"`);
  return kind;
}

export async function openBenchStore(kind: StoreKind, workDir: string): Promise<BenchStore> {
  return kind === 'postgres' ? externalStore() : embeddedStore(workDir);
}

async function externalStore(): Promise<BenchStore> {
  // pg_stat_statements says which statements the server time goes to.
  const settings = { shared_preload_libraries: 'pg_stat_statements', 'pg_stat_statements.track': 'top', 'pg_stat_statements.max': 5000 };
  const pg: PostgresHandle = await startPostgres({ settings });
  const admin = adminClient(pg.url);
  await admin`create extension if not exists pg_stat_statements`;
  return {
    kind: 'postgres',
    admin,
    startMs: null,
    async fresh(name) {
      const url = await pg.createDatabase(name);
      return { url, cliEnv: { DATABASE_URL: url } };
    },
    database: (name) => pg.createDatabase(name),
    async stop() {
      await admin.end({ timeout: 5 }).catch(() => {});
      await pg.stop();
    },
  };
}

async function embeddedStore(workDir: string): Promise<BenchStore> {
  // As root the embedded server runs as the account postgres, which must reach the data folders.
  chmodSync(workDir, 0o755);
  const servers: EmbeddedServer[] = [];
  const open = async (name: string): Promise<{ server: EmbeddedServer; dataDir: string }> => {
    const dataDir = join(workDir, `data-${name}`);
    const server = await openEmbeddedServer(dataDir);
    servers.push(server);
    return { server, dataDir };
  };
  const started = performance.now();
  const first = await open('floor');
  const startMs = performance.now() - started;
  const adminUrl = withDatabase(first.server.url, 'postgres');
  const admin = adminClient(adminUrl);
  return {
    kind: 'embedded',
    admin,
    startMs,
    async fresh(name) {
      const { server, dataDir } = await open(name);
      return { url: server.url, cliEnv: { GROUPSYNC_DATA_DIR: dataDir } };
    },
    database: (name) => createDatabase(adminUrl, name),
    async stop() {
      await admin.end({ timeout: 5 }).catch(() => {});
      for (const server of servers) await server.detach().catch(() => {});
    },
  };
}
