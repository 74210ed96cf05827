/**
 * One schema for the environment and the connections file. Parsed once at start-up, frozen.
 * Every message names the field and says what to do about it.
 */
import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import ms from 'ms';
import { z } from 'zod';
import { GroupsyncError } from './errors.ts';
import { type ChatConfig, type SlackConfig, type TeamsConfig, chatEnvSchema, chatSchema, slackConfig, teamsConfig } from './config/chat.ts';
import { MIN_INTERVAL_MS, type Schedule, cronProblem, timezoneProblem, typicalGapMs } from './domain/schedule.ts';
import { SCOPE_PATTERN, defaultGraphScope } from './domain/graph-scope.ts';
import { chatConnectionProblems, connectionProblems, duplicateNames } from './config/checks.ts';
import { issueLines, plainMessage } from './config/messages.ts';

export type { ChatConfig, SlackConfig, TeamsConfig } from './config/chat.ts';

const durationPattern = /^\d+(\.\d+)?\s*(ms|s|m|h|d|w)$/;

/** "24h", "30m", "7d" → milliseconds. */
const duration = z
  .string({ error: 'must be a duration such as "30m", "24h" or "7d" (a string with a unit)' })
  .regex(durationPattern, 'must be a duration such as "30m", "24h" or "7d"')
  .transform((text) => ms(text as ms.StringValue));

const attributeMap = z
  .object({
    id: z.string().min(1).optional(),
    login: z.string().min(1).optional(),
    mail: z.string().min(1).optional(),
    displayName: z.string().min(1).optional(),
    /** Attribute whose presence (or value "disabled"/"true"/"TRUE") marks a disabled account. */
    disabled: z.string().min(1).optional(),
    groupName: z.string().min(1).optional(),
    groupDescription: z.string().min(1).optional(),
    member: z.string().min(1).optional(),
  })
  .strict();

/** Either `cron` (with an optional `timezone`) or `interval`; each mistake named with its field and the fix. */
const schedule = z
  .object({ cron: z.string().min(1).optional(), timezone: z.string().optional(), interval: duration.optional() })
  .strict()
  .superRefine((value, ctx) => {
    const issue = (path: string[], message: string) => ctx.addIssue({ code: 'custom', path, message });
    if ((value.cron === undefined) === (value.interval === undefined)) {
      issue([], `give either interval (such as "24h": after each sync) or cron (such as "0 2 * * *": at fixed times)${value.cron === undefined ? '' : ', not both'}`);
    }
    if (value.interval !== undefined && value.interval < MIN_INTERVAL_MS) {
      issue(['interval'], 'must be at least 1 minute (the scheduler checks once a minute), such as "30m" or "24h"');
    }
    if (value.timezone !== undefined) {
      const problem = value.cron === undefined ? 'only applies to a cron schedule; remove it (an interval counts from the last sync)' : timezoneProblem(value.timezone);
      if (problem) issue(['timezone'], problem);
    }
    // An empty one is already said by min(1); one of spaces has no field to name.
    if (value.cron !== undefined && value.cron !== '') {
      const problem = value.cron.trim() ? cronProblem(value.cron) : 'is blank';
      if (problem) issue(['cron'], `${problem}; write five fields such as "0 2 * * *" (02:00 every night)`);
    }
  })
  .transform((value): Schedule =>
    value.cron !== undefined ? { cron: value.cron, ...(value.timezone !== undefined ? { timezone: value.timezone } : {}) } : { interval: value.interval ?? 0 },
  );

const removalLimits = {
  maxCount: z.number().int().nonnegative().default(500),
  maxPercent: z.number().min(0).max(100).default(10),
  minObjects: z.number().int().nonnegative().default(100),
};

/** Deleted groups + deactivated users against the connection's objects; removed memberships against its memberships. */
const threshold = z
  .object({
    ...removalLimits,
    memberships: z.object(removalLimits).strict().prefault({}),
  })
  .strict();

const userDefaults = z
  .object({
    active: z.boolean().default(true),
    attributes: z.record(z.string(), z.string()).default({}),
  })
  .strict();

const backoff = z
  .object({
    quarantineAfter: z.number().int().min(1).default(3),
    retry: duration.default(ms('15m')),
    quarantineRetry: duration.default(ms('6h')),
  })
  .strict();

const common = {
  name: z
    .string()
    .max(63, 'must be at most 63 characters (it is typed in chat and on the command line)')
    .regex(/^[a-z0-9][a-z0-9_-]*$/i, 'must be letters, digits, "-" or "_", starting with a letter or digit (it is typed in chat and on the command line)'),
  enabled: z.boolean().default(true),
  linkKind: z.enum(['group', 'security']).default('group'),
  matchKey: z.enum(['mail', 'login']).default('mail'),
  createUsers: z.boolean().default(true),
  userDefaults: userDefaults.default({ active: true, attributes: {} }),
  schedule: schedule.nullable().default({ interval: ms('24h') }),
  staleAfter: duration.optional(),
  deletionThreshold: threshold.prefault({}),
  /** After repeated failures: retries back off, then the connection is quarantined. */
  backoff: backoff.default({ quarantineAfter: 3, retry: ms('15m'), quarantineRetry: ms('6h') }),
};

const groupScope = z
  .object({
    baseDn: z.string().min(1).optional(),
    filter: z.string().min(1).optional(),
    /** Explicit groups by DN or name. */
    list: z.array(z.string().min(1)).default([]),
  })
  .strict();

const ldapConnection = z
  .object({
    ...common,
    kind: z.literal('ldap'),
    url: z.union([z.string(), z.array(z.string()).min(1)]),
    startTls: z.boolean().default(false),
    bindDn: z.string().min(1),
    passwordEnv: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be the NAME of an environment variable holding the password'),
    baseDn: z.string().min(1),
    vendor: z.enum(['auto', 'active-directory', 'openldap', '389ds', 'generic']).default('auto'),
    users: z
      .object({ baseDn: z.string().min(1).optional(), filter: z.string().min(1).optional() })
      .strict()
      .default({}),
    groups: groupScope.default({ list: [] }),
    attributes: attributeMap.default({}),
    tls: z
      .object({ caFile: z.string().min(1).optional(), verify: z.boolean().default(true) })
      .strict()
      .default({ verify: true }),
    pageSize: z.number().int().min(1).max(10000).default(500),
    timeoutSeconds: z.number().positive().default(30),
    /**
     * Where the server can say what changed (RFC 4533 content synchronisation on OpenLDAP, DirSync
     * on Active Directory): `detect` (true, the default) asks it whether anything changed since the
     * last applied run and reads in full only when something did; `entries` keeps every user and
     * group and merges the changes into them; `off` (false) reads in full every run.
     */
    incremental: z
      .union([z.boolean(), z.enum(['detect', 'entries', 'off'])])
      .default('detect')
      .transform((v) => (v === true ? 'detect' : v === false ? 'off' : v)),
    /** A full reconciliation read after this long since the last full read (incremental reads in between). */
    fullReadEvery: duration.default(ms('24h')),
  })
  .strict();

const ldifConnection = z
  .object({
    ...common,
    kind: z.literal('ldif'),
    file: z.string().min(1),
    groups: groupScope.default({ list: [] }),
    attributes: attributeMap.default({}),
  })
  .strict();

const envName = (what: string) =>
  z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, `must be the NAME of an environment variable holding ${what}`);

const httpsUrl = (example: string) =>
  z.string().regex(/^https:\/\/[^/\s]+(\/\S*)?$/i, `must be an https:// URL such as ${example} (Microsoft's libraries refuse plain http)`);

const entraConnection = z
  .object({
    ...common,
    kind: z.literal('entra'),
    tenantId: z.string().regex(/^[A-Za-z0-9.-]+$/, 'must be the directory (tenant) id: a GUID or a domain such as contoso.onmicrosoft.com'),
    clientId: z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, 'must be the application (client) id, a GUID'),
    /** The client secret, by the name of the environment variable holding it. */
    clientSecretEnv: envName('the client secret').optional(),
    /** A certificate credential: PEM with the certificate and its private key, from a file or an environment variable. */
    certificate: z
      .object({
        file: z.string().min(1).optional(),
        pemEnv: envName('the PEM certificate and private key').optional(),
        /** Send the certificate chain (x5c), for subject-name/issuer authentication. */
        sendChain: z.boolean().default(false),
      })
      .strict()
      .optional(),
    authorityHost: httpsUrl('https://login.microsoftonline.com').default('https://login.microsoftonline.com'),
    graphBaseUrl: httpsUrl('https://graph.microsoft.com/v1.0').default('https://graph.microsoft.com/v1.0'),
    /**
     * Scope of the app-only token: the Graph resource followed by /.default. Default: the host of
     * graphBaseUrl (https://graph.microsoft.com/.default); set it when graphBaseUrl is a proxy or
     * a private endpoint under another host name.
     */
    scope: z
      .string()
      .regex(SCOPE_PATTERN, 'must be the Graph resource followed by /.default, such as https://graph.microsoft.com/.default (an app-only token asks for the .default scope)')
      .optional(),
    /** Extra host names (no port) the Graph client may send its token to, besides Microsoft's Graph hosts. */
    trustedHosts: z.array(z.string().regex(/^[A-Za-z0-9.-]+$/, 'must be a host name without scheme or port')).default([]),
    groups: z
      .object({
        /** OData filter selecting groups, e.g. "startswith(displayName,'app-')". */
        filter: z.string().min(1).optional(),
        /** Explicit groups by object id (or display name). */
        ids: z.array(z.string().min(1)).default([]),
      })
      .strict()
      .default({ ids: [] }),
    users: z
      .object({ filter: z.string().min(1).optional() })
      .strict()
      .default({}),
    pageSize: z.number().int().min(1).max(999).default(999),
    timeoutSeconds: z.number().positive().default(60),
    /** Retries of a request answered 429/5xx or lost on the network; 429 and 503 wait as long as Retry-After says. */
    maxRetries: z.number().int().min(0).max(20).default(5),
    /** First back-off delay when the server gives no Retry-After; doubled on each retry. */
    retryDelay: duration.default(ms('2s')),
    /** Incremental sync with Graph delta queries (a full read when the delta link is missing, expired or the scope changed). */
    delta: z.boolean().default(true),
  })
  .strict();

const connection = z.discriminatedUnion('kind', [ldapConnection, ldifConnection, entraConnection], {
  error: (issue) => (issue.code === 'invalid_union' ? 'kind must be "ldap", "ldif" or "entra"' : undefined),
});

const fileSchema = z
  .object({
    connections: z.array(connection).default([]),
    chat: chatSchema.prefault({}),
  })
  .strict();

/** The document's shape with each connection left to its own parse (see parseConfigDocument). */
const fileShell = fileSchema.extend({ connections: z.array(z.unknown()).default([]) });

export const envSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3978),
  DATABASE_URL: z.string().min(1).optional(),
  GROUPSYNC_DATA_DIR: z.string().min(1).default('./data'),
  GROUPSYNC_CONFIG: z.string().min(1).optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Unset: readable lines on a terminal, JSON otherwise. */
  LOG_FORMAT: z.enum(['json', 'pretty']).optional(),
  /** When set, GET /metrics asks for `Authorization: Bearer <token>`. */
  METRICS_TOKEN: z.string().min(1).optional(),
  ...chatEnvSchema.shape,
});

/** The schemas themselves: test/unit/docs-config.test.ts checks docs/configuration.md against them. */
export { fileSchema as configFileSchema };

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
