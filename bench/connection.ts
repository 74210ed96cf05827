/**
 * The connection the LDAP benchmarks sync: the generated directory (generate.ts) in a private
 * slapd, every `app-*` group linked, users created by mail, and a deletion threshold no bench
 * change reaches (a held run would measure nothing).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BASE_DN } from './generate.ts';

/** LDAP page size of the bench connection, the same as the floor's ldapsearch. */
export const PAGE_SIZE = 1000;

export function benchConnection(ldapUrl: string): Record<string, unknown> {
  return {
    name: 'bench',
    kind: 'ldap',
    url: ldapUrl,
    bindDn: `cn=admin,${BASE_DN}`,
    passwordEnv: 'BENCH_LDAP_PASSWORD',
    baseDn: BASE_DN,
    groups: { filter: '(cn=app-*)' },
    matchKey: 'mail',
    createUsers: true,
    pageSize: PAGE_SIZE,
    timeoutSeconds: 300,
    schedule: null,
    deletionThreshold: { maxCount: 1_000_000_000, maxPercent: 100, minObjects: 0, memberships: { maxCount: 1_000_000_000, maxPercent: 100, minObjects: 0 } },
  };
}

/**
 * Writes a connections file with the bench connection (and any other top-level settings) into `dir`;
 * `connection` overrides settings of the connection, `name` is the file's name.
 */
export function writeBenchConfig(dir: string, ldapUrl: string, extra: Record<string, unknown> = {}, connection: Record<string, unknown> = {}, name = 'groupsync.bench.json'): string {
  const file = join(dir, name);
  writeFileSync(file, JSON.stringify({ connections: [{ ...benchConnection(ldapUrl), ...connection }], ...extra }, null, 2));
  return file;
}
