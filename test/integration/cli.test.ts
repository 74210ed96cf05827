/**
 * The command line as scripts use it: real child processes, a real slapd and PostgreSQL, exit
 * codes and --json output; and the run lock held across processes.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { stringify } from 'yaml';
import { createTestApp, ldapConnection } from '../support/app.ts';
import { createDatabase } from '../support/postgres.ts';
import { FIXTURE_LDIF, type SlapdHandle, startSlapd } from '../support/slapd.ts';
import { openStore } from '../../src/store/db.ts';

// `groupsync` as installed: the bundled CLI (bin/bundle.mjs), rebuilt when a source file changed.
const CLI = path.resolve(import.meta.dirname, '../../bin/groupsync.mjs');

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

let ldap: SlapdHandle;
let env: Record<string, string>;

function cli(...args: string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

beforeAll(async () => {
  ldap = await startSlapd({ ldif: [FIXTURE_LDIF.scenarios] });
  const dir = mkdtempSync(path.join(tmpdir(), 'groupsync-cli-'));
  const configFile = path.join(dir, 'groupsync.yaml');
  writeFileSync(configFile, stringify({ connections: [ldapConnection(ldap, { groups: { filter: '(|(cn=app-*)(cn=edge-users))' } })] }));
  env = {
    GROUPSYNC_CONFIG: configFile,
    DATABASE_URL: await createDatabase(inject('pgUrl')),
    TEST_LDAP_PASSWORD: ldap.adminPassword,
    LOG_LEVEL: 'silent',
  };
});

afterAll(async () => {
  await ldap?.stop();
});

describe('groupsync CLI', () => {
  it('syncs, and says so with exit codes and JSON scripts can trust', async () => {
    const dry = await cli('--json', 'sync', 'corp', '--dry-run');
    expect(dry.code).toBe(0);
    const dryOut = JSON.parse(dry.stdout) as { run: { status: string }; plan: { groups: { create: Array<{ name: string }> } } };
    expect(dryOut.run.status).toBe('dry_run');
    expect(dryOut.plan.groups.create.map((g) => g.name).sort()).toEqual(['app-admins', 'app-ops', 'edge-users']);

    const real = await cli('sync', 'corp');
    expect(real.code).toBe(5); // partial: dave has no mail
    expect(real.stdout).toMatch(/run #2 corp: PARTIAL/);
    expect(real.stdout).toMatch(/uid=dave,ou=people,dc=example,dc=org: no mail/);
    // Not a terminal: the progress is a line per phase, with counts against totals and the elapsed time.
    expect(real.stderr).toMatch(/^run #2: planning: \d+ users, \d+ groups \(\d+ s\)\nrun #2: applying: 0 of \d+ \(0 %\) \(\d+ s\)\n(.*\n)*run #2: recording \(\d+ s\)\n/m);

    const status = await cli('--json', 'status', 'corp');
    expect(status.code).toBe(0);
    const s = JSON.parse(status.stdout) as { syncedUsers: number; unmapped: number; lastAttempts: Array<{ status: string }>; ssl: { state: string } };
    expect(s.syncedUsers).toBe(5); // alice bob carol jdoe erin
    expect(s.unmapped).toBe(1);
    expect(s.ssl.state).toBe('none');
    expect(s.lastAttempts.map((a) => a.status)).toEqual(['partial', 'dry_run']);

    const runs = await cli('runs', 'corp');
    expect(runs.stdout).toMatch(/partial/);
    const run = await cli('run', '2');
    expect(run.code).toBe(0);
    // The audit entries as the audit command words them (names, not ids), and what the run read.
    expect(run.stdout).not.toMatch(/user\.created/);
    expect(run.stdout).toMatch(/^ {2}\S.* created user alice \(Alice Archer\)$/m);
    expect(run.stdout).toMatch(/^ {2}\S.* changed the members of group app-admins: added alice, bob, carol$/m);
    expect(run.stdout).toMatch(/Read: full .*\d+ requests.*read \d/);

    const conflicts = await cli('conflicts', 'corp');
    expect(conflicts.stdout).toMatch(/\(dave\) .*unmapped/s);
    const ignore = await cli('--actor', 'ops:ann', 'ignore', 'dave');
    expect(ignore.code).toBe(0);
    expect(ignore.stdout).toMatch(/dave \(corp\): ignored/);
    const again = await cli('ignore', 'dave');
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already resolved by ops:ann/);
    // The product's one time format, never ISO.
    expect(again.stderr).toMatch(/already resolved by ops:ann \((just now|\d+ s ago), \d\d:\d\d UTC\)/);
    expect(again.stderr).not.toMatch(/\d{4}-\d\d-\d\dT/);
    const clean = await cli('sync', 'corp');
    expect(clean.code).toBe(0);
  });

  it('refuses wrong arguments with the usage and exit code 2, unknown names with 6', async () => {
    const missing = await cli('sync');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/missing required argument 'connection'/);
    const badKind = await cli('sync', 'corp', '--kind', 'admins');
    expect(badKind.code).toBe(2);
    expect(badKind.stderr).toMatch(/Allowed choices are group, security/);
    const badId = await cli('run', 'abc');
    expect(badId.code).toBe(2);
    expect(badId.stderr).toMatch(/run id must be a whole number/);
    const unknown = await cli('status', 'nope');
    expect(unknown.code).toBe(6);
    expect(unknown.stderr).toMatch(/no connection named "nope" \(configured: corp\)/);
    const unknownCommand = await cli('frobnicate');
    expect(unknownCommand.code).toBe(2);
    expect(unknownCommand.stderr).toMatch(/unknown command 'frobnicate'/);
  });

  it('validates ids, limits and names before they reach the store, and never echoes a whole argument', async () => {
    const hugeId = await cli('run', '99999999999999999999');
    expect(hugeId.code).toBe(2);
    expect(hugeId.stderr).toMatch(/run id must be a whole number from 1 to 2147483647, got "99999999999999999999"/);
    const zeroLimit = await cli('runs', 'corp', '--limit', '0');
    expect(zeroLimit.code).toBe(2);
    expect(zeroLimit.stderr).toMatch(/--limit must be a whole number from 1 to 1000, got "0"/);
    const huge = await cli('status', 'c'.repeat(100_000));
    expect(huge.code).toBe(2);
    expect(huge.stderr.length).toBeLessThan(500);
    expect(huge.stderr).toMatch(/an argument is longer than 512 characters/);
    const long = await cli('status', 'c'.repeat(500));
    expect(long.code).toBe(6);
    expect(long.stderr.length).toBeLessThan(300);
    expect(long.stderr).toMatch(/no connection named "c{20,}…"/);
    // The groups were linked by the first test's sync: a typo is answered with the closest names.
    const typo = await cli('sync', 'corp', 'app-admin');
    expect(typo.code).toBe(6);
    expect(typo.stderr).toMatch(/"app-admin" is not a group linked to "corp"; closest: app-admins/);
    expect(typo.stderr.length).toBeLessThan(500);
    const noSecurity = await cli('sync', 'corp', '--kind', 'security');
    expect(noSecurity.code).toBe(6);
    expect(noSecurity.stderr).toMatch(/no group is linked to "corp" as security; nothing to sync/);
  });

  it('reads a run as 42 or #42, and answers a group missing from the directory with the closest names, as chat does', async () => {
    const hashed = await cli('--json', 'run', '#2');
    expect(hashed.code, hashed.stderr).toBe(0);
    expect((JSON.parse(hashed.stdout) as { run: { id: number } }).run.id).toBe(2);
    const before = await cli('runs', 'corp', '--before', '#3');
    expect(before.code, before.stderr).toBe(0);
    const typo = await cli('link', 'corp', 'app-admin');
    expect(typo.code).toBe(6);
    expect(typo.stderr).toMatch(/no group "app-admin" in the directory of "corp"; closest: app-admins/);
  });

  it('prefixes every refusal with its stable code, and with --json prints it as JSON on stdout', async () => {
    const unknown = await cli('status', 'nope');
    expect(unknown.code).toBe(6);
    expect(unknown.stderr).toMatch(/^error NOT_FOUND: no connection named "nope"/);
    const usage = await cli('run', 'abc');
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/^error INVALID_ARGUMENT: /);
    const cases: Array<[string[], number, string, RegExp]> = [
      [['--json', 'status', 'nope'], 6, 'NOT_FOUND', /no connection named "nope"/],
      [['--json', 'run', 'abc'], 2, 'INVALID_ARGUMENT', /run id must be a whole number/],
      [['--json', 'frobnicate'], 2, 'INVALID_ARGUMENT', /unknown command 'frobnicate'/],
      [['--json', 'sync'], 2, 'INVALID_ARGUMENT', /missing required argument 'connection'/],
    ];
    for (const [args, code, errorCode, message] of cases) {
      const result = await cli(...args);
      expect(result.code, args.join(' ')).toBe(code);
      const out = JSON.parse(result.stdout) as { error: { code: string; message: string } };
      expect(out.error.code, args.join(' ')).toBe(errorCode);
      expect(out.error.message).toMatch(message);
    }
  });

  it('reports a bad connections file by field, with the fix', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'groupsync-cli-bad-'));
    const bad = path.join(dir, 'bad.yaml');
    writeFileSync(bad, stringify({ connections: [{ name: 'x', kind: 'ldap', url: 'http://dc', bindDn: 'cn=a', passwordEnv: 'NOT_SET_ANYWHERE', baseDn: 'dc=x', schedule: { cron: '61 * * * *' } }] }));
    const saved = env.GROUPSYNC_CONFIG!;
    env.GROUPSYNC_CONFIG = bad;
    try {
      const result = await cli('connections');
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/connections\[0\]\.schedule\.cron: /);
      expect(result.stderr).toMatch(/^error CONFIG_INVALID: /);
      const json = await cli('--json', 'connections');
      expect(json.code).toBe(1);
      expect((JSON.parse(json.stdout) as { error: { code: string; message: string } }).error).toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringMatching(/schedule\.cron/) });
      env.GROUPSYNC_CONFIG = path.join(dir, 'ok.yaml');
      writeFileSync(env.GROUPSYNC_CONFIG, stringify({ connections: [{ name: 'x', kind: 'ldap', url: 'http://dc', bindDn: 'cn=a', passwordEnv: 'NOT_SET_ANYWHERE', baseDn: 'dc=x' }] }));
      const second = await cli('connections');
      expect(second.stderr).toMatch(/connections\[0\] \(x\)\.url: "http:\/\/dc" must start with ldap:\/\/ or ldaps:\/\//);
      expect(second.stderr).toMatch(/passwordEnv: environment variable NOT_SET_ANYWHERE is not set/);
    } finally {
      env.GROUPSYNC_CONFIG = saved;
    }
  });

  it('a reader that stops early (| head) does not cut a sync off: it finishes and is recorded', async () => {
    const child = spawn(process.execPath, [CLI, 'sync', 'corp'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy(); // the reader is gone before the first line
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect([0, 5]).toContain(code);
    const runs = JSON.parse((await cli('--json', 'runs', 'corp', '--limit', '1')).stdout) as Array<{ status: string }>;
    expect(runs[0]?.status).not.toBe('running');
  });

  it('answers "already running since …" to a second process while a sync holds the lock', async () => {
    // This process starts a sync and freezes the directory mid-read, holding the lock…
    const store = await openStore({ databaseUrl: env.DATABASE_URL!, maxConnections: 3 });
    const app = await createTestApp('postgres', [ldapConnection(ldap, { groups: { filter: '(|(cn=app-*)(cn=edge-users))' }, timeoutSeconds: 20 })], { store });
    let release!: () => void;
    const frozen = new Promise<void>((resolve) => (release = resolve));
    let paused = false;
    const running = app.engine.sync({
      connection: 'corp',
      trigger: 'manual',
      actor: 'first',
      onProgress: () => {
        if (!paused) {
          paused = true;
          ldap.pause();
          release();
        }
      },
    });
    await frozen;
    try {
      // …and another process, sharing only the database, is refused.
      const second = await cli('sync', 'corp');
      expect(second.code).toBe(4);
      expect(second.stderr).toMatch(/a sync of "corp" is already running since \d{4}-\d\d-\d\dT.* \(run #\d+\)/);
    } finally {
      ldap.resume();
    }
    const first = await running;
    expect(first.run.status).not.toBe('failed');
    const after = await cli('sync', 'corp');
    expect(after.code, after.stdout + after.stderr).toBe(0); // the lock was released
    await app.close();
  });
});
