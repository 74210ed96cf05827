// A real Active Directory domain controller for tests: Samba 4 (`samba-tool domain provision`,
// server role DC) on 127.0.0.1:389, plain LDAP, simple bind allowed.
//
// Cost: provisioning takes ~5-6 s of CPU, so the provisioned directory is kept as a template in
// the OS temp dir (keyed by Samba version and the provisioning settings) and copied for every
// start; a start from the template takes well under a second. Loading users costs ~3-4 ms each
// (through the ldb module stack, even without passwords), so prefer small directories here and use
// test/support/fake-ad-server.ts for bulk.
//
// Limits: Samba binds port 389 on 127.0.0.1 (one DC per network namespace), so two test files
// using this helper cannot run at the same time; start once per file in beforeAll.
// Needs root (port 389) and the Debian packages samba (brings samba-tool and the provisioning
// data in samba-ad-provision) and ldap-utils (ldapadd / ldapmodify / ldapdelete).
//
// Samba is *not* Windows: it does not enforce MaxPageSize (an unpaged search returns everything)
// nor MaxValRange (`member` comes back whole, and `member;range=0-*` comes back as one chunk with
// that exact name); for those limits use the fake server.
import lockfile from 'proper-lockfile';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'ldapts';
import { isRoot, removeDir, requireBinary, run, sleep, startWatchdog, type Watchdog } from './proc.ts';

export const SAMBA_REALM = 'GS.TEST';
export const SAMBA_DOMAIN = 'GS';
export const SAMBA_BASE_DN = 'DC=gs,DC=test';
export const SAMBA_ADMIN_PASSWORD = 'Gs-Samba-Adm1n!pw';

export interface SambaAdHandle {
  /** Always `ldap://127.0.0.1:389`. */
  readonly url: string;
  /** `DC=gs,DC=test` */
  readonly baseDn: string;
  /** `CN=Users,DC=gs,DC=test`, the default container for users and groups. */
  readonly usersDn: string;
  /** `CN=Administrator,CN=Users,DC=gs,DC=test` (Samba also accepts `Administrator@GS.TEST`). */
  readonly bindDn: string;
  /** `Administrator@GS.TEST` */
  readonly bindUpn: string;
  readonly password: string;
  /** The DC's private directory (smb.conf in etc/, databases in private/). */
  readonly dir: string;
  /** How long the start took, and whether provisioning was needed (false = copied from the template). */
  readonly timings: { readonly provisionMs: number; readonly startMs: number; readonly provisioned: boolean };
  /** Adds entries with `ldapadd` (stops at the first error, which rejects with ldapadd's message). */
  addLdif(ldif: string): Promise<void>;
  /** Applies an LDIF with changetype records with `ldapmodify`. */
  modifyLdif(ldif: string): Promise<void>;
  /** Adds `member` values to a group in modify requests of `batchSize` values (default 500). */
  addMembers(groupDn: string, memberDns: readonly string[], batchSize?: number): Promise<void>;
  /** Deletes one entry (a leaf). */
  deleteDn(dn: string): Promise<void>;
  /** A new ldapts client, bound as the administrator. The caller unbinds it. */
  client(): Promise<Client>;
  /** Stops samba and removes the directory. Idempotent. */
  stop(): Promise<void>;
}

export interface StartSambaAdOptions {
  /** When 127.0.0.1:389 is taken, wait up to this long for it to free up (default 0: fail at once). */
  waitForPortMs?: number;
  /** How long to wait for the first successful bind after starting samba (default 30 s). */
  startTimeoutMs?: number;
  /** Re-provision even when a template exists. */
  fresh?: boolean;
}

const URL = 'ldap://127.0.0.1:389';
const BIND_DN = `CN=Administrator,CN=Users,${SAMBA_BASE_DN}`;
const BIND_UPN = `Administrator@${SAMBA_REALM}`;
const INSTALL_HINT = 'Install the Debian packages samba and ldap-utils (apt-get install -y samba ldap-utils).';

const PROVISION_OPTIONS: readonly string[] = [
  '--realm=' + SAMBA_REALM,
  '--domain=' + SAMBA_DOMAIN,
  '--host-name=dc1',
  '--server-role=dc',
  '--dns-backend=NONE',
  '--use-rfc2307',
  '--adminpass=' + SAMBA_ADMIN_PASSWORD,
  // Provisioning keeps these in the generated smb.conf:
  '--option=interfaces=lo',
  '--option=bind interfaces only=yes',
  '--option=server services=ldap',
  '--option=ldb:nosync=true',
];

// Provisioning drops these (it only keeps non-default values it knows to keep), so they are
// appended to [global] of every copy. `tls enabled = no` also skips the ~3 s self-signed key
// generation at first start; plain LDAP on 389 is all the tests need.
const EXTRA_GLOBALS: readonly string[] = ['ldap server require strong auth = no', 'tls enabled = no', 'log level = 0'];

/** Why Samba AD can't run here, or null when it can. */
export function sambaUnavailableReason(): string | null {
  if (!isRoot()) return 'Samba AD needs root (it binds port 389).';
  try {
    requireBinary('samba', ['/usr/sbin'], INSTALL_HINT);
    requireBinary('samba-tool', [], INSTALL_HINT);
    requireBinary('ldapadd', [], INSTALL_HINT);
  } catch (e) {
    return (e as Error).message;
  }
  if (!existsSync('/usr/share/samba/setup')) return `Samba's provisioning data (/usr/share/samba/setup) is missing. ${INSTALL_HINT}`;
  return null;
}

function sambaVersion(): string {
  return execFileSync(requireBinary('samba', ['/usr/sbin'], INSTALL_HINT), ['-V'], { encoding: 'utf8' }).trim();
}

function portFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, host, () => srv.close(() => resolve(true)));
  });
}

async function waitForPort(waitMs: number): Promise<void> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    if (await portFree(389, '127.0.0.1')) return;
    if (Date.now() >= deadline) {
      let who = '';
      try {
        who = execFileSync('ss', ['-ltnpH', 'sport = :389'], { encoding: 'utf8' }).trim();
      } catch {
        /* ss missing */
      }
      throw new Error(
        `127.0.0.1:389 is already in use${who ? ` (${who})` : ''}. Samba AD needs port 389 and only one DC can run per ` +
          'network namespace: another test file using startSambaAd() is probably running; run such files one at a time ' +
          '(or pass { waitForPortMs }).',
      );
    }
    await sleep(250);
  }
}

/** Provisions into the template dir unless it is there already; returns its path. */
async function ensureTemplate(fresh: boolean): Promise<{ dir: string; provisionMs: number; provisioned: boolean }> {
  const key = createHash('sha256')
    .update(sambaVersion())
    .update('\0')
    .update(PROVISION_OPTIONS.join('\0'))
    .digest('hex')
    .slice(0, 12);
  const dir = join(tmpdir(), `groupsync-samba-ad-template-${key}`);
  if (!fresh && existsSync(join(dir, 'READY'))) return { dir, provisionMs: 0, provisioned: false };

  const t0 = Date.now();
  const staging = mkdtempSync(join(tmpdir(), 'groupsync-samba-ad-provision-'));
  try {
    // --configfile=/dev/null: without it provision merges /etc/samba/smb.conf into the new one.
    await run(
      requireBinary('samba-tool', [], INSTALL_HINT),
      ['domain', 'provision', '--configfile=/dev/null', `--targetdir=${staging}`, ...PROVISION_OPTIONS],
      { timeoutMs: 180_000 },
    );
    writeFileSync(join(staging, 'TEMPLATE_ROOT'), staging);
    writeFileSync(join(staging, 'READY'), new Date().toISOString());
    removeDir(dir);
    try {
      renameSync(staging, dir);
    } catch {
      // another process won the race with an equivalent template; use theirs
      if (!existsSync(join(dir, 'READY'))) throw new Error(`could not install the Samba template at ${dir}`);
      removeDir(staging);
    }
  } catch (e) {
    removeDir(staging);
    throw e;
  }
  return { dir, provisionMs: Date.now() - t0, provisioned: true };
}

function copyTemplate(template: string): string {
  // /dev/shm when there is one: the databases are written on every add.
  const parent = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
  const dir = mkdtempSync(join(parent, 'groupsync-samba-ad-'));
  cpSync(template, dir, { recursive: true, preserveTimestamps: true });
  const oldRoot = readFileSync(join(template, 'TEMPLATE_ROOT'), 'utf8').trim();
  const confPath = join(dir, 'etc', 'smb.conf');
  let conf = readFileSync(confPath, 'utf8').split(oldRoot).join(dir);
  conf = conf.replace(/^\[global\]\s*$/m, (m) => `${m}\n${EXTRA_GLOBALS.map((l) => `\t${l}`).join('\n')}`);
  if (!conf.includes('ldap server require strong auth = no')) throw new Error(`no [global] section in ${confPath}`);
  writeFileSync(confPath, conf);
  mkdirSync(join(dir, 'cache'), { recursive: true });
  return dir;
}

async function tryBind(): Promise<boolean> {
  const client = new Client({ url: URL, connectTimeout: 1000, timeout: 2000 });
  try {
    await client.bind(BIND_DN, SAMBA_ADMIN_PASSWORD);
    return true;
  } catch {
    return false;
  } finally {
    await client.unbind().catch(() => {});
  }
}

const TURN_FILE = join(tmpdir(), 'groupsync-test-samba.turn');

/** Waits (up to `waitMs`) for this process's turn to run the DC; returns the release. */
async function takeTurn(waitMs: number): Promise<() => Promise<void>> {
  writeFileSync(TURN_FILE, '', { flag: 'a' });
  const retries = { retries: Math.ceil(waitMs / 250), factor: 1, minTimeout: 250, maxTimeout: 250 };
  const release = await lockfile.lock(TURN_FILE, { stale: 15_000, update: 5_000, realpath: false, retries });
  let released = false;
  return async () => {
    if (released) return;
    released = true;
    await release().catch(() => {});
  };
}

/** Provisions (or copies) a Samba AD DC, starts it on 127.0.0.1:389 and waits until a simple bind works. */
export async function startSambaAd(options: StartSambaAdOptions = {}): Promise<SambaAdHandle> {
  const reason = sambaUnavailableReason();
  if (reason) throw new Error(reason);
  // One DC at a time across test files (processes): the port check alone races with another
  // file's samba starting between the check and the bind.
  const releaseTurn = await takeTurn(options.waitForPortMs ?? 0);
  try {
    await waitForPort(options.waitForPortMs ?? 0);
  } catch (error) {
    await releaseTurn();
    throw error;
  }
  const template = await ensureTemplate(options.fresh ?? false).catch(async (error: unknown) => {
    await releaseTurn();
    throw error;
  });
  const t1 = Date.now();
  const dir = copyTemplate(template.dir);

  const output: string[] = [];
  const keep = (b: Buffer) => {
    output.push(b.toString('utf8'));
    if (output.length > 200) output.splice(0, output.length - 200);
  };
  // -i: foreground, no new process group, log to stdout. -M single: one process (faster start,
  // and one pid to stop).
  const child: ChildProcess = spawn(requireBinary('samba', ['/usr/sbin'], INSTALL_HINT), ['-i', '-M', 'single', '-s', join(dir, 'etc', 'smb.conf')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let exited: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  const exitPromise = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = { code, signal };
      resolve();
    });
  });
  child.once('error', (e) => {
    output.push(String(e));
  });
  const watchdog: Watchdog = startWatchdog(child.pid !== undefined ? [child.pid] : [], [dir]);

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    if (exited === null) {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exitPromise;
      clearTimeout(killer);
    }
    watchdog.disarm();
    removeDir(dir);
    await releaseTurn();
  };

  try {
    const deadline = Date.now() + (options.startTimeoutMs ?? 30_000);
    for (;;) {
      if (exited !== null) {
        const e = exited as { code: number | null; signal: NodeJS.Signals | null };
        throw new Error(`samba exited (${e.signal ?? `code ${e.code}`}) before accepting binds:\n${output.join('').slice(-4000)}`);
      }
      if (await tryBind()) break;
      if (Date.now() > deadline) throw new Error(`samba did not accept a simple bind on ${URL} in time:\n${output.join('').slice(-4000)}`);
      await sleep(100);
    }
  } catch (e) {
    await stop();
    throw e;
  }

  const ldapTool = (tool: string) => requireBinary(tool, [], INSTALL_HINT);
  const auth = ['-x', '-H', URL, '-D', BIND_DN, '-w', SAMBA_ADMIN_PASSWORD];

  const handle: SambaAdHandle = {
    url: URL,
    baseDn: SAMBA_BASE_DN,
    usersDn: `CN=Users,${SAMBA_BASE_DN}`,
    bindDn: BIND_DN,
    bindUpn: BIND_UPN,
    password: SAMBA_ADMIN_PASSWORD,
    dir,
    timings: { provisionMs: template.provisionMs, startMs: Date.now() - t1, provisioned: template.provisioned },
    async addLdif(ldif) {
      await run(ldapTool('ldapadd'), auth, { input: ldif, timeoutMs: 600_000 });
    },
    async modifyLdif(ldif) {
      await run(ldapTool('ldapmodify'), auth, { input: ldif, timeoutMs: 600_000 });
    },
    async addMembers(groupDn, memberDns, batchSize = 500) {
      const chunks: string[] = [];
      for (let i = 0; i < memberDns.length; i += batchSize) {
        const batch = memberDns.slice(i, i + batchSize);
        chunks.push(`dn: ${groupDn}\nchangetype: modify\nadd: member\n${batch.map((m) => `member: ${m}`).join('\n')}\n-\n`);
      }
      if (chunks.length) await handle.modifyLdif(chunks.join('\n'));
    },
    async deleteDn(dn) {
      await run(ldapTool('ldapdelete'), [...auth, dn]);
    },
    async client() {
      const client = new Client({ url: URL, timeout: 60_000 });
      await client.bind(BIND_DN, SAMBA_ADMIN_PASSWORD);
      return client;
    },
    stop,
  };
  return handle;
}
