// @ts-check
/**
 * Lint: typescript-eslint's recommended rules everywhere, and in src/ the module boundaries as
 * import rules (layers below). `npm run lint` runs it; test/unit/lint.test.ts runs it inside `npm test`.
 *
 * test/, bench/ and the scripts get the same recommended rules and no-cycle, not the layers (a test
 * reaches any module; a benchmark prints with console).
 * Not type-aware: typescript-eslint's type-checked rules would double the run (about 20 s of CPU
 * for the whole repository without them, about 40 s with them on src/ alone).
 *
 * Layers, lowest first: a module imports only from layers below it (or its own).
 *   domain                         plain types and pure rules (DNs, plan shapes, schedules); imports nothing of the app
 *   errors.ts, format.ts, logger.ts the kernel every module may use
 *   config.ts, config/             one schema for the environment and the connections file
 *   directory, health              directory sources behind the port in directory/index.ts; pure health rules
 *   store                          all SQL
 *   notify                         the notifier port and the incident policy
 *   sync                           plan, guard, apply, record
 *   scheduler, ops                 the tick and lease; the operations every surface calls
 *   chat/views → chat/commands → chat/ (service, auth, alerts) → chat/teams, chat/slack
 *   app.ts, http.ts, metrics.ts, cli/, main.ts wiring and entry points
 */
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';
import { importX, createNodeResolver } from 'eslint-plugin-import-x';

const CORE = ['domain', 'directory', 'sync', 'store', 'health', 'scheduler', 'notify', 'ops'].map((m) => `./src/${m}`);
const ENTRY = ['./src/chat', './src/cli', './src/app.ts', './src/http.ts', './src/metrics.ts', './src/main.ts'];

/** `from` may not be imported by `target`. */
const zone = (target, from, message) => ({ target, from, message });

/** Module boundaries, each with the reason an engineer meeting it needs. */
const zones = [
  zone(['./src/domain'], ['./src/!(domain)/**', './src/*.ts'], 'domain/ imports nothing of the app: move the piece it needs into domain/.'),
  zone(['./src/errors.ts', './src/format.ts', './src/logger.ts'], ['./src/!(domain)/**', './src/!(errors|format|logger).ts'], 'the kernel (errors, format, logger) imports only domain/.'),
  zone(['./src/config.ts', './src/config'], [...CORE.filter((m) => m !== './src/domain'), ...ENTRY], 'config is below every module that reads it: move what it needs into domain/ or config/.'),
  zone(CORE, ENTRY, 'the core knows nothing of chat, the CLI or the HTTP server: pass plain data through a port.'),
  zone(['./src/directory', './src/health'], ['./src/store', './src/sync', './src/notify', './src/scheduler', './src/ops'], 'directory and health sit below the store: they read directories and judge plain inputs.'),
  zone(['./src/store'], ['./src/sync', './src/notify', './src/scheduler', './src/ops'], 'the store is below sync, notify, scheduler and ops: move the shared type into domain/.'),
  zone(['./src/notify'], ['./src/sync', './src/scheduler', './src/ops'], 'notify is below sync: the engine reports through notify/port.ts.'),
  zone(['./src/sync'], ['./src/scheduler', './src/ops'], 'sync is below the scheduler and ops.'),
  zone(['./src/scheduler'], ['./src/ops'], 'the scheduler and ops do not use each other.'),
  zone(['./src/ops'], ['./src/scheduler'], 'the scheduler and ops do not use each other.'),
  zone(['./src/store', './src/sync', './src/ops', './src/domain', './src/scheduler', './src/notify', './src/health'], ['./src/directory/ldap', './src/directory/ldif', './src/directory/entra'], 'use the directory port (directory/index.ts), not an implementation.'),
  zone(['./src/chat/views'], ['./src/chat/!(views)/**', './src/chat/*.ts'], 'views are neutral trees: the command layer builds them, not the other way round.'),
  zone(['./src/chat/commands'], ['./src/chat/*.ts'], 'the command layer is below the chat service and the authorizer: move the shared type into chat/commands/context.ts.'),
  zone(['./src/chat/!(teams|slack)/**', './src/chat/*.ts'], ['./src/chat/teams', './src/chat/slack'], 'the shared chat layer does not import a surface.'),
  zone(['./src/chat'], ['./src/cli', './src/main.ts'], 'chat does not use the CLI or the entry point.'),
  zone(['./src/app.ts'], ['./src/chat', './src/cli', './src/http.ts', './src/main.ts'], 'app.ts wires the core; the surfaces and the HTTP server are wired by main.ts.'),
  zone(['./src/http.ts'], ['./src/chat', './src/cli', './src/main.ts'], 'the HTTP server takes its chat routes from main.ts.'),
  zone(['./src/metrics.ts'], ['./src/chat', './src/cli', './src/main.ts'], 'metrics reads the core; the chat service reports to it through its onRequest hook.'),
  zone(['./src/chat/teams'], ['./src/chat/slack'], 'one surface does not import the other.'),
  zone(['./src/chat/slack'], ['./src/chat/teams'], 'one surface does not import the other.'),
];

/** The chat SDKs by import name (botbuilder-core, adaptivecards-templating, @slack/bolt… included). */
const TEAMS_SDK = '^(botbuilder|botframework-|@microsoft/teams-ai|adaptivecards)';
const SLACK_SDK = '^@slack/';
const sdk = (regex, where) => ({ regex, message: `chat SDK types stay under ${where}: pass plain data (views, ChatUser) across.` });

/** no-restricted-imports for src/: chat SDKs only in their surface, SQL only in the store. */
const restricted = ({ teams = true, slack = true, sql = true } = {}) => [
  'error',
  {
    patterns: [
      ...(teams ? [sdk(TEAMS_SDK, 'src/chat/teams')] : []),
      ...(slack ? [sdk(SLACK_SDK, 'src/chat/slack')] : []),
      ...(sql
        ? [
            { regex: '^drizzle-orm(/|$)', message: 'SQL only in src/store: add a store function.' },
            { regex: '(^|/)store/schema(\\.ts)?$', allowTypeImports: true, message: 'SQL only in src/store: import the row type (import type), or add a store function.' },
          ]
        : []),
    ],
  },
];

export default defineConfig(
  // What .gitignore leaves out (generated or local), and the generated migrations.
  { ignores: ['node_modules/', 'data/', '.data/', 'dist/', 'scratch/', 'bench/out/', 'test-artifacts/', 'test/artifacts/', 'manifest/teams/build/', 'migrations/', 'coverage/'] },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    files: ['**/*.ts', '**/*.js', '**/*.mjs'],
    plugins: { 'import-x': importX },
    languageOptions: { ecmaVersion: 2024, sourceType: 'module', globals: { process: 'readonly', console: 'readonly', URL: 'readonly', Buffer: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly' } },
    settings: {
      // import-x reads the files an import leads to (for no-cycle) only with these extensions and parsers.
      'import-x/extensions': ['.ts', '.js', '.mjs'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/external-module-folders': ['node_modules', 'node_modules/@types'],
      'import-x/resolver-next': [createNodeResolver({ extensions: ['.ts', '.js', '.mjs', '.json'] })],
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      // Deliberate: display text, LDAP escapes and directory data validation match control characters by design.
      'no-control-regex': 'off',
      // The codebase's way to leave a field out of a copy: `const { secret: _secret, ...rest } = o`.
      '@typescript-eslint/no-unused-vars': ['error', { varsIgnorePattern: '^_', argsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['src/**/*.ts'],
    rules: {
      'import-x/no-restricted-paths': ['error', { zones }],
      '@typescript-eslint/no-restricted-imports': restricted(),
      // One injected logger in the product; the CLI writes to process.stdout/stderr.
      'no-console': 'error',
    },
  },
  { files: ['src/store/**/*.ts'], rules: { '@typescript-eslint/no-restricted-imports': restricted({ sql: false }) } },
  { files: ['src/chat/teams/**/*.ts'], rules: { '@typescript-eslint/no-restricted-imports': restricted({ teams: false }) } },
  { files: ['src/chat/slack/**/*.ts'], rules: { '@typescript-eslint/no-restricted-imports': restricted({ slack: false }) } },
);
