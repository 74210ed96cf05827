// groupsync's sync benchmark: `npm run bench`.
//
//   1. Generates a directory (default 100,000 users, 10,000 groups, ~700,000 memberships; see
//      generate.ts), bulk-loads it into a private slapd with slapadd (syncprov with a session
//      log, for incremental reads), and opens the store
//      (store-target.ts): BENCH_STORE=postgres (default; a private PostgreSQL with
//      pg_stat_statements, to say where the server time goes) or BENCH_STORE=embedded
//      (groupsync's own embedded PostgreSQL, one data folder per store).
//   2. Measures the floor (floor.ts: ldapsearch of what groupsync reads + COPY of what it writes,
//      on the same PostgreSQL server).
//   3. Runs `groupsync sync bench --json` (bin/groupsync.mjs, or with BENCH_CLI=source
//      src/cli/main.ts) as a child process: the full sync into an
//      empty store; with no change, read incrementally and then in full (`--full`: the
//      reconciliation, planned against the whole store); after 1 % of users' surnames changed
//      (an attribute the tracker reports and no plan reads), read incrementally (must write
//      nothing); after 1 % of users and 1 % of
//      memberships changed (ldapmodify), read incrementally; a full reconciliation read after it
//      (must write nothing and find the kept state equal). A second store, whose connection reads
//      in full every run (`incremental: off`, as on a server that tracks no changes; its plain
//      syncs plan with the digests), is synced before the change and measured with no change and
//      with the same 1 % change: the no-change and 1 % targets are its. A checkout whose
//      `sync` has no `--full` reads in full every time, and the incremental rows are left out.
//      Each is timed (wall, and inside the engine from the run record), its peak RSS and CPU read
//      at the child's exit, and the rows it wrote counted per table and checked against what the
//      change requires (generate.ts computes that).
//   4. Prints a table against the targets and writes bench/out/results[-embedded][-<users>].json
//      (logs of each run in bench/out/logs). When a target is missed (or BENCH_PROFILE=always)
//      the measurement is re-run with --cpu-prof (bench/out/profiles) and summarised
//      (profile-summary.ts).
//
// Environment: BENCH_USERS (100000), BENCH_GROUPS (10000), BENCH_SEED, BENCH_STORE (postgres |
// embedded), BENCH_CLI (bundle | source), BENCH_QUICK=1 (the full and no-change syncs only), BENCH_PROFILE (auto | always | never), BENCH_TIMEOUT (seconds per groupsync run,
// default 900: an overrunning run is stopped, reported with the statements its server sessions
// were running, and the bench waits for its run lease to expire before going on), BENCH_KEEP=1
// keeps the temp directory.
//
// Counting rows written: pg_stat_user_tables' n_tup_ins/upd/del, read after groupsync's server
// backends (application_name 'groupsync', set by src/store/db.ts) have exited. Backends flush
// their table counters at exit (before_shmem_exit), before their pg_stat_activity slot is
// cleared (on_shmem_exit), so once no such backend is left the counters are complete; a stale
// snapshot cannot be served since each read is its own transaction and pg_stat_clear_snapshot()
// is called first. As a cross-check the rows carrying an xmin newer than the run's start
// (inserted or updated by it) are counted too.
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, openSync, closeSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { run } from '../test/support/proc.ts';
import { startSlapd, type SlapdHandle } from '../test/support/slapd.ts';
import { type LdapTarget, measureFloor, type FloorResult } from './floor.ts';
import { CLI_ENTRY, PRODUCT_NODE_FLAGS, syncHelp } from './cli-entry.ts';
import { RUSAGE_HOOK, type Rusage, readRusage } from './rusage.ts';
import {
  BASE_DN,
  type Writes,
  buildModel,
  effective,
  expectedFullSync,
  planChanges,
  unrelatedChanges,
  writeLdif,
} from './generate.ts';
import { PAGE_SIZE, writeBenchConfig } from './connection.ts';
import { type BenchStore, type StoreTarget, openBenchStore, storeKind, withoutStoreEnv } from './store-target.ts';
import { type ProfileSummary, formatSummary, summarizeProfile } from './profile-summary.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const OUT = join(ROOT, 'bench', 'out');
const CORE_TABLES = ['local_users', 'local_groups', 'memberships', 'mappings', 'group_links'] as const;
const TARGETS = { fullRatio: 2, rssMb: 300, noChangeRatio: 1.2, changeRatio: 1.3, noChangeIncrementalRatio: 0.2, changeIncrementalRatio: 0.4 } as const;

function intEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw)) throw new Error(`${name} must be a whole number, got "${raw}"`);
  return Number(raw);
}

const USERS = intEnv('BENCH_USERS', 100_000);
const GROUPS = intEnv('BENCH_GROUPS', 10_000);
const SEED = intEnv('BENCH_SEED', 20_251_122);
/** A sync child running longer than this is killed (its measurement then fails). */
const TIMEOUT_MS = intEnv('BENCH_TIMEOUT', 900) * 1000;
/** Only the full sync and the no-change syncs (the second store and the 1 % change left out). */
const QUICK = process.env.BENCH_QUICK === '1';
const PROFILE = (process.env.BENCH_PROFILE ?? 'auto') as 'auto' | 'always' | 'never';
if (!['auto', 'always', 'never'].includes(PROFILE)) throw new Error('BENCH_PROFILE must be auto, always or never');

/** Which code was measured: the commit, and a hash of src/ and migrations/ as they are on disk (uncommitted edits included). */
function codeVersion(): { commit: string; sourceHash: string } {
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    /* not a git checkout */
  }
  const hash = createHash('sha256');
  for (const dir of ['src', 'migrations']) {
    const files = readdirSync(join(ROOT, dir), { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => join(e.parentPath, e.name))
      .sort();
    for (const file of files) hash.update(file.slice(ROOT.length)).update(readFileSync(file));
  }
  return { commit, sourceHash: hash.digest('hex').slice(0, 12) };
}

const log = (text: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${text}\n`);
const secs = (ms: number) => (ms / 1000).toFixed(2);

// ---------------------------------------------------------------------------------------------
// Rows written, from the table statistics

type TableCounters = Map<string, { ins: number; upd: number; del: number }>;

async function waitForGroupsyncBackends(sql: postgres.Sql): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const [row] = await sql<Array<{ n: number }>>`
      select count(*)::int as n from pg_stat_activity where datname = current_database() and application_name = 'groupsync'`;
    if (row!.n === 0) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('groupsync backends still connected 10 s after the process exited');
}

async function tableCounters(sql: postgres.Sql): Promise<TableCounters> {
  await waitForGroupsyncBackends(sql);
  await sql`select pg_stat_clear_snapshot()`;
  const rows = await sql<Array<{ relname: string; ins: string; upd: string; del: string }>>`
    select relname, n_tup_ins as ins, n_tup_upd as upd, n_tup_del as del from pg_stat_user_tables where schemaname = 'public'`;
  return new Map(rows.map((r) => [r.relname, { ins: Number(r.ins), upd: Number(r.upd), del: Number(r.del) }]));
}

function diffCounters(before: TableCounters, after: TableCounters): Writes {
  const out: Writes = {};
  for (const [table, a] of [...after.entries()].sort()) {
    const b = before.get(table) ?? { ins: 0, upd: 0, del: 0 };
    out[table] = { ins: a.ins - b.ins, upd: a.upd - b.upd, del: a.del - b.del };
  }
  return out;
}

const totalOf = (w: Writes, tables: readonly string[]) =>
  tables.reduce((sum, t) => sum + (w[t] ? w[t].ins + w[t].upd + w[t].del : 0), 0);

async function nextXid(sql: postgres.Sql): Promise<string> {
  const [row] = await sql<Array<{ x: string }>>`select pg_snapshot_xmax(pg_current_snapshot())::text as x`;
  return row!.x;
}

/** Live rows of the core tables inserted or updated by a transaction at or after `xid`. */
async function rowsNewerThan(sql: postgres.Sql, xid: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const table of CORE_TABLES) {
    const [exists] = await sql<Array<{ ok: boolean }>>`select to_regclass(${table}) is not null as ok`;
    if (!exists!.ok) continue;
    const [row] = await sql<Array<{ n: number }>>`select count(*)::int as n from ${sql(table)} where xmin::text::bigint >= ${xid}::bigint`;
    out[table] = row!.n;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// One sync, as a child process


interface Statement {
  readonly query: string;
  readonly calls: number;
  readonly rows: number;
  readonly totalMs: number;
}

interface SyncMeasurement {
  readonly label: string;
  readonly wallMs: number;
  readonly exitCode: number | null;
  readonly peakRssMb: number;
  /** Peaks sampled every 100 ms, MB: V8 heap used / total, Buffers outside the heap. */
  readonly memoryMb: { heapUsed: number; heapTotal: number; external: number; arrayBuffers: number } | null;
  readonly cpuMs: { user: number; system: number };
  readonly runId: number | null;
  readonly status: string | null;
  /** Time inside the engine (run record's finished_at − started_at); the rest of wallMs is process start, notifiers and exit. */
  readonly engineMs: number | null;
  readonly stats: Record<string, unknown>;
  readonly counts: Record<string, number> | null;
  /** Rows written per table (pg_stat deltas). */
  readonly writes: Writes;
  /** Core tables: rows written; other tables (runs, audit_log, connections, …) apart. */
  readonly coreRows: number;
  readonly otherRows: number;
  readonly xminRows: Record<string, number>;
  /** Audit entries of the run, by action. */
  readonly audit: Record<string, number>;
  /** The run's most expensive server statements (pg_stat_statements, by total execution time). */
  readonly statements: Statement[];
  readonly killed: CliRun['killed'];
  readonly profile?: string;
}


interface SyncEnv {
  readonly configFile: string;
  readonly password: string;
  readonly workDir: string;
  /** Superuser connection to the `postgres` database (pg_stat_statements lives there). */
  readonly admin: postgres.Sql;
}

interface ActiveStatement {
  readonly seconds: number;
  readonly query: string;
}

interface CliRun {
  readonly wallMs: number;
  readonly code: number | null;
  readonly stdout: string;
  readonly rusage: Rusage | null;
  /** Set when the child ran past BENCH_TIMEOUT and was killed: what its server sessions were running. */
  readonly killed: { afterMs: number; active: ActiveStatement[] } | null;
}

/** Statements groupsync's sessions are running now (for a child that overran). */
async function activeStatements(admin: postgres.Sql): Promise<ActiveStatement[]> {
  const rows = await admin<Array<{ seconds: number; query: string }>>`
    select extract(epoch from now() - query_start)::float8 as seconds, query from pg_stat_activity
    where application_name = 'groupsync' and state = 'active' order by query_start`;
  return rows.map((r) => ({ seconds: Math.round(r.seconds), query: r.query.replace(/\s+/g, ' ').slice(0, 600) }));
}

/** Runs `node [nodeArgs] <CLI_ENTRY> <args>` with the bench's environment; stderr (pino, info) goes to bench/out/logs/<label>.log. */
async function runCli(label: string, args: readonly string[], target: StoreTarget, env: SyncEnv, nodeArgs: readonly string[] = []): Promise<CliRun> {
  const rusageFile = join(env.workDir, `${label}.rusage.json`);
  rmSync(rusageFile, { force: true });
  mkdirSync(join(OUT, 'logs'), { recursive: true });
  const logFd = openSync(join(OUT, 'logs', `${label}.log`), 'w');
  const started = performance.now();
  let killed: CliRun['killed'] = null;
  try {
    const { code, stdout } = await new Promise<{ code: number | null; stdout: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [...PRODUCT_NODE_FLAGS, ...nodeArgs, `--import=${RUSAGE_HOOK}`, CLI_ENTRY, ...args], {
        cwd: ROOT,
        env: {
          ...withoutStoreEnv(process.env),
          GROUPSYNC_CONFIG: env.configFile,
          ...target.cliEnv,
          BENCH_LDAP_PASSWORD: env.password,
          BENCH_RUSAGE_FILE: rusageFile,
          LOG_LEVEL: 'info',
        },
        stdio: ['ignore', 'pipe', logFd],
      });
      const timer = setTimeout(() => {
        void (async () => {
          const active = await activeStatements(env.admin).catch(() => []);
          killed = { afterMs: performance.now() - started, active };
          log(`${label}: still running after ${secs(killed.afterMs)} s; stopped. Server sessions were running:\n${active.map((a) => `  ${a.seconds} s: ${a.query}`).join('\n') || '  (nothing)'}`);
          child.kill('SIGTERM');
          setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
          // The server keeps executing a statement whose client died: end those sessions too.
          await env.admin`select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'groupsync'`.catch(() => {});
        })();
      }, TIMEOUT_MS);
      const out: Buffer[] = [];
      child.stdout?.on('data', (b: Buffer) => out.push(b));
      child.on('error', reject);
      child.on('close', (c) => {
        clearTimeout(timer);
        resolve({ code: c, stdout: Buffer.concat(out).toString('utf8') });
      });
    });
    const wallMs = performance.now() - started;
    const rusage = readRusage(rusageFile);
    return { wallMs, code, stdout, rusage, killed };
  } finally {
    closeSync(logFd);
  }
}

const mb = (bytes: number) => Math.round(bytes / 2 ** 20);
const databaseName = (url: string) => decodeURIComponent(new URL(url).pathname.slice(1));

/** Whether the server has pg_stat_statements (loaded by the bench's own PostgreSQL; not by the embedded one). */
async function hasStatements(admin: postgres.Sql): Promise<boolean> {
  const [row] = await admin<Array<{ ok: boolean }>>`select to_regclass('pg_stat_statements') is not null as ok`;
  return row!.ok;
}

async function resetStatements(admin: postgres.Sql, db: string): Promise<void> {
  if (!(await hasStatements(admin))) return;
  await admin`select pg_stat_statements_reset(0, (select oid from pg_database where datname = ${db}), 0)`;
}

async function topStatements(admin: postgres.Sql, db: string, limit = 8): Promise<Statement[]> {
  if (!(await hasStatements(admin))) return [];
  const rows = await admin<Array<{ query: string; calls: string; rows: string; total: number }>>`
    select query, calls, rows, total_exec_time as total from pg_stat_statements
    where dbid = (select oid from pg_database where datname = ${db}) and query not like '%pg_stat%'
    order by total_exec_time desc limit ${limit}`;
  return rows.map((r) => ({ query: r.query.replace(/\s+/g, ' ').slice(0, 160), calls: Number(r.calls), rows: Number(r.rows), totalMs: Math.round(r.total) }));
}

interface RunRecord {
  readonly id: number;
  readonly status: string;
  readonly stats: Record<string, unknown>;
  /** finished_at − started_at: the time inside SyncEngine.sync, up to the run record (before notifiers). */
  readonly ms: number | null;
}

async function lastRun(sql: postgres.Sql): Promise<RunRecord | null> {
  const [exists] = await sql<Array<{ ok: boolean }>>`select to_regclass('runs') is not null as ok`;
  if (!exists!.ok) return null;
  const [row] = await sql<Array<{ id: number; status: string; stats: Record<string, unknown>; ms: number | null }>>`
    select id, status, stats, (extract(epoch from finished_at - started_at) * 1000)::float8 as ms
    from runs where connection = 'bench' order by id desc limit 1`;
  return row ? { id: row.id, status: row.status, stats: row.stats, ms: row.ms === null ? null : Math.round(row.ms) } : null;
}

/** After a killed run: its lease outlives it until it expires (TTL); wait for that, as an operator would. */
async function waitForLease(sql: postgres.Sql): Promise<void> {
  for (let i = 0; i < 240; i++) {
    const [row] = await sql<Array<{ held: boolean }>>`
      select coalesce(lock_holder is not null and lock_expires_at > now(), false) as held from connections where name = 'bench'`;
    if (!row?.held) return;
    await new Promise((r) => setTimeout(r, 1000));
  }
}

async function runSync(label: string, target: StoreTarget, env: SyncEnv, options: { profileDir?: string; args?: readonly string[] } = {}): Promise<SyncMeasurement> {
  const sql = postgres(target.url, { max: 1, onnotice: () => {}, connection: { application_name: 'groupsync-bench' } });
  const db = databaseName(target.url);
  try {
    const before = await tableCounters(sql);
    const previousRun = (await lastRun(sql))?.id ?? 0;
    const xid = await nextXid(sql);
    await resetStatements(env.admin, db);
    const profileName = `${label}.cpuprofile`;
    const nodeArgs = options.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.profileDir}`, `--cpu-prof-name=${profileName}`] : [];
    const { wallMs, code, stdout, rusage, killed } = await runCli(label, ['sync', 'bench', '--json', ...(options.args ?? [])], target, env, nodeArgs);
    let parsed: { counts?: Record<string, number> | null } = {};
    try {
      parsed = JSON.parse(stdout);
    } catch {
      log(`${label}: the CLI printed no JSON (exit ${code}); see bench/out/logs/${label}.log`);
    }
    // The run record, even when the process was killed after recording it.
    const latest = await lastRun(sql);
    const run = latest && latest.id > previousRun ? latest : null;
    if (killed) await waitForLease(sql);
    const statements = await topStatements(env.admin, db);
    const writes = diffCounters(before, await tableCounters(sql));
    const other = Object.keys(writes).filter((t) => !(CORE_TABLES as readonly string[]).includes(t));
    const audit = run === null ? [] : await sql<Array<{ action: string; n: number }>>`
      select action, count(*)::int as n from audit_log where run_id = ${run.id} group by action order by n desc`;
    return {
      label,
      wallMs,
      exitCode: code,
      peakRssMb: rusage ? rusage.maxRSS / 1024 : NaN,
      memoryMb: rusage
        ? { heapUsed: mb(rusage.peak.heapUsed), heapTotal: mb(rusage.peak.heapTotal), external: mb(rusage.peak.external), arrayBuffers: mb(rusage.peak.arrayBuffers) }
        : null,
      cpuMs: rusage ? { user: rusage.user / 1000, system: rusage.system / 1000 } : { user: NaN, system: NaN },
      runId: run?.id ?? null,
      status: run?.status ?? null,
      engineMs: run?.ms ?? null,
      stats: run?.stats ?? {},
      counts: parsed.counts ?? null,
      writes,
      coreRows: totalOf(writes, CORE_TABLES),
      otherRows: totalOf(writes, other),
      xminRows: await rowsNewerThan(sql, xid),
      audit: Object.fromEntries(audit.map((a) => [a.action, a.n])),
      statements,
      killed,
      ...(options.profileDir ? { profile: join(options.profileDir, profileName) } : {}),
    };
  } finally {
    await sql.end({ timeout: 5 });
  }
}


async function ldapmodify(ldap: SlapdHandle, ldif: string): Promise<number> {
  const started = performance.now();
  await run('ldapmodify', ['-x', '-H', ldap.url, '-D', ldap.adminDn, '-w', ldap.adminPassword], { input: ldif, timeoutMs: 30 * 60_000 });
  return performance.now() - started;
}

// ---------------------------------------------------------------------------------------------
// Report

interface Target {
  readonly name: string;
  readonly measurement: string;
  readonly value: string;
  readonly pass: boolean;
}

function sameWrites(actual: Writes, expected: Writes): boolean {
  return Object.entries(expected).every(([t, e]) => {
    const a = actual[t] ?? { ins: 0, upd: 0, del: 0 };
    return a.ins === e.ins && a.upd === e.upd && a.del === e.del;
  });
}

const fmtWrites = (w: Writes, tables: readonly string[]) =>
  tables
    .filter((t) => w[t] && w[t].ins + w[t].upd + w[t].del > 0)
    .map((t) => `${t} +${w[t]!.ins}/~${w[t]!.upd}/-${w[t]!.del}`)
    .join(', ') || 'none';

function table(floor: FloorResult, rows: readonly SyncMeasurement[], startup: CliRun, targets: Record<string, number>): string {
  const head = ['measurement', 'wall s', '× floor', 'target', 'read', 'in engine s', 'read/plan/apply s', 'peak RSS MB', 'heap MB', 'CPU s', 'rows written', 'runs+audit+conn'];
  const cpu = (r: Rusage | null) => (r ? secs((r.user + r.system) / 1000) : '');
  const body: string[][] = [
    ['floor (ldapsearch + COPY)', secs(floor.floorMs), '1.00', '', '', '', `${secs(floor.searchMs.users + floor.searchMs.groups)} / – / ${secs(floor.copyMs)}`, '', '', '', String(floor.rows.users + floor.rows.groups + floor.rows.memberships), ''],
  ];
  for (const m of rows) {
    const s = m.stats as { readMs?: number; planMs?: number; applyMs?: number };
    body.push([
      m.label + (m.killed ? ' (KILLED)' : ''),
      secs(m.wallMs),
      (m.wallMs / floor.floorMs).toFixed(2),
      targets[m.label] ? `≤ ${targets[m.label]}×` : '',
      String(m.stats.readMode ?? 'full'),
      m.engineMs === null ? '' : secs(m.engineMs),
      `${secs(s.readMs ?? NaN)} / ${secs(s.planMs ?? NaN)} / ${secs(s.applyMs ?? NaN)}`,
      m.peakRssMb.toFixed(0),
      String(m.memoryMb?.heapUsed ?? ''),
      secs(m.cpuMs.user + m.cpuMs.system),
      String(m.coreRows),
      String(m.otherRows),
    ]);
  }
  body.push(['start-up only (`connections`)', secs(startup.wallMs), (startup.wallMs / floor.floorMs).toFixed(2), '', '', '', '', ((startup.rusage?.maxRSS ?? NaN) / 1024).toFixed(0), String(startup.rusage ? mb(startup.rusage.peak.heapUsed) : ''), cpu(startup.rusage), '', '']);
  const widths = head.map((h, k) => Math.max(h.length, ...body.map((r) => r[k]!.length)));
  const line = (cells: readonly string[]) => cells.map((c, k) => (k === 0 ? c.padEnd(widths[k]!) : c.padStart(widths[k]!))).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

const describe = (m: SyncMeasurement) =>
  `${m.label}: ${secs(m.wallMs)} s wall, ${m.engineMs === null ? '?' : secs(m.engineMs)} s in the engine, exit ${m.exitCode}, run ${m.status}, ` +
  `${m.peakRssMb.toFixed(0)} MB; ${fmtWrites(m.writes, CORE_TABLES)}`;

const fmtStatements = (list: readonly Statement[], n = 6) =>
  list.slice(0, n).map((st) => `    ${secs(st.totalMs).padStart(7)} s ${String(st.calls).padStart(8)} calls ${String(st.rows).padStart(9)} rows  ${st.query}`);

// ---------------------------------------------------------------------------------------------

/** Whether this checkout's `sync` takes `--full` (a full directory read instead of an incremental one). */
function cliHasFullFlag(): boolean {
  return /--full\b/.test(syncHelp());
}

interface Sequence {
  readonly measurements: SyncMeasurement[];
  readonly expected: Record<string, Writes>;
  readonly changes: ReturnType<typeof planChanges>;
  readonly modifyMs: number;
  readonly incremental: boolean;
}

/**
 * The measured syncs, in order: a full sync into an empty store (and, unmeasured, into a second
 * one); no change, read incrementally and then in full; 1 % changed, read incrementally; a full
 * reconciliation read (must find nothing to write); the same 1 % change read in full by the second
 * store. Without `--full` (an older checkout) every read is full and the incremental rows are skipped.
 */
/**
 * The main store reads incrementally (the default); the second store's connection reads in full
 * every run (`incremental: off`, `fullRead`), as on a server without change tracking: its plain
 * syncs plan with the digests, where `--full` (the reconciliation) plans against the whole store.
 */
async function measureSequence(store: BenchStore, env: SyncEnv, fullRead: SyncEnv, ldap: SlapdHandle, model: ReturnType<typeof buildModel>, eff: ReturnType<typeof effective>): Promise<Sequence & { main: StoreTarget }> {
  const incremental = cliHasFullFlag();
  const full = incremental ? ['--full'] : [];
  const main = await store.fresh('bench_sync');
  const second = QUICK ? main : await store.fresh('bench_full');
  const expected: Record<string, Writes> = {};
  const noWrites: Writes = Object.fromEntries(CORE_TABLES.map((table) => [table, { ins: 0, upd: 0, del: 0 }]));
  const measurements: SyncMeasurement[] = [];
  const measure = async (label: string, target: StoreTarget, writes: Writes, args: readonly string[] = [], runEnv: SyncEnv = env) => {
    log(`${label}…`);
    const m = await runSync(label, target, runEnv, { args });
    expected[label] = writes;
    measurements.push(m);
    log(describe(m));
    return m;
  };
  await measure(LABELS.full, main, expectedFullSync(model, eff));
  if (!QUICK) {
    log('full sync of the second store (not reported)…');
    await runSync('second store full sync', second, fullRead);
  }
  if (incremental) await measure(LABELS.noChangeIncremental, main, noWrites);
  await measure(LABELS.noChange, main, noWrites, full);
  if (second === main) {
    // BENCH_QUICK: one store, last synced with change tracking; a sync reading in full first keeps
    // the state such a connection keeps (the digest of its graph), as the second store's has.
    log('full read, to keep the state a connection without tracking keeps (not reported)…');
    await runSync('full read state (not reported)', second, fullRead);
  }
  await measure(LABELS.noChangeFullRead, second, noWrites, [], fullRead);
  const changes = planChanges(model, eff, { seed: SEED + 1 });
  // BENCH_QUICK: the full sync and the no-change syncs only (a very large directory).
  if (QUICK) return { measurements, expected, changes, modifyMs: 0, incremental, main };
  if (incremental) {
    // Writes the tracker reports but no plan reads (a surname: every login's pwdLastSuccess is another).
    const unrelated = unrelatedChanges(model, { seed: SEED + 2 });
    const ms = await ldapmodify(ldap, unrelated.ldif);
    log(`ldapmodify: sn of ${unrelated.users} users (${secs(ms)} s)`);
    await measure(LABELS.unrelatedIncremental, main, noWrites);
  }
  const modifyMs = await ldapmodify(ldap, changes.ldif);
  log(`ldapmodify: ${changes.usersChanged} users, -${changes.membersRemoved}/+${changes.membersAdded} memberships in ${changes.groupsTouched} groups (${secs(modifyMs)} s)`);
  if (incremental) {
    await measure(LABELS.changeIncremental, main, changes.expected);
    await measure(LABELS.reconcile, main, noWrites, full);
  }
  await measure(LABELS.change, second, changes.expected, [], fullRead);
  return { measurements, expected, changes, modifyMs, incremental, main };
}

const LABELS = {
  full: 'full sync',
  noChangeIncremental: 'no-change, incremental',
  noChange: 'no-change, --full',
  noChangeFullRead: 'no-change, full read',
  unrelatedIncremental: '1% unsynced attr., incr.',
  changeIncremental: '1% change, incremental',
  reconcile: 'reconcile after incr.',
  change: '1% change, full read',
} as const;

function targetsOf(floor: FloorResult, seq: Sequence): Target[] {
  const byLabel = new Map(seq.measurements.map((m) => [m.label, m]));
  const ratio = (m: SyncMeasurement) => m.wallMs / floor.floorMs;
  const ok = (m: SyncMeasurement) => m.exitCode === 0 && m.status === 'success' && !m.killed;
  const out: Target[] = [];
  const within = (label: string, limit: number) => {
    const m = byLabel.get(label);
    if (m) out.push({ name: `${label} ≤ ${limit}× floor`, measurement: label, value: `${ratio(m).toFixed(2)}×`, pass: ok(m) && ratio(m) <= limit });
  };
  const writes = (label: string, name: string) => {
    const m = byLabel.get(label);
    if (!m) return;
    const want = seq.expected[label]!;
    const exact = sameWrites(m.writes, want) && m.coreRows === totalOf(want, CORE_TABLES);
    out.push({ name, measurement: label, value: exact ? fmtWrites(m.writes, CORE_TABLES) : `${fmtWrites(m.writes, CORE_TABLES)} (expected ${fmtWrites(want, CORE_TABLES)})`, pass: exact });
  };
  within(LABELS.full, TARGETS.fullRatio);
  writes(LABELS.full, 'full sync writes exactly the directory');
  for (const m of seq.measurements) out.push({ name: `peak RSS < ${TARGETS.rssMb} MB`, measurement: m.label, value: `${m.peakRssMb.toFixed(0)} MB`, pass: m.peakRssMb < TARGETS.rssMb });
  within(LABELS.noChangeFullRead, TARGETS.noChangeRatio);
  writes(LABELS.noChangeFullRead, 'no-change writes 0 rows');
  writes(LABELS.noChange, 'no-change --full (reconciliation) writes 0 rows');
  within(LABELS.change, TARGETS.changeRatio);
  writes(LABELS.change, '1% change writes only the changes');
  within(LABELS.noChangeIncremental, TARGETS.noChangeIncrementalRatio);
  writes(LABELS.noChangeIncremental, 'incremental no-change writes 0 rows');
  within(LABELS.changeIncremental, TARGETS.changeIncrementalRatio);
  writes(LABELS.changeIncremental, 'incremental 1% writes only the changes');
  writes(LABELS.reconcile, 'reconciliation after incremental: 0 rows');
  writes(LABELS.unrelatedIncremental, 'a change of attributes no plan reads writes 0 rows');
  const reconcile = byLabel.get(LABELS.reconcile);
  if (reconcile) {
    // Only the kept-entries mode (incremental: entries) keeps a state to compare; detect mode keeps a cookie.
    const diffs = reconcile.stats.reconcileDiffs;
    if (diffs !== undefined) out.push({ name: 'reconciliation finds the kept state equal', measurement: LABELS.reconcile, value: `${diffs} entries differ`, pass: diffs === 0 });
  }
  return out;
}

async function main(): Promise<void> {
  mkdirSync(OUT, { recursive: true });
  const workDir = mkdtempSync(join(tmpdir(), 'groupsync-bench-'));
  let ldap: SlapdHandle | undefined;
  let store: BenchStore | undefined;
  try {
    const version = codeVersion();
    const load = loadavg()[0]!;
    const kind = storeKind();
    log(`directory: ${USERS.toLocaleString('en')} users, ${GROUPS.toLocaleString('en')} groups (seed ${SEED}); store ${kind}; code ${version.commit} src ${version.sourceHash}; work dir ${workDir}`);
    if (load > 1) log(`warning: load average ${load.toFixed(2)} before starting: other processes compete for the CPUs and the figures will be noisy`);
    let t = performance.now();
    const model = buildModel({ users: USERS, groups: GROUPS, seed: SEED });
    const eff = effective(model);
    const ldifFile = join(workDir, 'directory.ldif');
    const written = await writeLdif(model, ldifFile);
    const generateMs = performance.now() - t;
    const sizes = model.groups.map((g) => g.length).sort((a, b) => b - a);
    log(`generated ${written.entries.toLocaleString('en')} entries, ${model.directMemberships.toLocaleString('en')} direct memberships (${eff.memberships.toLocaleString('en')} after nesting), ${(written.bytes / 1e6).toFixed(1)} MB LDIF in ${secs(generateMs)} s; largest groups ${sizes.slice(0, 6).join(', ')}`);

    t = performance.now();
    // syncprov with a session log, as an OpenLDAP provider runs: incremental reads (RFC 4533) name deletions.
    [ldap, store] = await Promise.all([startSlapd({ bulkLdif: ldifFile, syncprov: { sessionlog: 100_000 } }), openBenchStore(kind, workDir)]);
    const loadMs = performance.now() - t;
    log(`slapd (slapadd -q) and ${kind === 'embedded' ? `the embedded PostgreSQL (started in ${secs(store.startMs ?? NaN)} s)` : 'PostgreSQL'} ready in ${secs(loadMs)} s`);
    if (!process.env.BENCH_KEEP) rmSync(ldifFile, { force: true });

    const target: LdapTarget = { url: ldap.url, bindDn: ldap.adminDn, password: ldap.adminPassword, baseDn: BASE_DN };
    const floor = await measureFloor(target, await store.database('bench_floor'), workDir);
    log(
      `floor ${secs(floor.floorMs)} s: ldapsearch users ${secs(floor.searchMs.users)} s + groups ${secs(floor.searchMs.groups)} s, COPY ${secs(floor.copyMs)} s ` +
        `(${floor.rows.users} users, ${floor.rows.groups} groups, ${floor.rows.memberships} memberships; parse ${secs(floor.parseMs)} s, not counted)`,
    );
    if (floor.entries.users !== USERS || floor.entries.groups !== GROUPS + model.teams.length) {
      throw new Error(`ldapsearch returned ${floor.entries.users} users and ${floor.entries.groups} groups; expected ${USERS} and ${GROUPS + model.teams.length}`);
    }

    const env: SyncEnv = { configFile: writeBenchConfig(workDir, ldap.url), password: ldap.adminPassword, workDir, admin: store.admin };
    const fullRead: SyncEnv = { ...env, configFile: writeBenchConfig(workDir, ldap.url, {}, { incremental: false }, 'groupsync.bench-full-read.json') };
    const seq = await measureSequence(store, env, fullRead, ldap, model, eff);
    const { measurements, expected, changes, modifyMs } = seq;

    // The fixed cost of a groupsync process: start, load config, open the store (migrations check), exit.
    const startup = await runCli('startup', ['connections', '--json'], seq.main, env);
    log(`start-up alone (groupsync connections): ${secs(startup.wallMs)} s, ${((startup.rusage?.maxRSS ?? NaN) / 1024).toFixed(0)} MB`);

    const targets = targetsOf(floor, seq);

    // Profiles of the measurements that missed a target (re-run on the main store: no change then).
    const missed = new Set(targets.filter((x) => !x.pass).map((x) => x.measurement));
    const profiles: Array<{ measurement: string; run: SyncMeasurement; summary: ProfileSummary }> = [];
    const wantProfile = PROFILE === 'always' || (PROFILE === 'auto' && missed.size > 0);
    if (wantProfile) {
      const profileDir = join(OUT, 'profiles');
      rmSync(profileDir, { recursive: true, force: true });
      const profile = async (measurement: string, args: readonly string[], fresh: boolean, runEnv: SyncEnv = env) => {
        log(`profiling ${measurement}…`);
        const run = await runSync(`profile ${measurement}`, fresh ? await store!.fresh('bench_profile_full') : seq.main, runEnv, { profileDir, args });
        if (run.profile && existsSync(run.profile)) profiles.push({ measurement, run, summary: summarizeProfile(run.profile) });
        else log(`${run.label}: no CPU profile was written (exit ${run.exitCode})`);
      };
      if (PROFILE === 'always' || missed.has(LABELS.noChangeIncremental)) await profile(LABELS.noChangeIncremental, [], false);
      if (PROFILE === 'always' || missed.has(LABELS.noChangeFullRead)) await profile(LABELS.noChangeFullRead, [], false, fullRead);
      if (PROFILE === 'always' || missed.has(LABELS.full)) await profile(LABELS.full, [], true);
    }

    // Report.
    const ratios: Record<string, number> = {
      [LABELS.full]: TARGETS.fullRatio,
      [LABELS.noChangeFullRead]: TARGETS.noChangeRatio,
      [LABELS.change]: TARGETS.changeRatio,
      [LABELS.noChangeIncremental]: TARGETS.noChangeIncrementalRatio,
      [LABELS.changeIncremental]: TARGETS.changeIncrementalRatio,
    };
    const others = (m: SyncMeasurement) => Object.keys(m.writes).filter((x) => !(CORE_TABLES as readonly string[]).includes(x));
    const report = [
      '',
      `groupsync sync benchmark: ${USERS.toLocaleString('en')} users, ${GROUPS.toLocaleString('en')} groups, ${model.directMemberships.toLocaleString('en')} memberships (${eff.memberships.toLocaleString('en')} after nesting); store ${kind}; node ${process.version}, ${availableParallelism()} CPUs, load ${load.toFixed(2)} → ${loadavg()[0]!.toFixed(2)}; code ${version.commit} + src ${version.sourceHash}`,
      '',
      table(floor, measurements, startup, ratios),
      '',
      'rows written per core table (+inserted/~updated/-deleted):',
      ...measurements.map((m) => `  ${m.label.padEnd(24)} ${fmtWrites(m.writes, CORE_TABLES)}${sameWrites(m.writes, expected[m.label]!) ? '  = expected' : `  ≠ expected ${fmtWrites(expected[m.label]!, CORE_TABLES)}`}`),
      '  (xmin cross-check, rows inserted or updated: ' + measurements.map((m) => `${m.label} ${Object.values(m.xminRows).reduce((a, b) => a + b, 0)}`).join(', ') + ')',
      'bookkeeping rows written (runs, audit_log, connections, …) and audit entries by action:',
      ...measurements.map((m) => `  ${m.label.padEnd(24)} ${fmtWrites(m.writes, others(m))}; audit ${Object.entries(m.audit).map(([a, n]) => `${a} ${n}`).join(', ') || 'none'}`),
      '',
      'memory peaks (MB, sampled every 100 ms): ' + measurements.map((m) => `${m.label}: heap ${m.memoryMb?.heapUsed}/${m.memoryMb?.heapTotal} used/total, buffers ${m.memoryMb?.arrayBuffers}`).join('; '),
      '',
      'server time by statement (pg_stat_statements, top level; total s, calls, rows):',
      ...measurements.flatMap((m) => (m.statements.length ? [`  ${m.label}`, ...fmtStatements(m.statements)] : [])),
      ...measurements
        .filter((m) => m.killed)
        .flatMap((m) => ['', `${m.label}: KILLED after ${secs(m.killed!.afterMs)} s (BENCH_TIMEOUT); its server sessions were running:`, ...m.killed!.active.map((a) => `    ${a.seconds} s: ${a.query}`)]),
      '',
      'targets:',
      ...targets.map((x) => `  ${x.pass ? 'PASS' : 'MISS'}  ${x.name.padEnd(48)} ${x.measurement.padEnd(24)} ${x.value}`),
    ];
    for (const p of profiles) {
      const s = p.run.stats as { readMs?: number; planMs?: number; applyMs?: number };
      report.push(
        '',
        `profile of ${p.measurement} (re-run with --cpu-prof: ${secs(p.run.wallMs)} s wall, read ${secs(s.readMs ?? NaN)} s / plan ${secs(s.planMs ?? NaN)} s / apply ${secs(s.applyMs ?? NaN)} s):`,
        formatSummary(p.summary),
        '',
      );
    }
    process.stdout.write(`${report.join('\n')}\n`);

    const results = {
      at: new Date().toISOString(),
      config: { users: USERS, groups: GROUPS, seed: SEED, store: kind, pageSize: PAGE_SIZE, node: process.version, cpus: availableParallelism(), memoryMb: Math.round(totalmem() / 2 ** 20), ...version },
      loadAverage: { atStart: load, atEnd: loadavg()[0] },
      directory: {
        entries: written.entries,
        ldifBytes: written.bytes,
        directMemberships: model.directMemberships,
        effectiveMemberships: eff.memberships,
        reachedUsers: eff.reachedUsers,
        largestGroups: sizes.slice(0, 10),
        medianGroup: sizes[sizes.length >> 1],
        generateMs: Math.round(generateMs),
        loadMs: Math.round(loadMs),
        embeddedStartMs: store.startMs === null ? null : Math.round(store.startMs),
      },
      floor,
      changes: { usersChanged: changes.usersChanged, membersRemoved: changes.membersRemoved, membersAdded: changes.membersAdded, groupsTouched: changes.groupsTouched, ldapmodifyMs: Math.round(modifyMs) },
      measurements: measurements.map((m) => ({ ...m, ratio: m.wallMs / floor.floorMs, expected: expected[m.label] })),
      startup: { wallMs: startup.wallMs, exitCode: startup.code, peakRssMb: (startup.rusage?.maxRSS ?? NaN) / 1024, rusage: startup.rusage },
      targets,
      profiles: profiles.map((p) => ({ measurement: p.measurement, wallMs: p.run.wallMs, stats: p.run.stats, file: p.run.profile, statements: p.run.statements, totalMs: p.summary.totalMs, top: p.summary.top, areas: p.summary.areas })),
    };
    const name = `results${kind === 'embedded' ? '-embedded' : ''}${USERS === 100_000 ? '' : `-${USERS}`}.json`;
    writeFileSync(join(OUT, name), `${JSON.stringify(results, null, 2)}\n`);
    log(`results written to ${join(OUT, name)}`);
    if (targets.some((x) => !x.pass)) process.exitCode = 1;
  } finally {
    await ldap?.stop().catch(() => {});
    await store?.stop().catch(() => {});
    if (!process.env.BENCH_KEEP) rmSync(workDir, { recursive: true, force: true });
  }
}

await main();
