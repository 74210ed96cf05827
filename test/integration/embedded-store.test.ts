/**
 * The embedded PostgreSQL server shared by the processes of one data folder: whichever process
 * comes first starts it, the others attach, the last to leave stops it; a crash of the owner (or
 * of the server itself), a stale postmaster.pid and a port taken by another program are
 * recovered from on the next start, saying what happened.
 */
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { type Server, createServer } from 'node:net';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import { GroupsyncError } from '../../src/errors.ts';
import { type Store, openStore, queryRows } from '../../src/store/db.ts';
import { isAlive, sleep } from '../support/proc.ts';
import { type ServiceProcess, bareEnv, cli, embeddedServerPid, freshDataDir, startServiceProcess, stopEmbeddedServer } from '../support/service-process.ts';

let dataDir = '';
let service: ServiceProcess | null = null;
const open: Store[] = [];
const cleanups: Array<() => void> = [];

afterEach(async () => {
  await service?.stop('SIGKILL');
  service = null;
  for (const store of open.splice(0)) await store.close().catch(() => undefined);
  for (const cleanup of cleanups.splice(0)) cleanup();
  await stopEmbeddedServer(dataDir);
});

async function openEmbedded(events: string[] = []): Promise<Store> {
  const store = await openStore({ dataDir, maxConnections: 2, onEvent: (message) => events.push(message) });
  open.push(store);
  return store;
}

async function closeStore(store: Store): Promise<void> {
  open.splice(open.indexOf(store), 1);
  await store.close();
}

async function countConnections(store: Store): Promise<number> {
  const [row] = await queryRows<{ n: number }>(store.db, sql`select count(*)::int as n from connections`);
  return row!.n;
}

async function waitUntilDead(pid: number): Promise<void> {
  for (let i = 0; i < 200 && isAlive(pid); i++) await sleep(50);
  expect(isAlive(pid)).toBe(false);
}

describe('the embedded PostgreSQL shared by the processes of a data folder', () => {
  it('the first process starts it, a second attaches; it runs until the last one leaves, whichever leaves first', async () => {
    dataDir = freshDataDir();
    const firstEvents: string[] = [];
    const first = await openEmbedded(firstEvents);
    expect(firstEvents[0]).toBe(`initialised the embedded PostgreSQL cluster in ${path.join(dataDir, 'postgres')}`);
    expect(firstEvents[1]).toMatch(/^started the embedded PostgreSQL/);
    expect(firstEvents).toContainEqual(expect.stringMatching(/^store schema: applied \d+ migrations: 0000_init, /));
    const secondEvents: string[] = [];
    const second = await openEmbedded(secondEvents);
    expect(secondEvents).toEqual([expect.stringMatching(/^attached to the embedded PostgreSQL/), expect.stringMatching(/^store schema up to date \(\d+ migrations\)$/)]);
    expect(second.url).toBe(first.url);

    // The process that started the server leaves first: the server stays for the other.
    await closeStore(first);
    expect(embeddedServerPid(dataDir)).not.toBeNull();
    expect(await countConnections(second)).toBe(0);
    await closeStore(second);
    expect(embeddedServerPid(dataDir)).toBeNull();
  });

  it('kill -9 of the service that started it: the server keeps running, the CLI attaches, a restarted service finds the data', async () => {
    dataDir = freshDataDir();
    const env = bareEnv(dataDir);
    service = await startServiceProcess(env);
    await service.waitFor('scheduled sync of sample');
    const serverPid = embeddedServerPid(dataDir);
    expect(serverPid).not.toBeNull();
    await service.stop('SIGKILL');
    service = null;
    expect(embeddedServerPid(dataDir)).toBe(serverPid);

    const status = await cli(env, '--json', 'status', 'sample');
    expect(status.stderr).toBe('');
    expect(JSON.parse(status.stdout)).toMatchObject({ name: 'sample', syncedUsers: 7, linkedGroups: 3 });
    // The CLI was the last process attached: it stopped the server.
    await waitUntilDead(serverPid!);

    service = await startServiceProcess(env);
    expect(service.lines[0]?.msg).toMatch(/^started the embedded PostgreSQL/);
    const health = await fetch(`http://127.0.0.1:${service.port}/healthz`);
    expect(await health.json()).toMatchObject({ status: 'ok', store: 'embedded' });
  });

  it('kill -9 of the service and of the server (a crash): the next start recovers the cluster and its data', async () => {
    dataDir = freshDataDir();
    const env = bareEnv(dataDir);
    service = await startServiceProcess(env);
    await service.waitFor('scheduled sync of sample');
    const serverPid = embeddedServerPid(dataDir)!;
    await service.stop('SIGKILL');
    service = null;
    process.kill(serverPid, 'SIGKILL');
    await waitUntilDead(serverPid);

    const status = await cli(env, '--json', 'status', 'sample');
    expect(status.stderr).toBe('groupsync: the embedded PostgreSQL was not stopped cleanly (a crash?): it recovers as it starts\n');
    expect(JSON.parse(status.stdout)).toMatchObject({ name: 'sample', syncedUsers: 7, linkedGroups: 3 });
    expect(readFileSync(path.join(dataDir, 'postgres', 'server.log'), 'utf8')).toMatch(/database system was interrupted|not properly shut down/);
  });

  it('a stale postmaster.pid whose process id now belongs to another program is removed, with a message', async () => {
    dataDir = freshDataDir();
    await closeStore(await openEmbedded());
    const other = spawn('sleep', ['60']);
    cleanups.push(() => other.kill('SIGKILL'));
    const pidFile = path.join(dataDir, 'postgres', 'postmaster.pid');
    writeFileSync(pidFile, `${other.pid}\n${path.join(dataDir, 'postgres')}\n1796600000\n5432\n\n127.0.0.1\n  1234  5678\nready   \n`);

    const events: string[] = [];
    const store = await openEmbedded(events);
    expect(events).toContain(`removed a stale postmaster.pid (its process ${other.pid} is no longer this cluster's PostgreSQL)`);
    expect(await countConnections(store)).toBe(0);
  });

  it('a stale postmaster.pid whose process id now belongs to the PostgreSQL of another cluster is removed, with a message', async () => {
    dataDir = freshDataDir();
    await closeStore(await openEmbedded());
    // Another cluster's server (after a reboot, the system's PostgreSQL may well get the old pid).
    const otherDir = freshDataDir('groupsync-other-');
    const other = await openStore({ dataDir: otherDir, maxConnections: 1 });
    cleanups.push(() => rmSync(otherDir, { recursive: true, force: true }));
    try {
      const otherPid = embeddedServerPid(otherDir)!;
      const { port } = JSON.parse(readFileSync(path.join(dataDir, 'postgres.json'), 'utf8')) as { port: number };
      const pidFile = path.join(dataDir, 'postgres', 'postmaster.pid');
      writeFileSync(pidFile, `${otherPid}\n${path.join(dataDir, 'postgres')}\n1796600000\n${port}\n\n127.0.0.1\n  1234  5678\nready   \n`);

      const events: string[] = [];
      const store = await openEmbedded(events);
      expect(events).toContain(`removed a stale postmaster.pid (its process ${otherPid} is no longer this cluster's PostgreSQL)`);
      expect(await countConnections(store)).toBe(0);
      expect(embeddedServerPid(dataDir)).not.toBe(otherPid);
    } finally {
      await other.close();
    }
  });

  it('a port taken by another program: the server moves to a free port and says so', async () => {
    dataDir = freshDataDir();
    await closeStore(await openEmbedded());
    const { port } = JSON.parse(readFileSync(path.join(dataDir, 'postgres.json'), 'utf8')) as { port: number };
    const squatter: Server = createServer();
    await new Promise<void>((resolve) => squatter.listen(port, '127.0.0.1', resolve));
    cleanups.push(() => squatter.close());

    const events: string[] = [];
    const store = await openEmbedded(events);
    const moved = JSON.parse(readFileSync(path.join(dataDir, 'postgres.json'), 'utf8')) as { port: number };
    expect(moved.port).not.toBe(port);
    expect(events).toContain(`port ${port} is in use by another program: the embedded PostgreSQL moves to port ${moved.port}`);
    expect(store.location).toContain(`127.0.0.1:${moved.port}`);
    expect(await countConnections(store)).toBe(0);
  });

  it.each([
    { what: 'deleted', damage: (file: string) => rmSync(file) },
    { what: 'garbage', damage: (file: string) => writeFileSync(file, '{"port": 54') },
  ])('a $what postgres.json beside a cluster with data: refused with the fix, and the cluster is kept', async ({ damage }) => {
    dataDir = freshDataDir();
    const first = await openEmbedded();
    await queryRows(first.db, sql`insert into connections (name, kind) values ('kept', 'ldap')`);
    await closeStore(first);
    const stateFile = path.join(dataDir, 'postgres.json');
    const saved = readFileSync(stateFile, 'utf8');
    damage(stateFile);

    const error = await openEmbedded().then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(GroupsyncError);
    expect((error as Error).message).toBe(
      `the embedded PostgreSQL cluster in ${path.join(dataDir, 'postgres')} has no readable ${stateFile} (its port and password): ` +
        'restore that file from a backup of the data folder, or move the postgres folder away to start with a new, empty store',
    );
    writeFileSync(stateFile, saved);
    expect(await countConnections(await openEmbedded())).toBe(1);
  });

  it('kill -9 of the server while a process uses it: the process starts it again and goes on', async () => {
    dataDir = freshDataDir();
    const events: string[] = [];
    const store = await openEmbedded(events);
    const first = embeddedServerPid(dataDir)!;
    process.kill(first, 'SIGKILL');
    await waitUntilDead(first);
    // Until it has started the server a second time (a loaded machine may take a while: the deadline only ends a stuck test).
    const starts = () => events.filter((e) => e.startsWith('started the embedded PostgreSQL')).length;
    for (let i = 0; i < 1000 && starts() < 2; i++) await sleep(50);
    expect(starts()).toBe(2);
    expect(events).toContain('lost the embedded PostgreSQL (its server stopped): starting it again');
    expect(embeddedServerPid(dataDir)).not.toBe(first);
    expect(await countConnections(store)).toBe(0);
    // It is still counted as a user: another process leaving does not stop the server under it.
    await closeStore(await openEmbedded());
    expect(embeddedServerPid(dataDir)).not.toBeNull();
  }, 120_000);

  it('a data folder copied while its server runs starts a server of its own, and never writes into the original', async () => {
    dataDir = freshDataDir();
    const original = await openEmbedded();
    const copy = freshDataDir('groupsync-copy-');
    cleanups.push(() => rmSync(copy, { recursive: true, force: true }));
    execFileSync('cp', ['-a', `${dataDir}/.`, copy]);
    const events: string[] = [];
    const copied = await openStore({ dataDir: copy, maxConnections: 1, onEvent: (message) => events.push(message) });
    try {
      expect(events).toContain(`removed a postmaster.pid of another cluster (${path.join(dataDir, 'postgres')}; a copy of a data folder?): this cluster starts its own server`);
      await queryRows(copied.db, sql`insert into connections (name, kind) values ('only-in-the-copy', 'ldap')`);
      expect(await countConnections(copied)).toBe(1);
      expect(await countConnections(original)).toBe(0);
    } finally {
      await copied.close();
    }
  });

  it('a data folder that cannot be made or written says so and names GROUPSYNC_DATA_DIR', async () => {
    const parent = freshDataDir('groupsync-file-');
    cleanups.push(() => rmSync(parent, { recursive: true, force: true }));
    dataDir = path.join(parent, 'data');
    writeFileSync(dataDir, 'not a folder');
    const error = await openEmbedded().then(() => null, (e: unknown) => e);
    expect((error as Error).message).toBe(`cannot make the data folder ${dataDir} (EEXIST: a file of that name is in the way): set GROUPSYNC_DATA_DIR to a writable folder`);
    rmSync(dataDir);
    mkdirSync(dataDir);
    // A file where the lock folder goes, left there long ago (older than a stale lock: it is not waited for).
    const inTheWay = path.join(dataDir, 'postgres.lock');
    writeFileSync(inTheWay, 'a file where the lock folder goes');
    const anHourAgo = new Date(Date.now() - 3_600_000);
    utimesSync(inTheWay, anHourAgo, anHourAgo);
    const locked = await openEmbedded().then(() => null, (e: unknown) => e);
    expect((locked as Error).message).toMatch(/^cannot write in the data folder .* \(ENOTDIR\): make it writable, or set GROUPSYNC_DATA_DIR to a writable folder$/);
  });

  it("a postgres.json from another data folder (another password): refused, naming the file and the fix", async () => {
    dataDir = freshDataDir();
    await closeStore(await openEmbedded());
    const stateFile = path.join(dataDir, 'postgres.json');
    const state = JSON.parse(readFileSync(stateFile, 'utf8')) as Record<string, unknown>;
    writeFileSync(stateFile, JSON.stringify({ ...state, password: 'not-this-clusters' }));
    const error = await openEmbedded().then(() => null, (e: unknown) => e);
    expect((error as Error).message).toBe(
      `the embedded PostgreSQL refused the password in ${stateFile}: that file is not the one made with this cluster ` +
        '(copied from another data folder?); put back the postgres.json that came with this postgres folder',
    );
    expect(embeddedServerPid(dataDir)).toBeNull();
  });

  it('the CLI first, then the service: the service attaches to the CLI\'s server, and the CLI leaving does not stop it', async () => {
    dataDir = freshDataDir();
    const env = bareEnv(dataDir);
    const cliProcess = await openEmbedded();
    service = await startServiceProcess(env);
    expect(service.lines[0]?.msg).toMatch(/^attached to the embedded PostgreSQL/);
    await closeStore(cliProcess);
    await service.waitFor('scheduled sync of sample');
    const status = await cli(env, '--json', 'status', 'sample');
    expect(JSON.parse(status.stdout)).toMatchObject({ name: 'sample', syncedUsers: 7 });
    const serverPid = embeddedServerPid(dataDir)!;
    expect(await service.stop('SIGTERM')).toBe(0);
    service = null;
    await waitUntilDead(serverPid);
  });
});

describe('a data folder the server cannot use', () => {
  it('as root, a folder closed to the postgres account is refused with the cause and the fix; otherwise it is ours and works', async () => {
    const closed = freshDataDir('groupsync-closed-');
    chmodSync(closed, 0o700);
    dataDir = path.join(closed, 'data');
    const opened = openStore({ dataDir, maxConnections: 1 }).then((store) => {
      open.push(store);
      return null;
    }, (error: unknown) => error);
    const error = await opened;
    if (process.getuid?.() === 0) {
      expect(error).toBeInstanceOf(GroupsyncError);
      expect((error as GroupsyncError).code).toBe('STORE_FAILED');
      expect((error as Error).message).toContain(`runs as the account postgres (PostgreSQL refuses root), which cannot enter ${dataDir}`);
      expect((error as Error).message).toContain('Set GROUPSYNC_DATA_DIR to a folder it can reach');
      expect(existsSync(path.join(dataDir, 'postgres'))).toBe(false);
    } else {
      expect(error).toBeNull();
    }
  });
});

describe('a lock left by a process killed while it started or stopped the server', () => {
  it('is waited for with a message saying so, and taken over once stale', async () => {
    dataDir = freshDataDir();
    // What proper-lockfile leaves when its holder is killed: here killed 15 s ago, so the lock turns
    // stale (20 s without a refresh) about 5 s into the wait, after the wait is said (at 1 s).
    const lock = path.join(dataDir, 'postgres.lock');
    mkdirSync(lock);
    const killedAt = new Date(Date.now() - 15_000);
    utimesSync(lock, killedAt, killedAt);
    const events: string[] = [];
    const store = await openEmbedded(events);
    expect(events[0]).toBe(
      `waiting for ${path.join(dataDir, 'postgres.lock')}: another groupsync process is starting or stopping the embedded PostgreSQL ` +
        '(a lock left by a process that was killed is taken over after 20 s)',
    );
    expect(events[1]).toMatch(/^initialised the embedded PostgreSQL cluster/);
    expect(await countConnections(store)).toBe(0);
  }, 120_000);
});

describe('a data folder copied without its owners', () => {
  it('a cluster copied as root (cp -r: now root\'s) is refused, naming the owner it needs and the command that gives it back; then it starts with its data', async () => {
    dataDir = freshDataDir();
    const first = await openEmbedded();
    await queryRows(first.db, sql`insert into connections (name, kind) values ('kept', 'ldap')`);
    await closeStore(first);
    const copy = freshDataDir('groupsync-copy-');
    cleanups.push(() => rmSync(copy, { recursive: true, force: true }));
    execFileSync('cp', ['-r', `${dataDir}/.`, copy]);
    dataDir = copy;
    const cluster = path.join(copy, 'postgres');
    const error = await openEmbedded().then(() => null, (e: unknown) => e);
    if (process.getuid?.() !== 0) {
      expect(error).toBeNull(); // a copy by its owner keeps the owner
      return;
    }
    expect(error).toBeInstanceOf(GroupsyncError);
    expect((error as Error).message).toBe(
      `the embedded PostgreSQL cluster in ${cluster} belongs to the account root, but its server runs as postgres ` +
        `(a data folder copied without keeping its owners?): give it back with chown -R postgres: ${cluster}`,
    );
    execFileSync('chown', ['-R', 'postgres:', cluster]);
    expect(await countConnections(await openEmbedded())).toBe(1);
  });
});
