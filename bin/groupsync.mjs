#!/usr/bin/env node
// `groupsync` on PATH (npx groupsync, npm link): runs the CLI in this process, from the bundle
// of bin/bundle.mjs (built or rebuilt here when missing or stale), with Node's compile cache on.
// A command that runs a sync is re-run in a child with a 16 MB V8 semi-space and gc() exposed, as
// `npm run cli` does: the default young generation alone takes ~150 MB of RSS during a large
// sync, and the engine collects each phase's garbage before the next (src/sync/memory.ts).
import { spawnSync } from 'node:child_process';
import module from 'node:module';

const [major] = process.versions.node.split('.').map(Number);
if (major < 24) {
  console.error(`groupsync needs Node 24 or later (this is ${process.version}); run it with "npm run cli -- …", which uses the Node 24 installed with the project.`);
  process.exit(1);
}

/** The commands that run the sync engine. */
const ENGINE_COMMANDS = new Set(['sync', 'approve']);
const ENGINE_FLAGS = ['--max-semi-space-size=16', '--expose-gc'];

/** The command named on the line: the first word that is neither a global option nor its value. */
function commandOf(argv) {
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--actor') i++;
    else if (!argv[i].startsWith('-')) return argv[i];
  }
  return null;
}

const argv = process.argv.slice(2);
const missing = ENGINE_FLAGS.filter((flag) => !process.execArgv.some((given) => given.split('=')[0] === flag.split('=')[0]));
if (ENGINE_COMMANDS.has(commandOf(argv)) && missing.length > 0) {
  const result = spawnSync(process.execPath, [...missing, ...process.execArgv, import.meta.filename, ...argv], { stdio: 'inherit' });
  process.exit(result.status ?? 1);
}
module.enableCompileCache?.();
const { bundleModules } = await import('./bundle.mjs');
const { runCli } = await import((await bundleModules()).cli);
process.exitCode = await runCli(argv);
