/**
 * Builds a real groupsync App for tests: real config parsing, a real store (a fresh database on
 * the suite's PostgreSQL server), the real LDAP source pointed at a test slapd, or the real Entra
 * source pointed at the loopback Graph (graph-server.ts).
 */
import { inject } from 'vitest';
import { type App, createApp } from '../../src/app.ts';
import { type AppConfig, type TeamsConfig, parseConfigDocument } from '../../src/config.ts';
import type { SourceFactory } from '../../src/directory/index.ts';
import { silentLogger } from '../../src/logger.ts';
import type { AlertSink } from '../../src/notify/incidents.ts';
import type { Notifier, SyncEvent } from '../../src/notify/port.ts';
import { openStore } from '../../src/store/db.ts';
import { createDatabase } from './postgres.ts';
import type { SlapdHandle } from './slapd.ts';
import { type GraphServer, TEST_SECRET } from './graph-server.ts';

/** The store the tests run on: PostgreSQL (the embedded default runs the same code; its server's lifecycle is tested in embedded-store.test.ts). */
export type Driver = 'postgres';
export const DRIVERS: Driver[] = ['postgres'];

export function ldapConnection(ldap: SlapdHandle, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'corp',
    kind: 'ldap',
    url: ldap.url,
    bindDn: ldap.adminDn,
    passwordEnv: 'TEST_LDAP_PASSWORD',
    baseDn: ldap.baseDn,
    groups: { filter: '(cn=*)' },
    attributes: { disabled: 'employeeType' },
    timeoutSeconds: 5,
    ...overrides,
  };
}

/** An entra connection to the loopback Graph: its token endpoint, Graph root and host trusted; fast retries. */
export function entraConnection(graph: GraphServer, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'corp',
    kind: 'entra',
    tenantId: graph.tenantId,
    clientId: graph.clientId,
    clientSecretEnv: 'TEST_ENTRA_SECRET',
    authorityHost: graph.authorityHost,
    graphBaseUrl: graph.graphBaseUrl,
    trustedHosts: ['127.0.0.1'],
    groups: { filter: "startswith(displayName,'')" },
    timeoutSeconds: 5,
    maxRetries: 3,
    retryDelay: '50ms',
    ...overrides,
  };
}

export class RecordingNotifier implements Notifier {
  readonly events: SyncEvent[] = [];
  async notify(event: SyncEvent): Promise<void> {
    this.events.push(event);
  }
}

export interface TestApp extends App {
  readonly notifier: RecordingNotifier;
}

/** A store on a fresh database: a copy of the migrated template (global-setup.ts), so openStore finds its schema up to date. */
export async function openTestStore(_driver: Driver = 'postgres') {
  const url = await createDatabase(inject('pgUrl'), undefined, inject('pgTemplate'));
  return openStore({ databaseUrl: url, maxConnections: 5 });
}

/** Local mode: no Bot Framework registration. */
export const LOCAL_TEAMS: TeamsConfig = { appId: null, appPassword: null, tenantId: null, appType: 'MultiTenant' };

/** A whole AppConfig for tests: real config parsing of the connections (and chat access), test secrets in the environment. */
export function testConfig(
  connections: Array<Record<string, unknown>>,
  options: { env?: Record<string, string>; chat?: Record<string, unknown>; teams?: TeamsConfig; slack?: AppConfig['slack'] } = {},
): AppConfig {
  const env = { TEST_LDAP_PASSWORD: 'admin-secret', TEST_ENTRA_SECRET: TEST_SECRET, ...options.env };
  const parsed = parseConfigDocument({ connections, ...(options.chat ? { chat: options.chat } : {}) }, env, 'test config', process.cwd());
  return {
    port: 0,
    databaseUrl: null,
    dataDir: 'data',
    configFile: null,
    usingSample: false,
    logLevel: 'silent',
    connections: parsed.connections,
    chat: parsed.chat,
    teams: options.teams ?? LOCAL_TEAMS,
    slack: options.slack ?? null,
  };
}

export async function createTestApp(
  driver: Driver,
  connections: Array<Record<string, unknown>>,
  options: {
    env?: Record<string, string>;
    store?: Awaited<ReturnType<typeof openStore>>;
    now?: () => Date;
    alertSink?: AlertSink;
    chat?: Record<string, unknown>;
    createSource?: SourceFactory;
  } = {},
): Promise<TestApp> {
  const config = testConfig(connections, options);
  const store = options.store ?? (await openTestStore(driver));
  const notifier = new RecordingNotifier();
  const app = await createApp(config, {
    logger: silentLogger,
    notifier,
    store,
    ...(options.now ? { now: options.now } : {}),
    ...(options.alertSink ? { alertSink: options.alertSink } : {}),
    ...(options.createSource ? { createSource: options.createSource } : {}),
  });
  return Object.assign(app, { notifier });
}
