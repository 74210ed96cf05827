// Checks that the real-server test harness works: private slapd (plain, TLS, bulk load) and
// the run's PostgreSQL from globalSetup.
import { existsSync } from 'node:fs';
import { connect as tlsConnect } from 'node:tls';
import { Client, InvalidCredentialsError } from 'ldapts';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { BIG_GROUP_DN, BIG_GROUP_SIZE } from '../fixtures/generate-big.ts';
import { createDatabase, uniqueDatabaseName } from '../support/postgres.ts';
import { FIXTURE_LDIF, SERVICE_ACCOUNT, startSlapd, type SlapdHandle } from '../support/slapd.ts';

function str(v: unknown): string {
  if (Array.isArray(v)) throw new Error(`expected one value, got ${v.length}`);
  return Buffer.isBuffer(v) ? v.toString('utf8') : String(v);
}

function list(v: unknown): string[] {
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).map((x) => (Buffer.isBuffer(x) ? x.toString('utf8') : String(x)));
}

async function withClient<T>(url: string, fn: (c: Client) => Promise<T>, opts: { ca?: string; dn?: string; password?: string; timeout?: number } = {}): Promise<T> {
  const client = new Client({
    url,
    connectTimeout: opts.timeout ?? 5000,
    timeout: opts.timeout ?? 10_000,
    ...(opts.ca !== undefined ? { tlsOptions: { ca: [opts.ca] } } : {}),
  });
  try {
    if (opts.dn !== undefined) await client.bind(opts.dn, opts.password);
    return await fn(client);
  } finally {
    await client.unbind().catch(() => {});
  }
}

describe('slapd with the scenario and big-group fixtures', () => {
  let ldap: SlapdHandle;
  const admin = (): { dn: string; password: string } => ({ dn: ldap.adminDn, password: ldap.adminPassword });

  beforeAll(async () => {
    const t0 = Date.now();
    ldap = await startSlapd({ ldif: [FIXTURE_LDIF.scenarios, FIXTURE_LDIF.bigGroup] });
    // Starting (config + 1,650 entries via slapadd + bind check) should be quick.
    expect(Date.now() - t0).toBeLessThan(5000);
  });
  afterAll(async () => {
    await ldap?.stop();
  });

  it('listens on 127.0.0.1 and accepts the admin and the service account', async () => {
    expect(ldap.url).toMatch(/^ldap:\/\/127\.0\.0\.1:\d+$/);
    expect(ldap.baseDn).toBe('dc=example,dc=org');
    expect(ldap.adminDn).toBe('cn=admin,dc=example,dc=org');
    const who = await withClient(ldap.url, (c) => c.exop('1.3.6.1.4.1.4203.1.11.3'), admin());
    expect(who.value).toBe('dn:cn=admin,dc=example,dc=org');
    const svc = await withClient(ldap.url, (c) => c.exop('1.3.6.1.4.1.4203.1.11.3'), SERVICE_ACCOUNT);
    expect(svc.value).toBe(`dn:${SERVICE_ACCOUNT.dn}`);
  });

  it('rejects a wrong password', async () => {
    await expect(withClient(ldap.url, async () => {}, { dn: ldap.adminDn, password: 'wrong' })).rejects.toBeInstanceOf(InvalidCredentialsError);
  });

  it('returns all 1,600 big-group members through a paged search', async () => {
    const pages: number[] = [];
    const uids: string[] = [];
    await withClient(
      ldap.url,
      async (c) => {
        for await (const page of c.searchPaginated('ou=people,dc=example,dc=org', {
          scope: 'one',
          filter: '(&(objectClass=inetOrgPerson)(uid=bulk-user-*))',
          attributes: ['uid', 'entryUUID'],
          paged: { pageSize: 500 },
        })) {
          pages.push(page.searchEntries.length);
          for (const e of page.searchEntries) {
            uids.push(str(e.uid));
            expect(str(e.entryUUID)).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
          }
        }
      },
      admin(),
    );
    expect(pages.length).toBeGreaterThanOrEqual(4);
    expect(uids).toHaveLength(BIG_GROUP_SIZE);
    expect(new Set(uids).size).toBe(BIG_GROUP_SIZE);

    // And the group's member attribute carries all of them.
    const { searchEntries } = await withClient(ldap.url, (c) => c.search(BIG_GROUP_DN, { scope: 'base', attributes: ['member'] }), admin());
    const members = list(searchEntries[0]?.member);
    expect(members).toHaveLength(BIG_GROUP_SIZE);
    expect(new Set(members.map((m) => m.toLowerCase()))).toEqual(new Set(uids.map((u) => `uid=${u},ou=people,dc=example,dc=org`)));
  });

  it('has no size limit for a non-admin unpaged search', async () => {
    const { searchEntries } = await withClient(
      ldap.url,
      (c) => c.search('ou=people,dc=example,dc=org', { scope: 'one', filter: '(objectClass=inetOrgPerson)', attributes: ['1.1'] }),
      SERVICE_ACCOUNT,
    );
    expect(searchEntries.length).toBeGreaterThan(BIG_GROUP_SIZE);
  });

  it('holds the entries with escaped and non-ASCII DNs', async () => {
    const { searchEntries } = await withClient(
      ldap.url,
      (c) =>
        c.search('ou=people,dc=example,dc=org', {
          filter: '(|(uid=jsmith)(uid=rtables)(uid=bslash)(uid=pminus)(uid=zangstrom))',
          attributes: ['uid', 'cn'],
        }),
      admin(),
    );
    const byUid = new Map(searchEntries.map((e) => [str(e.uid), e]));
    expect([...byUid.keys()].sort()).toEqual(['bslash', 'jsmith', 'pminus', 'rtables', 'zangstrom']);
    // OpenLDAP returns the DNs in its "pretty" form, with hex escapes.
    expect(byUid.get('jsmith')?.dn).toBe('cn=Smith\\2C John+uid=jsmith,ou=people,dc=example,dc=org');
    expect(byUid.get('rtables')?.dn).toBe('cn=Robert \\22Bobby\\22 Tables,ou=people,dc=example,dc=org');
    expect(byUid.get('bslash')?.dn).toBe('cn=Back\\5CSlash,ou=people,dc=example,dc=org');
    expect(byUid.get('pminus')?.dn).toBe('cn=Plus\\2BMinus,ou=people,dc=example,dc=org');
    expect(byUid.get('zangstrom')?.dn).toBe('cn=Zoë Ångström,ou=people,dc=example,dc=org');
    expect(str(byUid.get('jsmith')?.cn)).toBe('Smith, John');
    expect(str(byUid.get('bslash')?.cn)).toBe('Back\\Slash');
    expect(str(byUid.get('zangstrom')?.cn)).toBe('Zoë Ångström');

    // A base search by the backslash-escaped spelling finds the same entry.
    const base = await withClient(
      ldap.url,
      (c) => c.search('cn=Smith\\, John+uid=jsmith,ou=people,dc=example,dc=org', { scope: 'base', attributes: ['uid'] }),
      admin(),
    );
    expect(base.searchEntries.map((e) => str(e.uid))).toEqual(['jsmith']);
  });

  it('keeps the scenario groups as written in the fixture', async () => {
    const { searchEntries } = await withClient(
      ldap.url,
      (c) => c.search('dc=example,dc=org', { filter: '(objectClass=groupOfNames)', attributes: ['cn', 'member'] }),
      admin(),
    );
    const byDn = new Map(searchEntries.map((e) => [e.dn, list(e.member)]));
    // Loaded with slapadd, member values keep their letter case and spaces.
    expect(byDn.get('cn=mixed-case-members,ou=groups,dc=example,dc=org')).toEqual([
      'UID=Alice,OU=People,DC=Example,DC=ORG',
      'uid=bob, ou=people, dc=example, dc=org',
      'Uid=CAROL,  Ou=PEOPLE,dc=EXAMPLE,  dc=org',
    ]);
    expect(byDn.get('cn=cycle-a,ou=groups,dc=example,dc=org')).toContain('cn=cycle-b,ou=groups,dc=example,dc=org');
    expect(byDn.get('cn=cycle-b,ou=groups,dc=example,dc=org')).toContain('cn=cycle-a,ou=groups,dc=example,dc=org');
    expect(byDn.get('cn=app-admins,ou=groups,dc=example,dc=org')).toContain('cn=app-ops,ou=groups,dc=example,dc=org');
    expect(byDn.has('cn=developers,ou=groups,dc=example,dc=org')).toBe(true);
    expect(byDn.has('cn=developers,ou=legacy,dc=example,dc=org')).toBe(true);
    expect(byDn.get('cn=special-chars,ou=groups,dc=example,dc=org')).toContain('cn=Zoë Ångström,ou=people,dc=example,dc=org');

    const users = await withClient(
      ldap.url,
      (c) => c.search('ou=people,dc=example,dc=org', { filter: '(|(uid=dave)(uid=erin)(uid=jdoe))', attributes: ['uid', 'mail', 'employeeType'] }),
      admin(),
    );
    const u = new Map(users.searchEntries.map((e) => [str(e.uid), e]));
    // ldapts reports a requested attribute the entry lacks as [].
    expect(list(u.get('dave')?.mail)).toEqual([]);
    expect(str(u.get('jdoe')?.mail)).toBe('shared@example.org');
    expect(str(u.get('erin')?.employeeType)).toBe('disabled');
  });

  it('loads more LDIF into the running server, including changetype records', async () => {
    await ldap.load(['dn: uid=late,ou=people,dc=example,dc=org', 'objectClass: inetOrgPerson', 'uid: late', 'cn: Late Comer', 'sn: Comer', ''].join('\n'));
    await ldap.load(['dn: cn=app-ops,ou=groups,dc=example,dc=org', 'changetype: modify', 'add: member', 'member: uid=late,ou=people,dc=example,dc=org', '-', ''].join('\n'));
    const { searchEntries } = await withClient(ldap.url, (c) => c.search('cn=app-ops,ou=groups,dc=example,dc=org', { scope: 'base', attributes: ['member'] }), admin());
    expect(list(searchEntries[0]?.member)).toContain('uid=late,ou=people,dc=example,dc=org');
  });

  it('pause() makes the server stop answering and resume() brings it back', async () => {
    ldap.pause();
    try {
      const started = Date.now();
      await expect(withClient(ldap.url, async () => {}, { ...admin(), timeout: 500 })).rejects.toThrow();
      expect(Date.now() - started).toBeGreaterThanOrEqual(400);
    } finally {
      ldap.resume();
    }
    const who = await withClient(ldap.url, (c) => c.exop('1.3.6.1.4.1.4203.1.11.3'), admin());
    expect(who.value).toBe('dn:cn=admin,dc=example,dc=org');
  });

  it('kill() drops the server and restart() brings it back with its data', async () => {
    const before = ldap.pid;
    ldap.kill();
    await expect(withClient(ldap.url, async () => {}, { ...admin(), timeout: 1000 })).rejects.toThrow();
    await ldap.restart();
    expect(ldap.pid).not.toBe(before);
    const { searchEntries } = await withClient(ldap.url, (c) => c.search('uid=late,ou=people,dc=example,dc=org', { scope: 'base', attributes: ['uid'] }), admin());
    expect(searchEntries).toHaveLength(1);
  });

  it('stop() removes the process and the temp directory', async () => {
    const tmp = await startSlapd();
    expect(existsSync(tmp.dir)).toBe(true);
    const pid = tmp.pid;
    await tmp.stop();
    expect(existsSync(tmp.dir)).toBe(false);
    expect(() => process.kill(pid, 0)).toThrow();
  });
});

describe('slapd with TLS', () => {
  let ldap: SlapdHandle;
  beforeAll(async () => {
    ldap = await startSlapd({ tls: true, certDays: 10 });
  });
  afterAll(async () => {
    await ldap?.stop();
  });

  it('serves ldaps:// with a certificate the CA file verifies', async () => {
    expect(ldap.ldapsUrl).toMatch(/^ldaps:\/\/127\.0\.0\.1:\d+$/);
    expect(ldap.caFile).toBeDefined();
    expect(existsSync(ldap.caFile!)).toBe(true);
    const who = await withClient(ldap.ldapsUrl!, (c) => c.exop('1.3.6.1.4.1.4203.1.11.3'), { ca: ldap.caPem!, dn: ldap.adminDn, password: ldap.adminPassword });
    expect(who.value).toBe('dn:cn=admin,dc=example,dc=org');
  });

  it('fails verification without the CA', async () => {
    await expect(withClient(ldap.ldapsUrl!, async () => {}, { dn: ldap.adminDn, password: ldap.adminPassword })).rejects.toThrow(/self[- ]signed|unable to (get|verify)/i);
  });

  it('supports StartTLS on the ldap:// port', async () => {
    const who = await withClient(ldap.url, async (c) => {
      await c.startTLS({ ca: [ldap.caPem!] });
      await c.bind(ldap.adminDn, ldap.adminPassword);
      return c.exop('1.3.6.1.4.1.4203.1.11.3');
    });
    expect(who.value).toBe('dn:cn=admin,dc=example,dc=org');
    await expect(
      withClient(ldap.url, async (c) => {
        await c.startTLS({});
      }),
    ).rejects.toThrow(/self[- ]signed|unable to (get|verify)/i);
  });

  it('serves a certificate that expires in certDays', async () => {
    const url = new URL(ldap.ldapsUrl!);
    const cert = await new Promise<{ valid_to: string; subjectaltname?: string }>((resolve, reject) => {
      const socket = tlsConnect({ host: url.hostname, port: Number(url.port), ca: [ldap.caPem!] }, () => {
        const peer = socket.getPeerCertificate();
        socket.destroy();
        resolve(peer);
      });
      socket.on('error', reject);
    });
    const notAfter = new Date(cert.valid_to);
    expect(notAfter.getTime()).toBe(ldap.certNotAfter!.getTime());
    const days = (notAfter.getTime() - Date.now()) / 86400_000;
    expect(days).toBeGreaterThan(9.9);
    expect(days).toBeLessThanOrEqual(10);
    expect(cert.subjectaltname).toContain('IP Address:127.0.0.1');
    expect(cert.subjectaltname).toContain('DNS:localhost');
  });
});

describe('slapd bulk load', () => {
  it('loads a large LDIF with slapadd -q before start', async () => {
    const ldap = await startSlapd({ bulkLdif: FIXTURE_LDIF.bigGroup });
    try {
      const { searchEntries } = await withClient(
        ldap.url,
        (c) => c.search('ou=people,dc=example,dc=org', { scope: 'one', filter: '(uid=bulk-user-*)', attributes: ['1.1'], paged: { pageSize: 1000 } }),
        { dn: ldap.adminDn, password: ldap.adminPassword },
      );
      expect(searchEntries).toHaveLength(BIG_GROUP_SIZE);
    } finally {
      await ldap.stop();
    }
  });
});

describe('postgres from globalSetup', () => {
  it('provides an admin URL and creates fresh databases', async () => {
    const adminUrl = inject('pgUrl');
    expect(adminUrl).toMatch(/^postgres:\/\/postgres@127\.0\.0\.1:\d+\/postgres$/);
    const name = uniqueDatabaseName('harness');
    const url = await createDatabase(adminUrl, name);
    expect(url).toBe(adminUrl.replace(/\/postgres$/, `/${name}`));
    const sql = postgres(url, { max: 1, onnotice: () => {} });
    try {
      const [row] = await sql<{ one: number; db: string }[]>`select 1 as one, current_database() as db`;
      expect(row).toEqual({ one: 1, db: name });
      await sql`create table t (id int)`;
    } finally {
      await sql.end();
    }
    // Creating it again gives an empty database.
    await createDatabase(adminUrl, name);
    const again = postgres(url, { max: 1, onnotice: () => {} });
    try {
      const rows = await again`select count(*)::int as n from information_schema.tables where table_schema = 'public'`;
      expect(rows[0]?.n).toBe(0);
    } finally {
      await again.end();
    }
  });
});
