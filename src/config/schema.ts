/**
 * The schemas of the environment and of the connections file (zod): every field, its default
 * and its check. config.ts builds the configuration from them; test/unit/docs-config.test.ts
 * checks docs/configuration.md against them.
 */
import ms from 'ms';
import { z } from 'zod';
import { chatEnvSchema, chatSchema } from './chat.ts';
import { MIN_INTERVAL_MS, type Schedule, cronProblem, timezoneProblem } from '../domain/schedule.ts';
import { SCOPE_PATTERN } from '../domain/graph-scope.ts';

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
export const schedule = z
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
export const threshold = z
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

export const ldapConnection = z
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

export const ldifConnection = z
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

export const entraConnection = z
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

export const connection = z.discriminatedUnion('kind', [ldapConnection, ldifConnection, entraConnection], {
  error: (issue) => (issue.code === 'invalid_union' ? 'kind must be "ldap", "ldif" or "entra"' : undefined),
});

export const fileSchema = z
  .object({
    connections: z.array(connection).default([]),
    chat: chatSchema.prefault({}),
  })
  .strict();

/** The document's shape with each connection left to its own parse (see parseConfigDocument). */
export const fileShell = fileSchema.extend({ connections: z.array(z.unknown()).default([]) });

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
