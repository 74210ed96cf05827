/**
 * `npm start` where the bundle cannot be made (bin/bundle.mjs): the service starts from the
 * TypeScript sources and says so in one line, with why; where it can, an old build it may not
 * remove does not send it to the sources. Each test runs an installation of its own
 * (the files the Dockerfile copies, and this checkout's packages linked one by one), so that its
 * esbuild can be missing or broken without touching this checkout's.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { type ServiceProcess, bareEnv, freshDataDir, startServiceProcess, stopEmbeddedServer } from '../support/service-process.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');

const installations: string[] = [];

/** A copy of this installation whose node_modules has every package but esbuild's (unless `withEsbuild`). */
function installationWithoutEsbuild(withEsbuild = false): string {
  const root = mkdtempSync(path.join(tmpdir(), 'groupsync-install-'));
  installations.push(root);
  for (const part of ['package.json', 'src', 'bin', 'cards', 'migrations', 'sample']) cpSync(path.join(ROOT, part), path.join(root, part), { recursive: true });
  mkdirSync(path.join(root, 'node_modules'));
  for (const name of readdirSync(path.join(ROOT, 'node_modules'))) {
    if (withEsbuild || (name !== 'esbuild' && name !== '@esbuild')) symlinkSync(path.join(ROOT, 'node_modules', name), path.join(root, 'node_modules', name));
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

/** bin/bundle.mjs's bundleModules as the service calls it, in `root`, as nobody when the test runs as root (root may write anything). */
function bundleAsAnotherUser(root: string): { stdout: string; stderr: string } {
  const script = `const { bundleModules } = await import(${JSON.stringify(path.join(root, 'bin/bundle.mjs'))}); console.log(JSON.stringify(await bundleModules({ always: true })));`;
  const command = [process.execPath, '--input-type=module', '-e', script];
  return process.getuid?.() === 0
    ? spawnSync('runuser', ['-u', 'nobody', '--', ...command], { encoding: 'utf8', cwd: root })
    : spawnSync(command[0]!, command.slice(1), { encoding: 'utf8', cwd: root });
}

describe('a build this user may not write', () => {
  it('runs the sources, naming the folder it may not write', () => {
    const root = installationWithoutEsbuild(true);
    const dist = path.join(root, 'dist/cli');
    mkdirSync(dist, { recursive: true });
    chmodSync(root, 0o755);
    chmodSync(dist, 0o555);
    const run = bundleAsAnotherUser(root);
    expect(run.stderr).toBe(`groupsync: running from the TypeScript sources (slower to start and to sync): this user may not write ${dist} (EACCES)\n`);
    expect(JSON.parse(run.stdout)).toMatchObject({ service: pathToFileURL(path.join(root, 'src/main.ts')).href });
    chmodSync(dist, 0o755);
  });
});

describe('a build beside an old build this user may not remove', () => {
  it('runs the new build (the old one stays), not the sources', () => {
    // An old build another account made (a command run as root in the container, where the
    // service runs as node): a new build cannot remove it. Here: a build whose directory the
    // user may not write, run as nobody when the test runs as root (root may remove anything).
    const root = installationWithoutEsbuild(true);
    const foreign = path.join(root, 'dist/cli/test-old-foreign');
    mkdirSync(foreign, { recursive: true });
    writeFileSync(path.join(foreign, 'cli.js'), '');
    writeFileSync(path.join(root, 'src/cli/render.ts'), readFileSync(path.join(root, 'src/cli/render.ts'), 'utf8') + '\n');
    const asRoot = process.getuid?.() === 0;
    if (asRoot) spawnSync('chown', ['-R', 'nobody', root]);
    chmodSync(root, 0o755);
    chmodSync(foreign, 0o555);
    const longAgo = new Date(Date.now() - 20 * 60_000);
    utimesSync(foreign, longAgo, longAgo);
    const run = bundleAsAnotherUser(root);
    expect(run.stderr).toBe('');
    const { build } = JSON.parse(readFileSync(path.join(root, 'dist/cli/stamp.json'), 'utf8')) as { build: string };
    expect(JSON.parse(run.stdout)).toMatchObject({ service: pathToFileURL(path.join(root, 'dist/cli', build, 'service.js')).href });
    expect(existsSync(foreign)).toBe(true);
    chmodSync(foreign, 0o755);
  });
});
