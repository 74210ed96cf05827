/**
 * The service's Prometheus metrics (GET /metrics, prom-client), one registry per service so that
 * two services in one process (tests) never share counters.
 *
 * Two sources. The runs THIS process ran are counted here, in the main thread, from the run
 * events its runner hands to the notifier (a sync in a worker thread included): their duration
 * and outcome, the objects they changed, and the directory requests and retries their run record
 * carries. Runs of other processes (the CLI, another replica) never reach these. What every
 * process writes to the store is read at each scrape, so every replica reports the same values:
 * the runs recorded, each connection's last run duration, the open incidents and the time since
 * each connection's last successful sync. Chat requests are counted by the chat layer.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ConnectionConfig } from './config.ts';
import { describeError } from './errors.ts';
import type { Route } from './http.ts';
import type { Logger } from './logger.ts';
import type { Notifier, SyncEvent } from './notify/port.ts';
import type { Db } from './store/db.ts';
import { readMetricsState } from './store/metrics.ts';
import type { RunRow } from './store/runs.ts';
import type { PlanCounts } from './sync/plan.ts';

export const PREFIX = 'groupsync_';

/** Run durations: a small LDIF in a second, a large directory in tens of minutes. */
const RUN_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600];

/** Each counted change: the object kind, the change, and its count in a plan. */
const CHANGES: ReadonlyArray<readonly [kind: string, change: string, count: (c: PlanCounts) => number]> = [
  ['user', 'created', (c) => c.usersCreated],
  ['user', 'updated', (c) => c.usersUpdated],
  ['user', 'mapped', (c) => c.usersMapped],
  ['user', 'deactivated', (c) => c.usersDeactivated],
  ['group', 'created', (c) => c.groupsCreated],
  ['group', 'modified', (c) => c.groupsModified],
  ['group', 'deleted', (c) => c.groupsDeleted],
  ['membership', 'added', (c) => c.membershipsAdded],
  ['membership', 'removed', (c) => c.membershipsRemoved],
];

export interface MetricsDeps {
  readonly db: Db;
  readonly connections: readonly ConnectionConfig[];
  readonly logger: Logger;
  readonly now?: () => Date;
}

export class Metrics {
  readonly registry = new Registry();
  readonly #deps: MetricsDeps;
  readonly #now: () => Date;
  readonly #runDuration: Histogram<'connection' | 'outcome'>;
  readonly #objects: Counter<'connection' | 'kind' | 'change'>;
  readonly #requests: Counter<'connection' | 'kind'>;
  readonly #retries: Counter<'connection' | 'kind'>;
  readonly #chat: Counter<'surface' | 'outcome'>;
  readonly #incidents: Gauge<'connection' | 'cause'>;
  readonly #sinceSuccess: Gauge<'connection'>;
  readonly #recorded: Counter<'connection' | 'trigger' | 'status'>;
  readonly #lastRun: Gauge<'connection'>;

  constructor(deps: MetricsDeps) {
    this.#deps = deps;
    this.#now = deps.now ?? (() => new Date());
    const registers = [this.registry];
    this.#runDuration = new Histogram({
      name: `${PREFIX}run_duration_seconds`,
      help: 'Duration of the sync runs this process ran (not the CLI\'s nor another replica\'s: see groupsync_runs_recorded_total), from start to recorded outcome (success, partial, failed, awaiting_approval); dry runs are not counted.',
      labelNames: ['connection', 'outcome'],
      buckets: RUN_BUCKETS,
      registers,
    });
    this.#objects = new Counter({
      name: `${PREFIX}objects_changed_total`,
      help: 'Users, groups and memberships changed in the store by applied runs, by kind and change.',
      labelNames: ['connection', 'kind', 'change'],
      registers,
    });
    this.#requests = new Counter({
      name: `${PREFIX}directory_requests_total`,
      help: 'Requests sent to the directory by runs (LDAP binds, searches and pages; Graph requests), by connection and directory kind.',
      labelNames: ['connection', 'kind'],
      registers,
    });
    this.#retries = new Counter({
      name: `${PREFIX}directory_retries_total`,
      help: 'Directory requests retried by runs (another LDAP URL tried; a Graph request retried after 429, 5xx or a network error).',
      labelNames: ['connection', 'kind'],
      registers,
    });
    this.#chat = new Counter({
      name: `${PREFIX}chat_requests_total`,
      help: 'Chat commands and button clicks handled, by surface (teams, slack) and outcome (ok, invalid, refused, failed, error).',
      labelNames: ['surface', 'outcome'],
      registers,
    });
    this.#incidents = new Gauge({
      name: `${PREFIX}open_incidents`,
      help: 'Incidents open now, by connection and cause (read from the store at each scrape).',
      labelNames: ['connection', 'cause'],
      registers,
    });
    this.#sinceSuccess = new Gauge({
      name: `${PREFIX}seconds_since_last_successful_sync`,
      help: 'Seconds since the last successful sync of the whole scope of each connection; absent for a connection never synced.',
      labelNames: ['connection'],
      registers,
    });
    this.#recorded = new Counter({
      name: `${PREFIX}runs_recorded_total`,
      help: 'Finished runs recorded in the store by any process (service, replicas, CLI), by connection, trigger and status (read from the store at each scrape).',
      labelNames: ['connection', 'trigger', 'status'],
      registers,
    });
    this.#lastRun = new Gauge({
      name: `${PREFIX}last_run_duration_seconds`,
      help: 'Duration of the last finished run of each connection, whichever process ran it (read from the store at each scrape).',
      labelNames: ['connection'],
      registers,
    });
    collectDefaultMetrics({ register: this.registry, prefix: PREFIX });
  }

  /** Counts runs from the run events (in the main thread, wherever the sync ran). */
  readonly notifier: Notifier = { notify: async (event) => this.#observe(event) };

  /** One chat command or click answered on `surface`. */
  chatRequest(surface: string, outcome: string): void {
    this.#chat.inc({ surface, outcome });
  }

  #observe(event: SyncEvent): void {
    if (event.type === 'run.rejected') return;
    // An approved run was counted when it was held: only what it applied is new.
    const decided = event.run.decidedBy !== null;
    if (!decided) this.#observeRun(event.run);
    if (event.type !== 'run.succeeded') return;
    for (const [kind, change, of] of CHANGES) {
      const n = of(event.counts);
      if (n > 0) this.#objects.inc({ connection: event.run.connection, kind, change }, n);
    }
  }

  #observeRun(run: RunRow): void {
    const finished = run.finishedAt ?? this.#now();
    this.#runDuration.observe({ connection: run.connection, outcome: run.status }, Math.max(0, finished.getTime() - run.startedAt.getTime()) / 1000);
    const kind = this.#deps.connections.find((c) => c.name === run.connection)?.kind ?? 'unknown';
    const { requests, retries } = run.stats;
    if (typeof requests === 'number') this.#requests.inc({ connection: run.connection, kind }, requests);
    if (typeof retries === 'number') this.#retries.inc({ connection: run.connection, kind }, retries);
  }

  /** Reads the store's gauges; a store that does not answer leaves them empty (logged), the rest is still served. */
  async #refresh(): Promise<void> {
    this.#incidents.reset();
    this.#sinceSuccess.reset();
    this.#recorded.reset();
    this.#lastRun.reset();
    try {
      const state = await readMetricsState(this.#deps.db);
      for (const i of state.openIncidents) this.#incidents.set({ connection: i.connection, cause: i.cause }, i.count);
      const now = this.#now().getTime();
      for (const s of state.lastSuccess) if (s.at) this.#sinceSuccess.set({ connection: s.connection }, Math.max(0, (now - s.at.getTime()) / 1000));
      for (const r of state.runsRecorded) this.#recorded.inc({ connection: r.connection, trigger: r.trigger, status: r.status }, r.count);
      for (const r of state.lastRun) if (r.finishedAt) this.#lastRun.set({ connection: r.connection }, Math.max(0, (r.finishedAt.getTime() - r.startedAt.getTime()) / 1000));
    } catch (error) {
      this.#deps.logger.warn({ err: describeError(error) }, 'metrics: the store did not answer; open incidents, last sync and recorded runs left out');
    }
  }

  /** The exposition in the Prometheus text format. */
  async render(): Promise<{ contentType: string; body: string }> {
    await this.#refresh();
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}

const digest = (text: string) => createHash('sha256').update(text).digest();

/** Whether a request carries the token: the scheme in any letter case (RFC 7235), the token compared in constant time. */
function authorized(req: IncomingMessage, token: string): boolean {
  const match = /^(\S+) +(.*)$/.exec(req.headers.authorization ?? '');
  const bearer = match?.[1]?.toLowerCase() === 'bearer';
  return timingSafeEqual(digest(bearer ? match![2]!.trim() : ''), digest(token)) && bearer;
}

/** GET /metrics; with a token, only for `Authorization: Bearer <token>`. */
export function metricsRoute(metrics: Metrics, token: string | null): Route {
  return {
    method: 'GET',
    path: '/metrics',
    handler: async (req: IncomingMessage, res: ServerResponse) => {
      if (token !== null && !authorized(req, token)) {
        res.writeHead(401, { 'content-type': 'text/plain', 'www-authenticate': 'Bearer realm="groupsync metrics"' });
        res.end('set the header Authorization: Bearer <METRICS_TOKEN>\n');
        return;
      }
      const { contentType, body } = await metrics.render();
      res.writeHead(200, { 'content-type': contentType });
      res.end(body);
    },
  };
}
