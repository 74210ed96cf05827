/**
 * What the command line loads. `--help` and `status` start without the chat, Graph/Entra and
 * LDAP stacks (imported where used), and `--help` without the store: checked on the module graph
 * of src/cli/main.ts (what `npm run cli` runs and what the bundle is made of), in child processes
 * that log every module they resolve. `groupsync` (bin/groupsync.mjs) runs that graph bundled as
 * plain JavaScript, rebuilt when a source file changed.
 */
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { stringify } from 'yaml';
import { createDatabase } from '../support/postgres.ts';
import { MODULE_LOG_HOOK, loadedModules, loadedPackages } from '../support/module-log.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const CLI = path.join(ROOT, 'src/cli/main.ts');
const BIN = path.join(ROOT, 'bin/groupsync.mjs');
const STAMP = path.join(ROOT, 'dist/cli/stamp.json');

/** Loaded only by the commands that talk to a chat or a directory. */
const CHAT_AND_DIRECTORY = [
  'botbuilder',
  '@microsoft/teams-ai',
  'adaptivecards',
  'adaptivecards-templating',
  '@slack/bolt',
  '@slack/web-api',
  'openai',
  '@microsoft/microsoft-graph-client',
  '@azure/identity',
  '@azure/msal-node',
  'ldapts',
];
/** Loaded only by commands that open the store. */
const STORE = ['drizzle-orm', 'postgres', '@electric-sql/pglite', 'zod', 'yaml', 'pino'];

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  modules: string[];
  packages: Set<string>;
}

let env: Record<string, string>;

async function run(entry: string, ...args: string[]): Promise<Run> {
  const logDir = mkdtempSync(path.join(tmpdir(), 'groupsync-modules-'));
  return new Promise((resolve) => {
    const childEnv = { ...process.env, ...env, MODULE_LOG_DIR: logDir, NODE_OPTIONS: `--import=${MODULE_LOG_HOOK}` };
    execFile(process.execPath, [entry, ...args], { env: childEnv, timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stdout, stderr, modules: loadedModules(logDir), packages: loadedPackages(logDir) });
    });
  });
}

const bundleEntry = (): string => `${(JSON.parse(readFileSync(STAMP, 'utf8')) as { build: string }).build}/cli.js`;

beforeAll(async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'groupsync-cli-startup-'));
  const configFile = path.join(dir, 'groupsync.yaml');
  const ldif = path.join(ROOT, 'sample/directory.ldif');
  writeFileSync(configFile, stringify({ connections: [{ name: 'corp', kind: 'ldif', file: ldif, groups: { filter: '(cn=app-*)' } }] }));
  env = { GROUPSYNC_CONFIG: configFile, DATABASE_URL: await createDatabase(inject('pgUrl')), LOG_LEVEL: 'silent' };
});

describe('CLI start-up', () => {
  it('--help loads neither the chat and directory stacks nor the store', async () => {
    const help = await run(CLI, '--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Usage: groupsync/);
    expect(help.stdout).toMatch(/status <connection>/);
    expect(help.packages).toContain('commander');
    expect([...CHAT_AND_DIRECTORY, ...STORE].filter((p) => help.packages.has(p))).toEqual([]);
  });

  it('status opens the store but loads no chat or directory stack', async () => {
    const status = await run(CLI, '--json', 'status', 'corp');
    expect(status.stderr).toBe('');
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ name: 'corp', kind: 'ldif', linkedGroups: 0 });
    expect(status.packages).toContain('drizzle-orm');
    expect(CHAT_AND_DIRECTORY.filter((p) => status.packages.has(p))).toEqual([]);
  });

  it('groupsync runs the bundled CLI, no TypeScript file, and rebuilds it when a source file changed', async () => {
    const help = await run(BIN, '--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Usage: groupsync/);
    expect(help.modules.filter((m) => m.endsWith('.ts'))).toEqual([]);
    expect(help.modules.some((m) => m.endsWith(`dist/cli/${bundleEntry()}`))).toBe(true);
    const before = bundleEntry();

    // A source file edited (here: only its mtime): the next command runs a new bundle.
    const touched = path.join(ROOT, 'src/cli/render.ts');
    const { atime, mtime } = statSync(touched);
    utimesSync(touched, atime, new Date(mtime.getTime() + 1000));
    try {
      const status = await run(BIN, '--json', 'status', 'corp');
      expect(status.stderr).toBe('');
      expect(status.code).toBe(0);
      expect(JSON.parse(status.stdout)).toMatchObject({ name: 'corp', kind: 'ldif' });
      expect(bundleEntry()).not.toBe(before);
      expect(status.modules.filter((m) => m.endsWith('.ts'))).toEqual([]);
    } finally {
      utimesSync(touched, atime, mtime);
    }
  });

  it('keeps a bundle whose inputs lost the fraction of a second of their mtimes (a container image stores whole seconds)', async () => {
    // docker build: the bundle is made in the build stage, where a file's mtime has its fraction
    // (here .437 s); the image's layers keep whole seconds, so the container sees the mtime
    // truncated. Rebuilding at every start of the container would throw the bundle's gain away.
    const touched = path.join(ROOT, 'src/cli/render.ts');
    const { atime, mtime } = statSync(touched);
    const second = Math.floor(mtime.getTime() / 1000);
    try {
      utimesSync(touched, atime, second + 0.437);
      const built = await run(BIN, '--help');
      expect(built.code).toBe(0);
      const build = bundleEntry();
      utimesSync(touched, atime, second);
      const again = await run(BIN, '--help');
      expect(again.code).toBe(0);
      expect(bundleEntry()).toBe(build);
      expect(again.modules.some((m) => m.endsWith(`dist/cli/${build}`))).toBe(true);
    } finally {
      utimesSync(touched, atime, mtime);
    }
  });

  it('a new build removes the builds older than ten minutes, except those a live process holds (a service runs from its build for weeks)', () => {
    const dist = path.join(ROOT, 'dist/cli');
    const exited = spawnSync(process.execPath, ['-e', '0']).pid;
    const builds = { unheld: 'test-old-unheld', held: 'test-old-held', heldByExited: 'test-old-held-by-exited' };
    const dir = (name: string) => path.join(dist, name);
    const longAgo = new Date(Date.now() - 20 * 60_000);
    try {
      for (const name of Object.values(builds)) mkdirSync(dir(name), { recursive: true });
      writeFileSync(path.join(dir(builds.held), `held-by-${process.pid}`), '');
      writeFileSync(path.join(dir(builds.heldByExited), `held-by-${exited}`), '');
      for (const name of Object.values(builds)) utimesSync(dir(name), longAgo, longAgo);
      const built = spawnSync(process.execPath, [path.join(ROOT, 'bin/bundle.mjs')], { encoding: 'utf8' });
      expect(built.status, built.stderr).toBe(0);
      expect(existsSync(dir(builds.unheld))).toBe(false);
      expect(existsSync(dir(builds.heldByExited))).toBe(false);
      expect(existsSync(dir(builds.held))).toBe(true);
    } finally {
      for (const name of Object.values(builds)) rmSync(dir(name), { recursive: true, force: true });
    }
  });
});
