// npm test's first step (test/support/provision.ts, the first vitest globalSetup) in real processes. Binaries looked up on PATH are made
// "absent" by a PATH that lacks them, and apt-get is a stand-in on that PATH: nothing on this
// machine is installed or removed.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isRoot } from '../support/proc.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const PROVISION = join(ROOT, 'test', 'support', 'provision.ts');
const dirs: string[] = [];

function emptyBin(): string {
  const dir = mkdtempSync(join(tmpdir(), 'groupsync-provision-bin-'));
  dirs.push(dir);
  return dir;
}

function provision(env: Record<string, string>) {
  const code = `import { provision } from ${JSON.stringify(PROVISION)}; process.exitCode = provision();`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { env: { HOME: process.env.HOME ?? '/root', ...env }, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** An apt-get that logs its arguments and, on install, puts the PATH-looked-up binaries next to itself. */
function fakeApt(dir: string): string {
  const log = join(dir, 'apt.log');
  const script = [
    `#!${process.execPath}`,
    "const fs = require('node:fs'); const path = require('node:path');",
    `fs.appendFileSync(${JSON.stringify(log)}, (process.env.DEBIAN_FRONTEND ?? '-') + ' ' + process.argv.slice(2).join(' ') + '\\n');`,
    "if (process.argv.includes('install')) for (const b of ['ldapadd', 'samba-tool', 'openssl']) {",
    "  const p = path.join(__dirname, b); fs.writeFileSync(p, '#!/bin/sh\\n'); fs.chmodSync(p, 0o755); }",
  ].join('\n');
  writeFileSync(join(dir, 'apt-get'), script);
  chmodSync(join(dir, 'apt-get'), 0o755);
  symlinkSync('/usr/bin/env', join(dir, 'env'));
  return log;
}

afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('npm test provisioning', () => {
  it('says nothing and lets the tests run when everything is installed', () => {
    expect(provision({ PATH: process.env.PATH ?? '' })).toEqual({ status: 0, stdout: '', stderr: '' });
  });

  it('stops at once with the one command to run when packages are missing and there is no apt-get', () => {
    const r = provision({ PATH: emptyBin() });
    const sudo = isRoot() ? '' : 'sudo ';
    expect(r).toEqual({
      status: 1,
      stdout: '',
      stderr: `npm test needs the system packages ldap-utils samba openssl (Debian/Ubuntu package names; apt-get is not on this machine); run: ${sudo}apt-get update && ${sudo}apt-get install -y ldap-utils samba openssl\n`,
    });
  });

  it('as root, installs what is missing with apt-get, saying what and why in one line', () => {
    // The suite runs as root (the Samba AD DC binds port 389); as another user this case would go through sudo.
    expect(isRoot()).toBe(true);
    const bin = emptyBin();
    const log = fakeApt(bin);
    const r = provision({ PATH: bin });
    expect(r).toEqual({
      status: 0,
      stdout: '',
      stderr:
        'npm test: installing ldap-utils samba openssl with apt-get (ldap-utils: ldapadd to seed them; samba: a Samba AD domain controller; openssl: throw-away test certificates); GROUPSYNC_TEST_PROVISION=0 skips this step\n',
    });
    expect(readFileSync(log, 'utf8')).toBe('- update -qq\nnoninteractive install -y -qq ldap-utils samba openssl\n');
    // Installed: the next run says nothing.
    expect(provision({ PATH: bin })).toEqual({ status: 0, stdout: '', stderr: '' });
  });

  it('GROUPSYNC_TEST_PROVISION=0 skips the step', () => {
    expect(provision({ PATH: emptyBin(), GROUPSYNC_TEST_PROVISION: '0' })).toEqual({ status: 0, stdout: '', stderr: '' });
  });

  it('ends a vitest run before any test when a package is missing', () => {
    const r = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'vitest', 'vitest.mjs'), 'run', 'test/unit/dn.test.ts'], {
      cwd: ROOT,
      env: { HOME: process.env.HOME ?? '/root', PATH: emptyBin() },
      encoding: 'utf8',
    });
    expect({ status: r.status, stderr: r.stderr.trim().split('\n') }).toEqual({ status: 1, stderr: [expect.stringMatching(/^npm test needs the system packages ldap-utils samba openssl .*; run: /)] });
    expect(r.stdout).not.toMatch(/dn\.test|passed|failed/);
  });
});
