// The container files, checked without a container engine (none runs here): compose.yaml's
// references resolve (the Dockerfile, the variables groupsync knows, the port it listens on, the
// database the PostgreSQL service makes), and the image holds the folders the product reads at
// run time.
import { existsSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CARDS_DIR } from '../../src/chat/teams/cards.ts';
import { envSchema, SAMPLE_CONFIG } from '../../src/config.ts';
import { MIGRATIONS_DIR } from '../../src/store/db.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const DOCKERFILE = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');

interface Service {
  image?: string;
  build?: { context: string; dockerfile?: string };
  environment?: Record<string, string>;
  env_file?: { path: string; required?: boolean }[];
  ports?: string[];
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
}
const COMPOSE = parse(readFileSync(join(ROOT, 'compose.yaml'), 'utf8')) as { services: Record<string, Service>; volumes: Record<string, unknown> };
const app = COMPOSE.services.groupsync!;
const pg = COMPOSE.services.postgres!;

/** Compose's `${VAR}`, `${VAR:-default}` and `${VAR:?message}` with the values given. */
function interpolate(value: string, vars: Record<string, string>): string {
  return value.replace(/\$\{(\w+)(?::[-?][^}]*)?\}/g, (_, name: string) => vars[name] ?? '');
}

/** The Dockerfile's last stage (the image that runs), one instruction a line. */
function runtimeStage(): string {
  return DOCKERFILE.slice(DOCKERFILE.lastIndexOf('\nFROM ')).replace(/\\\n\s*/g, '');
}

describe('compose.yaml', () => {
  it('builds groupsync from the Dockerfile in the repository', () => {
    expect(app.build?.context).toBe('.');
    expect(existsSync(join(ROOT, app.build?.context ?? '', app.build?.dockerfile ?? 'Dockerfile'))).toBe(true);
  });

  it('sets only variables groupsync knows; secrets come from the environment file', () => {
    const known = Object.keys(envSchema.shape);
    expect(Object.keys(app.environment ?? {}).filter((k) => !known.includes(k))).toEqual([]);
    expect(app.env_file).toEqual([{ path: '.env', required: false }]);
    // No secret is written into compose.yaml itself.
    expect(Object.keys(app.environment ?? {}).filter((k) => /PASSWORD|TOKEN|SECRET/.test(k))).toEqual([]);
  });

  it("publishes the port groupsync listens on, and the variables parse with groupsync's own schema", () => {
    const env = Object.fromEntries(Object.entries(app.environment ?? {}).map(([k, v]) => [k, interpolate(String(v), { POSTGRES_PASSWORD: 'pw' })]));
    const parsed = envSchema.parse(env);
    expect(parsed.PORT).toBe(envSchema.parse({}).PORT);
    expect(app.ports).toEqual([`${parsed.PORT}:${parsed.PORT}`]);
    expect(runtimeStage()).toMatch(new RegExp(`^EXPOSE ${parsed.PORT}$`, 'm'));
  });

  it('points DATABASE_URL at the PostgreSQL service, its database, user and password', () => {
    const pw = 'p1';
    const url = new URL(interpolate(app.environment!.DATABASE_URL!, { POSTGRES_PASSWORD: pw }));
    const pgEnv = Object.fromEntries(Object.entries(pg.environment ?? {}).map(([k, v]) => [k, interpolate(String(v), { POSTGRES_PASSWORD: pw })]));
    expect({ host: url.hostname, port: url.port, user: url.username, password: url.password, db: url.pathname.slice(1) }).toEqual({
      host: 'postgres',
      port: '5432',
      user: pgEnv.POSTGRES_USER,
      password: pgEnv.POSTGRES_PASSWORD,
      db: pgEnv.POSTGRES_DB,
    });
    expect(app.depends_on).toEqual({ postgres: { condition: 'service_healthy' } });
  });

  it('keeps the data folder on a named volume', () => {
    const dataDir = app.environment!.GROUPSYNC_DATA_DIR!;
    expect(app.volumes).toContain(`groupsync-data:${dataDir}`);
    expect(Object.keys(COMPOSE.volumes)).toContain('groupsync-data');
    expect(runtimeStage()).toMatch(new RegExp(`^VOLUME ${dataDir}$`, 'm'));
  });
});

describe('Dockerfile', () => {
  it('runs Node 24 slim as a user other than root, with a health check on /healthz', () => {
    expect([...DOCKERFILE.matchAll(/^FROM (\S+)/gm)].map((m) => m[1])).toEqual(['node:24-slim', 'node:24-slim']);
    expect(runtimeStage()).toMatch(/^USER node$/m);
    expect(runtimeStage()).toMatch(/^HEALTHCHECK .*\/healthz/m);
  });

  it('installs the runtime dependencies only, from the lock file', () => {
    expect(DOCKERFILE).toMatch(/^RUN npm ci --omit=dev\b/m);
  });

  it('copies the folders the product reads at run time', () => {
    const copied = [...runtimeStage().matchAll(/^COPY (?:--\S+ )*(\S+) /gm)].map((m) => m[1]);
    for (const dir of [CARDS_DIR, MIGRATIONS_DIR, join(SAMPLE_CONFIG, '..'), join(ROOT, 'src'), join(ROOT, 'bin')]) {
      expect(copied).toContain(relative(ROOT, dir));
    }
  });
});
