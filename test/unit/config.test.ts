import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig, parseConnections, readConnectionsFile, SAMPLE_CONFIG } from '../../src/config.ts';
import { GroupsyncError } from '../../src/errors.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'groupsync-config-'));
const ldifFile = path.join(dir, 'people.ldif');
writeFileSync(ldifFile, 'dn: dc=example,dc=org\nobjectClass: dcObject\ndc: example\n');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ENV = { CORP_LDAP_PASSWORD: 'corp-secret' };
const LDAP = {
  name: 'corp',
  kind: 'ldap',
  url: 'ldaps://dc1.corp.example.com:636',
  bindDn: 'CN=svc-groupsync,OU=Service Accounts,DC=corp,DC=example,DC=com',
  passwordEnv: 'CORP_LDAP_PASSWORD',
  baseDn: 'DC=corp,DC=example,DC=com',
};
const LDIF = { name: 'sample', kind: 'ldif', file: 'people.ldif' };

function parse(connections: unknown[], env: Record<string, string | undefined> = ENV) {
  return parseConnections({ connections }, env, 'groupsync.yaml', dir);
}

/** The CONFIG_INVALID message parseConnections throws for `connections`. */
function problem(connections: unknown[], env: Record<string, string | undefined> = ENV): string {
  try {
    parse(connections, env);
  } catch (error) {
    expect(error).toBeInstanceOf(GroupsyncError);
    expect((error as GroupsyncError).code).toBe('CONFIG_INVALID');
    return (error as Error).message;
  }
  throw new Error('expected the configuration to be refused');
}

describe('parseConnections: a valid document', () => {
  it('fills the defaults of an LDAP connection and takes the password from the environment', () => {
    const [c] = parse([LDAP]);
    expect(c).toEqual({
      ...LDAP,
      enabled: true,
      linkKind: 'group',
      matchKey: 'mail',
      createUsers: true,
      userDefaults: { active: true, attributes: {} },
      schedule: { interval: 24 * 3600_000 },
      deletionThreshold: { maxCount: 500, maxPercent: 10, minObjects: 100, memberships: { maxCount: 500, maxPercent: 10, minObjects: 100 } },
      backoff: { quarantineAfter: 3, retry: 15 * 60_000, quarantineRetry: 6 * 3_600_000 },
      startTls: false,
      vendor: 'auto',
      users: {},
      groups: { list: [] },
      attributes: {},
      tls: { verify: true, caFile: undefined },
      pageSize: 500,
      timeoutSeconds: 30,
      incremental: 'detect',
      fullReadEvery: 24 * 3600_000,
      urls: ['ldaps://dc1.corp.example.com:636'],
      password: 'corp-secret',
      staleAfterMs: 48 * 3600_000,
    });
  });

  it('resolves an LDIF file against the folder of the connections file', () => {
    const [c] = parse([LDIF]);
    expect(c).toMatchObject({ kind: 'ldif', file: ldifFile, schedule: { interval: 24 * 3600_000 } });
  });

  it.each([
    { what: 'several URLs', fields: { url: ['ldaps://dc1:636', 'ldaps://dc2:636'] }, expected: { urls: ['ldaps://dc1:636', 'ldaps://dc2:636'] } },
    { what: 'StartTLS on ldap://', fields: { url: 'ldap://ldap.lab:389', startTls: true }, expected: { startTls: true, urls: ['ldap://ldap.lab:389'] } },
    { what: 'an interval schedule', fields: { schedule: { interval: '6h' } }, expected: { schedule: { interval: 6 * 3600_000 }, staleAfterMs: 12 * 3600_000 } },
    { what: 'a cron schedule', fields: { schedule: { cron: '0 2 * * *' } }, expected: { schedule: { cron: '0 2 * * *' }, staleAfterMs: 48 * 3600_000 } },
    { what: 'an explicit staleAfter', fields: { staleAfter: '3d' }, expected: { staleAfterMs: 72 * 3600_000 } },
    { what: 'no schedule', fields: { schedule: null }, expected: { schedule: null } },
    { what: 'a partial threshold', fields: { deletionThreshold: { maxCount: 50 } }, expected: { deletionThreshold: { maxCount: 50, maxPercent: 10, minObjects: 100 } } },
    {
      what: 'limits of its own for removed memberships',
      fields: { deletionThreshold: { memberships: { maxCount: 5000, maxPercent: 25 } } },
      expected: { deletionThreshold: { maxCount: 500, maxPercent: 10, minObjects: 100, memberships: { maxCount: 5000, maxPercent: 25, minObjects: 100 } } },
    },
  ])('accepts $what', ({ fields, expected }) => {
    expect(parse([{ ...LDAP, ...fields }])[0]).toMatchObject(expected);
  });

  it('accepts the shipped example once its site-specific CA file is left out', () => {
    const document = parseYaml(readFileSync(path.resolve(import.meta.dirname, '../../sample/groupsync.example.yaml'), 'utf8')) as {
      connections: Array<{ tls?: { caFile?: string } }>;
    };
    for (const c of document.connections) delete c.tls?.caFile;
    const connections = parseConnections(document, { CORP_LDAP_PASSWORD: 'a', LAB_LDAP_PASSWORD: 'b', CLOUD_ENTRA_SECRET: 'c' }, 'example', dir);
    expect(connections.map((c) => c.name)).toEqual(['corp', 'lab', 'cloud']);
  });

  it('reads an empty document as no connections', () => {
    expect(parseConnections(null, {}, 'empty.yaml', dir)).toEqual([]);
    expect(parseConnections({}, {}, 'empty.yaml', dir)).toEqual([]);
  });

  it('returns frozen connections, nested settings included', () => {
    const [c] = parse([{ ...LDAP, groups: { list: ['cn=a,dc=org'] }, userDefaults: { attributes: { locale: 'en' } } }]);
    for (const part of [c, c!.deletionThreshold, c!.groups, c!.groups.list, c!.userDefaults, c!.userDefaults.attributes, c!.schedule]) {
      expect(Object.isFrozen(part)).toBe(true);
    }
    expect(() => {
      (c as { name: string }).name = 'other';
    }).toThrow(TypeError);
    expect(() => {
      (c!.deletionThreshold as { maxCount: number }).maxCount = 1e9;
    }).toThrow(TypeError);
  });
});

describe('parseConnections: each mistake is refused with the field and the fix', () => {
  it.each([
    {
      what: 'a password variable that is not set',
      connections: [LDAP],
      env: {},
      message: ['connections[0] (corp).passwordEnv', 'environment variable CORP_LDAP_PASSWORD is not set', 'export it'],
    },
    {
      what: 'a password variable that is empty',
      connections: [LDAP],
      env: { CORP_LDAP_PASSWORD: '' },
      message: ['.passwordEnv', 'CORP_LDAP_PASSWORD is not set'],
    },
    {
      what: 'a password given instead of a variable name',
      connections: [{ ...LDAP, passwordEnv: 'hunter2!' }],
      env: ENV,
      message: ['connections[0].passwordEnv', 'must be the NAME of an environment variable'],
    },
    {
      what: 'a URL with another scheme',
      connections: [{ ...LDAP, url: 'https://dc1.corp.example.com' }],
      env: ENV,
      message: ['connections[0] (corp).url', '"https://dc1.corp.example.com" must start with ldap:// or ldaps://'],
    },
    {
      what: 'StartTLS with ldaps://',
      connections: [{ ...LDAP, startTls: true }],
      env: ENV,
      message: ['connections[0] (corp).startTls', 'already TLS', 'remove startTls or use ldap://'],
    },
    {
      what: 'an unknown kind',
      connections: [{ ...LDAP, kind: 'activedirectory' }],
      env: ENV,
      message: ['connections[0].kind', 'kind must be "ldap", "ldif" or "entra"'],
    },
    {
      what: 'a bad cron field',
      connections: [{ ...LDAP, schedule: { cron: '61 2 * * *' } }],
      env: ENV,
      message: ['connections[0].schedule.cron', 'minute', 'write five fields such as "0 2 * * *"'],
    },
    {
      what: 'a cron expression that is a word',
      connections: [{ ...LDAP, schedule: { cron: 'nightly' } }],
      env: ENV,
      message: ['connections[0].schedule.cron', 'write five fields such as "0 2 * * *"'],
    },
    {
      what: 'a bad interval',
      connections: [{ ...LDAP, schedule: { interval: '3 days' } }],
      env: ENV,
      message: ['connections[0].schedule.interval', 'must be a duration such as "30m", "24h" or "7d"'],
    },
    {
      what: 'a cron expression the evaluator cannot run (node-cron accepted 1W, cron-parser did not)',
      connections: [{ ...LDAP, schedule: { cron: '0 0 1W * *' } }],
      env: ENV,
      message: ['connections[0].schedule.cron', 'day of month "1W"', 'write five fields such as "0 2 * * *"'],
    },
    {
      what: 'a cron expression with six fields (seconds)',
      connections: [{ ...LDAP, schedule: { cron: '0 0 2 * * *' } }],
      env: ENV,
      message: ['connections[0].schedule.cron', 'has 6 fields', 'write five fields such as "0 2 * * *"'],
    },
    {
      what: 'a cron expression with four fields',
      connections: [{ ...LDAP, schedule: { cron: '0 2 * *' } }],
      env: ENV,
      message: ['connections[0].schedule.cron', 'has 4 fields'],
    },
    {
      what: 'a time zone that does not exist',
      connections: [{ ...LDAP, schedule: { cron: '0 2 * * *', timezone: 'Europe/Pariss' } }],
      env: ENV,
      message: ['connections[0].schedule.timezone', '"Europe/Pariss" is not a time zone', 'such as "Europe/Paris" or "UTC"'],
    },
    {
      what: 'a cron expression of spaces only',
      connections: [{ ...LDAP, schedule: { cron: '   ' } }],
      env: ENV,
      message: ['connections[0].schedule.cron: is blank; write five fields such as "0 2 * * *"'],
    },
    {
      what: 'an interval given as a bare number',
      connections: [{ ...LDAP, schedule: { interval: 24 } }],
      env: ENV,
      message: ['connections[0].schedule.interval', 'must be a duration such as "30m", "24h" or "7d"'],
    },
    {
      what: 'both an interval and a cron expression',
      connections: [{ ...LDAP, schedule: { interval: '24h', cron: '0 2 * * *' } }],
      env: ENV,
      message: ['connections[0].schedule', 'give either interval', 'or cron', 'not both'],
    },
    {
      what: 'a schedule with neither interval nor cron',
      connections: [{ ...LDAP, schedule: {} }],
      env: ENV,
      message: ['connections[0].schedule', 'give either interval'],
    },
    {
      what: 'a time zone on an interval schedule',
      connections: [{ ...LDAP, schedule: { interval: '24h', timezone: 'UTC' } }],
      env: ENV,
      message: ['connections[0].schedule.timezone', 'only applies to a cron schedule'],
    },
    {
      what: 'an interval of zero',
      connections: [{ ...LDAP, schedule: { interval: '0s' } }],
      env: ENV,
      message: ['connections[0].schedule.interval', 'at least 1 minute', 'the scheduler checks once a minute'],
    },
    {
      what: 'an interval under a minute',
      connections: [{ ...LDAP, schedule: { interval: '30s' } }],
      env: ENV,
      message: ['connections[0].schedule.interval', 'at least 1 minute'],
    },
    {
      what: 'a bad staleAfter',
      connections: [{ ...LDAP, staleAfter: 'soon' }],
      env: ENV,
      message: ['connections[0].staleAfter', 'must be a duration such as "30m", "24h" or "7d"'],
    },
    {
      what: 'a name used twice (in any letter case)',
      connections: [LDAP, { ...LDIF, name: 'CORP' }],
      env: ENV,
      message: ['connections[1] (CORP).name', '"CORP" is used twice', 'give each connection its own name'],
    },
    {
      what: 'an unknown key on a connection',
      connections: [{ ...LDAP, passwrd: 'x' }],
      env: ENV,
      message: ['connections[0].passwrd', 'not a known setting', 'check its spelling or remove it'],
    },
    {
      what: 'an unknown nested key',
      connections: [{ ...LDAP, tls: { verfy: false } }],
      env: ENV,
      message: ['connections[0].tls.verfy', 'not a known setting', 'check its spelling or remove it'],
    },
    {
      what: 'a missing LDIF file',
      connections: [{ ...LDIF, file: 'missing.ldif' }],
      env: ENV,
      message: [`connections[0] (sample).file: ${path.join(dir, 'missing.ldif')} does not exist`],
    },
    {
      what: 'a missing CA file',
      connections: [{ ...LDAP, tls: { caFile: 'ca.pem' } }],
      env: ENV,
      message: [`connections[0] (corp).tls.caFile: ${path.join(dir, 'ca.pem')} does not exist`],
    },
    {
      what: 'a percentage above 100',
      connections: [{ ...LDAP, deletionThreshold: { maxPercent: 150 } }],
      env: ENV,
      message: ['connections[0].deletionThreshold.maxPercent'],
    },
  ])('$what', ({ connections, env, message }) => {
    const text = problem(connections, env);
    expect(text).toMatch(/^groupsync\.yaml is not valid:\n/);
    for (const part of message) expect(text).toContain(part);
  });

  it('refuses an unknown top-level key', () => {
    expect(() => parseConnections({ connection: [] }, {}, 'groupsync.yaml', dir)).toThrow(/connection: "connection" is not a known setting here; check its spelling or remove it/);
  });

  it('lists every problem of the file at once', () => {
    const text = problem([{ ...LDAP, url: 'http://dc1', startTls: false }, { ...LDAP, name: 'lab', passwordEnv: 'LAB_LDAP_PASSWORD' }], ENV);
    expect(text).toContain('connections[0] (corp).url');
    expect(text).toContain('connections[1] (lab).passwordEnv');
  });

  it('never puts the password in a message', () => {
    const text = problem([{ ...LDAP, url: 'http://dc1' }], { CORP_LDAP_PASSWORD: 'corp-secret' });
    expect(text).not.toContain('corp-secret');
  });

  it('says an empty cron expression once, not also as "has 1 field"', () => {
    const lines = problem([{ ...LDAP, schedule: { cron: '' } }]).split('\n').filter((line) => line.includes('schedule.cron'));
    expect(lines).toEqual(['  connections[0].schedule.cron: must not be empty; write a value or remove the line']);
  });
});

describe('readConnectionsFile and loadConfig', () => {
  it('loads the bundled sample when GROUPSYNC_CONFIG is not set', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 3978,
      databaseUrl: null,
      dataDir: path.resolve('./data'),
      configFile: SAMPLE_CONFIG,
      usingSample: true,
      logLevel: 'info',
    });
    expect(config.connections).toHaveLength(1);
    expect(config.connections[0]).toMatchObject({
      name: 'sample',
      kind: 'ldif',
      file: path.resolve(import.meta.dirname, '../../sample/directory.ldif'),
      attributes: { disabled: 'employeeType' },
      groups: { filter: '(cn=app-*)', list: [] },
    });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.connections)).toBe(true);
  });

  it('loads the file GROUPSYNC_CONFIG names, with settings from the environment', () => {
    const file = path.join(dir, 'groupsync.yaml');
    writeFileSync(file, 'connections:\n  - name: sample\n    kind: ldif\n    file: people.ldif\n');
    const config = loadConfig({ GROUPSYNC_CONFIG: file, PORT: '8080', DATABASE_URL: 'postgres://db/groupsync', LOG_LEVEL: 'debug' });
    expect(config).toMatchObject({ port: 8080, databaseUrl: 'postgres://db/groupsync', configFile: file, usingSample: false, logLevel: 'debug' });
    expect(config.connections[0]).toMatchObject({ name: 'sample', file: ldifFile });
  });

  it.each([
    { what: 'a missing file', env: { GROUPSYNC_CONFIG: path.join(dir, 'nope.yaml') }, message: /cannot read the connections file .*nope\.yaml.*set GROUPSYNC_CONFIG to an existing file/ },
    { what: 'a bad port', env: { PORT: 'eighty' }, message: /the environment is not valid:\n {2}PORT:/ },
    { what: 'a bad log level', env: { LOG_LEVEL: 'loud' }, message: /LOG_LEVEL/ },
  ])('refuses $what', ({ env, message }) => {
    expect(() => loadConfig(env)).toThrow(message);
  });

  it.each([
    { what: 'an empty file', text: '' },
    { what: 'a file with an empty list', text: 'connections: []\n' },
    { what: 'a file with only chat settings', text: 'chat:\n  admins: { slack: [U024BE7LH] }\n' },
  ])('refuses $what: a service with no connection has nothing to do', ({ text }) => {
    const file = path.join(dir, 'empty.yaml');
    writeFileSync(file, text);
    expect(() => readConnectionsFile(file, {})).toThrow(/empty\.yaml is not valid:\n {2}connections: no connection is configured; add one/);
  });

  it('refuses a file that is not YAML, naming it', () => {
    const file = path.join(dir, 'broken.yaml');
    writeFileSync(file, 'connections: [\n');
    expect(() => readConnectionsFile(file, {})).toThrow(/broken\.yaml is not valid YAML/);
  });
});

describe('parseConnections: entra', () => {
  const ENTRA = {
    name: 'cloud',
    kind: 'entra',
    tenantId: '11111111-2222-4333-8444-555555555555',
    clientId: 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee',
    clientSecretEnv: 'ENTRA_SECRET',
    groups: { filter: "startswith(displayName,'app-')" },
  };
  const SECRET = { ENTRA_SECRET: 'cloud-secret' };

  it('fills the defaults and takes the secret from the environment', () => {
    const [c] = parse([ENTRA], SECRET);
    expect(c).toMatchObject({
      kind: 'entra',
      authorityHost: 'https://login.microsoftonline.com',
      graphBaseUrl: 'https://graph.microsoft.com/v1.0',
      trustedHosts: [],
      groups: { filter: "startswith(displayName,'app-')", list: [] },
      users: {},
      pageSize: 999,
      timeoutSeconds: 60,
      maxRetries: 5,
      retryDelay: 2000,
      delta: true,
      credential: { type: 'secret', secret: 'cloud-secret' },
    });
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('takes a national cloud, explicit group ids and a certificate from a file', () => {
    const pem = path.join(dir, 'app.pem');
    writeFileSync(pem, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n');
    const { clientSecretEnv: _secret, ...noSecret } = ENTRA;
    const [c] = parse([{ ...noSecret, certificate: { file: 'app.pem' }, authorityHost: 'https://login.microsoftonline.us/', graphBaseUrl: 'https://graph.microsoft.us/v1.0/', groups: { ids: ['g1'] } }], {});
    expect(c).toMatchObject({
      authorityHost: 'https://login.microsoftonline.us',
      graphBaseUrl: 'https://graph.microsoft.us/v1.0',
      groups: { list: ['g1'] },
      credential: { type: 'certificate', sendChain: false },
    });
  });

  it.each([
    { graphBaseUrl: 'https://graph.microsoft.com/v1.0', scope: 'https://graph.microsoft.com/.default' },
    { graphBaseUrl: 'https://graph.microsoft.us/v1.0', scope: 'https://graph.microsoft.us/.default' },
    { graphBaseUrl: 'https://dod-graph.microsoft.us/beta', scope: 'https://dod-graph.microsoft.us/.default' },
    { graphBaseUrl: 'https://microsoftgraph.chinacloudapi.cn/v1.0', scope: 'https://microsoftgraph.chinacloudapi.cn/.default' },
    { graphBaseUrl: 'https://GRAPH.microsoft.com:443/v1.0', scope: 'https://graph.microsoft.com/.default' },
    { graphBaseUrl: 'https://graph-proxy.corp.example:8443/v1.0', scope: 'https://graph-proxy.corp.example:8443/.default' },
  ])('derives the token scope $scope from $graphBaseUrl', ({ graphBaseUrl, scope }) => {
    const [c] = parse([{ ...ENTRA, graphBaseUrl }], SECRET);
    expect(c).toMatchObject({ scope });
  });

  it('takes the token scope as set, for a Graph behind another host name', () => {
    const [c] = parse([{ ...ENTRA, graphBaseUrl: 'https://graph-proxy.corp.example/v1.0', scope: 'https://graph.microsoft.com/.default' }], SECRET);
    expect(c).toMatchObject({ graphBaseUrl: 'https://graph-proxy.corp.example/v1.0', scope: 'https://graph.microsoft.com/.default' });
  });

  it.each([
    { what: 'no secret variable set', connections: [ENTRA], env: {}, message: ['connections[0] (cloud).clientSecretEnv: environment variable ENTRA_SECRET is not set'] },
    { what: 'neither secret nor certificate', connections: [{ ...ENTRA, clientSecretEnv: undefined }], env: {}, message: ['needs clientSecretEnv', 'or certificate'] },
    { what: 'both secret and certificate', connections: [{ ...ENTRA, certificate: { pemEnv: 'PEM' } }], env: { ...SECRET, PEM: 'x' }, message: ['either clientSecretEnv or certificate, not both'] },
    { what: 'a certificate without its key', connections: [{ ...ENTRA, clientSecretEnv: undefined, certificate: { pemEnv: 'PEM' } }], env: { PEM: '-----BEGIN CERTIFICATE-----' }, message: ['the PEM has no private key'] },
    { what: 'an http authority', connections: [{ ...ENTRA, authorityHost: 'http://login.example' }], env: SECRET, message: ['connections[0].authorityHost', 'must be an https:// URL'] },
    { what: 'a Graph URL without version', connections: [{ ...ENTRA, graphBaseUrl: 'https://graph.microsoft.com' }], env: SECRET, message: ['graphBaseUrl', 'service root with its version'] },
    { what: 'a trusted host with a port', connections: [{ ...ENTRA, trustedHosts: ['graph.local:8443'] }], env: SECRET, message: ['connections[0].trustedHosts[0]', 'without scheme or port'] },
    { what: 'a client id that is not a GUID', connections: [{ ...ENTRA, clientId: 'groupsync' }], env: SECRET, message: ['connections[0].clientId', 'application (client) id'] },
    { what: 'a page size above 999', connections: [{ ...ENTRA, pageSize: 5000 }], env: SECRET, message: ['connections[0].pageSize'] },
    { what: 'a scope without /.default', connections: [{ ...ENTRA, scope: 'https://graph.microsoft.com/User.Read' }], env: SECRET, message: ['connections[0].scope', '/.default'] },
    { what: 'an LDAP setting on entra', connections: [{ ...ENTRA, baseDn: 'dc=x' }], env: SECRET, message: ['connections[0].baseDn', 'not a known setting'] },
  ])('refuses $what', ({ connections, env, message }) => {
    const text = problem(connections, env);
    for (const part of message) expect(text).toContain(part);
    expect(text).not.toContain('cloud-secret');
  });
});

describe('every problem at once', () => {
  const ENTRA_MIN = { name: 'cloud', kind: 'entra', tenantId: 'contoso.onmicrosoft.com', clientId: '11111111-2222-3333-4444-555555555555', clientSecretEnv: 'ENTRA_SECRET' };

  it('reports an unknown key together with a bad URL and an unset password variable', () => {
    const text = problem([{ ...LDAP, url: 'http://dc', passwordEnv: 'NOT_SET_PASSWORD', pagesize: 10 }], {});
    expect(text).toContain('connections[0].pagesize: "pagesize" is not a known setting');
    expect(text).toContain('connections[0] (corp).url: "http://dc" must start with ldap:// or ldaps://');
    expect(text).toContain('connections[0] (corp).passwordEnv: environment variable NOT_SET_PASSWORD is not set');
  });

  it('does not let an over-long name hide the other connections\' and the chat section\'s problems', () => {
    const long = 'x'.repeat(64);
    const document = {
      connections: [
        { ...LDAP, name: long },
        { ...LDAP, name: 'corp', startTls: true, tls: { caFile: 'nope-ca.pem' } },
        { ...LDAP, name: 'CORP' },
        { ...ENTRA_MIN, certificate: { pemEnv: 'PEM' }, graphBaseUrl: 'https://graph.microsoft.com' },
      ],
      chat: { admins: { directoryGroups: [{ connection: 'nowhere', group: 'admins' }] } },
    };
    let text = '';
    try {
      parseConnections(document, { ...ENV, ENTRA_SECRET: 's', PEM: 'x' }, 'groupsync.yaml', dir);
    } catch (error) {
      text = (error as Error).message;
    }
    expect(text).toContain('connections[0].name: must be at most 63 characters');
    expect(text).toContain('connections[1] (corp).startTls: StartTLS is for ldap:// URLs');
    expect(text).toContain(`connections[1] (corp).tls.caFile: ${path.join(dir, 'nope-ca.pem')} does not exist`);
    expect(text).toContain('connections[2] (CORP).name: "CORP" is used twice');
    expect(text).toContain('connections[3] (cloud): give either clientSecretEnv or certificate, not both');
    expect(text).toContain('connections[3] (cloud).graphBaseUrl: "https://graph.microsoft.com" must be the service root');
    expect(text).toContain('chat.admins.directoryGroups[0].connection: "nowhere" is not a configured connection');
  });

  it('clips an over-long name where it labels the connection\'s other problems', () => {
    const text = problem([{ ...LDAP, name: 'a'.repeat(70) }], {});
    expect(text).toContain(`connections[0] (${'a'.repeat(40)}…).passwordEnv: environment variable CORP_LDAP_PASSWORD is not set`);
  });

  it('says the length limit of a name, not its characters, when only the length is wrong', () => {
    const text = problem([{ ...LDAP, name: 'a'.repeat(64) }]);
    expect(text).toContain('at most 63 characters');
    expect(text).not.toContain('must be letters, digits');
  });

  it('reports a schema error in one connection together with a missing file in another', () => {
    const text = problem([{ ...LDAP, pageSize: 0 }, { ...LDIF, file: 'missing.ldif' }]);
    expect(text).toContain('connections[0].pageSize: must be at least 1');
    expect(text).toContain(`connections[1] (sample).file: ${path.join(dir, 'missing.ldif')} does not exist`);
  });

  it('reports an empty connection list together with the chat section\'s problems', () => {
    const file = path.join(dir, 'only-chat.yaml');
    writeFileSync(file, 'chat:\n  admins:\n    slack: [nobody]\n');
    expect(() => readConnectionsFile(file, {})).toThrow(/connections: no connection is configured[\s\S]*chat\.admins\.slack\[0\]: must be a Slack user id/);
  });
});

describe('messages in plain words', () => {
  function envProblem(env: Record<string, string | undefined>): GroupsyncError {
    try {
      loadConfig({ GROUPSYNC_CONFIG: path.join(dir, 'plain.yaml'), ...env });
    } catch (error) {
      return error as GroupsyncError;
    }
    throw new Error('expected the environment to be refused');
  }
  writeFileSync(path.join(dir, 'plain.yaml'), 'connections:\n  - name: sample\n    kind: ldif\n    file: people.ldif\n');

  it.each([
    { env: { PORT: 'abc' }, says: 'PORT: must be a number, such as 3978' },
    { env: { PORT: '70000' }, says: 'PORT: must be at most 65535 (it is 70000)' },
    { env: { LOG_FORMAT: 'xml' }, says: 'LOG_FORMAT: must be "json" or "pretty", not the text "xml"' },
    { env: { LOG_LEVEL: 'loud' }, says: 'LOG_LEVEL: must be "fatal", "error"' },
    { env: { SLACK_SOCKET_MODE: 'yes' }, says: 'SLACK_SOCKET_MODE: must be "0", "1", "true" or "false"' },
    { env: { MICROSOFT_APP_TYPE: 'multi' }, says: 'MICROSOFT_APP_TYPE: must be "MultiTenant", "SingleTenant" or "UserAssignedMSI"' },
  ])('$says', ({ env, says }) => {
    const error = envProblem(env);
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toMatch(/^the environment is not valid:\n/);
    expect(error.message).toContain(says);
    expect(error.message).not.toMatch(/Invalid (input|option)|Too (big|small)|expected/);
  });

  it.each([
    { document: { connections: null }, says: 'connections: has no value (nothing after the colon)' },
    { document: { connections: [{ ...LDAP, pageSize: 0 }] }, says: 'connections[0].pageSize: must be at least 1 (it is 0)' },
    { document: { connections: [{ ...LDAP, deletionThreshold: { maxPercent: 150 } }] }, says: 'connections[0].deletionThreshold.maxPercent: must be at most 100 (it is 150)' },
    { document: { connections: [{ ...LDAP, backoff: { quarantineAfter: 0 } }] }, says: 'connections[0].backoff.quarantineAfter: must be at least 1 (it is 0)' },
    { document: { connections: [{ ...LDAP, enabled: 'yes' }] }, says: 'connections[0].enabled: must be true or false, not the text "yes"' },
  ])('$says', ({ document, says }) => {
    let text = '';
    try {
      parseConnections(document, ENV, 'groupsync.yaml', dir);
    } catch (error) {
      text = (error as Error).message;
    }
    expect(text).toContain(says);
    expect(text).not.toMatch(/Invalid (input|option)|Too (big|small)|expected/);
  });
});

describe('the environment and the file together', () => {
  it('reports a bad environment and a bad file in one message', () => {
    const file = path.join(dir, 'bad-with-env.yaml');
    writeFileSync(file, 'connections:\n  - name: sample\n    kind: ldif\n    file: missing.ldif\n');
    expect(() => loadConfig({ GROUPSYNC_CONFIG: file, PORT: '70000' })).toThrow(/^the environment is not valid:\n {2}PORT: .*\n.*bad-with-env\.yaml is not valid:\n {2}connections\[0\] \(sample\)\.file:/);
  });
});
