// A private, throw-away PostgreSQL server for tests, from the binaries of the embedded store's
// npm package (src/store/embedded.ts): initdb into a temp dir, trust auth,
// 127.0.0.1 on a free port, fsync off. PostgreSQL refuses to run as root, so when we are
// root the cluster is created and run as the `postgres` system user (or `nobody`).
import { execFileSync } from 'node:child_process';
import { appendFileSync, chownSync, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { postgresBinaries, postmasterPid } from '../../src/store/embedded.ts';
import { freePort, isAlive, isRoot, removeDir, run, sleep, startWatchdog, CommandError } from './proc.ts';

export interface PostgresHandle {
  /** Admin (superuser `postgres`) URL of the `postgres` database. */
  url: string;
  host: string;
  port: number;
  /** The cluster's folder (PGDATA). */
  dataDir: string;
  /** Creates a fresh, empty database (dropping one of that name first) and returns its URL. */
  createDatabase(name?: string): Promise<string>;
  dropDatabase(name: string): Promise<void>;
  stop(): Promise<void>;
}

export interface StartPostgresOptions {
  /** Extra postgresql.conf lines, e.g. `{ max_connections: 300 }`. */
  settings?: Record<string, string | number | boolean>;
}

const SUPERUSER = 'postgres';

interface RunAs {
  uid?: number;
  gid?: number;
}

/** When root: the uid/gid of a non-root account PostgreSQL will accept. */
function pickRunAs(): RunAs {
  if (!isRoot()) return {};
  for (const user of ['postgres', 'nobody']) {
    try {
      const uid = Number(execFileSync('id', ['-u', user], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
      const gid = Number(execFileSync('id', ['-g', user], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
      if (Number.isInteger(uid) && uid > 0 && Number.isInteger(gid)) return { uid, gid };
    } catch {
      /* no such user */
    }
  }
  throw new Error('running as root and found neither a `postgres` nor a `nobody` user to run PostgreSQL as');
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

function dbUrl(port: number, db: string): string {
  return `postgres://${SUPERUSER}@127.0.0.1:${port}/${encodeURIComponent(db)}`;
}

let dbCounter = 0;

/** A database name unlikely to clash across parallel test files. */
export function uniqueDatabaseName(prefix = 'test'): string {
  dbCounter += 1;
  const clean = prefix.toLowerCase().replace(/[^a-z0-9_]/g, '_').slice(0, 30);
  return `${clean}_${process.pid}_${dbCounter}_${Math.random().toString(36).slice(2, 8)}`;
}

async function withAdmin<T>(adminUrl: string, fn: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  const sql = postgres(adminUrl, { max: 1, onnotice: () => {}, connect_timeout: 10 });
  try {
    return await fn(sql);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/**
 * Creates a fresh database on the server behind `adminUrl` (dropping an existing one of that name,
 * forcibly) and returns its URL. Usable from test files with the URL from `inject('pgUrl')`.
 * `template` is the database it is a copy of: template0 (empty), or `inject('pgTemplate')` (the
 * store's schema, every migration applied, no rows).
 */
export async function createDatabase(adminUrl: string, name: string = uniqueDatabaseName(), template = 'template0'): Promise<string> {
  await withAdmin(adminUrl, async (sql) => {
    await sql.unsafe(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
    for (let attempt = 0; ; attempt++) {
      try {
        await sql.unsafe(`CREATE DATABASE ${quoteIdent(name)} TEMPLATE ${quoteIdent(template)} ENCODING 'UTF8'`);
        break;
      } catch (e) {
        // Concurrent CREATE DATABASE calls can briefly collide on the template.
        if (attempt < 10 && /being accessed by other users/.test(String(e))) {
          await sleep(100);
          continue;
        }
        throw e;
      }
    }
  });
  return withDatabase(adminUrl, name);
}

/** The same server's URL with another database. */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${encodeURIComponent(database)}`;
  return u.toString();
}

export async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  await withAdmin(adminUrl, async (sql) => {
    await sql.unsafe(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
  });
}

export async function startPostgres(opts: StartPostgresOptions = {}): Promise<PostgresHandle> {
  // The PostgreSQL the embedded store ships (npm): tests need no system PostgreSQL.
  const { initdb, pg_ctl: pgCtl } = await postgresBinaries();
  const runAs = pickRunAs();

  // /tmp rather than a possibly root-only $TMPDIR, so the non-root server user can reach it.
  const root = mkdtempSync(join(isRoot() ? '/tmp' : tmpdir(), 'groupsync-pg-'));
  const dataDir = join(root, 'data');
  const logFile = join(root, 'postgres.log');
  if (runAs.uid !== undefined && runAs.gid !== undefined) chownSync(root, runAs.uid, runAs.gid);
  // Run with cwd inside the temp dir: the server user may not be able to enter ours.
  const runOpts = { ...runAs, cwd: root, env: { ...process.env, LC_ALL: 'C', LANG: 'C', PGTZ: 'UTC' } };

  let watchdog: ReturnType<typeof startWatchdog> | undefined;
  try {
    await run(initdb, ['-D', dataDir, '-A', 'trust', '-U', SUPERUSER, '-E', 'UTF8', '--locale=C', '--no-sync', '--no-instructions'], runOpts);

    const settings: Record<string, string | number | boolean> = {
      listen_addresses: '127.0.0.1',
      unix_socket_directories: '',
      fsync: false,
      synchronous_commit: false,
      full_page_writes: false,
      max_connections: 200,
      shared_buffers: '128MB',
      timezone: 'UTC',
      log_min_messages: 'warning',
      log_min_error_statement: 'panic',
      ...opts.settings,
    };
    const conf = Object.entries(settings)
      .map(([k, v]) => `${k} = ${typeof v === 'string' ? `'${v.replace(/'/g, "''")}'` : typeof v === 'boolean' ? (v ? 'on' : 'off') : v}`)
      .join('\n');
    appendFileSync(join(dataDir, 'postgresql.conf'), `\n# groupsync test harness\n${conf}\n`);

    let port = 0;
    for (let attempt = 0; ; attempt++) {
      port = await freePort();
      try {
        await run(pgCtl, ['start', '-D', dataDir, '-l', logFile, '-w', '-t', '60', '-s', '-o', `-p ${port}`], runOpts);
        break;
      } catch (e) {
        const log = existsSync(logFile) ? readFileSync(logFile, 'utf8') : '';
        if (attempt < 4 && /already in use|could not bind/i.test(log)) continue;
        throw new Error(`pg_ctl start failed: ${e instanceof CommandError ? e.message : String(e)}\n--- postgres.log ---\n${log}`, { cause: e });
      }
    }
    const pid = postmasterPid(dataDir);
    if (pid === null) throw new Error('postgres started but wrote no postmaster.pid');
    // SIGQUIT = immediate shutdown, should this process die without calling stop().
    watchdog = startWatchdog([pid], [root], 'QUIT');

    const url = dbUrl(port, 'postgres');
    // pg_ctl -w already waited for "ready"; make sure we can really connect.
    for (let attempt = 0; ; attempt++) {
      try {
        await withAdmin(url, (sql) => sql`select 1`);
        break;
      } catch (e) {
        if (attempt >= 50) throw e;
        await sleep(100);
      }
    }

    let stopped = false;
    const wd = watchdog;
    return {
      url,
      host: '127.0.0.1',
      port,
      dataDir,
      createDatabase: (name?: string) => createDatabase(url, name),
      dropDatabase: (name: string) => dropDatabase(url, name),
      async stop() {
        if (stopped) return;
        stopped = true;
        try {
          await run(pgCtl, ['stop', '-D', dataDir, '-m', 'immediate', '-w', '-t', '30', '-s'], runOpts);
        } catch {
          if (isAlive(pid)) process.kill(pid, 'SIGKILL');
        }
        for (let i = 0; i < 50 && isAlive(pid); i++) await sleep(50);
        wd.disarm();
        removeDir(root);
      },
    };
  } catch (e) {
    const pid = postmasterPid(dataDir);
    if (pid !== null && isAlive(pid)) {
      try {
        process.kill(pid, 'SIGQUIT');
      } catch {
        /* gone */
      }
      for (let i = 0; i < 50 && isAlive(pid); i++) await sleep(50);
    }
    watchdog?.disarm();
    removeDir(root);
    throw e;
  }
}
