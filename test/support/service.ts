/**
 * The whole service as `npm start` runs it (HTTP server, Teams surface, alerts, engine), on a
 * test store and a test directory, listening on a free loopback port.
 */
import { inject } from 'vitest';
import type { AppConfig, TeamsConfig } from '../../src/config.ts';
import { silentLogger } from '../../src/logger.ts';
import { type Service, type ServiceOptions, startService } from '../../src/main.ts';
import type { Store } from '../../src/store/db.ts';
import { type Driver, openTestStore, testConfig } from './app.ts';

export interface TestService extends Service {
  readonly url: string;
}

export async function startTestService(
  driver: Driver,
  connections: Array<Record<string, unknown>>,
  options: { chat?: Record<string, unknown>; teams?: TeamsConfig; slack?: AppConfig['slack']; store?: Store; env?: Record<string, string>; slackRetry?: ServiceOptions['slackRetry']; homeThrottleMs?: number } = {},
): Promise<TestService> {
  const config = testConfig(connections, options);
  const store = options.store ?? (await openTestStore(driver));
  const service = await startService(config, { logger: silentLogger, store, workerUrl: new URL(inject('workerUrl')), ...(options.slackRetry ? { slackRetry: options.slackRetry } : {}), ...(options.homeThrottleMs ? { slackHomeThrottleMs: options.homeThrottleMs } : {}) });
  return Object.assign(service, { url: `http://127.0.0.1:${service.port}` });
}
