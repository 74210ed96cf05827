/**
 * The checks the schema cannot make (the environment, files on disk, one field against another,
 * one connection against the others). They read the document as written, field by field, so that
 * they run even when the schema refused other fields of the same connection: every problem is
 * reported at once, never one round hiding the next.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { clip } from '../errors.ts';

type Env = Record<string, string | undefined>;
type Raw = Record<string, unknown>;

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function record(value: unknown): Raw | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Raw) : undefined;
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** "connections[2] (corp)": the index, and the name when there is one to show. */
export function connectionLabel(raw: unknown, index: number): string {
  const name = text(record(raw)?.name);
  return `connections[${index}]${name !== undefined ? ` (${clip(name, 40)})` : ''}`;
}

function ldapProblems(c: Raw, where: string, env: Env, baseDir: string): string[] {
  const problems: string[] = [];
  const urls = (Array.isArray(c.url) ? c.url : [c.url]).filter((u): u is string => typeof u === 'string');
  for (const url of urls) {
    if (!/^ldaps?:\/\/[^/]+/i.test(url)) problems.push(`  ${where}.url: "${url}" must start with ldap:// or ldaps://`);
    if (c.startTls === true && /^ldaps:/i.test(url)) problems.push(`  ${where}.startTls: StartTLS is for ldap:// URLs; "${url}" is already TLS — remove startTls or use ldap://`);
  }
  const passwordEnv = text(c.passwordEnv);
  if (passwordEnv !== undefined && ENV_NAME.test(passwordEnv) && !env[passwordEnv]) {
    problems.push(`  ${where}.passwordEnv: environment variable ${passwordEnv} is not set; export it with the bind password`);
  }
  const caFile = text(record(c.tls)?.caFile);
  if (caFile !== undefined && !existsSync(path.resolve(baseDir, caFile))) problems.push(`  ${where}.tls.caFile: ${path.resolve(baseDir, caFile)} does not exist`);
  return problems;
}

function certificateProblems(certificate: Raw, where: string, env: Env, baseDir: string, readPem: (file: string) => string): string[] {
  const file = text(certificate.file);
  const pemEnv = text(certificate.pemEnv);
  if ((file === undefined) === (pemEnv === undefined)) {
    return [`  ${where}.certificate: give either file (a PEM with the certificate and its private key) or pemEnv (the variable holding that PEM)`];
  }
  let pem = '';
  if (file !== undefined) {
    const resolved = path.resolve(baseDir, file);
    if (!existsSync(resolved)) return [`  ${where}.certificate.file: ${resolved} does not exist`];
    pem = readPem(resolved);
  } else if (ENV_NAME.test(pemEnv!)) {
    pem = env[pemEnv!] ?? '';
    if (!pem) return [`  ${where}.certificate.pemEnv: environment variable ${pemEnv} is not set; export it with the PEM certificate and private key`];
  }
  if (pem && !/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem)) {
    return [`  ${where}.certificate: the PEM has no private key; it must hold the certificate and its private key`];
  }
  return [];
}

function entraProblems(c: Raw, where: string, env: Env, baseDir: string, readPem: (file: string) => string): string[] {
  const problems: string[] = [];
  const secretEnv = text(c.clientSecretEnv);
  const certificate = record(c.certificate);
  if (secretEnv !== undefined && certificate) problems.push(`  ${where}: give either clientSecretEnv or certificate, not both`);
  if (certificate) problems.push(...certificateProblems(certificate, where, env, baseDir, readPem));
  else if (secretEnv === undefined) problems.push(`  ${where}: an entra connection needs clientSecretEnv (the variable holding the client secret) or certificate`);
  else if (ENV_NAME.test(secretEnv) && !env[secretEnv]) {
    problems.push(`  ${where}.clientSecretEnv: environment variable ${secretEnv} is not set; export it with the client secret`);
  }
  const graph = text(c.graphBaseUrl);
  // Only an https URL (the schema says so of the others): one problem per mistake.
  if (graph !== undefined && /^https:\/\//i.test(graph) && !/^https:\/\/[^/]+\/[^/]+$/i.test(graph.replace(/\/+$/, ''))) {
    problems.push(`  ${where}.graphBaseUrl: "${graph}" must be the service root with its version and nothing more, such as https://graph.microsoft.com/v1.0`);
  }
  return problems;
}

/** The problems of one connection that the schema cannot see; an empty list when there are none. */
export function connectionProblems(raw: unknown, index: number, env: Env, baseDir: string, readPem: (file: string) => string): string[] {
  const c = record(raw);
  if (!c) return [];
  const where = connectionLabel(raw, index);
  if (c.kind === 'ldap') return ldapProblems(c, where, env, baseDir);
  if (c.kind === 'entra') return entraProblems(c, where, env, baseDir, readPem);
  const file = text(c.file);
  if (c.kind === 'ldif' && file !== undefined && !existsSync(path.resolve(baseDir, file))) return [`  ${where}.file: ${path.resolve(baseDir, file)} does not exist`];
  return [];
}

/** Two connections with one name (in any letter case): the second is named. */
export function duplicateNames(connections: readonly unknown[]): string[] {
  const seen = new Set<string>();
  return connections.flatMap((raw, index) => {
    const name = text(record(raw)?.name);
    if (name === undefined) return [];
    const key = name.toLowerCase();
    if (seen.has(key)) return [`  ${connectionLabel(raw, index)}.name: "${name}" is used twice; give each connection its own name`];
    seen.add(key);
    return [];
  });
}

/** Directory groups in `chat` that name a connection the file does not configure. */
export function chatConnectionProblems(chat: unknown, connections: readonly unknown[]): string[] {
  const names = connections.map((raw) => text(record(raw)?.name)).filter((n): n is string => n !== undefined);
  const known = new Set(names.map((n) => n.toLowerCase()));
  return (['admins', 'viewers'] as const).flatMap((role) => {
    const list = record(record(chat)?.[role])?.directoryGroups;
    if (!Array.isArray(list)) return [];
    return list.flatMap((entry, i) => {
      const name = text(record(entry)?.connection);
      if (name === undefined || known.has(name.toLowerCase())) return [];
      return [`  chat.${role}.directoryGroups[${i}].connection: "${name}" is not a configured connection; use one of: ${names.join(', ') || '(none)'}`];
    });
  });
}
