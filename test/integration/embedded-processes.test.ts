/**
 * Several groupsync processes on one data folder's embedded PostgreSQL, as an admin runs them:
 * the service and CLI commands started at the same moment on a fresh folder, and the service
 * killed (kill -9) in the middle of a sync while another process is attached, then the CLI and
 * a restarted service carrying on from what it left.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { type Store, openStore, queryRows } from '../../src/store/db.ts';
import { ldapConnection } from '../support/app.ts';
import { BotConnector } from '../support/bot-connector.ts';
import { isAlive, sleep } from '../support/proc.ts';
import { ServiceProcess, bareEnv, cli, embeddedServerPid, freshDataDir, startServiceProcess, stopEmbeddedServer } from '../support/service-process.ts';
import { FIXTURE_LDIF, type SlapdHandle, startSlapd } from '../support/slapd.ts';
import { ALICE, cardTexts, personalMessage, postActivity } from '../support/teams.ts';

let dataDir = '';
let service: ServiceProcess | null = null;
let attached: Store | null = null;
let ldap: SlapdHandle;
let configDir = '';
let connector: BotConnector;

beforeAll(async () => {
  ldap = await startSlapd({ ldif: [FIXTURE_LDIF.scenarios] });
  configDir = mkdtempSync(path.join(tmpdir(), 'groupsync-processes-'));
  connector = await new BotConnector().start();
});
afterAll(async () => {
  await ldap?.stop();
  await connector?.stop();
  rmSync(configDir, { recursive: true, force: true });
});
afterEach(async () => {
  ldap.resume();
  await service?.stop('SIGKILL');
  service = null;
  await attached?.close().catch(() => undefined);
  attached = null;
  await stopEmbeddedServer(dataDir);
});

/** Polls until `check` returns a value (not a timing assertion: the deadline only ends a stuck test). */
async function until<T>(what: string, check: () => Promise<T | null | undefined | false>): Promise<T> {
  for (let i = 0; i < 800; i++) {
    const value = await check();
    if (value) return value;
    await sleep(50);
  }
  throw new Error(`gave up waiting for ${what}`);
}

async function waitUntilDead(pid: number): Promise<void> {
  for (let i = 0; i < 200 && isAlive(pid); i++) await sleep(50);
  expect(isAlive(pid)).toBe(false);
}

/** The environment of an admin whose config file has one LDAP connection, synced every hour, and Alice as the Teams admin. */
function ldapEnv(dir: string): NodeJS.ProcessEnv {
  const configFile = path.join(configDir, 'groupsync.yaml');
  const chat = { admins: { teams: [ALICE.aadObjectId] } };
  writeFileSync(configFile, stringify({ connections: [ldapConnection(ldap, { schedule: { interval: '1h' }, timeoutSeconds: 60 })], chat }));
  return { ...bareEnv(dir, { TEST_LDAP_PASSWORD: ldap.adminPassword }), GROUPSYNC_CONFIG: configFile };
}

const runOf = async (store: Store, id: number) =>
  (await queryRows<{ status: string; error_code: string | null }>(store.db, sql`select status, error_code from runs where id = ${id}`))[0];

describe('the service and CLI commands on one embedded store', () => {
  it('two CLI commands and the service started at the same moment on a fresh data folder: one cluster, made once; all answer; the last to leave stops the server', async () => {
    dataDir = freshDataDir();
    const env = bareEnv(dataDir);
    service = new ServiceProcess(env);
    const [connections, status] = await Promise.all([cli(env, '--json', 'connections'), cli(env, '--json', 'status', 'sample')]);
    await service.waitFor('listening: ');

    expect(connections).toMatchObject({ code: 0 });
    expect(JSON.parse(connections.stdout)).toEqual([expect.objectContaining({ name: 'sample' })]);
    expect(status).toMatchObject({ code: 0 });
    expect(JSON.parse(status.stdout)).toMatchObject({ name: 'sample' });
    const said = [...connections.stderr.split('\n'), ...status.stderr.split('\n'), ...service.lines.map((line) => line.msg ?? '')];
    expect(said.filter((message) => message.includes('initialised the embedded PostgreSQL cluster'))).toEqual([
      expect.stringContaining(`initialised the embedded PostgreSQL cluster in ${path.join(dataDir, 'postgres')}`),
    ]);
    expect(said.filter((message) => /error|failed/i.test(message))).toEqual([]);

    await service.waitFor('scheduled sync of sample');
    const after = await cli(env, '--json', 'status', 'sample');
    expect(JSON.parse(after.stdout)).toMatchObject({ name: 'sample', syncedUsers: 7, linkedGroups: 3 });
    const serverPid = embeddedServerPid(dataDir)!;
    expect(await service.stop('SIGTERM')).toBe(0);
    service = null;
    await waitUntilDead(serverPid);
  }, 180_000);

  it('kill -9 of the service, restarted first: it joins the server it left, then after a crash of both recovers the cluster; the CLI works beside it; a clean stop leaves no server', async () => {
    dataDir = freshDataDir();
    const env = bareEnv(dataDir);
    service = await startServiceProcess(env);
    await service.waitFor('scheduled sync of sample');
    const serverPid = embeddedServerPid(dataDir)!;
    await service.stop('SIGKILL');

    service = await startServiceProcess(env);
    expect(service.lines[0]?.msg).toMatch(/^attached to the embedded PostgreSQL/);
    expect(embeddedServerPid(dataDir)).toBe(serverPid);
    await service.stop('SIGKILL');
    process.kill(serverPid, 'SIGKILL');
    await waitUntilDead(serverPid);

    service = await startServiceProcess(env);
    expect(service.lines.slice(0, 2).map((line) => line.msg)).toEqual([
      'the embedded PostgreSQL was not stopped cleanly (a crash?): it recovers as it starts',
      expect.stringMatching(/^started the embedded PostgreSQL/),
    ]);
    const beside = await cli(env, '--json', 'status', 'sample');
    expect(beside.stderr).toBe('');
    expect(JSON.parse(beside.stdout)).toMatchObject({ name: 'sample', syncedUsers: 7, linkedGroups: 3 });
    const restarted = embeddedServerPid(dataDir)!;
    // The killed processes' presence went with their connections: the service is the last one.
    expect(await service.stop('SIGTERM')).toBe(0);
    service = null;
    await waitUntilDead(restarted);
  }, 180_000);

  it('kill -9 of the service in the middle of a sync, another process attached: the CLI reads at once and is told when it may sync; then the run it left is closed and a restarted service carries on', async () => {
    dataDir = freshDataDir();
    const env = ldapEnv(dataDir);
    // A long command of the CLI (the same code opens the store), attached before the service.
    attached = await openStore({ dataDir, maxConnections: 2 });
    ldap.pause(); // the directory holds the service's first (scheduled) sync mid-read
    service = await startServiceProcess(env);
    expect(service.lines[0]?.msg).toMatch(/^attached to the embedded PostgreSQL/);
    await until('run #1 running in the service', async () => (await runOf(attached!, 1))?.status === 'running');

    // Chat is answered while the sync goes on (Teams, local mode: the loopback Bot Connector gets the reply).
    expect((await postActivity(`http://127.0.0.1:${service.port}`, personalMessage(connector.url, 'status corp'))).status).toBe(200);
    const answer = await connector.waitFor(() => connector.cards(BotConnector.isPost)[0]);
    expect(cardTexts(answer.card).join('\n')).toMatch(/corp/);
    expect((await runOf(attached, 1))?.status).toBe('running');

    const serverPid = embeddedServerPid(dataDir)!;
    await service.stop('SIGKILL');
    service = null;
    expect(embeddedServerPid(dataDir)).toBe(serverPid);

    // The CLI first: reads work; a sync is refused while the dead process's lease lasts, saying until when.
    const runs = await cli(env, '--json', 'runs', 'corp', '--limit', '1');
    expect(JSON.parse(runs.stdout)).toEqual([expect.objectContaining({ id: 1, status: 'running' })]);
    const refused = await cli(env, 'sync', 'corp');
    expect(refused.code).toBe(4);
    expect(refused.stderr).toMatch(/a sync of "corp" is already running since .* \(run #1\) in process .*; if that process stopped, its lease expires at .* \(in \d+ s\); a sync can start then/);

    // Once the lease has run out (60 s; moved here rather than waited for), the CLI syncs.
    ldap.resume();
    await queryRows(attached.db, sql`update connections set lock_expires_at = now() - interval '1 second' where name = 'corp'`);
    const synced = await cli(env, '--json', 'sync', 'corp');
    expect([0, 5]).toContain(synced.code);
    expect(JSON.parse(synced.stdout)).toMatchObject({ run: { id: 2, status: expect.stringMatching(/success|partial/) } });
    // The sync that took the lease closed the run the killed service left.
    expect(await runOf(attached, 1)).toEqual({ status: 'failed', error_code: 'INTERRUPTED' });

    // The service restarted joins the same server and finds the data.
    service = await startServiceProcess(env);
    expect(service.lines[0]?.msg).toMatch(/^attached to the embedded PostgreSQL/);
    const status = await cli(env, '--json', 'status', 'corp');
    expect(JSON.parse(status.stdout)).toMatchObject({ name: 'corp', runningSince: null, lastAttempts: [expect.objectContaining({ id: 2 }), expect.objectContaining({ id: 1, status: 'failed' })] });
    expect(await service.stop('SIGTERM')).toBe(0);
    service = null;
    // The attached process still uses the server; it stops it as the last to leave.
    expect(embeddedServerPid(dataDir)).toBe(serverPid);
    await attached.close();
    attached = null;
    await waitUntilDead(serverPid);
  }, 180_000);
});
