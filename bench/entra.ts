// groupsync's Entra ID benchmark: `npm run bench:entra`.
//
//   1. Builds the bench directory (generate.ts: default 100,000 users, 10,000 app groups with
//      Zipf-ish sizes, ~700,000 memberships, a few nested team groups with a cycle) and serves it
//      from the loopback Microsoft Graph of the tests (test/support/graph-server.ts, HTTPS with a
//      throw-away CA), at 999 objects per page. A private PostgreSQL is the store.
//   2. Baseline, measured in the same run: a child process that pages through what groupsync
//      reads with the same Graph client (the app groups, then each one's transitiveMembers at
//      999 per page, 4 groups at a time as the source does) and does nothing with it.
//   3. The Entra source alone, in a child: a full read into its snapshot and delta state, no store
//      (the part of a full sync that is the source's).
//   4. Runs `groupsync sync bench --json` as a child process (bin/groupsync.mjs as installed, or with
//      BENCH_CLI=source src/cli/main.ts: cli-entry.ts): the full sync into a
//      fresh database, a delta sync with no change, and a delta sync after 1 % of users changed
//      (mail and display name) and 1 % of memberships were removed and as many added. Each is
//      timed (wall), its peak RSS read at its exit, and its run record checked. Then a full read
//      (delta off) must find nothing to change: the store the deltas kept equals a full read.
//   5. Prints a table (ratios to the baseline) and writes bench/out/entra-results.json.
//
// Environment: BENCH_USERS (100000), BENCH_GROUPS (10000), BENCH_SEED, BENCH_KEEP=1 keeps the
// temp directory, BENCH_PAIRS=n runs the baseline and the source read n times alternately (the
// pair of median ratio is reported), BENCH_READ_ONLY=1 stops after them,
// BENCH_CPU_PROF=<dir> writes a CPU profile of each child there. Children get NODE_EXTRA_CA_CERTS
// so they trust the loopback Graph's CA.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { type GraphClientOptions, GraphHttp } from '../src/directory/entra/client.ts';
import { EntraSource } from '../src/directory/entra/source.ts';
import { defaultGraphScope } from '../src/domain/graph-scope.ts';
import { readLinkedGroups, readTransitiveMembers } from '../src/directory/entra/read.ts';
import { type GraphServer, TEST_CLIENT, TEST_SECRET, TEST_TENANT, guid, startGraphServer } from '../test/support/graph-server.ts';
import { createTestTls } from '../test/support/graph-tls.ts';
import { startPostgres, type PostgresHandle } from '../test/support/postgres.ts';
import { mulberry32 } from '../test/support/random.ts';
import { buildModel, groupCn, userDisplayName, userMail, userUid } from './generate.ts';
import { CLI_ENTRY, PRODUCT_NODE_FLAGS, syncHelp } from './cli-entry.ts';
import { RUSAGE_HOOK, readRusage } from './rusage.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const OUT = join(ROOT, 'bench', 'out');
const PAGE_SIZE = 999;
const GROUP_FILTER = "startswith(displayName,'app-')";

function intEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw)) throw new Error(`${name} must be a whole number, got "${raw}"`);
  return Number(raw);
}

const log = (text: string) => process.stderr.write(`[bench:entra ${new Date().toISOString().slice(11, 19)}] ${text}\n`);
const secs = (ms: number) => (ms / 1000).toFixed(2);
const userId = (i: number) => guid(1, i + 1);
const appGroupId = (g: number) => guid(2, g + 1);
const teamId = (t: number) => guid(3, t + 1);

function childGraphOptions(): GraphClientOptions {
  const graphBaseUrl = process.env.BENCH_GRAPH!;
  return {
    tenantId: TEST_TENANT,
    clientId: TEST_CLIENT,
    credential: { type: 'secret', secret: TEST_SECRET },
    authorityHost: new URL(graphBaseUrl).origin,
    graphBaseUrl,
    scope: defaultGraphScope(graphBaseUrl),
    trustedHosts: ['127.0.0.1'],
    timeoutSeconds: 300,
    maxRetries: 3,
    retryDelayMs: 1000,
  };
}

/** Child mode: page through the scope with the product's Graph client, and print the counts. */
async function baselineChild(): Promise<void> {
  const graph = new GraphHttp(childGraphOptions());
  const started = performance.now();
  const linked = [...(await readLinkedGroups(graph, { groupFilter: GROUP_FILTER, groupRefs: [] }, PAGE_SIZE)).values()];
  let cursor = 0;
  let members = 0;
  const worker = async () => {
    while (cursor < linked.length) {
      const g = linked[cursor++]!;
      const read = await readTransitiveMembers(graph, g.id, PAGE_SIZE);
      members += read.users.length;
    }
  };
  await Promise.all(Array.from({ length: 4 }, worker));
  process.stdout.write(JSON.stringify({ ms: performance.now() - started, groups: linked.length, members, requests: graph.stats.requests }));
}

/**
 * Child mode: the Entra source alone, no store: a full read of the bench scope into its snapshot
 * and the state it keeps for the next delta (what a full sync reads before it plans).
 */
async function sourceReadChild(): Promise<void> {
  const source = new EntraSource({ ...childGraphOptions(), pageSize: PAGE_SIZE, delta: true });
  const started = performance.now();
  const snapshot = await source.read({ groupFilter: GROUP_FILTER, groupRefs: [] });
  const ms = performance.now() - started;
  const members = snapshot.groups.reduce((n, g) => n + g.memberIds.length, 0);
  const stateBytes = snapshot.nextState?.cache?.byteLength ?? 0;
  process.stdout.write(JSON.stringify({ ms, groups: snapshot.groups.length, users: snapshot.users.length, members, requests: snapshot.stats?.requests, stateBytes }));
}

interface BaselineResult {
  readonly ms: number;
  readonly groups: number;
  readonly members: number;
  readonly requests: number;
}

interface SourceReadResult extends BaselineResult {
  readonly users: number;
  readonly stateBytes: number;
}

/** The baseline, then the source read, each in its own child. */
async function readPair(env: Record<string, string>, workDir: string) {
  log('baseline: paging through the scope with the same Graph client…');
  const baselineRun = await runChild('baseline', ['bench/entra.ts', 'baseline'], env, workDir);
  if (baselineRun.code !== 0) throw new Error(`the baseline failed (exit ${baselineRun.code}); see bench/out/logs/entra-baseline.log`);
  const baseline = JSON.parse(baselineRun.stdout) as BaselineResult;
  log(`baseline: ${secs(baseline.ms)} s paging (${secs(baselineRun.wallMs)} s with process start), ${baseline.groups} groups, ${baseline.members.toLocaleString('en')} members, ${baseline.requests} requests, ${baselineRun.peakRssMb.toFixed(0)} MB (${JSON.stringify(baselineRun.memoryMb)})`);
  log('source read: the Entra source alone (full read, snapshot and delta state; no store)…');
  const sourceRun = await runChild('source read', ['bench/entra.ts', 'source-read'], env, workDir);
  if (sourceRun.code !== 0) throw new Error(`the source read failed (exit ${sourceRun.code}); see bench/out/logs/entra-source-read.log`);
  const sourceRead = JSON.parse(sourceRun.stdout) as SourceReadResult;
  log(`source read: ${secs(sourceRead.ms)} s (${secs(sourceRun.wallMs)} s with process start, ${(sourceRun.wallMs / baselineRun.wallMs).toFixed(2)}× baseline), ${sourceRead.members.toLocaleString('en')} members, ${sourceRead.requests} requests, state ${(sourceRead.stateBytes / 2 ** 20).toFixed(1)} MB, ${sourceRun.peakRssMb.toFixed(0)} MB (${JSON.stringify(sourceRun.memoryMb)})`);
  return { baselineRun, baseline, sourceRun, sourceRead };
}

interface ChildRun {
  readonly label: string;
  readonly wallMs: number;
  readonly code: number | null;
  readonly stdout: string;
  readonly peakRssMb: number;
  /** Peaks sampled every 100 ms, MB: V8 heap used / total, memory outside the heap. */
  readonly memoryMb: { heapUsed: number; heapTotal: number; external: number; arrayBuffers: number } | null;
  readonly cpuMs: number;
}

/** BENCH_CPU_PROF=<dir>: each child writes a V8 CPU profile there (summarise with bench/profile-summary.ts). */
function cpuProfile(label: string): string[] {
  const dir = process.env.BENCH_CPU_PROF;
  return dir ? ['--cpu-prof', `--cpu-prof-dir=${dir}`, `--cpu-prof-name=entra-${label.replace(/\W+/g, '-')}.cpuprofile`] : [];
}

/** `nodeFlags`: the V8 flags of the child (the bench's own children run with the product's). */
async function runChild(label: string, args: readonly string[], env: Record<string, string>, workDir: string, nodeFlags: readonly string[] = PRODUCT_NODE_FLAGS): Promise<ChildRun> {
  const rusageFile = join(workDir, `${label.replace(/\W+/g, '-')}.rusage.json`);
  rmSync(rusageFile, { force: true });
  const started = performance.now();
  const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, [...nodeFlags, `--import=${RUSAGE_HOOK}`, ...cpuProfile(label), ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env, BENCH_RUSAGE_FILE: rusageFile },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (c) => resolve({ code: c, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }));
  });
  const wallMs = performance.now() - started;
  mkdirSync(join(OUT, 'logs'), { recursive: true });
  writeFileSync(join(OUT, 'logs', `entra-${label.replace(/\W+/g, '-')}.log`), stderr);
  const r = readRusage(rusageFile);
  const mb = (bytes: number) => Math.round(bytes / 2 ** 20);
  const memoryMb = r ? { heapUsed: mb(r.peak.heapUsed), heapTotal: mb(r.peak.heapTotal), external: mb(r.peak.external), arrayBuffers: mb(r.peak.arrayBuffers) } : null;
  return { label, wallMs, code, stdout, peakRssMb: r ? r.maxRSS / 1024 : NaN, memoryMb, cpuMs: r ? (r.user + r.system) / 1000 : NaN };
}

interface SyncResult extends ChildRun {
  readonly run: { status: string; stats: Record<string, unknown>; counters: Record<string, number> } | null;
}

async function runSync(label: string, env: Record<string, string>, workDir: string, sql: postgres.Sql): Promise<SyncResult> {
  const child = await runChild(label, [CLI_ENTRY, 'sync', 'bench', '--json'], env, workDir);
  const [row] = await sql<Array<{ status: string; stats: Record<string, unknown>; c: Record<string, number> }>>`
    select status, stats, json_build_object('groupsCreated', groups_created, 'groupsModified', groups_modified, 'groupsDeleted', groups_deleted,
      'usersCreated', users_created, 'usersUpdated', users_updated, 'usersDeactivated', users_deactivated,
      'membershipsAdded', memberships_added, 'membershipsRemoved', memberships_removed) as c
    from runs where connection = 'bench' order by id desc limit 1`;
  const run = row ? { status: row.status, stats: row.stats, counters: row.c } : null;
  log(`${label}: ${secs(child.wallMs)} s, exit ${child.code}, run ${run?.status}, ${child.peakRssMb.toFixed(0)} MB; ${JSON.stringify(run?.counters ?? {})}; read ${JSON.stringify(pick(run?.stats ?? {}, ['readMode', 'readReason', 'requests', 'batches', 'readMs', 'planMs', 'applyMs', 'groupsReread', 'groupsPatched', 'usersChanged', 'groupsChanged', 'usersFetched']))}`);
  return { ...child, run };
}

function pick(o: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(keys.filter((k) => k in o).map((k) => [k, o[k]]));
}

function load(graph: GraphServer, model: ReturnType<typeof buildModel>): void {
  for (let i = 0; i < model.users; i++) {
    graph.addUser({ id: userId(i), userPrincipalName: `${userUid(i)}@bench.example`, mail: userMail(i), displayName: userDisplayName(i), accountEnabled: true });
  }
  model.teams.forEach((members, t) => {
    graph.addGroup({ id: teamId(t), displayName: `team-n${String(t + 1).padStart(3, '0')}`, description: null, members: [...members].map(userId) });
  });
  for (const [t, nested] of model.teamTeams) for (const n of nested) graph.groups.get(teamId(t))?.members.push(teamId(n));
  model.groups.forEach((members, g) => {
    const teams = (model.groupTeams.get(g) ?? []).map(teamId);
    graph.addGroup({ id: appGroupId(g), displayName: groupCn(g), description: `Bench group ${g + 1}`, members: [...[...members].map(userId), ...teams] });
  });
}

/** 1 % of users get a new mail and display name; 1 % of direct memberships move to another user. */
function change(graph: GraphServer, model: ReturnType<typeof buildModel>, seed: number): { users: number; removed: number; added: number; groups: number } {
  const rand = mulberry32(seed);
  const users = Math.max(1, Math.round(model.users / 100));
  const picked = new Set<number>();
  while (picked.size < users) picked.add(Math.floor(rand() * model.users));
  for (const i of picked) graph.updateUser(userId(i), { mail: userMail(i, 1), displayName: userDisplayName(i, 1) });
  const moves = Math.max(1, Math.round(model.directMemberships / 100));
  const touched = new Set<number>();
  let removed = 0;
  let added = 0;
  for (let k = 0; k < moves; k++) {
    const g = Math.floor(rand() * model.groups.length);
    const group = graph.groups.get(appGroupId(g))!;
    const userMembers = group.members.filter((m) => m.startsWith('00000001-'));
    if (userMembers.length === 0) continue;
    graph.removeMember(group.id, userMembers[Math.floor(rand() * userMembers.length)]!);
    removed++;
    const candidate = userId(Math.floor(rand() * model.users));
    if (!group.members.includes(candidate)) {
      graph.addMember(group.id, candidate);
      added++;
    }
    touched.add(g);
  }
  return { users, removed, added, groups: touched.size };
}

async function main(): Promise<void> {
  const USERS = intEnv('BENCH_USERS', 100_000);
  const GROUPS = intEnv('BENCH_GROUPS', 10_000);
  const SEED = intEnv('BENCH_SEED', 20_251_122);
  mkdirSync(OUT, { recursive: true });
  const workDir = mkdtempSync(join(tmpdir(), 'groupsync-bench-entra-'));
  let graph: GraphServer | undefined;
  let pg: PostgresHandle | undefined;
  let sql: postgres.Sql | undefined;
  try {
    const loadAtStart = loadavg()[0]!;
    let t = performance.now();
    const model = buildModel({ users: USERS, groups: GROUPS, seed: SEED });
    const tls = createTestTls(join(workDir, 'tls'));
    graph = await startGraphServer({ certFile: tls.certFile, keyFile: tls.keyFile, record: false });
    load(graph, model);
    log(`loopback Graph at ${graph.graphBaseUrl}: ${USERS.toLocaleString('en')} users, ${GROUPS.toLocaleString('en')} app groups, ${model.teams.length} team groups, ${model.directMemberships.toLocaleString('en')} direct memberships (${secs(performance.now() - t)} s)`);
    t = performance.now();
    pg = await startPostgres();
    const dbUrl = await pg.createDatabase('bench_entra');
    sql = postgres(dbUrl, { max: 1, onnotice: () => {} });
    log(`PostgreSQL ready in ${secs(performance.now() - t)} s`);

    const configFile = join(workDir, 'groupsync.entra.json');
    const { authorityHost, graphBaseUrl } = graph;
    const connectionFile = (delta: boolean) =>
      JSON.stringify({
        connections: [
          {
            delta,
            name: 'bench',
            kind: 'entra',
            tenantId: TEST_TENANT,
            clientId: TEST_CLIENT,
            clientSecretEnv: 'BENCH_ENTRA_SECRET',
            authorityHost,
            graphBaseUrl,
            trustedHosts: ['127.0.0.1'],
            groups: { filter: GROUP_FILTER },
            pageSize: PAGE_SIZE,
            timeoutSeconds: 300,
            schedule: null,
            deletionThreshold: { maxCount: 1_000_000_000, maxPercent: 100, minObjects: 0, memberships: { maxCount: 1_000_000_000, maxPercent: 100, minObjects: 0 } },
          },
        ],
      });
    writeFileSync(configFile, connectionFile(true));
    // The check: a full read of the same directory after the delta syncs must find nothing to do.
    const verifyFile = join(workDir, 'groupsync.entra.full.json');
    writeFileSync(verifyFile, connectionFile(false));
    const env = {
      NODE_EXTRA_CA_CERTS: tls.caFile,
      GROUPSYNC_CONFIG: configFile,
      DATABASE_URL: dbUrl,
      BENCH_ENTRA_SECRET: TEST_SECRET,
      BENCH_GRAPH: graph.graphBaseUrl,
      LOG_LEVEL: 'info',
    };

    // Baseline and source read alternately (BENCH_PAIRS times): on a shared machine the load moves
    // between two runs, so each pair gives a ratio and the pair with the median ratio is reported.
    const pairs: Array<{ baselineRun: ChildRun; baseline: BaselineResult; sourceRun: ChildRun; sourceRead: SourceReadResult }> = [];
    for (let k = 0; k < intEnv('BENCH_PAIRS', 1); k++) pairs.push(await readPair(env, workDir));
    pairs.sort((a, b) => a.sourceRun.wallMs / a.baselineRun.wallMs - b.sourceRun.wallMs / b.baselineRun.wallMs);
    if (pairs.length > 1) log(`source read / baseline per pair: ${pairs.map((p) => (p.sourceRun.wallMs / p.baselineRun.wallMs).toFixed(2)).join(', ')} (median reported)`);
    const { baselineRun, baseline, sourceRun, sourceRead } = pairs[Math.floor(pairs.length / 2)]!;
    if (process.env.BENCH_READ_ONLY) return;

    syncHelp(); // the bundle brought up to date before a run is measured
    log(`syncs run ${CLI_ENTRY}`);
    const full = await runSync('full sync', env, workDir, sql);
    const noChange = await runSync('delta, no change', env, workDir, sql);
    const changes = change(graph, model, SEED + 1);
    log(`changed: ${changes.users} users (mail, display name), -${changes.removed}/+${changes.added} direct memberships in ${changes.groups} groups`);
    const changed = await runSync('delta, 1% change', env, workDir, sql);
    const verify = await runSync('check: full read', { ...env, GROUPSYNC_CONFIG: verifyFile }, workDir, sql);
    const verifyCounters = verify.run?.counters ?? {};
    const verified = verify.run?.status === 'success' && Object.values(verifyCounters).every((n) => n === 0);
    log(verified ? 'check: a full read after the delta syncs finds nothing to change' : `check FAILED: a full read after the delta syncs changes ${JSON.stringify(verifyCounters)}`);

    const rows = [full, noChange, changed];
    const head = ['measurement', 'wall s', '× baseline', 'read mode', 'requests', 'read/plan/apply s', 'peak RSS MB', 'heap used/total MB', 'CPU s', 'status'];
    const heap = (r: ChildRun) => (r.memoryMb ? `${r.memoryMb.heapUsed}/${r.memoryMb.heapTotal}` : '');
    const body = [
      ['baseline (page through Graph)', secs(baselineRun.wallMs), '1.00', '', String(baseline.requests), `${secs(baseline.ms)} / – / –`, baselineRun.peakRssMb.toFixed(0), heap(baselineRun), secs(baselineRun.cpuMs), ''],
      ['source read (no store)', secs(sourceRun.wallMs), (sourceRun.wallMs / baselineRun.wallMs).toFixed(2), 'full', String(sourceRead.requests), `${secs(sourceRead.ms)} / – / –`, sourceRun.peakRssMb.toFixed(0), heap(sourceRun), secs(sourceRun.cpuMs), ''],
      ...rows.map((r) => {
        const s = (r.run?.stats ?? {}) as Record<string, number | string>;
        return [
          r.label,
          secs(r.wallMs),
          (r.wallMs / baselineRun.wallMs).toFixed(2),
          String(s.readMode ?? ''),
          String(s.requests ?? ''),
          `${secs(Number(s.readMs))} / ${secs(Number(s.planMs))} / ${secs(Number(s.applyMs))}`,
          r.peakRssMb.toFixed(0),
          heap(r),
          secs(r.cpuMs),
          String(r.run?.status ?? `exit ${r.code}`),
        ];
      }),
    ];
    const widths = head.map((h, k) => Math.max(h.length, ...body.map((row) => row[k]!.length)));
    const line = (cells: readonly string[]) => cells.map((c, k) => (k === 0 ? c.padEnd(widths[k]!) : c.padStart(widths[k]!))).join('  ');
    const report = [
      '',
      `groupsync Entra benchmark: ${USERS.toLocaleString('en')} users, ${GROUPS.toLocaleString('en')} groups, ${model.directMemberships.toLocaleString('en')} direct memberships, ${PAGE_SIZE} per page; node ${process.version}, ${availableParallelism()} CPUs, load ${loadAtStart.toFixed(2)} → ${loadavg()[0]!.toFixed(2)}`,
      '(wall times include process start; the loopback Graph runs in the bench process, one core shared with PostgreSQL)',
      '',
      line(head),
      widths.map((w) => '-'.repeat(w)).join('  '),
      ...body.map(line),
      '',
      `1% change: ${changes.users} users changed, -${changes.removed}/+${changes.added} direct memberships in ${changes.groups} groups → run ${JSON.stringify(changed.run?.counters ?? {})}`,
      `check: a full read (delta off) after the delta syncs: ${verified ? 'nothing to change (the delta-maintained store equals a full read)' : `FAILED, it changes ${JSON.stringify(verifyCounters)}`} (${secs(verify.wallMs)} s)`,
    ];
    process.stdout.write(`${report.join('\n')}\n`);
    writeFileSync(
      join(OUT, 'entra-results.json'),
      `${JSON.stringify({ at: new Date().toISOString(), users: USERS, groups: GROUPS, pageSize: PAGE_SIZE, baseline: { ...baseline, wallMs: baselineRun.wallMs, peakRssMb: baselineRun.peakRssMb, memoryMb: baselineRun.memoryMb }, sourceRead: { ...sourceRead, wallMs: sourceRun.wallMs, ratio: sourceRun.wallMs / baselineRun.wallMs, peakRssMb: sourceRun.peakRssMb, memoryMb: sourceRun.memoryMb, cpuMs: sourceRun.cpuMs }, changes, verified, verifyCounters, runs: rows.map((r) => ({ label: r.label, wallMs: r.wallMs, ratio: r.wallMs / baselineRun.wallMs, peakRssMb: r.peakRssMb, memoryMb: r.memoryMb, cpuMs: r.cpuMs, exit: r.code, run: r.run })) }, null, 2)}\n`,
    );
    if (!verified || rows.some((r) => r.code !== 0 || r.run?.status !== 'success')) process.exitCode = 1;
  } finally {
    await sql?.end({ timeout: 5 }).catch(() => {});
    await graph?.stop().catch(() => {});
    await pg?.stop().catch(() => {});
    if (!process.env.BENCH_KEEP) rmSync(workDir, { recursive: true, force: true });
  }
}

if (process.argv[2] === 'baseline') await baselineChild();
else if (process.argv[2] === 'source-read') await sourceReadChild();
else await main();
