/**
 * The service with the Slack surface, wired as src/main.ts is to wire it (store → alerts → app →
 * chat → Slack surface registered as an alert channel → start → its route on the one HTTP
 * server), on a test store and directory, with the Slack Web API on a loopback server.
 * (startService does not register Slack yet; once it does, this can call it instead.)
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import type { webApi } from '@slack/bolt';
import { type App, createApp } from '../../src/app.ts';
import { ChatAlerts } from '../../src/chat/alerts.ts';
import { Authorizer } from '../../src/chat/auth.ts';
import { ChatService } from '../../src/chat/service.ts';
import { type SlackSurface, createSlackSurface } from '../../src/chat/slack/app.ts';
import { type AppConfig, type SlackConfig, parseConfigDocument } from '../../src/config.ts';
import { createHttpServer } from '../../src/http.ts';
import { silentLogger } from '../../src/logger.ts';
import type { Store } from '../../src/store/db.ts';
import { type Driver, openTestStore } from './app.ts';

export interface SlackTestService {
  readonly app: App;
  readonly chat: ChatService;
  readonly slack: SlackSurface;
  readonly server: Server;
  /** http://127.0.0.1:<port>/slack/events */
  readonly eventsUrl: string;
  close(): Promise<void>;
}

/** Fast retries for tests; a 429 still waits its Retry-After (that is the Web API client's own rule). */
export const TEST_RETRY: webApi.RetryOptions = { retries: 3, factor: 2, minTimeout: 20, maxTimeout: 200 };

export async function startSlackService(
  driver: Driver,
  connections: Array<Record<string, unknown>>,
  options: { slack: SlackConfig; chat?: Record<string, unknown>; store?: Store; env?: Record<string, string> },
): Promise<SlackTestService> {
  const env = { TEST_LDAP_PASSWORD: 'admin-secret', ...options.env };
  const parsed = parseConfigDocument({ connections, ...(options.chat ? { chat: options.chat } : {}) }, env, 'test config', process.cwd());
  const config: AppConfig = {
    port: 0,
    databaseUrl: null,
    dataDir: 'memory://',
    configFile: null,
    usingSample: false,
    logLevel: 'silent',
    connections: parsed.connections,
    chat: parsed.chat,
    teams: { appId: null, appPassword: null, tenantId: null, appType: 'MultiTenant' },
    slack: options.slack,
  };
  const logger = silentLogger;
  const store = options.store ?? (await openTestStore(driver));
  const alerts = new ChatAlerts({ db: store.db, logger });
  const app = await createApp(config, { logger, store, alertSink: alerts });
  const chat = new ChatService({ ops: app.ops, db: store.db, auth: new Authorizer({ db: store.db, chat: config.chat }), logger });
  const slack = createSlackSurface({ config: options.slack, chat, logger, retry: TEST_RETRY });
  alerts.register(slack.channel);
  await slack.start();
  const server = createHttpServer(app, logger, slack.route ? [slack.route] : []);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const port = (server.address() as AddressInfo).port;
  return {
    app,
    chat,
    slack,
    server,
    eventsUrl: `http://127.0.0.1:${port}/slack/events`,
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await slack.idle();
      await slack.stop();
      await app.close();
    },
  };
}
