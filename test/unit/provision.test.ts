import { describe, expect, it } from 'vitest';
import { CHROMIUM } from '../support/playground.ts';
import { CHROMIUM_PATH, installLine, planProvision, type ProvisionFacts, type ProvisionPlan } from '../support/provision.ts';

const READY: ProvisionFacts = { missing: [], slapdServiceRunning: false, root: false, sudo: false, apt: true };
const UPDATE = ['apt-get', 'update', '-qq'];
const install = (...p: string[]) => ['env', 'DEBIAN_FRONTEND=noninteractive', 'apt-get', 'install', '-y', '-qq', ...p];
const STOP_SLAPD = ['service', 'slapd', 'stop'];
const sudo = (c: string[]) => ['sudo', '-n', ...c];

describe('planProvision', () => {
  const rows: { name: string; facts: Partial<ProvisionFacts>; plan: ProvisionPlan }[] = [
    { name: 'everything there: nothing, whoever runs it', facts: {}, plan: { kind: 'nothing' } },
    { name: 'everything there, no apt-get: nothing', facts: { apt: false }, plan: { kind: 'nothing' } },
    {
      name: 'missing, root with apt-get: installs as root',
      facts: { missing: ['slapd', 'ldap-utils'], root: true },
      plan: { kind: 'run', via: 'root', install: ['slapd', 'ldap-utils'], commands: [UPDATE, install('slapd', 'ldap-utils')] },
    },
    {
      name: 'missing, passwordless sudo: installs through sudo',
      facts: { missing: ['chromium'], sudo: true },
      plan: { kind: 'run', via: 'sudo', install: ['chromium'], commands: [sudo(UPDATE), sudo(install('chromium'))] },
    },
    {
      name: 'missing, no sudo: stops with the command',
      facts: { missing: ['slapd', 'openssl'] },
      plan: { kind: 'stop', message: 'npm test needs the system packages slapd openssl; run: sudo apt-get update && sudo apt-get install -y slapd openssl' },
    },
    {
      name: 'missing, root without apt-get: stops with the Debian command',
      facts: { missing: ['samba'], root: true, apt: false },
      plan: { kind: 'stop', message: 'npm test needs the system packages samba (Debian/Ubuntu package names; apt-get is not on this machine); run: apt-get update && apt-get install -y samba' },
    },
    {
      name: 'missing, sudo but no apt-get: stops',
      facts: { missing: ['samba'], sudo: true, apt: false },
      plan: { kind: 'stop', message: 'npm test needs the system packages samba (Debian/Ubuntu package names; apt-get is not on this machine); run: sudo apt-get update && sudo apt-get install -y samba' },
    },
    {
      name: 'the slapd service runs, root: stops it',
      facts: { slapdServiceRunning: true, root: true },
      plan: { kind: 'run', via: 'root', install: [], commands: [STOP_SLAPD] },
    },
    {
      name: 'missing and the service runs, sudo: installs, then stops it',
      facts: { missing: ['samba'], slapdServiceRunning: true, sudo: true },
      plan: { kind: 'run', via: 'sudo', install: ['samba'], commands: [sudo(UPDATE), sudo(install('samba')), sudo(STOP_SLAPD)] },
    },
    {
      name: 'the service runs, no sudo: stops with the command',
      facts: { slapdServiceRunning: true },
      plan: { kind: 'stop', message: 'npm test needs the Debian slapd service stopped (it holds port 389); run: sudo service slapd stop' },
    },
  ];
  it.each(rows)('$name', ({ facts, plan }) => {
    expect(planProvision({ ...READY, ...facts })).toEqual(plan);
  });
});

describe('installLine', () => {
  it('says in one line what it installs, why, and how to skip the step', () => {
    const plan = planProvision({ ...READY, missing: ['slapd', 'chromium'], root: true });
    if (plan.kind !== 'run') throw new Error('expected a run');
    expect(installLine(plan)).toBe(
      'npm test: installing slapd chromium with apt-get (slapd: OpenLDAP servers; chromium: the Agents Playground browser test); GROUPSYNC_TEST_PROVISION=0 skips this step',
    );
  });

  it('says it stops the slapd service and why', () => {
    const plan = planProvision({ ...READY, slapdServiceRunning: true, sudo: true });
    if (plan.kind !== 'run') throw new Error('expected a run');
    expect(installLine(plan)).toBe(
      'npm test: stopping the Debian slapd service (it holds port 389, which the Samba AD tests need); GROUPSYNC_TEST_PROVISION=0 skips this step',
    );
  });
});

describe('what provisioning looks for', () => {
  it('is where the test supports look', () => {
    expect(CHROMIUM_PATH).toBe(CHROMIUM);
  });
});
