/**
 * `npm run lint` inside `npm test`: ESLint (eslint.config.js) over the repository must report
 * nothing. The module boundaries are lint rules there (import-x/no-restricted-paths zones,
 * no-restricted-imports for chat SDKs and SQL, import-x/no-cycle); the cases below show each one
 * bites on a deliberate violation, linted in memory as if it were a file of that module.
 */
import path from 'node:path';
import { ESLint } from 'eslint';
import { beforeAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const eslint = new ESLint({ cwd: ROOT });

/** Lints `code` as if it were the file at `file` (relative to the repository); the rule ids it breaks. */
async function rulesBroken(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: path.join(ROOT, file) });
  return result!.messages.map((m) => m.ruleId ?? `fatal: ${m.message}`);
}

describe('lint', () => {
  let results: ESLint.LintResult[] = [];
  beforeAll(async () => {
    results = await eslint.lintFiles(['.']);
  }, 600_000);

  it('lints src/, test/ and bench/', () => {
    const linted = results.map((r) => path.relative(ROOT, r.filePath).split(path.sep).join('/'));
    expect(linted.filter((f) => f.startsWith('src/')).length).toBeGreaterThan(40);
    expect(linted).toEqual(expect.arrayContaining(['src/chat/teams/bot.ts', 'src/sync/plan/index.ts', 'test/unit/lint.test.ts', 'bench/sync.ts', 'eslint.config.js']));
  });

  it('reports no problem (run `npm run lint` to see them with their fix)', () => {
    const problems = results.flatMap((r) => r.messages.map((m) => `${path.relative(ROOT, r.filePath)}:${m.line}:${m.column} ${m.message} (${m.ruleId})`));
    expect(problems).toEqual([]);
  });
});

describe('the module boundaries bite', () => {
  it.each([
    ['src/sync/fake.ts', "import { ChatService } from '../chat/service.ts';\nexport const x = ChatService;"],
    ['src/store/fake.ts', "import type { Command } from '../chat/commands/spec.ts';\nexport type X = Command;"],
    ['src/ops/fake.ts', "import { createHttpServer } from '../http.ts';\nexport const x = createHttpServer;"],
    ['src/notify/fake.ts', "import { main } from '../cli/main.ts';\nexport const x = main;"],
  ])('the core imports nothing of chat, the CLI, HTTP or main: %s', async (file, code) => {
    expect(await rulesBroken(file, code)).toContain('import-x/no-restricted-paths');
  });

  it.each([
    ['src/domain/fake.ts', "import { GroupsyncError } from '../errors.ts';\nexport const x = GroupsyncError;"],
    ['src/store/fake.ts', "import type { SyncRequest } from '../sync/engine.ts';\nexport type X = SyncRequest;"],
    ['src/store/fake.ts', "import type { SyncEvent } from '../notify/port.ts';\nexport type X = SyncEvent;"],
    ['src/notify/fake.ts', "import type { SyncRequest } from '../sync/engine.ts';\nexport type X = SyncRequest;"],
    ['src/directory/fake.ts', "import type { Db } from '../store/db.ts';\nexport type X = Db;"],
    ['src/sync/fake.ts', "import type { Operations } from '../ops/operations.ts';\nexport type X = Operations;"],
    ['src/config/fake.ts', "import type { Scheduler } from '../scheduler/scheduler.ts';\nexport type X = Scheduler;"],
    ['src/sync/fake.ts', "import type { LdapSource } from '../directory/ldap/read.ts';\nexport type X = LdapSource;"],
    ['src/chat/views/fake.ts', "import { COMMANDS } from '../commands/spec.ts';\nexport const x = COMMANDS;"],
    ['src/chat/commands/fake.ts', "import { actorOf } from '../auth.ts';\nexport const x = actorOf;"],
    ['src/chat/service-fake.ts', "import { renderCard } from './teams/cards.ts';\nexport const x = renderCard;"],
    ['src/chat/slack/fake.ts', "import { renderCard } from '../teams/cards.ts';\nexport const x = renderCard;"],
  ])('a lower layer does not import a higher one (type imports too): %s', async (file, code) => {
    expect(await rulesBroken(file, code)).toContain('import-x/no-restricted-paths');
  });

  it.each([
    ['src/chat/service-fake.ts', "import { TurnContext } from 'botbuilder';\nexport const x = TurnContext;"],
    ['src/sync/fake.ts', "import type { Application } from '@microsoft/teams-ai';\nexport type X = Application;"],
    ['src/chat/views/fake.ts', "import * as Templating from 'adaptivecards-templating';\nexport const x = Templating;"],
    ['src/chat/teams/fake.ts', "import { App } from '@slack/bolt';\nexport const x = App;"],
    ['src/ops/fake.ts', "import type { WebClient } from '@slack/web-api';\nexport type X = WebClient;"],
    ['src/sync/fake.ts', "import { sql } from 'drizzle-orm';\nexport const x = sql;"],
    ['src/ops/fake.ts', "import { runs } from '../store/schema.ts';\nexport const x = runs;"],
  ])('chat SDKs only in their surface, SQL only in the store: %s', async (file, code) => {
    expect(await rulesBroken(file, code)).toContain('@typescript-eslint/no-restricted-imports');
  });

  it.each([
    ['src/chat/teams/fake.ts', "import { TurnContext } from 'botbuilder';\nexport const x = TurnContext;"],
    ['src/chat/slack/fake.ts', "import { App } from '@slack/bolt';\nexport const x = App;"],
    ['src/store/fake.ts', "import { sql } from 'drizzle-orm';\nimport { runs } from './schema.ts';\nexport const x = [sql, runs];"],
    ['src/sync/fake.ts', "import type { runs } from '../store/schema.ts';\nexport type X = typeof runs.$inferSelect;"],
    ['src/chat/commands/fake.ts', "import type { Operations } from '../../ops/operations.ts';\nimport { buildMessage } from '../views/build.ts';\nexport type X = Operations;\nexport const x = buildMessage;"],
  ])('what the layers allow passes: %s', async (file, code) => {
    expect(await rulesBroken(file, code)).toEqual([]);
  });

  it('no console in the product (one injected logger)', async () => {
    expect(await rulesBroken('src/sync/fake.ts', "export function f(): void {\n  console.log('x');\n}")).toContain('no-console');
  });

  it('a value import that closes a cycle is reported', async () => {
    // sync/engine.ts imports format.ts: format.ts importing the engine back closes a cycle.
    expect(await rulesBroken('src/format.ts', "import { SyncEngine } from './sync/engine.ts';\nexport const x = SyncEngine;")).toContain('import-x/no-cycle');
  });
});
