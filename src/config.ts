/**
 * The configuration, built from the environment and the connections file (their schemas are in
 * config/schema.ts). Parsed once at start-up, frozen.
 * Every message names the field and says what to do about it.
 */
import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import ms from 'ms';
import { z } from 'zod';
import { GroupsyncError } from './errors.ts';
import { type ChatConfig, type SlackConfig, type TeamsConfig, slackConfig, teamsConfig } from './config/chat.ts';
import { defaultGraphScope } from './domain/graph-scope.ts';
import { typicalGapMs } from './domain/schedule.ts';
import { connection, entraConnection, envSchema, fileSchema, fileShell, ldapConnection, ldifConnection, schedule, threshold } from './config/schema.ts';
import { chatConnectionProblems, connectionProblems, duplicateNames } from './config/checks.ts';
import { issueLines, plainMessage } from './config/messages.ts';

export type { ChatConfig, SlackConfig, TeamsConfig } from './config/chat.ts';

/** The schemas themselves: test/unit/docs-config.test.ts checks docs/configuration.md against them. */
export { envSchema, fileSchema as configFileSchema };

type FileConnection = z.infer<typeof connection>;
export type LdapConnectionConfig = Readonly<z.infer<typeof ldapConnection>> & {
  readonly password: string;
  readonly urls: readonly string[];
  readonly staleAfterMs: number;
};
export type LdifConnectionConfig = Readonly<z.infer<typeof ldifConnection>> & { readonly staleAfterMs: number };
type EntraFileConfig = z.infer<typeof entraConnection>;
/** Entra's groups scope as the engine reads it (`list` = the explicit ids), and the credential read from the environment. */
export type EntraConnectionConfig = Readonly<Omit<EntraFileConfig, 'groups' | 'certificate' | 'scope'>> & {
  /** As set, or derived from graphBaseUrl (see domain/graph-scope.ts). */
  readonly scope: string;
  readonly groups: { readonly filter?: string | undefined; readonly list: readonly string[] };
  readonly credential:
    | { readonly type: 'secret'; readonly secret: string }
    | { readonly type: 'certificate'; readonly pem: string; readonly sendChain: boolean };
  readonly staleAfterMs: number;
};
export type ConnectionConfig = LdapConnectionConfig | LdifConnectionConfig | EntraConnectionConfig;
export type ScheduleConfig = z.infer<typeof schedule>;
export type DeletionThresholdConfig = z.infer<typeof threshold>;

export interface AppConfig {
  readonly port: number;
  readonly databaseUrl: string | null;
  readonly dataDir: string;
  readonly configFile: string | null;
  readonly usingSample: boolean;
  readonly logLevel: z.infer<typeof envSchema>['LOG_LEVEL'];
  /** Unset or null: decided by whether the log stream is a terminal. */
  readonly logFormat?: 'json' | 'pretty' | null;
  /** Unset or null: /metrics is open (like /healthz). */
  readonly metricsToken?: string | null;
  readonly connections: readonly ConnectionConfig[];
  readonly chat: ChatConfig;
  readonly teams: TeamsConfig;
  readonly slack: SlackConfig | null;
}

const DAY = ms('24h');

/** Freezes an object and everything inside it: a connection's nested settings are as read-only as its top level. */
function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

/** Default staleness: twice the schedule's interval (for cron, twice the gap between runs). */
function staleLimit(c: FileConnection): number {
  if (c.staleAfter !== undefined) return c.staleAfter;
  if (c.schedule) return 2 * typicalGapMs(c.schedule);
  return 2 * DAY;
}

/** Parses a connections document (already read from YAML/JSON). `env` supplies the secrets by name. */
export function parseConnections(
  document: unknown,
  env: Record<string, string | undefined>,
  source: string,
  baseDir: string,
): ConnectionConfig[] {
  return parseConfigDocument(document, env, source, baseDir).connections;
}

/** Parses the whole config document: connections and who may use the chat bot. */
export function parseConfigDocument(
  document: unknown,
  env: Record<string, string | undefined>,
  source: string,
  baseDir: string,
  options: { requireConnection?: boolean } = {},
): { connections: ConnectionConfig[]; chat: ChatConfig } {
  // Every problem in one pass: the document's shape, then each connection on its own (a mistake
  // in one never hides another's), then the checks the schema cannot make, then the chat section.
  const shell = fileShell.safeParse(document ?? {}, { error: plainMessage });
  const shellIssues = shell.success ? [] : shell.error.issues;
  const raws = Array.isArray(record(document)?.connections) ? (record(document)!.connections as unknown[]) : [];
  const parsed = raws.map((raw) => connection.safeParse(raw, { error: plainMessage }));
  const problems = [
    ...issueLines(shellIssues.filter((issue) => issue.path[0] !== 'chat')),
    ...(options.requireConnection && raws.length === 0 && !shellIssues.some((i) => i.path[0] === 'connections')
      ? ['  connections: no connection is configured; add one (see sample/groupsync.example.yaml)']
      : []),
    ...raws.flatMap((raw, index) => [
      ...issueLines((parsed[index]!.error?.issues ?? []).map((issue) => ({ ...issue, path: ['connections', index, ...issue.path] }))),
      ...connectionProblems(raw, index, env, baseDir, (file) => readFileSync(file, 'utf8')),
    ]),
    ...duplicateNames(raws),
    ...issueLines(shellIssues.filter((issue) => issue.path[0] === 'chat')),
    ...chatConnectionProblems(record(document)?.chat, raws),
  ];
  if (problems.length || !shell.success) throw new GroupsyncError('CONFIG_INVALID', `${source} is not valid:\n${problems.join('\n')}`);
  const connections = parsed.map((p) => buildConnection(p.data!, env, baseDir));
  return { connections, chat: deepFreeze(shell.data.chat) };
}

function record(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

/** A connection as the engine reads it; called once every check has passed. */
function buildConnection(c: FileConnection, env: Record<string, string | undefined>, baseDir: string): ConnectionConfig {
  if (c.kind === 'ldap') {
    const caFile = c.tls.caFile ? path.resolve(baseDir, c.tls.caFile) : undefined;
    const urls = Array.isArray(c.url) ? c.url : [c.url];
    return deepFreeze({ ...c, tls: { ...c.tls, caFile }, urls, password: env[c.passwordEnv] ?? '', staleAfterMs: staleLimit(c) });
  }
  if (c.kind === 'entra') {
    const { groups, certificate: _certificate, ...rest } = c;
    const graphBaseUrl = c.graphBaseUrl.replace(/\/+$/, '');
    return deepFreeze({
      ...rest,
      authorityHost: c.authorityHost.replace(/\/+$/, ''),
      graphBaseUrl,
      scope: c.scope ?? defaultGraphScope(graphBaseUrl),
      groups: { filter: groups.filter, list: groups.ids },
      credential: entraCredential(c, env, baseDir),
      staleAfterMs: staleLimit(c),
    });
  }
  return deepFreeze({ ...c, file: path.resolve(baseDir, c.file), staleAfterMs: staleLimit(c) });
}

/** The Entra credential from the environment (or a certificate file), once the checks have passed. */
function entraCredential(c: EntraFileConfig, env: Record<string, string | undefined>, baseDir: string): EntraConnectionConfig['credential'] {
  if (c.certificate) {
    const { file, pemEnv, sendChain } = c.certificate;
    const pem = file !== undefined ? readFileSync(path.resolve(baseDir, file), 'utf8') : (env[pemEnv!] ?? '');
    return { type: 'certificate', pem, sendChain };
  }
  return { type: 'secret', secret: env[c.clientSecretEnv!] ?? '' };
}

export function readConnectionsFile(file: string, env: Record<string, string | undefined>): ConnectionConfig[] {
  return readConfigFile(file, env).connections;
}

export function readConfigFile(file: string, env: Record<string, string | undefined>): { connections: ConnectionConfig[]; chat: ChatConfig } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new GroupsyncError('CONFIG_INVALID', `cannot read the connections file ${file}: ${(error as Error).message}; set GROUPSYNC_CONFIG to an existing file`, { cause: error });
  }
  let document: unknown;
  try {
    document = file.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    throw new GroupsyncError('CONFIG_INVALID', `${file} is not valid ${file.endsWith('.json') ? 'JSON' : 'YAML'}: ${(error as Error).message}`, { cause: error });
  }
  // A service with no connection syncs nothing and shows an empty health page: an empty file is a
  // mistake (a wrong GROUPSYNC_CONFIG, a file not filled in yet), said at start-up.
  return parseConfigDocument(document, env, file, path.dirname(path.resolve(file)), { requireConnection: true });
}

/** The sample directory that ships with groupsync, used when no connections file is configured. */
export const SAMPLE_CONFIG = path.resolve(import.meta.dirname, '..', 'sample', 'groupsync.yaml');

/** Reads `.env` from the working directory into process.env when present (existing variables win). */
export function loadDotEnv(file = '.env'): void {
  if (existsSync(file)) process.loadEnvFile(file);
}

/** Runs one part of the configuration's reading; a CONFIG_INVALID message is kept for the joint report. */
function collect<T>(messages: string[], read: () => T): T | undefined {
  try {
    return read();
  } catch (error) {
    if (!(error instanceof GroupsyncError) || error.code !== 'CONFIG_INVALID') throw error;
    messages.push(error.message);
    return undefined;
  }
}

/** The environment and the config file, read together: their problems are reported in one message. */
export function loadConfig(env: Record<string, string | undefined> = process.env): AppConfig {
  const messages: string[] = [];
  const parsed = envSchema.safeParse(env, { error: plainMessage });
  if (!parsed.success) messages.push(`the environment is not valid:\n${issueLines(parsed.error.issues).join('\n')}`);
  const chatEnv = parsed.success ? collect(messages, () => ({ teams: teamsConfig(parsed.data), slack: slackConfig(parsed.data) })) : undefined;
  const configFile = env.GROUPSYNC_CONFIG ? path.resolve(env.GROUPSYNC_CONFIG) : SAMPLE_CONFIG;
  const file = collect(messages, () => readConfigFile(configFile, env));
  if (messages.length || !parsed.success || !chatEnv || !file) throw new GroupsyncError('CONFIG_INVALID', messages.join('\n'));
  const e = parsed.data;
  return Object.freeze({
    chat: file.chat,
    teams: chatEnv.teams,
    slack: chatEnv.slack,
    port: e.PORT,
    databaseUrl: e.DATABASE_URL ?? null,
    dataDir: path.resolve(e.GROUPSYNC_DATA_DIR),
    configFile,
    usingSample: !e.GROUPSYNC_CONFIG,
    logLevel: e.LOG_LEVEL,
    logFormat: e.LOG_FORMAT ?? null,
    metricsToken: e.METRICS_TOKEN ?? null,
    connections: Object.freeze(file.connections),
  });
}
