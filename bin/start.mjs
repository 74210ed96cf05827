// `npm start`: the service (src/main.ts) from the bundle of bin/bundle.mjs, built or rebuilt here
// when missing or stale, with Node's compile cache on; each sync's worker thread runs the same
// build's worker. From the TypeScript sources, the service and every sync's worker would first
// spend ~1.5 s and ~250 MB loading modules (see bin/bundle.mjs).
//
// Plain JavaScript (not TypeScript): it runs before anything else is loaded.
import module from 'node:module';
import { bundleModules } from './bundle.mjs';

const [major] = process.versions.node.split('.').map(Number);
if (major < 24) {
  console.error(`groupsync needs Node 24 or later (this is ${process.version}); "npm start" uses the Node 24 installed with the project.`);
  process.exit(1);
}
module.enableCompileCache?.();
const modules = await bundleModules({ always: true });
const { start } = await import(modules.service);
await start({ workerUrl: new URL(modules.worker) });
