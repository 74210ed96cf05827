// vitest globalSetup: one throw-away PostgreSQL server for the whole run. Test files get its
// admin URL with `inject('pgUrl')` and make their own databases with
// `createDatabase(inject('pgUrl'), name?)` from ./postgres.ts; openTestStore (./app.ts) copies
// the migrated template `inject('pgTemplate')` made here once, instead of running every migration
// for every test's store (~0.4 s each; store-open.test.ts still migrates empty databases). slapd instances are started by
// the test files themselves (startSlapd() from ./slapd.ts, ~0.2 s each).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import type { TestProject } from 'vitest/node';
import { openStore } from '../../src/store/db.ts';
import { bundleModules } from '../../bin/bundle.mjs';
import { createTestTls } from './graph-tls.ts';
import { startPostgres, type PostgresHandle } from './postgres.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Superuser URL (database `postgres`) of the run's PostgreSQL server. */
    pgUrl: string;
    /**
     * A database on that server with the store's schema (every migration applied) and no rows,
     * closed to connections: openTestStore copies it (CREATE DATABASE … TEMPLATE) instead of
     * migrating an empty database for every test.
     */
    pgTemplate: string;
    /**
     * The module a test service's syncs run in, as `npm start` runs them: the worker of the
     * bundle (bin/bundle.mjs) built here once for the run, or src/sync/worker.ts if none can be.
     */
    workerUrl: string;
    /** The throw-away TLS material of the loopback Graph (its CA is in NODE_EXTRA_CA_CERTS). */
    graphTls: { dir: string; caFile: string; certFile: string; keyFile: string };
  }
}

let pg: PostgresHandle | undefined;
let tlsDir: string | undefined;

export async function setup(project: TestProject): Promise<void> {
  // The loopback Graph's CA, trusted by every worker: Node reads NODE_EXTRA_CA_CERTS at process
  // start, and the workers are forked after this, with this process's environment.
  const tls = createTestTls(mkdtempSync(join(tmpdir(), 'groupsync-graph-tls-')));
  process.env.NODE_EXTRA_CA_CERTS = tls.caFile;
  tlsDir = tls.dir;
  project.provide('graphTls', tls);
  pg = await startPostgres();
  project.provide('pgUrl', pg.url);
  project.provide('pgTemplate', await migratedTemplate(pg));
  // Built before the files start (they would each build it, at once); held by this process, so
  // that a build made later in the run (cli-startup.test.ts edits a source) does not remove it.
  project.provide('workerUrl', (await bundleModules()).worker);
}

/** The store's schema migrated once into a database of its own, which then refuses connections (a template must have none). */
async function migratedTemplate(server: PostgresHandle): Promise<string> {
  const name = 'groupsync_migrated';
  const store = await openStore({ databaseUrl: await server.createDatabase(name), maxConnections: 1 });
  await store.close();
  const admin = postgres(server.url, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`ALTER DATABASE ${name} WITH ALLOW_CONNECTIONS false`);
  } finally {
    await admin.end({ timeout: 5 });
  }
  return name;
}

export async function teardown(): Promise<void> {
  await pg?.stop();
  pg = undefined;
  if (tlsDir) rmSync(tlsDir, { recursive: true, force: true });
}
