/** What the LDAP source tests share: the options of a source on the test slapd, and a snapshot compared without order. */
import type { LdapSourceOptions } from '../../src/directory/ldap/client.ts';
import type { DirectorySnapshot } from '../../src/domain/types.ts';
import type { SlapdHandle } from './slapd.ts';

/** A source on `ldap` that keeps its entries (incremental 'entries'), with small pages. */
export function sourceOptions(ldap: SlapdHandle, extra: Partial<LdapSourceOptions> = {}): LdapSourceOptions {
  return {
    urls: [ldap.url],
    bindDn: ldap.adminDn,
    password: ldap.adminPassword,
    startTls: false,
    baseDn: ldap.baseDn,
    vendor: 'auto',
    attributes: { disabled: 'employeeType' },
    verify: true,
    pageSize: 50,
    timeoutSeconds: 5,
    incremental: 'entries',
    ...extra,
  };
}

/** The snapshot without order (a cache and a server may list entries in different orders). */
export function canonicalSnapshot(s: DirectorySnapshot) {
  const byText = (a: unknown, b: unknown) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1);
  return {
    groups: s.groups.map((g) => ({ ...g, memberIds: [...g.memberIds].sort() })).sort(byText),
    users: [...s.users].sort(byText),
    skipped: [...s.skipped].sort(byText),
  };
}
