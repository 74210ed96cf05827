// Chat responsiveness while the service syncs a large directory: `npm run bench:responsive`.
//
//   1. Generates a directory (BENCH_USERS, default 100,000 users; BENCH_GROUPS default a tenth of
//      that; generate.ts), bulk-loads it into a private slapd, starts a private PostgreSQL.
//   2. Starts the service as a child process, `npm start` (bin/start.mjs) from the checkout given by
//      `--checkout <dir>` (default: this one), configured through the environment only: one ldap
//      connection (GROUPSYNC_CONFIG), DATABASE_URL, Slack in HTTP mode against a loopback Slack
//      Web API, Teams in local mode against a loopback Bot Connector.
//   3. Fires at a steady rate, first with no sync running (the baseline, empty store), then during
//      a full sync, then with no sync running again (idle, the directory synced: the baseline of
//      the next), then during a no-change sync: GET /healthz; signed Slack slash commands `status bench`
//      (the HTTP acknowledgement, and the answer posted to the loopback Slack); Teams messages
//      alternating `status bench` and `health` (the HTTP acknowledgement of /api/messages, and the
//      answer at the loopback Bot Connector). A second `sync` is sent 0.4 s after each sync's
//      first: its answer (text and latency) and whether it started another run are recorded. The
//      gaps between the progress updates of each sync's message are measured at the peers (the
//      full sync is started from Slack, the no-change sync from Teams).
//   4. Prints p50/p95/p99/max per kind for each phase against the targets (acks p99 ≤ 300 ms,
//      health/status answers ≤ 1 s, progress gap ≤ 2 s) and against the baseline; writes
//      bench/out/responsive-<label>.json. With this checkout, it also measures what the worker
//      thread costs: a full sync of the same directory in process and in a worker.
//
// Environment: BENCH_USERS, BENCH_GROUPS, BENCH_SEED, BENCH_BASELINE_S (15), BENCH_LABEL,
// BENCH_WORKER_COST=0 (skip the worker-cost syncs), BENCH_SERVICE_FLAGS (extra node flags for the
// service, e.g. "--cpu-prof --cpu-prof-dir=bench/out/profiles").
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import path, { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { startPostgres, type PostgresHandle } from '../test/support/postgres.ts';
import { startSlapd, type SlapdHandle } from '../test/support/slapd.ts';
import { BotConnector } from '../test/support/bot-connector.ts';
import { ADMIN, BOT_TOKEN, SIGNING_SECRET, postSlack, slashCommand } from '../test/support/slack.ts';
import { SlackApi } from '../test/support/slack-api.ts';
import { ALICE, personalMessage, postActivity } from '../test/support/teams.ts';
import { writeBenchConfig } from './connection.ts';
import { buildModel, writeLdif } from './generate.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const OUT = join(ROOT, 'bench', 'out');

function intEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw)) throw new Error(`${name} must be a whole number, got "${raw}"`);
  return Number(raw);
}
function argValue(name: string): string | null {
  const i = process.argv.indexOf(name);
  return i >= 0 ? (process.argv[i + 1] ?? null) : null;
}

const USERS = intEnv('BENCH_USERS', 100_000);
const GROUPS = intEnv('BENCH_GROUPS', Math.max(10, Math.round(USERS / 10)));
const SEED = intEnv('BENCH_SEED', 20_251_122);
const BASELINE_MS = intEnv('BENCH_BASELINE_S', 15) * 1000;
const CHECKOUT = resolve(argValue('--checkout') ?? ROOT);
const LABEL = process.env.BENCH_LABEL ?? (CHECKOUT === resolve(ROOT) ? 'this' : CHECKOUT.split('/').filter(Boolean).pop()!);
const TARGET = { ackP99: 300, answerP99: 1000, progressGap: 2000 } as const;
/** Intervals of each stream, ms. */
const EVERY = { healthz: 250, slack: 500, teams: 500 } as const;
const CHAT = { admins: { slack: [ADMIN.id], teams: [ALICE.aadObjectId] } };

const log = (text: string) => process.stderr.write(`[responsive ${new Date().toISOString().slice(11, 19)}] ${text}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Phase = 'baseline' | 'full' | 'idle' | 'nochange';
type Kind = 'healthz ack' | 'slack ack' | 'teams ack' | 'status answer' | 'health answer';
interface Sample {
  readonly kind: Kind;
  readonly phase: Phase;
  readonly ms: number | null; // null: failed or no answer
  readonly error?: string;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

// ---------------------------------------------------------------------------------------------
// The service under test

interface Peers {
  readonly slack: SlackApi;
  readonly teams: BotConnector;
}


async function startService(env: Record<string, string>, logFile: string): Promise<{ child: ChildProcess; url: string }> {
  const port = await freePort();
  const extra = (process.env.BENCH_SERVICE_FLAGS ?? '').split(/\s+/).filter(Boolean);
  // `npm start` of the checkout: bin/start.mjs (the bundled service) where it has one.
  const entry = existsSync(path.join(CHECKOUT, 'bin/start.mjs')) ? 'bin/start.mjs' : 'src/main.ts';
  const child = spawn(process.execPath, ['--max-semi-space-size=16', '--expose-gc', ...extra, entry], {
    cwd: CHECKOUT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env, PORT: String(port), LOG_LEVEL: 'info' },
    stdio: ['ignore', 'ignore', openSync(logFile, 'w')],
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 600; i++) {
    if (child.exitCode !== null) throw new Error(`the service exited with code ${child.exitCode}; see ${logFile}`);
    const ok = await fetch(`${url}/healthz`).then((r) => r.ok, () => false);
    if (ok) return { child, url };
    await sleep(100);
  }
  throw new Error(`the service did not answer /healthz within 60 s; see ${logFile}`);
}

// ---------------------------------------------------------------------------------------------
// Load

let seq = 0;

class Load {
  readonly samples: Sample[] = [];
  readonly #pending: Array<Promise<void>> = [];
  #timers: NodeJS.Timeout[] = [];
  #teamsCount = 0;
  phase: Phase = 'baseline';
  readonly url: string;
  readonly peers: Peers;

  constructor(url: string, peers: Peers) {
    this.url = url;
    this.peers = peers;
  }

  start(): void {
    this.#timers = [
      setInterval(() => this.#track(this.#healthz()), EVERY.healthz),
      setInterval(() => this.#track(this.#slackStatus()), EVERY.slack),
      setInterval(() => this.#track(this.#teams(++this.#teamsCount % 2 === 0 ? 'status bench' : 'health')), EVERY.teams),
    ];
  }

  async stop(): Promise<void> {
    for (const t of this.#timers) clearInterval(t);
    await Promise.allSettled(this.#pending);
  }

  #track(p: Promise<void>): void {
    this.#pending.push(p);
  }

  #add(kind: Kind, phase: Phase, ms: number | null, error?: string): void {
    this.samples.push({ kind, phase, ms, ...(error ? { error } : {}) });
  }

  async #healthz(): Promise<void> {
    const phase = this.phase;
    const t = Date.now();
    try {
      const r = await fetch(`${this.url}/healthz`, { signal: AbortSignal.timeout(30_000) });
      await r.text();
      this.#add('healthz ack', phase, r.ok ? Date.now() - t : null, r.ok ? undefined : `HTTP ${r.status}`);
    } catch (error) {
      this.#add('healthz ack', phase, null, (error as Error).message);
    }
  }

  async #slackStatus(): Promise<void> {
    const phase = this.phase;
    const channel = { id: `CLOAD${++seq}`, name: `load-${seq}` };
    const t = Date.now();
    try {
      const r = await postSlack(`${this.url}/slack/events`, slashCommand('status bench', { channel, responseUrl: this.peers.slack.responseUrl(`load-${seq}`) }));
      this.#add('slack ack', phase, r.status === 200 ? Date.now() - t : null, r.status === 200 ? undefined : `HTTP ${r.status}`);
    } catch (error) {
      this.#add('slack ack', phase, null, (error as Error).message);
      return;
    }
    const at = await waitFor(() => this.peers.slack.calls.find((c) => c.method === 'chat.postMessage' && c.params.channel === channel.id)?.at, 30_000);
    this.#add('status answer', phase, at ? at - t : null, at ? undefined : 'no answer in 30 s');
  }

  async #teams(text: string): Promise<void> {
    const phase = this.phase;
    const conversation = `a:load-${++seq}`;
    const t = Date.now();
    try {
      const r = await postActivity(this.url, personalMessage(this.peers.teams.url, text, ALICE, conversation));
      this.#add('teams ack', phase, r.status < 300 ? Date.now() - t : null, r.status < 300 ? undefined : `HTTP ${r.status}`);
    } catch (error) {
      this.#add('teams ack', phase, null, (error as Error).message);
      return;
    }
    const at = await waitFor(() => this.peers.teams.calls.find((c) => c.conversationId === conversation && BotConnector.isPost(c))?.at, 30_000);
    this.#add(text === 'health' ? 'health answer' : 'status answer', phase, at ? at - t : null, at ? undefined : 'no answer in 30 s');
  }
}

async function waitFor<T>(check: () => T | undefined, timeoutMs: number): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) return undefined;
    await sleep(25);
  }
}

// ---------------------------------------------------------------------------------------------
// Syncs

interface SyncMeasure {
  readonly phase: Phase;
  readonly from: 'slack' | 'teams';
  readonly runId: number | null;
  readonly status: string | null;
  readonly ms: number;
  /** Gaps between the updates of the sync's message, from the first answer to the last update, at the peer. */
  readonly progressGaps: number[];
  readonly updates: number;
  readonly second: { readonly from: 'slack' | 'teams'; readonly ackMs: number | null; readonly answerMs: number | null; readonly text: string | null; readonly startedAnotherRun: boolean };
}

/** The "already running" sentence of an answer (Slack blocks or a Teams card), if it has one. */
const snippet = (body: unknown): string | null => {
  const text = JSON.stringify(body ?? '').replace(/\\"/g, '"');
  return /a sync of "?bench"? is already running since [^)]*\)?/i.exec(text)?.[0] ?? (/already running/i.test(text) ? 'already running (no details)' : null);
};

async function sendSync(url: string, peers: Peers, from: 'slack' | 'teams', where: string): Promise<number | null> {
  const t = Date.now();
  if (from === 'slack') {
    const r = await postSlack(`${url}/slack/events`, slashCommand('sync bench', { channel: { id: where, name: where.toLowerCase() }, responseUrl: peers.slack.responseUrl(where) }));
    return r.status === 200 ? Date.now() - t : null;
  }
  const r = await postActivity(url, personalMessage(peers.teams.url, 'sync bench', ALICE, where));
  return r.status < 300 ? Date.now() - t : null;
}

/** Arrival times of the posts and updates of the message(s) in a Slack channel or Teams conversation, with their bodies. */
function arrivals(peers: Peers, from: 'slack' | 'teams', where: string): Array<{ at: number; body: unknown }> {
  if (from === 'slack') {
    return peers.slack.calls
      .filter((c) => (c.method === 'chat.postMessage' || c.method === 'chat.update') && c.params.channel === where && c.status === 200)
      .map((c) => ({ at: c.at, body: c.params.blocks ?? c.params.text }));
  }
  return peers.teams.calls.filter((c) => c.conversationId === where && c.status < 300 && (BotConnector.isPost(c) || c.kind === 'update')).map((c) => ({ at: c.at, body: c.body }));
}

async function runSync(phase: Phase, from: 'slack' | 'teams', url: string, peers: Peers, sql: postgres.Sql): Promise<SyncMeasure> {
  const [row] = await sql<Array<{ max: number }>>`select coalesce(max(id), 0)::int as max from runs`;
  const before = row!.max;
  const where = from === 'slack' ? `CSYNC${phase.toUpperCase()}` : `a:sync-${phase}`;
  const secondFrom = from === 'slack' ? 'teams' : 'slack';
  const secondWhere = secondFrom === 'slack' ? `CSECOND${phase.toUpperCase()}` : `a:second-${phase}`;
  const t = Date.now();
  void sendSync(url, peers, from, where);
  await sleep(400);
  const t2 = Date.now();
  const ackMs = await sendSync(url, peers, secondFrom, secondWhere).catch(() => null);
  // Until no run of this sync is running (and at least one has started).
  let runs: Array<{ id: number; status: string }>;
  for (;;) {
    runs = await sql<Array<{ id: number; status: string }>>`select id, status from runs where id > ${before} order by id`;
    if (runs.length && runs.every((r) => r.status !== 'running')) break;
    if (!runs.length && Date.now() - t > 60_000) {
      log(`no run started within 60 s; the answers: ${JSON.stringify(arrivals(peers, from, where).map((a) => JSON.stringify(a.body).slice(0, 300)))}`);
      break;
    }
    await sleep(250);
  }
  const ms = Date.now() - t;
  await sleep(2000); // the last updates
  const updates = arrivals(peers, from, where).map((a) => a.at);
  const gaps = updates.slice(1).map((at, i) => at - updates[i]!);
  const second = arrivals(peers, secondFrom, secondWhere);
  const answer = second.find((a) => snippet(a.body));
  return {
    phase,
    from,
    runId: runs[0]?.id ?? null,
    status: runs[0]?.status ?? null,
    ms,
    progressGaps: gaps,
    updates: updates.length,
    second: { from: secondFrom, ackMs, answerMs: answer ? answer.at - t2 : null, text: answer ? snippet(answer.body) : null, startedAnotherRun: runs.length > 1 },
  };
}

// ---------------------------------------------------------------------------------------------
// Report

const pct = (sorted: number[], p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]! : NaN);
interface Stats {
  n: number;
  failed: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}
function stats(values: Array<number | null>): Stats {
  const ok = values.filter((v): v is number => v !== null).sort((a, b) => a - b);
  return { n: values.length, failed: values.length - ok.length, p50: pct(ok, 50), p95: pct(ok, 95), p99: pct(ok, 99), max: ok.at(-1) ?? NaN };
}

function report(samples: Sample[], syncs: SyncMeasure[]): Record<string, unknown> {
  const kinds: Kind[] = ['healthz ack', 'slack ack', 'teams ack', 'status answer', 'health answer'];
  const phases: Phase[] = ['baseline', 'full', 'idle', 'nochange'];
  const table: Record<string, Record<string, Stats>> = {};
  const lines = [`${'kind'.padEnd(14)} ${'phase'.padEnd(9)} ${'n'.padStart(4)} ${'fail'.padStart(4)} ${'p50'.padStart(7)} ${'p95'.padStart(7)} ${'p99'.padStart(7)} ${'max'.padStart(7)}  target  p99 vs no sync`];
  for (const kind of kinds) {
    table[kind] = {};
    const target = kind.endsWith('ack') ? TARGET.ackP99 : TARGET.answerP99;
    for (const phase of phases) {
      const s = stats(samples.filter((x) => x.kind === kind && x.phase === phase).map((x) => x.ms));
      table[kind]![phase] = s;
      // Each sync against the same load with no sync running on the same store: empty before the full sync, synced before the no-change sync.
      const base = phase === 'nochange' ? table[kind]!.idle! : table[kind]!.baseline!;
      const ok = s.failed === 0 && s.p99 <= target;
      lines.push(
        `${kind.padEnd(14)} ${phase.padEnd(9)} ${String(s.n).padStart(4)} ${String(s.failed).padStart(4)} ${ms(s.p50)} ${ms(s.p95)} ${ms(s.p99)} ${ms(s.max)}  ${ok ? 'ok  ' : 'MISS'} ${String(target).padStart(4)}  ${phase === 'baseline' || phase === 'idle' ? '' : `${(s.p99 / base.p99).toFixed(1)}× ${phase === 'nochange' ? 'idle' : 'baseline'}`}`,
      );
    }
  }
  lines.push('');
  for (const s of syncs) {
    const gap = s.progressGaps.length ? Math.max(...s.progressGaps) : NaN;
    const g = stats(s.progressGaps);
    lines.push(
      `${s.phase} sync (from ${s.from}): run #${s.runId} ${s.status} in ${(s.ms / 1000).toFixed(1)} s; ${s.updates} posts/updates of its message, gap p50 ${ms(g.p50)} max ${ms(gap)} ${gap <= TARGET.progressGap ? 'ok' : 'MISS'} (target ${TARGET.progressGap})`,
    );
    lines.push(
      `  second sync 0.4 s later (from ${s.second.from}): ack ${ms(s.second.ackMs ?? NaN)}, "already running" answer after ${ms(s.second.answerMs ?? NaN)}${s.second.startedAnotherRun ? ', and it STARTED ANOTHER RUN' : ''}: ${s.second.text ?? '(no "already running" answer)'}`,
    );
  }
  process.stdout.write(`\n${lines.join('\n')}\n`);
  return { table, syncs };
}
const ms = (v: number) => (Number.isFinite(v) ? `${Math.round(v)}`.padStart(7) : '      -');

// ---------------------------------------------------------------------------------------------
// What the worker costs: a full sync of the same directory in process and in a worker (this checkout)

async function workerCost(pg: PostgresHandle, config: string, password: string): Promise<{ process: number[]; worker: number[] } | null> {
  if (!existsSync(join(ROOT, 'src', 'sync', 'worker-runner.ts')) || CHECKOUT !== resolve(ROOT)) return null;
  const { loadConfig } = await import('../src/config.ts');
  const { createApp } = await import('../src/app.ts');
  const { silentLogger } = await import('../src/logger.ts');
  const out = { process: [] as number[], worker: [] as number[] };
  for (const [i, syncIn] of (['process', 'worker', 'process', 'worker'] as const).entries()) {
    const url = await pg.createDatabase(`bench_cost_${i}`);
    const app = await createApp(loadConfig({ GROUPSYNC_CONFIG: config, DATABASE_URL: url, BENCH_LDAP_PASSWORD: password, LOG_LEVEL: 'silent' }), { logger: silentLogger, syncIn });
    const t = performance.now();
    const r = await app.ops.sync({ connection: 'bench', trigger: 'manual', actor: 'bench' });
    const took = performance.now() - t;
    await app.close();
    out[syncIn].push(Math.round(took));
    log(`worker cost: full sync ${syncIn === 'worker' ? 'in a worker' : 'in process'}: ${(took / 1000).toFixed(2)} s (${r.run.status})`);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  mkdirSync(join(OUT, 'logs'), { recursive: true });
  const workDir = mkdtempSync(join(tmpdir(), 'groupsync-responsive-'));
  let ldap: SlapdHandle | undefined;
  let pg: PostgresHandle | undefined;
  let service: ChildProcess | undefined;
  let sql: postgres.Sql | undefined;
  const peers: Peers = { slack: await new SlackApi().start(), teams: await new BotConnector().start() };
  peers.slack.addUser({ id: ADMIN.id, name: ADMIN.name, realName: 'Alice Admin', email: 'alice@example.org' });
  try {
    log(`checkout ${CHECKOUT} (${LABEL}); ${USERS.toLocaleString('en')} users, ${GROUPS.toLocaleString('en')} groups; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
    const model = buildModel({ users: USERS, groups: GROUPS, seed: SEED });
    const ldif = join(workDir, 'directory.ldif');
    await writeLdif(model, ldif);
    [ldap, pg] = await Promise.all([startSlapd({ bulkLdif: ldif }), startPostgres()]);
    rmSync(ldif, { force: true });
    const dbUrl = await pg.createDatabase('bench_responsive');
    sql = postgres(dbUrl, { max: 1, onnotice: () => {} });
    const config = writeBenchConfig(workDir, ldap.url, { chat: CHAT });
    const logFile = join(OUT, 'logs', `responsive-${LABEL}.log`);
    const started = await startService(
      {
        GROUPSYNC_CONFIG: config,
        DATABASE_URL: dbUrl,
        BENCH_LDAP_PASSWORD: ldap.adminPassword,
        GROUPSYNC_DATA_DIR: join(workDir, 'data'),
        SLACK_BOT_TOKEN: BOT_TOKEN,
        SLACK_SIGNING_SECRET: SIGNING_SECRET,
        SLACK_API_URL: peers.slack.url,
      },
      logFile,
    );
    service = started.child;
    log(`service up at ${started.url} (log ${logFile}); baseline for ${BASELINE_MS / 1000} s`);
    const load = new Load(started.url, peers);
    load.start();
    await sleep(BASELINE_MS);
    const syncs: SyncMeasure[] = [];
    load.phase = 'full';
    log('full sync (from Slack)');
    syncs.push(await runSync('full', 'slack', started.url, peers, sql));
    // The same load with no sync running, now that the store holds the directory (health and
    // status answer over every linked group): the baseline of the no-change sync.
    load.phase = 'idle';
    log(`idle, the directory synced, for ${BASELINE_MS / 1000} s`);
    await sleep(BASELINE_MS);
    load.phase = 'nochange';
    log('no-change sync (from Teams)');
    syncs.push(await runSync('nochange', 'teams', started.url, peers, sql));
    await load.stop();
    const result = report(load.samples, syncs);
    service.kill('SIGTERM');
    await new Promise((r) => service!.once('exit', r));
    service = undefined;
    const cost = process.env.BENCH_WORKER_COST === '0' ? null : await workerCost(pg, config, ldap.adminPassword);
    if (cost) {
      const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
      const p = mean(cost.process);
      const w = mean(cost.worker);
      process.stdout.write(`\nworker cost, full sync of the same directory (two each, alternating): in process ${(p / 1000).toFixed(2)} s, in a worker ${(w / 1000).toFixed(2)} s: ${(w / p).toFixed(2)}×\n`);
    }
    const file = join(OUT, `responsive-${LABEL}.json`);
    writeFileSync(file, JSON.stringify({ checkout: CHECKOUT, users: USERS, groups: GROUPS, loadavg: loadavg(), ...result, workerCost: cost, samples: load.samples }, null, 1));
    log(`results in ${file}`);
  } finally {
    service?.kill('SIGKILL');
    await sql?.end({ timeout: 1 });
    await ldap?.stop();
    await pg?.stop();
    await peers.slack.stop();
    await peers.teams.stop();
    rmSync(workDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
