// vitest globalSetup: one throw-away PostgreSQL server for the whole run. Test files get its
// admin URL with `inject('pgUrl')` and make their own databases with
// `createDatabase(inject('pgUrl'), name?)` from ./postgres.ts. slapd instances are started by
// the test files themselves (startSlapd() from ./slapd.ts, ~0.2 s each).
import type { TestProject } from 'vitest/node';
import { startPostgres, type PostgresHandle } from './postgres.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Superuser URL (database `postgres`) of the run's PostgreSQL server. */
    pgUrl: string;
  }
}

let pg: PostgresHandle | undefined;

export async function setup(project: TestProject): Promise<void> {
  pg = await startPostgres();
  project.provide('pgUrl', pg.url);
}

export async function teardown(): Promise<void> {
  await pg?.stop();
  pg = undefined;
}
