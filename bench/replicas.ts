// Two connections on one PostgreSQL, synced by one process or by two: `npm run bench:replicas`.
//
// Several groupsync processes may share one database: each run holds its connection's lease, and
// the scheduler's claims hand each due connection to one process, so replicas split the
// connections between them. This measures what that buys on this machine: the generated
// directory (generate.ts; BENCH_USERS, default 50,000, groups a tenth) in a private slapd, read
// by two connections that share nothing in the store (both match users on login; `a` reads
// logins from uid, `b` takes its logins and group names from entryUUID, so neither finds the
// other's groups or users, whichever applies first), and
//   1. one process: `groupsync sync a`, then `groupsync sync b`, into an empty database;
//   2. two processes at once, one per connection, into another empty database.
// Each variant's wall time is reported with its ratio to the one-process variant, with the
// peak RSS of each process and the rows each run wrote (both variants must write the same).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { startPostgres } from '../test/support/postgres.ts';
import { startSlapd } from '../test/support/slapd.ts';
import { benchConnection } from './connection.ts';
import { buildModel, writeLdif } from './generate.ts';
import { RUSAGE_HOOK, readRusage } from './rusage.ts';
import { withoutStoreEnv } from './store-target.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const USERS = Number(process.env.BENCH_USERS ?? 50_000);
const GROUPS = Number(process.env.BENCH_GROUPS ?? Math.round(USERS / 10));
const log = (text: string) => process.stderr.write(`[bench:replicas ${new Date().toISOString().slice(11, 19)}] ${text}\n`);
const secs = (ms: number) => (ms / 1000).toFixed(2);

interface Sync {
  readonly connection: string;
  readonly wallMs: number;
  readonly rssMb: number;
  readonly code: number | null;
}

async function sync(connection: string, env: NodeJS.ProcessEnv, workDir: string): Promise<Sync> {
  const rusageFile = join(workDir, `${connection}-${process.hrtime.bigint()}.json`);
  const started = performance.now();
  const code = await new Promise<number | null>((done, fail) => {
    const child = spawn(process.execPath, ['--max-semi-space-size=16', '--expose-gc', `--import=${RUSAGE_HOOK}`, 'bin/groupsync.mjs', 'sync', connection, '--json'], {
      cwd: ROOT,
      env: { ...env, BENCH_RUSAGE_FILE: rusageFile, LOG_LEVEL: 'warn' },
      stdio: 'ignore',
    });
    child.once('error', fail);
    child.once('close', done);
  });
  return { connection, wallMs: performance.now() - started, rssMb: (readRusage(rusageFile)?.maxRSS ?? NaN) / 1024, code };
}

async function rowCounts(url: string): Promise<string> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const rows = await sql<Array<{ t: string; n: number }>>`
      select 'local_users' as t, count(*)::int as n from local_users union all
      select 'local_groups', count(*)::int from local_groups union all
      select 'memberships', count(*)::int from memberships union all
      select 'runs ok', count(*)::int from runs where status = 'success'`;
    return rows.map((r) => `${r.t} ${r.n}`).join(', ');
  } finally {
    await sql.end({ timeout: 5 });
  }
}

async function main(): Promise<void> {
  const workDir = mkdtempSync(join(tmpdir(), 'groupsync-replicas-'));
  const load = loadavg()[0]!;
  const model = buildModel({ users: USERS, groups: GROUPS });
  const ldif = join(workDir, 'directory.ldif');
  await writeLdif(model, ldif);
  const [ldap, pg] = await Promise.all([startSlapd({ bulkLdif: ldif }), startPostgres()]);
  try {
    const a = benchConnection(ldap.url);
    const b = { ...benchConnection(ldap.url), name: 'b', matchKey: 'login', attributes: { groupName: 'entryUUID', login: 'entryUUID' } };
    const configFile = join(workDir, 'groupsync.json');
    writeFileSync(configFile, JSON.stringify({ connections: [{ ...a, name: 'a', matchKey: 'login' }, b] }));
    const base = { ...withoutStoreEnv(process.env), GROUPSYNC_CONFIG: configFile, BENCH_LDAP_PASSWORD: ldap.adminPassword };

    const oneUrl = await pg.createDatabase('replicas_one');
    log('one process: sync a, then sync b…');
    let t = performance.now();
    const oneA = await sync('a', { ...base, DATABASE_URL: oneUrl }, workDir);
    const oneB = await sync('b', { ...base, DATABASE_URL: oneUrl }, workDir);
    const oneMs = performance.now() - t;

    const twoUrl = await pg.createDatabase('replicas_two');
    // Both processes migrate an empty database: the migration lock makes one wait for the other.
    log('two processes at once: sync a ‖ sync b…');
    t = performance.now();
    const [twoA, twoB] = await Promise.all([sync('a', { ...base, DATABASE_URL: twoUrl }, workDir), sync('b', { ...base, DATABASE_URL: twoUrl }, workDir)]);
    const twoMs = performance.now() - t;

    const line = (s: Sync) => `${s.connection} ${secs(s.wallMs)} s, ${s.rssMb.toFixed(0)} MB${s.code === 0 ? '' : ` [exit ${s.code}]`}`;
    const report = [
      '',
      `groupsync replicas benchmark: ${USERS.toLocaleString('en')} users, ${GROUPS.toLocaleString('en')} groups, two connections; ${availableParallelism()} CPUs, load ${load.toFixed(2)} → ${loadavg()[0]!.toFixed(2)}`,
      '',
      `one process, a then b:   ${secs(oneMs)} s (1.00×)   ${line(oneA)}; ${line(oneB)}`,
      `two processes at once:   ${secs(twoMs)} s (${(twoMs / oneMs).toFixed(2)}×)   ${line(twoA)}; ${line(twoB)}`,
      '',
      `rows, one process:   ${await rowCounts(oneUrl)}`,
      `rows, two processes: ${await rowCounts(twoUrl)}`,
    ];
    process.stdout.write(`${report.join('\n')}\n`);
    if ([oneA, oneB, twoA, twoB].some((s) => s.code !== 0)) process.exitCode = 1;
  } finally {
    await ldap.stop().catch(() => {});
    await pg.stop().catch(() => {});
    rmSync(workDir, { recursive: true, force: true });
  }
}

await main();
