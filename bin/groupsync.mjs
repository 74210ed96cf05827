#!/usr/bin/env node
// `groupsync` on PATH (npx groupsync, npm link): runs the TypeScript CLI on Node 24's type stripping.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
const [major] = process.versions.node.split('.').map(Number);
if (major < 24) {
  console.error(`groupsync needs Node 24 or later (this is ${process.version}); run it with "npm run cli -- …", which uses the Node 24 installed with the project.`);
  process.exit(1);
}
const result = spawnSync(process.execPath, ['--max-semi-space-size=16', cli, ...process.argv.slice(2)], { stdio: 'inherit' });
process.exit(result.status ?? 1);
