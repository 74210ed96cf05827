/**
 * What a newcomer gets from `npm start` with nothing configured: the service on the embedded
 * store, the sample directory synced, /healthz answering; and the CLI on the same data folder.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');

function cli(env: Record<string, string>, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [path.join(ROOT, 'src/cli/main.ts'), ...args], { env: { ...process.env, ...env }, cwd: ROOT }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

let service: ChildProcess | null = null;
afterEach(() => {
  service?.kill('SIGKILL');
  service = null;
});

describe('npm start on a fresh machine', () => {
  it('serves /healthz, syncs the sample directory, and the CLI reads the same store once it stops', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'groupsync-start-'));
    // Nothing configured: no connections file, no database URL.
    const childEnv: Record<string, string | undefined> = { ...process.env, GROUPSYNC_DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'info' };
    delete childEnv.GROUPSYNC_CONFIG;
    delete childEnv.DATABASE_URL;
    service = spawn(process.execPath, [path.join(ROOT, 'src/main.ts')], { env: childEnv as NodeJS.ProcessEnv, cwd: ROOT });
    const lines: Array<Record<string, unknown>> = [];
    let port = 0;
    const firstSync = new Promise<Record<string, unknown>>((resolve, reject) => {
      let buffer = '';
      service!.stderr!.on('data', (chunk: Buffer) => {
        buffer += chunk.toString();
        let nl: number;
        while ((nl = buffer.indexOf('\n')) >= 0) {
          const line = JSON.parse(buffer.slice(0, nl)) as Record<string, unknown>;
          buffer = buffer.slice(nl + 1);
          lines.push(line);
          if (typeof line.msg === 'string' && line.msg.startsWith('listening: ')) port = line.port as number;
          if (typeof line.msg === 'string' && line.msg.startsWith('scheduled sync of sample')) resolve(line);
        }
      });
      service!.once('exit', (code) => reject(new Error(`service exited with ${code}: ${JSON.stringify(lines)}`)));
    });
    const sync = await firstSync;
    expect(sync).toMatchObject({ status: 'partial', groupsCreated: 3, usersCreated: 7, membershipsAdded: 13, skipped: 1 });
    expect(lines[0]?.msg).toMatch(/store: embedded PGlite \(set DATABASE_URL/);
    expect(lines[1]?.msg).toMatch(/sample directory .* To use your directory: copy sample\/groupsync.example.yaml/);

    expect(lines.map((l) => l.msg)).toEqual(
      expect.arrayContaining([
        'Teams: no MICROSOFT_APP_ID, so the bot runs in local mode: requests are not authenticated (for the Microsoft 365 Agents Playground and tests only)',
        'listening: POST /api/messages (Teams), GET /healthz',
      ]),
    );
    const notJson = await fetch(`http://127.0.0.1:${port}/api/messages`, { method: 'POST', body: '{not json', headers: { 'content-type': 'application/json' } });
    expect(notJson.status).toBe(400);
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok', store: 'pglite', connections: ['sample'] });

    const busy = await cli({ GROUPSYNC_DATA_DIR: dataDir }, 'status', 'sample');
    expect(busy.code).toBe(1);
    expect(busy.stderr).toMatch(/in use by another groupsync process .* set DATABASE_URL/);

    const exited = new Promise((resolve) => service!.once('exit', resolve));
    service.kill('SIGTERM');
    await exited;
    service = null;
    const status = await cli({ GROUPSYNC_DATA_DIR: dataDir }, '--json', 'status', 'sample');
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ name: 'sample', syncedUsers: 7, unmapped: 1, linkedGroups: 3 });
  });
});
