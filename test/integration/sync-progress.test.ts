/**
 * Live progress of a sync in chat: a first sync of a generated directory (thousands of users,
 * through the real service and its sync worker) posted from Slack and from Teams; the updates the
 * loopback peers receive show each phase in order (planning, applying with counts against the
 * total and a percentage, recording), the elapsed time, and end with the run's result.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildModel, writeLdif } from '../../bench/generate.ts';
import type { SlackConfig } from '../../src/config.ts';
import { BotConnector } from '../support/bot-connector.ts';
import { startTestService } from '../support/service.ts';
import { ADMIN, BOT_TOKEN, CHANNEL, SIGNING_SECRET, postSlack, slashCommand } from '../support/slack.ts';
import { SlackApi, blockTexts, unescapeMrkdwn } from '../support/slack-api.ts';
import { startSlackService } from '../support/slack-service.ts';
import { ALICE, cardTexts, personalMessage, postActivity } from '../support/teams.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const USERS = 4000;
let connection: Record<string, unknown>;

/** The generated directory as an LDIF file: the base entries first, an entryUUID on each entry. */
async function generatedLdif(users: number): Promise<string> {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'groupsync-progress-')), 'big.ldif');
  await writeLdif(buildModel({ users, groups: users / 10, seed: 13 }), file);
  const base = readFileSync(path.join(ROOT, 'test', 'fixtures', 'ldif', 'base.ldif'), 'utf8').replace(/^#.*\n/gm, '');
  let n = 0;
  const entries = readFileSync(file, 'utf8').replace(/^dn: .*$/gm, (dn) => `${dn}\nentryUUID: 00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`);
  writeFileSync(file, `${base.trim()}\n\n${entries}`);
  return file;
}

beforeAll(async () => {
  connection = { name: 'big', kind: 'ldif', file: await generatedLdif(USERS), groups: { filter: '(cn=app-*)' }, matchKey: 'mail' };
}, 120_000);

/** The phases the updates showed, in order, each once (consecutive updates of one phase collapse). */
function phasesOf(texts: readonly string[]): string[] {
  const phases: string[] = [];
  for (const text of texts) {
    const phase = /Phase\W+([a-z ]+?)\s*$/m.exec(text)?.[1] ?? (/Run #\d+ of big/.test(text) ? 'result' : null);
    if (phase && phases.at(-1) !== phase) phases.push(phase);
  }
  return phases;
}

function expectLiveProgress(texts: readonly string[]): void {
  const phases = phasesOf(texts);
  // Reading comes first, then every later phase in order, then the result.
  expect(phases.slice(phases.indexOf('planning'))).toEqual(['planning', 'applying', 'recording', 'result']);
  expect(phases.indexOf('reading users')).toBeGreaterThanOrEqual(0);
  expect(phases.indexOf('reading users')).toBeLessThan(phases.indexOf('planning'));
  const planning = texts.find((t) => /Phase\W+planning/.test(t))!;
  expect(planning).toMatch(/Progress\W+[\d,]{5} users, [\d,]+ groups/); // what is planned
  const applying = texts.filter((t) => /Phase\W+applying/.test(t));
  // Counts against the total, with a percentage.
  expect(applying.some((t) => /Progress\W+[\d,]+ of [\d,]+ \(\d+ %\)/.test(t))).toBe(true);
  for (const t of texts.filter((x) => /Phase\W/.test(x))) expect(t).toMatch(/Elapsed\W+\d+ s/);
  expect(texts.at(-1)).toMatch(/Run #1 of big/);
}

describe('live progress of a sync in chat', () => {
  it('Slack: the message goes through every phase with counts, totals and elapsed time, then the result', async () => {
    const api = await new SlackApi().start();
    api.addUser({ id: ADMIN.id, name: ADMIN.name, realName: 'Alice Admin', email: 'alice@example.org' });
    const slack: SlackConfig = { botToken: BOT_TOKEN, mode: 'http', signingSecret: SIGNING_SECRET, appToken: null, apiUrl: api.url };
    const service = await startSlackService('postgres', [connection], { slack, chat: { admins: { slack: [ADMIN.id] } } });
    try {
      const before = api.calls.length;
      const r = await postSlack(service.eventsUrl, slashCommand('sync big', { responseUrl: api.responseUrl('progress') }));
      expect(r.status).toBe(200);
      await service.slack.idle();
      const ts = api.messages(CHANNEL.id)[0]!.ts;
      const updates = api.calls.slice(before).filter((c) => c.method === 'chat.update' && c.status === 200 && c.params.ts === ts);
      expectLiveProgress(updates.map((u) => unescapeMrkdwn(blockTexts(u.params.blocks).join('\n'))));
    } finally {
      await service.close();
      await api.stop();
    }
  });

  it('Teams: the card goes through every phase with counts, totals and elapsed time, then the result', async () => {
    const connector = await new BotConnector().start();
    const service = await startTestService('postgres', [connection], { chat: { admins: { teams: [ALICE.aadObjectId] } } });
    try {
      const r = await postActivity(service.url, personalMessage(connector.url, 'sync big'));
      expect(r.status).toBe(200);
      const reply = await connector.waitFor((calls) => calls.find((c) => c.kind === 'reply' && c.status === 201));
      const texts = (card: unknown) => cardTexts(card).join('\n');
      await connector.waitFor((calls) => calls.find((c) => c.kind === 'update' && c.activityId === reply.activityId && /Run #1 of big/.test(texts(connector.cards((x) => x === c)[0]?.card))), 120_000);
      const updates = connector.calls.filter((c) => c.kind === 'update' && c.activityId === reply.activityId && c.status === 200);
      expectLiveProgress(updates.map((c) => texts(connector.cards((x) => x === c)[0]?.card)));
    } finally {
      await service.close();
      await connector.stop();
    }
  });
});
