/**
 * GET /metrics of the whole service (src/main.ts startService) as Prometheus scrapes it: syncs
 * run in their worker thread against a real slapd, Slack and Teams requests go through the real
 * surfaces (loopback Slack Web API and Bot Connector), and the exposition is parsed with a
 * Prometheus text-format parser. The Grafana dashboard in docs/ only queries what is exposed.
 */
import { readFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import parsePrometheusTextFormat, { type PromFamily, type PromSample } from 'parse-prometheus-text-format';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SlackConfig } from '../../src/config.ts';
import { createApp } from '../../src/app.ts';
import { startService } from '../../src/main.ts';
import { silentLogger } from '../../src/logger.ts';
import { openStore, queryRows } from '../../src/store/db.ts';
import { ldapConnection, openTestStore, testConfig } from '../support/app.ts';
import { BotConnector } from '../support/bot-connector.ts';
import { startTestService, type TestService } from '../support/service.ts';
import { ADMIN, BOT_TOKEN, SIGNING_SECRET, STRANGER, postSlack, slashCommand } from '../support/slack.ts';
import { SlackApi } from '../support/slack-api.ts';
import { TEST_RETRY } from '../support/slack-service.ts';
import { FIXTURE_LDIF, type SlapdHandle, startSlapd } from '../support/slapd.ts';
import { ALICE, personalMessage, postActivity } from '../support/teams.ts';

const CHAT = { admins: { teams: [ALICE.aadObjectId], slack: [ADMIN.id] } };
const DASHBOARD = path.resolve(import.meta.dirname, '../../docs/grafana-dashboard.json');

/** A loopback port nothing listens on: an LDAP URL there is refused at once. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const family = (families: PromFamily[], name: string): PromFamily => {
  const found = families.find((f) => f.name === name);
  if (!found) throw new Error(`no metric family ${name}: ${families.map((f) => f.name).join(', ')}`);
  return found;
};

/** The sample of a family with exactly these labels (histograms: their count). */
const sample = (f: PromFamily, labels: Record<string, string>): PromSample | undefined =>
  f.metrics.find((m) => Object.keys(labels).length === Object.keys(m.labels ?? {}).length && Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));

const valueOf = (f: PromFamily, labels: Record<string, string>): number => Number(sample(f, labels)?.value ?? NaN);

/**
 * The samples of one series name (a histogram's `_count` or `_bucket`), parsed on their own: the
 * parser folds a histogram with labels besides `le` into one sample (it follows prom2json, whose
 * histograms are unlabelled), so a labelled histogram's series are read as untyped samples.
 */
const seriesOf = (text: string, name: string): PromFamily =>
  parsePrometheusTextFormat(`${text.split('\n').filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `)).join('\n')}\n`)[0] ?? { name, help: '', type: 'UNTYPED', metrics: [] };

describe('GET /metrics', () => {
  let ldap: SlapdHandle;
  let api: SlackApi;
  let connector: BotConnector;
  let service: TestService;
  let text = '';
  let contentType = '';
  let families: PromFamily[] = [];
  let openInStore = 0;

  beforeAll(async () => {
    ldap = await startSlapd({ ldif: [FIXTURE_LDIF.scenarios] });
    api = await new SlackApi().start();
    api.addUser({ id: ADMIN.id, name: ADMIN.name, realName: 'Alice Admin', email: 'alice@example.org' });
    connector = await new BotConnector().start();
    const dead = `ldap://127.0.0.1:${await closedPort()}`;
    const slack: SlackConfig = { botToken: BOT_TOKEN, mode: 'http', signingSecret: SIGNING_SECRET, appToken: null, apiUrl: api.url };
    service = await startTestService(
      'postgres',
      // corp's first URL is refused: its read goes on at the second (one retry); "down" has no other.
      [ldapConnection(ldap, { url: [dead, ldap.url], groups: { list: ['app-ops'] } }), ldapConnection(ldap, { name: 'down', url: dead })],
      { chat: CHAT, slack, slackRetry: TEST_RETRY },
    );
    const synced = await service.app.runner.sync({ connection: 'corp', trigger: 'manual', actor: 'test' });
    expect(synced.run.status).toBe('success');
    const failed = await service.app.runner.sync({ connection: 'down', trigger: 'manual', actor: 'test' });
    expect(failed.run.status).toBe('failed');
    // A run of another process on the same store, as `groupsync sync` runs it: only the store knows it.
    const cliStore = await openStore({ databaseUrl: service.app.store.url, maxConnections: 2 });
    const cli = await createApp(service.app.config, { logger: silentLogger, store: cliStore, syncIn: 'process' });
    try {
      expect((await cli.runner.sync({ connection: 'corp', trigger: 'manual', actor: 'cli:test' })).run.status).toBe('success');
    } finally {
      await cli.close();
    }

    const events = `${service.url}/slack/events`;
    expect((await postSlack(events, slashCommand('status corp', { responseUrl: api.responseUrl('metrics-1') }))).status).toBe(200);
    expect((await postSlack(events, slashCommand('status corp', { user: STRANGER, responseUrl: api.responseUrl('metrics-2') }))).status).toBe(200);
    await service.slack!.idle();
    expect((await postActivity(service.url, personalMessage(connector.url, 'status corp'))).status).toBe(200);
    await connector.waitFor((calls) => calls.find((c) => c.kind === 'reply' && c.status === 201));
    await service.teams.idle();

    const res = await fetch(`${service.url}/metrics`);
    expect(res.status).toBe(200);
    contentType = res.headers.get('content-type') ?? '';
    text = await res.text();
    families = parsePrometheusTextFormat(text);
    [{ open: openInStore }] = await queryRows<{ open: number }>(service.app.store.db, sql`select count(*)::int as open from incidents where status = 'open'`) as [{ open: number }];
  });
  afterAll(async () => {
    await service?.close();
    await connector?.stop();
    await api?.stop();
    await ldap?.stop();
  });

  it('is served in the Prometheus text format, each family with its help and type', () => {
    expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(family(families, 'groupsync_run_duration_seconds').type).toBe('HISTOGRAM');
    for (const name of ['groupsync_objects_changed_total', 'groupsync_directory_requests_total', 'groupsync_directory_retries_total', 'groupsync_chat_requests_total']) {
      expect(family(families, name).type).toBe('COUNTER');
    }
    for (const name of ['groupsync_open_incidents', 'groupsync_seconds_since_last_successful_sync']) expect(family(families, name).type).toBe('GAUGE');
    for (const f of families) expect(f.help, f.name).not.toBe('');
  });

  it('counts each run by connection and outcome, the objects it changed, and the directory requests and retries it sent', () => {
    const runs = seriesOf(text, 'groupsync_run_duration_seconds_count');
    expect(valueOf(runs, { connection: 'corp', outcome: 'success' })).toBe(1);
    expect(valueOf(runs, { connection: 'down', outcome: 'failed' })).toBe(1);
    expect(runs.metrics).toHaveLength(2);
    expect(valueOf(seriesOf(text, 'groupsync_run_duration_seconds_bucket'), { connection: 'corp', outcome: 'success', le: '+Inf' })).toBe(1);
    expect(valueOf(seriesOf(text, 'groupsync_run_duration_seconds_sum'), { connection: 'corp', outcome: 'success' })).toBeGreaterThan(0);

    const changed = family(families, 'groupsync_objects_changed_total');
    expect(valueOf(changed, { connection: 'corp', kind: 'user', change: 'created' })).toBeGreaterThan(0);
    expect(valueOf(changed, { connection: 'corp', kind: 'group', change: 'created' })).toBe(1);
    expect(valueOf(changed, { connection: 'corp', kind: 'membership', change: 'added' })).toBeGreaterThan(0);
    expect(changed.metrics.every((m) => m.labels?.connection === 'corp')).toBe(true);

    expect(valueOf(family(families, 'groupsync_directory_requests_total'), { connection: 'corp', kind: 'ldap' })).toBeGreaterThan(1);
    expect(valueOf(family(families, 'groupsync_directory_retries_total'), { connection: 'corp', kind: 'ldap' })).toBe(1);
  });

  it('reads every recorded run from the store, those of other processes (the CLI) included', () => {
    const recorded = family(families, 'groupsync_runs_recorded_total');
    expect(recorded.type).toBe('COUNTER');
    expect(valueOf(recorded, { connection: 'corp', trigger: 'manual', status: 'success' })).toBe(2);
    expect(valueOf(recorded, { connection: 'down', trigger: 'manual', status: 'failed' })).toBe(1);
    // The histogram counts the runs this process ran: the CLI's is not among them.
    expect(valueOf(seriesOf(text, 'groupsync_run_duration_seconds_count'), { connection: 'corp', outcome: 'success' })).toBe(1);
    const last = family(families, 'groupsync_last_run_duration_seconds');
    expect(last.type).toBe('GAUGE');
    expect(valueOf(last, { connection: 'corp' })).toBeGreaterThanOrEqual(0);
    expect(valueOf(last, { connection: 'down' })).toBeGreaterThanOrEqual(0);
  });

  it('counts chat requests by surface and outcome', () => {
    const chat = family(families, 'groupsync_chat_requests_total');
    expect(valueOf(chat, { surface: 'slack', outcome: 'ok' })).toBe(1);
    expect(valueOf(chat, { surface: 'slack', outcome: 'refused' })).toBe(1);
    expect(valueOf(chat, { surface: 'teams', outcome: 'ok' })).toBe(1);
  });

  it('reads the open incidents and the age of each last successful sync from the store', () => {
    const incidents = family(families, 'groupsync_open_incidents');
    expect(openInStore).toBeGreaterThan(0);
    expect(incidents.metrics.reduce((sum, m) => sum + Number(m.value), 0)).toBe(openInStore);
    expect(incidents.metrics.every((m) => m.labels?.connection === 'down')).toBe(true);

    const since = family(families, 'groupsync_seconds_since_last_successful_sync');
    expect(valueOf(since, { connection: 'corp' })).toBeGreaterThanOrEqual(0);
    expect(sample(since, { connection: 'down' })).toBeUndefined(); // never synced: no age
  });

  it("exposes the event loop's lag and the process's default metrics under the prefix", () => {
    expect(family(families, 'groupsync_nodejs_eventloop_lag_seconds').type).toBe('GAUGE');
    expect(family(families, 'groupsync_nodejs_eventloop_lag_p99_seconds').type).toBe('GAUGE');
    expect(family(families, 'groupsync_process_resident_memory_bytes').type).toBe('GAUGE');
  });

  it('docs/grafana-dashboard.json parses, takes its datasource as an input, and queries only metrics the service exposes', () => {
    const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { __inputs: Array<{ name: string; type: string; pluginId: string }>; panels: Array<{ title: string; datasource: unknown; targets?: Array<{ expr: string }> }> };
    expect(dashboard.__inputs).toEqual([expect.objectContaining({ name: 'DS_PROMETHEUS', type: 'datasource', pluginId: 'prometheus' })]);
    const exposed = new Set(text.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split(/[{ ]/)[0]));
    const queries = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));
    expect(queries.length).toBeGreaterThanOrEqual(7);
    const used = new Set(queries.flatMap((q) => q.expr.match(/\bgroupsync_[a-z0-9_]+/g) ?? []));
    for (const name of used) expect(exposed.has(name), `${name} is queried by the dashboard but not exposed`).toBe(true);
    for (const base of ['runs_recorded_total', 'last_run_duration_seconds', 'run_duration_seconds', 'objects_changed_total', 'open_incidents', 'seconds_since_last_successful_sync', 'directory_requests_total', 'directory_retries_total', 'chat_requests_total', 'nodejs_eventloop_lag']) {
      expect([...used].some((name) => name.startsWith(`groupsync_${base}`)), `the dashboard has no panel on groupsync_${base}`).toBe(true);
    }
    for (const p of dashboard.panels.filter((p) => p.targets)) expect(p.datasource, p.title).toEqual({ type: 'prometheus', uid: '${DS_PROMETHEUS}' });
  });
});

describe('GET /metrics with METRICS_TOKEN', () => {
  it('answers 401 without the bearer token, the exposition with it', async () => {
    const config = { ...testConfig([]), metricsToken: 'scrape-me-9f2c' };
    const service = await startService(config, { logger: silentLogger, store: await openTestStore() });
    try {
      const url = `http://127.0.0.1:${service.port}/metrics`;
      const anonymous = await fetch(url);
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect((await fetch(url, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
      const scraped = await fetch(url, { headers: { authorization: 'Bearer scrape-me-9f2c' } });
      expect(scraped.status).toBe(200);
      // The scheme is case-insensitive (RFC 7235); the token is not.
      expect((await fetch(url, { headers: { authorization: 'bearer scrape-me-9f2c' } })).status).toBe(200);
      expect((await fetch(url, { headers: { authorization: 'BEARER  scrape-me-9f2c' } })).status).toBe(200);
      expect((await fetch(url, { headers: { authorization: 'Bearer SCRAPE-ME-9F2C' } })).status).toBe(401);
      expect((await fetch(url, { headers: { authorization: 'Basic scrape-me-9f2c' } })).status).toBe(401);
      expect(parsePrometheusTextFormat(await scraped.text()).map((f) => f.name)).toContain('groupsync_chat_requests_total');
      expect((await fetch(`http://127.0.0.1:${service.port}/healthz`)).status).toBe(200); // health stays open
    } finally {
      await service.close();
    }
  });
});
