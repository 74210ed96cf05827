/**
 * The sync engine over TLS, against a real OpenLDAP slapd with a throw-away CA: LDAPS and StartTLS
 * with tls.caFile, a missing CA, verification turned off, a certificate about to expire and an
 * expired one. The certificate seen is recorded on the connection and shown by `status`.
 */
import { type AddressInfo, type Server, type Socket, connect, createServer } from 'node:net';
import { sql } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '../../src/store/db.ts';
import { type TestApp, createTestApp, ldapConnection } from '../support/app.ts';
import { type SlapdHandle, startSlapd } from '../support/slapd.ts';

const DAY = 86_400_000;
/** The store plays no part here; PostgreSQL (started once for the run) makes a fresh app in ~0.4 s. */
const DRIVER = 'postgres';
const LDIF = ['tls-alice', 'tls-bob']
  .map((uid) => `dn: uid=${uid},ou=people,dc=example,dc=org\nobjectClass: inetOrgPerson\nuid: ${uid}\ncn: ${uid}\nsn: ${uid}\nmail: ${uid}@example.org\n`)
  .concat(
    'dn: cn=tls-team,ou=groups,dc=example,dc=org\nobjectClass: groupOfNames\ncn: tls-team\n' +
      'member: uid=tls-alice,ou=people,dc=example,dc=org\nmember: uid=tls-bob,ou=people,dc=example,dc=org\n',
  )
  .join('\n');

type StoredCertificate = { subject: string; issuer: string; validTo: string; trusted: boolean; error: string | null };

async function certificateOf(app: TestApp, name = 'corp'): Promise<StoredCertificate | null> {
  const [row] = await queryRows<{ certificate: StoredCertificate | null }>(app.store.db, sql.raw(`select certificate from connections where name = '${name}'`));
  return row?.certificate ?? null;
}

async function membersOf(app: TestApp, name: string): Promise<string[]> {
  const r = await queryRows<{ login: string }>(
    app.store.db,
    sql.raw(`select u.login from memberships m join local_groups g on g.id = m.group_id join local_users u on u.id = m.user_id
             where g.name = '${name}' order by u.login`),
  );
  return r.map((x) => x.login);
}

describe('LDAP over TLS', () => {
  let ldap: SlapdHandle; // certificate valid 365 days
  let expiring: SlapdHandle; // valid 10 days
  let expired: SlapdHandle; // notAfter yesterday
  let app: TestApp | undefined;

  beforeAll(async () => {
    [ldap, expiring, expired] = await Promise.all([
      startSlapd({ tls: true, ldif: [LDIF] }),
      startSlapd({ tls: true, certDays: 10, ldif: [LDIF] }),
      startSlapd({ tls: true, certNotAfter: new Date(Date.now() - DAY), ldif: [LDIF] }),
    ]);
  });
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });
  afterAll(async () => {
    await Promise.all([ldap, expiring, expired].map((s) => s?.stop()));
  });

  const tlsConnection = (server: SlapdHandle, overrides: Record<string, unknown> = {}) =>
    ldapConnection(server, { url: server.ldapsUrl, groups: { filter: '(cn=tls-*)' }, ...overrides });
  const sync = (name = 'corp') => app!.engine.sync({ connection: name, trigger: 'manual', actor: 'test' });

  it('LDAPS with tls.caFile syncs and records the server certificate', async () => {
    expect(ldap.ldapsUrl).toMatch(/^ldaps:\/\/127\.0\.0\.1:\d+$/);
    app = await createTestApp(DRIVER, [tlsConnection(ldap, { tls: { caFile: ldap.caFile } })]);
    expect(await certificateOf(app)).toBeNull();
    const result = await sync();
    expect(result.run.error ?? result.run.status).toBe('success');
    expect(await membersOf(app, 'tls-team')).toEqual(['tls-alice', 'tls-bob']);
    const cert = await certificateOf(app);
    expect(cert).toMatchObject({ subject: 'CN=127.0.0.1', issuer: 'CN=groupsync throw-away test CA', trusted: true, error: null });
    expect(new Date(cert!.validTo).toISOString()).toBe(ldap.certNotAfter!.toISOString());
    const status = await app.ops.status('corp');
    expect(status.ssl).toMatchObject({ state: 'ok', detail: null });
    expect(new Date(status.ssl.validTo!).getTime()).toBe(ldap.certNotAfter!.getTime());
  });

  it('StartTLS on ldap:// with tls.caFile syncs and records the certificate', async () => {
    app = await createTestApp(DRIVER, [tlsConnection(ldap, { url: ldap.url, startTls: true, tls: { caFile: ldap.caFile } })]);
    expect(ldap.url).toMatch(/^ldap:\/\//);
    const result = await sync();
    expect(result.run.error ?? result.run.status).toBe('success');
    expect(await membersOf(app, 'tls-team')).toEqual(['tls-alice', 'tls-bob']);
    const cert = await certificateOf(app);
    expect(cert).toMatchObject({ trusted: true, subject: 'CN=127.0.0.1' });
    expect(new Date(cert!.validTo).getTime()).toBe(ldap.certNotAfter!.getTime());
    expect((await app.ops.status('corp')).ssl.state).toBe('ok');
  });

  it('LDAPS or StartTLS without the CA fails with DIRECTORY_TLS_FAILED and says to set tls.caFile', async () => {
    app = await createTestApp(DRIVER, [
      tlsConnection(ldap),
      tlsConnection(ldap, { name: 'starttls', url: ldap.url, startTls: true }),
    ]);
    for (const name of ['corp', 'starttls']) {
      const result = await sync(name);
      expect(result.run, name).toMatchObject({ status: 'failed', errorCode: 'DIRECTORY_TLS_FAILED' });
      expect(result.run.error, name).toMatch(/set tls\.caFile/);
      expect(result.run.error, name).toMatch(/certificate/i);
    }
    expect(await membersOf(app, 'tls-team')).toEqual([]);
    expect(app.notifier.events.map((e) => e.type)).toEqual(['run.failed', 'run.failed']);
  });

  it('a run refused for an untrusted certificate still records it: SSL status untrusted (LDAPS and StartTLS), expired', async () => {
    app = await createTestApp(DRIVER, [
      tlsConnection(ldap),
      tlsConnection(ldap, { name: 'starttls', url: ldap.url, startTls: true }),
      tlsConnection(expired, { name: 'expired', tls: { caFile: expired.caFile } }),
    ]);
    for (const name of ['corp', 'starttls']) {
      const result = await sync(name);
      expect(result.run, name).toMatchObject({ status: 'failed', errorCode: 'DIRECTORY_TLS_FAILED' });
      expect(await certificateOf(app, name), name).toMatchObject({ subject: 'CN=127.0.0.1', issuer: 'CN=groupsync throw-away test CA', trusted: false, error: 'SELF_SIGNED_CERT_IN_CHAIN' });
      const status = await app.ops.status(name);
      expect(status.ssl, name).toMatchObject({ state: 'untrusted', detail: 'SELF_SIGNED_CERT_IN_CHAIN' });
      expect(new Date(status.ssl.validTo!).getTime(), name).toBe(ldap.certNotAfter!.getTime());
    }
    expect((await sync('expired')).run).toMatchObject({ status: 'failed', errorCode: 'DIRECTORY_TLS_FAILED' });
    expect((await app.ops.status('expired')).ssl.state).toBe('expired');
    expect(await membersOf(app, 'tls-team')).toEqual([]);
  });

  it('a certificate for another host name (trusted CA): the run fails, SSL status untrusted with the reason', async () => {
    // A relay on 127.0.0.2, a name the certificate (127.0.0.1, localhost) does not hold.
    const sockets = new Set<Socket>();
    const relay: Server = createServer((client) => {
      const upstream = connect(Number(new URL(ldap.ldapsUrl!).port), '127.0.0.1');
      for (const s of [client, upstream]) {
        sockets.add(s);
        s.on('error', () => s.destroy());
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => relay.listen(0, '127.0.0.2', resolve));
    try {
      const url = `ldaps://127.0.0.2:${(relay.address() as AddressInfo).port}`;
      app = await createTestApp(DRIVER, [tlsConnection(ldap, { url, tls: { caFile: ldap.caFile } })]);
      const result = await sync();
      expect(result.run).toMatchObject({ status: 'failed', errorCode: 'DIRECTORY_TLS_FAILED' });
      expect(await certificateOf(app)).toMatchObject({ subject: 'CN=127.0.0.1', trusted: false, error: 'ERR_TLS_CERT_ALTNAME_INVALID' });
      expect((await app.ops.status('corp')).ssl).toMatchObject({ state: 'untrusted', detail: 'ERR_TLS_CERT_ALTNAME_INVALID' });
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => relay.close(resolve));
    }
  });

  it('tls.verify: false without the CA syncs, and the certificate shows as untrusted', async () => {
    app = await createTestApp(DRIVER, [tlsConnection(ldap, { tls: { verify: false } })]);
    const result = await sync();
    expect(result.run.error ?? result.run.status).toBe('success');
    expect(await membersOf(app, 'tls-team')).toEqual(['tls-alice', 'tls-bob']);
    const cert = await certificateOf(app);
    expect(cert).toMatchObject({ trusted: false, subject: 'CN=127.0.0.1' });
    expect(cert?.error).toBeTruthy();
    const status = await app.ops.status('corp');
    expect(status.ssl.state).toBe('untrusted');
    expect(cert?.error).toContain('SELF_SIGNED_CERT_IN_CHAIN');
    expect(status.ssl.detail).toContain('SELF_SIGNED_CERT_IN_CHAIN'); // why it is untrusted
  });

  it('a certificate valid for 10 more days shows as expiring', async () => {
    app = await createTestApp(DRIVER, [tlsConnection(expiring, { tls: { caFile: expiring.caFile } })]);
    const result = await sync();
    expect(result.run.error ?? result.run.status).toBe('success');
    const status = await app.ops.status('corp');
    expect(status.ssl.state).toBe('expiring');
    expect(status.ssl.detail).toMatch(/expires in (9|10) days/);
    expect(new Date(status.ssl.validTo!).getTime()).toBe(expiring.certNotAfter!.getTime());
  });

  it('an expired certificate fails the run with DIRECTORY_TLS_FAILED when verification is on', async () => {
    expect(expired.certNotAfter!.getTime()).toBeLessThan(Date.now());
    app = await createTestApp(DRIVER, [tlsConnection(expired, { tls: { caFile: expired.caFile } })]);
    const result = await sync();
    expect(result.run).toMatchObject({ status: 'failed', errorCode: 'DIRECTORY_TLS_FAILED' });
    // The hint fits the cause: renewing the certificate, not adding a CA the connection already has.
    expect(result.run.error).toMatch(/certificate has expired \(CERT_HAS_EXPIRED\); the server certificate has expired: renew it/);
    expect(result.run.error).not.toMatch(/set tls\.caFile/);
    expect(await membersOf(app, 'tls-team')).toEqual([]);
    // The same server read with verification off goes through (the failure was the certificate),
    // and shows as expired.
    await app.close();
    app = await createTestApp(DRIVER, [tlsConnection(expired, { tls: { caFile: expired.caFile, verify: false } })]);
    const unverified = await sync();
    expect(unverified.run.error ?? unverified.run.status).toBe('success');
    expect((await app.ops.status('corp')).ssl.state).toBe('expired');
  });
});
