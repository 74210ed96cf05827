/**
 * The long-lived service. Wiring only: config → logger → store → engine → HTTP server.
 * The chat endpoints mount here in later versions.
 */
import { createServer, type Server } from 'node:http';
import { sql } from 'drizzle-orm';
import { type App, createApp } from './app.ts';
import { loadConfig, loadDotEnv } from './config.ts';
import { describeError } from './errors.ts';
import { type Logger, createLogger } from './logger.ts';

export function createHttpServer(app: App, logger: Logger): Server {
  return createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method === 'GET' && url.pathname === '/healthz') {
      app.store.db
        .execute(sql`select 1`)
        .then(() => {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ status: 'ok', store: app.store.driver, connections: app.config.connections.map((c) => c.name) }));
        })
        .catch((error: unknown) => {
          logger.error({ err: describeError(error) }, 'health check: store unavailable');
          res.writeHead(503, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ status: 'unavailable', reason: 'store' }));
        });
      return;
    }
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: 'not found' }));
  });
}

async function main(): Promise<void> {
  loadDotEnv();
  const config = loadConfig();
  const logger = createLogger(config.logLevel);
  const app = await createApp(config, { logger });
  logger.info(
    { store: app.store.driver, location: app.store.location },
    app.store.driver === 'pglite' ? 'store: embedded PGlite (set DATABASE_URL=postgres://… to use PostgreSQL)' : 'store: PostgreSQL',
  );
  if (config.usingSample) {
    logger.info(
      { config: config.configFile },
      'directory: the bundled sample directory (sample/directory.ldif), synced by the scheduler now if it never was. ' +
        'To use your directory: copy sample/groupsync.example.yaml, set GROUPSYNC_CONFIG to it and export the password variable it names.',
    );
  } else {
    logger.info({ config: config.configFile, connections: config.connections.map((c) => `${c.name} (${c.kind})`) }, 'directory: connections file loaded');
  }
  const server = createHttpServer(app, logger);
  await new Promise<void>((resolve) => server.listen(config.port, resolve));
  const address = server.address();
  logger.info({ port: typeof address === 'object' && address ? address.port : config.port }, 'listening: GET /healthz');
  // The scheduler runs what is due (a connection on an interval that never synced is due now).
  app.scheduler.start();
  const stop = async (signal: string) => {
    logger.info({ signal }, 'stopping');
    server.close();
    await app.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
}

if (import.meta.main) {
  main().catch((error: unknown) => {
    process.stderr.write(`groupsync could not start: ${describeError(error)}\n`);
    process.exit(1);
  });
}
