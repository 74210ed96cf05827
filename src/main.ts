/**
 * The long-lived service. Wiring only: config → logger → store → engine → chat surfaces →
 * HTTP server → scheduler.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type App, createApp } from './app.ts';
import { ChatAlerts } from './chat/alerts.ts';
import { Authorizer } from './chat/auth.ts';
import { ChatService } from './chat/service.ts';
import { type SlackSurface, createSlackSurface } from './chat/slack/app.ts';
import { type TeamsSurface, createTeamsSurface } from './chat/teams/bot.ts';
import { type AppConfig, loadConfig, loadDotEnv } from './config.ts';
import { GroupsyncError, describeError, isGroupsyncError } from './errors.ts';
import { type Route, createHttpServer } from './http.ts';
import { type Logger, createLogger } from './logger.ts';
import { Metrics, metricsRoute } from './metrics.ts';
import type { AlertSink } from './notify/incidents.ts';
import { combineNotifiers } from './notify/port.ts';
import { type Store, openStore } from './store/db.ts';

export interface Service {
  readonly app: App;
  readonly server: Server;
  readonly port: number;
  readonly chat: ChatService;
  readonly teams: TeamsSurface;
  readonly slack: SlackSurface | null;
  /** GET /metrics: this service's counters (one registry per service). */
  readonly metrics: Metrics;
  close(): Promise<void>;
}

/** Builds and starts everything the process serves; the scheduler is started by the caller. */
export interface ServiceOptions {
  readonly logger: Logger;
  readonly store?: Store;
  readonly now?: () => Date;
  readonly holder?: string;
  /** Slack Web API retry policy (tests shorten it). */
  readonly slackRetry?: Parameters<typeof createSlackSurface>[0]['retry'];
  /** The Slack App Home's refresh window per user (10 s by default; tests shorten it). */
  readonly slackHomeThrottleMs?: number;
  /** Where syncs run (see AppOptions.syncIn): a worker thread by default. */
  readonly syncIn?: 'worker' | 'process';
  /** The module each sync's worker runs (see AppOptions.workerUrl). */
  readonly workerUrl?: URL;
}

export async function startService(config: AppConfig, options: ServiceOptions): Promise<Service> {
  const { logger } = options;
  const store = options.store ?? (await openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, onEvent: (message) => logger.info(message) }));
  const alerts = new ChatAlerts({ db: store.db, logger });
  const metrics = new Metrics({ db: store.db, connections: config.connections, logger, ...(options.now ? { now: options.now } : {}) });
  // What the Slack App Home shows changes when a run ends, an incident opens, changes or closes,
  // or an admin acts from chat: each tells it (it refreshes, throttled, on its own time).
  let homeChanged: () => void = () => {};
  const changed = () => homeChanged();
  const app = await createApp(config, {
    logger,
    store,
    alertSink: alsoTell(alerts, changed),
    notifier: combineNotifiers([metrics.notifier, { notify: async () => changed() }], (error) => logger.error({ err: describeError(error) }, 'run event listener failed')),
    syncIn: options.syncIn ?? 'worker',
    ...(options.workerUrl ? { workerUrl: options.workerUrl } : {}),
    ...(options.now ? { now: options.now } : {}),
    ...(options.holder ? { holder: options.holder } : {}),
  });
  const chat = new ChatService({
    ops: app.ops,
    db: store.db,
    auth: new Authorizer({ db: store.db, chat: config.chat }),
    logger,
    onRequest: (surface, outcome) => metrics.chatRequest(surface, outcome),
    onChange: changed,
    ...(options.now ? { now: options.now } : {}),
  });
  const teams = createTeamsSurface({ config: config.teams, chat, logger, db: store.db });
  alerts.register(teams.channel);
  const slack = config.slack
    ? createSlackSurface({
        config: config.slack,
        chat,
        logger,
        db: store.db,
        ...(options.slackRetry ? { retry: options.slackRetry } : {}),
        ...(options.slackHomeThrottleMs ? { homeThrottleMs: options.slackHomeThrottleMs } : {}),
      })
    : null;
  if (slack) {
    homeChanged = () => slack.home.changed();
    alerts.register(slack.channel);
    // auth.test (a wrong token fails here, with Slack's answer); Socket Mode connects. A Slack
    // problem must not take the scheduler and Teams down with it: it is logged, and the Slack
    // endpoint answers 503 until the settings are fixed and the service restarted.
    try {
      await slack.start();
    } catch (error) {
      logger.error({ err: describeError(error) }, 'Slack could not start; Teams, the scheduler and the CLI work without it. Check SLACK_BOT_TOKEN (and SLACK_APP_TOKEN in Socket Mode), then restart');
    }
  }
  const routes: Route[] = [teams.route, ...(slack?.route ? [slack.route] : []), metricsRoute(metrics, config.metricsToken ?? null)];
  const server = createHttpServer(app, logger, routes);
  const stopSurfaces = async () => {
    await teams.idle();
    await slack?.idle();
    await slack?.stop();
    await app.close();
  };
  try {
    await listen(server, config.port);
  } catch (error) {
    await stopSurfaces();
    throw error;
  }
  const port = (server.address() as AddressInfo).port;
  return {
    app,
    server,
    port,
    chat,
    teams,
    slack,
    metrics,
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await stopSurfaces();
    },
  };
}

/** The sink, then `changed` (even when the sink failed): an incident's alert and the homes that list it. */
function alsoTell(sink: AlertSink, changed: () => void): AlertSink {
  const then = (work: Promise<void>) => work.finally(changed);
  return { opened: (i) => then(sink.opened(i)), updated: (i) => then(sink.updated(i)), resolved: (i) => then(sink.resolved(i)) };
}

/** Listens on `port`; a port taken or not allowed fails with one line naming the variable that moves it. */
async function listen(server: Server, port: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      const why =
        error.code === 'EADDRINUSE' ? `port ${port} is in use by another process` : error.code === 'EACCES' ? `port ${port} needs privileges this process does not have` : null;
      reject(why ? new GroupsyncError('CONFIG_INVALID', `${why}; set PORT to another port`, { cause: error }) : error);
    });
    server.listen(port, resolve);
  });
}

/** Where the service's code runs from: bin/start.mjs passes its bundle's worker. */
export interface StartOptions {
  readonly workerUrl?: URL;
}

async function main(options: StartOptions): Promise<void> {
  loadDotEnv();
  const config = loadConfig();
  const logger = createLogger(config.logLevel, { format: config.logFormat ?? undefined });
  const service = await startService(config, { logger, ...(options.workerUrl ? { workerUrl: options.workerUrl } : {}) });
  const { app } = service;
  logger.info(
    { store: app.store.driver, location: app.store.location },
    app.store.driver === 'embedded'
      ? 'store: embedded PostgreSQL in the data folder (set DATABASE_URL=postgres://… to use a PostgreSQL server of your own)'
      : 'store: PostgreSQL',
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
  if (service.teams.localMode) {
    logger.warn('Teams: no MICROSOFT_APP_ID, so the bot runs in local mode: requests are not authenticated (for the Microsoft 365 Agents Playground and tests only)');
  } else {
    logger.info({ appId: config.teams.appId, type: config.teams.appType }, 'Teams: requests are authenticated with the Bot Framework');
  }
  if (service.slack) logger.info({ mode: service.slack.mode }, `Slack: ${service.slack.mode === 'socket' ? 'Socket Mode' : 'HTTP mode, POST /slack/events'}`);
  logger.info({ port: service.port }, `listening: POST /api/messages (Teams)${service.slack?.mode === 'http' ? ', POST /slack/events (Slack)' : ''}, GET /healthz, GET /metrics${config.metricsToken ? ' (bearer token)' : ''}`);
  // The scheduler runs what is due (a connection on an interval that never synced is due now).
  app.scheduler.start();
  const stop = async (signal: string) => {
    logger.info({ signal }, 'stopping');
    await service.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
}

/** Runs the service until SIGINT or SIGTERM; a failure to start is one line on stderr and exit code 1. */
export async function start(options: StartOptions = {}): Promise<void> {
  await main(options).catch((error: unknown) => {
    // With its stable code, as the CLI prints a refusal (docs/troubleshooting.md has each code).
    process.stderr.write(`groupsync could not start: ${isGroupsyncError(error) ? `error ${error.code}: ` : ''}${describeError(error)}\n`);
    process.exit(1);
  });
}

if (import.meta.main) await start();
