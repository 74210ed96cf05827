/**
 * What a newcomer gets from `npm start` with nothing configured: the service on the embedded
 * PostgreSQL (initialised in the data folder on first start), the sample directory synced,
 * /healthz answering; the CLI on the same store while the service runs; the data kept across
 * restarts. What it runs: the bundle (bin/start.mjs), in the service and in each sync's worker.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MODULE_LOG_HOOK } from '../support/module-log.ts';
import { type ServiceProcess, bareEnv, cli, embeddedServerPid, freshDataDir, startServiceProcess, stopEmbeddedServer } from '../support/service-process.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
let service: ServiceProcess | null = null;
let dataDir = '';
afterEach(async () => {
  await service?.stop('SIGKILL');
  service = null;
  await stopEmbeddedServer(dataDir);
});

describe('npm start on a fresh machine', () => {
  it('initialises the embedded PostgreSQL, serves /healthz, syncs the sample directory; the CLI works beside it and the data survives a restart', async () => {
    dataDir = freshDataDir('groupsync-start-');
    // Every module each process and thread resolves is logged (test/support/module-log.ts).
    const logDir = mkdtempSync(path.join(tmpdir(), 'groupsync-modules-'));
    const env = bareEnv(dataDir, { MODULE_LOG_DIR: logDir, NODE_OPTIONS: `--import=${MODULE_LOG_HOOK}` });
    service = await startServiceProcess(env);
    const pid = service.child.pid!;
    const sync = await service.waitFor('scheduled sync of sample');
    expect(sync).toMatchObject({ status: 'partial', groupsCreated: 3, usersCreated: 7, membershipsAdded: 13, skipped: 1 });
    const messages = service.lines.map((l) => l.msg);
    const cluster = path.join(dataDir, 'postgres');
    expect(messages[0]).toBe(`initialised the embedded PostgreSQL cluster in ${cluster}`);
    expect(messages[1]).toMatch(new RegExp(`^started the embedded PostgreSQL \\(${cluster}, 127\\.0\\.0\\.1:\\d+\\)$`));
    expect(messages[2]).toMatch(/^store schema: applied \d+ migrations: 0000_/);
    expect(messages[3]).toMatch(/^store: embedded PostgreSQL in the data folder \(set DATABASE_URL/);
    expect(messages[4]).toMatch(/sample directory .* To use your directory: copy sample\/groupsync.example.yaml/);
    expect(messages).toEqual(
      expect.arrayContaining([
        'Teams: no MICROSOFT_APP_ID, so the bot runs in local mode: requests are not authenticated (for the Microsoft 365 Agents Playground and tests only)',
        'listening: POST /api/messages (Teams), GET /healthz, GET /metrics',
      ]),
    );
    const base = `http://127.0.0.1:${service.port}`;
    const notJson = await fetch(`${base}/api/messages`, { method: 'POST', body: '{not json', headers: { 'content-type': 'application/json' } });
    expect(notJson.status).toBe(400);
    const health = await fetch(`${base}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok', store: 'embedded', connections: ['sample'] });

    // The CLI attaches to the server the service started, while the service runs.
    const beside = await cli(env, '--json', 'status', 'sample');
    expect(beside.stderr).toBe(''); // joining the running server is routine: nothing said
    expect(JSON.parse(beside.stdout)).toMatchObject({ name: 'sample', syncedUsers: 7, unmapped: 1, linkedGroups: 3 });
    expect(embeddedServerPid(dataDir)).not.toBeNull();

    // It runs the bundle, and holds its build against removal by a later build while it lives.
    const dist = path.join(ROOT, 'dist/cli');
    const holding = () => readdirSync(dist).filter((build) => existsSync(path.join(dist, build, `held-by-${pid}`)));
    const [build] = holding();
    expect(holding()).toHaveLength(1);

    // Stopped, the service leaves no server behind; the CLI alone starts it, reads, and stops it.
    expect(await service.stop('SIGTERM')).toBe(0);
    service = null;
    expect(holding()).toEqual([]);
    // The service thread and the sync's worker thread ran the bundle: no TypeScript file.
    const threads = readdirSync(logDir).filter((f) => f.startsWith(`${pid}-`));
    const modules = (f: string) => readFileSync(path.join(logDir, f), 'utf8').split('\n');
    expect(threads).toHaveLength(2);
    expect(threads.flatMap(modules).filter((m) => m.endsWith('.ts'))).toEqual([]);
    expect(threads.map((f) => modules(f).find((m) => /\/(service|worker)\.js$/.test(m))?.replace(/^.*\/dist\/cli\//, '')).sort()).toEqual([
      `${build}/service.js`,
      `${build}/worker.js`,
    ]);
    expect(embeddedServerPid(dataDir)).toBeNull();
    const alone = await cli(env, '--json', 'status', 'sample');
    expect(JSON.parse(alone.stdout)).toMatchObject({ name: 'sample', syncedUsers: 7, unmapped: 1, linkedGroups: 3 });
    expect(embeddedServerPid(dataDir)).toBeNull();
    expect(existsSync(path.join(cluster, 'PG_VERSION'))).toBe(true);

    // Restarted, the service starts the existing cluster (no second initialisation) and finds the data.
    service = await startServiceProcess(env);
    expect(service.lines[0]?.msg).toMatch(/^started the embedded PostgreSQL/);
    const again = await cli(env, '--json', 'status', 'sample');
    expect(JSON.parse(again.stdout)).toMatchObject({ name: 'sample', syncedUsers: 7, linkedGroups: 3 });
  });
});
