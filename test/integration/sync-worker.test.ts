/**
 * Syncs run in a worker thread of the service (PostgreSQL store): chat is answered while a sync
 * is still running, a second sync of the connection is answered "already running" at once, the
 * progress card moves while a phase lasts, and a worker that stops leaves a failed run and a free
 * lease. The sync is held, for as long as the test needs, by pausing slapd (SIGSTOP): the
 * directory takes its time.
 */
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { sql } from 'drizzle-orm';
import type { SlackConfig } from '../../src/config.ts';
import { type Store, openStore, queryRows } from '../../src/store/db.ts';
import { InProcessRunner } from '../../src/sync/runner.ts';
import { WorkerRunner } from '../../src/sync/worker-runner.ts';
import { createTestApp, ldapConnection } from '../support/app.ts';
import { createDatabase } from '../support/postgres.ts';
import { ADMIN, BOT_TOKEN, CHANNEL, SIGNING_SECRET, postSlack, slashCommand } from '../support/slack.ts';
import { SlackApi, blockTexts, unescapeMrkdwn } from '../support/slack-api.ts';
import { type SlackTestService, startSlackService } from '../support/slack-service.ts';
import { FIXTURE_LDIF, type SlapdHandle, startSlapd } from '../support/slapd.ts';

const CHAT = { admins: { slack: [ADMIN.id] } };

/** Polls until `check` returns a value (not a timing assertion: the deadline only ends a stuck test). */
async function until<T>(what: string, check: () => T | null | undefined | false | Promise<T | null | undefined | false>): Promise<T> {
  const deadline = Date.now() + 40_000;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A PostgreSQL store that knows its URL (the worker connects with it). */
async function urlStore(): Promise<Store> {
  const url = await createDatabase(inject('pgUrl'));
  return { ...(await openStore({ databaseUrl: url, maxConnections: 5 })), url };
}

describe('syncs in a worker thread', () => {
  let ldap: SlapdHandle;
  let api: SlackApi;
  let service: SlackTestService | null = null;
  let n = 0;

  beforeAll(async () => {
    ldap = await startSlapd({ ldif: [FIXTURE_LDIF.scenarios] });
  });
  afterAll(async () => {
    await ldap?.stop();
  });
  afterEach(async () => {
    ldap.resume();
    await service?.close();
    await api?.stop();
    service = null;
  });

  async function start(): Promise<SlackTestService> {
    api = await new SlackApi().start();
    api.addUser({ id: ADMIN.id, name: ADMIN.name, realName: 'Alice Admin', email: 'alice@example.org' });
    const slack: SlackConfig = { botToken: BOT_TOKEN, mode: 'http', signingSecret: SIGNING_SECRET, appToken: null, apiUrl: api.url };
    service = await startSlackService('postgres', [ldapConnection(ldap, { timeoutSeconds: 60 })], { slack, chat: CHAT, store: await urlStore() });
    return service;
  }

  /** Sends a slash command and returns the text of the message it posted, once posted. */
  async function command(s: SlackTestService, text: string): Promise<{ ts: string; text: () => string; updates: () => number }> {
    const before = api.messages(CHANNEL.id).length;
    const r = await postSlack(s.eventsUrl, slashCommand(text, { responseUrl: api.responseUrl(`cmd-${++n}`) }));
    expect(r.status).toBe(200);
    const msg = await until(`the answer to "${text}"`, () => api.messages(CHANNEL.id)[before]);
    const shown = () => api.message(CHANNEL.id, msg.ts)!;
    return { ts: msg.ts, text: () => unescapeMrkdwn(blockTexts(shown().blocks).join('\n')), updates: () => shown().updates };
  }

  const runRow = async (s: SlackTestService, id: number) =>
    (await queryRows<{ status: string; error_code: string | null; error: string | null }>(s.app.store.db, sql`select status, error_code, error from runs where id = ${id}`))[0]!;
  const lease = async (s: SlackTestService) => (await queryRows<{ lock_holder: string | null }>(s.app.store.db, sql`select lock_holder from connections where name = 'corp'`))[0]!.lock_holder;

  it('answers chat while a sync runs, says "already running" to a second sync, and updates the progress card as the sync goes', async () => {
    const s = await start();
    expect(s.app.runner).toBeInstanceOf(WorkerRunner);
    ldap.pause();
    const sync = await command(s, 'sync corp');
    await until('the progress card of run #1', () => /run #1 in progress/.test(sync.text()));
    const updatesWhileHeld = sync.updates();

    const again = await command(s, 'sync corp');
    expect(again.text()).toMatch(/Already running/);
    expect(again.text()).toMatch(/a sync of "corp" is already running since (?:.+ ago|just now), \d\d:\d\d UTC \(run #1, (starting|reading groups)\)/);

    const status = await command(s, 'status corp');
    expect(status.text()).toMatch(/corp/);
    // Both answers came while run #1 is still running: nothing of the directory has arrived yet.
    expect((await runRow(s, 1)).status).toBe('running');

    // The card moves while the phase lasts (its elapsed time), with nothing new from the directory.
    await until('two more progress updates while the directory is held', () => sync.updates() >= updatesWhileHeld + 2);
    expect(sync.text()).toMatch(/Phase\W+(starting|reading groups)/);
    expect(sync.text()).toMatch(/Elapsed\W+\d+ s/);
    expect((await runRow(s, 1)).status).toBe('running');

    ldap.resume();
    await until('the result of run #1', () => /Run #1 of corp applied/.test(sync.text()));
    expect((await runRow(s, 1)).status).toMatch(/success|partial/);
    expect(await lease(s)).toBeNull();
    const runs = await queryRows<{ n: number }>(s.app.store.db, sql`select count(*)::int as n from runs`);
    expect(runs[0]!.n).toBe(1);
  });

  it('records the run of a worker that stopped as failed, frees the lease and notifies, and the next sync runs', async () => {
    const s = await start();
    ldap.pause();
    const sync = await command(s, 'sync corp');
    await until('run #1 running in the worker', () => s.app.runner.running('corp')?.runId === 1);
    await (s.app.runner as WorkerRunner).stop('the sync worker was stopped by the test');
    await until('the failed run on the card', () => /Run #1 of corp failed/.test(sync.text()));
    const run = await runRow(s, 1);
    expect(run).toMatchObject({ status: 'failed', error_code: 'WORKER_FAILED' });
    expect(run.error).toMatch(/^the sync worker was stopped by the test while (starting|reading groups), after \d+ s; nothing was applied$/);
    expect(await lease(s)).toBeNull();
    // run.failed reached the main thread's listeners: the failure is an incident.
    expect((await s.app.ops.incidents()).some((i) => i.connection === 'corp' && i.cause === 'run_failed' && i.runId === 1)).toBe(true);

    ldap.resume();
    const next = await command(s, 'sync corp');
    await until('the result of run #2', () => /Run #2 of corp applied/.test(next.text()));
  });

  it('in process, a second sync is refused at once with the run and its phase, and the progress reports the phases to the end', async () => {
    const app = await createTestApp('postgres', [ldapConnection(ldap, { timeoutSeconds: 60 })]);
    try {
      expect(app.runner).toBeInstanceOf(InProcessRunner);
      ldap.pause();
      const phases: string[] = [];
      const first = app.ops.sync({ connection: 'corp', trigger: 'manual', actor: 'test', onProgress: (e) => phases.push(e.phase) });
      await until('run #1 running', () => app.runner.running('corp')?.runId === 1);
      const second = await app.ops.sync({ connection: 'CORP', trigger: 'manual', actor: 'test' }).then(
        () => null,
        (error: Error & { code?: string }) => error,
      );
      expect(second?.code).toBe('ALREADY_RUNNING');
      expect(second?.message).toMatch(/^a sync of "corp" is already running since .* UTC \(run #1, (starting|reading groups)\)/);
      ldap.resume();
      expect((await first).run.status).toMatch(/success|partial/);
      const known = ['starting', 'reading groups', 'reading users', 'reading members', 'resolving members', 'planning', 'applying', 'recording', 'finished'];
      expect(phases.filter((p) => !known.includes(p))).toEqual([]);
      expect(phases[0]).toBe('starting');
      expect(phases.at(-2)).toBe('recording');
      expect(phases.at(-1)).toBe('finished');
      expect(phases).toContain('planning');
      expect(phases).toContain('applying');
      expect(app.runner.running('corp')).toBeNull();
    } finally {
      ldap.resume();
      await app.close();
    }
  });

  it('answers status and health while a sync holds its connection row locked (its apply transaction)', async () => {
    const store = await urlStore();
    const app = await createTestApp('postgres', [ldapConnection(ldap)], { store });
    const { default: postgres } = await import('postgres');
    const blocker = postgres(store.url!, { max: 2 });
    let release = () => {};
    try {
      await app.ops.sync({ connection: 'corp', trigger: 'manual', actor: 'test' });
      // What the apply transaction does first (fenceLock): the connection's row, locked until it commits.
      let locked!: () => void;
      const isLocked = new Promise<void>((resolve) => (locked = resolve));
      const held = blocker.begin(async (tx) => {
        await tx`select lock_holder from connections where name = 'corp' for update`;
        locked();
        await new Promise<void>((resolve) => (release = resolve));
      });
      await isLocked;
      // Either the answers come, or a backend of the app waits on the row lock (then they would wait for the whole apply).
      let settled = false;
      const waiting = async (): Promise<string> => {
        while (!settled) {
          const rows = await blocker`select query from pg_stat_activity where wait_event_type = 'Lock' and datname = current_database()`;
          if (rows.length) return `blocked on the row lock: ${String(rows[0]!.query)}`;
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        return 'answered';
      };
      const answered = Promise.all([app.ops.status('corp'), app.ops.health()]).then(() => 'answered');
      expect(await Promise.race([answered, waiting()])).toBe('answered');
      settled = true;
      release();
      await held;
    } finally {
      release();
      await blocker.end();
      await app.close();
    }
  });
});
