/**
 * Preloaded into a child (`NODE_OPTIONS=--import=<this file>`, MODULE_LOG_DIR set): records every
 * module the process resolves, ESM and CommonJS, and writes the list to MODULE_LOG_DIR/<pid>.txt at
 * exit. loadedPackages() reads what every process of one command loaded, as npm package names.
 */
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { registerHooks } from 'node:module';
import path from 'node:path';
import { threadId } from 'node:worker_threads';

export const MODULE_LOG_HOOK = import.meta.filename;

/** The npm package a resolved module URL belongs to (`@scope/name` or `name`), or null for a file of the project or a Node builtin. */
export function packageOf(url: string): string | null {
  const m = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  return m ? m[1]! : null;
}

/** The module URLs resolved by every process that logged into `dir`. */
export function loadedModules(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => readFileSync(path.join(dir, f), 'utf8').split('\n'));
}

/** The packages loaded by every process that logged into `dir`. */
export function loadedPackages(dir: string): Set<string> {
  return new Set(loadedModules(dir).map(packageOf).filter((p): p is string => p !== null));
}

const out = process.env.MODULE_LOG_DIR;
if (out) {
  const seen = new Set<string>();
  registerHooks({
    resolve(specifier, context, next) {
      const result = next(specifier, context);
      seen.add(result.url);
      return result;
    },
  });
  process.on('exit', () => writeFileSync(path.join(out, `${process.pid}-${threadId}.txt`), [...seen].join('\n')));
}
