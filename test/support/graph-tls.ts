/**
 * A throw-away CA and a server certificate for 127.0.0.1/localhost, made by openssl. MSAL
 * refuses a non-https authority and the Graph client sends its token only over https, so the
 * loopback Graph speaks TLS; Node trusts this CA through NODE_EXTRA_CA_CERTS, which it reads at
 * process start (global-setup.ts sets it before vitest forks its workers; the bench sets it for
 * its child processes).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TestTls {
  readonly dir: string;
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
}

export function createTestTls(dir: string): TestTls {
  mkdirSync(dir, { recursive: true });
  const tls: TestTls = { dir, caFile: join(dir, 'ca.pem'), certFile: join(dir, 'server.pem'), keyFile: join(dir, 'server.key') };
  if (existsSync(tls.caFile) && existsSync(tls.certFile) && existsSync(tls.keyFile)) return tls;
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  ssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '7',
    '-subj', '/CN=groupsync test CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  ssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost');
  writeFileSync(join(dir, 'server.ext'), 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n');
  ssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '7', '-extfile', 'server.ext');
  return tls;
}

/** A client certificate (self-signed, key and certificate in one PEM) for certificate credentials. */
export function createClientPem(dir: string): string {
  const file = join(dir, 'client.pem');
  if (!existsSync(file)) {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'client.key', '-out', 'client.crt', '-days', '7', '-subj', '/CN=groupsync test app'], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    execFileSync('sh', ['-c', 'cat client.crt client.key > client.pem'], { cwd: dir });
  }
  return file;
}
