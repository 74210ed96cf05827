/**
 * How the benches run groupsync's CLI in a child process: as installed (`bin/groupsync.mjs`, its
 * esbuild bundle; BENCH_CLI=bundle, the default) or from the TypeScript sources as `npm run cli`
 * runs them (BENCH_CLI=source: Node strips the types as it loads them, which alone takes about
 * 90 MB more memory at start-up), with the V8 flags groupsync's engine commands run with.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** The V8 flags `npm run cli` runs groupsync with (package.json), so the bench measures the product as shipped. */
export const PRODUCT_NODE_FLAGS: string[] = (
  (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { scripts: Record<string, string> }).scripts.cli ?? ''
)
  .split(/\s+/)
  .filter((flag) => flag.startsWith('--max-semi-space-size') || flag.startsWith('--max-old-space-size') || flag === '--expose-gc');

/** The CLI entry BENCH_CLI names: `bin/groupsync.mjs` (bundle) or `src/cli/main.ts` (source). */
export const CLI_ENTRY = (() => {
  const cli = process.env.BENCH_CLI ?? 'bundle';
  if (cli !== 'bundle' && cli !== 'source') throw new Error(`BENCH_CLI must be bundle or source, got "${cli}"`);
  return cli === 'bundle' ? 'bin/groupsync.mjs' : 'src/cli/main.ts';
})();

/** `sync --help` of the CLI: run once before anything is measured, it also brings the bundle up to date. */
export function syncHelp(): string {
  return execFileSync(process.execPath, [...PRODUCT_NODE_FLAGS, CLI_ENTRY, 'sync', '--help'], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, LOG_LEVEL: 'silent' } });
}
