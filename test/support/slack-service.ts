/**
 * The service (src/main.ts startService: Teams and Slack surfaces, alerts, engine) with Slack
 * configured, on a test store and directory, the Slack Web API on a loopback server.
 */
import type { Server } from 'node:http';
import type { webApi } from '@slack/bolt';
import type { App } from '../../src/app.ts';
import type { ChatService } from '../../src/chat/service.ts';
import type { SlackSurface } from '../../src/chat/slack/app.ts';
import type { SlackConfig } from '../../src/config.ts';
import type { Store } from '../../src/store/db.ts';
import type { Driver } from './app.ts';
import { startTestService } from './service.ts';

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
  options: { slack: SlackConfig; chat?: Record<string, unknown>; store?: Store; env?: Record<string, string>; homeThrottleMs?: number },
): Promise<SlackTestService> {
  const service = await startTestService(driver, connections, { ...options, slackRetry: TEST_RETRY });
  return {
    app: service.app,
    chat: service.chat,
    slack: service.slack!,
    server: service.server,
    eventsUrl: `${service.url}/slack/events`,
    close: () => service.close(),
  };
}
