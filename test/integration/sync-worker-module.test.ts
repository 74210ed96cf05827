/**
 * The service starts each sync's worker from its build (dist/cli/<build>/worker.js, passed by
 * bin/start.mjs). A build removed while the service runs (an admin cleaning dist/) must not make
 * every later sync fail with "Cannot find module": the worker runs from the sources, and the log
 * says once why and what to do.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { type App, createApp } from '../../src/app.ts';
import type { Logger } from '../../src/logger.ts';
import { openStore } from '../../src/store/db.ts';
import { testConfig } from '../support/app.ts';
import { createDatabase } from '../support/postgres.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');

interface Line {
  level: string;
  obj: object;
  msg: string | undefined;
}

function recordingLogger(lines: Line[]): Logger {
  const at =
    (level: string) =>
    (obj: object | string, msg?: string): void => {
      lines.push(typeof obj === 'string' ? { level, obj: {}, msg: obj } : { level, obj, msg });
    };
  const logger: Logger = { info: at('info'), warn: at('warn'), error: at('error'), debug: at('debug'), child: () => logger };
  return logger;
}

let app: App | null = null;
afterEach(async () => {
  await app?.close();
  app = null;
});

describe('the module of a sync worker', () => {
  it("runs the syncs from the sources when the service's build was removed while it ran, and says so once with the fix", async () => {
    const url = await createDatabase(inject('pgUrl'));
    const store = { ...(await openStore({ databaseUrl: url, maxConnections: 5 })), url };
    const lines: Line[] = [];
    const removedBuild = path.join(mkdtempSync(path.join(tmpdir(), 'groupsync-dist-')), 'mxremoved-1');
    const config = testConfig([{ name: 'corp', kind: 'ldif', file: path.join(ROOT, 'sample/directory.ldif'), groups: { filter: '(cn=app-*)' } }]);
    app = await createApp(config, {
      logger: recordingLogger(lines),
      store,
      syncIn: 'worker',
      workerUrl: pathToFileURL(path.join(removedBuild, 'worker.js')),
    });

    const first = await app.runner.sync({ connection: 'corp', trigger: 'manual', actor: 'test' });
    expect(first.run.status).not.toBe('failed');
    expect(first.counts?.groupsCreated).toBe(3);
    const second = await app.runner.sync({ connection: 'corp', trigger: 'manual', actor: 'test' });
    expect(second.run.status).not.toBe('failed');

    const warnings = lines.filter((l) => l.level === 'warn' || l.level === 'error');
    expect(warnings.map((l) => l.msg)).toEqual([
      `the service's build ${removedBuild} was removed while the service runs (dist/cli/ cleaned?): syncs run from the TypeScript sources, slower, until the service is restarted; restart it to run from a new build`,
    ]);
  });
});
