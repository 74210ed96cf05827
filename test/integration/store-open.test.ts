/**
 * Opening an external PostgreSQL store: each way a connection fails is named with its cause and
 * the fix, before any migration runs, and never with the password. Against the suite's real
 * PostgreSQL server and a closed port.
 */
import { describe, expect, inject, it } from 'vitest';
import { GroupsyncError } from '../../src/errors.ts';
import { sql } from 'drizzle-orm';
import { describeConnectFailure, openStore, queryRows } from '../../src/store/db.ts';
import { type AddressInfo, type Socket, createServer } from 'node:net';
import { createDatabase } from '../support/postgres.ts';
import { freePort, removeDir } from '../support/proc.ts';
import { freshDataDir, stopEmbeddedServer } from '../support/service-process.ts';

const SECRET = 'hunter2-secret';

/** The admin URL of the suite's server with another user, password and database. */
function serverUrl(user: string, database: string): string {
  const url = new URL(inject('pgUrl'));
  url.username = user;
  url.password = SECRET;
  url.pathname = `/${database}`;
  return url.toString();
}

async function refusal(databaseUrl: string): Promise<GroupsyncError> {
  const error = await openStore({ databaseUrl, maxConnections: 1 }).then(
    async (store) => {
      await store.close();
      return null;
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(GroupsyncError);
  return error as GroupsyncError;
}

describe('openStore: why PostgreSQL cannot be used, and what to do', () => {
  it('a closed port: connection refused, check that PostgreSQL runs there', async () => {
    const port = await freePort();
    const error = await refusal(`postgres://groupsync:${SECRET}@127.0.0.1:${port}/groupsync`);
    expect(error.code).toBe('STORE_FAILED');
    expect(error.message).toContain(`cannot open PostgreSQL at postgres://groupsync:***@127.0.0.1:${port}/groupsync`);
    expect(error.message).toContain(`connection refused (ECONNREFUSED) at 127.0.0.1:${port}`);
    expect(error.message).toContain('is PostgreSQL running there? check the host and port in DATABASE_URL');
  });

  it.each([
    { what: 'a database that does not exist', user: 'postgres', database: 'no_such_db', cause: 'database "no_such_db" does not exist', fix: 'create it (createdb no_such_db)' },
    { what: 'a role that does not exist', user: 'no_such_role', database: 'postgres', cause: 'role "no_such_role" does not exist', fix: 'create the role' },
  ])('$what: the cause and the fix', async ({ user, database, cause, fix }) => {
    const error = await refusal(serverUrl(user, database));
    expect(error.code).toBe('STORE_FAILED');
    expect(error.message).toContain(cause);
    expect(error.message).toContain(fix);
    expect(error.message).not.toContain('Failed query');
    expect(error.message).not.toContain(SECRET);
  });

  it.each([
    { url: `mysql://groupsync:${SECRET}@db.example.com/groupsync`, message: 'DATABASE_URL must be a postgres:// (or postgresql://) URL, not mysql://' },
    { url: `db.example.com:5432/groupsync`, message: 'DATABASE_URL must be a postgres:// (or postgresql://) URL' },
  ])('not a PostgreSQL URL ($url): said before connecting', async ({ url, message }) => {
    const error = await refusal(url);
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toContain(message);
    expect(error.message).not.toContain(SECRET);
  });
});

describe('openStore: a server that checks passwords, and a port where something else answers', () => {
  it('a wrong password: the server refuses it, the message says to check the password, never shows it', async () => {
    // The embedded cluster authenticates with scram-sha-256 (the suite's shared server trusts every connection).
    const dataDir = freshDataDir('groupsync-store-open-');
    const embedded = await openStore({ dataDir, maxConnections: 1 });
    try {
      const url = new URL(embedded.url);
      url.password = SECRET;
      const error = await refusal(url.toString());
      expect(error.code).toBe('STORE_FAILED');
      expect(error.message).toContain(`password authentication failed for user "${decodeURIComponent(url.username)}"; check the password in DATABASE_URL`);
      expect(error.message).not.toContain(SECRET);
      expect(error.message).not.toContain('Failed query');
    } finally {
      await embedded.close();
      await stopEmbeddedServer(dataDir);
      removeDir(dataDir);
    }
  });

  it.each([
    { what: 'an HTTP server', handler: (socket: Socket) => socket.once('data', () => socket.end('HTTP/1.1 400 Bad Request\r\n\r\n')) },
    { what: 'a server that closes every connection at once', handler: (socket: Socket) => socket.destroy() },
    { what: 'a server that never answers', handler: (socket: Socket) => socket.on('error', () => {}) },
  ])('a port where $what listens: refused with the cause within the deadline, not retried for ever', async ({ handler }) => {
    const sockets = new Set<Socket>();
    const server = createServer((socket) => {
      sockets.add(socket);
      handler(socket);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      const error = await openStore({ databaseUrl: `postgres://groupsync:${SECRET}@127.0.0.1:${port}/groupsync`, maxConnections: 1, firstAnswerMs: 1500 }).then(
        async (store) => (await store.close(), null),
        (e: unknown) => e as GroupsyncError,
      );
      expect(error?.code).toBe('STORE_FAILED');
      expect(error?.message).toContain(`cannot open PostgreSQL at postgres://groupsync:***@127.0.0.1:${port}/groupsync`);
      expect(error?.message).toMatch(/check the host and port in DATABASE_URL|check that DATABASE_URL points at PostgreSQL/);
      expect(error?.message).toMatch(/another service|not PostgreSQL|points at PostgreSQL/);
      expect(error?.message).not.toContain(SECRET);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('describeConnectFailure: the server errors a trust-auth test server cannot produce', () => {
  it.each([
    { error: { code: '28P01', message: `password authentication failed for user "groupsync"` }, text: 'password authentication failed for user "groupsync"; check the password in DATABASE_URL' },
    { error: { code: '53300', message: 'sorry, too many clients already' }, text: 'too many clients already; raise max_connections on the server' },
    { error: { code: 'ENOTFOUND', message: 'getaddrinfo ENOTFOUND db.example' }, text: 'host not found (ENOTFOUND); check the host name in DATABASE_URL' },
    { error: { code: 'CONNECT_TIMEOUT', message: 'write CONNECT_TIMEOUT db:5432' }, text: 'no answer (CONNECT_TIMEOUT); check the host, port and firewall' },
  ])('$error.code', ({ error, text }) => {
    expect(describeConnectFailure(Object.assign(new Error(error.message), error))).toContain(text);
  });
});

describe('openStore: several processes opening one new database at once', () => {
  it('migrates it once; none fails on the tables another is creating', async () => {
    const url = await createDatabase(inject('pgUrl'));
    const results = await Promise.allSettled(Array.from({ length: 4 }, () => openStore({ databaseUrl: url, maxConnections: 1 })));
    const failures = results.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason));
    for (const r of results) if (r.status === 'fulfilled') await r.value.close();
    expect(failures).toEqual([]);
  });
});

describe('openStore: what the migrations did', () => {
  it('says which migrations it applied to a new database, and that the schema is up to date the next time', async () => {
    const databaseUrl = await createDatabase(inject('pgUrl'));
    const said: string[] = [];
    const first = await openStore({ databaseUrl, maxConnections: 1, onEvent: (message) => said.push(message) });
    await first.close();
    expect(said.find((m) => m.startsWith('store schema: applied'))).toMatch(/^store schema: applied \d+ migrations: 0000_init, 0001_schedule_health, .*$/);
    said.length = 0;
    const second = await openStore({ databaseUrl, maxConnections: 1, onEvent: (message) => said.push(message) });
    await second.close();
    expect(said).toContainEqual(expect.stringMatching(/^store schema up to date \(\d+ migrations\)$/));
  });

  it('migrates a new database whether or not anyone listens to what it did', async () => {
    const store = await openStore({ databaseUrl: await createDatabase(inject('pgUrl')), maxConnections: 1 });
    try {
      expect(await queryRows<{ n: number }>(store.db, sql`select count(*)::int as n from connections`)).toEqual([{ n: 0 }]);
    } finally {
      await store.close();
    }
  });
});
