/**
 * `npm start` where the bundle cannot be made (bin/bundle.mjs): the service starts from the
 * TypeScript sources and says so in one line, with why. Each test runs an installation of its own
 * (the files the Dockerfile copies, and this checkout's packages linked one by one), so that its
 * esbuild can be missing or broken without touching this checkout's.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type ServiceProcess, bareEnv, freshDataDir, startServiceProcess, stopEmbeddedServer } from '../support/service-process.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');

const installations: string[] = [];

/** A copy of this installation whose node_modules has every package but esbuild's. */
function installationWithoutEsbuild(): string {
  const root = mkdtempSync(path.join(tmpdir(), 'groupsync-install-'));
  installations.push(root);
  for (const part of ['package.json', 'src', 'bin', 'cards', 'migrations', 'sample']) cpSync(path.join(ROOT, part), path.join(root, part), { recursive: true });
  mkdirSync(path.join(root, 'node_modules'));
  for (const name of readdirSync(path.join(ROOT, 'node_modules'))) {
    if (name !== 'esbuild' && name !== '@esbuild') symlinkSync(path.join(ROOT, 'node_modules', name), path.join(root, 'node_modules', name));
  }
  return root;
}

/** What the service wrote to stderr that is not a JSON log line. */
const plainLines = (service: ServiceProcess) => service.lines.filter((l) => Object.keys(l).length === 1).map((l) => l.msg);

let service: ServiceProcess | null = null;
let dataDir = '';
afterEach(async () => {
  await service?.stop('SIGKILL');
  service = null;
  await stopEmbeddedServer(dataDir);
  for (const root of installations.splice(0)) rmSync(root, { recursive: true, force: true });
});

describe('npm start without a bundle', () => {
  it('starts from the sources when esbuild is not installed, and says so in one line', async () => {
    const root = installationWithoutEsbuild();
    dataDir = freshDataDir('groupsync-nobundle-');
    service = await startServiceProcess(bareEnv(dataDir), root);
    await service.waitFor('scheduled sync of sample');
    expect(plainLines(service)).toEqual(['groupsync: running from the TypeScript sources (slower to start and to sync): esbuild is not installed; npm install installs it']);
  });

  it('starts from the sources when esbuild cannot run (its binary for this platform is missing), in one line, leaving no empty build', async () => {
    const root = installationWithoutEsbuild();
    cpSync(realpathSync(path.join(ROOT, 'node_modules/esbuild')), path.join(root, 'node_modules/esbuild'), { recursive: true });
    dataDir = freshDataDir('groupsync-nobundle-');
    service = await startServiceProcess(bareEnv(dataDir), root);
    await service.waitFor('scheduled sync of sample');
    const said = plainLines(service);
    expect(said).toHaveLength(1);
    expect(said[0]).toMatch(/^groupsync: running from the TypeScript sources \(slower to start and to sync\): could not bundle: The package "@esbuild\/[\w-]+" could not be found, and is needed by esbuild\.$/);
    const dist = path.join(root, 'dist/cli');
    expect(existsSync(dist) ? readdirSync(dist) : []).toEqual([]);
  });
});
