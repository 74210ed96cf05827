// A private, throw-away OpenLDAP slapd for tests (never the Debian service): its own cn=config
// built with `slapadd -n0`, one mdb database for dc=example,dc=org, core/cosine/inetorgperson/nis
// schemas, no size/time limits, listening on 127.0.0.1 on free ports. Optional TLS with a
// throw-away CA (ldaps:// on a second port and StartTLS on the ldap:// port).
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from 'ldapts';
import { freePort, isAlive, removeDir, requireBinary, run, sleep, startWatchdog, type Watchdog } from './proc.ts';
import { SBIN_DIRS } from './provision.ts';

export const BASE_DN = 'dc=example,dc=org';
export const ADMIN_DN = `cn=admin,${BASE_DN}`;
export const DEFAULT_ADMIN_PASSWORD = 'admin-secret';
export const CONFIG_DN = 'cn=config';

/** Paths of the LDIF fixtures in test/fixtures/ldif (see the README there). */
export const FIXTURES_DIR = fileURLToPath(new URL('../fixtures/ldif/', import.meta.url));
export const FIXTURE_LDIF = {
  /** dc=example,dc=org with ou=people and ou=groups. Loaded by default. */
  base: join(FIXTURES_DIR, 'base.ldif'),
  /** The edge-case users and groups (needs base). */
  scenarios: join(FIXTURES_DIR, 'scenarios.ldif'),
  /** 1,600 users bulk-user-0001..1600 and cn=big-group with all of them (needs base). */
  bigGroup: join(FIXTURES_DIR, 'big-group.ldif'),
} as const;

/** Non-admin account from scenarios.ldif, allowed to read everything (like a sync service account). */
export const SERVICE_ACCOUNT = {
  dn: `uid=svc-groupsync,ou=services,${BASE_DN}`,
  password: 'svc-secret',
} as const;

export interface StartSlapdOptions {
  /** Load test/fixtures/ldif/base.ldif (suffix entry, ou=people, ou=groups) first. Default true. */
  base?: boolean;
  /** LDIF files (paths, or LDIF text) loaded before start with slapadd, in order, after base. */
  ldif?: string[];
  /** Large LDIF file(s) loaded with `slapadd -q` before start, after `ldif` (e.g. 110,000 generated entries). */
  bulkLdif?: string | string[];
  /** Serve ldaps:// on a second port and StartTLS on the ldap:// port, with a throw-away CA. */
  tls?: boolean;
  /** Validity of the server certificate in days from now (default 365). */
  certDays?: number;
  /** Exact notAfter of the server certificate (overrides certDays; may be in the past for an expired cert). */
  certNotAfter?: Date;
  adminPassword?: string;
  /** slapd debug level (`-d`), e.g. 'stats'; output goes to `<dir>/slapd.log`. Default 0 (quiet). */
  logLevel?: string;
  /**
   * Load the syncprov overlay (RFC 4533 content synchronisation) on the database, as a provider
   * does. `sessionlog`: deletions remembered for refreshes from a cookie (olcSpSessionLog); without
   * it the server answers a refresh from a cookie with a present phase.
   */
  syncprov?: boolean | { sessionlog?: number };
}

export interface SlapdHandle {
  /** ldap://127.0.0.1:<port> (StartTLS available when tls is on). */
  url: string;
  port: number;
  /** ldaps://127.0.0.1:<port>, when tls is on. */
  ldapsUrl?: string;
  ldapsPort?: number;
  /** ldapi:// URL of a unix socket; root (the uid running the tests) gets manage rights on cn=config via SASL EXTERNAL. */
  ldapiUrl: string;
  /** PEM file / contents of the throw-away CA that signed the server certificate, when tls is on. */
  caFile?: string;
  caPem?: string;
  /** The server certificate (PEM) and its notAfter, when tls is on. */
  certPem?: string;
  certNotAfter?: Date;
  baseDn: string;
  adminDn: string;
  adminPassword: string;
  /** cn=config rootDN; its password is adminPassword. */
  configDn: string;
  /** The instance's temp directory (config, data, certs, slapd.log). Removed by stop(). */
  dir: string;
  /** pid of the running slapd (changes on restart). */
  readonly pid: number;
  /**
   * Adds LDIF (a path, or LDIF text) with `ldapadd` as the admin against the running server.
   * Records with an explicit `changetype:` (modify, delete, modrdn) are applied as such.
   */
  load(ldif: string): Promise<void>;
  /** SIGSTOP: the server keeps its sockets open but stops answering (TCP connects still succeed). */
  pause(): void;
  /** SIGCONT after pause(). */
  resume(): void;
  /** SIGKILL, like a crash; the data directory is kept so restart() can bring it back. */
  kill(): void;
  /** Starts slapd again on the same ports with the same data (after kill(), or while running). */
  restart(): Promise<void>;
  /** Stops slapd and removes its temp directory. Idempotent. */
  stop(): Promise<void>;
}

const SCHEMA_DIRS = ['/etc/ldap/schema', '/etc/openldap/schema', '/usr/local/etc/openldap/schema'];
const MODULE_DIRS = ['/usr/lib/ldap', '/usr/lib/x86_64-linux-gnu/ldap', '/usr/lib64/openldap', '/usr/lib/openldap', '/usr/local/libexec/openldap'];
const SCHEMAS = ['core', 'cosine', 'inetorgperson', 'nis'];
const INSTALL_HINT = 'Install the Debian packages slapd and ldap-utils.';

function firstExisting(paths: readonly string[], what: string): string {
  const found = paths.find((p) => existsSync(p));
  if (!found) throw new Error(`${what} not found in ${paths.join(', ')}. ${INSTALL_HINT}`);
  return found;
}

/** Accepts a path or LDIF text; returns LDIF text. */
function ldifText(pathOrText: string): string {
  if (/^\s*(#.*\n\s*)*(dn|version)\s*:/i.test(pathOrText) || pathOrText.includes('\n')) return pathOrText;
  return readFileSync(pathOrText, 'utf8');
}

function joinLdif(parts: readonly string[]): string {
  return parts.map((p) => p.replace(/\s+$/, '')).join('\n\n') + '\n';
}

// ---------------------------------------------------------------------------------------------
// Certificates

interface Certs {
  caFile: string;
  caPem: string;
  certFile: string;
  certPem: string;
  keyFile: string;
  notAfter: Date;
}

/** openssl UTCTime (YYMMDDHHMMSSZ) for years < 2050, GeneralizedTime after. */
function asn1Time(d: Date): string {
  const iso = d.toISOString(); // 2026-11-22T04:05:06.789Z
  const full = iso.slice(0, 4) + iso.slice(5, 7) + iso.slice(8, 10) + iso.slice(11, 13) + iso.slice(14, 16) + iso.slice(17, 19) + 'Z';
  return d.getUTCFullYear() < 2050 ? full.slice(2) : full;
}

async function makeCerts(dir: string, notAfterWanted: Date): Promise<Certs> {
  const openssl = requireBinary('openssl', [], 'Install the Debian package openssl.');
  const tlsDir = join(dir, 'tls');
  mkdirSync(join(tlsDir, 'newcerts'), { recursive: true });
  writeFileSync(join(tlsDir, 'index.txt'), '');
  // openssl wants an even number of hex digits: always six.
  writeFileSync(join(tlsDir, 'serial'), `${(0x100000 + Math.floor(Math.random() * 0xefffff)).toString(16)}\n`);
  const cnf = join(tlsDir, 'openssl.cnf');
  writeFileSync(
    cnf,
    [
      '[ req ]',
      'distinguished_name = req_dn',
      'prompt = no',
      '[ req_dn ]',
      'CN = groupsync-test',
      '[ v3_ca ]',
      'basicConstraints = critical, CA:TRUE',
      'keyUsage = critical, keyCertSign, cRLSign',
      'subjectKeyIdentifier = hash',
      '[ ca ]',
      'default_ca = CA_default',
      '[ CA_default ]',
      `dir = ${tlsDir}`,
      'database = $dir/index.txt',
      'new_certs_dir = $dir/newcerts',
      'serial = $dir/serial',
      'default_md = sha256',
      'policy = policy_any',
      'unique_subject = no',
      'email_in_dn = no',
      'copy_extensions = none',
      '[ policy_any ]',
      'commonName = supplied',
      '[ server_ext ]',
      'basicConstraints = critical, CA:FALSE',
      'keyUsage = critical, digitalSignature, keyEncipherment',
      'extendedKeyUsage = serverAuth',
      'subjectKeyIdentifier = hash',
      'authorityKeyIdentifier = keyid',
      'subjectAltName = IP:127.0.0.1, DNS:localhost',
      '',
    ].join('\n'),
  );
  const caKey = join(tlsDir, 'ca.key');
  const caFile = join(tlsDir, 'ca.pem');
  const keyFile = join(tlsDir, 'server.key');
  const csr = join(tlsDir, 'server.csr');
  const certFile = join(tlsDir, 'server.pem');
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const env = { ...process.env, OPENSSL_CONF: cnf };

  await Promise.all([
    run(openssl, ['req', '-config', cnf, '-x509', ...ec, '-keyout', caKey, '-out', caFile, '-days', '3650', '-subj', '/O=groupsync tests/CN=groupsync throw-away test CA', '-extensions', 'v3_ca'], { env }),
    run(openssl, ['req', '-config', cnf, '-new', ...ec, '-keyout', keyFile, '-out', csr, '-subj', '/O=groupsync tests/CN=127.0.0.1'], { env }),
  ]);

  const now = Date.now();
  const notAfter = new Date(Math.floor(notAfterWanted.getTime() / 1000) * 1000);
  // Back-date notBefore an hour (clock skew), or well before an already-past notAfter.
  const notBefore = new Date(Math.min(now - 3600_000, notAfter.getTime() - 30 * 86400_000));
  await run(
    openssl,
    ['ca', '-batch', '-config', cnf, '-cert', caFile, '-keyfile', caKey, '-in', csr, '-out', certFile, '-notext', '-extensions', 'server_ext', '-startdate', asn1Time(notBefore), '-enddate', asn1Time(notAfter)],
    { env },
  );
  return {
    caFile,
    caPem: readFileSync(caFile, 'utf8'),
    certFile,
    certPem: readFileSync(certFile, 'utf8'),
    keyFile,
    notAfter,
  };
}

// ---------------------------------------------------------------------------------------------
// cn=config

interface ConfigOptions {
  dir: string;
  dataDir: string;
  schemaDir: string;
  moduleDir: string;
  adminPassword: string;
  certs?: Certs | undefined;
  syncprov?: StartSlapdOptions['syncprov'];
}

function syncprovLdif(syncprov: StartSlapdOptions['syncprov']): string[][] {
  if (!syncprov) return [];
  const sessionlog = typeof syncprov === 'object' && syncprov.sessionlog ? [`olcSpSessionLog: ${syncprov.sessionlog}`] : [];
  return [['dn: olcOverlay={0}syncprov,olcDatabase={1}mdb,cn=config', 'objectClass: olcOverlayConfig', 'objectClass: olcSyncProvConfig', 'olcOverlay: {0}syncprov', ...sessionlog]];
}

function configLdif(o: ConfigOptions): string {
  const uid = process.getuid?.() ?? 0;
  const gid = process.getgid?.() ?? 0;
  const peercred = `gidNumber=${gid}+uidNumber=${uid},cn=peercred,cn=external,cn=auth`;
  const tls = o.certs
    ? [`olcTLSCACertificateFile: ${o.certs.caFile}`, `olcTLSCertificateFile: ${o.certs.certFile}`, `olcTLSCertificateKeyFile: ${o.certs.keyFile}`, 'olcTLSVerifyClient: never']
    : [];
  const entries = [
    ['dn: cn=config', 'objectClass: olcGlobal', 'cn: config', `olcPidFile: ${join(o.dir, 'slapd.pid')}`, `olcArgsFile: ${join(o.dir, 'slapd.args')}`, 'olcLogLevel: none', 'olcSizeLimit: unlimited', 'olcTimeLimit: unlimited', ...tls],
    ['dn: cn=module{0},cn=config', 'objectClass: olcModuleList', 'cn: module{0}', `olcModulePath: ${o.moduleDir}`, 'olcModuleLoad: back_mdb', ...(o.syncprov ? ['olcModuleLoad: syncprov'] : [])],
    ['dn: cn=schema,cn=config', 'objectClass: olcSchemaConfig', 'cn: schema'],
    ...SCHEMAS.map((s) => [`include: file://${join(o.schemaDir, `${s}.ldif`)}`]),
    ['dn: olcDatabase={-1}frontend,cn=config', 'objectClass: olcDatabaseConfig', 'objectClass: olcFrontendConfig', 'olcDatabase: {-1}frontend', 'olcSizeLimit: unlimited', 'olcTimeLimit: unlimited'],
    [
      'dn: olcDatabase={0}config,cn=config',
      'objectClass: olcDatabaseConfig',
      'olcDatabase: {0}config',
      `olcRootDN: ${CONFIG_DN}`,
      `olcRootPW: ${o.adminPassword}`,
      `olcAccess: {0}to * by dn.exact="${peercred}" manage by * break`,
    ],
    [
      'dn: olcDatabase={1}mdb,cn=config',
      'objectClass: olcDatabaseConfig',
      'objectClass: olcMdbConfig',
      'olcDatabase: {1}mdb',
      `olcDbDirectory: ${o.dataDir}`,
      `olcSuffix: ${BASE_DN}`,
      `olcRootDN: ${ADMIN_DN}`,
      `olcRootPW: ${o.adminPassword}`,
      'olcDbMaxSize: 8589934592',
      'olcDbNoSync: TRUE',
      'olcDbCheckpoint: 0 0',
      'olcDbIndex: objectClass eq',
      'olcDbIndex: entryUUID eq',
      'olcDbIndex: uid,mail,memberUid eq',
      'olcDbIndex: cn eq,sub',
      'olcDbIndex: member eq',
      ...(o.syncprov ? ['olcDbIndex: entryCSN eq'] : []),
      'olcSizeLimit: unlimited',
      'olcTimeLimit: unlimited',
      `olcLimits: {0}dn.exact="${ADMIN_DN}" size=unlimited time=unlimited`,
      'olcLimits: {1}users size=unlimited time=unlimited',
      'olcAccess: {0}to attrs=userPassword by self write by anonymous auth by * none',
      `olcAccess: {1}to * by dn.exact="${peercred}" manage by users read by anonymous auth`,
    ],
    ...syncprovLdif(o.syncprov),
  ];
  return entries.map((e) => e.join('\n')).join('\n\n') + '\n';
}

// ---------------------------------------------------------------------------------------------
// Process management

const live = new Map<symbol, { child: () => ChildProcess | undefined; dir: string }>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const { child, dir } of live.values()) {
      const c = child();
      if (c?.pid !== undefined && c.exitCode === null && c.signalCode === null) {
        try {
          process.kill(c.pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
      try {
        rmSync(dir, { recursive: true, force: true });
      } catch {
        /* the watchdog retries */
      }
    }
  });
}

async function ldapReady(url: string, dn: string, password: string): Promise<boolean> {
  const client = new Client({ url, connectTimeout: 1000, timeout: 2000 });
  try {
    await client.bind(dn, password);
    return true;
  } catch {
    return false;
  } finally {
    await client.unbind().catch(() => {});
  }
}

class SlapdStartError extends Error {
  override name = 'SlapdStartError';
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

export async function startSlapd(opts: StartSlapdOptions = {}): Promise<SlapdHandle> {
  const slapd = requireBinary('slapd', SBIN_DIRS, INSTALL_HINT);
  const slapadd = requireBinary('slapadd', SBIN_DIRS, INSTALL_HINT);
  const ldapadd = requireBinary('ldapadd', SBIN_DIRS, INSTALL_HINT);
  const schemaDir = dirname(firstExisting(SCHEMA_DIRS.map((d) => join(d, 'core.ldif')), 'OpenLDAP schema core.ldif'));
  const moduleDir = MODULE_DIRS.find((d) => existsSync(join(d, 'back_mdb.so')) || existsSync(join(d, 'back_mdb.la'))) ?? MODULE_DIRS[0]!;
  const adminPassword = opts.adminPassword ?? DEFAULT_ADMIN_PASSWORD;

  const dir = mkdtempSync(join(tmpdir(), 'groupsync-slapd-'));
  const confDir = join(dir, 'slapd.d');
  const dataDir = join(dir, 'data');
  const logFile = join(dir, 'slapd.log');
  mkdirSync(confDir);
  mkdirSync(dataDir);
  const key = Symbol('slapd');
  let child: ChildProcess | undefined;
  let watchdog: Watchdog | undefined;
  live.set(key, { child: () => child, dir });
  installExitHook();

  const cleanup = async (): Promise<void> => {
    if (child && !exited(child) && child.pid !== undefined) {
      try {
        process.kill(child.pid, 'SIGCONT');
        child.kill('SIGTERM');
      } catch {
        /* gone */
      }
      for (let i = 0; i < 100 && !exited(child); i++) await sleep(20);
      if (!exited(child)) child.kill('SIGKILL');
      for (let i = 0; i < 100 && !exited(child); i++) await sleep(10);
    }
    watchdog?.disarm();
    live.delete(key);
    removeDir(dir);
  };

  try {
    const certs = opts.tls ? await makeCerts(dir, opts.certNotAfter ?? new Date(Date.now() + (opts.certDays ?? 365) * 86400_000)) : undefined;

    await run(slapadd, ['-n0', '-F', confDir], { input: configLdif({ dir, dataDir, schemaDir, moduleDir, adminPassword, certs, syncprov: opts.syncprov }) });

    const initial = [...(opts.base === false ? [] : [FIXTURE_LDIF.base]), ...(opts.ldif ?? [])];
    if (initial.length > 0) {
      await run(slapadd, ['-q', '-n1', '-F', confDir], { input: joinLdif(initial.map(ldifText)) });
    }
    const bulk = opts.bulkLdif === undefined ? [] : Array.isArray(opts.bulkLdif) ? opts.bulkLdif : [opts.bulkLdif];
    for (const file of bulk) {
      await run(slapadd, ['-q', '-n1', '-F', confDir, '-l', file], { timeoutMs: 30 * 60_000 });
    }

    const ldapiPath = join(dir, 'ldapi');
    const ldapiUrl = `ldapi://${encodeURIComponent(ldapiPath)}`;
    let port = 0;
    let ldapsPort: number | undefined;

    const spawnSlapd = async (): Promise<void> => {
      const urls = [`ldap://127.0.0.1:${port}/`, ...(ldapsPort !== undefined ? [`ldaps://127.0.0.1:${ldapsPort}/`] : []), `${ldapiUrl}/`];
      const logFd = openSync(logFile, 'a');
      try {
        child = spawn(slapd, ['-F', confDir, '-h', urls.join(' '), '-d', opts.logLevel ?? '0'], {
          stdio: ['ignore', logFd, logFd],
        });
      } finally {
        closeSync(logFd);
      }
      const c = child;
      c.on('error', () => {
        /* surfaced through exitCode below */
      });
      watchdog?.disarm();
      watchdog = c.pid !== undefined ? startWatchdog([c.pid], [dir], 'TERM') : undefined;
      const deadline = Date.now() + 15_000;
      for (;;) {
        if (exited(c)) {
          const log = existsSync(logFile) ? readFileSync(logFile, 'utf8').slice(-4000) : '';
          throw new SlapdStartError(`slapd exited during start (${c.signalCode ?? `exit ${c.exitCode}`})${log ? `:\n${log}` : ''}`);
        }
        if (await ldapReady(`ldap://127.0.0.1:${port}`, ADMIN_DN, adminPassword)) return;
        if (Date.now() > deadline) throw new Error(`slapd did not answer on port ${port} within 15 s`);
        await sleep(20);
      }
    };

    for (let attempt = 0; ; attempt++) {
      port = await freePort();
      ldapsPort = certs ? await freePort() : undefined;
      if (ldapsPort === port) continue;
      try {
        await spawnSlapd();
        break;
      } catch (e) {
        // With -d 0 slapd says nothing about a failed bind(); a taken port is the likely cause, so retry.
        if (e instanceof SlapdStartError && attempt < 4) {
          removeDir(ldapiPath);
          continue;
        }
        if (e instanceof SlapdStartError) {
          // Surface configuration errors, if any.
          const test = await run(slapd, ['-T', 'test', '-F', confDir, '-u']).catch((err: unknown) => ({ stdout: '', stderr: String(err) }));
          throw new Error(`${e.message}\nslaptest: ${test.stderr}${test.stdout}`, { cause: e });
        }
        throw e;
      }
    }

    let paused = false;
    let stopped = false;
    const signal = (sig: NodeJS.Signals): void => {
      if (child?.pid !== undefined && !exited(child)) process.kill(child.pid, sig);
    };

    const handle: SlapdHandle = {
      url: `ldap://127.0.0.1:${port}`,
      port,
      ldapiUrl,
      baseDn: BASE_DN,
      adminDn: ADMIN_DN,
      adminPassword,
      configDn: CONFIG_DN,
      dir,
      get pid() {
        return child?.pid ?? -1;
      },
      async load(ldif: string) {
        await run(ldapadd, ['-x', '-H', handle.url, '-D', ADMIN_DN, '-w', adminPassword], { input: ldifText(ldif) });
      },
      pause() {
        signal('SIGSTOP');
        paused = true;
        // SIGSTOP takes effect asynchronously: wait (up to 1 s) until the kernel reports it stopped,
        // so a request sent right after pause() is not answered by a still-running slapd.
        const pid = child?.pid;
        const until = Date.now() + 1000;
        while (pid !== undefined && Date.now() < until) {
          try {
            const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
            if (/^\d+ \(.*\) [Tt] /.test(stat)) break;
          } catch {
            break;
          }
        }
      },
      resume() {
        signal('SIGCONT');
        paused = false;
      },
      kill() {
        if (paused) signal('SIGCONT');
        paused = false;
        signal('SIGKILL');
      },
      async restart() {
        if (stopped) throw new Error('slapd was stopped');
        if (child && !exited(child)) {
          signal('SIGCONT');
          signal('SIGTERM');
          for (let i = 0; i < 250 && !exited(child); i++) await sleep(20);
          if (!exited(child)) signal('SIGKILL');
        }
        const c = child;
        for (let i = 0; c && i < 100 && !exited(c); i++) await sleep(10);
        paused = false;
        removeDir(ldapiPath);
        // The ports are ours by now, but someone may grab them while we were down: retry briefly.
        for (let attempt = 0; ; attempt++) {
          try {
            await spawnSlapd();
            return;
          } catch (e) {
            if (e instanceof SlapdStartError && attempt < 20) {
              await sleep(100);
              continue;
            }
            throw e;
          }
        }
      },
      async stop() {
        if (stopped) return;
        stopped = true;
        await cleanup();
      },
    };
    if (certs) {
      handle.ldapsUrl = `ldaps://127.0.0.1:${ldapsPort}`;
      handle.ldapsPort = ldapsPort;
      handle.caFile = certs.caFile;
      handle.caPem = certs.caPem;
      handle.certPem = certs.certPem;
      handle.certNotAfter = certs.notAfter;
    }
    return handle;
  } catch (e) {
    await cleanup();
    throw e;
  }
}

/** True while the pid is alive (helper for tests of kill()). */
export function slapdAlive(handle: SlapdHandle): boolean {
  return handle.pid > 0 && isAlive(handle.pid);
}
