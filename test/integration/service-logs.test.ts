/**
 * The service's log lines and its start-up failures as an admin sees them: `npm start` as
 * a child process on a PostgreSQL server of the suite, its stderr piped.
 */
import { type Server, createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { createDatabase } from '../support/postgres.ts';
import { ServiceProcess, bareEnv, freshDataDir, startServiceProcess } from '../support/service-process.ts';

let service: ServiceProcess | null = null;
let blocker: Server | null = null;
afterEach(async () => {
  await service?.stop('SIGKILL');
  service = null;
  await new Promise<void>((resolve) => (blocker ? blocker.close(() => resolve()) : resolve()));
  blocker = null;
});

/** The environment of the service on a fresh database of the suite's server (no embedded store). */
async function serviceEnv(extra: Record<string, string> = {}): Promise<NodeJS.ProcessEnv> {
  return { ...bareEnv(freshDataDir('groupsync-logs-'), extra), DATABASE_URL: await createDatabase(inject('pgUrl')) };
}

describe('service logs', () => {
  it('writes one JSON object a line with an ISO 8601 time when stderr is not a terminal', async () => {
    service = await startServiceProcess(await serviceEnv());
    const listening = await service.waitFor('listening: ');
    expect(listening).toMatchObject({ level: 30, app: 'groupsync', port: service.port });
    expect(listening.time).toEqual(expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/));
    expect(new Date(String(listening.time)).toISOString()).toBe(listening.time);
  });

  it('writes readable lines with LOG_FORMAT=pretty: time, level and message, no JSON', async () => {
    service = new ServiceProcess(await serviceEnv({ LOG_FORMAT: 'pretty' }));
    const line = await service.waitForLine((l) => typeof l.msg === 'string' && l.msg.includes('listening: POST /api/messages'), 'the listening line');
    const text = String(line.msg);
    expect(() => JSON.parse(text)).toThrow();
    expect(text).toMatch(/^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\] INFO: listening: POST \/api\/messages \(Teams\), GET \/healthz/);
    expect(text).not.toContain('\u001b['); // not a terminal: no colours
  });

  it('refuses a LOG_FORMAT it does not know, naming it', async () => {
    service = new ServiceProcess(await serviceEnv({ LOG_FORMAT: 'xml' }));
    expect(await service.exited).toBe(1);
    expect(service.lines.map((l) => l.msg).join('\n')).toMatch(/^groupsync could not start: error CONFIG_INVALID: the environment is not valid:\n {2}LOG_FORMAT: must be "json" or "pretty"/m);
  });
});

describe('a port already in use', () => {
  it('stops the service with one line naming the port and the variable that moves it, exit code 1, no stack trace', async () => {
    blocker = createServer();
    await new Promise<void>((resolve) => blocker!.listen(0, resolve));
    const port = (blocker.address() as AddressInfo).port;
    service = new ServiceProcess(await serviceEnv({ PORT: String(port) }));
    expect(await service.exited).toBe(1);
    const said = service.lines.map((l) => String(l.msg));
    expect(said.at(-1)).toBe(`groupsync could not start: error CONFIG_INVALID: port ${port} is in use by another process; set PORT to another port`);
    expect(said.join('\n')).not.toMatch(/\n\s+at /);
    expect(said.filter((l) => /could not start|Error/.test(l))).toHaveLength(1);
  });
});
