/**
 * The CLI shows the neutral views as text (src/cli/text-views.ts): the same facts as the Teams
 * card and the Slack message of each view, within 100 columns, tables without rules between rows.
 */
import { describe, expect, it } from 'vitest';
import { buildStatus } from '../../src/chat/views/build.ts';
import { buildRun, buildRuns } from '../../src/chat/views/runs.ts';
import { WIDTH, commandOf, viewText } from '../../src/cli/text-views.ts';
import { readFixtureViews } from '../fixtures/read-views.ts';
import { STATUS_DATA, fixtureViews, runRow, viewFacts } from '../fixtures/views.ts';

/** The words of a text, without the table's box characters, punctuation around them or case. */
const words = (text: string) =>
  new Set(
    text
      .replace(/[│┌┐└┘├┤┬┴┼─]/g, ' ')
      .split(/[\s–]+/)
      .map((w) => w.toLowerCase().replace(/^[^\p{L}\p{N}#<&]+|[^\p{L}\p{N}>]+$/gu, ''))
      .filter(Boolean),
  );
const widest = (text: string) => Math.max(...text.split('\n').map((l) => [...l].length));

describe('views as CLI text', () => {
  it.each([...fixtureViews(), ...readFixtureViews()].map(({ name, view }) => [name, view] as const))('%s: every fact of the view, within 100 columns', (_, view) => {
    expect(widest(viewText(view, { allLinks: true }))).toBeLessThanOrEqual(WIDTH);
    // The facts, checked where no cell is wrapped.
    const shown = words(viewText(view, { allLinks: true, width: 10_000 }));
    const missing = viewFacts(view).texts.flatMap((t) => [...words(t)]).filter((w) => !shown.has(w));
    expect(missing).toEqual([]);
  });

  it('keeps status within 100 columns for a connection with long names, a long error and a long certificate detail', () => {
    const long = 'emea-production-active-directory-forest-with-a-very-long-connection-name-for-the-finance-department';
    const status = buildStatus({
      ...STATUS_DATA,
      name: long,
      schedule: 'every day at 02:00 and 14:00 Europe/Amsterdam (cron "0 2,14 * * *"), retried every 15 min after a failure',
      ssl: { state: 'untrusted', validTo: null, detail: 'self-signed certificate in certificate chain: CN=corp-root-ca,OU=PKI,O=Example Corporation,C=NL' },
      lastAttempts: [{ id: 41, status: 'failed', startedAt: new Date(), finishedAt: new Date(), trigger: 'schedule', error: `${'Invalid credentials for CN=svc-groupsync,OU=Service Accounts,DC=corp,DC=example,DC=com '.repeat(3)}` }],
    });
    const text = viewText(status);
    for (const line of text.split('\n')) expect([...line].length).toBeLessThanOrEqual(100);
    expect(text).toMatch(/^emea-production/);
    expect(words(text)).toContain('accounts,dc=corp,dc=example,dc=com');
  });

  it('shows counters one line per row, no rule between table rows', () => {
    const text = viewText(buildRun(runRow()));
    expect(text).toMatch(/^run #42 corp: SUCCESS\nRun #42 of corp succeeded/);
    expect(text).toMatch(/^Groups +created 3 · modified 1 · deleted 0 · duplicated 2$/m);
    expect(text).not.toMatch(/├.*\n.*\n├/);
  });
});

describe('runs list wording (issue 13: held, rejected and dry runs looked applied)', () => {
  const rows = [
    runRow({ id: 50, status: 'rejected', decidedBy: 'cli:root', decidedAt: new Date(), usersDeactivated: 286, error: 'the plan deactivates 286 users, more than the limit of 10' }),
    runRow({ id: 51, status: 'dry_run', dryRun: true, groupsCreated: 201, usersCreated: 1978 }),
    runRow({ id: 52, status: 'awaiting_approval', usersDeactivated: 286, error: 'the plan deactivates 286 users, more than the limit of 10' }),
    runRow({ id: 53 }),
  ];
  const view = buildRuns('corp', rows, 0, rows.length);

  it('says rejected, would and held in the changes, and the status in words', () => {
    const [rejected, dry, held, applied] = view.runs;
    expect(rejected!.changes).toBe('rejected — nothing applied');
    expect(dry!.changes).toMatch(/^would: groups \+201/);
    expect(held!.changes).toMatch(/^held — would: .*users \+17 ~4 −286/);
    expect(applied!.changes).toMatch(/^groups \+3 ~1 −0/);
    for (const r of view.runs) expect(r.status).not.toMatch(/_/);
    expect(dry!.status).toBe('dry run');
    expect(held!.status).toMatch(/^held for approval/);
  });

  it('keeps the changes column readable next to a long error in the CLI', () => {
    const text = viewText(view);
    expect(widest(text)).toBeLessThanOrEqual(WIDTH);
    expect(text).toMatch(/would: groups \+201 ~1 −0;/);
  });
});

describe('buttons as commands', () => {
  it('the Full resync button is `sync <name> --full`', () => {
    expect(commandOf({ label: 'Full resync', verb: 'sync.start', data: { connection: 'corp', full: 1 } })).toBe('sync corp --full');
    expect(commandOf({ label: 'Sync now', verb: 'sync.start', data: { connection: 'corp' } })).toBe('sync corp');
  });
});

describe('AD type of an LDIF connection', () => {
  it('says LDIF file and its name, not "(sample)"', () => {
    const facts = buildStatus({ ...STATUS_DATA, kind: 'ldif', vendor: null, file: 'fixtures/corp.ldif' }).facts;
    expect(facts.find((f) => f.label === 'AD type')?.value).toBe('LDIF file corp.ldif');
    expect(buildStatus({ ...STATUS_DATA, kind: 'ldif', vendor: 'ldif' }).facts.find((f) => f.label === 'AD type')?.value).toBe('LDIF file');
  });
});
